/*
 * mailstore_pool - what the open views of one folder share within one
 * process: a record per message file (base name, size, virtual size,
 * time, unknown flag letters), interned by (folder path, base) and
 * reference-counted by the views' messages, and the folder's UID list as
 * last read.  Fifty IMAP sessions with the same INBOX selected then hold
 * its names once, and each view only 16 bytes per message.
 *
 * Single-threaded: the pools are process-wide and unlocked; imapd and
 * pop3d call the store only from their event loop thread.  Holds no
 * file or privilege; the bases it keeps come from directory listings
 * (mailstore_folder.c checks them) and are only compared and copied.
 */
#include "mailstore_private.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "mem.h"

static struct ms_pool *pools;

size_t
ms_pool_count(void)
{
	size_t n = 0;

	for (const struct ms_pool *p = pools; p != NULL; p = p->next)
		n++;
	return n;
}

struct ms_pool *
ms_pool_get(const char *path)
{
	struct ms_pool *p;

	for (p = pools; p != NULL; p = p->next)
		if (strcmp(p->path, path) == 0) {
			p->views++;
			return p;
		}
	p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(path);
	p->views = 1;
	ms_idx_init(&p->idx);
	p->next = pools;
	pools = p;
	return p;
}

void
ms_pool_put(struct ms_pool *p)
{
	struct ms_pool **pp;

	if (p == NULL)
		return;
	if (p->views == 0)
		log_panic("ms_pool_put: %s has no views", p->path);
	if (--p->views > 0)
		return;
	if (p->live != 0)
		log_panic("ms_pool_put: %s: %lu records still held", p->path,
		    (unsigned long)p->live);
	for (pp = &pools; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	ms_idx_release(&p->idx);
	free(p->rec);
	free(p->slot);
	free(p->path);
	free(p);
}

struct ms_rec *
ms_pool_rec(const struct ms_pool *p, uint32_t r)
{
	if (r >= p->n_rec || p->rec[r].base == NULL)
		log_panic("ms_pool_rec: record %lu of %lu",
		    (unsigned long)r, (unsigned long)p->n_rec);
	return &p->rec[r];
}

long
ms_pool_find(const struct ms_pool *p, const char *base, size_t len)
{
	size_t i;

	if (p->cap_slot == 0)
		return -1;
	i = (size_t)ms_hash(base, len) & (p->cap_slot - 1);
	for (; p->slot[i] != 0; i = (i + 1) & (p->cap_slot - 1)) {
		const char *k = p->rec[p->slot[i] - 1].base;

		if (strncmp(k, base, len) == 0 && k[len] == '\0')
			return (long)(p->slot[i] - 1);
	}
	return -1;
}

static void
slot_put(struct ms_pool *p, uint32_t r)
{
	const char *k = p->rec[r].base;
	size_t i = (size_t)ms_hash(k, strlen(k)) & (p->cap_slot - 1);

	while (p->slot[i] != 0)
		i = (i + 1) & (p->cap_slot - 1);
	p->slot[i] = r + 1;
}

/* Keep the hash at most half full. */
static void
slot_grow(struct ms_pool *p)
{
	uint32_t *old = p->slot, oldcap = p->cap_slot;

	if ((size_t)(p->live + 1) * 2 <= p->cap_slot)
		return;
	if (oldcap >= (UINT32_MAX >> 2))
		log_panic("ms_pool: %s: too many messages", p->path);
	p->cap_slot = oldcap ? oldcap * 2 : 64;
	p->slot = xcalloc(p->cap_slot, sizeof(p->slot[0]));
	for (uint32_t j = 0; j < oldcap; j++)
		if (old[j] != 0)
			slot_put(p, old[j] - 1);
	free(old);
}

/* Linear probing: remove R's slot and move later ones of its run back. */
static void
slot_remove(struct ms_pool *p, uint32_t r)
{
	const char *k = p->rec[r].base;
	size_t mask = p->cap_slot - 1;
	size_t i = (size_t)ms_hash(k, strlen(k)) & mask, j;

	while (p->slot[i] != r + 1) {
		if (p->slot[i] == 0)
			log_panic("ms_pool: %s: record %lu not hashed",
			    p->path, (unsigned long)r);
		i = (i + 1) & mask;
	}
	p->slot[i] = 0;
	for (j = (i + 1) & mask; p->slot[j] != 0; j = (j + 1) & mask) {
		const char *kj = p->rec[p->slot[j] - 1].base;
		size_t home = (size_t)ms_hash(kj, strlen(kj)) & mask;

		/* Move it into the hole unless its home lies after the hole
		 * (cyclically, up to j). */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			p->slot[i] = p->slot[j];
			p->slot[j] = 0;
			i = j;
		}
	}
}

void
ms_pool_reserve(struct ms_pool *p, size_t more)
{
	size_t want = (size_t)p->n_rec + more;

	/* Exact: a folder's records come in one bulk at its first sync. */
	if (want <= p->cap_rec)
		return;
	if (want >= (UINT32_MAX >> 2))
		log_panic("ms_pool: %s: too many messages", p->path);
	p->cap_rec = (uint32_t)want;
	p->rec = xreallocarray(p->rec, p->cap_rec, sizeof(p->rec[0]));
}

uint32_t
ms_pool_intern(struct ms_pool *p, const char *base, size_t len)
{
	long found = ms_pool_find(p, base, len);
	uint32_t r;

	if (found >= 0) {
		ms_pool_ref(p, (uint32_t)found);
		return (uint32_t)found;
	}
	slot_grow(p);
	if (p->free_head != 0) {
		r = p->free_head - 1;
		p->free_head = p->rec[r].next_free;
	} else {
		if (p->n_rec == p->cap_rec) {
			if (p->cap_rec >= (UINT32_MAX >> 2))
				log_panic("ms_pool: %s: too many messages",
				    p->path);
			p->cap_rec = p->cap_rec ? p->cap_rec * 2 : 64;
			p->rec = xreallocarray(p->rec, p->cap_rec,
			    sizeof(p->rec[0]));
		}
		r = p->n_rec++;
	}
	memset(&p->rec[r], 0, sizeof(p->rec[r]));
	p->rec[r].base = xmemdup0(base, len);
	p->rec[r].refs = 1;
	p->live++;
	slot_put(p, r);
	return r;
}

void
ms_pool_ref(struct ms_pool *p, uint32_t r)
{
	struct ms_rec *rec = ms_pool_rec(p, r);

	if (rec->refs == UINT32_MAX)
		log_panic("ms_pool_ref: too many references");
	rec->refs++;
}

void
ms_pool_unref(struct ms_pool *p, uint32_t r)
{
	struct ms_rec *rec = ms_pool_rec(p, r);

	if (rec->refs == 0)
		log_panic("ms_pool_unref: %s: record %lu has no references",
		    p->path, (unsigned long)r);
	if (--rec->refs > 0)
		return;
	slot_remove(p, r);
	free(rec->base);
	free(rec->extra);
	free(rec->odd);
	memset(rec, 0, sizeof(*rec));
	rec->next_free = p->free_head;
	p->free_head = r + 1;
	p->live--;
}

void
ms_rec_set(char **field, const char *s, size_t len)
{
	if (*field != NULL && len > 0 && strncmp(*field, s, len) == 0 &&
	    (*field)[len] == '\0')
		return;
	free(*field);
	*field = len > 0 ? xmemdup0(s, len) : NULL;
}
