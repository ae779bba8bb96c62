/*
 * dmarc - Domain-based Message Authentication, Reporting and Conformance
 * (RFC 7489) for a receiver: find the policy of the RFC5322.From domain
 * (at _dmarc.DOMAIN, else at its organizational domain by the Public
 * Suffix List), decide identifier alignment of the SPF and DKIM results
 * (relaxed or strict), the DMARC result and the disposition (none,
 * quarantine, reject, with pct sampling), the dmarc= part of
 * Authentication-Results: (RFC 8601) and a line of aggregate-report data.
 *
 * Layers, as in spf.h: a pure record parser and pure evaluation
 * (dmarc_record_parse, dmarc_evaluate: unit-tested and fuzzed), the
 * asynchronous policy discovery on the libevent loop through dns.h
 * (dmarc_check_start) and a synchronous wrapper.
 *
 * Distrusts DNS data (records are parsed strictly; junk gives the
 * result RFC 7489 6.6.3 asks for, never a crash) and the message's
 * From domain (any bytes; a name no query can be made for means no
 * policy).
 */
#ifndef ULAK_DMARC_H
#define ULAK_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "spf.h"

struct buf;
struct dns_config;
struct dns_resolver;
struct event_base;
struct psl;

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

/* "none", "quarantine", "reject". */
const char *dmarc_policy_name(enum dmarc_policy p);

/* A parsed DMARC record (RFC 7489 6.3); defaults filled in. */
struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp;	/* = p when the record has no sp= */
	bool has_sp;
	bool p_from_rua;	/* no valid p=, but rua=: p=none (6.6.3) */
	unsigned pct;		/* 0..100, default 100 */
	bool adkim_strict;	/* adkim=s (default r) */
	bool aspf_strict;	/* aspf=s (default r) */
	char *rua;		/* as written; NULL when absent */
	char *ruf;
	char *fo;		/* default "0" */
	unsigned long ri;	/* default 86400 */
	char *rf;		/* default "afrf" */
	char *warnings;		/* tags ignored for bad values, or NULL */
};

/*
 * Parse TEXT[0..LEN) (the TXT strings joined).  0 with *REC (release
 * with dmarc_record_release), or -1 with *error_r when it is not a usable
 * DMARC record: not starting with "v=DMARC1", bad tag syntax, no valid
 * p= and no valid rua= (RFC 7489 6.6.3: then no DMARC processing).  A bad
 * value of an optional tag (pct, adkim, aspf, fo, ri, rf, sp) is ignored
 * (the default applies) and named in rec->warnings; unknown tags are
 * ignored.
 */
int dmarc_record_parse(const void *text, size_t len, struct dmarc_record *rec,
    const char **error_r);
void dmarc_record_release(struct dmarc_record *rec);
/* True when TEXT starts with "v=DMARC1" followed by ';', space or end. */
bool dmarc_record_is_dmarc(const void *text, size_t len);

/* The results of RFC 7489 / RFC 8601 2.7.1. */
enum dmarc_result {
	DMARC_RESULT_NONE,	/* no policy published */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,	/* no usable From domain */
};

/* "none", "pass", "fail", "temperror", "permerror". */
const char *dmarc_result_name(enum dmarc_result r);

/*
 * The RFC5322.From domain of a message (RFC 7489 6.6.1) from the values
 * of its From: header fields VALUES[0..N) (unfolded or not): there must
 * be exactly one field holding exactly one mailbox with a domain.  0 with
 * *DOMAIN_R (lower case, malloc'ed, the caller frees), or -1 with
 * *error_r ("no From: header field", "2 From: header fields", "From:
 * holds 2 addresses", "From: address without a domain", "bad From:
 * address ...") -- smtpd then records dmarc=permerror.
 */
int dmarc_from_domain(const char *const *values, size_t n, char **domain_r,
    const char **error_r);

