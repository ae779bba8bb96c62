/*
 * config - main.cf: reading, lazy $name expansion with loop detection,
 * typed access, checking and in-place editing; see config.h.
 *
 * Distrusts everything in the file it reads: any byte sequence gives
 * either a configuration or a "FILE, line N: ..." error, and expansion is
 * bounded in depth (CONFIG_EXPAND_DEPTH) and size (CONFIG_EXPAND_MAX), so
 * a hostile or broken main.cf cannot make a daemon loop or run out of
 * stack.  Runs with whatever privileges its caller has; opens only the
 * files it is given.  Not thread-safe: one configuration per thread.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfline.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

#define CONFIG_EXPAND_MAX (1024 * 1024)	/* bytes of one expansion result */
#define CONFIG_EXPAND_DEPTH 100		/* nested names and ${x?...} texts */
#define CONFIG_FILE_MAX (4 * 1024 * 1024)	/* bytes of main.cf */

/* One name that main.cf, config_set or the table knows. */
struct config_var {
	char *name;
	const struct config_param_def *def;	/* NULL: not in the table */
	char *file_value;	/* from main.cf, or NULL */
	int line;		/* of file_value */
	char *set_value;	/* from config_set, or NULL */
	unsigned long set_seq;	/* order of config_set calls */
	char *expanded;		/* cached expansion, or NULL */
	char *computed;		/* cached computed default, or NULL */
	bool expanding;		/* on the expansion stack now (loop check) */
	bool referenced;	/* some value mentions $name */
	struct config_var *next;	/* hash chain */
};

struct config {
	char *dir;
	char *path;		/* the main.cf read last, or NULL */
	struct config_var **buckets;
	size_t nbuckets;
	size_t nvars;
	struct config_var **file_order;	/* vars main.cf sets, in file order */
	size_t n_file_order;
	unsigned long set_seq;
};

/* State of one expansion: the loop check lives in the vars themselves. */
struct config_xstate {
	struct config *cfg;
	int depth;
	const char *error;
};

static int config_expand_text(struct config_xstate *st, const char *s,
    size_t n, struct buf *out);

/* Machine host name, found once per process (see machine_hostname). */
static char *config_machine_name;

static bool
config_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static size_t
config_name_span(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && config_name_char(s[k]))
		k++;
	return k;
}

bool
config_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && config_name_span(s, n) == n;
}

/* FNV-1a of NAME[0..N). */
static size_t
config_hash(const char *name, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct config_var *
config_var_find(const struct config *cfg, const char *name, size_t n)
{
	struct config_var *v = cfg->buckets[config_hash(name, n) %
	    cfg->nbuckets];

	for (; v != NULL; v = v->next)
		if (strncmp(v->name, name, n) == 0 && v->name[n] == '\0')
			return v;
	return NULL;
}

static void
config_grow(struct config *cfg)
{
	size_t nb = cfg->nbuckets * 2;
	struct config_var **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < cfg->nbuckets; i++) {
		struct config_var *v = cfg->buckets[i], *next;

		for (; v != NULL; v = next) {
			size_t h = config_hash(v->name, strlen(v->name)) % nb;

			next = v->next;
			v->next = b[h];
			b[h] = v;
		}
	}
	free(cfg->buckets);
	cfg->buckets = b;
	cfg->nbuckets = nb;
}

static struct config_var *
config_var_get(struct config *cfg, const char *name)
{
	struct config_var *v = config_var_find(cfg, name, strlen(name));
	size_t h;

	if (v != NULL)
		return v;
	if (cfg->nvars >= cfg->nbuckets)
		config_grow(cfg);
	v = xcalloc(1, sizeof(*v));
	v->name = xstrdup(name);
	v->def = config_param_find(name);
	h = config_hash(name, strlen(name)) % cfg->nbuckets;
	v->next = cfg->buckets[h];
	cfg->buckets[h] = v;
	cfg->nvars++;
	return v;
}

/* Forget every cached expansion: some value changed. */
static void
config_invalidate(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nbuckets; i++)
		for (struct config_var *v = cfg->buckets[i]; v; v = v->next) {
			free(v->expanded);
			v->expanded = NULL;
			free(v->computed);
			v->computed = NULL;
		}
}

