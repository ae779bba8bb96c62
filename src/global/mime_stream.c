/*
 * mime_stream - streaming MIME walk for header and body checks; see
 * mime_stream.h.
 *
 * Distrusts its input completely (any byte, any line length, any
 * structure, from the network through smtpd or from any local user):
 * every buffer has a limit (line_max for a physical line, header_max for
 * a header field, TEXT_MAX for a decoded line, depth_max levels of
 * nesting), recursion is bounded by depth_max, and no input makes it
 * fail.
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "hex.h"
#include "mem.h"
#include "mime.h"
#include "str.h"

#include "mime_stream.h"

#define BOUNDARY_MAX 200	/* RFC 2046 5.1.1 allows 70; be tolerant */
#define TEXT_MAX 4096		/* a longer decoded line comes in pieces */
#define TOKEN_MAX 64		/* type, subtype, encoding */
#define LINE_MIN 4096

enum state {
	ST_HEADER,
	ST_BODY,
	ST_PREAMBLE,
	ST_EPILOGUE,
	ST_RAW,
};

enum decode {
	DEC_RAW,	/* body checks see the raw line */
	DEC_BASE64,	/* text part: checks see decoded lines */
	DEC_QP,
};

struct level {
	char boundary[BOUNDARY_MAX + 1];
	size_t blen;
	size_t depth;		/* of the multipart entity */
	bool digest;		/* multipart/digest: parts default to message/rfc822 */
};

struct mime_stream {
	struct mime_stream_opts o;
	struct mime_stream_callbacks cb;
	void *ctx;
	size_t line_max;
	struct buf line;	/* an incomplete physical line */
	bool line_cont;		/* the next line data continues an over-long line */
	bool skip_to_eol;	/* dropping the rest of an over-long header line */
	enum state state;
	enum mime_stream_class cls;	/* of the header being read */
	bool primary_done;

	/* The entity whose header or body is being read. */
	size_t depth;
	bool def_message;	/* default type message/rfc822 (digest part) */
	char type[TOKEN_MAX], subtype[TOKEN_MAX], encoding[TOKEN_MAX];
	char boundary[BOUNDARY_MAX + 1];
	bool have_boundary;

	/* The pending header field. */
	struct buf hdr;
	bool have_hdr;
	unsigned hdr_flags;

	/* The body of a leaf part. */
	enum decode dec;
	size_t part_bytes;	/* raw or decoded octets seen, for body_limit */
	struct buf text;	/* decoded line being assembled */
	struct base64_stream b64;
	struct buf b64_out;	/* octets of the line being decoded */

	struct level *levels;
	size_t n_levels;
};

void
mime_stream_opts_default(struct mime_stream_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->header_max = 102400;
	o->body_limit = 51200;
	o->depth_max = 20;
}

static void
entity_reset(struct mime_stream *s)
{
	s->type[0] = s->subtype[0] = s->encoding[0] = '\0';
	s->boundary[0] = '\0';
	s->have_boundary = false;
	s->def_message = false;
}

struct mime_stream *
mime_stream_new(const struct mime_stream_opts *o,
    const struct mime_stream_callbacks *cb, void *ctx)
{
	struct mime_stream *s = xcalloc(1, sizeof(*s));

	s->o = *o;
	if (s->o.header_max < 1024)
		s->o.header_max = 1024;
	if (s->o.depth_max == 0)
		s->o.depth_max = 1;
	s->cb = *cb;
	s->ctx = ctx;
	s->line_max = s->o.header_max + 2 > LINE_MIN ? s->o.header_max + 2 :
	    LINE_MIN;
	buf_init(&s->line, 0);
	buf_init(&s->hdr, 0);
	buf_init(&s->text, 0);
	buf_init(&s->b64_out, 0);
	s->levels = xcalloc(s->o.depth_max, sizeof(*s->levels));
	s->state = ST_HEADER;
	s->cls = MIME_STREAM_PRIMARY;
	entity_reset(s);
	return s;
}

void
mime_stream_free(struct mime_stream *s)
{
	if (s == NULL)
		return;
	buf_release(&s->line);
	buf_release(&s->hdr);
	buf_release(&s->text);
	buf_release(&s->b64_out);
	free(s->levels);
	free(s);
}

bool
mime_stream_in_primary_header(const struct mime_stream *s)
{
	return !s->primary_done;
}

