/*
 * mailstore_index - the per-folder files of the mail store: the UID list
 * (ulak-uidlist), the keyword table (ulak-keywords) and the lock that
 * guards both (an flock on ulak-lock: flock, not fcntl, because one
 * pop3d/imapd process serves many sessions and fcntl locks are per
 * process).
 *
 * Distrusts the files it reads: they sit in the user's Maildir, which
 * the user (or another program) may change.  A list that does not parse
 * is reported as damaged and rebuilt by the caller with a new
 * UIDVALIDITY; it never leads to a crash or an over-read.
 *
 * ulak-uidlist format (docs/mailstore.md):
 *   "ulak-uidlist 1 V<uidvalidity> N<nextuid>\n"
 *   then per message "<uid>[ W<vsize>] :<base>\n", UIDs ascending.
 */
#include "mailstore_private.h"

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
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

int
ms_fail(const char **error_r, int err, const char *what, const char *path)
{
	*error_r = err_fmt("%s %s: %s", what, path, strerror(err));
	errno = err;
	return -1;
}

/* Hash table. */

uint64_t
ms_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

void
ms_htab_init(struct ms_htab *h, size_t expect)
{
	size_t cap = 16;

	while (cap < expect * 2 + 1)
		cap *= 2;
	h->slot = xcalloc(cap, sizeof(h->slot[0]));
	h->cap = cap;
	h->n = 0;
}

void
ms_htab_release(struct ms_htab *h)
{
	free(h->slot);
	h->slot = NULL;
	h->cap = h->n = 0;
}

long
ms_htab_find(const struct ms_htab *h, const char *s, size_t len,
    const char *(*key)(const void *ctx, size_t pos), const void *ctx)
{
	size_t i;

	if (h->cap == 0)
		return -1;
	i = (size_t)ms_hash(s, len) & (h->cap - 1);
	for (; h->slot[i] != 0; i = (i + 1) & (h->cap - 1)) {
		const char *k = key(ctx, h->slot[i] - 1);

		if (strncmp(k, s, len) == 0 && k[len] == '\0')
			return (long)(h->slot[i] - 1);
	}
	return -1;
}

static void
htab_grow(struct ms_htab *h, const char *(*key)(const void *ctx, size_t pos),
    const void *ctx)
{
	size_t *old = h->slot, oldcap = h->cap;

	h->cap = oldcap ? oldcap * 2 : 16;
	h->slot = xcalloc(h->cap, sizeof(h->slot[0]));
	for (size_t j = 0; j < oldcap; j++) {
		const char *k;
		size_t i;

		if (old[j] == 0)
			continue;
		k = key(ctx, old[j] - 1);
		i = (size_t)ms_hash(k, strlen(k)) & (h->cap - 1);
		while (h->slot[i] != 0)
			i = (i + 1) & (h->cap - 1);
		h->slot[i] = old[j];
	}
	free(old);
}

void
ms_htab_add(struct ms_htab *h, const char *s, size_t len, size_t pos,
    const char *(*key)(const void *ctx, size_t pos), const void *ctx)
{
	size_t i;

	if ((h->n + 1) * 2 > h->cap)
		htab_grow(h, key, ctx);
	i = (size_t)ms_hash(s, len) & (h->cap - 1);
	while (h->slot[i] != 0)
		i = (i + 1) & (h->cap - 1);
	h->slot[i] = pos + 1;
	h->n++;
}

/* Locks. */

int
ms_lock(const char *dir, const char **error_r)
{
	struct buf p;
	int fd;

	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", dir, MS_LOCK);
	fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ms_fail(error_r, errno, "open lock file", p.data);
		buf_release(&p);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		ms_fail(error_r, errno, "lock", p.data);
		close(fd);
		buf_release(&p);
		return -1;
	}
	buf_release(&p);
	return fd;
}

void
ms_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* releases the flock */
}

/* UID list. */

static const char *
idx_key(const void *ctx, size_t pos)
{
	const struct ms_idx *x = ctx;

	return x->strs + x->e[pos].off;
}

const char *
ms_idx_base(const struct ms_idx *x, size_t i)
{
	return x->strs + x->e[i].off;
}

void
ms_idx_init(struct ms_idx *x)
{
	memset(x, 0, sizeof(*x));
}

