/*
 * local_expand - from one recipient to its final destinations: address
 * extensions (recipient_delimiter), alias_maps (aliases(5): local users,
 * remote addresses, "|command", "/file", ":include:/path"), the user's
 * .forward, then the mailbox.
 *
 * Rules (docs/local.md):
 * - Lookups use the local part folded to lower case, first with its
 *   extension ("user+tag"), then without it.
 * - An alias that is being expanded (an ancestor) is not expanded again:
 *   "root: root, bob" delivers to root's mailbox and to bob.  An alias that
 *   was already expanded elsewhere in the same tree is skipped (duplicate
 *   suppression); so is every destination already found.  Nesting deeper
 *   than LOCAL_EXPAND_DEPTH bounces (5.4.6).
 * - "owner-NAME" existing in alias_maps makes "owner-NAME@$myorigin" the
 *   envelope sender of NAME's expansion (not for the null sender).
 * - "\user" delivers to user's mailbox, skipping aliases and .forward.
 * - A .forward is read with the user's privileges; commands and files in
 *   aliases run as default_privs when we are root.
 * - A Delivered-To: header equal to an address being delivered bounces
 *   with "mail forwarding loop for ADDR" (5.4.6).
 *
 * Distrusts: table values and .forward/include contents (any bytes; only
 * split and classified here, never interpreted by a shell here).
 */
#include "local.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "config.h"
#include "err.h"
#include "mem.h"
#include "parse.h"

#define LOCAL_EXPAND_DEPTH 20
/* Largest .forward or :include: file read. */
#define LOCAL_FILE_MAX (1024 * 1024)

void
local_user_copy(struct local_user *dst, const struct local_user *src)
{
	dst->name = src->name ? xstrdup(src->name) : NULL;
	dst->uid = src->uid;
	dst->gid = src->gid;
	dst->home = src->home ? xstrdup(src->home) : NULL;
	dst->shell = src->shell ? xstrdup(src->shell) : NULL;
}

void
local_user_release(struct local_user *u)
{
	free(u->name);
	free(u->home);
	free(u->shell);
	memset(u, 0, sizeof(*u));
}

int
local_user_parse(const char *line, struct local_user *u,
    const char **error_r)
{
	struct strlist f;
	const char *p = line, *q;
	uint64_t uid, gid;
	const char *err;
	int rc = -1;

	strlist_init(&f);
	/* Split at ':' keeping empty fields (strlist_split would skip them). */
	for (;;) {
		q = strchr(p, ':');
		if (q == NULL) {
			strlist_add(&f, p);
			break;
		}
		strlist_add_owned(&f, xstrndup(p, (size_t)(q - p)));
		p = q + 1;
	}
	if (f.n < 7) {
		*error_r = "malformed passwd entry: fewer than 7 fields";
		goto out;
	}
	if (parse_uint(f.v[2], 0, UINT32_MAX - 1, &uid, &err) < 0 ||
	    parse_uint(f.v[3], 0, UINT32_MAX - 1, &gid, &err) < 0) {
		*error_r = err_fmt("malformed passwd entry for %s: bad uid "
		    "or gid", f.v[0]);
		goto out;
	}
	if (f.v[5][0] != '/') {
		*error_r = err_fmt("malformed passwd entry for %s: home "
		    "folder is not an absolute path", f.v[0]);
		goto out;
	}
	u->name = xstrdup(f.v[0]);
	u->uid = (uid_t)uid;
	u->gid = (gid_t)gid;
	u->home = xstrdup(f.v[5]);
	u->shell = xstrdup(f.v[6][0] ? f.v[6] : "/bin/sh");
	rc = 0;
out:
	strlist_release(&f);
	return rc;
}

void
local_expansion_init(struct local_expansion *e)
{
	memset(e, 0, sizeof(*e));
}

static void
dest_release(struct local_dest *d)
{
	free(d->target);
	free(d->address);
	free(d->local);
	free(d->extension);
	free(d->domain);
	free(d->sender);
	local_user_release(&d->user);
}

void
local_expansion_release(struct local_expansion *e)
{
	for (size_t i = 0; i < e->n; i++)
		dest_release(&e->v[i]);
	free(e->v);
	free(e->reason);
	memset(e, 0, sizeof(*e));
}

