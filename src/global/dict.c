/*
 * dict - lookup tables "type:name" behind one API; see dict.h.
 *
 * Table sources are written by the administrator but parsed as untrusted
 * text (every syntax error is reported with its file and line, nothing is
 * truncated silently).  Lookup keys come from the network: they are only
 * folded, copied and compared, never interpreted (regexp/pcre matching runs
 * under PCRE2 limits, see dict_regexp.c).  Runs with the caller's
 * privileges; opens files read-only except in dict_build.
 */
#include "dict.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dict_lmdb.h"
#include "dict_regexp.h"
#include "err.h"
#include "log.h"
#include "mapsrc.h"
#include "mem.h"
#include "str.h"
#include "strmap.h"

enum dict_type {
	DICT_HASH,
	DICT_LMDB,
	DICT_TEXTHASH,
	DICT_INLINE,
	DICT_STATIC,
	DICT_REGEXP,
	DICT_PCRE,
	DICT_UNIX_PASSWD,
	DICT_UNIX_GROUP,
	DICT_PASSWD_FILE,
};

struct dict {
	char *spec;
	enum dict_type type;
	bool fold;		/* keys fold to lower case */
	struct buf key;		/* the folded key of the current lookup */
	struct buf value;	/* the value of the current lookup */
	char *src_path;		/* hash/lmdb: the text source */
	char *db_path;		/* hash/lmdb: the built file */
	struct dict_lmdb *db;
	struct strmap *map;	/* texthash, inline, passwd-file */
	struct dict_regexp *re;
	char *static_value;
};

static bool
dict_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static struct dict *
dict_new(const char *spec, enum dict_type type, bool fold)
{
	struct dict *d = xcalloc(1, sizeof(*d));

	d->spec = xstrdup(spec);
	d->type = type;
	d->fold = fold;
	buf_init(&d->key, 0);
	buf_init(&d->value, 0);
	return d;
}

/*
 * Split SPEC at its first ':' into a type (copied into TYPE[SIZE]) and a
 * name.  -1 with *error_r when there is no ':' or the type is too long.
 */
static int
dict_split_spec(const char *spec, char *type, size_t size, const char **name_r,
    const char **error_r)
{
	const char *colon = strchr(spec, ':');

	if (colon == NULL || colon == spec) {
		*error_r = err_fmt("table \"%s\": expected type:name", spec);
		return -1;
	}
	if ((size_t)(colon - spec) >= size) {
		*error_r = err_fmt("table \"%s\": unknown table type", spec);
		return -1;
	}
	memcpy(type, spec, (size_t)(colon - spec));
	type[colon - spec] = '\0';
	*name_r = colon + 1;
	return 0;
}

/*
 * Split S at commas and white space outside {...}, appending the pieces to
 * OUT ("inline:{ a=b, c=d }" stays one piece).  -1 with *error_r when the
 * braces do not balance.
 */
