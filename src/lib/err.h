/*
 * err - formatted error texts for error_r out-parameters.
 *
 * err_fmt() formats into a small per-thread ring of buffers, so a library
 * function can hand back "file:line: what went wrong" without the caller
 * freeing anything.  A returned text stays valid until ERR_RING further
 * texts have been made in the same thread: copy it if it must live longer.
 */
#ifndef ULAK_ERR_H
#define ULAK_ERR_H

#define ERR_RING 16
#define ERR_MAX 1024

/* Format an error text (truncated at ERR_MAX-1 bytes). Never NULL. */
const char *err_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
