/*
 * mapsrc - logical-line reader for table source files; see mapsrc.h.
 *
 * Distrusts its input completely: files edited by hand, files from other
 * systems, fuzzer bytes.  Every length is bounded by MAPSRC_LINE_MAX.
 */
#include "mapsrc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

struct mapsrc {
	char *name;
	FILE *fp;		/* NULL when reading from memory */
	const char *text;
	size_t text_len, text_pos;
	unsigned long phys_lineno;	/* last physical line read */
	struct buf line;		/* the logical line being built */
	struct buf phys;		/* one physical line */
	bool pending;			/* phys holds an unused line */
	unsigned long pending_lineno;
	bool eof;
};

static bool
mapsrc_is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

struct mapsrc *
mapsrc_open(const char *path, const char **error_r)
{
	struct mapsrc *src;
	FILE *fp = fopen(path, "re");

	if (fp == NULL) {
		*error_r = err_fmt("open %s: %s", path, strerror(errno));
		return NULL;
	}
	src = xcalloc(1, sizeof(*src));
	src->name = xstrdup(path);
	src->fp = fp;
	buf_init(&src->line, MAPSRC_LINE_MAX);
	buf_init(&src->phys, MAPSRC_LINE_MAX);
	return src;
}

struct mapsrc *
mapsrc_open_text(const char *name, const char *text, size_t len)
{
	struct mapsrc *src = xcalloc(1, sizeof(*src));

	src->name = xstrdup(name);
	src->text = text;
	src->text_len = len;
	buf_init(&src->line, MAPSRC_LINE_MAX);
	buf_init(&src->phys, MAPSRC_LINE_MAX);
	return src;
}

const char *
mapsrc_name(const struct mapsrc *src)
{
	return src->name;
}

void
mapsrc_close(struct mapsrc *src)
{
	if (src == NULL)
		return;
	if (src->fp != NULL)
		(void)fclose(src->fp);
	buf_release(&src->line);
	buf_release(&src->phys);
	free(src->name);
	free(src);
}

/*
 * Read one physical line into src->phys (without its newline).  Returns 1,
 * 0 at the end of input, -1 with *error_r.
 */
static int
mapsrc_read_phys(struct mapsrc *src, const char **error_r)
{
	buf_reset(&src->phys);
	if (src->eof)
		return 0;
	src->phys_lineno++;
	if (src->fp == NULL) {
		const char *p = src->text + src->text_pos;
		size_t left = src->text_len - src->text_pos;
		const char *nl = memchr(p, '\n', left);
		size_t n = nl != NULL ? (size_t)(nl - p) : left;

		if (left == 0) {
			src->eof = true;
			return 0;
		}
		src->text_pos += n + (nl != NULL ? 1 : 0);
		if (nl == NULL)
			src->eof = true;
		if (buf_append(&src->phys, p, n) < 0)
			goto too_long;
	} else {
		int c;
		bool any = false;

		while ((c = getc_unlocked(src->fp)) != EOF) {
			any = true;
			if (c == '\n')
				break;
			if (buf_append_char(&src->phys, (char)c) < 0)
				goto too_long;
		}
		if (c == EOF) {
			if (ferror(src->fp)) {
				*error_r = err_fmt("read %s: %s", src->name,
				    strerror(errno));
				return -1;
			}
			src->eof = true;
			if (!any)
				return 0;
		}
	}
	if (buf_has_nul(&src->phys)) {
		*error_r = err_fmt("%s, line %lu: NUL byte in line", src->name,
		    src->phys_lineno);
		return -1;
	}
	while (src->phys.len > 0 &&
	    mapsrc_is_blank((unsigned char)src->phys.data[src->phys.len - 1]))
		buf_truncate(&src->phys, src->phys.len - 1);
	return 1;
too_long:
	*error_r = err_fmt("%s, line %lu: line too long (over %u bytes)",
	    src->name, src->phys_lineno, MAPSRC_LINE_MAX);
	return -1;
}

int
mapsrc_read_line(struct mapsrc *src, char **line_r, size_t *len_r,
    unsigned long *lineno_r, const char **error_r)
{
	unsigned long start = 0;

	buf_reset(&src->line);
	for (;;) {
		unsigned long lineno;
		const char *p;
		int r;

		if (src->pending) {
			src->pending = false;
			lineno = src->pending_lineno;
		} else {
			r = mapsrc_read_phys(src, error_r);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			lineno = src->phys_lineno;
		}
		p = src->phys.data;
		while (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f' ||
		    *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (p != src->phys.data) {
			if (start == 0) {
				*error_r = err_fmt("%s, line %lu: continuation "
				    "line without a line before it",
				    src->name, lineno);
				return -1;
			}
			if (buf_append(&src->line, src->phys.data,
			    src->phys.len) < 0) {
				*error_r = err_fmt("%s, line %lu: logical line "
				    "too long (over %u bytes)", src->name,
				    start, MAPSRC_LINE_MAX);
				return -1;
			}
			continue;
		}
		if (start != 0) {
			/* The next logical line: keep it for the next call. */
			src->pending = true;
			src->pending_lineno = lineno;
			break;
		}
		start = lineno;
		(void)buf_append(&src->line, src->phys.data, src->phys.len);
	}
	if (start == 0)
		return 0;
	*line_r = src->line.data;
	*len_r = src->line.len;
	*lineno_r = start;
	return 1;
}

int
mapsrc_read_entry(struct mapsrc *src, char **key_r, char **value_r,
    unsigned long *lineno_r, const char **error_r)
{
	char *line, *p;
	size_t len;
	int r = mapsrc_read_line(src, &line, &len, lineno_r, error_r);

	if (r <= 0)
		return r;
	/* A logical line starts with a non-blank character and ends with one. */
	for (p = line; *p != '\0' && !mapsrc_is_blank((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		*error_r = err_fmt("%s, line %lu: expected format: key "
		    "whitespace value", src->name, *lineno_r);
		return -1;
	}
	*p++ = '\0';
	while (mapsrc_is_blank((unsigned char)*p))
		p++;
	*key_r = line;
	*value_r = p;
	return 1;
}
