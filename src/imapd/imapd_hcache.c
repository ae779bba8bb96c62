/*
 * imapd_hcache - the process-wide cache of ENVELOPE header fields (see
 * imapd_hcache.h).
 *
 * Per folder: a string pool holding one record per message ("dup" bits,
 * then each field as a 32-bit length - UINT32_MAX when absent - and its
 * bytes with a NUL), and an open-addressing table from UID to record.
 * Folders form a list, most recently used first; the few folders a
 * process serves at once make a list walk cheap.  The values come from
 * message headers anyone wrote: they are only stored and given back, with
 * their lengths checked against the pool.  Runs on the event loop's
 * thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

#include "imapd_hcache.h"

#define ABSENT UINT32_MAX

struct hc_folder {
	struct hc_folder *prev, *next;
	char *dir;
	uint32_t uidvalidity;
	uint32_t *slot_uid;
	uint32_t *slot_off;	/* record offset + 1; 0 = empty slot */
	size_t cap, n;		/* cap: a power of two, or 0 */
	struct buf pool;
};

static struct hc_folder *head;
static size_t total;		/* bytes of every folder (folder_bytes) */

static size_t
folder_bytes(const struct hc_folder *f)
{
	return sizeof(*f) + strlen(f->dir) + f->pool.cap +
	    f->cap * 2 * sizeof(uint32_t);
}

static void
folder_reset(struct hc_folder *f)
{
	total -= folder_bytes(f);
	free(f->slot_uid);
	free(f->slot_off);
	f->slot_uid = f->slot_off = NULL;
	f->cap = f->n = 0;
	buf_release(&f->pool);
	buf_init(&f->pool, 0);
	total += folder_bytes(f);
}

static void
folder_free(struct hc_folder *f)
{
	total -= folder_bytes(f);
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		head = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	free(f->slot_uid);
	free(f->slot_off);
	buf_release(&f->pool);
	free(f->dir);
	free(f);
}

/* Folder DIR, moved to the front; created when CREATE. */
static struct hc_folder *
folder_find(const char *dir, bool create)
{
	struct hc_folder *f;

	for (f = head; f != NULL; f = f->next)
		if (strcmp(f->dir, dir) == 0)
			break;
	if (f == NULL) {
		if (!create)
			return NULL;
		f = xcalloc(1, sizeof(*f));
		f->dir = xstrdup(dir);
		buf_init(&f->pool, 0);
		total += folder_bytes(f);
	} else if (f != head) {
		f->prev->next = f->next;
		if (f->next != NULL)
			f->next->prev = f->prev;
	} else
		return f;
	f->prev = NULL;
	f->next = head;
	if (head != NULL)
		head->prev = f;
	head = f;
	return f;
}

static size_t
slot_of(const struct hc_folder *f, uint32_t uid)
{
	return (size_t)(uid * 2654435761u) & (f->cap - 1);
}

static void
table_insert(struct hc_folder *f, uint32_t uid, uint32_t off1)
{
	size_t i = slot_of(f, uid);

	while (f->slot_off[i] != 0)
		i = (i + 1) & (f->cap - 1);
	f->slot_uid[i] = uid;
	f->slot_off[i] = off1;
	f->n++;
}

static void
table_grow(struct hc_folder *f)
{
	uint32_t *ou = f->slot_uid, *oo = f->slot_off;
	size_t ocap = f->cap;

	total -= folder_bytes(f);
	f->cap = ocap == 0 ? 1024 : ocap * 2;
	f->slot_uid = xcalloc(f->cap, sizeof(*f->slot_uid));
	f->slot_off = xcalloc(f->cap, sizeof(*f->slot_off));
	f->n = 0;
	for (size_t i = 0; i < ocap; i++)
		if (oo[i] != 0)
			table_insert(f, ou[i], oo[i]);
	free(ou);
	free(oo);
	total += folder_bytes(f);
}

/* Record offset + 1 of UID, or 0. */
static uint32_t
table_find(const struct hc_folder *f, uint32_t uid)
{
	if (f->cap == 0)
		return 0;
	for (size_t i = slot_of(f, uid); f->slot_off[i] != 0;
	    i = (i + 1) & (f->cap - 1))
		if (f->slot_uid[i] == uid)
			return f->slot_off[i];
	return 0;
}

static uint32_t
get_u32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

bool
imapd_hcache_get(const char *dir, uint32_t uidvalidity, uint32_t uid,
    struct imapd_hcache_env *env_r)
{
	struct hc_folder *f = folder_find(dir, false);
	uint32_t off1;
	size_t pos, end;

	if (f == NULL || f->uidvalidity != uidvalidity ||
	    (off1 = table_find(f, uid)) == 0)
		return false;
	pos = off1 - 1;
	end = f->pool.len;
	if (end - pos < 4)
		return false;
	env_r->dup = get_u32(f->pool.data + pos);
	pos += 4;
	for (int i = 0; i < IMAP_ENV_FIELDS; i++) {
		uint32_t len;

		if (end - pos < 4)
			return false;
		len = get_u32(f->pool.data + pos);
		pos += 4;
		if (len == ABSENT) {
			env_r->v[i] = NULL;
			continue;
		}
		if (end - pos < (size_t)len + 1)
			return false;
		env_r->v[i] = f->pool.data + pos;
		pos += (size_t)len + 1;
	}
	return true;
}

void
imapd_hcache_put(const char *dir, uint32_t uidvalidity, uint32_t uid,
    const struct imap_envelope *env)
{
	struct hc_folder *f = folder_find(dir, true);
	size_t need = 4 + 4 * IMAP_ENV_FIELDS, off;
	uint32_t u;

	if (f->uidvalidity != uidvalidity) {
		folder_reset(f);
		f->uidvalidity = uidvalidity;
	}
	if (table_find(f, uid) != 0)
		return;
	for (int i = 0; i < IMAP_ENV_FIELDS; i++)
		if (env->v[i] != NULL)
			need += strlen(env->v[i]) + 1;
	/* Room: the least recently used folders go first, then (a folder
	 * larger than the whole cache) this one's old entries. */
	while (total + need > IMAPD_HCACHE_MAX && head->next != NULL) {
		struct hc_folder *last = head;

		while (last->next != NULL)
			last = last->next;
		folder_free(last);
	}
	if (total + need > IMAPD_HCACHE_MAX || f->pool.len + need >= ABSENT) {
		folder_reset(f);
		if (need > IMAPD_HCACHE_MAX / 2)
			return;
	}
	if (2 * (f->n + 1) > f->cap)
		table_grow(f);
	total -= folder_bytes(f);
	off = f->pool.len;
	u = (uint32_t)env->dup;
	buf_append(&f->pool, &u, 4);
	for (int i = 0; i < IMAP_ENV_FIELDS; i++) {
		if (env->v[i] == NULL) {
			u = ABSENT;
			buf_append(&f->pool, &u, 4);
			continue;
		}
		u = (uint32_t)strlen(env->v[i]);
		buf_append(&f->pool, &u, 4);
		buf_append(&f->pool, env->v[i], (size_t)u + 1);
	}
	total += folder_bytes(f);
	table_insert(f, uid, (uint32_t)off + 1);
}

void
imapd_hcache_drop_root(const char *root)
{
	size_t n = strlen(root);
	struct hc_folder *f = head, *next;

	for (; f != NULL; f = next) {
		next = f->next;
		if (strncmp(f->dir, root, n) == 0)
			folder_free(f);
	}
}

void
imapd_hcache_clear(void)
{
	while (head != NULL)
		folder_free(head);
}

size_t
imapd_hcache_size(void)
{
	return total;
}
