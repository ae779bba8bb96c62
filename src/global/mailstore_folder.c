/*
 * mailstore_folder - open folders of the mail store: the view of a
 * folder's messages (sorted by UID), its sync with the disk, and access
 * to single messages (read, sizes, flags by rename, expunge).  A view
 * keeps 16 bytes per message; the rest is in the folder's pool
 * (mailstore_pool.c), shared with the folder's other views.
 *
 * Distrusts the folder's contents: file names in new/ and cur/ may be
 * anything another program wrote; names that do not look like Maildir
 * messages (dot files) are skipped, and no name from a directory is ever
 * used to build a path outside the folder.  Runs with the caller's
 * privileges.
 */
#include "mailstore_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* One file found by a scan. */
struct scan_ent {
	char *name;		/* "new/X" or "cur/X:2,FL" */
	size_t baselen;		/* base = name + 4 */
	bool in_new;
	bool odd;		/* not the name ms_msg_name would build */
	unsigned flags;
	uint32_t kw;
	char *extra;		/* sorted */
	long view;		/* position in the old view, or -1 */
	uint32_t uid;
	uint64_t vsize;
};

struct scan {
	struct scan_ent *e;
	size_t n, cap;
	struct ms_htab h;	/* base -> position */
};

/* The scan's hash compares only the base part of each name. */
static long
scan_find(const struct scan *sc, const char *base, size_t len)
{
	size_t i;

	if (sc->h.cap == 0)
		return -1;
	i = (size_t)ms_hash(base, len) & (sc->h.cap - 1);
	for (; sc->h.slot[i] != 0; i = (i + 1) & (sc->h.cap - 1)) {
		const struct scan_ent *e = &sc->e[sc->h.slot[i] - 1];

		if (e->baselen == len && memcmp(e->name + 4, base, len) == 0)
			return (long)(sc->h.slot[i] - 1);
	}
	return -1;
}

static void
scan_grow_hash(struct scan *sc)
{
	size_t *old = sc->h.slot, oldcap = sc->h.cap;

	sc->h.cap = oldcap ? oldcap * 2 : 1024;
	sc->h.slot = xcalloc(sc->h.cap, sizeof(size_t));
	for (size_t j = 0; j < oldcap; j++) {
		const struct scan_ent *e;
		size_t i;

		if (old[j] == 0)
			continue;
		e = &sc->e[old[j] - 1];
		i = (size_t)ms_hash(e->name + 4, e->baselen) &
		    (sc->h.cap - 1);
		while (sc->h.slot[i] != 0)
			i = (i + 1) & (sc->h.cap - 1);
		sc->h.slot[i] = old[j];
	}
	free(old);
}

static void
scan_release(struct scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		free(sc->e[i].name);
		free(sc->e[i].extra);
	}
	free(sc->e);
	ms_htab_release(&sc->h);
	memset(sc, 0, sizeof(*sc));
}

/*
 * True when LETTERS (after ":2,") are what ms_letters writes: strictly
 * ascending, each one ms_parse_info keeps.
 */
static bool
letters_canonical(const char *letters)
{
	unsigned char prev = 0;

	for (const unsigned char *q = (const unsigned char *)letters; *q;
	    q++) {
		if (*q <= 0x20 || *q >= 0x7f || *q == ',' || *q <= prev)
			return false;
		prev = *q;
	}
	return true;
}

static void
sort_letters(char *s, size_t len)
{
	for (size_t i = 1; i < len; i++)
		for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
			char t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
}

/* Add file FNAME of new/ or cur/ unless its base is already there. */
static void
scan_add(struct scan *sc, const char *fname, bool in_new)
{
	const char *colon = strchr(fname, ':');
	size_t baselen = colon ? (size_t)(colon - fname) : strlen(fname);
	size_t flen = strlen(fname);
	struct scan_ent *e;
	struct buf extra;
	size_t i;

	if (baselen == 0 || fname[0] == '.' || baselen > 1024)
		return;
	if (scan_find(sc, fname, baselen) >= 0)
		return;		/* seen in new/ and again in cur/: moved */
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 256;
		sc->e = xreallocarray(sc->e, sc->cap, sizeof(sc->e[0]));
	}
	e = &sc->e[sc->n];
	memset(e, 0, sizeof(*e));
	e->name = xmalloc(flen + 5);
	memcpy(e->name, in_new ? "new/" : "cur/", 4);
	memcpy(e->name + 4, fname, flen + 1);
	e->baselen = baselen;
	e->in_new = in_new;
	e->view = -1;
	buf_init(&extra, 0);
	if (colon != NULL && strncmp(colon, ":2,", 3) == 0)
		ms_parse_info(colon + 3, &e->flags, &e->kw, &extra);
	if (extra.len > 0) {
		sort_letters(extra.data, extra.len);
		e->extra = buf_detach(&extra, NULL);
	}
	buf_release(&extra);
	if (in_new)
		e->odd = colon != NULL;
	else
		e->odd = colon == NULL || strncmp(colon, ":2,", 3) != 0 ||
		    !letters_canonical(colon + 3);
	sc->n++;
	if (sc->n * 2 > sc->h.cap)
		scan_grow_hash(sc);
	i = (size_t)ms_hash(fname, baselen) & (sc->h.cap - 1);
	while (sc->h.slot[i] != 0)
		i = (i + 1) & (sc->h.cap - 1);
	sc->h.slot[i] = sc->n;
}

