/*
 * mem - allocation wrappers that never return NULL.
 *
 * Running out of memory is not an error a mail daemon can recover from
 * cleanly: each wrapper logs and aborts instead (master restarts the
 * daemon).  Every function here may exit; none returns NULL.
 */
#ifndef ULAK_MEM_H
#define ULAK_MEM_H

#include <stddef.h>

/* Allocate SIZE bytes (SIZE 0 is treated as 1). Aborts on failure. */
void *xmalloc(size_t size);
/* Allocate N*SIZE zeroed bytes; aborts on failure or multiplication overflow. */
void *xcalloc(size_t n, size_t size);
/* Resize PTR; aborts on failure. */
void *xrealloc(void *ptr, size_t size);
/* Resize PTR to N*SIZE bytes; aborts on overflow or failure. */
void *xreallocarray(void *ptr, size_t n, size_t size);
/* Copy of a NUL-terminated string; caller frees. */
char *xstrdup(const char *s);
/* Copy of the first N bytes of S (stops early at a NUL), NUL-terminated. */
char *xstrndup(const char *s, size_t n);
/* Copy of N bytes at P with a NUL appended (P may contain NULs). */
char *xmemdup0(const void *p, size_t n);

#endif