static void
idx_clear(struct ms_idx *x)
{
	x->n = 0;
	x->strs_len = 0;
	ms_htab_release(&x->h);
	x->loaded = false;
	/* uidvalidity stays: a rebuilt list must get a different one. */
	x->nextuid = 1;
}

void
ms_idx_release(struct ms_idx *x)
{
	idx_clear(x);
	free(x->e);
	x->e = NULL;
	x->cap = 0;
	free(x->strs);
	x->strs = NULL;
	x->strs_cap = 0;
}

static void
idx_push(struct ms_idx *x, uint32_t uid, uint64_t vsize, const char *base,
    size_t len)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->e = xreallocarray(x->e, x->cap, sizeof(x->e[0]));
	}
	/* Offsets are 32-bit: the list is at most MS_UIDLIST_MAX bytes. */
	if (len + 1 > UINT32_MAX - x->strs_len)
		log_panic("ms_idx: too many names");
	if (x->strs_len + len + 1 > x->strs_cap) {
		size_t cap = x->strs_cap ? x->strs_cap : 4096;

		while (cap < x->strs_len + len + 1)
			cap *= 2;
		x->strs = xrealloc(x->strs, cap);
		x->strs_cap = cap;
	}
	memcpy(x->strs + x->strs_len, base, len);
	x->strs[x->strs_len + len] = '\0';
	x->e[x->n].uid = uid;
	x->e[x->n].off = (uint32_t)x->strs_len;
	x->e[x->n].vsize = vsize;
	x->strs_len += len + 1;
	ms_htab_add(&x->h, x->strs + x->e[x->n].off, len, x->n, idx_key, x);
	x->n++;
}

long
ms_idx_find(const struct ms_idx *x, const char *base, size_t len)
{
	return ms_htab_find(&x->h, base, len, idx_key, x);
}

uint32_t
ms_idx_append(struct ms_idx *x, const char *base, size_t len)
{
	uint32_t uid = x->nextuid++;

	idx_push(x, uid, 0, base, len);
	return uid;
}

void
ms_idx_filter(struct ms_idx *x, const bool *keep)
{
	size_t j = 0, len = 0;

	/* Entries are in string order too: move the kept names down. */
	for (size_t i = 0; i < x->n; i++) {
		size_t blen;

		if (!keep[i])
			continue;
		blen = strlen(x->strs + x->e[i].off) + 1;
		memmove(x->strs + len, x->strs + x->e[i].off, blen);
		x->e[j] = x->e[i];
		x->e[j++].off = (uint32_t)len;
		len += blen;
	}
	x->n = j;
	x->strs_len = len;
	ms_htab_release(&x->h);
	ms_htab_init(&x->h, x->n);
	for (size_t i = 0; i < x->n; i++)
		ms_htab_add(&x->h, x->strs + x->e[i].off,
		    strlen(x->strs + x->e[i].off), i, idx_key, x);
}

static int field_u64(const char *p, size_t len, uint64_t max, uint64_t *out);

uint32_t
ms_new_uidvalidity(const char *root, uint32_t old)
{
	uint32_t v = (uint32_t)time(NULL);
	struct buf p;
	char text[32];
	uint64_t last = 0;
	ssize_t r;
	int fd, len;

	if (v <= old)
		v = old + 1;
	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", root, MS_UIDVALIDITY);
	/*
	 * Its own flock, not ROOT/ulak-lock: that is INBOX's, which the
	 * caller may hold.  Rewritten in place: a damaged file only loses
	 * the "last + 1" (the time still counts).
	 */
	fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_warning("open %s: %s", p.data, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			log_warning("lock %s: %s", p.data, strerror(errno));
			goto out;
		}
	do
		r = pread(fd, text, sizeof(text) - 1, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		char *nl = memchr(text, '\n', (size_t)r);

		if (nl == NULL || field_u64(text, (size_t)(nl - text),
		    UINT32_MAX, &last) < 0) {
			log_warning("%s: damaged; rewriting it", p.data);
			last = 0;
		}
	}
	if (last >= v)
		v = last + 1 > UINT32_MAX ? 1 : (uint32_t)(last + 1);
	len = snprintf(text, sizeof(text), "%lu\n", (unsigned long)v);
	if (pwrite(fd, text, (size_t)len, 0) != len ||
	    ftruncate(fd, len) < 0)
		log_warning("write %s: %s", p.data, strerror(errno));
out:
	if (fd >= 0)
		close(fd);	/* releases the flock */
	buf_release(&p);
	if (v == 0)
		v = 1;
	return v;
}