struct config *
config_new(const char *config_dir)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	const struct config_param_def *defs;
	size_t n;

	cfg->dir = xstrdup(config_dir);
	cfg->nbuckets = 512;
	cfg->buckets = xcalloc(cfg->nbuckets, sizeof(*cfg->buckets));
	defs = config_param_defs(&n);
	for (size_t i = 0; i < n; i++)
		(void)config_var_get(cfg, defs[i].name);
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		struct config_var *v = cfg->buckets[i], *next;

		for (; v != NULL; v = next) {
			next = v->next;
			free(v->name);
			free(v->file_value);
			free(v->set_value);
			free(v->expanded);
			free(v->computed);
			free(v);
		}
	}
	free(cfg->buckets);
	free(cfg->file_order);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const char *
config_dir(const struct config *cfg)
{
	return cfg->dir;
}

/* The unexpanded value of V: override, main.cf, table default, or NULL. */
static const char *
config_var_raw(const struct config_var *v)
{
	if (v->set_value != NULL)
		return v->set_value;
	if (v->file_value != NULL)
		return v->file_value;
	if (v->def != NULL)
		return v->def->def;
	return NULL;
}

/* ---------------------------------------------------------------- */
/* Computed defaults */

/*
 * The machine's host name, fully qualified when the resolver knows it
 * (gethostname, then the canonical name of getaddrinfo, which consults
 * /etc/hosts first).  Found once per process.
 */
static const char *
config_machine_hostname(void)
{
	char host[256];
	struct addrinfo hints, *res = NULL;

	if (config_machine_name != NULL)
		return config_machine_name;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		(void)str_copy(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (strchr(host, '.') == NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_CANONNAME;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL &&
		    res->ai_canonname != NULL &&
		    strchr(res->ai_canonname, '.') != NULL)
			(void)str_copy(host, sizeof(host), res->ai_canonname);
		if (res != NULL)
			freeaddrinfo(res);
	}
	config_machine_name = xstrdup(str_lower(host));
	return config_machine_name;
}

static int config_expand_var(struct config_xstate *st, struct config_var *v,
    struct buf *out);

/* Compute the default of V (a CONFIG_DEF_COMPUTED parameter) into OUT. */
static int
config_compute(struct config_xstate *st, struct config_var *v,
    struct buf *out)
{
	struct config *cfg = st->cfg;
	struct buf tmp;
	int rc = 0;

	if (strcmp(v->name, "config_directory") == 0) {
		if (buf_append_str(out, cfg->dir) < 0)
			goto too_long;
		return 0;
	}
	buf_init(&tmp, CONFIG_EXPAND_MAX);
	if (strcmp(v->name, "myhostname") == 0) {
		const char *host = config_machine_hostname();
		struct config_var *dom = config_var_find(cfg, "mydomain", 8);

		if (strchr(host, '.') != NULL)
			rc = buf_append_str(out, host);
		else if (dom != NULL && (dom->set_value || dom->file_value)) {
			/* As Postfix: a short host name gets $mydomain. */
			rc = config_expand_var(st, dom, &tmp);
			if (rc == 0 && buf_printf(out, "%s.%s", host,
			    tmp.data) < 0)
				goto too_long_tmp;
		} else
			rc = buf_printf(out, "%s.localdomain", host);
	} else if (strcmp(v->name, "mydomain") == 0) {
		const char *dot;

		rc = config_expand_var(st, config_var_get(cfg, "myhostname"),
		    &tmp);
		if (rc == 0) {
			dot = strchr(tmp.data, '.');
			rc = buf_append_str(out, dot != NULL && dot[1] != '\0' ?
			    dot + 1 : "localdomain");
		}
	} else
		log_panic("config: no code computes the default of %s",
		    v->name);
	buf_release(&tmp);
	if (rc < 0 && st->error == NULL)
		goto too_long;
	return rc;
too_long_tmp:
	buf_release(&tmp);
too_long:
	st->error = "expansion result larger than 1 MiB";
	return -1;
}

/* ---------------------------------------------------------------- */
/* Expansion */

static int
config_xappend(struct config_xstate *st, struct buf *out, const char *p,
    size_t n)
{
	if (buf_append(out, p, n) < 0) {
		st->error = "expansion result larger than 1 MiB";
		return -1;
	}
	return 0;
}

/* Append the expansion of V (NULL: unknown, expands to "") to OUT. */
static int
config_expand_var(struct config_xstate *st, struct config_var *v,
    struct buf *out)
{
	struct buf tmp;
	const char *raw;
	int rc;

