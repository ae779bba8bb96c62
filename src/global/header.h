/*
 * header - the header section of a message (RFC 5322 2.2, 3.6), read one
 * line at a time as cleanup streams a message, plus helpers for header
 * values: unfolding and RFC 2047 encoded-word decoding.
 *
 * Lines are given without their line terminator (a trailing CR is
 * dropped as well).  A header field is complete only when the next line
 * does not continue it, so the field that a line completes is the one
 * before it; at most one field completes per line.
 *
 * Where the header ends: at an empty line (consumed: it is the
 * separator), or - as Postfix does - at the first line that is neither a
 * header field ("name:" with name of RFC 5322 ftext, white space before
 * the colon tolerated, RFC 5322 4.5) nor a continuation (starts with
 * space or tab after a field).  That line is then the first body line
 * and stays the caller's: this covers an mbox "From " line, a line of
 * 8-bit text, a line starting with white space at the very top, and a
 * message without the empty separator line.  Lines holding only white
 * space continue the field before them (obs-FWS, RFC 5322 4.2).
 */
#ifndef ULAK_HEADER_H
#define ULAK_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* One complete header field. */
struct header_field {
	const char *name;	/* without the colon and white space before it */
	size_t name_len;
	/*
	 * Everything after the colon as received (leading white space kept),
	 * continuation lines joined with "\n" and kept with their leading
	 * white space; NUL-terminated, but may hold NUL bytes (see has_nul).
	 */
	const char *value;
	size_t value_len;
	size_t lines;		/* physical lines: 1 + continuation lines */
	bool has_8bit;		/* some byte >= 0x80 (RFC 6532, or raw 8-bit) */
	bool has_nul;		/* a NUL byte in the value */
	bool obs_space;		/* white space before the colon (RFC 5322 4.5.x) */
	/*
	 * From header_parse_message only (0 from the incremental parser):
	 * where the field lies in the message, from its name to the end of
	 * its last line, line end included, so that a caller can cut it out.
	 */
	size_t offset;
	size_t length;
};

enum header_result {
	HEADER_ERROR = -1,	/* the header exceeded the limit, or misuse */
	HEADER_MORE = 0,	/* the line is part of the header */
	HEADER_END = 1,		/* the line was the empty separator line */
	HEADER_BODY = 2,	/* the line is the first body line, not header */
};

struct header_parser;

/*
 * New parser for a header of at most MAX_SIZE octets (lines with one
 * octet each for their line terminator; 0 = no limit).  Free with
 * header_parser_free().  Exits only when memory runs out.
 */
struct header_parser *header_parser_new(size_t max_size);
void header_parser_free(struct header_parser *p);

/*
 * Feed one line LINE[0..LEN).  *FIELD_R is set to the field the line
 * completed, or NULL; it stays valid until the next call.  Returns
 * HEADER_MORE, HEADER_END or HEADER_BODY (see above; after these two the
 * header is over and the parser only answers HEADER_ERROR), or
 * HEADER_ERROR with *ERROR_R when the line would take the header over its
 * size limit (the line is not taken, nor is the field still pending: the
 * caller rejects the message) or when the header was already over.
 */
enum header_result header_parser_feed(struct header_parser *p,
    const char *line, size_t len, const struct header_field **field_r,
    const char **error_r);

/*
 * The input ended inside the header (a message with no body and no
 * separator): *FIELD_R is the last, pending field or NULL.  The header
 * is over afterwards.
 */
void header_parser_finish(struct header_parser *p,
    const struct header_field **field_r);

/* Octets of header taken so far (as counted for the limit). */
size_t header_parser_size(const struct header_parser *p);

/* True when F's name is NAME, ignoring ASCII case. */
bool header_field_is(const struct header_field *f, const char *name);

/*
 * Unfold VALUE[0..LEN) (RFC 5322 2.2.3: remove each line break - "\n"
 * or "\r\n" - that is followed by white space) and append it to OUT;
 * with TRIM, white space at both ends goes too.  Returns 0, or -1 (OUT
 * unchanged) when OUT's maximum is exceeded.
 */
int header_unfold(const char *value, size_t len, bool trim, struct buf *out);

/*
 * Called by header_parse_message() for each field; return 0 to go on,
 * anything else to stop (header_parse_message then returns that value).
 */
typedef int header_field_cb(void *ctx, const struct header_field *field);

/*
 * Split the message MSG[0..LEN) (lines ended by "\n" or "\r\n") into its
 * header fields, calling CB for each, within MAX_SIZE (0: no limit).
 * *BODY_OFFSET_R is the offset of the first body octet (LEN when there is
 * none).  Returns 0, a callback's non-zero value, or -1 with *ERROR_R
 * when the header exceeds MAX_SIZE.
 */
int header_parse_message(const char *msg, size_t len, size_t max_size,
    header_field_cb *cb, void *ctx, size_t *body_offset_r,
    const char **error_r);

/*
 * True when the Authentication-Results value VALUE[0..LEN) names ID as its
 * authserv-id (RFC 8601 2.2: the first token, up to ";" or white space;
 * ASCII case ignored).  smtpd removes fields that claim to be its own
 * (RFC 8601 5).
 */
bool header_authserv_id_is(const char *value, size_t len, const char *id);

/*
 * Decode the RFC 2047 encoded-words ("=?charset?B|Q?text?=") in S[0..LEN)
 * and append the text to OUT in UTF-8; linear white space between two
 * adjacent encoded-words is dropped (RFC 2047 6.2).  Words with a
 * charset iconv does not know, or that do not decode, are copied as they
 * are; so is all other text, and words longer than 1000 octets (RFC 2047
 * 2 allows 75).  A decoded NUL, CR or LF becomes '?'.
 * Returns 0, or -1 when OUT's maximum is exceeded (OUT then holds a
 * prefix of the result).
 */
int header_decode_2047(const char *s, size_t len, struct buf *out);

#endif
