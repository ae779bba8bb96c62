/*
 * header - incremental RFC 5322 header parser, unfolding and RFC 2047
 * decoding; see header.h.
 *
 * The input is message text from any sender: any octets, NUL included,
 * lines of any length.  The parser keeps at most the header size limit
 * in memory (plus one line), reads only within the lengths given and
 * never trusts a terminator to be present.
 */
#include "header.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "hex.h"
#include "mem.h"
#include "str.h"

enum pstate {
	PS_HEADER,	/* reading header lines */
	PS_OVER,	/* the header ended (or the limit was hit) */
};

struct header_parser {
	enum pstate state;
	size_t max_size;
	size_t size;
	/* The field being read, and the one handed out last. */
	struct buf pending_buf;
	struct header_field pending;
	bool have_pending;
	struct buf done_buf;
	struct header_field done;
};

struct header_parser *
header_parser_new(size_t max_size)
{
	struct header_parser *p = xcalloc(1, sizeof(*p));

	p->max_size = max_size;
	buf_init(&p->pending_buf, 0);
	buf_init(&p->done_buf, 0);
	return p;
}

void
header_parser_free(struct header_parser *p)
{
	if (p == NULL)
		return;
	buf_release(&p->pending_buf);
	buf_release(&p->done_buf);
	free(p);
}

size_t
header_parser_size(const struct header_parser *p)
{
	return p->size;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * If LINE is a header field line, return the length of its name and set
 * *COLON_R to the index of the colon.  field-name = 1*ftext, ftext =
 * %d33-57 / %d59-126 (RFC 5322 3.6.8); white space between the name and
 * the colon is the obsolete syntax of RFC 5322 4.5 and is tolerated.
 */
static size_t
header_name_len(const char *line, size_t len, size_t *colon_r)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 33 || c > 126 || c == ':')
			break;
	}
	n = i;
	while (i < len && is_wsp(line[i]))
		i++;
	if (n == 0 || i >= len || line[i] != ':')
		return 0;
	*colon_r = i;
	return n;
}

static void
scan_flags(struct header_field *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			f->has_8bit = true;
		else if (s[i] == '\0')
			f->has_nul = true;
	}
}

/* Hand the pending field out: it moves to the done slot. */
static const struct header_field *
complete_pending(struct header_parser *p)
{
	struct buf tmp;

	if (!p->have_pending)
		return NULL;
	tmp = p->done_buf;
	p->done_buf = p->pending_buf;
	p->pending_buf = tmp;
	buf_reset(&p->pending_buf);
	p->done = p->pending;
	p->done.name = p->done_buf.data;
	p->done.value = p->done_buf.data + p->done.name_len + 1;
	p->have_pending = false;
	return &p->done;
}

/* The header's size limit: every line counts with one terminator octet. */
static int
charge(struct header_parser *p, size_t len, const char **error_r)
{
	if (p->max_size > 0 && (len >= p->max_size ||
	    p->size > p->max_size - len - 1)) {
		p->state = PS_OVER;
		*error_r = err_fmt("header exceeds the limit of %zu octets",
		    p->max_size);
		return -1;
	}
	p->size += len + 1;
	return 0;
}

enum header_result
header_parser_feed(struct header_parser *p, const char *line, size_t len,
    const struct header_field **field_r, const char **error_r)
{
	size_t name_len, colon = 0;

	*field_r = NULL;
	if (p->state != PS_HEADER) {
		*error_r = "header already ended";
		return HEADER_ERROR;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		/* RFC 5322 2.1: an empty line ends the header section. */
		*field_r = complete_pending(p);
		p->state = PS_OVER;
		return HEADER_END;
	}
	if (is_wsp(line[0])) {
		if (!p->have_pending) {
			/* White space at the top: no header at all. */
			p->state = PS_OVER;
			return HEADER_BODY;
		}
		/* RFC 5322 2.2.3: a folded line continues the field. */
		if (charge(p, len, error_r) < 0)
			return HEADER_ERROR;
		buf_append_char(&p->pending_buf, '\n');
		buf_append(&p->pending_buf, line, len);
		p->pending.value_len += len + 1;
		p->pending.lines++;
		scan_flags(&p->pending, line, len);
		return HEADER_MORE;
	}
	if ((name_len = header_name_len(line, len, &colon)) == 0) {
		/* Not a header line: the body starts here (as in Postfix). */
		*field_r = complete_pending(p);
		p->state = PS_OVER;
		return HEADER_BODY;
	}
	if (charge(p, len, error_r) < 0)
		return HEADER_ERROR;
	*field_r = complete_pending(p);
	/* pending_buf holds: name NUL value NUL */
	buf_append(&p->pending_buf, line, name_len);
	buf_append_char(&p->pending_buf, '\0');
	buf_append(&p->pending_buf, line + colon + 1, len - colon - 1);
	memset(&p->pending, 0, sizeof(p->pending));
	p->pending.name_len = name_len;
	p->pending.value_len = len - colon - 1;
	p->pending.lines = 1;
	p->pending.obs_space = colon > name_len;
	scan_flags(&p->pending, line + colon + 1, len - colon - 1);
	p->have_pending = true;
	return HEADER_MORE;
}

