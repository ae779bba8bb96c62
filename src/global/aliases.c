/*
 * aliases - aliases(5) parser and builder; see aliases.h.
 *
 * The aliases file is the administrator's, but newaliases may be run by
 * anyone and the file may hold anything: the parser bounds every length
 * (mapsrc.h) and reports every oddity with its line instead of guessing.
 * Stored values are split again by the local delivery agent, so
 * aliases_join and aliases_split_value are exact inverses.
 */
#include "aliases.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "dict_lmdb.h"
#include "err.h"
#include "log.h"
#include "mapsrc.h"
#include "mem.h"
#include "strmap.h"

static bool
aliases_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

/*
 * P points at a '"'.  Returns the position of its closing quote, or NULL
 * when the string does not end.  Backslash quotes the next character.
 */
static const char *
aliases_quote_end(const char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p;
	}
	return NULL;
}

/* Append the unquoted contents of the quoted string [P, END] to OUT. */
static void
aliases_unquote(struct buf *out, const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		(void)buf_append_char(out, *p);
	}
}

int
aliases_split_value(const char *value, struct strlist *items,
    const char **error_r)
{
	const char *p = value;
	int count = 0;
	struct buf item;

	buf_init(&item, 0);
	for (;;) {
		const char *start, *end;

		while (aliases_blank((unsigned char)*p))
			p++;
		start = p;
		while (*p != '\0' && *p != ',') {
			if (*p == '"') {
				const char *q = aliases_quote_end(p);

				if (q == NULL) {
					*error_r = "unterminated quoted string";
					buf_release(&item);
					return -1;
				}
				p = q;
			}
			p++;
		}
		end = p;
		while (end > start && aliases_blank((unsigned char)end[-1]))
			end--;
		buf_reset(&item);
		if (end > start && *start == '"' &&
		    aliases_quote_end(start) == end - 1)
			aliases_unquote(&item, start, end - 1);
		else
			(void)buf_append(&item, start, (size_t)(end - start));
		if (item.len > 0) {
			if (str_has_prefix_nocase(item.data, ":include:")) {
				const char *f = item.data + 9;

				while (aliases_blank((unsigned char)*f))
					f++;
				if (*f == '\0') {
					*error_r = ":include: without a file "
					    "name";
					buf_release(&item);
					return -1;
				}
			}
			strlist_add(items, item.data);
			count++;
		}
		if (*p == '\0')
			break;
		p++;
	}
	buf_release(&item);
	return count;
}

/* True when ITEM, written as it is, splits back into exactly ITEM. */
static bool
aliases_raw_ok(const char *item)
{
	struct strlist l;
	const char *unused;
	bool ok;

	strlist_init(&l);
	ok = aliases_split_value(item, &l, &unused) == 1 &&
	    strcmp(l.v[0], item) == 0;
	strlist_release(&l);
	return ok;
}

char *
aliases_join(const struct strlist *items)
{
	struct buf b;
	char *joined;

	buf_init(&b, 0);
	for (size_t i = 0; i < items->n; i++) {
		const char *s = items->v[i];

		if (i > 0)
			(void)buf_append_str(&b, ", ");
		if (aliases_raw_ok(s)) {
			(void)buf_append_str(&b, s);
			continue;
		}
		(void)buf_append_char(&b, '"');
		for (; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				(void)buf_append_char(&b, '\\');
			(void)buf_append_char(&b, *s);
		}
		(void)buf_append_char(&b, '"');
	}
	joined = buf_detach(&b, NULL);
	buf_release(&b);
	return joined;
}

/*
 * Split one logical line into its folded name (into NAME) and items.
 * Returns 0 or -1 with *why_r (no file/line prefix).
 */
static int
aliases_parse_line(const char *line, struct buf *name, struct strlist *items,
    const char **why_r)
{
	const char *p = line, *colon;
	int n;

	buf_reset(name);
	if (*p == '"') {
		const char *q = aliases_quote_end(p);

		if (q == NULL) {
			*why_r = "unterminated quoted name";
			return -1;
		}
		aliases_unquote(name, p, q);
		for (p = q + 1; aliases_blank((unsigned char)*p); p++)
			;
		if (*p != ':') {
			*why_r = "expected ':' after the quoted name";
			return -1;
		}
		colon = p;
	} else {
		const char *end;

		if ((colon = strchr(p, ':')) == NULL) {
			*why_r = "expected \"name: value\" (no ':' found)";
			return -1;
		}
		for (end = colon; end > p &&
		    aliases_blank((unsigned char)end[-1]); end--)
			;
		(void)buf_append(name, p, (size_t)(end - p));
	}
	if (name->len == 0) {
		*why_r = "empty name before ':'";
		return -1;
	}
	if (name->len > DICT_LMDB_KEY_MAX) {
		*why_r = err_fmt("name too long (over %d bytes)",
		    DICT_LMDB_KEY_MAX);
		return -1;
	}
	if (buf_has_nul(name)) {
		*why_r = "NUL byte in the name";
		return -1;
	}
	str_lower(name->data);
	if ((n = aliases_split_value(colon + 1, items, why_r)) < 0)
		return -1;
	if (n == 0) {
		*why_r = err_fmt("no value for \"%s\"", name->data);
		return -1;
	}
	return 0;
}

