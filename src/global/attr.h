/*
 * attr - the daemon protocol of ulak: requests made of attribute lines.
 *
 * Wire format (docs/protocols.md): each line is "name=value\n", where name
 * is 1..ATTR_NAME_MAX bytes of [a-z0-9_] and value is any bytes except NUL,
 * CR and LF; '%', every byte below 0x20 and 0x7f are written as %XX (upper
 * case hex), so any byte string round-trips.  An empty line ends a request.
 * A line holds at most ATTR_LINE_MAX bytes before its LF, and a request at
 * most ATTR_COUNT_MAX attributes.
 *
 * The decoder distrusts its input completely (it comes from another
 * process over a socket): every limit is checked, and an error leaves the
 * decoder in a failed state so the caller drops the connection.
 */
#ifndef ULAK_ATTR_H
#define ULAK_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ATTR_NAME_MAX 64
#define ATTR_LINE_MAX 8192
#define ATTR_COUNT_MAX 1000

/* One decoded attribute. VALUE is NUL-terminated and may contain NULs. */
struct attr {
	char *name;
	char *value;
	size_t value_len;
};

/* An ordered list of attributes (one request); names may repeat. */
struct attr_list {
	struct attr *v;
	size_t n;
	size_t cap;
};

void attr_list_init(struct attr_list *l);
/* Free every attribute and empty the list (it stays usable). */
void attr_list_reset(struct attr_list *l);
void attr_list_release(struct attr_list *l);
/* Append a copy of NAME=VALUE[0..LEN) (no checks: for building lists). */
void attr_list_add(struct attr_list *l, const char *name, const void *value,
    size_t len);

/*
 * Value of the first attribute NAME, or NULL when there is none or when its
 * value contains a NUL byte (use attr_get_bin for binary values).
 */
const char *attr_get(const struct attr_list *l, const char *name);
/* Value and length of the first attribute NAME, or NULL when absent. */
const char *attr_get_bin(const struct attr_list *l, const char *name,
    size_t *len_r);
/* How many attributes are called NAME. */
size_t attr_count(const struct attr_list *l, const char *name);
/*
 * *VALUE_R = the first attribute NAME as a string.  -1 with error_r
 * ("missing attribute NAME" / "attribute NAME contains a NUL byte").
 */
int attr_require(const struct attr_list *l, const char *name,
    const char **value_r, const char **error_r);
/*
 * The first attribute NAME as a decimal number in [MIN, MAX].  -1 with
 * error_r when it is missing or not such a number.
 */
int attr_get_uint(const struct attr_list *l, const char *name, uint64_t min,
    uint64_t max, uint64_t *value_r, const char **error_r);

/* True when NAME is a valid attribute name. */
bool attr_name_valid(const char *name);

/*
 * Append VALUE[0..LEN) to OUT escaped as in a value (%XX for '%', bytes
 * below 0x20 and 0x7f).  -1 when OUT's maximum would be exceeded.
 */
int attr_escape(struct buf *out, const void *value, size_t len);
/*
 * Append the decoded form of S[0..LEN) to OUT.  -1 with error_r when S
 * holds a raw NUL, CR or LF, or a '%' not followed by two upper-case hex
 * digits, or OUT's maximum would be exceeded.
 */
int attr_unescape(struct buf *out, const char *s, size_t len,
    const char **error_r);

/*
 * Encoder: append one line "NAME=escaped(VALUE)\n" to OUT.  NAME must be
 * valid (a broken contract panics).  -1 with error_r when the encoded line
 * would exceed ATTR_LINE_MAX or OUT's maximum; OUT is then unchanged.
 */
int attr_encode(struct buf *out, const char *name, const char *value,
    const char **error_r);
int attr_encode_bin(struct buf *out, const char *name, const void *value,
    size_t len, const char **error_r);
int attr_encode_uint(struct buf *out, const char *name, uint64_t value,
    const char **error_r);
/* Append the empty line that ends a request. -1 when over OUT's maximum. */
int attr_encode_end(struct buf *out);
/* Encode the whole list L followed by the end line. */
int attr_encode_list(struct buf *out, const struct attr_list *l,
    const char **error_r);

/*
 * Incremental decoder: feed it bytes in chunks of any size; it yields
 * complete requests.
 */
struct attr_decoder;

struct attr_decoder *attr_decoder_new(void);
void attr_decoder_free(struct attr_decoder *d);
/*
 * Consume bytes from DATA[0..LEN) until a request is complete or the input
 * is used up; *USED_R tells how many bytes were consumed (the rest belongs
 * to the caller: more requests, or raw data that follows a request).
 * Returns 1 when a request is complete: it is moved into OUT (which is
 * reset first) and the decoder is ready for the next one; 0 when more input
 * is needed; -1 with error_r ("line 3: bad attribute name") on malformed
 * input, after which every call fails the same way.
 */
int attr_decoder_feed(struct attr_decoder *d, const void *data, size_t len,
    size_t *used_r, struct attr_list *out, const char **error_r);
/* True when the decoder holds part of a request (EOF now would truncate it). */
bool attr_decoder_pending(const struct attr_decoder *d);

/*
 * Blocking helpers for simple clients.  attr_send writes DATA[0..LEN) to
 * FD, waiting at most TIMEOUT_MS in total (negative: no limit).  -1 with
 * error_r on a write error or timeout.
 */
int attr_send(int fd, const void *data, size_t len, int timeout_ms,
    const char **error_r);
/*
 * Read one request from the socket FD into OUT, waiting at most TIMEOUT_MS
 * in total (negative: no limit).  Never reads past the request's end line
 * (it peeks, so FD must be a socket).  Returns 1 with a request, 0 on a
 * clean EOF before any byte of a request, -1 with error_r on a read error,
 * timeout, EOF inside a request or malformed input.
 */
int attr_recv(int fd, int timeout_ms, struct attr_list *out,
    const char **error_r);

#endif
