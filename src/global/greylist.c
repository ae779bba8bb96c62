/*
 * greylist - the greylisting store (LMDB); see greylist.h.
 *
 * Records (keys start with a type byte and a NUL):
 *   "t\0" NET "\0" SENDER "\0" RCPT  ->  first(8) last(8) passed(1)
 *   "c\0" NET                        ->  passes(8) last(8)
 * Numbers are host-order uint64_t (the file never leaves the host).  A
 * key that would exceed LMDB's key limit keeps NET and replaces sender
 * and recipient by a 64-bit FNV-1a hash of both (a collision only lets
 * one message skip a delay).
 *
 * Distrusts: key text from SMTP clients, value sizes read from the file.
 */
#include "greylist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

#define MAP_SIZE ((size_t)128 * 1024 * 1024)
#define KEY_MAX 400		/* below LMDB's default 511 */
#define TRIPLET_LEN 17
#define CLIENT_LEN 16

struct greylist {
	MDB_env *env;
	MDB_dbi dbi;
	struct greylist_params p;
	struct buf key;
};

const char *
greylist_verdict_name(enum greylist_verdict v)
{
	switch (v) {
	case GREYLIST_NEW: return "new";
	case GREYLIST_EARLY: return "early";
	case GREYLIST_PASS: return "pass";
	case GREYLIST_WHITELISTED: return "whitelisted";
	}
	return "?";
}