int
aliases_parse(struct mapsrc *src, aliases_entry_fn *fn, void *ctx,
    const char **error_r)
{
	unsigned long lineno;
	struct strlist items;
	struct buf name;
	const char *why;
	char *line;
	size_t len;
	int r;

	buf_init(&name, 0);
	strlist_init(&items);
	while ((r = mapsrc_read_line(src, &line, &len, &lineno,
	    error_r)) > 0) {
		strlist_release(&items);
		strlist_init(&items);
		if (aliases_parse_line(line, &name, &items, &why) < 0) {
			*error_r = err_fmt("%s, line %lu: %s", mapsrc_name(src),
			    lineno, why);
			r = -1;
			break;
		}
		if ((r = fn(ctx, name.data, &items, lineno, error_r)) < 0)
			break;
	}
	strlist_release(&items);
	buf_release(&name);
	return r < 0 ? -1 : 0;
}

void
aliases_list_init(struct aliases_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
aliases_list_release(struct aliases_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		strlist_release(&l->v[i].items);
	}
	free(l->v);
	aliases_list_init(l);
}

struct aliases_collect {
	struct aliases_list *out;
	struct strmap *seen;
	const char *file;
};

static int
aliases_collect(void *ctx, const char *name, const struct strlist *items,
    unsigned long lineno, const char **error_r)
{
	struct aliases_collect *c = ctx;
	struct aliases_list *l = c->out;
	struct aliases_entry *e;

	if (strmap_add(c->seen, name, "") == 0) {
		log_warning("%s, line %lu: duplicate entry \"%s\": keeping the "
		    "first one", c->file, lineno, name);
		return 0;
	}
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	e = &l->v[l->n++];
	e->name = xstrdup(name);
	e->lineno = lineno;
	strlist_init(&e->items);
	for (size_t i = 0; i < items->n; i++)
		strlist_add(&e->items, items->v[i]);
	return 0;
}

static int
aliases_parse_src(struct mapsrc *src, struct aliases_list *out,
    const char **error_r)
{
	struct aliases_collect c;
	int r;

	c.out = out;
	c.seen = strmap_new();
	c.file = mapsrc_name(src);
	for (size_t i = 0; i < out->n; i++)
		(void)strmap_add(c.seen, out->v[i].name, "");
	r = aliases_parse(src, aliases_collect, &c, error_r);
	strmap_free(c.seen);
	return r;
}

int
aliases_parse_text(const char *name, const char *text, size_t len,
    struct aliases_list *out, const char **error_r)
{
	struct mapsrc *src = mapsrc_open_text(name, text, len);
	int r = aliases_parse_src(src, out, error_r);

	mapsrc_close(src);
	return r;
}

int
aliases_parse_file(const char *path, struct aliases_list *out,
    const char **error_r)
{
	struct mapsrc *src = mapsrc_open(path, error_r);
	int r;

	if (src == NULL)
		return -1;
	r = aliases_parse_src(src, out, error_r);
	mapsrc_close(src);
	return r;
}

struct aliases_store {
	struct dict_lmdb_writer *w;
	const char *file;
};

static int
aliases_store(void *ctx, const char *name, const struct strlist *items,
    unsigned long lineno, const char **error_r)
{
	struct aliases_store *s = ctx;
	char *value = aliases_join(items);
	const char *why;
	int r;

	r = dict_lmdb_writer_put(s->w, name, strlen(name), value,
	    strlen(value), &why);
	free(value);
	if (r < 0) {
		*error_r = err_fmt("%s, line %lu: %s", s->file, lineno, why);
		return -1;
	}
	if (r == 0)
		log_warning("%s, line %lu: duplicate entry \"%s\": keeping the "
		    "first one", s->file, lineno, name);
	return 0;
}

int
aliases_build(const char *path, const char **error_r)
{
	struct aliases_store s;
	struct mapsrc *src;
	struct stat st;
	struct buf db;
	int r;

	if ((src = mapsrc_open(path, error_r)) == NULL)
		return -1;
	if (stat(path, &st) < 0) {
		*error_r = err_fmt("stat %s: %s", path, strerror(errno));
		mapsrc_close(src);
		return -1;
	}
	buf_init(&db, 0);
	(void)buf_printf(&db, "%s.db", path);
	s.w = dict_lmdb_writer_create(db.data, st.st_mode & 0666, st.st_uid,
	    st.st_gid, error_r);
	buf_release(&db);
	if (s.w == NULL) {
		mapsrc_close(src);
		return -1;
	}
	s.file = path;
	r = aliases_parse(src, aliases_store, &s, error_r);
	mapsrc_close(src);
	if (r < 0) {
		dict_lmdb_writer_abort(s.w);
		return -1;
	}
	return dict_lmdb_writer_commit(s.w, error_r);
}
