/*
 * dmarc_report - DMARC aggregate reports (RFC 7489 7.2, appendix C) from
 * the lines smtpd records in $data_directory/dmarc-reports.log
 * (dmarc_report_append in dmarc.h; the format is in docs/spf-dmarc.md):
 * the line parser, the grouping per policy domain and UTC day, the rua=
 * URI list (mailto: with an optional !size), the XML document, its gzip
 * and the report message (MIME, RFC 7489 7.2.1.1).
 *
 * Distrusts the log: it is written by daemons that face the network,
 * holds text taken from the peer (the From: domain, the HELO name, the
 * rua= of a DNS record), and may end in a half-written line.  Every line
 * is checked field by field; a bad line is refused as a whole, with a
 * reason, and never stops the others.  Values go into the XML escaped,
 * bytes outside printable ASCII as '?'.  Pure: no DNS, no clock, no
 * files.
 */
#ifndef ULAK_DMARC_REPORT_H
#define ULAK_DMARC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmarc.h"

struct buf;

/* The longest line the reader takes; longer ones are bad lines. */
#define DMARC_REPORT_LINE_MAX 16384

/* One recorded line (one evaluated message). */
struct dmarc_report_entry {
	int64_t time;
	char *ip;
	char *header_from;
	char *policy_domain;
	enum dmarc_policy p, sp;
	unsigned pct;
	bool adkim_strict, aspf_strict;
	enum dmarc_result result;
	enum dmarc_policy disposition;
	bool sampled_out;
	bool dkim_pass;
	char *dkim_domains;	/* comma-separated d= that passed, or NULL */
	bool dkim_aligned;
	const char *spf;	/* an SPF result name (static) */
	char *spf_domain;	/* or NULL */
	bool spf_aligned;
	char *rua;		/* or NULL */
	char *fo;		/* "0" for lines recorded without fo= */
};

/*
 * Parse LINE[0..LEN) (without its '\n') into *E (release with
 * dmarc_report_entry_release).  -1 with *error_r ("bad pct= value",
 * "no policy_domain= field", ...) when the line is not a complete,
 * valid record; *E then needs no release.  Unknown keys are ignored.
 */
int dmarc_report_line_parse(const char *line, size_t len,
    struct dmarc_report_entry *e, const char **error_r);
void dmarc_report_entry_release(struct dmarc_report_entry *e);

/* One record of a report: messages alike in all but their time. */
struct dmarc_report_row {
	char *source_ip;
	enum dmarc_policy disposition;
	bool dkim_aligned, spf_aligned, sampled_out;
	char *header_from;
	char *dkim_domains;	/* or NULL */
	const char *spf;
	char *spf_domain;	/* or NULL */
	unsigned long count;
};

/* One report: one policy domain over one UTC day. */
struct dmarc_report {
	char *policy_domain;
	int64_t day;		/* time / 86400 */
	int64_t begin, end;	/* first and last recorded time */
	/* the policy published, as the latest line of the group saw it */
	enum dmarc_policy p, sp;
	unsigned pct;
	bool adkim_strict, aspf_strict;
	char *fo;
	char *rua;		/* or NULL: nowhere to send it */
	int64_t rua_time;	/* time of the line rua came from */
	struct dmarc_report_row *rows;
	size_t n_rows;
	unsigned long messages;
};

struct dmarc_report_set {
	struct dmarc_report *reports;	/* in order of first appearance */
	size_t n;
	unsigned long lines;		/* lines read */
	unsigned long bad;		/* lines refused */
};

void dmarc_report_set_init(struct dmarc_report_set *s);
void dmarc_report_set_release(struct dmarc_report_set *s);
/* Count E into its report and row (E is copied). */
void dmarc_report_set_add(struct dmarc_report_set *s,
    const struct dmarc_report_entry *e);

/* Called for each refused line: its number (from 1) and the reason. */
typedef void dmarc_report_bad_line(unsigned long lineno, const char *error,
    void *arg);

/*
 * Read the log text TEXT[0..LEN): each complete line ('\n'-terminated) is
 * parsed and added to S; a bad line is counted in S->bad and passed to
 * BAD (may be NULL).  Returns the number of bytes consumed: the end of
 * the last complete line; a half-written tail after it is left alone for
 * the caller.  Empty lines are skipped.
 */
size_t dmarc_report_set_read(struct dmarc_report_set *s, const char *text,
    size_t len, dmarc_report_bad_line *bad, void *arg);

/* A report destination of rua= (RFC 7489 6.2, 6.4). */
struct dmarc_report_uri {
	char *address;		/* the mailto: address, %-decoded */
	uint64_t max_size;	/* from !size, 0: no limit */
};

/*
 * Parse the rua= value RUA ("mailto:a@x.example!10m, mailto:b@y"): up to
 * MAX mailto: URIs into URIS[] (the caller releases each address with
 * free), their number in *N_R.  URIs of other schemes and bad ones are
 * skipped and described in WARNINGS (a "; "-separated list appended to,
 * may be NULL).
 */
void dmarc_report_rua_parse(const char *rua, struct dmarc_report_uri *uris,
    size_t max, size_t *n_r, struct buf *warnings);

/* Who reports, for report_metadata. */
struct dmarc_report_meta {
	const char *org_name;
	const char *email;
	const char *report_id;
};

/*
 * Append the RFC 7489 appendix C document of R to OUT: feedback with
 * report_metadata, policy_published and one record per row (count,
 * policy_evaluated with a sampled_out reason when pct sampling lowered
 * the disposition, identifiers, auth_results: one dkim per passing d=,
 * the spf result).  Well-formed whatever the recorded text.
 */
void dmarc_report_xml(const struct dmarc_report *r,
    const struct dmarc_report_meta *meta, struct buf *out);

/*
 * Append the gzip (RFC 1952) of DATA[0..LEN) to OUT.  -1 with *error_r
 * when zlib fails.
 */
int dmarc_report_gzip(const void *data, size_t len, struct buf *out,
    const char **error_r);

/* The attachment's name (RFC 7489 7.2.1.1), appended to OUT:
 * RECEIVER!POLICY-DOMAIN!BEGIN!END.xml.gz */
void dmarc_report_filename(const struct dmarc_report *r,
    const char *receiver, struct buf *out);

/* What the report message needs besides the report itself. */
struct dmarc_report_mail {
	const char *from;	/* dmarc_report_from */
	const char *to;		/* the rua address */
	const char *submitter;	/* the receiver's domain ($myhostname) */
	const char *report_id;
	const char *date;	/* an RFC 5322 date, or NULL: none */
	const char *boundary;	/* unique MIME boundary */
};

/*
 * Append the report message of R (headers and a multipart/mixed body: a
 * short text part and the application/gzip attachment GZ[0..GZ_LEN),
 * base64 in lines of 76) to OUT with CRLF line ends removed: lines end
 * in '\n', as `ulak sendmail` reads them.  Subject per RFC 7489
 * 7.2.1.1: "Report Domain: D Submitter: S Report-ID: <ID>".
 */
void dmarc_report_message(const struct dmarc_report *r,
    const struct dmarc_report_mail *m, const void *gz, size_t gz_len,
    struct buf *out);

#endif
