/*
 * mime - the MIME structure of a message (RFC 2045, 2046, 2047 headers
 * aside, RFC 2183 dispositions): a tree of parts with their header and
 * body positions, Content-* fields and parameters, for IMAP BODYSTRUCTURE
 * and BODY[section] (RFC 3501 6.4.5, 7.4.2) and for content checks.
 *
 * The message is whatever a sender wrote and is distrusted: missing or
 * broken Content-Type (text/plain then, RFC 2045 5.2), boundaries in
 * preambles, a missing final boundary (the last part runs to the end),
 * nesting deeper than the limit (the deepest part is then kept as a leaf),
 * NUL bytes, lines without CR.  Parsing never fails on bad input; it only
 * builds what it can.  Positions are octet offsets into the message
 * buffer, which the caller keeps.
 */
#ifndef ULAK_MIME_H
#define ULAK_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct mime_param {
	char *name;		/* as written (attribute names are case-insensitive) */
	char *value;		/* unquoted */
};

struct mime_params {
	struct mime_param *v;
	size_t n;
};

struct mime_part {
	/* Header of this entity: its MIME header (for the top, the whole
	 * message header), including the empty line that ends it, if any. */
	size_t hdr_off, hdr_len;
	/* Body: the content after the header (a multipart's whole body, a
	 * message/rfc822 part's whole embedded message). */
	size_t body_off, body_len;
	size_t body_lines;	/* lines of the body (a last line without LF counts) */

	char *type;		/* lower case; "text" when absent */
	char *subtype;		/* lower case; "plain" when absent */
	struct mime_params params;
	char *encoding;		/* Content-Transfer-Encoding, lower case, or NULL */
	char *id;		/* Content-ID (unfolded, trimmed) or NULL */
	char *description;	/* Content-Description or NULL */
	char *md5;		/* Content-MD5 or NULL */
	char *disposition;	/* e.g. "attachment", or NULL */
	struct mime_params disp_params;
	char *language;		/* Content-Language or NULL */
	char *location;		/* Content-Location or NULL */

	/* multipart: its parts; message/rfc822: one child, the embedded
	 * message (whose hdr is the embedded header).  A multipart always
	 * has at least one part (an empty text/plain one is made up when
	 * the body holds no boundary). */
	struct mime_part *kids;
	size_t n_kids;
	bool is_multipart;
	bool is_message;	/* message/rfc822 (or global) with a child */
	bool truncated;		/* a limit stopped parsing below this part */
};

struct mime_limits {
	size_t depth_max;	/* nesting of multiparts and messages (default 30) */
	size_t parts_max;	/* parts in all (default 10000) */
	size_t header_max;	/* header octets of one part (default 1 MiB) */
};

void mime_limits_default(struct mime_limits *lim);

/*
 * Parse MSG[0..LEN) (lines ended by LF or CRLF) into a tree; the result
 * is the top entity (its type is the message's Content-Type).  LIM NULL:
 * defaults.  Never NULL; free with mime_free.  Exits only when memory
 * runs out.
 */
struct mime_part *mime_parse(const char *msg, size_t len,
    const struct mime_limits *lim);
void mime_free(struct mime_part *top);

/* Value of parameter NAME (ASCII case-insensitive) in PS, or NULL. */
const char *mime_param_get(const struct mime_params *ps, const char *name);

/*
 * Parse a Content-Type / Content-Disposition style value VALUE[0..LEN)
 * ("type/subtype; a=b; c=\"d e\"" with comments and folding): the first
 * token (the part before ';' - "type/subtype" - lower-cased) into *MAIN_R
 * (caller frees; NULL when it is missing or not a token) and the
 * parameters appended to PS (release with mime_params_release).
 */
void mime_parse_value(const char *value, size_t len, char **main_r,
    struct mime_params *ps);
void mime_params_release(struct mime_params *ps);

/*
 * IMAP part addressing (RFC 3501 6.4.5): the part PART[0..N) numbers
 * (1-based) name below TOP, or NULL when there is none.  N 0 gives TOP.
 * "1" of a message that is not multipart is its body (TOP itself); a
 * message/rfc822 part's numbers continue into the embedded message.
 */
const struct mime_part *mime_part_find(const struct mime_part *top,
    const uint32_t *part, size_t n);

/*
 * The message entity a HEADER/TEXT section of part P refers to: P itself
 * for the top (N 0 in mime_part_find), else P's embedded message, or NULL
 * when P is not message/rfc822.
 */
const struct mime_part *mime_part_message(const struct mime_part *p,
    bool is_top);

/*
 * Append the header fields of HDR[0..LEN) whose names are (WANT true) or
 * are not (WANT false) in NAMES[0..N) (ASCII case-insensitive) to OUT,
 * each with its continuation lines, then an empty line (CRLF): IMAP
 * HEADER.FIELDS and HEADER.FIELDS.NOT.
 */
void mime_header_filter(const char *hdr, size_t len, char *const *names,
    size_t n, bool want, struct buf *out);

#endif
