/*
 * cfline - blank, comment and continuation lines of main.cf and
 * master.cf; see cfline.h.
 *
 * Reads only the text it is given and never past its length; a NUL byte
 * inside a line is reported rather than taken for the end of the text.
 */
#include "cfline.h"

#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"

bool
cfline_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

const char *
cfline_quote(const char *s, size_t n)
{
	struct buf b;
	const char *r;

	buf_init(&b, 0);
	log_escape(&b, s, n > 60 ? 60 : n);
	r = err_fmt("\"%s%s\"", b.data, n > 60 ? "..." : "");
	buf_release(&b);
	return r;
}

void
cfline_init(struct cfline_reader *r, const char *text, size_t len,
    const char *filename)
{
	r->text = text;
	r->len = len;
	r->pos = 0;
	r->filename = filename;
	r->line = 0;
}

int
cfline_next(struct cfline_reader *r, struct cfline *out,
    const char **error_r)
{
	while (r->pos < r->len) {
		const char *s = r->text + r->pos;
		const char *nl = memchr(s, '\n', r->len - r->pos);
		size_t l = nl != NULL ? (size_t)(nl - s) : r->len - r->pos;
		size_t a = 0, b = l;

		r->pos += l + (nl != NULL);
		r->line++;
		if (memchr(s, '\0', l) != NULL) {
			*error_r = err_fmt("%s, line %d: NUL byte in line",
			    r->filename, r->line);
			return -1;
		}
		while (a < b && cfline_space(s[a]))
			a++;
		while (b > a && cfline_space(s[b - 1]))
			b--;
		if (a == b || s[a] == '#')
			continue;	/* blank and comment lines */
		out->s = s + a;
		out->len = b - a;
		out->line = r->line;
		out->continuation = a > 0;
		return 1;
	}
	return 0;
}
