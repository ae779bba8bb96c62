/*
 * dkim_signer - the signing policy of outgoing mail and the signing of a
 * queued message (see dkim_signer.h for the rules; docs/dkim.md,
 * "Signing outgoing mail").
 *
 * Distrusts the message: the From field and the header come from the
 * sender and are only parsed (within DKIM_HEADER_MAX) and hashed.  The
 * queue file's envelope fields were written by cleanup from what smtpd,
 * pickup or local saw, and are trusted as far as they go.  Key files are
 * the administrator's; they are read with the privileges of the process
 * that makes the signer (root before the drop, or mail_owner).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cidr.h"
#include "config.h"
#include "dict.h"
#include "dkim.h"
#include "dkim_signer.h"
#include "dmarc.h"
#include "err.h"
#include "header.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "str.h"

#define SIGNER_CHUNK 65536

struct signer_net {
	bool negate;
	struct maps *maps;	/* a table item, or NULL: CIDR */
	struct cidr cidr;
};

struct signer_key {
	char *path;
	struct dkim_privkey *key;
};

struct dkim_signer {
	struct maps *maps;		/* NULL: signing is off */
	enum dkim_canon hcanon, bcanon;
	char *headers;			/* colon-separated, NULL: default */
	char *oversign;			/* colon-separated */
	uint64_t ttl;
	struct signer_net *nets;
	size_t n_nets;
	struct signer_key *keys;
	size_t n_keys;
};

/* "type:name" with a plain type word (not an IPv6 address). */
static bool
signer_is_table(const char *s)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	return true;
}

static int
signer_nets(struct dkim_signer *s, struct config *cfg, const char **error_r)
{
	struct strlist items;
	int rc = 0;

	strlist_init(&items);
	config_list(cfg, "mynetworks", &items);
	s->nets = xcalloc(items.n + 1, sizeof(*s->nets));
	for (size_t i = 0; i < items.n; i++) {
		const char *item = items.v[i];
		struct signer_net *n = &s->nets[s->n_nets];
		const char *err;

		if (*item == '!') {
			n->negate = true;
			item++;
		}
		if (signer_is_table(item)) {
			n->maps = maps_open(item, &err);
			if (n->maps == NULL) {
				*error_r = err_fmt("mynetworks: %s: %s", item,
				    err);
				rc = -1;
				break;
			}
		} else if (cidr_parse(item, &n->cidr, &err) < 0) {
			*error_r = err_fmt("mynetworks: %s", err);
			rc = -1;
			break;
		}
		s->n_nets++;
	}
	strlist_release(&items);
	return rc;
}

/* A list parameter as the colon-separated names dkim_sign wants. */
static char *
signer_names(struct config *cfg, const char *name)
{
	struct strlist l;
	struct buf b;
	char *text;

	strlist_init(&l);
	config_list(cfg, name, &l);
	buf_init(&b, 0);
	for (size_t i = 0; i < l.n; i++) {
		if (i > 0)
			(void)buf_append_char(&b, ':');
		(void)buf_append_str(&b, l.v[i]);
	}
	strlist_release(&l);
	text = buf_detach(&b, NULL);
	buf_release(&b);
	return text;
}

static const struct dkim_privkey *
signer_key_find(const struct dkim_signer *s, const char *path)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i].path, path) == 0)
			return s->keys[i].key;
	return NULL;
}

/* The key at PATH, loaded now if it is not yet.  NULL with *error_r. */
static const struct dkim_privkey *
signer_key_get(struct dkim_signer *s, const char *path, const char **error_r)
{
	const struct dkim_privkey *found = signer_key_find(s, path);
	struct dkim_privkey *k;
	const char *err;

	if (found != NULL)
		return found;
	k = dkim_privkey_load(path, &err);
	if (k == NULL) {
		*error_r = err_fmt("DKIM key %s: %s", path, err);
		return NULL;
	}
	s->keys = xreallocarray(s->keys, s->n_keys + 1, sizeof(*s->keys));
	s->keys[s->n_keys].path = xstrdup(path);
	s->keys[s->n_keys].key = k;
	s->n_keys++;
	return k;
}

static int
signer_collect_cb(void *ctx, const char *key, const char *value)
{
	strlist_add(ctx, key);
	return 0;
}

