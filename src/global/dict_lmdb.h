/*
 * dict_lmdb - the LMDB files behind hash: and lmdb: tables and built
 * aliases: reading them, and writing a new one atomically.
 *
 * Layout: one unnamed LMDB database in a single file (MDB_NOSUBDIR); keys
 * are the table keys as given by the caller (dict folds them to lower
 * case), without a trailing NUL; values are the value bytes, without NUL.
 *
 * Concurrency: a built file is never modified in place.  A build writes a
 * new file under a temporary name, syncs it and renames it over the old
 * one, so readers open the environment with MDB_RDONLY | MDB_NOLOCK: there
 * is no writer to coordinate with (a reader that opened the old file keeps
 * reading the old inode, intact, until it closes), and readers need no
 * write access to a lock file next to a root-owned table.
 */
#ifndef ULAK_DICT_LMDB_H
#define ULAK_DICT_LMDB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

/* The longest key LMDB stores (its compile-time default). */
#define DICT_LMDB_KEY_MAX 511

struct dict_lmdb;

/* Open the built file PATH read-only.  NULL with *error_r. */
struct dict_lmdb *dict_lmdb_open(const char *path, const char **error_r);
/*
 * Look KEY[0..KLEN) up: 1 with the value copied into VALUE (replacing its
 * contents), 0 when absent (also for keys LMDB cannot hold), -1 with
 * *error_r on an LMDB error (corrupt file).
 */
int dict_lmdb_get(struct dict_lmdb *db, const char *key, size_t klen,
    struct buf *value, const char **error_r);
/*
 * Call FN for every entry in key order (NUL-terminated copies); stops
 * when FN returns non-zero and returns that.  -1 with *error_r on an
 * LMDB error.
 */
int dict_lmdb_iterate(struct dict_lmdb *db,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx,
    const char **error_r);
/* True when PATH no longer names the file DB has open (it was rebuilt). */
bool dict_lmdb_replaced(const struct dict_lmdb *db);
void dict_lmdb_close(struct dict_lmdb *db);

struct dict_lmdb_writer;

/*
 * Start writing a new file that will replace PATH: a temporary file
 * "PATH.tmp.<pid>" in the same folder.  MODE (and, when running as root,
 * UID/GID unless they are -1) are given to the file before it is renamed.
 * NULL with *error_r.
 */
struct dict_lmdb_writer *dict_lmdb_writer_create(const char *path,
    mode_t mode, uid_t uid, gid_t gid, const char **error_r);
/*
 * Store KEY -> VALUE.  Returns 1 when stored, 0 when KEY is already there
 * (the first value is kept), -1 with *error_r (a key that is empty or over
 * DICT_LMDB_KEY_MAX bytes: "key too long ..."; an I/O error).  The file
 * grows as needed: there is no size limit but the disk.
 */
int dict_lmdb_writer_put(struct dict_lmdb_writer *w, const char *key,
    size_t klen, const char *value, size_t vlen, const char **error_r);
/*
 * Sync the new file, rename it over PATH and sync the folder.  Frees W
 * whatever the outcome; on failure the temporary file is removed and PATH
 * is untouched.
 */
int dict_lmdb_writer_commit(struct dict_lmdb_writer *w, const char **error_r);
/* Give up: remove the temporary file and free W.  NULL is allowed. */
void dict_lmdb_writer_abort(struct dict_lmdb_writer *w);

#endif
