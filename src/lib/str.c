/*
 * str - string helpers; see str.h.
 */
#include "str.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

char *
str_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)lc((unsigned char)*p);
	return s;
}

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

char *
str_trim(char *s)
{
	char *e;

	while (is_space((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

bool
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_has_prefix_nocase(const char *s, const char *prefix)
{
	return str_ncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_has_suffix_nocase(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && str_casecmp(s + n - m, suffix) == 0;
}

int
str_casecmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (;; p++, q++) {
		int d = lc(*p) - lc(*q);

		if (d != 0 || *p == '\0')
			return d;
	}
}

int
str_ncasecmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (; n > 0; n--, p++, q++) {
		int d = lc(*p) - lc(*q);

		if (d != 0 || *p == '\0')
			return d;
	}
	return 0;
}

void
strlist_init(struct strlist *l)
{
	l->cap = 4;
	l->n = 0;
	l->v = xcalloc(l->cap, sizeof(char *));
}

void
strlist_add_owned(struct strlist *l, char *s)
{
	if (l->n + 1 >= l->cap) {
		l->v = xreallocarray(l->v, l->cap, 2 * sizeof(char *));
		l->cap *= 2;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

void
strlist_add(struct strlist *l, const char *s)
{
	strlist_add_owned(l, xstrdup(s));
}

void
strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

long
strlist_find(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return (long)i;
	return -1;
}

long
strlist_find_nocase(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (str_casecmp(l->v[i], s) == 0)
			return (long)i;
	return -1;
}

void
strlist_split(struct strlist *l, const char *s, const char *seps)
{
	const char *p = s;

	while (*p) {
		size_t n;

		p += strspn(p, seps);
		n = strcspn(p, seps);
		if (n == 0)
			break;
		strlist_add_owned(l, xstrndup(p, n));
		p += n;
	}
}