/* A base name as the list may hold it: non-empty, no '/', no ':', no NL. */
static bool
base_ok(const char *p, size_t len)
{
	if (len == 0 || len > 1024 || p[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] == '/' || p[i] == ':' || p[i] == '\0' ||
		    (unsigned char)p[i] < 0x20)
			return false;
	return true;
}

static int
field_u64(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	char tmp[24];
	const char *error;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	return parse_uint(tmp, 0, max, out, &error);
}

/* Parse TEXT[0..LEN) into X; -1 when it is damaged. */
static int
idx_parse(struct ms_idx *x, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl, *sp;
	uint64_t v, n;
	uint32_t last = 0;

	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return -1;
	/* Header: "ulak-uidlist 1 V<uidvalidity> N<nextuid>". */
	{
		static const char magic[] = "ulak-uidlist 1 V";
		const char *q;

		if ((size_t)(nl - p) < sizeof(magic) - 1 ||
		    memcmp(p, magic, sizeof(magic) - 1) != 0)
			return -1;
		q = p + sizeof(magic) - 1;
		sp = memchr(q, ' ', (size_t)(nl - q));
		if (sp == NULL || field_u64(q, (size_t)(sp - q), UINT32_MAX,
		    &v) < 0 || v == 0 || sp[1] != 'N' ||
		    field_u64(sp + 2, (size_t)(nl - sp - 2), UINT32_MAX,
		    &n) < 0 || n == 0)
			return -1;
		x->uidvalidity = (uint32_t)v;
		x->nextuid = (uint32_t)n;
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		uint64_t uid, vsize = 0;
		const char *colon;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return -1;	/* a cut-off last line */
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || field_u64(p, (size_t)(sp - p), UINT32_MAX,
		    &uid) < 0 || uid <= last || uid >= x->nextuid)
			return -1;
		colon = sp + 1;
		if (colon < nl && *colon == 'W') {
			const char *sp2 = memchr(colon, ' ',
			    (size_t)(nl - colon));

			if (sp2 == NULL || field_u64(colon + 1,
			    (size_t)(sp2 - colon - 1), UINT64_MAX / 2,
			    &vsize) < 0)
				return -1;
			colon = sp2 + 1;
		}
		if (colon >= nl || *colon != ':' ||
		    !base_ok(colon + 1, (size_t)(nl - colon - 1)))
			return -1;
		if (ms_idx_find(x, colon + 1, (size_t)(nl - colon - 1)) >= 0)
			return -1;	/* one base twice */
		idx_push(x, (uint32_t)uid, vsize, colon + 1,
		    (size_t)(nl - colon - 1));
		last = (uint32_t)uid;
	}
	return 0;
}