void
local_split_extension(const char *local, const char *delimiters,
    bool owner_request_special, char **user_r, char **ext_r, char *delim_r)
{
	size_t len = strlen(local);
	const char *p = NULL;

	*delim_r = '\0';
	if (*delimiters) {
		for (const char *s = local; *s; s++)
			if (strchr(delimiters, *s) != NULL) {
				if (*s == '-' && owner_request_special &&
				    (str_has_prefix(local, "owner-") ||
				    (len > 8 && strcmp(local + len - 8,
				    "-request") == 0)))
					continue;
				p = s;
				break;
			}
	}
	/* A delimiter at the very start is not a user+extension split. */
	if (p == NULL || p == local) {
		*user_r = xstrdup(local);
		*ext_r = xstrdup("");
		return;
	}
	*delim_r = *p;
	*user_r = xstrndup(local, (size_t)(p - local));
	*ext_r = xstrdup(p + 1);
}

static const char *
path_var(const char *name, size_t len, const char *const *names,
    const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return values[i];
	return "";
}

char *
local_expand_path(const char *tmpl, const char *const *names,
    const char *const *values, size_t n)
{
	struct buf out;
	const char *p = tmpl;

	buf_init(&out, 0);
	while (*p) {
		if (*p != '$') {
			(void)buf_append_char(&out, *p++);
			continue;
		}
		p++;
		if (*p == '$') {
			(void)buf_append_char(&out, *p++);
			continue;
		}
		if (*p == '{' || *p == '(') {
			char close = *p == '{' ? '}' : ')';
			const char *start = ++p, *end = strchr(p, close);
			size_t nlen = strcspn(start, "?:}) ");
			const char *v;

			if (end == NULL || nlen > (size_t)(end - start))
				goto skip;
			v = path_var(start, nlen, names, values, n);
			if (start[nlen] == '?' || start[nlen] == ':') {
				bool use = start[nlen] == '?' ? *v != '\0' :
				    *v == '\0';

				if (use)
					(void)buf_append(&out, start + nlen + 1,
					    (size_t)(end - start) - nlen - 1);
			} else {
				if (start + nlen != end || *v == '\0')
					goto skip;
				(void)buf_append_str(&out, v);
			}
			p = end + 1;
			continue;
		}
		size_t nlen = 0;

		while ((p[nlen] >= 'a' && p[nlen] <= 'z') ||
		    (p[nlen] >= 'A' && p[nlen] <= 'Z') ||
		    (p[nlen] >= '0' && p[nlen] <= '9') || p[nlen] == '_')
			nlen++;
		const char *v = path_var(p, nlen, names, values, n);

		if (nlen == 0 || *v == '\0')
			goto skip;
		(void)buf_append_str(&out, v);
		p += nlen;
	}
	{
		char *r = buf_detach(&out, NULL);

		buf_release(&out);
		return r;
	}
skip:
	buf_release(&out);
	return NULL;
}

/* The state of one expansion. */
struct expand {
	const struct local_expand_cfg *cfg;
	const struct local_expand_ops *ops;
	void *ctx;
	const struct strlist *delivered_to;
	const char *rcpt_domain;
	struct strlist path;	/* ancestors: "a:NAME" aliases, "f:USER" */
	struct strlist done;	/* expanded aliases/forwards, destinations */
	struct local_expansion *out;
};

