/*
 * strmap - an in-memory map from strings to strings (hash table), keeping
 * insertion order for iteration.
 *
 * Keys and values are copied in; nothing here folds case (the caller
 * folds keys when its format wants that).  Every function may exit only
 * when memory runs out (mem.h).
 */
#ifndef ULAK_STRMAP_H
#define ULAK_STRMAP_H

#include <stdint.h>

#include <stddef.h>

struct strmap;

/* An empty map; free with strmap_free(). */
struct strmap *strmap_new(void);
/*
 * The seeded string hash the maps use (FNV-1a from SEED, then a final
 * mix), and a fresh seed for one table (TABLE's address is mixed in), for
 * other hash tables of the project that face hostile keys.
 */
uint64_t strmap_hash(uint64_t seed, const char *s);
uint64_t strmap_new_seed(const void *table);
/* Release M and all its strings.  NULL is allowed. */
void strmap_free(struct strmap *m);
/*
 * Add copies of KEY and VALUE.  Returns 1 when added, 0 when KEY was
 * already present (the map is unchanged: the first value is kept).
 */
int strmap_add(struct strmap *m, const char *key, const char *value);
/* The value stored for KEY (owned by M), or NULL. */
const char *strmap_get(const struct strmap *m, const char *key);
/* Number of keys. */
size_t strmap_count(const struct strmap *m);
/*
 * Call FN for each key in insertion order; stop early and return FN's
 * value when it is not 0.  Returns 0 when every call returned 0.
 */
int strmap_foreach(const struct strmap *m,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx);

#endif
