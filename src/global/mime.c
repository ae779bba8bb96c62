/*
 * mime - MIME structure of a message (RFC 2045, RFC 2046, RFC 2183).
 *
 * Input is a whole message in memory, written by anyone: every position
 * is checked against the buffer's end, nesting and the number of parts
 * are bounded, and nothing in the message can make parsing fail - a
 * broken structure simply yields fewer, larger parts.
 *
 * The header of each entity ends at its first empty line (what IMAP calls
 * HEADER includes that line).  A multipart's body is split at lines that
 * start with "--" boundary (RFC 2046 5.1.1; text after the boundary on the
 * line is ignored, as most readers do); the line break before a delimiter
 * belongs to the delimiter.  Preamble and epilogue are not parts.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "header.h"
#include "mem.h"
#include "str.h"

#include "mime.h"

#define BOUNDARY_MAX 200	/* RFC 2046 allows 70; be tolerant */
#define PARAMS_MAX 100

struct ctx {
	const char *msg;
	size_t len;
	struct mime_limits lim;
	size_t parts;
};

void
mime_limits_default(struct mime_limits *lim)
{
	lim->depth_max = 30;
	lim->parts_max = 10000;
	lim->header_max = 1024 * 1024;
}

void
mime_params_release(struct mime_params *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].value);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

const char *
mime_param_get(const struct mime_params *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (str_casecmp(ps->v[i].name, name) == 0)
			return ps->v[i].value;
	return NULL;
}

/* RFC 2045 5.1: token chars are CHAR except SPACE, CTLs and tspecials. */
static bool
is_token_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip white space and (nested) comments. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' ||
		    s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i < len && s[i] == '(') {
			size_t depth = 0;

			while (i < len) {
				if (s[i] == '\\' && i + 1 < len) {
					i += 2;
					continue;
				}
				if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
				i++;
			}
			continue;
		}
		return i;
	}
}

void
mime_parse_value(const char *s, size_t len, char **main_r,
    struct mime_params *ps)
{
	struct buf b;
	size_t i = skip_cfws(s, len, 0);
	size_t cap = ps->n;

	buf_init(&b, 1024);
	/* type "/" subtype, with CFWS tolerated around the slash. */
	while (i < len && s[i] != ';') {
		if (s[i] == '(' || s[i] == ' ' || s[i] == '\t' ||
		    s[i] == '\r' || s[i] == '\n') {
			i = skip_cfws(s, len, i);
			continue;
		}
		if (buf_append_char(&b, s[i]) < 0)
			break;
		i++;
	}
	*main_r = b.len > 0 ? str_lower(buf_detach(&b, NULL)) : NULL;
	buf_release(&b);
	while (i < len && ps->n < PARAMS_MAX) {
		struct buf name, value;
		size_t j;

		if (s[i] != ';') {
			/* Junk: go on at the next ';'. */
			const char *semi = memchr(s + i, ';', len - i);

			if (semi == NULL)
				break;
			i = (size_t)(semi - s);
		}
		i = skip_cfws(s, len, i + 1);
		j = i;
		while (i < len && is_token_char((unsigned char)s[i]))
			i++;
		if (i == j)
			continue;
		buf_init(&name, 256);
		buf_append(&name, s + j, i - j);
		i = skip_cfws(s, len, i);
		if (i >= len || s[i] != '=') {
			buf_release(&name);
			continue;
		}
		i = skip_cfws(s, len, i + 1);
		buf_init(&value, 64 * 1024);
		if (i < len && s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] == '\r' || s[i] == '\n')
					continue;
				(void)buf_append_char(&value, s[i]);
			}
			if (i < len)
				i++;
		} else {
			/* Tolerate 8-bit and '/', '@', ... as most readers do. */
			while (i < len && s[i] != ';' && s[i] != ' ' &&
			    s[i] != '\t' && s[i] != '\r' && s[i] != '\n' &&
			    s[i] != '(' && s[i] != '"')
				(void)buf_append_char(&value, s[i++]);
		}
		if (ps->n == cap) {
			cap = cap ? cap * 2 : 4;
			ps->v = xreallocarray(ps->v, cap, sizeof(*ps->v));
		}
		ps->v[ps->n].name = buf_detach(&name, NULL);
		ps->v[ps->n].value = buf_detach(&value, NULL);
		ps->n++;
		buf_release(&name);
		buf_release(&value);
		i = skip_cfws(s, len, i);
	}
}