/* RFC 5322 3.6.8: ftext is printable ASCII but ':'; obs WSP before ':'. */
static bool
is_field(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (unsigned char)line[i] > 32 &&
	    (unsigned char)line[i] < 127 && line[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':';
}

/* Copy a token, lower case, into DST (empty when it does not fit). */
static void
set_token(char *dst, const char *src, size_t len)
{
	if (len >= TOKEN_MAX) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	str_lower(dst);
}

/* Remember what Content-Type and Content-Transfer-Encoding say. */
static void
field_record(struct mime_stream *s)
{
	const char *h = s->hdr.data;
	size_t len = s->hdr.len;
	const char *colon = memchr(h, ':', len);
	size_t nlen, vlen;
	const char *v;

	if (colon == NULL)
		return;
	nlen = (size_t)(colon - h);
	while (nlen > 0 && (h[nlen - 1] == ' ' || h[nlen - 1] == '\t'))
		nlen--;
	v = colon + 1;
	vlen = len - (size_t)(v - h);
	if (nlen == 12 && str_ncasecmp(h, "Content-Type", 12) == 0) {
		struct mime_params ps = { NULL, 0 };
		char *main_type = NULL;
		const char *slash, *b;

		mime_parse_value(v, vlen, &main_type, &ps);
		if (main_type != NULL &&
		    (slash = strchr(main_type, '/')) != NULL) {
			set_token(s->type, main_type,
			    (size_t)(slash - main_type));
			set_token(s->subtype, slash + 1, strlen(slash + 1));
		} else {
			/* RFC 2045 5.2: unusable means text/plain. */
			s->type[0] = s->subtype[0] = '\0';
		}
		b = mime_param_get(&ps, "boundary");
		s->have_boundary = b != NULL && b[0] != '\0' &&
		    str_copy(s->boundary, sizeof(s->boundary), b) == 0;
		free(main_type);
		mime_params_release(&ps);
	} else if (nlen == 25 &&
	    str_ncasecmp(h, "Content-Transfer-Encoding", 25) == 0) {
		size_t i = 0, j;

		while (i < vlen && strchr(" \t\r\n", v[i]) != NULL)
			i++;
		j = i;
		while (j < vlen && strchr(" \t\r\n;(", v[j]) == NULL)
			j++;
		set_token(s->encoding, v + i, j - i);
	}
}

static void
field_flush(struct mime_stream *s)
{
	if (!s->have_hdr)
		return;
	if (!s->o.no_mime)
		field_record(s);
	s->cb.header(s->ctx, s->cls, s->hdr.data, s->hdr.len, s->hdr_flags);
	buf_reset(&s->hdr);
	s->have_hdr = false;
	s->hdr_flags = 0;
}

/* Add one physical header line to the pending field (cut at header_max). */
static void
field_add(struct mime_stream *s, const char *line, size_t len)
{
	if (memchr(line, '\0', len) != NULL)
		s->hdr_flags |= MIME_STREAM_HDR_NUL;
	if (s->hdr.len + len + 2 > s->o.header_max) {
		size_t room = s->o.header_max - 2 > s->hdr.len ?
		    s->o.header_max - 2 - s->hdr.len : 0;

		s->hdr_flags |= MIME_STREAM_HDR_TRUNCATED;
		if (room == 0)
			return;
		len = room < len ? room : len;
	}
	buf_append(&s->hdr, line, len);
	buf_append_str(&s->hdr, "\r\n");
}

static void
text_emit(struct mime_stream *s)
{
	size_t len = s->text.len;

	if (len > 0 && s->text.data[len - 1] == '\r')
		len--;
	if (s->cb.text != NULL)
		s->cb.text(s->ctx, s->text.data, len);
	buf_reset(&s->text);
}

/* Decoded octets of a text part; lines go to the text callback. */
static void
text_put(struct mime_stream *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s->o.body_limit > 0 && s->part_bytes >= s->o.body_limit)
			return;
		s->part_bytes++;
		if (p[i] == '\n') {
			text_emit(s);
			continue;
		}
		buf_append_char(&s->text, p[i]);
		if (s->text.len >= TEXT_MAX)
			text_emit(s);
	}
}

/* RFC 2045 6.8: characters outside the alphabet are ignored. */
static void
decode_base64(struct mime_stream *s, const char *line, size_t len)
{
	buf_reset(&s->b64_out);
	(void)base64_stream_decode(&s->b64, line, len, &s->b64_out);
	text_put(s, s->b64_out.data, s->b64_out.len);
}

/* RFC 2045 6.7; EOL: the line had its line end (else: a piece). */
static void
decode_qp(struct mime_stream *s, const char *line, size_t len, bool eol)
{
	char out[256];
	size_t n = 0;
	bool soft = false;

	if (eol) {
		/* Rule 3: trailing white space is not part of the text. */
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (len > 0 && line[len - 1] == '=') {
			soft = true;
			len--;
		}
	}
	for (size_t i = 0; i < len; i++) {
		char c = line[i];

		if (c == '=' && i + 2 < len) {
			int hi = hex_digit_value(line[i + 1]);
			int lo = hex_digit_value(line[i + 2]);

			if (hi >= 0 && lo >= 0) {
				c = (char)(hi * 16 + lo);
				i += 2;
			}
		}
		out[n++] = c;
		if (n == sizeof(out)) {
			text_put(s, out, n);
			n = 0;
		}
	}
	if (eol && !soft)
		out[n++] = '\n';
	text_put(s, out, n);
}