static void
expand_fail(struct expand *x, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
expand_fail(struct expand *x, const char *dsn, const char *fmt, ...)
{
	struct buf t;
	va_list ap;

	/* The first deferral wins over bounces; else the first bounce. */
	if (x->out->dsn[0] == '4' ||
	    (x->out->dsn[0] == '5' && dsn[0] == '5'))
		return;
	buf_init(&t, 0);
	va_start(ap, fmt);
	(void)buf_vprintf(&t, fmt, ap);
	va_end(ap);
	free(x->out->reason);
	x->out->reason = buf_detach(&t, NULL);
	buf_release(&t);
	(void)str_copy(x->out->dsn, sizeof(x->out->dsn), dsn);
}

static bool
deferred(const struct expand *x)
{
	return x->out->dsn[0] == '4';
}

/* Remember KEY; false when it was there already. */
static bool
first_time(struct expand *x, const char *key)
{
	if (strlist_find(&x->done, key) >= 0)
		return false;
	strlist_add(&x->done, key);
	return true;
}

struct node {		/* the local address whose expansion is running */
	const char *address;
	const char *local;
	const char *extension;
	const char *domain;
	const char *sender;
};

static void
add_dest(struct expand *x, enum local_dest_kind kind, const char *target,
    const struct node *n, unsigned source, const struct local_user *user)
{
	struct buf key;
	struct local_dest *d;

	buf_init(&key, 0);
	switch (kind) {
	case LOCAL_DEST_MAILBOX:
		(void)buf_printf(&key, "mailbox:%s", target);
		break;
	case LOCAL_DEST_COMMAND:
		(void)buf_printf(&key, "command:%lu:%s",
		    user ? (unsigned long)user->uid : 0ul, target);
		break;
	case LOCAL_DEST_FILE:
		(void)buf_printf(&key, "file:%s", target);
		break;
	case LOCAL_DEST_REMOTE:
		(void)buf_printf(&key, "remote:%s", target);
		str_lower(key.data);
		break;
	}
	if (!first_time(x, key.data)) {
		buf_release(&key);
		return;
	}
	buf_release(&key);
	if (x->out->n == x->out->cap) {
		x->out->cap = x->out->cap ? 2 * x->out->cap : 4;
		x->out->v = xreallocarray(x->out->v, x->out->cap,
		    sizeof(*x->out->v));
	}
	d = &x->out->v[x->out->n++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->target = xstrdup(target);
	d->address = xstrdup(n->address);
	d->local = xstrdup(n->local);
	d->extension = xstrdup(n->extension);
	d->domain = xstrdup(n->domain);
	d->sender = xstrdup(n->sender);
	d->source = source;
	if (user != NULL)
		local_user_copy(&d->user, user);
}

/*
 * A .forward or include file: each line holds items (separated by commas
 * as in aliases); a line starting with '#' is a comment.  Appends them to
 * OUT as one comma-separated value.
 */
static void
file_items(char *text, struct buf *out)
{
	for (char *line = text; line != NULL;) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		char *t = str_trim(line);

		if (*t != '#' && *t != '\0')
			(void)buf_printf(out, "%s,", t);
		line = nl != NULL ? nl + 1 : NULL;
	}
}

static void expand_local(struct expand *x, const char *local,
    const char *domain, const char *sender, int depth, bool backslash);

/*
 * The items of an alias value, a .forward or an include file.  AS: whose
 * privileges commands, files and includes get (NULL when not root).
 */
static void
expand_items(struct expand *x, const char *value, unsigned source,
    const struct local_user *as, const struct node *n, int depth)
{
	struct strlist items;
	const char *error;

	strlist_init(&items);
	if (aliases_split_value(value, &items, &error) < 0) {
		expand_fail(x, "4.3.0", "%s: bad %s entry: %s", n->address,
		    source == LOCAL_SRC_ALIAS ? "alias" : source ==
		    LOCAL_SRC_FORWARD ? ".forward" : "include file", error);
		strlist_release(&items);
		return;
	}
	for (size_t i = 0; i < items.n && !deferred(x); i++) {
		char *item = str_trim(items.v[i]);

		if (*item == '\0')
			continue;
		if (*item == '|') {
			if (!(x->cfg->allow_commands & source)) {
				expand_fail(x, "5.7.1", "mail to command is restricted "
				    "(allow_mail_to_commands) for %s",
				    n->address);
				continue;
			}
			add_dest(x, LOCAL_DEST_COMMAND, item + 1, n, source,
			    as);
		} else if (str_has_prefix_nocase(item, ":include:")) {
			const char *path = str_trim(item + 9);
			struct buf content;
			struct buf key;
			int rc;

			if (*path != '/') {
				expand_fail(x, "4.3.0", "%s: include file %s is not an "
				    "absolute path", n->address, path);
				continue;
			}
			buf_init(&key, 0);
			(void)buf_printf(&key, "include:%s", path);
			if (depth >= LOCAL_EXPAND_DEPTH ||
			    strlist_find(&x->path, key.data) >= 0) {
				expand_fail(x, "5.4.6", "mail forwarding loop in "
				    "include file %s", path);
				buf_release(&key);
				continue;
			}
			buf_init(&content, LOCAL_FILE_MAX);
			rc = x->ops->read_file(x->ctx, as, path, &content,
			    &error);
			if (rc < 0)
				expand_fail(x, "4.3.0", "cannot read include file %s: "
				    "%s", path, error);
			else if (rc == 0)
				expand_fail(x, "4.3.0", "include file %s does not "
				    "exist", path);
			else {
				struct buf joined;

				buf_init(&joined, 0);
				file_items(content.data, &joined);
				strlist_add(&x->path, key.data);
				expand_items(x, joined.data, LOCAL_SRC_INCLUDE,
				    as, n, depth + 1);
				buf_release(&joined);
				free(x->path.v[--x->path.n]);
				x->path.v[x->path.n] = NULL;
			}
			buf_release(&content);
			buf_release(&key);
		} else if (*item == '/') {
			if (!(x->cfg->allow_files & source)) {
				expand_fail(x, "5.7.1", "mail to file is restricted "
				    "(allow_mail_to_files) for %s", n->address);
				continue;
			}
			add_dest(x, LOCAL_DEST_FILE, item, n, source, as);
		} else if (*item == '\\') {
			expand_local(x, item + 1, n->domain, n->sender,
			    depth + 1, true);
		} else {
			char *at = strrchr(item, '@');

			if (at == NULL) {
				expand_local(x, item, n->domain, n->sender,
				    depth + 1, false);
			} else if (at[1] != '\0' &&
			    (str_casecmp(at + 1, x->rcpt_domain) == 0 ||
			    x->ops->is_local(x->ctx, at + 1))) {
				char *lp = xstrndup(item, (size_t)(at - item));

				expand_local(x, lp, at + 1, n->sender,
				    depth + 1, false);
				free(lp);
			} else {
				add_dest(x, LOCAL_DEST_REMOTE, item, n, 0,
				    NULL);
			}
		}
	}
	strlist_release(&items);
}

static void
push(struct expand *x, const char *prefix, const char *name)
{
	struct buf k;

	buf_init(&k, 0);
	(void)buf_printf(&k, "%s%s", prefix, name);
	strlist_add_owned(&x->path, buf_detach(&k, NULL));
	buf_release(&k);
}

static void
pop(struct expand *x)
{
	free(x->path.v[--x->path.n]);
	x->path.v[x->path.n] = NULL;
}

static bool
on_path(struct expand *x, const char *prefix, const char *name)
{
	struct buf k;
	bool r;

	buf_init(&k, 0);
	(void)buf_printf(&k, "%s%s", prefix, name);
	r = strlist_find(&x->path, k.data) >= 0;
	buf_release(&k);
	return r;
}

/* Try NAME as an alias; true when it was one (expanded or a duplicate). */
static bool
try_alias(struct expand *x, const char *name, const struct node *n,
    int depth)
{
	struct buf k;
	char *value = NULL, *owner = NULL;
	const char *error, *sender = n->sender;
	char *owner_sender = NULL;
	int rc;

	if (on_path(x, "a:", name))
		return false;
	buf_init(&k, 0);
	(void)buf_printf(&k, "a:%s", name);
	if (strlist_find(&x->done, k.data) >= 0) {
		buf_release(&k);
		return true;
	}
	rc = x->ops->alias(x->ctx, name, &value, &error);
	if (rc < 0) {
		expand_fail(x, "4.3.0", "alias_maps lookup of %s failed: %s", name,
		    error);
		buf_release(&k);
		return true;
	}
	if (rc == 0) {
		buf_release(&k);
		return false;
	}
	strlist_add(&x->done, k.data);
	buf_release(&k);
	if (x->cfg->owner_request_special && *n->sender &&
	    !str_has_prefix(name, "owner-")) {
		struct buf o;

		buf_init(&o, 0);
		(void)buf_printf(&o, "owner-%s", name);
		rc = x->ops->alias(x->ctx, o.data, &owner, &error);
		if (rc > 0) {
			(void)buf_printf(&o, "@%s", x->cfg->myorigin);
			owner_sender = buf_detach(&o, NULL);
			sender = owner_sender;
		}
		buf_release(&o);
		free(owner);
	}
	struct node an = *n;

	an.sender = sender;
	push(x, "a:", name);
	expand_items(x, value, LOCAL_SRC_ALIAS, x->cfg->default_privs, &an,
	    depth);
	pop(x);
	free(value);
	free(owner_sender);
	return true;
}

/* Try the user's .forward files; true when one was found (and used). */
static bool
try_forward(struct expand *x, const struct local_user *u,
    const struct node *n, char delim, int depth)
{
	struct strlist paths;
	char dstr[2] = { delim, '\0' };
	const char *names[] = { "home", "user", "extension",
		"recipient_delimiter", "local", "domain", "shell" };
	const char *values[] = { u->home, u->name, n->extension, dstr,
		n->local, n->domain, u->shell };
	const struct local_user *as = u;
	bool found = false;

	if (on_path(x, "f:", u->name))
		return false;
	/* Never act as root for a user: root's .forward runs as
	 * default_privs. */
	if (x->cfg->default_privs != NULL && u->uid == 0)
		as = x->cfg->default_privs;
	strlist_init(&paths);
	config_list_split(x->cfg->forward_path, &paths);
	for (size_t i = 0; i < paths.n && !found && !deferred(x); i++) {
		char *path = local_expand_path(paths.v[i], names, values,
		    sizeof(names) / sizeof(names[0]));
		struct buf content;
		const char *error;
		int rc;

		if (path == NULL)
			continue;
		buf_init(&content, LOCAL_FILE_MAX);
		rc = x->ops->read_file(x->ctx,
		    x->cfg->default_privs != NULL ? u : NULL, path, &content,
		    &error);
		if (rc < 0) {
			expand_fail(x, "4.3.0", "cannot read %s: %s", path, error);
		} else if (rc > 0) {
			struct buf joined;

			found = true;
			buf_init(&joined, 0);
			file_items(content.data, &joined);
			push(x, "f:", u->name);
			expand_items(x, joined.data, LOCAL_SRC_FORWARD,
			    x->cfg->default_privs != NULL ? as : NULL, n,
			    depth);
			pop(x);
			buf_release(&joined);
		}
		buf_release(&content);
		free(path);
	}
	strlist_release(&paths);
	return found;
}

static void
expand_local(struct expand *x, const char *local_in, const char *domain,
    const char *sender, int depth, bool backslash)
{
	char *local = str_lower(xstrdup(local_in));
	char *user = NULL, *ext = NULL;
	struct buf addr;
	struct local_user u;
	const char *error;
	char delim;
	int rc;

	memset(&u, 0, sizeof(u));
	buf_init(&addr, 0);
	if (*domain)
		(void)buf_printf(&addr, "%s@%s", local, domain);
	else
		(void)buf_append_str(&addr, local);
	if (depth > LOCAL_EXPAND_DEPTH) {
		expand_fail(x, "5.4.6", "alias expansion of %s is nested too deeply "
		    "(mail forwarding loop)", addr.data);
		goto out;
	}
	if (*local == '\0') {
		expand_fail(x, "5.1.3", "empty local part in %s", addr.data);
		goto out;
	}
	if (strlist_find_nocase(x->delivered_to, addr.data) >= 0) {
		expand_fail(x, "5.4.6", "mail forwarding loop for %s", addr.data);
		goto out;
	}
	local_split_extension(local, x->cfg->recipient_delimiter,
	    x->cfg->owner_request_special, &user, &ext, &delim);

	struct node n = { addr.data, local, ext, domain, sender };

	if (!backslash) {
		if (*ext && try_alias(x, local, &n, depth))
			goto out;
		if (deferred(x) || try_alias(x, user, &n, depth))
			goto out;
	}
	rc = x->ops->user(x->ctx, user, &u, &error);
	if (rc < 0) {
		expand_fail(x, "4.3.0", "local_user_maps lookup of %s failed: %s",
		    user, error);
		goto out;
	}
	if (rc == 0) {
		expand_fail(x, "5.1.1", "unknown user: \"%s\"", user);
		goto out;
	}
	if (!backslash && try_forward(x, &u, &n, delim, depth))
		goto out;
	if (!deferred(x))
		add_dest(x, LOCAL_DEST_MAILBOX, u.name, &n, 0, &u);
out:
	local_user_release(&u);
	buf_release(&addr);
	free(local);
	free(user);
	free(ext);
}

void
local_expand(const struct local_expand_cfg *cfg,
    const struct local_expand_ops *ops, void *ctx, const char *recipient,
    const char *sender, const struct strlist *delivered_to,
    struct local_expansion *out)
{
	struct expand x;
	const char *at = strrchr(recipient, '@');
	char *local = at ? xstrndup(recipient, (size_t)(at - recipient)) :
	    xstrdup(recipient);
	char *domain = str_lower(xstrdup(at ? at + 1 : ""));

	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.ops = ops;
	x.ctx = ctx;
	x.delivered_to = delivered_to;
	x.rcpt_domain = domain;
	x.out = out;
	strlist_init(&x.path);
	strlist_init(&x.done);
	expand_local(&x, local, domain, sender, 0, false);
	if (out->dsn[0] == '\0' && out->n == 0)
		expand_fail(&x, "5.1.1", "%s expands to no destination", recipient);
	strlist_release(&x.path);
	strlist_release(&x.done);
	free(local);
	free(domain);
}