/* Offset just past the line starting at I (after its LF), or LEN. */
static size_t
next_line(const char *s, size_t end, size_t i)
{
	const char *lf = memchr(s + i, '\n', end - i);

	return lf != NULL ? (size_t)(lf - s) + 1 : end;
}

/* Where the header starting at OFF ends (after its empty line). */
static size_t
header_end(const char *s, size_t end, size_t off)
{
	size_t i = off;

	while (i < end) {
		if (s[i] == '\n')
			return i + 1;
		if (s[i] == '\r' && i + 1 < end && s[i + 1] == '\n')
			return i + 2;
		i = next_line(s, end, i);
	}
	return end;
}

static size_t
count_lines(const char *s, size_t len)
{
	size_t n = 0;
	const char *p = s, *end = s + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	if (len > 0 && s[len - 1] != '\n')
		n++;
	return n;
}

static char *
unfolded(const struct header_field *f)
{
	struct buf b;
	char *r;

	buf_init(&b, 64 * 1024);

	(void)header_unfold(f->value, f->value_len, true, &b);
	r = buf_detach(&b, NULL);
	buf_release(&b);
	return r;
}

static int
field_cb(void *arg, const struct header_field *f)
{
	struct mime_part *p = arg;
	char **slot = NULL;

	if (f->has_nul)
		return 0;
	if (header_field_is(f, "Content-Type")) {
		char *v, *main;

		if (p->type != NULL)
			return 0;
		v = unfolded(f);
		mime_parse_value(v, strlen(v), &main, &p->params);
		free(v);
		if (main != NULL) {
			char *slash = strchr(main, '/');
			bool ok = slash != NULL && slash != main &&
			    slash[1] != '\0';

			for (char *c = main; ok && *c; c++)
				if (c != slash && !is_token_char((unsigned char)*c))
					ok = false;
			if (ok) {
				*slash = '\0';
				p->type = xstrdup(main);
				p->subtype = xstrdup(slash + 1);
			}
			free(main);
		}
		if (p->type == NULL) {
			/* RFC 2045 5.2: a broken Content-Type is text/plain. */
			mime_params_release(&p->params);
			p->type = xstrdup("text");
		}
		return 0;
	}
	if (header_field_is(f, "Content-Disposition")) {
		char *v;

		if (p->disposition != NULL)
			return 0;
		v = unfolded(f);
		mime_parse_value(v, strlen(v), &p->disposition,
		    &p->disp_params);
		free(v);
		return 0;
	}
	if (header_field_is(f, "Content-Transfer-Encoding")) {
		char *v, *main;
		struct mime_params junk = { NULL, 0 };

		if (p->encoding != NULL)
			return 0;
		v = unfolded(f);
		mime_parse_value(v, strlen(v), &main, &junk);
		mime_params_release(&junk);
		free(v);
		p->encoding = main;
		return 0;
	}
	if (header_field_is(f, "Content-ID"))
		slot = &p->id;
	else if (header_field_is(f, "Content-Description"))
		slot = &p->description;
	else if (header_field_is(f, "Content-MD5"))
		slot = &p->md5;
	else if (header_field_is(f, "Content-Language"))
		slot = &p->language;
	else if (header_field_is(f, "Content-Location"))
		slot = &p->location;
	if (slot != NULL && *slot == NULL)
		*slot = unfolded(f);
	return 0;
}

