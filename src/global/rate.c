/*
 * rate - per-client event counters over a fixed time unit; see rate.h.
 *
 * Keys come from the network (client addresses), so the table is built
 * for a hostile flood of distinct keys: a seeded hash (collisions cannot
 * be aimed from outside), a hard cap on entries with oldest-first
 * eviction, and O(1) work per call apart from dropping ended windows,
 * which each entry pays for once.
 *
 * Entries sit on one list in the order their windows began: a new entry
 * or a restarted window goes to the tail, and since time only moves
 * forward the head is always the window that ends first.  Expiry and
 * eviction both take from the head.
 */
#include "rate.h"
#include "strmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mem.h"

struct rate_entry {
	struct rate_entry *hnext;	/* hash chain */
	struct rate_entry *prev, *next;	/* age list, oldest window first */
	uint64_t hash;
	uint64_t start;			/* the window began, ms */
	uint32_t count[RATE_MAX_COUNTERS];
	char key[];
};

struct rate_table {
	unsigned n_counters;
	uint64_t unit;			/* ms */
	size_t max;
	size_t n;
	struct rate_entry **buckets;
	size_t nbuckets;		/* power of two */
	struct rate_entry *head, *tail;
	uint64_t seed;
	uint64_t evictions;
};

struct rate_table *
rate_table_new(unsigned n_counters, uint64_t unit_ms, size_t max_entries)
{
	struct rate_table *t;

	if (n_counters == 0 || n_counters > RATE_MAX_COUNTERS)
		log_panic("rate_table_new: %u counters", n_counters);
	t = xcalloc(1, sizeof(*t));
	t->n_counters = n_counters;
	t->unit = unit_ms > 0 ? unit_ms : 1;
	t->max = max_entries > 0 ? max_entries : 1;
	t->nbuckets = 64;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->seed = strmap_new_seed(t);
	return t;
}

void
rate_table_free(struct rate_table *t)
{
	struct rate_entry *e, *next;

	if (t == NULL)
		return;
	for (e = t->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(t->buckets);
	free(t);
}

static void
list_unlink(struct rate_table *t, struct rate_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
list_append(struct rate_table *t, struct rate_entry *e)
{
	e->next = NULL;
	e->prev = t->tail;
	if (t->tail != NULL)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
}

/* Remove E from the table and free it. */
static void
entry_drop(struct rate_table *t, struct rate_entry *e)
{
	struct rate_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_unlink(t, e);
	free(e);
	t->n--;
}

static bool
ended(const struct rate_table *t, const struct rate_entry *e, uint64_t now)
{
	/* A clock that went back leaves the window open. */
	return now >= e->start && now - e->start >= t->unit;
}

void
rate_table_expire(struct rate_table *t, uint64_t now_ms)
{
	while (t->head != NULL && ended(t, t->head, now_ms))
		entry_drop(t, t->head);
}

static struct rate_entry *
lookup(const struct rate_table *t, const char *key, uint64_t h)
{
	struct rate_entry *e;

	for (e = t->buckets[h & (t->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Double the buckets when the chains grow longer than one on average. */
static void
grow(struct rate_table *t)
{
	size_t nb = t->nbuckets * 2;
	struct rate_entry **b;

	if (t->n < t->nbuckets || nb > ((size_t)1 << 24))
		return;
	b = xcalloc(nb, sizeof(*b));
	for (struct rate_entry *e = t->head; e != NULL; e = e->next) {
		size_t i = e->hash & (nb - 1);

		e->hnext = b[i];
		b[i] = e;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

unsigned long
rate_table_add(struct rate_table *t, const char *key, unsigned counter,
    uint64_t now_ms)
{
	uint64_t h = strmap_hash(t->seed, key);
	struct rate_entry *e;
	size_t klen;

	if (counter >= t->n_counters)
		log_panic("rate_table_add: counter %u of %u", counter,
		    t->n_counters);
	rate_table_expire(t, now_ms);
	e = lookup(t, key, h);
	if (e == NULL) {
		while (t->n >= t->max) {
			entry_drop(t, t->head);
			t->evictions++;
		}
		klen = strlen(key);
		e = xcalloc(1, sizeof(*e) + klen + 1);
		memcpy(e->key, key, klen + 1);
		e->hash = h;
		e->start = now_ms;
		e->hnext = t->buckets[h & (t->nbuckets - 1)];
		t->buckets[h & (t->nbuckets - 1)] = e;
		list_append(t, e);
		t->n++;
		grow(t);
	}
	/* (An ended window was expired above: E's window is current.) */
	if (e->count[counter] < UINT32_MAX)
		e->count[counter]++;
	return e->count[counter];
}

unsigned long
rate_table_get(struct rate_table *t, const char *key, unsigned counter,
    uint64_t now_ms)
{
	struct rate_entry *e;

	if (counter >= t->n_counters)
		log_panic("rate_table_get: counter %u of %u", counter,
		    t->n_counters);
	rate_table_expire(t, now_ms);
	e = lookup(t, key, strmap_hash(t->seed, key));
	return e != NULL ? e->count[counter] : 0;
}

size_t
rate_table_count(const struct rate_table *t)
{
	return t->n;
}

uint64_t
rate_table_evictions(const struct rate_table *t)
{
	return t->evictions;
}