static int
dict_split_braced(const char *s, struct strlist *out, const char **error_r)
{
	const char *p = s;

	for (;;) {
		const char *start;
		int depth = 0;

		while (*p == ',' || dict_blank((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		for (; *p != '\0'; p++) {
			if (*p == '{') {
				depth++;
			} else if (*p == '}') {
				if (--depth < 0)
					break;
			} else if (depth == 0 && (*p == ',' ||
			    dict_blank((unsigned char)*p))) {
				break;
			}
		}
		if (depth != 0) {
			*error_r = depth > 0 ? "missing '}'" : "unexpected '}'";
			return -1;
		}
		strlist_add_owned(out, xstrndup(start, (size_t)(p - start)));
	}
}

/* Strip the outer "{" "}" of S (already trimmed) in place, then trim. */
static char *
dict_unbrace(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
		s[n - 1] = '\0';
		return str_trim(s + 1);
	}
	return s;
}

static void
dict_warn_dup(const char *name, unsigned long lineno, const char *key)
{
	if (lineno != 0)
		log_warning("%s, line %lu: duplicate entry \"%s\": keeping the "
		    "first one", name, lineno, key);
	else
		log_warning("%s: duplicate entry \"%s\": keeping the first one",
		    name, key);
}

/* texthash: read "key value" entries of SRC into a map. */
static struct strmap *
dict_load_texthash(struct mapsrc *src, const char **error_r)
{
	struct strmap *map = strmap_new();
	unsigned long lineno;
	char *key, *value;
	int r;

	while ((r = mapsrc_read_entry(src, &key, &value, &lineno,
	    error_r)) > 0) {
		str_lower(key);
		if (strmap_add(map, key, value) == 0)
			dict_warn_dup(mapsrc_name(src), lineno, key);
	}
	if (r < 0) {
		strmap_free(map);
		return NULL;
	}
	return map;
}

/* passwd-file: "name:..." lines; the key is the name, the value the line. */
static struct strmap *
dict_load_passwd_file(struct mapsrc *src, const char **error_r)
{
	struct strmap *map = strmap_new();
	unsigned long lineno;
	char *line;
	size_t len;
	int r;

	while ((r = mapsrc_read_line(src, &line, &len, &lineno,
	    error_r)) > 0) {
		const char *colon = strchr(line, ':');
		char *key;

		if (colon == NULL || colon == line) {
			*error_r = err_fmt("%s, line %lu: expected "
			    "name:password:uid:gid:gecos:home:shell",
			    mapsrc_name(src), lineno);
			strmap_free(map);
			return NULL;
		}
		key = str_lower(xstrndup(line, (size_t)(colon - line)));
		if (strmap_add(map, key, line) == 0)
			dict_warn_dup(mapsrc_name(src), lineno, key);
		free(key);
	}
	if (r < 0) {
		strmap_free(map);
		return NULL;
	}
	return map;
}

/*
 * inline:{ k=v, k2 = v2, { key = value with, comma } }.  Postfix splits
 * entries at commas and white space and wants "k=v" without blanks; ulak
 * also takes blanks around '=' ("k2 = v2").  A braced entry holds one
 * "key = value" whose value keeps its commas, blanks and inner braces.
 */
static struct strmap *
dict_load_inline(const char *name, const char **error_r)
{
	struct strmap *map;
	struct strlist tok;
	char *inner = str_trim(xstrdup(name)), *body;
	size_t n = strlen(inner);
	const char *why;

	if (n < 2 || inner[0] != '{' || inner[n - 1] != '}') {
		*error_r = err_fmt("inline:%s: expected inline:{ key=value, "
		    "... }", name);
		free(inner);
		return NULL;
	}
	inner[n - 1] = '\0';
	body = inner + 1;
	strlist_init(&tok);
	if (dict_split_braced(body, &tok, &why) < 0) {
		*error_r = err_fmt("inline:%s: %s", name, why);
		goto fail;
	}
	map = strmap_new();
	for (size_t i = 0; i < tok.n; i++) {
		struct buf entry;
		char *t = tok.v[i], *eq, *key, *value;
		const char *shown = err_fmt("%s", t);

		buf_init(&entry, 0);
		if (t[0] == '{') {
			(void)buf_append_str(&entry, dict_unbrace(t));
		} else {
			/* Join "k", "=", "v" / "k=", "v" / "k", "=v". */
			(void)buf_append_str(&entry, t);
			if (strchr(t, '=') == NULL && i + 1 < tok.n &&
			    tok.v[i + 1][0] == '=')
				(void)buf_append_str(&entry, tok.v[++i]);
			if (entry.data[entry.len - 1] == '=' && i + 1 < tok.n)
				(void)buf_append_str(&entry, tok.v[++i]);
		}
		eq = strchr(entry.data, '=');
		if (eq != NULL) {
			*eq = '\0';
			key = str_trim(entry.data);
			value = str_trim(eq + 1);
			/* k={ v } unbraces v; { k = { v } } keeps it. */
			if (t[0] != '{')
				value = dict_unbrace(value);
		}
		if (eq == NULL || *key == '\0' || *value == '\0') {
			*error_r = err_fmt("inline:%s: expected key=value, not "
			    "\"%s\"", name, shown);
			buf_release(&entry);
			strmap_free(map);
			goto fail;
		}
		str_lower(key);
		if (strmap_add(map, key, value) == 0)
			dict_warn_dup("inline table", 0, key);
		buf_release(&entry);
	}
	if (strmap_count(map) == 0) {
		*error_r = err_fmt("inline:%s: empty table", name);
		strmap_free(map);
		goto fail;
	}
	strlist_release(&tok);
	free(inner);
	return map;
fail:
	strlist_release(&tok);
	free(inner);
	return NULL;
}

static const struct {
	const char *name;
	enum dict_type type;
	bool fold;
} dict_types[] = {
	{ "hash", DICT_HASH, true },
	{ "lmdb", DICT_LMDB, true },
	{ "texthash", DICT_TEXTHASH, true },
	{ "inline", DICT_INLINE, true },
	{ "static", DICT_STATIC, false },
	{ "regexp", DICT_REGEXP, false },
	{ "pcre", DICT_PCRE, false },
	{ "unix", DICT_UNIX_PASSWD, true },
	{ "passwd-file", DICT_PASSWD_FILE, true },
};

static int
dict_find_type(const char *type, enum dict_type *type_r, bool *fold_r)
{
	for (size_t i = 0; i < sizeof(dict_types) / sizeof(dict_types[0]);
	    i++) {
		if (strcmp(dict_types[i].name, type) == 0) {
			*type_r = dict_types[i].type;
			*fold_r = dict_types[i].fold;
			return 0;
		}
	}
	return -1;
}

/* Read the table of a text-based TYPE from SRC into D. */
static int
dict_load_src(struct dict *d, struct mapsrc *src, const char **error_r)
{
	switch (d->type) {
	case DICT_TEXTHASH:
		d->map = dict_load_texthash(src, error_r);
		return d->map != NULL ? 0 : -1;
	case DICT_PASSWD_FILE:
		d->map = dict_load_passwd_file(src, error_r);
		return d->map != NULL ? 0 : -1;
	case DICT_REGEXP:
	case DICT_PCRE:
		d->re = dict_regexp_parse(src, d->type == DICT_PCRE, error_r);
		return d->re != NULL ? 0 : -1;
	default:
		log_panic("dict_load_src: type %d", (int)d->type);
	}
}

static char *
dict_path_with(const char *name, const char *suffix)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	(void)buf_printf(&b, "%s%s", name, suffix);
	s = buf_detach(&b, NULL);
	buf_release(&b);
	return s;
}

struct dict *
dict_open(const char *spec, const char **error_r)
{
	char typename[32];
	enum dict_type type;
	const char *name;
	struct mapsrc *src;
	struct dict *d;
	bool fold;

	/*
	 * Postfix configurations say proxy:unix:passwd.byname to go through
	 * proxymap; ulak has none, so the table behind it is opened directly.
	 */
	if (str_has_prefix(spec, "proxy:") && strchr(spec + 6, ':') != NULL) {
		if ((d = dict_open(spec + 6, error_r)) != NULL) {
			free(d->spec);
			d->spec = xstrdup(spec);
		}
		return d;
	}
	if (dict_split_spec(spec, typename, sizeof(typename), &name,
	    error_r) < 0)
		return NULL;
	if (dict_find_type(typename, &type, &fold) < 0) {
		*error_r = err_fmt("table \"%s\": unknown table type \"%s\"",
		    spec, typename);
		return NULL;
	}
	if (*name == '\0' && type != DICT_STATIC) {
		*error_r = err_fmt("table \"%s\": missing name after the type",
		    spec);
		return NULL;
	}
	d = dict_new(spec, type, fold);
	switch (type) {
	case DICT_HASH:
	case DICT_LMDB:
		d->src_path = xstrdup(name);
		d->db_path = dict_path_with(name,
		    type == DICT_HASH ? ".db" : ".lmdb");
		d->db = dict_lmdb_open(d->db_path, error_r);
		if (d->db == NULL) {
			if (access(d->db_path, F_OK) < 0 && errno == ENOENT)
				*error_r = err_fmt("%s (build it with "
				    "`ulak map %s`)", *error_r, spec);
			goto fail;
		}
		break;
	case DICT_TEXTHASH:
	case DICT_REGEXP:
	case DICT_PCRE:
	case DICT_PASSWD_FILE:
		if ((src = mapsrc_open(name, error_r)) == NULL)
			goto fail;
		if (dict_load_src(d, src, error_r) < 0) {
			mapsrc_close(src);
			goto fail;
		}
		mapsrc_close(src);
		break;
	case DICT_INLINE:
		if ((d->map = dict_load_inline(name, error_r)) == NULL)
			goto fail;
		break;
	case DICT_STATIC: {
		char *v = xstrdup(name), *inner = str_trim(v);

		if (inner[0] == '{') {
			if (inner[strlen(inner) - 1] != '}') {
				*error_r = err_fmt("table \"%s\": missing '}'",
				    spec);
				free(v);
				goto fail;
			}
			inner = dict_unbrace(inner);
		}
		if (*inner == '\0') {
			*error_r = err_fmt("table \"%s\": static: needs a "
			    "value", spec);
			free(v);
			goto fail;
		}
		d->static_value = xstrdup(inner);
		free(v);
		break;
	}
	case DICT_UNIX_PASSWD:
	case DICT_UNIX_GROUP:
		if (strcmp(name, "passwd.byname") == 0) {
			d->type = DICT_UNIX_PASSWD;
		} else if (strcmp(name, "group.byname") == 0) {
			d->type = DICT_UNIX_GROUP;
		} else {
			*error_r = err_fmt("table \"%s\": unix: knows "
			    "passwd.byname and group.byname only", spec);
			goto fail;
		}
		break;
	}
	return d;
fail:
	dict_close(d);
	return NULL;
}

struct dict *
dict_open_text(const char *type, const char *name, const char *text,
    size_t len, const char **error_r)
{
	enum dict_type t;
	struct mapsrc *src;
	struct buf spec;
	struct dict *d;
	bool fold;

	if (dict_find_type(type, &t, &fold) < 0 ||
	    (t != DICT_TEXTHASH && t != DICT_REGEXP && t != DICT_PCRE &&
	    t != DICT_PASSWD_FILE)) {
		*error_r = err_fmt("table type \"%s\" cannot be read from "
		    "text", type);
		return NULL;
	}
	buf_init(&spec, 0);
	(void)buf_printf(&spec, "%s:%s", type, name);
	d = dict_new(spec.data, t, fold);
	buf_release(&spec);
	src = mapsrc_open_text(name, text, len);
	if (dict_load_src(d, src, error_r) < 0) {
		mapsrc_close(src);
		dict_close(d);
		return NULL;
	}
	mapsrc_close(src);
	return d;
}

/* unix:passwd.byname / unix:group.byname, as Postfix formats them. */
static int
dict_lookup_unix(struct dict *d, const char *key, const char **error_r)
{
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t bufsize = size > 0 ? (size_t)size : 16384;
	char *mem = NULL;
	int r, ret = -1;

	for (;;) {
		mem = xrealloc(mem, bufsize);
		if (d->type == DICT_UNIX_PASSWD) {
			struct passwd pw, *res = NULL;

			r = getpwnam_r(key, &pw, mem, bufsize, &res);
			if (r == 0 && res != NULL) {
				buf_reset(&d->value);
				(void)buf_printf(&d->value, "%s:%s:%ld:%ld:%s:"
				    "%s:%s", pw.pw_name, pw.pw_passwd,
				    (long)pw.pw_uid, (long)pw.pw_gid,
				    pw.pw_gecos, pw.pw_dir, pw.pw_shell);
				ret = 1;
				break;
			}
		} else {
			struct group gr, *res = NULL;

			r = getgrnam_r(key, &gr, mem, bufsize, &res);
			if (r == 0 && res != NULL) {
				buf_reset(&d->value);
				(void)buf_printf(&d->value, "%s:%s:%ld:",
				    gr.gr_name, gr.gr_passwd,
				    (long)gr.gr_gid);
				for (char **m = gr.gr_mem; *m != NULL; m++)
					(void)buf_printf(&d->value, "%s%s",
					    m == gr.gr_mem ? "" : ",", *m);
				ret = 1;
				break;
			}
		}
		if (r == ERANGE && bufsize < 16 * 1024 * 1024) {
			bufsize *= 2;
			continue;
		}
		if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF ||
		    r == EPERM) {
			ret = 0;
			break;
		}
		*error_r = err_fmt("%s: lookup of \"%s\": %s", d->spec, key,
		    strerror(r));
		break;
	}
	free(mem);
	return ret;
}