/* Load every key of every table that can be listed. */
static void
signer_preload(struct dkim_signer *s)
{
	struct strlist domains;

	strlist_init(&domains);
	for (size_t i = 0; i < maps_count(s->maps); i++) {
		const char *err;

		/* regexp:, pcre:, static: cannot be listed: keys come later. */
		(void)dict_iterate(maps_dict(s->maps, i), signer_collect_cb,
		    &domains, &err);
	}
	for (size_t i = 0; i < domains.n; i++) {
		struct strlist sels, paths;
		const char *err;

		strlist_init(&sels);
		strlist_init(&paths);
		if (dkim_signing_keys(s->maps, domains.v[i], &sels, &paths,
		    &err) < 0)
			log_warning("%s", err);
		for (size_t k = 0; k < paths.n; k++)
			if (signer_key_get(s, paths.v[k], &err) == NULL)
				log_warning("dkim_signing_key_maps, %s: %s",
				    domains.v[i], err);
		strlist_release(&sels);
		strlist_release(&paths);
	}
	strlist_release(&domains);
}

struct dkim_signer *
dkim_signer_new(struct config *cfg, const char **error_r)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	struct strlist l;
	const char *err;

	if (dkim_canon_parse(config_str(cfg, "dkim_canonicalization"),
	    &s->hcanon, &s->bcanon, &err) < 0) {
		*error_r = err_fmt("dkim_canonicalization: %s", err);
		goto fail;
	}
	s->headers = signer_names(cfg, "dkim_signing_headers");
	if (s->headers[0] == '\0') {
		free(s->headers);
		s->headers = NULL;
	}
	s->oversign = signer_names(cfg, "dkim_oversign_headers");
	s->ttl = config_time(cfg, "dkim_signature_ttl");
	if (signer_nets(s, cfg, error_r) < 0)
		goto fail;
	strlist_init(&l);
	config_list(cfg, "dkim_signing_key_maps", &l);
	if (l.n > 0) {
		s->maps = maps_open(config_str(cfg, "dkim_signing_key_maps"),
		    &err);
		if (s->maps == NULL) {
			*error_r = err_fmt("dkim_signing_key_maps: %s", err);
			strlist_release(&l);
			goto fail;
		}
	}
	strlist_release(&l);
	if (s->maps != NULL)
		signer_preload(s);
	return s;
fail:
	dkim_signer_free(s);
	return NULL;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	if (s->maps != NULL)
		maps_close(s->maps);
	for (size_t i = 0; i < s->n_nets; i++)
		if (s->nets[i].maps != NULL)
			maps_close(s->nets[i].maps);
	free(s->nets);
	for (size_t i = 0; i < s->n_keys; i++) {
		free(s->keys[i].path);
		dkim_privkey_free(s->keys[i].key);
	}
	free(s->keys);
	free(s->headers);
	free(s->oversign);
	free(s);
}

bool
dkim_signer_enabled(const struct dkim_signer *s)
{
	return s->maps != NULL;
}

size_t
dkim_signer_key_count(const struct dkim_signer *s)
{
	return s->n_keys;
}

const char *
dkim_signer_origin_name(enum dkim_signer_origin o)
{
	switch (o) {
	case DKIM_SIGNER_LOCAL:
		return "local";
	case DKIM_SIGNER_AUTHENTICATED:
		return "authenticated";
	case DKIM_SIGNER_MYNETWORKS:
		return "mynetworks";
	case DKIM_SIGNER_UNTRUSTED:
		break;
	}
	return "untrusted";
}

static bool
signer_in_mynetworks(const struct dkim_signer *s, const char *addr)
{
	unsigned char bin[16];
	int family;

	if (cidr_addr_parse(addr, &family, bin) < 0)
		return false;
	/* The first item that matches decides, as in smtpd. */
	for (size_t i = 0; i < s->n_nets; i++) {
		const struct signer_net *n = &s->nets[i];
		bool hit;

		if (n->maps != NULL) {
			const char *v, *err;

			hit = maps_lookup(n->maps, addr, &v, &err) > 0;
		} else {
			hit = cidr_match(&n->cidr, family, bin);
		}
		if (hit)
			return !n->negate;
	}
	return false;
}

