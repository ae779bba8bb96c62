/*
 * smtp_client - the pure parts of the SMTP client (the smtp delivery
 * agent): next-hop syntax, MX ordering, reply-to-status mapping, the
 * DATA encoder (dot-stuffing, line ends) and TLS policy words.  No I/O
 * here, so each piece is unit-tested on its own.
 *
 * Distrusts its inputs: next hops come from main.cf/transport maps via
 * qmgr, replies and MX records from remote servers, content from the
 * queue file.
 */
#ifndef ULAK_SMTP_CLIENT_H
#define ULAK_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct smtp_reply;
struct dns_rr;

/* A next hop as qmgr hands it: "domain", "[host]", "host:port", "[h]:p". */
struct smtp_nexthop {
	char host[256];		/* domain or host, without brackets */
	unsigned port;
	bool mx;		/* look up MX records (no brackets) */
	bool literal;		/* host is a numeric IP address */
};

/*
 * Parse NEXTHOP ("example.org", "[mail.example.org]:587",
 * "example.org:2525", "[192.0.2.1]", "[IPv6:2001:db8::1]:25") with
 * DEFAULT_PORT where it names none.  -1 with *error_r on a bad port, an
 * empty host, a missing ']' or a host over 255 bytes.
 */
int smtp_nexthop_parse(const char *nexthop, unsigned default_port,
    struct smtp_nexthop *nh, const char **error_r);

/*
 * Sort the N MX records RR by preference, lowest first; records of equal
 * preference come in random order (RFC 5321 5.1), drawn from RND (called
 * with the number of choices, returns 0..n-1; NULL: random()).
 */
void smtp_mx_sort(struct dns_rr *rr, size_t n, size_t (*rnd)(size_t n));

/*
 * The enhanced status code for REPLY (a complete reply) into DSN[16]: the
 * server's own code when it gave one whose class agrees with the reply
 * code, else X.0.0 from the reply code's class (2, 4 or 5).  1xx and 3xx
 * (never a final answer where this is used) map to "5.5.0".
 */
void smtp_reply_dsn(const struct smtp_reply *reply, char dsn[16]);

/*
 * One-line form of REPLY for results and logs: "450 4.2.0 text text2"
 * (lines joined with spaces, control bytes as '?', at most MAX bytes,
 * cut with "..."), appended to OUT.
 */
void smtp_reply_oneline(const struct smtp_reply *reply, size_t max,
    struct buf *out);

/*
 * The DATA encoder (RFC 5321 4.5.2 and 2.3.8): every line of content
 * that starts with '.' gets one more; a bare LF or a bare CR becomes
 * CR LF (never sent as it is: it would smuggle an end of data to some
 * servers); after the last byte a missing line end is added and the
 * final ".CRLF" follows.
 */
struct smtp_dot {
	bool bol;	/* at the beginning of a line */
	bool cr;	/* the previous byte was a CR */
};

void smtp_dot_init(struct smtp_dot *d);
/* Encode IN[0..LEN) and append to OUT; -1 when OUT's maximum is exceeded. */
int smtp_dot_encode(struct smtp_dot *d, const void *in, size_t len,
    struct buf *out);
/* Append the end: a CR LF when the content did not end with one, then ".\r\n". */
int smtp_dot_finish(struct smtp_dot *d, struct buf *out);

/* smtp_tls_security_level and smtp_tls_policy_maps values. */
enum smtp_tls_level {
	SMTP_TLS_NONE,		/* never STARTTLS */
	SMTP_TLS_MAY,		/* STARTTLS when offered, no checks */
	SMTP_TLS_ENCRYPT,	/* TLS required, no certificate checks */
	SMTP_TLS_VERIFY,	/* TLS required, certificate chain and name */
	SMTP_TLS_SECURE,	/* as verify (ulak has no MX-name weakening) */
	SMTP_TLS_DANE,		/* DANE (RFC 7672; the smtp agent, docs/smtp.md) */
};

/*
 * Parse a level word (case-insensitive; "" is "none" as in Postfix).
 * -1 with *error_r for an unknown word.
 */
int smtp_tls_level_parse(const char *word, enum smtp_tls_level *level_r,
    const char **error_r);
const char *smtp_tls_level_name(enum smtp_tls_level level);

/*
 * A policy map value: the level word first, then attributes separated by
 * white space, of which "match=a:b" (names the certificate may carry,
 * ':'-separated) is kept in MATCH (may be NULL when unused).  Other
 * attributes (ciphers=, protocols=, exclude=) are accepted and ignored.
 */
int smtp_tls_policy_parse(const char *value, enum smtp_tls_level *level_r,
    struct buf *match, const char **error_r);

/* True when S holds a byte >= 0x80 (an address that needs SMTPUTF8). */
bool smtp_is_utf8(const char *s);

#endif