	if (v == NULL)
		return 0;
	if (v->expanded != NULL)
		return config_xappend(st, out, v->expanded,
		    strlen(v->expanded));
	raw = config_var_raw(v);
	if (raw == NULL)
		return 0;
	if (v->expanding) {
		st->error = err_fmt("parameter loop: $%.100s refers to itself",
		    v->name);
		return -1;
	}
	if (st->depth >= CONFIG_EXPAND_DEPTH) {
		st->error = err_fmt("$name references nested more than %d "
		    "deep", CONFIG_EXPAND_DEPTH);
		return -1;
	}
	st->depth++;
	v->expanding = true;
	buf_init(&tmp, CONFIG_EXPAND_MAX);
	if (v->set_value == NULL && v->file_value == NULL && v->def != NULL &&
	    config_param_is_computed(v->def))
		rc = config_compute(st, v, &tmp);
	else
		rc = config_expand_text(st, raw, strlen(raw), &tmp);
	v->expanding = false;
	st->depth--;
	if (rc == 0) {
		v->expanded = buf_detach(&tmp, NULL);
		rc = config_xappend(st, out, v->expanded, strlen(v->expanded));
	}
	buf_release(&tmp);
	return rc;
}

static int
config_expand_name(struct config_xstate *st, const char *name, size_t n,
    struct buf *out)
{
	return config_expand_var(st, config_var_find(st->cfg, name, n), out);
}

/* The texts of a conditional: ${name?then}, ${name?{then}:{else}}. */
struct config_cond {
	const char *then_text;
	size_t then_len;
	const char *else_text;	/* NULL: none */
	size_t else_len;
};

/* Index of the '}' that closes the '{' at S[0], or N when there is none. */
static size_t
config_brace_end(const char *s, size_t n)
{
	size_t level = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '{')
			level++;
		else if (s[i] == '}' && --level == 0)
			return i;
	}
	return n;
}

/*
 * Split the text after the operator OP of ${name?...} / ${name:...},
 * S[0..N): plain text, "{text}", or (OP '?', Postfix 3) "{then}:{else}".
 */
static int
config_cond_split(struct config_xstate *st, char op, const char *s, size_t n,
    struct config_cond *c)
{
	size_t e, i, e2;

	c->then_text = s;
	c->then_len = n;
	c->else_text = NULL;
	c->else_len = 0;
	if (n == 0 || s[0] != '{' || (e = config_brace_end(s, n)) == n)
		return 0;
	c->then_text = s + 1;
	c->then_len = e - 1;
	for (i = e + 1; i < n && cfline_space(s[i]); i++)
		;
	if (i == n)
		return 0;
	if (op == '?' && s[i] == ':') {
		for (i++; i < n && cfline_space(s[i]); i++)
			;
		if (i < n && s[i] == '{' &&
		    (e2 = config_brace_end(s + i, n - i)) != n - i) {
			size_t j = i + e2 + 1;

			while (j < n && cfline_space(s[j]))
				j++;
			if (j == n) {
				c->else_text = s + i + 1;
				c->else_len = e2 - 1;
				return 0;
			}
		}
	}
	st->error = err_fmt("unexpected text after \"{...}\" in \"${...%c\" "
	    "(use {text} or {text}:{text})", op);
	return -1;
}

/* Expand S[0..N) one level deeper. */
static int
config_expand_nested(struct config_xstate *st, const char *s, size_t n,
    struct buf *out)
{
	int rc;

	if (st->depth >= CONFIG_EXPAND_DEPTH) {
		st->error = err_fmt("$name references nested more than %d "
		    "deep", CONFIG_EXPAND_DEPTH);
		return -1;
	}
	st->depth++;
	rc = config_expand_text(st, s, n, out);
	st->depth--;
	return rc;
}

/* Expand ${...} / $(...) whose inside (without brackets) is S[0..N). */
static int
config_expand_braced(struct config_xstate *st, const char *s, size_t n,
    char open, struct buf *out)
{
	size_t k = config_name_span(s, n);
	struct config_cond c;
	struct buf tmp;
	bool nonempty;
	int rc;

	if (k == 0) {
		st->error = err_fmt("missing parameter name after \"$%c\"",
		    open);
		return -1;
	}
	if (k == n)
		return config_expand_name(st, s, k, out);
	if (s[k] != '?' && s[k] != ':') {
		st->error = err_fmt("bad character after parameter name in "
		    "\"$%c%.*s\" (expected '?', ':' or '%c')", open,
		    (int)(k > 100 ? 100 : k), s, open == '{' ? '}' : ')');
		return -1;
	}
	buf_init(&tmp, CONFIG_EXPAND_MAX);
	rc = config_expand_name(st, s, k, &tmp);
	nonempty = tmp.len > 0;
	buf_release(&tmp);
	if (rc < 0 || config_cond_split(st, s[k], s + k + 1, n - k - 1, &c) < 0)
		return -1;
	/* ${name?text}: text when name is non-empty; ${name:text}: empty. */
	if ((s[k] == '?') == nonempty)
		return config_expand_nested(st, c.then_text, c.then_len, out);
	if (c.else_text != NULL)
		return config_expand_nested(st, c.else_text, c.else_len, out);
	return 0;
}