static void parse_entity(struct ctx *c, struct mime_part *p, size_t off,
    size_t end, size_t depth, bool digest_kid);

/* An empty text/plain part at OFF (a multipart without any part). */
static void
empty_part(struct mime_part *p, size_t off)
{
	memset(p, 0, sizeof(*p));
	p->hdr_off = p->body_off = off;
	p->type = xstrdup("text");
	p->subtype = xstrdup("plain");
}

static void
parse_multipart(struct ctx *c, struct mime_part *p, const char *boundary,
    size_t depth)
{
	const char *s = c->msg;
	size_t blen = strlen(boundary), end = p->body_off + p->body_len;
	size_t *starts = NULL, *ends = NULL, n = 0, cap = 0, i;
	bool in_part = false;

	for (i = p->body_off; i < end; i = next_line(s, end, i)) {
		size_t d = i;
		bool close;

		if (end - i < 2 + blen || s[i] != '-' || s[i + 1] != '-' ||
		    memcmp(s + i + 2, boundary, blen) != 0)
			continue;
		close = end - i >= 4 + blen && s[i + 2 + blen] == '-' &&
		    s[i + 3 + blen] == '-';
		if (in_part) {
			/* The line break before the delimiter is its own. */
			size_t e = d;

			if (e > starts[n - 1] && s[e - 1] == '\n') {
				e--;
				if (e > starts[n - 1] && s[e - 1] == '\r')
					e--;
			}
			ends[n - 1] = e;
			in_part = false;
		}
		if (close)
			break;
		if (c->parts >= c->lim.parts_max) {
			p->truncated = true;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			starts = xreallocarray(starts, cap, sizeof(*starts));
			ends = xreallocarray(ends, cap, sizeof(*ends));
		}
		starts[n] = next_line(s, end, i);
		ends[n] = end;
		n++;
		c->parts++;
		in_part = true;
	}
	if (n == 0) {
		p->kids = xcalloc(1, sizeof(*p->kids));
		p->n_kids = 1;
		empty_part(&p->kids[0], end);
	} else {
		bool digest = str_casecmp(p->subtype, "digest") == 0;

		p->kids = xcalloc(n, sizeof(*p->kids));
		p->n_kids = n;
		for (i = 0; i < n; i++)
			parse_entity(c, &p->kids[i], starts[i], ends[i],
			    depth + 1, digest);
	}
	free(starts);
	free(ends);
}

static void
parse_entity(struct ctx *c, struct mime_part *p, size_t off, size_t end,
    size_t depth, bool digest_kid)
{
	size_t hend = header_end(c->msg, end, off), body_off;
	const char *error;

	memset(p, 0, sizeof(*p));
	p->hdr_off = off;
	p->hdr_len = hend - off;
	p->body_off = hend;
	p->body_len = end - hend;
	p->body_lines = count_lines(c->msg + hend, end - hend);
	if (p->hdr_len <= c->lim.header_max)
		(void)header_parse_message(c->msg + off, p->hdr_len,
		    c->lim.header_max, field_cb, p, &body_off, &error);
	if (p->type == NULL) {
		/* RFC 2046 5.1.5: parts of a digest default to messages. */
		p->type = xstrdup(digest_kid ? "message" : "text");
		p->subtype = xstrdup(digest_kid ? "rfc822" : "plain");
	} else if (p->subtype == NULL)
		p->subtype = xstrdup("plain");
	if (depth >= c->lim.depth_max) {
		p->truncated = true;
		return;
	}
	if (strcmp(p->type, "multipart") == 0) {
		const char *boundary = mime_param_get(&p->params, "boundary");

		p->is_multipart = true;
		if (boundary == NULL || boundary[0] == '\0' ||
		    strlen(boundary) > BOUNDARY_MAX) {
			p->kids = xcalloc(1, sizeof(*p->kids));
			p->n_kids = 1;
			empty_part(&p->kids[0], end);
			return;
		}
		parse_multipart(c, p, boundary, depth);
		return;
	}
	if (strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 ||
	    strcmp(p->subtype, "global") == 0) &&
	    (p->encoding == NULL || (strcmp(p->encoding, "base64") != 0 &&
	    strcmp(p->encoding, "quoted-printable") != 0))) {
		if (c->parts >= c->lim.parts_max) {
			p->truncated = true;
			return;
		}
		c->parts++;
		p->is_message = true;
		p->kids = xcalloc(1, sizeof(*p->kids));
		p->n_kids = 1;
		parse_entity(c, &p->kids[0], p->body_off, end, depth + 1,
		    false);
	}
}

