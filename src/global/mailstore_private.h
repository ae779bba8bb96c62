/*
 * mailstore_private - what the files of the mailstore module share
 * (mailstore.c: the tree and folder management; mailstore_index.c: the
 * per-folder UID list, keyword table and locks; mailstore_folder.c: open
 * folders, sync and message access).  Not for use outside them.
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
	uint64_t vsize;		/* 0 = unknown */
	char *base;
};

/* One folder's ulak-uidlist in memory. */
struct ms_idx {
	uint32_t uidvalidity;
	uint32_t nextuid;
	struct ms_idx_ent *e;	/* sorted by uid */
	size_t n, cap;
	struct ms_htab h;	/* base -> position in e */
	bool loaded;
	/* Of the file as last read, to skip re-reading it. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct mailstore_folder {
	struct mailstore *s;
	char *name;
	char *path;
	unsigned open_flags;
	struct mailstore_msg *msgs;
	size_t n, cap;
	struct ms_idx idx;
	char *keywords[MAILSTORE_KEYWORDS_MAX];
	int session_lock_fd;
	bool have_times;
	struct timespec new_mtime, cur_mtime;
	bool vsize_dirty;	/* vsizes to write into the index */
};

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
/* Append an entry with the next UID; returns the UID. */
uint32_t ms_idx_append(struct ms_idx *x, const char *base, size_t len);
/* Remove entries whose KEEP[i] is false. */
void ms_idx_filter(struct ms_idx *x, const bool *keep);
int ms_idx_write(struct ms_idx *x, const char *dir, const char **error_r);
/* A new UIDVALIDITY that differs from OLD. */
uint32_t ms_new_uidvalidity(uint32_t old);

/*
 * Give UIDs to the N bases BASES[] (in that order) in folder DIR: under
 * the lock, read the list (rebuilding a damaged one), append the missing
 * ones, write it.  UIDS_R[i] (may be NULL) gets each UID (0 when not
 * listed and not ADD).  VSIZES (may be NULL) are stored for those bases
 * too.  Without ADD only listed bases are updated and a missing or
 * damaged list is left alone.
 */
int ms_idx_assign(const char *dir, char *const *bases, const uint64_t *vsizes,
    size_t n, bool add, uint32_t *uids_r, uint32_t *uidvalidity_r,
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