int
dict_lookup(struct dict *d, const char *key, const char **value_r,
    const char **error_r)
{
	const char *v;
	int r;

	buf_reset(&d->key);
	(void)buf_append_str(&d->key, key);
	if (d->fold)
		str_lower(d->key.data);
	key = d->key.data;
	switch (d->type) {
	case DICT_HASH:
	case DICT_LMDB:
		r = dict_lmdb_get(d->db, key, d->key.len, &d->value, error_r);
		if (r < 0)
			*error_r = err_fmt("%s: %s", d->spec, *error_r);
		if (r == 1)
			*value_r = d->value.data;
		return r;
	case DICT_TEXTHASH:
	case DICT_INLINE:
	case DICT_PASSWD_FILE:
		if ((v = strmap_get(d->map, key)) == NULL)
			return 0;
		*value_r = v;
		return 1;
	case DICT_STATIC:
		*value_r = d->static_value;
		return 1;
	case DICT_REGEXP:
	case DICT_PCRE:
		if (dict_regexp_lookup(d->re, key, &d->value) == 0)
			return 0;
		*value_r = d->value.data;
		return 1;
	case DICT_UNIX_PASSWD:
	case DICT_UNIX_GROUP:
		if (*key == '\0')
			return 0;
		r = dict_lookup_unix(d, key, error_r);
		if (r == 1)
			*value_r = d->value.data;
		return r;
	}
	log_panic("dict_lookup: type %d", (int)d->type);
}