enum dkim_signer_origin
dkim_signer_origin(const struct dkim_signer *s,
    const struct dkim_signer_envelope *env)
{
	/*
	 * Local mail without a client: sendmail, bounces, forwarded local
	 * mail.  Mail local forwarded keeps its original client (and login),
	 * judged below as the original would have been.
	 */
	if (env->protocol != NULL && str_casecmp(env->protocol, "local") ==
	    0 && (env->client_address == NULL || env->client_address[0] ==
	    '\0'))
		return DKIM_SIGNER_LOCAL;
	if (env->sasl_username != NULL && env->sasl_username[0] != '\0')
		return DKIM_SIGNER_AUTHENTICATED;
	if (env->client_address != NULL && env->client_address[0] != '\0' &&
	    signer_in_mynetworks(s, env->client_address))
		return DKIM_SIGNER_MYNETWORKS;
	return DKIM_SIGNER_UNTRUSTED;
}

int
dkim_signer_domain(struct dkim_signer *s, const char *from_domain,
    char **domain_r, const char **error_r)
{
	char *d;
	const char *p;

	if (s->maps == NULL)
		return 0;
	d = str_lower(xstrdup(from_domain));
	/* The domain itself, then each parent that still has a dot. */
	for (p = d; p != NULL && strchr(p, '.') != NULL;
	    p = strchr(p, '.') + 1) {
		struct strlist sels, paths;
		int rc;

		strlist_init(&sels);
		strlist_init(&paths);
		rc = dkim_signing_keys(s->maps, p, &sels, &paths, error_r);
		strlist_release(&sels);
		strlist_release(&paths);
		if (rc < 0) {
			free(d);
			return -1;
		}
		if (rc > 0) {
			*domain_r = xstrdup(p);
			free(d);
			return 1;
		}
	}
	free(d);
	return 0;
}

/*
 * Does the header end (an empty line) within B[0..LEN)?  AT_START: B is
 * the start of the message, where an empty line needs no LF before it.
 */