/* What the receiver knows about the message. */
struct dmarc_input {
	const char *from_domain;	/* RFC5322.From domain (required) */
	enum spf_result spf_result;	/* SPF result of spf_domain */
	/* MAIL FROM domain, or the HELO name when MAIL FROM was <> */
	const char *spf_domain;
	const char *const *dkim_domains;	/* d= of each passing signature */
	size_t n_dkim;
};

struct dmarc_outcome {
	enum dmarc_result result;
	char *from_domain;		/* lower case, no final dot */
	char *org_domain;		/* its organizational domain */
	char *policy_domain;		/* where the record was found, or NULL */
	bool have_record;
	struct dmarc_record rec;	/* valid when have_record */
	enum dmarc_policy policy;	/* p=, or sp= for a subdomain */
	bool spf_aligned;
	bool dkim_aligned;
	char *dkim_domain;		/* the aligned d=, or NULL */
	/* what to do: the policy after pct sampling (none when pass) */
	enum dmarc_policy disposition;
	bool sampled_out;		/* pct sampling lowered the policy */
	char *problem;			/* temperror/permerror/none: why */
};

void dmarc_outcome_release(struct dmarc_outcome *o);
void dmarc_outcome_move(struct dmarc_outcome *dst, struct dmarc_outcome *src);

/*
 * Identifier alignment (RFC 7489 3.1): strict when the names are equal
 * (case-insensitive, final dots ignored), relaxed when their
 * organizational domains are.
 */
bool dmarc_aligned(const struct psl *psl, const char *a, const char *b,
    bool strict);

/*
 * Decide the result for IN with REC found at POLICY_DOMAIN (NULL REC: no
 * policy).  SAMPLE is a number 0..99 drawn by the caller (pct sampling:
 * the policy applies when SAMPLE < pct).  Fills *OUT (release with
 * dmarc_outcome_release); REC is copied.  Pure: no DNS, no clock.
 */
void dmarc_evaluate(const struct psl *psl, const struct dmarc_input *in,
    const struct dmarc_record *rec, const char *policy_domain,
    unsigned sample, struct dmarc_outcome *out);

struct dmarc_check;

/* Called once from the loop; O is freed after it returns (see spf.h). */
typedef void dmarc_callback(struct dmarc_outcome *o, void *arg);

/*
 * Start policy discovery (RFC 7489 6.6.3) and evaluation for IN on BASE
 * through RESOLVER with the suffix list PSL (both must outlive the
 * check).  The input is copied.  Never fails: every problem is a result.
 */
struct dmarc_check *dmarc_check_start(struct event_base *base,
    struct dns_resolver *resolver, const struct psl *psl,
    const struct dmarc_input *in, dmarc_callback *cb, void *arg);
/* Stop a check before its callback ran. */
void dmarc_check_cancel(struct dmarc_check *c);

/*
 * The same, synchronously (own event base and resolver).  0 with *OUT_R,
 * -1 with *error_r when the resolver settings are bad.
 */
int dmarc_check_sync(const struct dns_config *dns_cfg, const struct psl *psl,
    const struct dmarc_input *in, struct dmarc_outcome *out_r,
    const char **error_r);

/*
 * The dmarc= part of Authentication-Results: (RFC 7489 11.2, RFC 8601),
 * e.g. "dmarc=fail (p=reject sp=reject pct=100 dis=reject)
 * header.from=example.com", appended to OUT.
 */
void dmarc_auth_results(const struct dmarc_outcome *o, struct buf *out);

/*
 * Aggregate-report data: append one line for a message evaluated as O
 * to DIR/dmarc-reports.log (created with mode 0640; one write(2) with
 * O_APPEND, so concurrent writers never interleave lines).  The line is
 * tab-separated key=value fields, documented in docs/spf-dmarc.md.
 * SOURCE_IP is the client; IN the input O was made from; NOW the time.
 * -1 with *error_r when the file cannot be written.
 */
int dmarc_report_append(const char *dir, const struct dmarc_outcome *o,
    const struct dmarc_input *in, const char *source_ip, time_t now,
    const char **error_r);

#endif