void
header_parser_finish(struct header_parser *p,
    const struct header_field **field_r)
{
	*field_r = p->state == PS_HEADER ? complete_pending(p) : NULL;
	p->state = PS_OVER;
}

bool
header_field_is(const struct header_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	    str_ncasecmp(f->name, name, f->name_len) == 0;
}

int
header_unfold(const char *value, size_t len, bool trim, struct buf *out)
{
	size_t start = out->len, i = 0, end = len, n;

	if (trim) {
		while (i < end && (is_wsp(value[i]) || value[i] == '\r' ||
		    value[i] == '\n'))
			i++;
		while (end > i && (is_wsp(value[end - 1]) ||
		    value[end - 1] == '\r' || value[end - 1] == '\n'))
			end--;
	}
	while (i < end) {
		if (value[i] == '\r' && i + 2 < end && value[i + 1] == '\n' &&
		    is_wsp(value[i + 2])) {
			i += 2;
			continue;
		}
		if (value[i] == '\n' && i + 1 < end && is_wsp(value[i + 1])) {
			i++;
			continue;
		}
		/* Copy up to the next line break in one go. */
		for (n = i + 1; n < end && value[n] != '\r' && value[n] != '\n';
		    n++)
			;
		if (buf_append(out, value + i, n - i) < 0) {
			buf_truncate(out, start);
			return -1;
		}
		i = n;
	}
	return 0;
}

int
header_parse_message(const char *msg, size_t len, size_t max_size,
    header_field_cb *cb, void *ctx, size_t *body_offset_r,
    const char **error_r)
{
	struct header_parser *p = header_parser_new(max_size);
	const struct header_field *f;
	struct header_field span;
	enum header_result r = HEADER_MORE;
	size_t i = 0, eol, next, start = 0;
	bool pending = false;
	int ret = 0;

	*body_offset_r = len;
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);

		eol = nl != NULL ? (size_t)(nl - msg) : len;
		next = nl != NULL ? eol + 1 : len;
		r = header_parser_feed(p, msg + i, eol - i, &f, error_r);
		if (f != NULL) {
			/* It began at START and ends where this line begins. */
			span = *f;
			span.offset = start;
			span.length = i - start;
			if ((ret = cb(ctx, &span)) != 0)
				break;
			pending = false;
		}
		if (r == HEADER_ERROR) {
			ret = -1;
			break;
		}
		if (r == HEADER_END) {
			*body_offset_r = next;
			break;
		}
		if (r == HEADER_BODY) {
			*body_offset_r = i;
			break;
		}
		/* A line that completed nothing and found nothing pending
		 * begins the first field; one that completed a field begins
		 * the next. */
		if (!pending) {
			start = i;
			pending = true;
		}
		i = next;
	}
	if (ret == 0 && r == HEADER_MORE) {
		header_parser_finish(p, &f);
		if (f != NULL) {
			span = *f;
			span.offset = start;
			span.length = len - start;
			ret = cb(ctx, &span);
		}
	}
	header_parser_free(p);
	return ret;
}

bool
header_authserv_id_is(const char *value, size_t len, const char *id)
{
	size_t i = 0, n = 0, idl = strlen(id);

	while (i < len && (value[i] == ' ' || value[i] == '\t' ||
	    value[i] == '\r' || value[i] == '\n'))
		i++;
	while (i + n < len && value[i + n] != ';' && value[i + n] != ' ' &&
	    value[i + n] != '\t' && value[i + n] != '\r' &&
	    value[i + n] != '\n')
		n++;
	return n == idl && n > 0 && str_ncasecmp(value + i, id, idl) == 0;
}

/*
 * RFC 2047 decoding.
 */

#define ENCODED_WORD_MAX 1000

/* RFC 2047 4.2 "Q": "_" is a space, "=XX" an octet. */
static int
decode_q(const char *s, size_t n, struct buf *out)
{
	int hi, lo;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			buf_append_char(out, ' ');
		} else if (s[i] == '=') {
			if (n - i < 3 || (hi = hex_digit_value(s[i + 1])) < 0 ||
			    (lo = hex_digit_value(s[i + 2])) < 0)
				return -1;
			buf_append_char(out, (char)(hi * 16 + lo));
			i += 2;
		} else {
			buf_append_char(out, s[i]);
		}
	}
	return 0;
}

