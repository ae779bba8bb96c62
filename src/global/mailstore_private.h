/*
 * mailstore_private - what the files of the mailstore module share
 * (mailstore.c: the tree and folder management; mailstore_index.c: the
 * per-folder UID list, keyword table and locks; mailstore_folder.c: open
 * folders, sync and message access; mailstore_pool.c: what the views of
 * one folder in one process share).  Not for use outside them.
 *
 * Memory of an open folder (a "view", one per IMAP session): per message
 * only its struct mailstore_msg (16 bytes: uid, keywords, flags, bits, and
 * the 32-bit number of a pool record).  What belongs to the message FILE
 * (base name, sizes, time, unknown flag letters) is in a struct ms_rec of
 * the folder's pool, shared by every view of that folder in the process
 * and reference-counted; the folder's UID list (struct ms_idx) is in the
 * pool too.  A file name is not stored: ms_msg_name builds it from the
 * base, the in-new bit, the flags, keywords and unknown letters.
 */
#ifndef ULAK_MAILSTORE_PRIVATE_H
#define ULAK_MAILSTORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mailstore.h"

struct buf;

#define MS_UIDLIST "ulak-uidlist"
#define MS_KEYWORDS "ulak-keywords"
#define MS_LOCK "ulak-lock"
#define MS_SUBSCRIPTIONS "ulak-subscriptions"
#define MS_UIDLIST_MAX (256u * 1024 * 1024)
#define MS_UIDVALIDITY "ulak-uidvalidity"	/* in ROOT: the last one given */

/* struct mailstore_msg.ms_bits */
#define MS_MSG_NEW 0x1u		/* the file is in new/ */
#define MS_MSG_ODD 0x2u		/* its name is the pool record's odd name */

struct mailstore {
	char *root;
	unsigned long counter;	/* unique names of this process */
	char host[256];
};

/* A hash from strings (kept by the caller) to positions. */
struct ms_htab {
	size_t *slot;		/* position + 1; 0 = empty */
	size_t cap;		/* power of two */
	size_t n;
};

struct ms_idx_ent {
	uint32_t uid;
	uint32_t off;		/* of the base in the idx's strs */
	uint64_t vsize;		/* 0 = unknown */
};