static int
config_expand_text(struct config_xstate *st, const char *s, size_t n,
    struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		const char *d = memchr(s + i, '$', n - i);
		size_t at;
		char c;

		if (d == NULL)
			return config_xappend(st, out, s + i, n - i);
		at = (size_t)(d - s);
		if (config_xappend(st, out, s + i, at - i) < 0)
			return -1;
		i = at + 1;
		if (i == n) {
			st->error = "\"$\" at the end of a value (write \"$$\" "
			    "for a literal \"$\")";
			return -1;
		}
		c = s[i];
		if (c == '$') {
			if (config_xappend(st, out, "$", 1) < 0)
				return -1;
			i++;
		} else if (c == '{' || c == '(') {
			char close = c == '{' ? '}' : ')';
			size_t j = i + 1, level = 1;

			for (; j < n; j++) {
				if (s[j] == c)
					level++;
				else if (s[j] == close && --level == 0)
					break;
			}
			if (j >= n) {
				st->error = err_fmt("unterminated \"$%c\" "
				    "(missing '%c')", c, close);
				return -1;
			}
			if (config_expand_braced(st, s + i + 1, j - i - 1, c,
			    out) < 0)
				return -1;
			i = j + 1;
		} else {
			size_t k = config_name_span(s + i, n - i);

			if (k == 0) {
				st->error = "\"$\" not followed by a parameter "
				    "name (write \"$$\" for a literal \"$\")";
				return -1;
			}
			if (config_expand_name(st, s + i, k, out) < 0)
				return -1;
			i += k;
		}
	}
	return 0;
}

int
config_expand(struct config *cfg, const char *text, struct buf *out,
    const char **error_r)
{
	struct config_xstate st = { cfg, 0, NULL };
	struct buf tmp;

	buf_init(&tmp, CONFIG_EXPAND_MAX);
	if (config_expand_text(&st, text, strlen(text), &tmp) < 0 ||
	    config_xappend(&st, out, tmp.data, tmp.len) < 0) {
		*error_r = st.error;
		buf_release(&tmp);
		return -1;
	}
	buf_release(&tmp);
	return 0;
}

/* Expand V itself; its result stays cached in V->expanded. */
static int
config_expand_self(struct config *cfg, struct config_var *v,
    const char **error_r)
{
	struct config_xstate st = { cfg, 0, NULL };
	struct buf tmp;
	int rc;

	buf_init(&tmp, CONFIG_EXPAND_MAX);
	rc = config_expand_var(&st, v, &tmp);
	buf_release(&tmp);
	if (rc < 0)
		*error_r = st.error;
	else if (v->expanded == NULL)	/* unknown and unset */
		v->expanded = xstrdup("");
	return rc;
}

/* ---------------------------------------------------------------- */
/* Values */

void
config_set(struct config *cfg, const char *name, const char *value)
{
	struct config_var *v = config_var_get(cfg, name);

	free(v->set_value);
	v->set_value = xstrdup(value);
	v->set_seq = ++cfg->set_seq;
	config_invalidate(cfg);
}

const char *
config_raw(const struct config *cfg, const char *name)
{
	struct config_var *v = config_var_find(cfg, name, strlen(name));

	if (v == NULL)
		return NULL;
	if (v->set_value == NULL && v->file_value == NULL && v->def != NULL &&
	    config_param_is_computed(v->def))
		/* The cache in V is not part of the observable state. */
		return config_default((struct config *)cfg, name);
	return config_var_raw(v);
}

