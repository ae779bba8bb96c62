/*
 * dict_lmdb - LMDB files of hash:/lmdb: tables and aliases; see
 * dict_lmdb.h for the layout and the concurrency rule (never modify a
 * published file; readers use MDB_RDONLY | MDB_NOLOCK).
 *
 * The files are trusted to be LMDB files written by ulak, but LMDB reports
 * corruption it notices, and that becomes a lookup error (mail defers).
 */
#include "dict_lmdb.h"

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "mem.h"

/* Entries written between two commits while building. */
#define WRITER_BATCH_ENTRIES 20000
#define WRITER_BATCH_BYTES (16U * 1024 * 1024)
#define WRITER_MAPSIZE_START (1U * 1024 * 1024)

struct dict_lmdb {
	char *path;
	MDB_env *env;
	MDB_dbi dbi;
	dev_t dev;
	ino_t ino;
};

struct dict_lmdb *
dict_lmdb_open(const char *path, const char **error_r)
{
	struct dict_lmdb *db;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	struct stat st;
	int fd, r;

	/* LMDB would report a missing file as a bare ENOENT: check first. */
	if (stat(path, &st) < 0) {
		*error_r = err_fmt("open %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((r = mdb_env_create(&env)) != 0) {
		*error_r = err_fmt("open %s: %s", path, mdb_strerror(r));
		return NULL;
	}
	r = mdb_env_open(env, path, MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR |
	    MDB_NORDAHEAD, 0);
	if (r == 0)
		r = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (r == 0) {
		r = mdb_dbi_open(txn, NULL, 0, &dbi);
		mdb_txn_abort(txn);
	}
	if (r != 0) {
		*error_r = err_fmt("open %s: %s", path, mdb_strerror(r));
		mdb_env_close(env);
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	db->env = env;
	db->dbi = dbi;
	if (mdb_env_get_fd(env, &fd) == 0 && fstat(fd, &st) == 0) {
		db->dev = st.st_dev;
		db->ino = st.st_ino;
	} else {
		db->dev = st.st_dev;
		db->ino = st.st_ino;
	}
	return db;
}

int
dict_lmdb_get(struct dict_lmdb *db, const char *key, size_t klen,
    struct buf *value, const char **error_r)
{
	MDB_txn *txn;
	MDB_val k, v;
	int r;

	if (klen == 0 || klen > DICT_LMDB_KEY_MAX)
		return 0;
	if ((r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*error_r = err_fmt("%s: %s", db->path, mdb_strerror(r));
		return -1;
	}
	k.mv_data = (void *)(uintptr_t)key;
	k.mv_size = klen;
	r = mdb_get(txn, db->dbi, &k, &v);
	if (r == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (r != 0) {
		mdb_txn_abort(txn);
		*error_r = err_fmt("%s: lookup: %s", db->path, mdb_strerror(r));
		return -1;
	}
	buf_reset(value);
	if (buf_append(value, v.mv_data, v.mv_size) < 0) {
		mdb_txn_abort(txn);
		*error_r = err_fmt("%s: value too large", db->path);
		return -1;
	}
	mdb_txn_abort(txn);
	return 1;
}

int
dict_lmdb_iterate(struct dict_lmdb *db,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx,
    const char **error_r)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	struct buf kb, vb;
	int r, ret = 0;

	if ((r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*error_r = err_fmt("%s: %s", db->path, mdb_strerror(r));
		return -1;
	}
	if ((r = mdb_cursor_open(txn, db->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		*error_r = err_fmt("%s: %s", db->path, mdb_strerror(r));
		return -1;
	}
	buf_init(&kb, 0);
	buf_init(&vb, 0);
	for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
	    r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		buf_reset(&kb);
		buf_reset(&vb);
		(void)buf_append(&kb, k.mv_data, k.mv_size);
		(void)buf_append(&vb, v.mv_data, v.mv_size);
		if ((ret = fn(ctx, kb.data, vb.data)) != 0)
			break;
	}
	if (ret == 0 && r != MDB_NOTFOUND) {
		*error_r = err_fmt("%s: %s", db->path, mdb_strerror(r));
		ret = -1;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	buf_release(&kb);
	buf_release(&vb);
	return ret;
}

bool
dict_lmdb_replaced(const struct dict_lmdb *db)
{
	struct stat st;

	if (stat(db->path, &st) < 0)
		return true;
	return st.st_dev != db->dev || st.st_ino != db->ino;
}

void
dict_lmdb_close(struct dict_lmdb *db)
{
	if (db == NULL)
		return;
	mdb_env_close(db->env);
	free(db->path);
	free(db);
}

struct dict_lmdb_writer {
	char *path;
	char *tmp;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t mapsize;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	/* Entries of the open transaction, to replay after growing the map:
	 * size_t klen, size_t vlen, key bytes, value bytes. */
	struct buf batch;
	size_t batch_n;
};

struct dict_lmdb_writer *
dict_lmdb_writer_create(const char *path, mode_t mode, uid_t uid, gid_t gid,
    const char **error_r)
{
	struct dict_lmdb_writer *w = xcalloc(1, sizeof(*w));
	struct buf tmp;
	int r;

	buf_init(&tmp, 0);
	(void)buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	w->tmp = buf_detach(&tmp, NULL);
	buf_release(&tmp);
	w->path = xstrdup(path);
	w->mode = mode;
	w->uid = uid;
	w->gid = gid;
	w->mapsize = WRITER_MAPSIZE_START;
	buf_init(&w->batch, 0);
	/* A left-over from a crashed build with our pid would be reused. */
	if (unlink(w->tmp) < 0 && errno != ENOENT) {
		*error_r = err_fmt("remove %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	if ((r = mdb_env_create(&w->env)) != 0 ||
	    (r = mdb_env_set_mapsize(w->env, w->mapsize)) != 0 ||
	    (r = mdb_env_open(w->env, w->tmp, MDB_NOSUBDIR | MDB_NOLOCK |
	    MDB_NOSYNC, 0600)) != 0) {
		*error_r = err_fmt("create %s: %s", w->tmp, mdb_strerror(r));
		goto fail;
	}
	return w;
fail:
	dict_lmdb_writer_abort(w);
	return NULL;
}

static int
writer_begin(struct dict_lmdb_writer *w)
{
	int r = mdb_txn_begin(w->env, NULL, 0, &w->txn);

	if (r != 0) {
		w->txn = NULL;
		return r;
	}
	if ((r = mdb_dbi_open(w->txn, NULL, 0, &w->dbi)) != 0) {
		mdb_txn_abort(w->txn);
		w->txn = NULL;
	}
	return r;
}

static int
writer_put_raw(struct dict_lmdb_writer *w, const char *key, size_t klen,
    const char *value, size_t vlen)
{
	MDB_val k, v;

	k.mv_data = (void *)(uintptr_t)key;
	k.mv_size = klen;
	v.mv_data = (void *)(uintptr_t)value;
	v.mv_size = vlen;
	return mdb_put(w->txn, w->dbi, &k, &v, MDB_NOOVERWRITE);
}

/*
 * The map is full: drop the open transaction, double the map size and
 * write the batch of that transaction again.  Returns 0 or an LMDB error.
 */
static int
writer_grow(struct dict_lmdb_writer *w)
{
	for (;;) {
		const char *p = w->batch.data, *end = p + w->batch.len;
		int r = 0;

		if (w->txn != NULL) {
			mdb_txn_abort(w->txn);
			w->txn = NULL;
		}
		if (w->mapsize > SIZE_MAX / 2)
			return MDB_MAP_FULL;
		w->mapsize *= 2;
		if ((r = mdb_env_set_mapsize(w->env, w->mapsize)) != 0 ||
		    (r = writer_begin(w)) != 0)
			return r;
		while (p < end) {
			size_t klen, vlen;

			memcpy(&klen, p, sizeof(klen));
			memcpy(&vlen, p + sizeof(klen), sizeof(vlen));
			p += 2 * sizeof(size_t);
			r = writer_put_raw(w, p, klen, p + klen, vlen);
			if (r != 0)
				break;
			p += klen + vlen;
		}
		if (r == MDB_MAP_FULL)
			continue;
		return r;
	}
}

/* Commit the open transaction (growing the map if need be). */
static int
writer_flush(struct dict_lmdb_writer *w)
{
	int r;

	while (w->txn != NULL) {
		r = mdb_txn_commit(w->txn);
		w->txn = NULL;
		if (r == MDB_MAP_FULL) {
			if ((r = writer_grow(w)) != 0)
				return r;
			continue;
		}
		if (r != 0)
			return r;
	}
	buf_reset(&w->batch);
	w->batch_n = 0;
	return 0;
}

int
dict_lmdb_writer_put(struct dict_lmdb_writer *w, const char *key,
    size_t klen, const char *value, size_t vlen, const char **error_r)
{
	int r;

	if (klen == 0) {
		*error_r = "empty key";
		return -1;
	}
	if (klen > DICT_LMDB_KEY_MAX) {
		*error_r = err_fmt("key too long (over %d bytes)",
		    DICT_LMDB_KEY_MAX);
		return -1;
	}
	if (w->txn == NULL && (r = writer_begin(w)) != 0)
		goto fail;
	while ((r = writer_put_raw(w, key, klen, value, vlen)) == MDB_MAP_FULL) {
		if ((r = writer_grow(w)) != 0)
			goto fail;
	}
	if (r == MDB_KEYEXIST)
		return 0;
	if (r != 0)
		goto fail;
	(void)buf_append(&w->batch, &klen, sizeof(klen));
	(void)buf_append(&w->batch, &vlen, sizeof(vlen));
	(void)buf_append(&w->batch, key, klen);
	(void)buf_append(&w->batch, value, vlen);
	w->batch_n++;
	if ((w->batch_n >= WRITER_BATCH_ENTRIES ||
	    w->batch.len >= WRITER_BATCH_BYTES) && (r = writer_flush(w)) != 0)
		goto fail;
	return 1;
fail:
	*error_r = err_fmt("write %s: %s", w->tmp, mdb_strerror(r));
	return -1;
}

int
dict_lmdb_writer_commit(struct dict_lmdb_writer *w, const char **error_r)
{
	int r;

	if (w->txn == NULL && (r = writer_begin(w)) != 0)
		goto lmdb_fail;	/* an empty table still gets its file */
	if ((r = writer_flush(w)) != 0 || (r = mdb_env_sync(w->env, 1)) != 0)
		goto lmdb_fail;
	mdb_env_close(w->env);
	w->env = NULL;
	if (chmod(w->tmp, w->mode) < 0) {
		*error_r = err_fmt("chmod %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	if (geteuid() == 0 && w->uid != (uid_t)-1 &&
	    chown(w->tmp, w->uid, w->gid) < 0) {
		*error_r = err_fmt("chown %s: %s", w->tmp, strerror(errno));
		goto fail;
	}
	if (rename(w->tmp, w->path) < 0) {
		*error_r = err_fmt("rename %s to %s: %s", w->tmp, w->path,
		    strerror(errno));
		goto fail;
	}
	r = file_fsync_parent(w->path, error_r);
	free(w->tmp);
	w->tmp = NULL;
	dict_lmdb_writer_abort(w);
	return r;
lmdb_fail:
	*error_r = err_fmt("write %s: %s", w->tmp, mdb_strerror(r));
fail:
	dict_lmdb_writer_abort(w);
	return -1;
}

void
dict_lmdb_writer_abort(struct dict_lmdb_writer *w)
{
	if (w == NULL)
		return;
	if (w->txn != NULL)
		mdb_txn_abort(w->txn);
	if (w->env != NULL)
		mdb_env_close(w->env);
	if (w->tmp != NULL)
		(void)unlink(w->tmp);
	buf_release(&w->batch);
	free(w->tmp);
	free(w->path);
	free(w);
}
