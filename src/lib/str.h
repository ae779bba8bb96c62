/*
 * str - small string helpers and a growable list of strings.
 *
 * Fixed arrays are only ever filled through str_copy, whose truncation is
 * reported to the caller (and treated as bad input there).
 */
#ifndef ULAK_STR_H
#define ULAK_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Copy SRC into DST[SIZE]; return 0, or -1 when it does not fit (DST then holds ""). */
int str_copy(char *dst, size_t size, const char *src);
/* Fold ASCII letters of S to lower case in place; returns S. */
char *str_lower(char *s);
/* Trim leading and trailing white space in place; returns the start inside S. */
char *str_trim(char *s);
/* True when S starts with PREFIX (case-sensitive / ASCII case-insensitive). */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_prefix_nocase(const char *s, const char *prefix);
/* True when S ends with SUFFIX, ignoring ASCII case. */
bool str_has_suffix_nocase(const char *s, const char *suffix);
/* ASCII-only case-insensitive comparison (locale-independent). */
int str_casecmp(const char *a, const char *b);
int str_ncasecmp(const char *a, const char *b, size_t n);

/* A NULL-terminated, growable array of owned strings. */
struct strlist {
	char **v;	/* v[n] == NULL */
	size_t n;
	size_t cap;
};

void strlist_init(struct strlist *l);
/* Append a copy of S. */
void strlist_add(struct strlist *l, const char *s);
/* Append S itself; the list takes ownership. */
void strlist_add_owned(struct strlist *l, char *s);
void strlist_release(struct strlist *l);
/* Index of S in the list (exact / ASCII case-insensitive), or -1. */
long strlist_find(const struct strlist *l, const char *s);
long strlist_find_nocase(const struct strlist *l, const char *s);
/*
 * Split S into the list at any character of SEPS, skipping empty fields.
 * Postfix lists use ", \t\r\n" as separators.  Appends to L.
 */
void strlist_split(struct strlist *l, const char *s, const char *seps);

#endif