const char *
config_default(struct config *cfg, const char *name)
{
	struct config_var *v = config_var_find(cfg, name, strlen(name));
	struct config_xstate st = { cfg, 0, NULL };
	struct buf tmp;

	if (v == NULL || v->def == NULL)
		return NULL;
	if (!config_param_is_computed(v->def))
		return v->def->def;
	if (v->computed != NULL)
		return v->computed;
	buf_init(&tmp, CONFIG_EXPAND_MAX);
	v->expanding = true;
	if (config_compute(&st, v, &tmp) < 0) {
		/* Only a loop through a main.cf value can get here. */
		buf_reset(&tmp);
		(void)buf_append_str(&tmp, strcmp(name, "mydomain") == 0 ?
		    "localdomain" : "localhost");
	}
	v->expanding = false;
	v->computed = buf_detach(&tmp, NULL);
	buf_release(&tmp);
	return v->computed;
}

bool
config_is_set(const struct config *cfg, const char *name)
{
	struct config_var *v = config_var_find(cfg, name, strlen(name));

	return v != NULL && (v->set_value != NULL || v->file_value != NULL);
}

void
config_origin(const struct config *cfg, const char *name, const char **file_r,
    int *line_r)
{
	struct config_var *v = config_var_find(cfg, name, strlen(name));

	*file_r = NULL;
	*line_r = 0;
	if (v != NULL && v->set_value == NULL && v->file_value != NULL) {
		*file_r = cfg->path;
		*line_r = v->line;
	}
}

static int
config_seq_cmp(const void *a, const void *b)
{
	const struct config_var *x = *(struct config_var *const *)a;
	const struct config_var *y = *(struct config_var *const *)b;

	return x->set_seq < y->set_seq ? -1 : x->set_seq > y->set_seq;
}

/* Every var that has a value, in file order, then in config_set order. */
static size_t
config_set_vars(const struct config *cfg, struct config_var ***vars_r)
{
	struct config_var **vars = xcalloc(cfg->nvars + 1, sizeof(*vars));
	size_t n = 0, extra;

	for (size_t i = 0; i < cfg->n_file_order; i++)
		vars[n++] = cfg->file_order[i];
	extra = n;
	for (size_t i = 0; i < cfg->nbuckets; i++)
		for (struct config_var *v = cfg->buckets[i]; v; v = v->next)
			if (v->set_value != NULL && v->file_value == NULL)
				vars[n++] = v;
	qsort(vars + extra, n - extra, sizeof(*vars), config_seq_cmp);
	*vars_r = vars;
	return n;
}

void
config_set_names(const struct config *cfg, struct strlist *out)
{
	struct config_var **vars;
	size_t n = config_set_vars(cfg, &vars);

	for (size_t i = 0; i < n; i++)
		strlist_add(out, vars[i]->name);
	free(vars);
}

/* ---------------------------------------------------------------- */
/* Typed access */

/* Where V's value comes from, for messages: "FILE, line N: name". */
static const char *
config_where(const struct config *cfg, const struct config_var *v)
{
	if (v->set_value != NULL)
		return err_fmt("parameter %s (override \"%.100s\")", v->name,
		    v->set_value);
	if (v->file_value != NULL)
		return err_fmt("%s, line %d: parameter %s", cfg->path, v->line,
		    v->name);
	return err_fmt("parameter %s (default \"%.100s\")", v->name,
	    v->def != NULL ? v->def->def : "");
}

static struct config_var *
config_typed(struct config *cfg, const char *name, enum config_type type,
    const char **value_r)
{
	struct config_var *v = config_var_find(cfg, name, strlen(name));
	const char *error;

	if (v == NULL || v->def == NULL ||
	    (type != CONFIG_TYPE_STR && v->def->type != type))
		log_panic("config: %s is not a parameter of the requested type",
		    name);
	if (v->expanded == NULL && config_expand_self(cfg, v, &error) < 0)
		log_fatal("%s: %s", config_where(cfg, v), error);
	*value_r = v->expanded;
	return v;
}

const char *
config_str(struct config *cfg, const char *name)
{
	const char *value;

	(void)config_typed(cfg, name, CONFIG_TYPE_STR, &value);
	return value;
}

/* Convert VALUE of V to its type; -1 with *error_r when it is bad. */
static int
config_convert(const struct config_param_def *def, const char *value,
    uint64_t *num_r, bool *bool_r, const char **error_r)
{
	switch (def != NULL ? def->type : CONFIG_TYPE_STR) {
	case CONFIG_TYPE_INT:
		return parse_uint(value, 0, UINT64_MAX, num_r, error_r);
	case CONFIG_TYPE_BOOL:
		return parse_bool(value, bool_r, error_r);
	case CONFIG_TYPE_TIME:
		return parse_time(value, def->time_unit != 0 ?
		    def->time_unit : 's', num_r, error_r);
	case CONFIG_TYPE_SIZE:
		return parse_size(value, num_r, error_r);
	case CONFIG_TYPE_STR:
	case CONFIG_TYPE_LIST:
		break;
	}
	return 0;
}