/* One folder's ulak-uidlist in memory. */
struct ms_idx {
	uint32_t uidvalidity;
	uint32_t nextuid;
	struct ms_idx_ent *e;	/* sorted by uid */
	size_t n, cap;
	char *strs;		/* the bases, each NUL-terminated */
	size_t strs_len, strs_cap;
	struct ms_htab h;	/* base -> position in e */
	bool loaded;
	/* Of the file as last read, to skip re-reading it. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/*
 * What is known of one message file, shared by every view of its folder
 * in this process.  BASE is NULL in a free slot.
 */
struct ms_rec {
	char *base;		/* file name up to ":2," */
	char *extra;		/* unknown flag letters (sorted), or NULL */
	char *odd;		/* "new/..." or "cur/..." when the name on disk
				 * is not the one ms_msg_name builds, or NULL */
	uint64_t size;		/* file size, 0 = not known yet */
	uint64_t vsize;		/* CRLF size, 0 = not known yet */
	int64_t mtime;		/* 0 = not known yet */
	uint32_t refs;		/* view messages that point here */
	uint32_t next_free;	/* in a free slot: the next one + 1, or 0 */
};

/* The pool of one folder (by path) in this process: see mailstore_pool.c. */
struct ms_pool {
	char *path;
	unsigned views;		/* open views of the folder */
	struct ms_idx idx;	/* its ulak-uidlist as last read or written */
	struct ms_rec *rec;	/* records; may move when one is added */
	uint32_t n_rec, cap_rec;
	uint32_t live;		/* records in use */
	uint32_t free_head;	/* first free slot + 1, or 0 */
	uint32_t *slot;		/* hash of bases: record + 1, 0 = empty */
	uint32_t cap_slot;	/* power of two */
	struct ms_pool *next;
};

struct mailstore_folder {
	struct mailstore *s;
	char *name;
	char *path;
	unsigned open_flags;
	struct mailstore_msg *msgs;
	size_t n, cap;
	struct ms_pool *pool;	/* shared with the folder's other views */
	/* The UID list as this view last synced with it. */
	uint32_t uidvalidity, nextuid;
	bool idx_seen;
	dev_t idx_dev;
	ino_t idx_ino;
	off_t idx_size;
	struct timespec idx_mtime;
	char *keywords[MAILSTORE_KEYWORDS_MAX];
	int session_lock_fd;
	bool have_times;
	struct timespec new_mtime, cur_mtime;
	bool vsize_dirty;	/* vsizes to write into the index */
};

/*
 * Pools (mailstore_pool.c).  Single-threaded: one per folder path per
 * process, used only from the thread that runs the store.
 *
 * ms_pool_get: the pool of folder PATH, created on first use; one more
 * view holds it.  ms_pool_put: one view less; the pool, its records and
 * its UID list are freed with the last one (every record must have been
 * released by then).  Never fail (but exit when memory runs out).
 */
struct ms_pool *ms_pool_get(const char *path);
void ms_pool_put(struct ms_pool *p);
/*
 * The record of BASE[0..LEN) in P, created (all fields 0) when missing,
 * with one more reference; returns its number.  Record pointers from
 * ms_pool_rec are void after this call (the array may move).
 */
uint32_t ms_pool_intern(struct ms_pool *p, const char *base, size_t len);
/* Room for MORE records without moving the array again. */
void ms_pool_reserve(struct ms_pool *p, size_t more);
/* The record of BASE, or -1 (takes no reference). */
long ms_pool_find(const struct ms_pool *p, const char *base, size_t len);
void ms_pool_ref(struct ms_pool *p, uint32_t r);
/* One reference less; the record is freed with its last. */
void ms_pool_unref(struct ms_pool *p, uint32_t r);
struct ms_rec *ms_pool_rec(const struct ms_pool *p, uint32_t r);
/* Set REC's extra letters (or odd name) to S[0..LEN) (LEN 0: none). */
void ms_rec_set(char **field, const char *s, size_t len);
/* How many pools are alive (for tests). */
size_t ms_pool_count(void);

/* The pool record of view message M. */
#define MS_REC(f, m) ms_pool_rec((f)->pool, (m)->ms_rec)
/*
 * Append the name of message M of F relative to the folder ("new/BASE"
 * or "cur/BASE:2,LETTERS", letters sorted, or the record's odd name).
 */
void ms_msg_name(const struct mailstore_folder *f,
    const struct mailstore_msg *m, struct buf *out);
/*
 * The letters after ":2," for FLAGS, KEYWORDS and the unknown letters
 * EXTRA (may be NULL), sorted, appended to OUT.
 */
void ms_letters(unsigned flags, uint32_t keywords, const char *extra,
    struct buf *out);

/* Hash table (mailstore_index.c). */
uint64_t ms_hash(const char *s, size_t len);
void ms_htab_init(struct ms_htab *h, size_t expect);
void ms_htab_release(struct ms_htab *h);
/* KEY(ctx, pos) gives the string stored at a position. */
long ms_htab_find(const struct ms_htab *h, const char *s, size_t len,
    const char *(*key)(const void *ctx, size_t pos), const void *ctx);
void ms_htab_add(struct ms_htab *h, const char *s, size_t len, size_t pos,
    const char *(*key)(const void *ctx, size_t pos), const void *ctx);

/* Locks: an flock on DIR/ulak-lock; returns the fd or -1. */
int ms_lock(const char *dir, const char **error_r);
void ms_unlock(int fd);

/* UID list (mailstore_index.c). */
void ms_idx_init(struct ms_idx *x);
void ms_idx_release(struct ms_idx *x);
/*
 * (Re)read DIR/ulak-uidlist into X unless the file is unchanged.
 * Returns 1 when read (or unchanged), 0 when missing, -1 with *error_r
 * when damaged or unreadable (X is then empty; *damaged_r true for a
 * syntax problem).
 */
int ms_idx_load(struct ms_idx *x, const char *dir, bool *damaged_r,
    const char **error_r);
long ms_idx_find(const struct ms_idx *x, const char *base, size_t len);
/* The base of entry I. */
const char *ms_idx_base(const struct ms_idx *x, size_t i);
/* Append an entry with the next UID; returns the UID. */
uint32_t ms_idx_append(struct ms_idx *x, const char *base, size_t len);
/* Remove entries whose KEEP[i] is false. */
void ms_idx_filter(struct ms_idx *x, const bool *keep);
int ms_idx_write(struct ms_idx *x, const char *dir, const char **error_r);
/*
 * A new UIDVALIDITY for a folder of the tree at ROOT, above OLD: the
 * current time, or one more than the last one given under ROOT when that
 * is not less (kept in ROOT/ulak-uidvalidity, updated under an flock on
 * it), so that a folder deleted and created again within one second gets
 * a new value (RFC 3501 2.3.1.1).  Never fails: when the file cannot be
 * used, the time (above OLD) is taken and a warning logged.
 */
uint32_t ms_new_uidvalidity(const char *root, uint32_t old);

/*
 * Give UIDs to the N bases BASES[] (in that order) in folder DIR of the
 * tree at ROOT: under
 * the lock, read the list (rebuilding a damaged one), append the missing
 * ones, write it.  UIDS_R[i] (may be NULL) gets each UID (0 when not
 * listed and not ADD).  VSIZES (may be NULL) are stored for those bases
 * too.  Without ADD only listed bases are updated and a missing or
 * damaged list is left alone.
 */
int ms_idx_assign(const char *root, const char *dir, char *const *bases,
    const uint64_t *vsizes, size_t n, bool add, uint32_t *uids_r, uint32_t *uidvalidity_r,
    const char **error_r);

/* Keyword tables: DIR/ulak-keywords into NAMES[26] (malloc'ed or NULL). */
int ms_kw_load(const char *dir, char **names, const char **error_r);
void ms_kw_release(char **names);
/* Find or add NAME (under the lock); returns its index or -1. */
int ms_kw_add(const char *dir, char **names, const char *name,
    const char **error_r);
bool ms_kw_name_ok(const char *name);

/* Names (mailstore.c). */
/* The unique base name of a new message of SIZE bytes into OUT. */
void ms_unique_base(struct mailstore *s, uint64_t size, struct buf *out);
/* Parse the flag letters after ":2," (unknown ones into EXTRA, may be NULL). */
void ms_parse_info(const char *info, unsigned *flags_r, uint32_t *kw_r,
    struct buf *extra);
/* ",S=<size>" in BASE[0..LEN), or 0. */
uint64_t ms_base_size(const char *base, size_t len);
/* Error text helper: sets errno back after formatting. */
int ms_fail(const char **error_r, int err, const char *what, const char *path);

#endif
