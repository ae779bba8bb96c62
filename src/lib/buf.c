/*
 * buf - growable byte buffer; see buf.h.  All overflow checks live here.
 */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

void
buf_init(struct buf *b, size_t max)
{
	b->cap = 64;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
	b->len = 0;
	b->max = max;
}

struct buf *
buf_new(size_t max)
{
	struct buf *b = xmalloc(sizeof(*b));

	buf_init(b, max);
	return b;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	buf_release(b);
	free(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

char *
buf_detach(struct buf *b, size_t *len_r)
{
	char *p = b->data;

	if (len_r != NULL)
		*len_r = b->len;
	b->cap = 64;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
	b->len = 0;
	return p;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;

	if (n > SIZE_MAX - 1 - b->len)
		return -1;
	need = b->len + n;
	if (b->max != 0 && need > b->max)
		return -1;
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap;
	while (ncap < need + 1)
		ncap = ncap > SIZE_MAX / 2 ? need + 1 : ncap * 2;
	b->data = xrealloc(b->data, ncap);
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_append_char(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		log_panic("buf_vprintf: bad format \"%s\"", fmt);
	if ((size_t)n < b->cap - b->len) {
		if (b->max != 0 && b->len + (size_t)n > b->max) {
			b->data[b->len] = '\0';
			return -1;
		}
		b->len += (size_t)n;
		return 0;
	}
	if (buf_reserve(b, (size_t)n) < 0) {
		b->data[b->len] = '\0';
		return -1;
	}
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		log_panic("buf_vprintf: size changed between passes");
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int
buf_set_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->max != 0 && n > b->max)
		return -1;
	buf_reset(b);
	return buf_append(b, s, n);
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

bool
buf_has_nul(const struct buf *b)
{
	return memchr(b->data, '\0', b->len) != NULL;
}