static uint64_t
config_number(struct config *cfg, const char *name, enum config_type type)
{
	const char *value, *error;
	struct config_var *v = config_typed(cfg, name, type, &value);
	uint64_t num = 0;
	bool b;

	if (config_convert(v->def, value, &num, &b, &error) < 0)
		log_fatal("%s: %s", config_where(cfg, v), error);
	return num;
}

uint64_t
config_int(struct config *cfg, const char *name)
{
	return config_number(cfg, name, CONFIG_TYPE_INT);
}

uint64_t
config_time(struct config *cfg, const char *name)
{
	return config_number(cfg, name, CONFIG_TYPE_TIME);
}

uint64_t
config_size(struct config *cfg, const char *name)
{
	return config_number(cfg, name, CONFIG_TYPE_SIZE);
}

bool
config_bool(struct config *cfg, const char *name)
{
	const char *value, *error;
	struct config_var *v = config_typed(cfg, name, CONFIG_TYPE_BOOL,
	    &value);
	uint64_t num;
	bool b = false;

	if (config_convert(v->def, value, &num, &b, &error) < 0)
		log_fatal("%s: %s", config_where(cfg, v), error);
	return b;
}

void
config_list_split(const char *s, struct strlist *out)
{
	static const char seps[] = ", \t\r\n";
	const char *p = s;

	while (*p != '\0') {
		const char *start;
		size_t level = 0;

		p += strspn(p, seps);
		if (*p == '\0')
			break;
		start = p;
		for (; *p != '\0'; p++) {
			if (*p == '{')
				level++;
			else if (*p == '}' && level > 0)
				level--;
			else if (level == 0 && strchr(seps, *p) != NULL)
				break;
		}
		strlist_add_owned(out, xstrndup(start, (size_t)(p - start)));
	}
}

void
config_list(struct config *cfg, const char *name, struct strlist *out)
{
	const char *value;

	(void)config_typed(cfg, name, CONFIG_TYPE_LIST, &value);
	config_list_split(value, out);
}

/* ---------------------------------------------------------------- */
/* Reading main.cf */

struct config_entry {
	char *name;
	struct buf value;
	int line;
};

static void
config_entries_free(struct config_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		buf_release(&e[i].value);
	}
	free(e);
}

/*
 * Parse TEXT into logical "name = value" entries.  -1 with *error_r
 * "FILE, line N: ..." on the first syntax error.
 */
static int
config_parse(const char *text, size_t len, const char *filename,
    struct config_entry **entries_r, size_t *n_r, const char **error_r)
{
	struct config_entry *e = NULL;
	struct cfline_reader r;
	struct cfline cl;
	size_t n = 0, cap = 0;
	int rc;

	cfline_init(&r, text, len, filename);
	while ((rc = cfline_next(&r, &cl, error_r)) > 0) {
		const char *s = cl.s;
		size_t b = cl.len;
		int line = cl.line;

		if (cl.continuation) {
			if (n == 0) {
				*error_r = err_fmt("%s, line %d: continuation "
				    "line without a parameter before it: %s",
				    filename, line, cfline_quote(s, b));
				goto fail;
			}
			if (e[n - 1].value.len > 0)
				(void)buf_append_char(&e[n - 1].value, ' ');
			if (buf_append(&e[n - 1].value, s, b) < 0) {
				*error_r = err_fmt("%s, line %d: value too "
				    "long", filename, line);
				goto fail;
			}
			continue;
		}
		{
			const char *eq = memchr(s, '=', b);
			size_t ne, vs;

			if (eq == NULL) {
				*error_r = err_fmt("%s, line %d: line without "
				    "\"=\": %s", filename, line,
				    cfline_quote(s, b));
				goto fail;
			}
			ne = (size_t)(eq - s);
			while (ne > 0 && cfline_space(s[ne - 1]))
				ne--;
			if (ne == 0 || config_name_span(s, ne) != ne) {
				*error_r = err_fmt("%s, line %d: bad parameter "
				    "name %s (use letters, digits and '_')",
				    filename, line, cfline_quote(s, ne));
				goto fail;
			}
			vs = (size_t)(eq - s) + 1;
			while (vs < b && cfline_space(s[vs]))
				vs++;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				e = xreallocarray(e, cap, sizeof(*e));
			}
			e[n].name = xstrndup(s, ne);
			e[n].line = line;
			buf_init(&e[n].value, CONFIG_FILE_MAX);
			(void)buf_append(&e[n].value, s + vs, b - vs);
			n++;
		}
	}
	if (rc < 0)
		goto fail;
	*entries_r = e;
	*n_r = n;
	return 0;