static void
part_end(struct mime_stream *s)
{
	if (s->state == ST_BODY && s->text.len > 0)
		text_emit(s);
	base64_stream_init(&s->b64);
}

static bool
type_is(const char *t, const char *want)
{
	return strcmp(t, want) == 0;
}

/* The header of the current entity is over: where does its body go? */
static void
body_start(struct mime_stream *s)
{
	const char *type = s->type, *sub = s->subtype;
	const char *enc = s->encoding;

	if (s->cls == MIME_STREAM_PRIMARY && s->o.headers_only) {
		s->state = ST_RAW;
		return;
	}
	s->state = ST_BODY;
	s->dec = DEC_RAW;
	s->part_bytes = 0;
	buf_reset(&s->text);
	base64_stream_init(&s->b64);
	if (s->o.no_mime)
		return;
	if (type[0] == '\0') {
		type = s->def_message ? "message" : "text";
		sub = s->def_message ? "rfc822" : "plain";
	}
	if (type_is(type, "multipart") && s->have_boundary &&
	    s->depth < s->o.depth_max && s->n_levels < s->o.depth_max) {
		struct level *l = &s->levels[s->n_levels++];

		(void)str_copy(l->boundary, sizeof(l->boundary), s->boundary);
		l->blen = strlen(l->boundary);
		l->depth = s->depth;
		l->digest = type_is(sub, "digest");
		s->state = ST_PREAMBLE;
		return;
	}
	if (type_is(type, "message") && (type_is(sub, "rfc822") ||
	    type_is(sub, "global")) && (enc[0] == '\0' ||
	    type_is(enc, "7bit") || type_is(enc, "8bit") ||
	    type_is(enc, "binary")) && s->depth < s->o.depth_max) {
		/* RFC 2046 5.2.1: the body is a whole message. */
		s->state = ST_HEADER;
		s->cls = MIME_STREAM_NESTED;
		s->depth++;
		entity_reset(s);
		return;
	}
	if (type_is(type, "text")) {
		if (type_is(enc, "base64"))
			s->dec = DEC_BASE64;
		else if (type_is(enc, "quoted-printable"))
			s->dec = DEC_QP;
	}
}

static void
header_end(struct mime_stream *s, enum mime_stream_end how)
{
	field_flush(s);
	if (s->cls == MIME_STREAM_PRIMARY)
		s->primary_done = true;
	s->cb.header_end(s->ctx, s->cls, how);
}

/* Which enclosing boundary LINE is, innermost first; -1 when none. */
static long
boundary_match(const struct mime_stream *s, const char *line, size_t len,
    bool *close_r)
{
	if (len < 3 || line[0] != '-' || line[1] != '-')
		return -1;
	for (size_t k = s->n_levels; k-- > 0;) {
		const struct level *l = &s->levels[k];

		if (len - 2 >= l->blen &&
		    memcmp(line + 2, l->boundary, l->blen) == 0) {
			*close_r = len - 2 - l->blen >= 2 &&
			    line[2 + l->blen] == '-' && line[3 + l->blen] == '-';
			return (long)k;
		}
	}
	return -1;
}

static void dispatch(struct mime_stream *s, const char *line, size_t len,
    size_t eol, bool cont);

static void
body_line(struct mime_stream *s, const char *line, size_t len, size_t eol)
{
	bool within = s->o.body_limit == 0 || s->part_bytes < s->o.body_limit;

	switch (s->dec) {
	case DEC_RAW:
		if (within)
			s->part_bytes += len + eol;
		s->cb.line(s->ctx, MIME_STREAM_BODY, line, len, eol, within);
		return;
	case DEC_BASE64:
		if (within)
			decode_base64(s, line, len);
		break;
	case DEC_QP:
		if (within)
			decode_qp(s, line, len, eol > 0);
		break;
	}
	s->cb.line(s->ctx, MIME_STREAM_BODY, line, len, eol, false);
}