struct mime_part *
mime_parse(const char *msg, size_t len, const struct mime_limits *lim)
{
	struct ctx c = { .msg = msg, .len = len };
	struct mime_part *top = xcalloc(1, sizeof(*top));

	if (lim != NULL)
		c.lim = *lim;
	else
		mime_limits_default(&c.lim);
	if (c.lim.depth_max == 0)
		c.lim.depth_max = 1;
	parse_entity(&c, top, 0, len, 0, false);
	return top;
}

static void
part_release(struct mime_part *p)
{
	for (size_t i = 0; i < p->n_kids; i++)
		part_release(&p->kids[i]);
	free(p->kids);
	free(p->type);
	free(p->subtype);
	mime_params_release(&p->params);
	free(p->encoding);
	free(p->id);
	free(p->description);
	free(p->md5);
	free(p->disposition);
	mime_params_release(&p->disp_params);
	free(p->language);
	free(p->location);
}

void
mime_free(struct mime_part *top)
{
	if (top == NULL)
		return;
	part_release(top);
	free(top);
}

const struct mime_part *
mime_part_find(const struct mime_part *top, const uint32_t *part, size_t n)
{
	const struct mime_part *cur = top;

	for (size_t i = 0; i < n; i++) {
		/* Numbers go on into an embedded message (not at the top:
		 * TOP is the message itself). */
		if (i > 0 && cur->is_message)
			cur = &cur->kids[0];
		if (cur->is_multipart) {
			if (part[i] < 1 || part[i] > cur->n_kids)
				return NULL;
			cur = &cur->kids[part[i] - 1];
		} else if (part[i] != 1)
			return NULL;
	}
	return cur;
}

const struct mime_part *
mime_part_message(const struct mime_part *p, bool is_top)
{
	if (is_top)
		return p;
	return p->is_message ? &p->kids[0] : NULL;
}

static bool
name_in(const char *name, size_t len, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len &&
		    str_ncasecmp(names[i], name, len) == 0)
			return true;
	return false;
}

void
mime_header_filter(const char *hdr, size_t len, char *const *names,
    size_t n, bool want, struct buf *out)
{
	size_t i = 0;
	bool keep = false;

	while (i < len) {
		size_t e = next_line(hdr, len, i), nlen;
		const char *colon;

		if (hdr[i] == '\n' || (hdr[i] == '\r' && i + 1 < len &&
		    hdr[i + 1] == '\n'))
			break;
		if (hdr[i] != ' ' && hdr[i] != '\t') {
			colon = memchr(hdr + i, ':', e - i);
			if (colon == NULL)
				keep = false;
			else {
				nlen = (size_t)(colon - (hdr + i));
				while (nlen > 0 && (hdr[i + nlen - 1] == ' ' ||
				    hdr[i + nlen - 1] == '\t'))
					nlen--;
				keep = name_in(hdr + i, nlen, names, n) == want;
			}
		}
		if (keep) {
			buf_append(out, hdr + i, e - i);
			if (e == len && hdr[e - 1] != '\n')
				buf_append_str(out, "\r\n");
		}
		i = e;
	}
	buf_append_str(out, "\r\n");
}