int
ms_idx_load(struct ms_idx *x, const char *dir, bool *damaged_r,
    const char **error_r)
{
	struct buf p, text;
	struct stat st;
	int fd, rc = -1;

	*damaged_r = false;
	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", dir, MS_UIDLIST);
	fd = open(p.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT) {
			idx_clear(x);
			buf_release(&p);
			return 0;
		}
		ms_fail(error_r, errno, "open", p.data);
		buf_release(&p);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		ms_fail(error_r, errno, "stat", p.data);
		goto out;
	}
	/*
	 * Unchanged file: keep what we have.  A file written within the last
	 * two seconds is read again anyway: a rewrite in the same clock tick
	 * may reuse the inode number and keep size and time.
	 */
	if (x->loaded && st.st_mtim.tv_sec + 2 < time(NULL) &&
	    st.st_dev == x->dev && st.st_ino == x->ino &&
	    st.st_size == x->size && st.st_mtim.tv_sec == x->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == x->mtime.tv_nsec) {
		rc = 1;
		goto out;
	}
	idx_clear(x);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MS_UIDLIST_MAX) {
		*damaged_r = true;
		*error_r = err_fmt("%s: not a regular file of a sane size",
		    p.data);
		goto out;
	}
	buf_init(&text, 0);
	if (buf_reserve(&text, (size_t)st.st_size + 1) == 0) {
		for (;;) {
			ssize_t r;

			if (buf_reserve(&text, 65536) < 0)
				break;
			r = read(fd, text.data + text.len, 65536);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ms_fail(error_r, errno, "read", p.data);
				break;
			}
			if (r == 0) {
				rc = 0;
				break;
			}
			text.len += (size_t)r;
			text.data[text.len] = '\0';
			if (text.len > MS_UIDLIST_MAX)
				break;
		}
	}
	if (rc == 0) {
		size_t lines = 0;

		/* Arrays of the right size: the list may be shared by many
		 * views for a long time (mailstore_pool.c). */
		for (const char *q = text.data; (q = memchr(q, '\n',
		    text.len - (size_t)(q - text.data))) != NULL; q++)
			lines++;
		if (lines > x->cap) {
			x->cap = lines;
			x->e = xreallocarray(x->e, x->cap, sizeof(x->e[0]));
		}
		if (text.len + 1 > x->strs_cap) {
			x->strs_cap = text.len + 1;
			x->strs = xrealloc(x->strs, x->strs_cap);
		}
		ms_htab_init(&x->h, lines + 16);
		if (idx_parse(x, text.data, text.len) < 0) {
			idx_clear(x);
			*damaged_r = true;
			*error_r = err_fmt("%s: damaged", p.data);
			rc = -1;
		} else {
			x->loaded = true;
			x->dev = st.st_dev;
			x->ino = st.st_ino;
			x->size = st.st_size;
			x->mtime = st.st_mtim;
			rc = 1;
		}
	} else if (rc < 0 && text.len > MS_UIDLIST_MAX) {
		*damaged_r = true;
		*error_r = err_fmt("%s: too large", p.data);
	}
	buf_release(&text);
out:
	close(fd);
	buf_release(&p);
	return rc;
}

int
ms_idx_write(struct ms_idx *x, const char *dir, const char **error_r)
{
	struct buf p, text;
	struct stat st;
	int rc;

	buf_init(&p, 0);
	buf_init(&text, 0);
	(void)buf_reserve(&text, 40 + x->n * 48);
	(void)buf_printf(&text, "ulak-uidlist 1 V%lu N%lu\n",
	    (unsigned long)x->uidvalidity, (unsigned long)x->nextuid);
	for (size_t i = 0; i < x->n; i++) {
		if (x->e[i].vsize > 0)
			(void)buf_printf(&text, "%lu W%llu :%s\n",
			    (unsigned long)x->e[i].uid,
			    (unsigned long long)x->e[i].vsize,
			    ms_idx_base(x, i));
		else
			(void)buf_printf(&text, "%lu :%s\n",
			    (unsigned long)x->e[i].uid, ms_idx_base(x, i));
	}
	(void)buf_printf(&p, "%s/%s", dir, MS_UIDLIST);
	rc = file_write_atomic(p.data, text.data, text.len, 0600, error_r);
	if (rc == 0 && stat(p.data, &st) == 0) {
		x->loaded = true;
		x->dev = st.st_dev;
		x->ino = st.st_ino;
		x->size = st.st_size;
		x->mtime = st.st_mtim;
	} else {
		x->loaded = false;
	}
	buf_release(&p);
	buf_release(&text);
	return rc;
}