static bool
signer_header_ends(const char *b, size_t len, bool at_start)
{
	if (at_start && len >= 1 && b[0] == '\n')
		return true;
	if (at_start && len >= 2 && b[0] == '\r' && b[1] == '\n')
		return true;
	for (size_t i = 0; i + 1 < len; i++) {
		if (b[i] != '\n')
			continue;
		if (b[i + 1] == '\n' ||
		    (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n'))
			return true;
	}
	return false;
}

static int
signer_from_cb(void *ctx, const struct header_field *f)
{
	if (header_field_is(f, "From"))
		strlist_add(ctx, f->has_nul ? "" : f->value);
	return 0;
}

int
dkim_signer_sign(struct dkim_signer *s,
    const struct dkim_signer_envelope *env, dkim_signer_read_fn *read,
    void *ctx, struct buf *out, const char **note_r, const char **error_r)
{
	enum dkim_signer_origin origin;
	struct buf hdr, sigs;
	struct strlist froms, sels, paths;
	const struct dkim_privkey **keys = NULL;
	struct dkim_sign **signers = NULL;
	char *chunk = NULL, *from_domain = NULL, *domain = NULL;
	uint64_t offset = 0;
	size_t got, body_off, n = 0;
	const char *err;
	int rc = -1, k;

	if (s->maps == NULL) {
		*note_r = "no dkim_signing_key_maps";
		return 0;
	}
	origin = dkim_signer_origin(s, env);
	if (origin == DKIM_SIGNER_UNTRUSTED) {
		*note_r = "not from a local, authenticated or mynetworks "
		    "sender";
		return 0;
	}
	buf_init(&hdr, 0);
	buf_init(&sigs, 0);
	strlist_init(&froms);
	strlist_init(&sels);
	strlist_init(&paths);
	chunk = xmalloc(SIGNER_CHUNK);

	/* The header (and perhaps some body): bounded. */
	for (;;) {
		size_t scan = hdr.len > 2 ? hdr.len - 2 : 0;

		if (read(ctx, offset, chunk, SIGNER_CHUNK, &got, &err) < 0) {
			*error_r = err_fmt("queue file read error: %s", err);
			goto out;
		}
		if (got == 0)
			break;
		(void)buf_append(&hdr, chunk, got);
		offset += got;
		if (signer_header_ends(hdr.data + scan, hdr.len - scan,
		    scan == 0) ||
		    hdr.len > DKIM_HEADER_MAX)
			break;
	}
	if (header_parse_message(hdr.data, hdr.len, DKIM_HEADER_MAX,
	    signer_from_cb, &froms, &body_off, &err) < 0) {
		*note_r = err_fmt("not signed: %s", err);
		rc = 0;
		goto out;
	}
	if (dmarc_from_domain((const char *const *)froms.v, froms.n,
	    &from_domain, &err) < 0) {
		*note_r = err_fmt("not signed: %s", err);
		rc = 0;
		goto out;
	}
	k = dkim_signer_domain(s, from_domain, &domain, error_r);
	if (k < 0)
		goto out;
	if (k == 0) {
		*note_r = err_fmt("no key for %s", from_domain);
		rc = 0;
		goto out;
	}
	if (dkim_signing_keys(s->maps, domain, &sels, &paths, error_r) <= 0) {
		if (sels.n == 0)
			*error_r = err_fmt("dkim_signing_key_maps: %s changed",
			    domain);
		goto out;
	}
	n = sels.n;
	keys = xcalloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		keys[i] = signer_key_get(s, paths.v[i], error_r);
		if (keys[i] == NULL)
			goto out;
	}
	signers = xcalloc(n, sizeof(*signers));
	for (size_t i = 0; i < n; i++) {
		struct dkim_sign_params p;

		memset(&p, 0, sizeof(p));
		p.domain = domain;
		p.selector = sels.v[i];
		p.key = keys[i];
		p.hcanon = s->hcanon;
		p.bcanon = s->bcanon;
		p.headers = s->headers;
		p.oversign = s->oversign;
		p.ttl = s->ttl;
		signers[i] = dkim_sign_new(&p);
		dkim_sign_feed(signers[i], hdr.data, hdr.len);
	}
	/* The rest of the body, streamed. */
	for (;;) {
		if (read(ctx, offset, chunk, SIGNER_CHUNK, &got, &err) < 0) {
			*error_r = err_fmt("queue file read error: %s", err);
			goto out;
		}
		if (got == 0)
			break;
		offset += got;
		for (size_t i = 0; i < n; i++)
			dkim_sign_feed(signers[i], chunk, got);
	}
	for (size_t i = 0; i < n; i++) {
		if (dkim_sign_finish(signers[i], "\r\n", &sigs, &err) < 0) {
			*error_r = err_fmt("DKIM signing for %s (s=%s) "
			    "failed: %s", domain, sels.v[i], err);
			goto out;
		}
	}
	(void)buf_append(out, sigs.data, sigs.len);
	{
		struct buf note;

		buf_init(&note, 0);
		(void)buf_printf(&note, "d=%s s=", domain);
		for (size_t i = 0; i < n; i++)
			(void)buf_printf(&note, "%s%s", i ? "," : "",
			    sels.v[i]);
		(void)buf_printf(&note, " (%s sender)",
		    dkim_signer_origin_name(origin));
		*note_r = err_fmt("%s", note.data);
		buf_release(&note);
	}
	rc = 1;
out:
	if (signers != NULL)
		for (size_t i = 0; i < n; i++)
			dkim_sign_free(signers[i]);
	free(signers);
	free(keys);
	free(chunk);
	free(from_domain);
	free(domain);
	strlist_release(&froms);
	strlist_release(&sels);
	strlist_release(&paths);
	buf_release(&hdr);
	buf_release(&sigs);
	return rc;
}

static int
signer_qf_read(void *ctx, uint64_t offset, void *data, size_t len,
    size_t *got_r, const char **error_r)
{
	return queue_file_read_content(ctx, offset, data, len, got_r,
	    error_r);
}

int
dkim_signer_sign_queue_file(struct dkim_signer *s, struct queue_file *qf,
    struct buf *out, const char **note_r, const char **error_r)
{
	struct dkim_signer_envelope env = {
		.protocol = queue_file_get(qf, QUEUE_PROTOCOL),
		.sasl_username = queue_file_get(qf, QUEUE_SASL_USERNAME),
		.client_address = queue_file_get(qf, QUEUE_CLIENT_ADDRESS),
	};

	return dkim_signer_sign(s, &env, signer_qf_read, qf, out, note_r,
	    error_r);
}