void
dict_close(struct dict *d)
{
	if (d == NULL)
		return;
	dict_lmdb_close(d->db);
	strmap_free(d->map);
	dict_regexp_free(d->re);
	buf_release(&d->key);
	buf_release(&d->value);
	free(d->static_value);
	free(d->src_path);
	free(d->db_path);
	free(d->spec);
	free(d);
}

const char *
dict_spec(const struct dict *d)
{
	return d->spec;
}

bool
dict_is_stale(const struct dict *d, const char **error_r)
{
	struct stat src, db;

	if (d->type != DICT_HASH && d->type != DICT_LMDB)
		return false;
	if (stat(d->src_path, &src) < 0)
		return false;	/* the source may be kept elsewhere */
	if (stat(d->db_path, &db) < 0) {
		*error_r = err_fmt("%s: %s: %s", d->spec, d->db_path,
		    strerror(errno));
		return true;
	}
	if (src.st_mtim.tv_sec > db.st_mtim.tv_sec ||
	    (src.st_mtim.tv_sec == db.st_mtim.tv_sec &&
	    src.st_mtim.tv_nsec > db.st_mtim.tv_nsec)) {
		*error_r = err_fmt("%s: %s is newer than %s: run `ulak map %s`",
		    d->spec, d->src_path, d->db_path, d->spec);
		return true;
	}
	return false;
}