static int
scan_dir(struct scan *sc, const char *folder, bool in_new,
    const char **error_r)
{
	struct buf p;
	DIR *d;
	struct dirent *de;

	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", folder, in_new ? "new" : "cur");
	d = opendir(p.data);
	if (d == NULL) {
		ms_fail(error_r, errno, "open folder", p.data);
		buf_release(&p);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN &&
		    de->d_type != DT_LNK)
			continue;
		scan_add(sc, de->d_name, in_new);
	}
	closedir(d);
	buf_release(&p);
	return 0;
}

/* new/ first: a message moving to cur/ meanwhile is then seen anyway. */
static int
scan_folder(struct scan *sc, const char *folder, const char **error_r)
{
	if (scan_dir(sc, folder, true, error_r) < 0 ||
	    scan_dir(sc, folder, false, error_r) < 0)
		return -1;
	return 0;
}

/* Messages of the view. */

static void
msg_free(struct mailstore_folder *f, struct mailstore_msg *m)
{
	ms_pool_unref(f->pool, m->ms_rec);
}

static const char *
view_key(const void *ctx, size_t pos)
{
	const struct mailstore_folder *f = ctx;

	return MS_REC(f, &f->msgs[pos])->base;
}

void
ms_msg_name(const struct mailstore_folder *f, const struct mailstore_msg *m,
    struct buf *out)
{
	const struct ms_rec *r = MS_REC(f, m);

	/* Built for every open of a message: no printf. */
	if ((m->ms_bits & MS_MSG_ODD) && r->odd != NULL)
		(void)buf_append_str(out, r->odd);
	else if (m->ms_bits & MS_MSG_NEW) {
		(void)buf_append_str(out, "new/");
		(void)buf_append_str(out, r->base);
	} else {
		(void)buf_append_str(out, "cur/");
		(void)buf_append_str(out, r->base);
		(void)buf_append_str(out, ":2,");
		ms_letters(m->flags & MAILSTORE_FLAGS_STORED, m->keywords,
		    r->extra, out);
	}
}

/*
 * Make view message M what scan entry E says of its file: flags,
 * keywords, where it is, and (in the shared record) its unknown letters
 * and odd name.  True when the flags or keywords changed.
 */
static bool
msg_update(struct mailstore_folder *f, struct mailstore_msg *m,
    const struct scan_ent *e)
{
	struct ms_rec *r = MS_REC(f, m);
	bool changed = (m->flags & MAILSTORE_FLAGS_STORED) != e->flags ||
	    m->keywords != e->kw;

	m->flags = (uint8_t)(e->flags | (m->flags & MAILSTORE_RECENT));
	m->keywords = e->kw;
	m->ms_bits &= (uint8_t)~(MS_MSG_NEW | MS_MSG_ODD);
	if (e->in_new)
		m->ms_bits |= MS_MSG_NEW;
	ms_rec_set(&r->extra, e->extra, e->extra ? strlen(e->extra) : 0);
	if (e->odd) {
		m->ms_bits |= MS_MSG_ODD;
		ms_rec_set(&r->odd, e->name, strlen(e->name));
	} else {
		ms_rec_set(&r->odd, NULL, 0);
	}
	return changed;
}

/* True when view message M is what scan entry E says of its file. */
static bool
msg_same(const struct mailstore_folder *f, const struct mailstore_msg *m,
    const struct scan_ent *e)
{
	const struct ms_rec *r = MS_REC(f, m);

	if ((m->flags & MAILSTORE_FLAGS_STORED) != e->flags ||
	    m->keywords != e->kw ||
	    !(m->ms_bits & MS_MSG_NEW) != !e->in_new ||
	    !(m->ms_bits & MS_MSG_ODD) != !e->odd)
		return false;
	if ((r->extra == NULL) != (e->extra == NULL) ||
	    (r->extra != NULL && strcmp(r->extra, e->extra) != 0))
		return false;
	return !e->odd || (r->odd != NULL && strcmp(r->odd, e->name) == 0);
}