/* Convert RAW from CHARSET to UTF-8, appended to OUT. */
static int
to_utf8(const char *charset, const struct buf *raw, struct buf *out)
{
	iconv_t cd;
	char chunk[256], *in, *o;
	size_t inleft, oleft;
	size_t start = out->len;

	if (str_casecmp(charset, "utf-8") == 0 ||
	    str_casecmp(charset, "us-ascii") == 0) {
		/* Checked like every other charset, by iconv below. */
		charset = "UTF-8";
	}
	if ((cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return -1;
	in = raw->data;
	inleft = raw->len;
	while (inleft > 0) {
		o = chunk;
		oleft = sizeof(chunk);
		if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1 &&
		    errno != E2BIG) {
			iconv_close(cd);
			buf_truncate(out, start);
			return -1;
		}
		buf_append(out, chunk, sizeof(chunk) - oleft);
	}
	o = chunk;
	oleft = sizeof(chunk);
	(void)iconv(cd, NULL, NULL, &o, &oleft);
	buf_append(out, chunk, sizeof(chunk) - oleft);
	iconv_close(cd);
	return 0;
}

/*
 * If an encoded-word starts at S[0..LEN), decode it into OUT (UTF-8) and
 * return its length; else return 0 with OUT unchanged.
 * encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
 * (RFC 2047 2), charset possibly with "*language" (RFC 2231 5).
 */
static size_t
encoded_word(const char *s, size_t len, struct buf *out)
{
	char charset[64];
	struct buf raw, conv;
	size_t i = 2, cs, text, end;
	const char *b64_error;
	char enc;
	int ret;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (cs = i; i < len && s[i] != '?'; i++) {
		/* token: no SPACE, CTLs or especials (RFC 2047 2) */
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 127 || strchr("()<>@,;:\"/[].=", c))
			return 0;
	}
	if (i == cs || i >= len || i - cs >= sizeof(charset))
		return 0;
	memcpy(charset, s + cs, i - cs);
	charset[i - cs] = '\0';
	/* RFC 2231 5: "charset*language" */
	if (strchr(charset, '*') != NULL)
		*strchr(charset, '*') = '\0';
	if (charset[0] == '\0' || i + 3 >= len || s[i + 2] != '?')
		return 0;
	enc = s[i + 1];
	text = i + 3;
	/*
	 * RFC 2047 2 allows 75 octets per word; real mailers write longer
	 * ones, so the cap is looser.  It bounds the work per "=?" so that
	 * a header full of unterminated words costs linear time.
	 */
	if (len > ENCODED_WORD_MAX)
		len = ENCODED_WORD_MAX;
	for (end = text; end + 1 < len; end++) {
		unsigned char c = (unsigned char)s[end];

		if (c == '?' && s[end + 1] == '=')
			break;
		if (c <= ' ' || c >= 127)
			return 0;
	}
	if (end + 1 >= len || s[end] != '?')
		return 0;
	buf_init(&raw, 0);
	if (enc == 'B' || enc == 'b')
		/* RFC 2047 4.1 "B": base64 (RFC 2045 6.8), padding optional. */
		ret = base64_decode(s + text, end - text, BASE64_LOOSE, &raw,
		    &b64_error);
	else if (enc == 'Q' || enc == 'q')
		ret = decode_q(s + text, end - text, &raw);
	else
		ret = -1;
	buf_init(&conv, 0);
	if (ret == 0)
		ret = to_utf8(charset, &raw, &conv);
	if (ret == 0) {
		for (size_t k = 0; k < conv.len; k++)
			if (conv.data[k] == '\0' || conv.data[k] == '\r' ||
			    conv.data[k] == '\n')
				conv.data[k] = '?';
		ret = buf_append(out, conv.data, conv.len);
	}
	buf_release(&raw);
	buf_release(&conv);
	return ret == 0 ? end + 2 : 0;
}

int
header_decode_2047(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, n, ws;
	bool prev_word = false;

	while (i < len) {
		if (s[i] == '=' && (n = encoded_word(s + i, len - i, out)) > 0) {
			i += n;
			prev_word = true;
			continue;
		}
		if (prev_word && (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n')) {
			/*
			 * Linear white space after an encoded-word: dropped
			 * when another encoded-word follows (RFC 2047 6.2).
			 */
			for (ws = i; ws < len && (is_wsp(s[ws]) || s[ws] == '\r' ||
			    s[ws] == '\n'); ws++)
				;
			if (ws < len && s[ws] == '=' && ws + 1 < len &&
			    s[ws + 1] == '?') {
				size_t before = out->len;

				if ((n = encoded_word(s + ws, len - ws, out)) > 0) {
					i = ws + n;
					continue;
				}
				buf_truncate(out, before);
			}
			if (buf_append(out, s + i, ws - i) < 0)
				return -1;
			i = ws;
			prev_word = false;
			continue;
		}
		prev_word = false;
		if (buf_append_char(out, s[i]) < 0)
			return -1;
		i++;
	}
	return 0;
}
