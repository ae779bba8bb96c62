/*
 * mem - allocation wrappers that never return NULL; see mem.h.
 */
#include "mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void
mem_fail(size_t size)
{
	log_panic("out of memory (requested %zu bytes)", size);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		mem_fail(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	p = calloc(n, size);
	if (p == NULL)
		mem_fail(n * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		mem_fail(size);
	return p;
}

void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		log_panic("allocation overflow (%zu * %zu)", n, size);
	return xrealloc(ptr, n * size);
}

char *
xstrdup(const char *s)
{
	return xmemdup0(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	return xmemdup0(s, strnlen(s, n));
}

char *
xmemdup0(const void *p, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		mem_fail(n);
	d = xmalloc(n + 1);
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}
