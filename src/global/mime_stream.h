/*
 * mime_stream - a streaming MIME walk (RFC 2045, 2046) for cleanup's
 * header and body checks: the message is fed in chunks of any size and
 * comes out as events - complete header fields of each entity (the
 * primary header, the headers of multipart parts, the headers of
 * attached message/rfc822 messages), the end of each header block, and
 * every other line - plus, for text parts in base64 or quoted-printable,
 * the decoded text lines.  Memory per stream is bounded by the header
 * and line limits, whatever the message size (src/global/mime.c, by
 * contrast, needs the whole message in memory).
 *
 * The input is whatever a sender wrote and is distrusted: nothing makes
 * the walk fail.  Broken or missing Content-Type gives text/plain
 * (RFC 2045 5.2; message/rfc822 inside multipart/digest, RFC 2046
 * 5.1.5), a missing final boundary lets the last part run to the end,
 * nesting deeper than depth_max is treated as an opaque leaf, lines
 * longer than the line limit are passed on in pieces, header fields
 * longer than header_max are cut (the excess is dropped, as Postfix's
 * header_size_limit does).
 *
 * Rules (as Postfix's mime_state): a header block ends at an empty line,
 * or at the first line that is neither a header field nor a
 * continuation; a line that starts with "--" and a boundary of an
 * enclosing multipart (innermost first) is a delimiter, "--boundary--"
 * closes that multipart (and every multipart inside it).
 */
#ifndef ULAK_MIME_STREAM_H
#define ULAK_MIME_STREAM_H

#include <stdbool.h>
#include <stddef.h>

/* Whose header a header field belongs to (Postfix's MIME_HDR_*). */
enum mime_stream_class {
	MIME_STREAM_PRIMARY,	/* the message's own header */
	MIME_STREAM_MULTIPART,	/* the header of a part of a multipart */
	MIME_STREAM_NESTED,	/* the header of an attached message */
};

/* How a header block ended. */
enum mime_stream_end {
	MIME_STREAM_END_SEPARATOR,	/* an empty line (a SEPARATOR line follows) */
	MIME_STREAM_END_BODY,		/* a line that is not header (it follows) */
	MIME_STREAM_END_EOF,		/* the input ended */
};

/* What a line passed to the line callback is. */
enum mime_stream_line {
	MIME_STREAM_SEPARATOR,	/* the empty line that ends a header block */
	MIME_STREAM_BODY,	/* a line of a leaf part's body */
	MIME_STREAM_BOUNDARY,	/* a "--boundary" or "--boundary--" line */
	MIME_STREAM_OTHER,	/* a multipart's preamble or epilogue */
	MIME_STREAM_RAW,	/* headers-only mode: bytes after the header */
};

/* Flags of a header field. */
#define MIME_STREAM_HDR_TRUNCATED 0x01u	/* cut at header_max */
#define MIME_STREAM_HDR_NUL 0x02u	/* holds a NUL byte (also in the cut part) */

struct mime_stream_callbacks {
	/*
	 * One complete header field HDR[0..LEN) of an entity of class CLS:
	 * all its physical lines, each ended by CRLF whatever the input
	 * had.  FLAGS: MIME_STREAM_HDR_*.
	 */
	void (*header)(void *ctx, enum mime_stream_class cls, const char *hdr,
	    size_t len, unsigned flags);
	/* The header block of an entity of class CLS is over. */
	void (*header_end)(void *ctx, enum mime_stream_class cls,
	    enum mime_stream_end how);
	/*
	 * Any other input: LINE[0..LEN) is the line's content and
	 * LINE[LEN..LEN+EOL_LEN) its line end ("\n", "\r\n", or nothing for
	 * a piece of an over-long line, the last line of the input, and
	 * MIME_STREAM_RAW bytes).  Passing every byte on in order gives the
	 * input back, except for header fields (header callback).  CHECK:
	 * body checks apply to this raw line (a body line of a part that is
	 * not text in base64/quoted-printable, within body_limit).
	 */
	void (*line)(void *ctx, enum mime_stream_line kind, const char *line,
	    size_t len, size_t eol_len, bool check);
	/*
	 * A decoded line TEXT[0..LEN) (without its line end; may hold any
	 * byte) of a text part in base64 or quoted-printable, within
	 * body_limit: for body checks only.  May be NULL.
	 */
	void (*text)(void *ctx, const char *text, size_t len);
};

struct mime_stream_opts {
	size_t header_max;	/* largest header field kept (>= 1024) */
	size_t body_limit;	/* body octets checked per part (0: none) */
	size_t depth_max;	/* multipart/message nesting (default 20) */
	bool no_mime;		/* disable_mime_input_processing: one plain body */
	bool headers_only;	/* after the primary header: MIME_STREAM_RAW */
};

/* Defaults: header_max 102400, body_limit 51200, depth_max 20. */
void mime_stream_opts_default(struct mime_stream_opts *o);

struct mime_stream;

/*
 * A new walk with options O (copied) calling CB (copied) with CTX.
 * Never NULL; exits only when memory runs out.
 */
struct mime_stream *mime_stream_new(const struct mime_stream_opts *o,
    const struct mime_stream_callbacks *cb, void *ctx);
/* Feed DATA[0..LEN) (any chunking); callbacks run from inside. */
void mime_stream_feed(struct mime_stream *s, const void *data, size_t len);
/* The input is over: the last line, field and decoded text come out. */
void mime_stream_finish(struct mime_stream *s);
/* True until the primary header block is over. */
bool mime_stream_in_primary_header(const struct mime_stream *s);
void mime_stream_free(struct mime_stream *s);

#endif