int
ms_idx_assign(const char *root, const char *dir, char *const *bases,
    const uint64_t *vsizes, size_t n, bool add, uint32_t *uids_r,
    uint32_t *uidvalidity_r, const char **error_r)
{
	struct ms_idx x;
	bool damaged, changed = false;
	int lock, rc;

	lock = ms_lock(dir, error_r);
	if (lock < 0)
		return -1;
	ms_idx_init(&x);
	rc = ms_idx_load(&x, dir, &damaged, error_r);
	if (rc < 0 && !damaged)
		goto out;
	if (rc <= 0 && !add) {
		rc = 0;
		goto out;
	}
	if (rc <= 0) {
		/* Missing or damaged: a new list.  Old UIDs are void. */
		x.uidvalidity = ms_new_uidvalidity(root, x.uidvalidity);
		x.nextuid = 1;
		ms_htab_init(&x.h, n);
		changed = true;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(bases[i]);
		long pos = ms_idx_find(&x, bases[i], len);

		if (pos < 0 && !add) {
			if (uids_r != NULL)
				uids_r[i] = 0;
			continue;
		}
		if (pos < 0) {
			(void)ms_idx_append(&x, bases[i], len);
			pos = (long)x.n - 1;
			changed = true;
		}
		if (vsizes != NULL && vsizes[i] > 0 &&
		    x.e[pos].vsize != vsizes[i]) {
			x.e[pos].vsize = vsizes[i];
			changed = true;
		}
		if (uids_r != NULL)
			uids_r[i] = x.e[pos].uid;
	}
	if (uidvalidity_r != NULL)
		*uidvalidity_r = x.uidvalidity;
	rc = changed ? ms_idx_write(&x, dir, error_r) : 0;
out:
	ms_idx_release(&x);
	ms_unlock(lock);
	return rc < 0 ? -1 : 0;
}

/* Keywords: "K NAME" lines, K in 0..25. */

bool
ms_kw_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 100 || name[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* IMAP atom: no specials, no controls, no 8-bit. */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

void
ms_kw_release(char **names)
{
	for (int i = 0; i < MAILSTORE_KEYWORDS_MAX; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

int
ms_kw_load(const char *dir, char **names, const char **error_r)
{
	struct buf p, text;
	const char *error, *q, *nl;
	int rc = 0;

	ms_kw_release(names);
	buf_init(&p, 0);
	buf_init(&text, 64 * 1024);
	(void)buf_printf(&p, "%s/%s", dir, MS_KEYWORDS);
	if (file_read_all(p.data, &text, 64 * 1024, &error) < 0) {
		if (errno != ENOENT) {
			*error_r = error;
			rc = -1;
		}
		goto out;
	}
	/* A bad line is skipped: keywords are not worth failing for. */
	for (q = text.data; *q; q = nl + 1) {
		uint64_t k;
		char *line;
		const char *sp;

		nl = strchr(q, '\n');
		if (nl == NULL)
			break;
		line = xstrndup(q, (size_t)(nl - q));
		sp = strchr(line, ' ');
		if (sp != NULL && field_u64(line, (size_t)(sp - line),
		    MAILSTORE_KEYWORDS_MAX - 1, &k) == 0 &&
		    names[k] == NULL && ms_kw_name_ok(sp + 1))
			names[k] = xstrdup(sp + 1);
		free(line);
	}
out:
	buf_release(&p);
	buf_release(&text);
	return rc;
}

int
ms_kw_add(const char *dir, char **names, const char *name,
    const char **error_r)
{
	struct buf p, text;
	int lock, k = -1, i;

	if (!ms_kw_name_ok(name)) {
		*error_r = err_fmt("invalid keyword");
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL && str_casecmp(names[i], name) == 0)
			return i;
	lock = ms_lock(dir, error_r);
	if (lock < 0)
		return -1;
	/* Another session may have added it meanwhile. */
	if (ms_kw_load(dir, names, error_r) < 0)
		goto out;
	for (i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (names[i] != NULL && str_casecmp(names[i], name) == 0) {
			k = i;
			goto out;
		}
	for (i = 0; i < MAILSTORE_KEYWORDS_MAX && names[i] != NULL; i++)
		;
	if (i == MAILSTORE_KEYWORDS_MAX) {
		*error_r = err_fmt("too many keywords in this folder");
		errno = ENOSPC;
		goto out;
	}
	names[i] = xstrdup(name);
	buf_init(&p, 0);
	buf_init(&text, 0);
	for (int j = 0; j < MAILSTORE_KEYWORDS_MAX; j++)
		if (names[j] != NULL)
			(void)buf_printf(&text, "%d %s\n", j, names[j]);
	(void)buf_printf(&p, "%s/%s", dir, MS_KEYWORDS);
	if (file_write_atomic(p.data, text.data, text.len, 0600, error_r) ==
	    0)
		k = i;
	else {
		free(names[i]);
		names[i] = NULL;
	}
	buf_release(&p);
	buf_release(&text);
out:
	ms_unlock(lock);
	return k;
}