bool
dict_file_changed(const struct dict *d)
{
	if (d->type != DICT_HASH && d->type != DICT_LMDB)
		return false;
	return dict_lmdb_replaced(d->db);
}

int
dict_iterate(struct dict *d,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx,
    const char **error_r)
{
	int r;

	switch (d->type) {
	case DICT_HASH:
	case DICT_LMDB:
		r = dict_lmdb_iterate(d->db, fn, ctx, error_r);
		if (r == -1)
			*error_r = err_fmt("%s: %s", d->spec, *error_r);
		return r;
	case DICT_TEXTHASH:
	case DICT_INLINE:
	case DICT_PASSWD_FILE:
		return strmap_foreach(d->map, fn, ctx);
	default:
		*error_r = err_fmt("%s: this table type cannot be listed",
		    d->spec);
		return -1;
	}
}

char *
dict_build_path(const char *spec, const char **error_r)
{
	char typename[32];
	const char *name;

	if (dict_split_spec(spec, typename, sizeof(typename), &name,
	    error_r) < 0)
		return NULL;
	if (strcmp(typename, "hash") != 0 && strcmp(typename, "lmdb") != 0) {
		*error_r = err_fmt("table \"%s\": only hash: and lmdb: tables "
		    "are built", spec);
		return NULL;
	}
	if (*name == '\0') {
		*error_r = err_fmt("table \"%s\": missing name after the type",
		    spec);
		return NULL;
	}
	return dict_path_with(name,
	    strcmp(typename, "hash") == 0 ? ".db" : ".lmdb");
}