static void
header_line(struct mime_stream *s, const char *line, size_t len, size_t eol,
    bool piece)
{
	if (len == 0) {
		if (eol == 0)
			return;
		header_end(s, MIME_STREAM_END_SEPARATOR);
		s->cb.line(s->ctx, MIME_STREAM_SEPARATOR, line, 0, eol, false);
		body_start(s);
		return;
	}
	if ((line[0] == ' ' || line[0] == '\t') && s->have_hdr) {
		/* RFC 5322 2.2.3: a continuation of the field. */
	} else if (is_field(line, len)) {
		field_flush(s);
		s->have_hdr = true;
	} else {
		header_end(s, MIME_STREAM_END_BODY);
		body_start(s);
		/* Recursion ends at once: a nested header that starts here is
		 * empty, so its entity is text/plain. */
		dispatch(s, line, len, eol, false);
		return;
	}
	field_add(s, line, len);
	if (piece) {
		/* The rest of this physical line is cut off. */
		s->hdr_flags |= MIME_STREAM_HDR_TRUNCATED;
		s->skip_to_eol = true;
	}
}

/*
 * One physical line (or, with EOL 0 and a full line buffer, a piece of
 * one): CONT says it continues a piece, so it cannot be a boundary.
 */
static void
dispatch(struct mime_stream *s, const char *line, size_t len, size_t eol,
    bool cont)
{
	bool close;
	long k;

	if (s->state == ST_RAW) {
		s->cb.line(s->ctx, MIME_STREAM_RAW, line, len + eol, 0, false);
		return;
	}
	if (!cont && s->n_levels > 0 &&
	    (k = boundary_match(s, line, len, &close)) >= 0) {
		if (s->state == ST_HEADER)
			header_end(s, MIME_STREAM_END_BODY);
		part_end(s);
		s->n_levels = (size_t)k + 1;
		s->cb.line(s->ctx, MIME_STREAM_BOUNDARY, line, len, eol, false);
		if (close) {
			s->n_levels = (size_t)k;
			s->state = ST_EPILOGUE;
			s->depth = s->levels[k].depth;
		} else {
			s->state = ST_HEADER;
			s->cls = MIME_STREAM_MULTIPART;
			s->depth = s->levels[k].depth + 1;
			entity_reset(s);
			s->def_message = s->levels[k].digest;
		}
		return;
	}
	switch (s->state) {
	case ST_HEADER:
		if (cont) {
			/* Cannot happen: a header piece sets skip_to_eol. */
			return;
		}
		header_line(s, line, len, eol, eol == 0 && len >= s->line_max);
		return;
	case ST_BODY:
		body_line(s, line, len, eol);
		return;
	case ST_PREAMBLE:
	case ST_EPILOGUE:
		s->cb.line(s->ctx, MIME_STREAM_OTHER, line, len, eol, false);
		return;
	case ST_RAW:
		return;
	}
}

/* A complete line DATA[0..N) with its LF. */
static void
line_full(struct mime_stream *s, const char *data, size_t n)
{
	size_t len = n - 1;
	bool cont = s->line_cont;

	if (len > 0 && data[len - 1] == '\r')
		len--;
	s->line_cont = false;
	dispatch(s, data, len, n - len, cont);
}

void
mime_stream_feed(struct mime_stream *s, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		const char *nl;
		size_t n, room;

		if (s->state == ST_RAW && s->line.len == 0) {
			s->cb.line(s->ctx, MIME_STREAM_RAW, p, len, 0, false);
			return;
		}
		if (s->skip_to_eol) {
			nl = memchr(p, '\n', len);
			n = nl != NULL ? (size_t)(nl - p) : len;
			if (memchr(p, '\0', n) != NULL)
				s->hdr_flags |= MIME_STREAM_HDR_NUL;
			if (nl == NULL)
				return;
			s->skip_to_eol = false;
			s->line_cont = false;
			p += n + 1;
			len -= n + 1;
			continue;
		}
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		if (s->line.len == 0 && nl != NULL && n <= s->line_max) {
			line_full(s, p, n);
		} else {
			room = s->line_max - s->line.len;
			if (n <= room) {
				buf_append(&s->line, p, n);
				if (nl != NULL) {
					line_full(s, s->line.data, s->line.len);
					buf_reset(&s->line);
				}
			} else {
				bool cont = s->line_cont;

				buf_append(&s->line, p, room);
				n = room;
				s->line_cont = true;
				dispatch(s, s->line.data, s->line.len, 0, cont);
				buf_reset(&s->line);
			}
		}
		p += n;
		len -= n;
	}
}

void
mime_stream_finish(struct mime_stream *s)
{
	s->skip_to_eol = false;
	if (s->line.len > 0) {
		bool cont = s->line_cont;

		s->line_cont = false;
		/* The last line, without a line end. */
		dispatch(s, s->line.data, s->line.len, 0, cont);
		buf_reset(&s->line);
	}
	if (s->state == ST_HEADER)
		header_end(s, MIME_STREAM_END_EOF);
	part_end(s);
}
