/*
 * rate - per-client event counters over a fixed time unit, as Postfix's
 * anvil(8) keeps them for smtpd_client_*_rate_limit: for each key (a
 * client address or network) the number of events of each kind since
 * the key's current window began.
 *
 * A window starts at a key's first event and lasts UNIT milliseconds;
 * the first event after that starts a new window with every count at 0
 * (anvil's "current time unit interval").  Entries whose window has
 * ended are dropped; at most MAX_ENTRIES keys are held, and a new key
 * beyond that evicts the key whose window began first, so a flood of
 * distinct addresses costs bounded memory (and only forgets the oldest
 * counts).  The caller passes the time (a monotonic clock in
 * milliseconds) to every call, which makes the module testable.
 *
 * Nothing here logs; every function may exit only when memory runs out
 * (mem.h).  Not thread-safe: one table per event loop.
 */
#ifndef ULAK_RATE_H
#define ULAK_RATE_H

#include <stddef.h>
#include <stdint.h>

/* At most this many kinds of event per key. */
#define RATE_MAX_COUNTERS 8

struct rate_table;

/*
 * An empty table with N_COUNTERS kinds of event (1..RATE_MAX_COUNTERS),
 * windows of UNIT_MS milliseconds (0 is taken as 1) and at most
 * MAX_ENTRIES keys (0 is taken as 1).  Free with rate_table_free().
 */
struct rate_table *rate_table_new(unsigned n_counters, uint64_t unit_ms,
    size_t max_entries);

/* Release T and every entry.  NULL is allowed. */
void rate_table_free(struct rate_table *t);

/*
 * Count one event of kind COUNTER (< n_counters, else a panic) for KEY
 * at NOW_MS and return the number of such events in KEY's current
 * window, this one included (saturating at UINT32_MAX).  KEY is copied.
 */
unsigned long rate_table_add(struct rate_table *t, const char *key,
    unsigned counter, uint64_t now_ms);

/*
 * The number of events of kind COUNTER for KEY in its current window at
 * NOW_MS, without counting one (0 for a key not held).
 */
unsigned long rate_table_get(struct rate_table *t, const char *key,
    unsigned counter, uint64_t now_ms);

/* Drop every entry whose window has ended at NOW_MS. */
void rate_table_expire(struct rate_table *t, uint64_t now_ms);

/* Number of keys held now (ended windows may remain until the next call). */
size_t rate_table_count(const struct rate_table *t);

/* Number of keys evicted so far because the table was full. */
uint64_t rate_table_evictions(const struct rate_table *t);

#endif