const char *
mailstore_folder_name(const struct mailstore_folder *f)
{
	return f->name;
}

uint32_t
mailstore_folder_uidvalidity(const struct mailstore_folder *f)
{
	return f->uidvalidity;
}

uint32_t
mailstore_folder_uidnext(const struct mailstore_folder *f)
{
	uint32_t next = f->nextuid;

	if (f->n > 0 && f->msgs[f->n - 1].uid >= next)
		next = f->msgs[f->n - 1].uid + 1;
	return next;
}

size_t
mailstore_folder_count(const struct mailstore_folder *f)
{
	return f->n;
}

const struct mailstore_msg *
mailstore_folder_msg(const struct mailstore_folder *f, size_t i)
{
	if (i >= f->n)
		log_panic("mailstore_folder_msg: index %zu of %zu", i, f->n);
	return &f->msgs[i];
}

long
mailstore_folder_find_uid(const struct mailstore_folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->msgs[mid].uid == uid)
			return (long)mid;
		if (f->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
mailstore_sync_release(struct mailstore_sync *sync)
{
	if (sync == NULL)
		return;
	free(sync->expunged);
	free(sync->changed);
	memset(sync, 0, sizeof(*sync));
}

static int
cmp_base_ptr(const void *a, const void *b)
{
	const struct scan_ent *x = *(const struct scan_ent *const *)a;
	const struct scan_ent *y = *(const struct scan_ent *const *)b;

	return strcmp(x->name + 4, y->name + 4);
}

static int
cmp_uid_ptr(const void *a, const void *b)
{
	const struct scan_ent *x = *(const struct scan_ent *const *)a;
	const struct scan_ent *y = *(const struct scan_ent *const *)b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/*
 * Give every scanned entry its UID from the folder's list, assigning the
 * missing ones under the lock (in name order: delivery names start with
 * the time).  A missing or damaged list is rebuilt with a new
 * UIDVALIDITY.
 */
static int
assign_uids(struct mailstore_folder *f, struct scan *sc, const char **error_r)
{
	struct ms_idx *x = &f->pool->idx;
	struct scan_ent **missing = NULL;
	size_t n_missing = 0, matched = 0;
	bool damaged, rebuild;
	uint32_t prev = f->uidvalidity;
	int rc, lock = -1;

	rc = ms_idx_load(x, f->path, &damaged, error_r);
	if (rc < 0 && !damaged)
		return -1;
	if (rc < 0)
		log_warning("%s; rebuilding it with a new UIDVALIDITY",
		    *error_r);
	rebuild = rc <= 0;
	for (int pass = 0; pass < 2; pass++) {
		n_missing = matched = 0;
		free(missing);
		missing = xcalloc(sc->n + 1, sizeof(*missing));
		for (size_t i = 0; i < sc->n; i++) {
			struct scan_ent *e = &sc->e[i];
			long pos = rebuild ? -1 : ms_idx_find(x,
			    e->name + 4, e->baselen);

			if (pos >= 0) {
				e->uid = x->e[pos].uid;
				e->vsize = x->e[pos].vsize;
				matched++;
			} else {
				e->uid = 0;
				missing[n_missing++] = e;
			}
		}
		if ((n_missing == 0 && !rebuild) || pass == 1)
			break;
		/* Take the lock and look again: another session may have
		 * given these UIDs meanwhile. */
		lock = ms_lock(f->path, error_r);
		if (lock < 0) {
			free(missing);
			return -1;
		}
		x->loaded = false;	/* under the lock: read it for sure */
		rc = ms_idx_load(x, f->path, &damaged, error_r);
		if (rc < 0 && !damaged)
			goto fail;
		rebuild = rc <= 0;
	}
	if (lock < 0) {
		free(missing);
		return 0;
	}
	if (rebuild) {
		/* Different from what the list said and from our view's. */
		x->uidvalidity = ms_new_uidvalidity(mailstore_root(f->s),
		    x->uidvalidity > prev ? x->uidvalidity : prev);
		x->nextuid = 1;
		ms_htab_release(&x->h);
		ms_htab_init(&x->h, sc->n);
	} else if (x->n > matched + 64 && x->n - matched >
	    sc->n / 4) {
		/* Many entries of messages long gone: drop them. */
		bool *keep = xcalloc(x->n + 1, sizeof(bool));

		for (size_t i = 0; i < sc->n; i++) {
			long pos = ms_idx_find(x, sc->e[i].name + 4,
			    sc->e[i].baselen);

			if (pos >= 0)
				keep[pos] = true;
		}
		ms_idx_filter(x, keep);
		free(keep);
	}
	qsort(missing, n_missing, sizeof(*missing), cmp_base_ptr);
	for (size_t i = 0; i < n_missing; i++)
		missing[i]->uid = ms_idx_append(x, missing[i]->name + 4,
		    missing[i]->baselen);
	if (f->vsize_dirty) {
		for (size_t i = 0; i < f->n; i++) {
			const struct ms_rec *r = MS_REC(f, &f->msgs[i]);
			long pos;

			if (r->vsize == 0)
				continue;
			pos = ms_idx_find(x, r->base, strlen(r->base));
			if (pos >= 0 && x->e[pos].uid == f->msgs[i].uid)
				x->e[pos].vsize = r->vsize;
		}
		f->vsize_dirty = false;
	}
	if (ms_idx_write(x, f->path, error_r) < 0)
		goto fail;
	ms_unlock(lock);
	free(missing);
	return 0;
fail:
	for (size_t i = 0; i < n_missing; i++)
		missing[i]->uid = 0;
	ms_unlock(lock);
	free(missing);
	return -1;
}

static bool
ts_equal(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Move a message found in new/ to cur/ (it becomes \Recent here). */
static void
move_to_cur(struct mailstore_folder *f, struct mailstore_msg *m)
{
	struct ms_rec *r = MS_REC(f, m);
	struct buf from, to;

	buf_init(&from, 0);
	buf_init(&to, 0);
	(void)buf_printf(&from, "%s/", f->path);
	ms_msg_name(f, m, &from);
	(void)buf_printf(&to, "%s/cur/%s:2,", f->path, r->base);
	ms_letters(m->flags & MAILSTORE_FLAGS_STORED, m->keywords, r->extra,
	    &to);
	/* ENOENT: another session moved it first; it is Recent there. */
	if (rename(from.data, to.data) == 0) {
		m->ms_bits &= (uint8_t)~(MS_MSG_NEW | MS_MSG_ODD);
		ms_rec_set(&r->odd, NULL, 0);
		m->flags |= MAILSTORE_RECENT;
	}
	buf_release(&from);
	buf_release(&to);
}

static void
push_u32(uint32_t **v, size_t *n, uint32_t x)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = x;
}

/*
 * Remove view messages marked expunged, reporting them into OUT (highest
 * first: each number stays valid when reported).  CHANGED (may be NULL)
 * is compacted along.
 */
static void
drop_expunged(struct mailstore_folder *f, struct mailstore_sync *out,
    bool *changed)
{
	size_t j = 0;

	for (size_t i = f->n; i-- > 0;)
		if (f->msgs[i].expunged)
			push_u32(&out->expunged, &out->n_expunged,
			    (uint32_t)(i + 1));
	for (size_t i = 0; i < f->n; i++) {
		if (f->msgs[i].expunged) {
			msg_free(f, &f->msgs[i]);
			continue;
		}
		if (changed != NULL)
			changed[j] = changed[i];
		f->msgs[j++] = f->msgs[i];
	}
	f->n = j;
}

static int
sync_full(struct mailstore_folder *f, unsigned flags,
    struct mailstore_sync *out, const char **error_r)
{
	struct scan sc;
	struct ms_htab vh;
	struct scan_ent **fresh = NULL;
	bool *changed = NULL;
	size_t n_fresh = 0;
	uint32_t old_validity = f->uidvalidity, last_uid;
	int rc = -1;

	memset(&sc, 0, sizeof(sc));
	if (scan_folder(&sc, f->path, error_r) < 0)
		goto out;

	/* Match the scan against the view. */
	ms_htab_init(&vh, f->n);
	for (size_t i = 0; i < f->n; i++) {
		const char *base = view_key(f, i);

		ms_htab_add(&vh, base, strlen(base), i, view_key, f);
	}
	for (int pass = 0; pass < 2; pass++) {
		size_t found = 0, live = 0;

		for (size_t i = 0; i < f->n; i++)
			if (!f->msgs[i].expunged)
				live++;
		for (size_t i = 0; i < sc.n; i++) {
			sc.e[i].view = ms_htab_find(&vh, sc.e[i].name + 4,
			    sc.e[i].baselen, view_key, f);
			if (sc.e[i].view >= 0 && !f->msgs[sc.e[i].view].expunged)
				found++;
		}
		if (found >= live || pass == 1)
			break;
		/*
		 * Something of the view is missing: a rename by another
		 * session during readdir can hide a file, so look once more
		 * (the union of both scans) before calling it expunged.
		 */
		if (scan_folder(&sc, f->path, error_r) < 0) {
			ms_htab_release(&vh);
			goto out;
		}
	}
	ms_htab_release(&vh);

	if (assign_uids(f, &sc, error_r) < 0)
		goto out;
	{
		const char *kw_error;

		if (ms_kw_load(f->path, f->keywords, &kw_error) < 0)
			log_warning("%s", kw_error);
	}

	if (old_validity != 0 && f->pool->idx.uidvalidity != old_validity &&
	    f->n > 0) {
		/* The list was rebuilt: the whole view is void. */
		out->uidvalidity_changed = true;
		for (size_t i = 0; i < f->n; i++)
			f->msgs[i].expunged = true;
		drop_expunged(f, out, NULL);
		for (size_t i = 0; i < sc.n; i++)
			sc.e[i].view = -1;
	}

	changed = xcalloc(f->n + 1, sizeof(bool));
	/* Every message counts as gone until the scan shows it. */
	for (size_t i = 0; i < f->n; i++)
		f->msgs[i].expunged = true;
	last_uid = f->n > 0 ? f->msgs[f->n - 1].uid : 0;
	fresh = xcalloc(sc.n + 1, sizeof(*fresh));
	for (size_t i = 0; i < sc.n; i++) {
		struct scan_ent *e = &sc.e[i];
		struct mailstore_msg *m;

		if (e->view < 0) {
			if (e->uid > last_uid)
				fresh[n_fresh++] = e;
			continue;
		}
		m = &f->msgs[e->view];
		m->expunged = false;
		if (!msg_same(f, m, e) && msg_update(f, m, e))
			changed[e->view] = true;
	}
	if (!(flags & MAILSTORE_SYNC_KEEP_EXPUNGED))
		drop_expunged(f, out, changed);
	for (size_t i = 0; i < f->n; i++)
		if (changed[i] && !f->msgs[i].expunged)
			push_u32(&out->changed, &out->n_changed,
			    (uint32_t)(i + 1));

	/* New messages, by UID. */
	qsort(fresh, n_fresh, sizeof(*fresh), cmp_uid_ptr);
	if (f->n + n_fresh > f->cap) {
		f->cap = f->n + n_fresh + 16;
		f->msgs = xreallocarray(f->msgs, f->cap, sizeof(f->msgs[0]));
	}
	ms_pool_reserve(f->pool, n_fresh);
	for (size_t i = 0; i < n_fresh; i++) {
		struct scan_ent *e = fresh[i];
		struct mailstore_msg *m = &f->msgs[f->n++];
		struct ms_rec *r;

		memset(m, 0, sizeof(*m));
		m->uid = e->uid;
		m->ms_rec = ms_pool_intern(f->pool, e->name + 4, e->baselen);
		(void)msg_update(f, m, e);
		r = MS_REC(f, m);
		if (r->size == 0)
			r->size = ms_base_size(r->base, e->baselen);
		if (r->vsize == 0)
			r->vsize = e->vsize;
		if (e->in_new && !(f->open_flags & MAILSTORE_OPEN_READONLY))
			move_to_cur(f, m);
	}
	out->n_new = n_fresh;
	rc = 0;
out:
	free(fresh);
	free(changed);
	scan_release(&sc);
	return rc;
}

static bool
stat_sub(const char *dir, const char *sub, struct stat *st)
{
	struct buf p;
	bool ok;

	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", dir, sub);
	ok = stat(p.data, st) == 0;
	buf_release(&p);
	return ok;
}

int
mailstore_folder_sync(struct mailstore_folder *f, unsigned flags,
    struct mailstore_sync *out, const char **error_r)
{
	struct mailstore_sync local;
	struct stat st_new, st_cur, st_idx;
	struct timespec now;
	bool quick;
	int rc = 0;

	if (out == NULL)
		out = &local;
	memset(out, 0, sizeof(*out));
	if (!stat_sub(f->path, "new", &st_new) ||
	    !stat_sub(f->path, "cur", &st_cur)) {
		rc = ms_fail(error_r, errno, "open folder", f->path);
		goto done;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	/*
	 * Skip the scan when neither folder nor the list changed since the
	 * last one and the times are old enough that a change within the
	 * same clock tick cannot hide behind them.
	 */
	quick = f->have_times && ts_equal(&st_new.st_mtim, &f->new_mtime) &&
	    ts_equal(&st_cur.st_mtim, &f->cur_mtime) &&
	    st_new.st_mtim.tv_sec + 2 < now.tv_sec &&
	    st_cur.st_mtim.tv_sec + 2 < now.tv_sec && f->idx_seen &&
	    stat_sub(f->path, MS_UIDLIST, &st_idx) &&
	    st_idx.st_ino == f->idx_ino && st_idx.st_size == f->idx_size &&
	    ts_equal(&st_idx.st_mtim, &f->idx_mtime);
	if (quick) {
		if (!(flags & MAILSTORE_SYNC_KEEP_EXPUNGED))
			drop_expunged(f, out, NULL);
	} else {
		rc = sync_full(f, flags, out, error_r);
		if (rc == 0) {
			/* The shared list as this view has seen it. */
			const struct ms_idx *x = &f->pool->idx;

			f->uidvalidity = x->uidvalidity;
			f->nextuid = x->nextuid;
			f->idx_seen = x->loaded;
			f->idx_dev = x->dev;
			f->idx_ino = x->ino;
			f->idx_size = x->size;
			f->idx_mtime = x->mtime;
		}
		/* Our own renames changed the times: read them again. */
		if (rc == 0 && stat_sub(f->path, "new", &st_new) &&
		    stat_sub(f->path, "cur", &st_cur)) {
			f->new_mtime = st_new.st_mtim;
			f->cur_mtime = st_cur.st_mtim;
			f->have_times = true;
		}
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->msgs[i].flags & MAILSTORE_RECENT)
			out->n_recent++;
done:
	if (out == &local)
		mailstore_sync_release(&local);
	return rc;
}

struct mailstore_folder *
mailstore_folder_open(struct mailstore *s, const char *name, unsigned flags,
    const char **error_r)
{
	struct mailstore_folder *f;
	struct buf p;
	struct stat st;

	buf_init(&p, 0);
	if (mailstore_folder_path(s, name, &p, error_r) < 0) {
		buf_release(&p);
		return NULL;
	}
	if (!stat_sub(p.data, "cur", &st) || !S_ISDIR(st.st_mode)) {
		int err = errno;

		if (err == 0 || err == ENOTDIR || err == ENOENT ||
		    S_ISREG(st.st_mode)) {
			err = ENOENT;
			*error_r = err_fmt("no such folder");
		} else {
			*error_r = err_fmt("open folder: %s", strerror(err));
		}
		buf_release(&p);
		errno = err;
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->name = xstrdup(mailstore_name_is_inbox(name) ? "INBOX" : name);
	f->path = buf_detach(&p, NULL);
	buf_release(&p);
	f->open_flags = flags;
	f->session_lock_fd = -1;
	f->pool = ms_pool_get(f->path);
	if (mailstore_folder_sync(f, 0, NULL, error_r) < 0) {
		int err = errno;

		mailstore_folder_close(f);
		errno = err;
		return NULL;
	}
	return f;
}

void
mailstore_folder_close(struct mailstore_folder *f)
{
	const char *error;

	if (f == NULL)
		return;
	if (f->vsize_dirty) {
		/* Keep the sizes we computed for the next session. */
		char **bases = xcalloc(f->n + 1, sizeof(char *));
		uint64_t *vs = xcalloc(f->n + 1, sizeof(uint64_t));
		size_t k = 0;

		for (size_t i = 0; i < f->n; i++) {
			struct ms_rec *r = MS_REC(f, &f->msgs[i]);

			if (r->vsize > 0 && !f->msgs[i].expunged) {
				bases[k] = r->base;
				vs[k++] = r->vsize;
			}
		}
		/* Only entries already listed are updated (same UIDs). */
		if (k > 0 && ms_idx_assign(mailstore_root(f->s), f->path,
		    bases, vs, k, false, NULL, NULL, &error) < 0)
			log_warning("%s", error);
		free(bases);
		free(vs);
	}
	for (size_t i = 0; i < f->n; i++)
		msg_free(f, &f->msgs[i]);
	free(f->msgs);
	ms_pool_put(f->pool);
	ms_kw_release(f->keywords);
	if (f->session_lock_fd >= 0)
		close(f->session_lock_fd);
	free(f->name);
	free(f->path);
	free(f);
}

int
mailstore_folder_trylock(struct mailstore_folder *f, const char *what,
    const char **error_r)
{
	struct buf p;
	int fd;

	for (const char *q = what; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')))
			log_panic("mailstore_folder_trylock: bad name %s",
			    what);
	if (f->session_lock_fd >= 0)
		return 0;
	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/ulak-%s.lock", f->path, what);
	fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ms_fail(error_r, errno, "open lock file", p.data);
		buf_release(&p);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(fd);
		if (err == EWOULDBLOCK) {
			buf_release(&p);
			return 1;
		}
		ms_fail(error_r, err, "lock", p.data);
		buf_release(&p);
		return -1;
	}
	buf_release(&p);
	f->session_lock_fd = fd;
	return 0;
}

/* Keywords. */

const char *
mailstore_folder_keyword_name(const struct mailstore_folder *f, unsigned k)
{
	return k < MAILSTORE_KEYWORDS_MAX ? f->keywords[k] : NULL;
}

int
mailstore_folder_keyword_find(const struct mailstore_folder *f,
    const char *name)
{
	for (int i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (f->keywords[i] != NULL &&
		    str_casecmp(f->keywords[i], name) == 0)
			return i;
	return -1;
}

int
mailstore_folder_keyword_add(struct mailstore_folder *f, const char *name,
    const char **error_r)
{
	return ms_kw_add(f->path, f->keywords, name, error_r);
}

/* Single messages. */

void
mailstore_msg_path(const struct mailstore_folder *f, size_t i,
    struct buf *out)
{
	(void)buf_append_str(out, f->path);
	(void)buf_append_char(out, '/');
	ms_msg_name(f, mailstore_folder_msg(f, i), out);
}

/*
 * Find message I again when its file is not under the name ms_msg_name
 * builds: another session renamed it, or another program wrote a name
 * of its own (letters unsorted or unknown).  Returns 0 when found (the
 * view then builds the name on disk), 1 when it is gone (marked
 * expunged), -1 on error.
 */
static int
relocate(struct mailstore_folder *f, size_t i, const char **error_r)
{
	struct mailstore_msg *m = &f->msgs[i];
	const struct ms_rec *r = MS_REC(f, m);
	struct scan sc;
	long pos;

	memset(&sc, 0, sizeof(sc));
	if (scan_folder(&sc, f->path, error_r) < 0) {
		scan_release(&sc);
		return -1;
	}
	pos = scan_find(&sc, r->base, strlen(r->base));
	if (pos < 0) {
		scan_release(&sc);
		m->expunged = true;
		return 1;
	}
	(void)msg_update(f, m, &sc.e[pos]);
	scan_release(&sc);
	return 0;
}

int
mailstore_msg_open(struct mailstore_folder *f, size_t i, int *fd_r,
    const char **error_r)
{
	struct buf p;
	int rc;

	*fd_r = -1;
	if (mailstore_folder_msg(f, i)->expunged)
		return 1;
	buf_init(&p, 0);
	for (int tries = 0; tries < 3; tries++) {
		buf_reset(&p);
		mailstore_msg_path(f, i, &p);
		*fd_r = open(p.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*fd_r >= 0) {
			buf_release(&p);
			return 0;
		}
		if (errno != ENOENT) {
			rc = ms_fail(error_r, errno, "open", p.data);
			buf_release(&p);
			return rc;
		}
		rc = relocate(f, i, error_r);
		if (rc != 0) {
			buf_release(&p);
			return rc;
		}
	}
	buf_release(&p);
	*error_r = err_fmt("message %lu keeps moving",
	    (unsigned long)f->msgs[i].uid);
	errno = ESTALE;
	return -1;
}

int
mailstore_msg_read(struct mailstore_folder *f, size_t i, struct buf *out,
    const char **error_r)
{
	size_t start = out->len;
	int fd, rc;

	rc = mailstore_msg_open(f, i, &fd, error_r);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r;

		if (buf_reserve(out, 65536) < 0) {
			*error_r = err_fmt("message too large");
			errno = EFBIG;
			rc = -1;
			break;
		}
		r = read(fd, out->data + out->len, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ms_fail(error_r, errno, "read message", f->name);
			break;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		out->data[out->len] = '\0';
	}
	close(fd);
	if (rc != 0)
		buf_truncate(out, start);
	return rc;
}

/* Fill size and mtime of message I from its file. */
static int
msg_stat(struct mailstore_folder *f, size_t i, const char **error_r)
{
	struct mailstore_msg *m = &f->msgs[i];
	struct ms_rec *r;
	struct stat st;
	int fd, rc;

	rc = mailstore_msg_open(f, i, &fd, error_r);
	if (rc != 0)
		return rc;
	rc = fstat(fd, &st);
	close(fd);
	if (rc < 0)
		return ms_fail(error_r, errno, "stat message", f->name);
	r = MS_REC(f, m);
	r->size = (uint64_t)st.st_size;
	r->mtime = st.st_mtim.tv_sec;
	return 0;
}

int
mailstore_msg_size(struct mailstore_folder *f, size_t i, uint64_t *size_r,
    const char **error_r)
{
	int rc;

	if (i >= f->n)
		log_panic("mailstore_msg_size: index %zu of %zu", i, f->n);
	if (MS_REC(f, &f->msgs[i])->size == 0 &&
	    (rc = msg_stat(f, i, error_r)) != 0)
		return rc;
	*size_r = MS_REC(f, &f->msgs[i])->size;
	return 0;
}

int
mailstore_msg_date(struct mailstore_folder *f, size_t i, time_t *date_r,
    const char **error_r)
{
	int rc;

	if (i >= f->n)
		log_panic("mailstore_msg_date: index %zu of %zu", i, f->n);
	if (MS_REC(f, &f->msgs[i])->mtime == 0 &&
	    (rc = msg_stat(f, i, error_r)) != 0)
		return rc;
	*date_r = (time_t)MS_REC(f, &f->msgs[i])->mtime;
	return 0;
}

int
mailstore_msg_vsize(struct mailstore_folder *f, size_t i, uint64_t *vsize_r,
    const char **error_r)
{
	struct mailstore_msg *m;
	char block[65536];
	uint64_t total = 0;
	char prev = '\0';
	int fd, rc;

	if (i >= f->n)
		log_panic("mailstore_msg_vsize: index %zu of %zu", i, f->n);
	m = &f->msgs[i];
	if (MS_REC(f, m)->vsize > 0) {
		*vsize_r = MS_REC(f, m)->vsize;
		return 0;
	}
	rc = mailstore_msg_open(f, i, &fd, error_r);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = read(fd, block, sizeof(block));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ms_fail(error_r, errno, "read message", f->name);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		for (ssize_t k = 0; k < r; k++) {
			if (block[k] == '\n' && prev != '\r')
				total++;
			prev = block[k];
		}
	}
	close(fd);
	*vsize_r = total;
	if (total > 0) {
		MS_REC(f, m)->vsize = total;
		f->vsize_dirty = true;
	}
	return 0;
}

int
mailstore_msg_set_flags(struct mailstore_folder *f, size_t i,
    unsigned flags, uint32_t keywords, const char **error_r)
{
	struct mailstore_msg *m;
	struct buf letters, from, full;
	int rc;

	if (i >= f->n)
		log_panic("mailstore_msg_set_flags: index %zu of %zu", i,
		    f->n);
	m = &f->msgs[i];
	flags &= MAILSTORE_FLAGS_STORED;
	keywords &= (1u << MAILSTORE_KEYWORDS_MAX) - 1;
	if (m->expunged)
		return 1;
	if ((m->flags & MAILSTORE_FLAGS_STORED) == flags &&
	    m->keywords == keywords && !(m->ms_bits & MS_MSG_NEW))
		return 0;
	if (f->open_flags & MAILSTORE_OPEN_READONLY) {
		*error_r = err_fmt("folder is read-only");
		errno = EROFS;
		return -1;
	}
	buf_init(&letters, 0);
	buf_init(&from, 0);
	buf_init(&full, 0);
	for (int tries = 0; tries < 3; tries++) {
		struct ms_rec *r = MS_REC(f, m);

		/* Letters we do not know are kept, in sorted order (and
		 * relocate may have found new ones). */
		buf_reset(&letters);
		ms_letters(flags, keywords, r->extra, &letters);
		buf_reset(&full);
		(void)buf_printf(&full, "%s/cur/%s:2,%s", f->path, r->base,
		    letters.data);
		buf_reset(&from);
		mailstore_msg_path(f, i, &from);
		if (rename(from.data, full.data) == 0) {
			m->flags = (uint8_t)(flags |
			    (m->flags & MAILSTORE_RECENT));
			m->keywords = keywords;
			m->ms_bits &= (uint8_t)~(MS_MSG_NEW | MS_MSG_ODD);
			ms_rec_set(&r->odd, NULL, 0);
			rc = 0;
			goto out;
		}
		if (errno != ENOENT) {
			rc = ms_fail(error_r, errno, "rename", from.data);
			goto out;
		}
		rc = relocate(f, i, error_r);
		if (rc != 0)
			goto out;
	}
	*error_r = err_fmt("message %lu keeps moving", (unsigned long)m->uid);
	errno = ESTALE;
	rc = -1;
out:
	buf_release(&letters);
	buf_release(&from);
	buf_release(&full);
	return rc;
}

int
mailstore_msg_expunge(struct mailstore_folder *f, size_t i,
    const char **error_r)
{
	struct mailstore_msg *m;
	struct buf p;
	int rc;

	if (i >= f->n)
		log_panic("mailstore_msg_expunge: index %zu of %zu", i, f->n);
	m = &f->msgs[i];
	if (m->expunged)
		return 0;
	if (f->open_flags & MAILSTORE_OPEN_READONLY) {
		*error_r = err_fmt("folder is read-only");
		errno = EROFS;
		return -1;
	}
	buf_init(&p, 0);
	for (int tries = 0; tries < 3; tries++) {
		buf_reset(&p);
		mailstore_msg_path(f, i, &p);
		if (unlink(p.data) == 0)
			break;
		if (errno != ENOENT) {
			rc = ms_fail(error_r, errno, "remove", p.data);
			buf_release(&p);
			return rc;
		}
		/* Renamed by another session, or already gone. */
		rc = relocate(f, i, error_r);
		if (rc < 0) {
			buf_release(&p);
			return -1;
		}
		if (rc == 1)
			break;
	}
	m->expunged = true;
	buf_release(&p);
	return 0;
}
