/*
 * buf - the one growable, binary-safe byte buffer of ulak.
 *
 * The contents are always followed by a NUL byte (not counted in len), so
 * b->data may be used as a C string when the contents hold no NUL.  A buffer
 * may carry a hard maximum (max > 0): an append that would exceed it fails
 * with -1 and leaves the buffer unchanged.  Every length-overflow check of
 * the project lives in this module.  Never keep a pointer into data across
 * an append: the storage may move.
 */
#ifndef ULAK_BUF_H
#define ULAK_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;	/* NUL-terminated storage, never NULL after buf_init */
	size_t len;	/* bytes in use, not counting the NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard limit on len; 0 = none */
};

/* Initialise an empty buffer with an optional hard maximum (0 = none). */
void buf_init(struct buf *b, size_t max);
/* Allocate and initialise a buffer; free with buf_free(). */
struct buf *buf_new(size_t max);
/* Release storage of a buffer initialised with buf_init. */
void buf_release(struct buf *b);
/* Release a buffer made by buf_new. NULL is allowed. */
void buf_free(struct buf *b);
/* Empty the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/*
 * Take the storage (a NUL-terminated malloc'ed string).  The buffer is
 * then empty but still usable, with fresh storage of its own: it must
 * still be released with buf_release/buf_free.
 */
char *buf_detach(struct buf *b, size_t *len_r);

/* Append bytes; return 0, or -1 (buffer unchanged) when max would be exceeded. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
/* Append formatted text; -1 when the result would exceed max. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Replace the contents with a copy of S; -1 when over max. */
int buf_set_str(struct buf *b, const char *s);
/* Shorten to LEN bytes (no-op when already shorter). */
void buf_truncate(struct buf *b, size_t len);
/* Remove N bytes from the front (all when N >= len). */
void buf_consume(struct buf *b, size_t n);
/* Make room for at least N more bytes; -1 when that would exceed max. */
int buf_reserve(struct buf *b, size_t n);
/* True when the contents contain a NUL byte. */
bool buf_has_nul(const struct buf *b);

#endif