int
dict_build(const char *spec, const char **error_r)
{
	struct dict_lmdb_writer *w;
	struct mapsrc *src;
	unsigned long lineno;
	char *db_path, *key, *value;
	const char *name = strchr(spec, ':'), *why;
	struct stat st;
	int r;

	if ((db_path = dict_build_path(spec, error_r)) == NULL)
		return -1;
	name++;
	if ((src = mapsrc_open(name, error_r)) == NULL) {
		free(db_path);
		return -1;
	}
	/* The built file gets the source's permissions (and owner). */
	if (stat(name, &st) < 0) {
		*error_r = err_fmt("stat %s: %s", name, strerror(errno));
		mapsrc_close(src);
		free(db_path);
		return -1;
	}
	w = dict_lmdb_writer_create(db_path, st.st_mode & 0666, st.st_uid,
	    st.st_gid, error_r);
	free(db_path);
	if (w == NULL) {
		mapsrc_close(src);
		return -1;
	}
	while ((r = mapsrc_read_entry(src, &key, &value, &lineno,
	    error_r)) > 0) {
		str_lower(key);
		r = dict_lmdb_writer_put(w, key, strlen(key), value,
		    strlen(value), &why);
		if (r < 0) {
			*error_r = err_fmt("%s, line %lu: %s", name, lineno,
			    why);
			break;
		}
		if (r == 0)
			dict_warn_dup(name, lineno, key);
	}
	mapsrc_close(src);
	if (r < 0) {
		dict_lmdb_writer_abort(w);
		return -1;
	}
	return dict_lmdb_writer_commit(w, error_r);
}

struct maps {
	struct dict **v;
	size_t n;
};

struct maps *
maps_open(const char *list, const char **error_r)
{
	struct maps *m = xcalloc(1, sizeof(*m));
	struct strlist specs;
	const char *why;

	strlist_init(&specs);
	if (dict_split_braced(list, &specs, &why) < 0) {
		*error_r = err_fmt("table list \"%s\": %s", list, why);
		goto fail;
	}
	m->v = xcalloc(specs.n == 0 ? 1 : specs.n, sizeof(*m->v));
	for (size_t i = 0; i < specs.n; i++) {
		if ((m->v[i] = dict_open(specs.v[i], error_r)) == NULL)
			goto fail;
		m->n++;
	}
	strlist_release(&specs);
	return m;
fail:
	strlist_release(&specs);
	maps_close(m);
	return NULL;
}

int
maps_lookup(struct maps *m, const char *key, const char **value_r,
    const char **error_r)
{
	for (size_t i = 0; i < m->n; i++) {
		int r = dict_lookup(m->v[i], key, value_r, error_r);

		if (r != 0)
			return r;
	}
	return 0;
}

void
maps_close(struct maps *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		dict_close(m->v[i]);
	free(m->v);
	free(m);
}

size_t
maps_count(const struct maps *m)
{
	return m->n;
}

struct dict *
maps_dict(const struct maps *m, size_t i)
{
	return i < m->n ? m->v[i] : NULL;
}
