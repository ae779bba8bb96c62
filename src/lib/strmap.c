/*
 * strmap - string-to-string hash table; see strmap.h.
 *
 * Entries live in an array in insertion order; an open-addressing index
 * (linear probing, power-of-two size, at most half full) maps hashes to
 * array positions.  Keys may come from untrusted files, so the hash is
 * seeded per map to make deliberate collisions harder to aim.
 */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"

struct strmap_entry {
	char *key;
	char *value;
	uint64_t hash;
};

struct strmap {
	struct strmap_entry *v;
	size_t n, cap;
	size_t *index;		/* slot -> entry number + 1; 0 = empty */
	size_t nslots;		/* power of two */
	uint64_t seed;
};

uint64_t
strmap_hash(uint64_t seed, const char *s)
{
	/* FNV-1a with a seeded start and a final mix. */
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

uint64_t
strmap_new_seed(const void *table)
{
	static uint64_t counter;
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
	    (uintptr_t)table ^ (++counter * 0x9e3779b97f4a7c15ULL);
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->seed = strmap_new_seed(m);
	m->nslots = 16;
	m->index = xcalloc(m->nslots, sizeof(*m->index));
	return m;
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	free(m->index);
	free(m);
}

/* Slot holding KEY, or the empty slot where it would go. */
static size_t
strmap_slot(const struct strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->nslots - 1;
	size_t i = (size_t)h & mask;

	while (m->index[i] != 0) {
		const struct strmap_entry *e = &m->v[m->index[i] - 1];

		if (e->hash == h && strcmp(e->key, key) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static void
strmap_grow(struct strmap *m)
{
	size_t nslots = m->nslots * 2;

	free(m->index);
	m->index = xcalloc(nslots, sizeof(*m->index));
	m->nslots = nslots;
	for (size_t k = 0; k < m->n; k++) {
		size_t i = (size_t)m->v[k].hash & (nslots - 1);

		while (m->index[i] != 0)
			i = (i + 1) & (nslots - 1);
		m->index[i] = k + 1;
	}
}

int
strmap_add(struct strmap *m, const char *key, const char *value)
{
	uint64_t h = strmap_hash(m->seed, key);
	size_t slot = strmap_slot(m, key, h);

	if (m->index[slot] != 0)
		return 0;
	if (m->n == m->cap) {
		m->cap = m->cap == 0 ? 16 : m->cap * 2;
		m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	m->v[m->n].key = xstrdup(key);
	m->v[m->n].value = xstrdup(value);
	m->v[m->n].hash = h;
	m->n++;
	if (m->n * 2 > m->nslots)
		strmap_grow(m);
	else
		m->index[slot] = m->n;
	return 1;
}

const char *
strmap_get(const struct strmap *m, const char *key)
{
	uint64_t h = strmap_hash(m->seed, key);
	size_t slot = strmap_slot(m, key, h);

	return m->index[slot] == 0 ? NULL : m->v[m->index[slot] - 1].value;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}

int
strmap_foreach(const struct strmap *m,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	for (size_t i = 0; i < m->n; i++) {
		int r = fn(ctx, m->v[i].key, m->v[i].value);

		if (r != 0)
			return r;
	}
	return 0;
}