fail:
	config_entries_free(e, n);
	return -1;
}

/* Mark every name that TEXT mentions as $name, ${name...} or $(name...). */
static void
config_mark_refs(struct config *cfg, const char *text)
{
	const char *p = text;

	while ((p = strchr(p, '$')) != NULL) {
		size_t k;
		struct config_var *v;

		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{' || *p == '(')
			p++;
		k = config_name_span(p, strlen(p));
		if (k > 0 && (v = config_var_find(cfg, p, k)) != NULL)
			v->referenced = true;
		p += k;
	}
}

/* Text of the warning about V (not in the table, not referenced), or NULL. */
static const char *
config_unknown_warning(struct config *cfg, const struct config_var *v)
{
	if (v->def != NULL || v->referenced || v->file_value == NULL ||
	    v->set_value != NULL)
		return NULL;
	return err_fmt("%s, line %d: unknown parameter name %s (not used "
	    "as $%s anywhere either)", cfg->path, v->line,
	    cfline_quote(v->name, strlen(v->name)), v->name);
}

static void
config_find_refs(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nbuckets; i++)
		for (struct config_var *v = cfg->buckets[i]; v; v = v->next)
			v->referenced = false;
	for (size_t i = 0; i < cfg->nbuckets; i++)
		for (struct config_var *v = cfg->buckets[i]; v; v = v->next) {
			if (v->file_value != NULL)
				config_mark_refs(cfg, v->file_value);
			if (v->set_value != NULL)
				config_mark_refs(cfg, v->set_value);
			if (v->def != NULL)
				config_mark_refs(cfg, v->def->def);
		}
}

int
config_load_text(struct config *cfg, const char *text, size_t len,
    const char *filename, const char **error_r)
{
	struct config_entry *e;
	size_t n;

	if (config_parse(text, len, filename, &e, &n, error_r) < 0)
		return -1;
	/* Replace what an earlier load read; overrides stay. */
	for (size_t i = 0; i < cfg->n_file_order; i++) {
		free(cfg->file_order[i]->file_value);
		cfg->file_order[i]->file_value = NULL;
	}
	free(cfg->file_order);
	cfg->file_order = xcalloc(n + 1, sizeof(*cfg->file_order));
	cfg->n_file_order = 0;
	free(cfg->path);
	cfg->path = xstrdup(filename);
	for (size_t i = 0; i < n; i++) {
		struct config_var *v = config_var_get(cfg, e[i].name);

		if (v->file_value != NULL) {
			log_warning("%s, line %d: overriding earlier entry "
			    "(line %d): %s=%s", filename, e[i].line, v->line,
			    v->name, v->file_value);
			free(v->file_value);
		} else
			cfg->file_order[cfg->n_file_order++] = v;
		v->file_value = buf_detach(&e[i].value, NULL);
		v->line = e[i].line;
	}
	config_entries_free(e, n);
	config_invalidate(cfg);
	config_find_refs(cfg);
	for (size_t i = 0; i < cfg->n_file_order; i++) {
		const char *w = config_unknown_warning(cfg, cfg->file_order[i]);

		if (w != NULL)
			log_warning("%s", w);
	}
	return 0;
}

int
config_load_file(struct config *cfg, const char *path, const char **error_r)
{
	struct buf text;
	int rc;

	buf_init(&text, 0);
	if (file_read_all(path, &text, CONFIG_FILE_MAX, error_r) < 0) {
		buf_release(&text);
		return -1;
	}
	rc = config_load_text(cfg, text.data, text.len, path, error_r);
	buf_release(&text);
	return rc;
}

int
config_load(struct config *cfg, const char **error_r)
{
	struct buf path;
	int rc;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/main.cf", cfg->dir);
	rc = config_load_file(cfg, path.data, error_r);
	buf_release(&path);
	return rc;
}

/* ---------------------------------------------------------------- */
/* Checking */

/* Check V's expansion and type; append a problem text when it is bad. */
static int
config_check_var(struct config *cfg, struct config_var *v,
    struct strlist *problems)
{
	const char *error;
	uint64_t num;
	bool b;

	if (config_expand_self(cfg, v, &error) < 0 ||
	    config_convert(v->def, v->expanded, &num, &b, &error) < 0) {
		strlist_add_owned(problems, xstrdup(err_fmt("%s: %s",
		    config_where(cfg, v), error)));
		return 1;
	}
	return 0;
}

int
config_check_value(struct config *cfg, const char *name, const char *value,
    const char **error_r)
{
	struct buf b;
	uint64_t num;
	bool flag;
	int rc;

	buf_init(&b, 0);
	rc = config_expand(cfg, value, &b, error_r);
	if (rc == 0)
		rc = config_convert(config_param_find(name), b.data, &num, &flag,
		    error_r);
	buf_release(&b);
	return rc;
}

int
config_check(struct config *cfg, struct strlist *problems)
{
	const struct config_param_def *defs;
	struct config_var **vars;
	size_t n = config_set_vars(cfg, &vars), ndefs;
	int errors = 0;

	config_find_refs(cfg);
	for (size_t i = 0; i < n; i++) {
		const char *w = config_unknown_warning(cfg, vars[i]);

		if (w != NULL)
			strlist_add_owned(problems,
			    xstrdup(err_fmt("warning: %s", w)));
		errors += config_check_var(cfg, vars[i], problems);
	}
	free(vars);
	/* Defaults too: they may refer to something main.cf broke. */
	defs = config_param_defs(&ndefs);
	for (size_t i = 0; i < ndefs; i++) {
		struct config_var *v = config_var_get(cfg, defs[i].name);

		if (v->set_value == NULL && v->file_value == NULL)
			errors += config_check_var(cfg, v, problems);
	}
	return errors;
}

/* ---------------------------------------------------------------- */
/* Editing */

/* If LINE[0..L) starts a logical line setting NAME, return true. */
static bool
config_line_sets(const char *line, size_t l, const char *name)
{
	size_t nl = strlen(name), i;

	if (l < nl || strncmp(line, name, nl) != 0)
		return false;
	for (i = nl; i < l && cfline_space(line[i]); i++)
		;
	return i < l && line[i] == '=';
}

int
config_edit(const char *path, const char *name, const char *value,
    const char **error_r)
{
	struct buf in, out;
	struct stat st;
	mode_t mode = 0644;
	size_t pos = 0;
	bool done = false, skipping = false;
	int rc;

	if (!config_name_valid(name)) {
		*error_r = err_fmt("bad parameter name %s",
		    cfline_quote(name, strlen(name)));
		return -1;
	}
	if (strpbrk(value, "\r\n") != NULL) {
		*error_r = err_fmt("value of %s contains a line break", name);
		return -1;
	}
	buf_init(&in, 0);
	buf_init(&out, 0);
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
		if (file_read_all(path, &in, CONFIG_FILE_MAX, error_r) < 0)
			goto fail;
	} else if (errno != ENOENT) {
		*error_r = err_fmt("stat %s: %s", path, strerror(errno));
		goto fail;
	}
	while (pos < in.len) {
		const char *s = in.data + pos;
		const char *nl = memchr(s, '\n', in.len - pos);
		size_t l = nl != NULL ? (size_t)(nl - s) : in.len - pos;
		size_t a = 0;

		pos += l + (nl != NULL);
		while (a < l && cfline_space(s[a]))
			a++;
		if (a == l || s[a] == '#') {
			/* Blank and comment lines stay, even inside a value. */
			(void)buf_append(&out, s, l);
			(void)buf_append_char(&out, '\n');
			continue;
		}
		if (a > 0 && skipping)
			continue;	/* continuation of the replaced value */
		skipping = false;
		if (a == 0 && config_line_sets(s, l, name)) {
			skipping = true;
			if (done)
				continue;	/* a later duplicate goes */
			done = true;
			(void)buf_printf(&out, "%s =%s%s\n", name,
			    *value != '\0' ? " " : "", value);
			continue;
		}
		(void)buf_append(&out, s, l);
		(void)buf_append_char(&out, '\n');
	}
	if (!done)
		(void)buf_printf(&out, "%s =%s%s\n", name,
		    *value != '\0' ? " " : "", value);
	rc = file_write_atomic(path, out.data, out.len, mode, error_r);
	buf_release(&in);
	buf_release(&out);
	return rc;
fail:
	buf_release(&in);
	buf_release(&out);
	return -1;
}