int
greylist_client_net(int family, const unsigned char addr[16], char *out,
    size_t size)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int n;

	memset(a, 0, sizeof(a));
	if (family == AF_INET) {
		memcpy(a, addr, 3);
		if (inet_ntop(AF_INET, a, text, sizeof(text)) == NULL)
			return -1;
		n = snprintf(out, size, "%s/24", text);
	} else if (family == AF_INET6) {
		memcpy(a, addr, 8);
		if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
			return -1;
		n = snprintf(out, size, "%s/64", text);
	} else {
		return -1;
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static const char *
lmdb_error(const char *what, int rc)
{
	return err_fmt("greylist: %s: %s", what, mdb_strerror(rc));
}

struct greylist *
greylist_open(const char *path, const struct greylist_params *params,
    const char **error_r)
{
	struct greylist *g = xcalloc(1, sizeof(*g));
	MDB_txn *txn;
	int rc;

	g->p = *params;
	if (g->p.max_age == 0)
		g->p.max_age = GREYLIST_MAX_AGE;
	buf_init(&g->key, 0);
	if ((rc = mdb_env_create(&g->env)) != 0) {
		*error_r = lmdb_error("mdb_env_create", rc);
		goto fail;
	}
	mdb_env_set_mapsize(g->env, MAP_SIZE);
	rc = mdb_env_open(g->env, path, MDB_NOSUBDIR | MDB_NOTLS |
	    MDB_NOMETASYNC, 0600);
	if (rc != 0) {
		*error_r = err_fmt("greylist_database %s: %s", path,
		    mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_txn_begin(g->env, NULL, 0, &txn)) != 0) {
		*error_r = lmdb_error("mdb_txn_begin", rc);
		goto fail;
	}
	if ((rc = mdb_dbi_open(txn, NULL, 0, &g->dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		if (rc != 0)
			mdb_txn_abort(txn);
		*error_r = lmdb_error("mdb_dbi_open", rc);
		goto fail;
	}
	return g;
fail:
	greylist_close(g);
	return NULL;
}

void
greylist_close(struct greylist *g)
{
	if (g == NULL)
		return;
	if (g->env != NULL)
		mdb_env_close(g->env);
	buf_release(&g->key);
	free(g);
}

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
append_lower(struct buf *b, const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf_append_char(b, c);
	}
}

static void
make_triplet_key(struct greylist *g, const char *net, const char *sender,
    const char *rcpt)
{
	struct buf *k = &g->key;

	buf_reset(k);
	buf_append(k, "t", 2);
	buf_append(k, net, strlen(net) + 1);
	append_lower(k, sender);
	buf_append_char(k, '\0');
	append_lower(k, rcpt);
	if (k->len > KEY_MAX) {
		size_t head = 2 + strlen(net) + 1;
		uint64_t h = fnv(14695981039346656037ULL, k->data + head,
		    k->len - head);

		buf_truncate(k, head);
		buf_printf(k, "#%016llx", (unsigned long long)h);
	}
}

static void
make_client_key(struct greylist *g, const char *net)
{
	buf_reset(&g->key);
	buf_append(&g->key, "c", 2);
	buf_append_str(&g->key, net);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void
put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Read KEY in TXN: 1 found (with the value), 0 absent, -1 error. */
static int
get(struct greylist *g, MDB_txn *txn, MDB_val *val, const char **error_r)
{
	MDB_val key = { g->key.len, g->key.data };
	int rc = mdb_get(txn, g->dbi, &key, val);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0) {
		*error_r = lmdb_error("mdb_get", rc);
		return -1;
	}
	return 1;
}

static int
put(struct greylist *g, MDB_txn *txn, const void *data, size_t len,
    const char **error_r)
{
	MDB_val key = { g->key.len, g->key.data };
	MDB_val val = { len, (void *)data };
	int rc = mdb_put(txn, g->dbi, &key, &val, 0);

	if (rc != 0) {
		*error_r = lmdb_error("mdb_put", rc);
		return -1;
	}
	return 0;
}

/* The network's passes so far (0 when unknown). */
static int
client_passes(struct greylist *g, MDB_txn *txn, const char *net,
    uint64_t *passes_r, uint64_t *last_r, const char **error_r)
{
	MDB_val v;
	int r;

	make_client_key(g, net);
	r = get(g, txn, &v, error_r);
	if (r < 0)
		return -1;
	*passes_r = *last_r = 0;
	if (r > 0 && v.mv_size == CLIENT_LEN) {
		*passes_r = get64(v.mv_data);
		*last_r = get64((unsigned char *)v.mv_data + 8);
	}
	return 0;
}

int
greylist_check(struct greylist *g, const char *net, const char *sender,
    const char *rcpt, time_t now, enum greylist_verdict *verdict_r,
    uint64_t *wait_r, const char **error_r)
{
	MDB_txn *txn;
	MDB_val v;
	uint64_t t = (uint64_t)now, first = 0, last = 0, passes = 0, clast = 0;
	unsigned char rec[TRIPLET_LEN], crec[CLIENT_LEN];
	bool passed = false, found, write = false, count = false;
	int rc, r;

	if (wait_r != NULL)
		*wait_r = 0;
	/* A read transaction first: the common case writes nothing. */
	if ((rc = mdb_txn_begin(g->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*error_r = lmdb_error("mdb_txn_begin", rc);
		return -1;
	}
	if (g->p.auto_whitelist > 0) {
		if (client_passes(g, txn, net, &passes, &clast,
		    error_r) < 0) {
			mdb_txn_abort(txn);
			return -1;
		}
	}
	make_triplet_key(g, net, sender, rcpt);
	r = get(g, txn, &v, error_r);
	if (r < 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	found = r > 0 && v.mv_size == TRIPLET_LEN;
	if (found) {
		first = get64(v.mv_data);
		last = get64((unsigned char *)v.mv_data + 8);
		passed = ((unsigned char *)v.mv_data)[16] != 0;
	}
	mdb_txn_abort(txn);

	if (g->p.auto_whitelist > 0 && passes >= g->p.auto_whitelist) {
		*verdict_r = GREYLIST_WHITELISTED;
		/* Keep the network's entry from expiring (rarely). */
		if (t < clast + GREYLIST_TOUCH_INTERVAL)
			return 0;
		if ((rc = mdb_txn_begin(g->env, NULL, 0, &txn)) != 0) {
			*error_r = lmdb_error("mdb_txn_begin", rc);
			return -1;
		}
		put64(crec, passes);
		put64(crec + 8, t);
		make_client_key(g, net);
		if (put(g, txn, crec, sizeof(crec), error_r) < 0)
			goto fail;
		goto commit;
	}
	if (!found || (!passed && t > first + g->p.retry_window) ||
	    (passed && t > last + g->p.max_age)) {
		/* New, or too late a retry: start over. */
		first = last = t;
		passed = false;
		write = true;
		*verdict_r = GREYLIST_NEW;
		if (wait_r != NULL)
			*wait_r = g->p.delay;
	} else if (!passed && t < first + g->p.delay) {
		*verdict_r = GREYLIST_EARLY;
		if (wait_r != NULL)
			*wait_r = first + g->p.delay - t;
	} else {
		if (!passed) {
			passed = true;
			count = true;
			write = true;
		}
		if (t >= last + GREYLIST_TOUCH_INTERVAL)
			write = true;
		last = t;
		*verdict_r = GREYLIST_PASS;
	}
	if (!write)
		return 0;

	if ((rc = mdb_txn_begin(g->env, NULL, 0, &txn)) != 0) {
		*error_r = lmdb_error("mdb_txn_begin", rc);
		return -1;
	}
	put64(rec, first);
	put64(rec + 8, last);
	rec[16] = passed ? 1 : 0;
	make_triplet_key(g, net, sender, rcpt);
	if (put(g, txn, rec, sizeof(rec), error_r) < 0)
		goto fail;
	if (count && g->p.auto_whitelist > 0) {
		/* Read again inside the write transaction: other writers. */
		if (client_passes(g, txn, net, &passes, &clast,
		    error_r) < 0)
			goto fail;
		put64(crec, passes + 1);
		put64(crec + 8, t);
		make_client_key(g, net);
		if (put(g, txn, crec, sizeof(crec), error_r) < 0)
			goto fail;
	}
commit:
	if ((rc = mdb_txn_commit(txn)) != 0) {
		*error_r = lmdb_error("mdb_txn_commit", rc);
		return -1;
	}
	return 0;
fail:
	mdb_txn_abort(txn);
	return -1;
}

int
greylist_expire(struct greylist *g, time_t now, size_t *removed_r,
    const char **error_r)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t t = (uint64_t)now;
	size_t removed = 0;
	int rc;

	if ((rc = mdb_txn_begin(g->env, NULL, 0, &txn)) != 0) {
		*error_r = lmdb_error("mdb_txn_begin", rc);
		return -1;
	}
	if ((rc = mdb_cursor_open(txn, g->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		*error_r = lmdb_error("mdb_cursor_open", rc);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *d = v.mv_data;
		const char *key = k.mv_data;
		bool drop;

		if (k.mv_size >= 2 && key[0] == 't' && v.mv_size ==
		    TRIPLET_LEN) {
			uint64_t first = get64(d), last = get64(d + 8);

			drop = d[16] ? t > last + g->p.max_age :
			    t > first + g->p.retry_window;
		} else if (k.mv_size >= 2 && key[0] == 'c' && v.mv_size ==
		    CLIENT_LEN) {
			drop = t > get64(d + 8) + g->p.max_age;
		} else {
			drop = true;	/* not ours: junk */
		}
		if (!drop)
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		removed++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		*error_r = lmdb_error("expire", rc);
		return -1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		*error_r = lmdb_error("mdb_txn_commit", rc);
		return -1;
	}
	if (removed_r != NULL)
		*removed_r = removed;
	return 0;
}
