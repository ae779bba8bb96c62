/*
 * attr - encoder and incremental decoder of the daemon protocol (attribute
 * lines, an empty line ends a request); see attr.h and docs/protocols.md.
 *
 * Distrusted input: everything given to attr_decoder_feed and attr_recv
 * comes from another process.  Lines, names, attribute counts and escapes
 * are all checked; a request is handed out only when it is complete.
 */
#include "attr.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"

static const char hexdigits[] = "0123456789ABCDEF";

void
attr_list_init(struct attr_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void
attr_list_reset(struct attr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	l->n = 0;
}

void
attr_list_release(struct attr_list *l)
{
	attr_list_reset(l);
	free(l->v);
	attr_list_init(l);
}

static void
attr_list_add_owned(struct attr_list *l, char *name, char *value, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].name = name;
	l->v[l->n].value = value;
	l->v[l->n].value_len = len;
	l->n++;
}

void
attr_list_add(struct attr_list *l, const char *name, const void *value,
    size_t len)
{
	attr_list_add_owned(l, xstrdup(name), xmemdup0(value, len), len);
}

const char *
attr_get_bin(const struct attr_list *l, const char *name, size_t *len_r)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			if (len_r != NULL)
				*len_r = l->v[i].value_len;
			return l->v[i].value;
		}
	}
	return NULL;
}

const char *
attr_get(const struct attr_list *l, const char *name)
{
	size_t len;
	const char *v = attr_get_bin(l, name, &len);

	if (v == NULL || memchr(v, '\0', len) != NULL)
		return NULL;
	return v;
}

size_t
attr_count(const struct attr_list *l, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			n++;
	return n;
}

int
attr_require(const struct attr_list *l, const char *name,
    const char **value_r, const char **error_r)
{
	size_t len;
	const char *v = attr_get_bin(l, name, &len);

	if (v == NULL) {
		*error_r = err_fmt("missing attribute %s", name);
		return -1;
	}
	if (memchr(v, '\0', len) != NULL) {
		*error_r = err_fmt("attribute %s contains a NUL byte", name);
		return -1;
	}
	*value_r = v;
	return 0;
}

int
attr_get_uint(const struct attr_list *l, const char *name, uint64_t min,
    uint64_t max, uint64_t *value_r, const char **error_r)
{
	const char *v, *perr;

	if (attr_require(l, name, &v, error_r) < 0)
		return -1;
	if (parse_uint(v, min, max, value_r, &perr) < 0) {
		*error_r = err_fmt("attribute %s: %s", name, perr);
		return -1;
	}
	return 0;
}

bool
attr_name_valid(const char *name)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++) {
		char c = name[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			return false;
	}
	return n > 0 && n <= ATTR_NAME_MAX;
}

static bool
needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '%';
}

int
attr_escape(struct buf *out, const void *value, size_t len)
{
	const unsigned char *p = value;
	size_t start = out->len, i = 0;

	while (i < len) {
		size_t run = i;

		while (run < len && !needs_escape(p[run]))
			run++;
		if (run > i && buf_append(out, p + i, run - i) < 0)
			goto fail;
		i = run;
		if (i < len) {
			char e[3] = { '%', hexdigits[p[i] >> 4],
				hexdigits[p[i] & 15] };

			if (buf_append(out, e, 3) < 0)
				goto fail;
			i++;
		}
	}
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
attr_unescape(struct buf *out, const char *s, size_t len, const char **error_r)
{
	size_t start = out->len, i = 0;

	while (i < len) {
		size_t run = i;

		while (run < len && s[run] != '%' && s[run] != '\0' &&
		    s[run] != '\r' && s[run] != '\n')
			run++;
		if (run > i && buf_append(out, s + i, run - i) < 0)
			goto toolong;
		i = run;
		if (i == len)
			break;
		if (s[i] != '%') {
			*error_r = err_fmt("raw %s byte in value",
			    s[i] == '\0' ? "NUL" : s[i] == '\r' ? "CR" : "LF");
			goto fail;
		}
		if (len - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
			*error_r = err_fmt("bad %% escape in value");
			goto fail;
		}
		if (buf_append_char(out, (char)(hexval(s[i + 1]) * 16 +
		    hexval(s[i + 2]))) < 0)
			goto toolong;
		i += 3;
	}
	return 0;
toolong:
	*error_r = err_fmt("value too long");
fail:
	buf_truncate(out, start);
	return -1;
}

int
attr_encode_bin(struct buf *out, const char *name, const void *value,
    size_t len, const char **error_r)
{
	size_t start = out->len;

	if (!attr_name_valid(name))
		log_panic("attr_encode: bad attribute name");
	if (buf_append_str(out, name) < 0 || buf_append_char(out, '=') < 0 ||
	    attr_escape(out, value, len) < 0) {
		buf_truncate(out, start);
		*error_r = err_fmt("attribute %s: output buffer full", name);
		return -1;
	}
	if (out->len - start > ATTR_LINE_MAX) {
		buf_truncate(out, start);
		*error_r = err_fmt("attribute %s: value too long", name);
		return -1;
	}
	if (buf_append_char(out, '\n') < 0) {
		buf_truncate(out, start);
		*error_r = err_fmt("attribute %s: output buffer full", name);
		return -1;
	}
	return 0;
}

int
attr_encode(struct buf *out, const char *name, const char *value,
    const char **error_r)
{
	return attr_encode_bin(out, name, value, strlen(value), error_r);
}

int
attr_encode_uint(struct buf *out, const char *name, uint64_t value,
    const char **error_r)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);

	return attr_encode_bin(out, name, num, (size_t)n, error_r);
}

int
attr_encode_end(struct buf *out)
{
	return buf_append_char(out, '\n');
}

int
attr_encode_list(struct buf *out, const struct attr_list *l,
    const char **error_r)
{
	size_t start = out->len;

	for (size_t i = 0; i < l->n; i++) {
		if (attr_encode_bin(out, l->v[i].name, l->v[i].value,
		    l->v[i].value_len, error_r) < 0)
			return -1;
	}
	if (attr_encode_end(out) < 0) {
		buf_truncate(out, start);
		*error_r = err_fmt("output buffer full");
		return -1;
	}
	return 0;
}

/* Decoder. */

struct attr_decoder {
	struct buf line;	/* the current, incomplete line */
	struct attr_list req;	/* attributes of the current request */
	unsigned lineno;	/* line number within the current request */
	bool failed;
	char error[ERR_MAX];
};

struct attr_decoder *
attr_decoder_new(void)
{
	struct attr_decoder *d = xcalloc(1, sizeof(*d));

	/* One byte over the limit, so "too long" is noticed, not truncated. */
	buf_init(&d->line, ATTR_LINE_MAX + 1);
	attr_list_init(&d->req);
	return d;
}

void
attr_decoder_free(struct attr_decoder *d)
{
	if (d == NULL)
		return;
	buf_release(&d->line);
	attr_list_release(&d->req);
	free(d);
}

bool
attr_decoder_pending(const struct attr_decoder *d)
{
	return d->line.len > 0 || d->req.n > 0;
}

static int
decoder_fail(struct attr_decoder *d, const char **error_r, const char *what)
{
	d->failed = true;
	(void)snprintf(d->error, sizeof(d->error), "line %u: %s", d->lineno,
	    what);
	*error_r = d->error;
	return -1;
}

/* Parse the complete line in d->line (without its LF) into d->req. */
static int
decoder_line(struct attr_decoder *d, const char **error_r)
{
	const char *s = d->line.data, *eq, *uerr;
	size_t nlen;
	struct buf value;

	eq = memchr(s, '=', d->line.len);
	if (eq == NULL)
		return decoder_fail(d, error_r, "missing '=' after name");
	nlen = (size_t)(eq - s);
	if (nlen == 0 || nlen > ATTR_NAME_MAX)
		return decoder_fail(d, error_r, "bad attribute name");
	for (size_t i = 0; i < nlen; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			return decoder_fail(d, error_r, "bad attribute name");
	}
	if (d->req.n >= ATTR_COUNT_MAX)
		return decoder_fail(d, error_r, "too many attributes");
	buf_init(&value, 0);
	if (attr_unescape(&value, eq + 1, d->line.len - nlen - 1, &uerr) < 0) {
		buf_release(&value);
		return decoder_fail(d, error_r, uerr);
	}
	{
		size_t vlen;
		char *v = buf_detach(&value, &vlen);

		buf_release(&value);
		attr_list_add_owned(&d->req, xstrndup(s, nlen), v, vlen);
	}
	return 0;
}

int
attr_decoder_feed(struct attr_decoder *d, const void *data, size_t len,
    size_t *used_r, struct attr_list *out, const char **error_r)
{
	const char *p = data;
	size_t i = 0;

	*used_r = 0;
	if (d->failed) {
		*error_r = d->error;
		return -1;
	}
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl == NULL ? len - i : (size_t)(nl - (p + i));

		if (buf_append(&d->line, p + i, n) < 0 ||
		    d->line.len > ATTR_LINE_MAX) {
			d->lineno++;
			*used_r = i + n;
			return decoder_fail(d, error_r, "line too long");
		}
		i += n;
		if (nl == NULL)
			break;
		i++;	/* the LF */
		d->lineno++;
		if (d->line.len == 0) {
			if (d->req.n == 0) {
				*used_r = i;
				return decoder_fail(d, error_r,
				    "empty request");
			}
			attr_list_release(out);
			*out = d->req;
			attr_list_init(&d->req);
			d->lineno = 0;
			*used_r = i;
			return 1;
		}
		if (decoder_line(d, error_r) < 0) {
			*used_r = i;
			return -1;
		}
		buf_reset(&d->line);
	}
	*used_r = i;
	return 0;
}

/* Blocking helpers. */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for EVENTS on FD until DEADLINE (ms, <0 = none). 0, or -1 on timeout/error. */
static int
wait_fd(int fd, short events, long long deadline, const char **error_r)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int timeout = -1, r;

		if (deadline >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0) {
				*error_r = err_fmt("timeout");
				return -1;
			}
			timeout = left > 1000000000 ? 1000000000 : (int)left;
		}
		r = poll(&pfd, 1, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*error_r = err_fmt("poll: %s", strerror(errno));
			return -1;
		}
		if (r > 0)
			return 0;
	}
}

int
attr_send(int fd, const void *data, size_t len, int timeout_ms,
    const char **error_r)
{
	const char *p = data;
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	while (len > 0) {
		ssize_t w;

		if (wait_fd(fd, POLLOUT, deadline, error_r) < 0)
			return -1;
		w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			*error_r = err_fmt("write: %s", strerror(errno));
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
attr_recv(int fd, int timeout_ms, struct attr_list *out, const char **error_r)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct attr_decoder *d = attr_decoder_new();
	char chunk[4096];
	int r = -1;

	for (;;) {
		ssize_t got;
		size_t used;
		int fr;

		if (wait_fd(fd, POLLIN, deadline, error_r) < 0)
			break;
		got = recv(fd, chunk, sizeof(chunk), MSG_PEEK | MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			*error_r = err_fmt("read: %s", strerror(errno));
			break;
		}
		if (got == 0) {
			if (attr_decoder_pending(d))
				*error_r = err_fmt("unexpected EOF inside a request");
			else
				r = 0;
			break;
		}
		fr = attr_decoder_feed(d, chunk, (size_t)got, &used, out,
		    error_r);
		/* Take from the socket exactly what the decoder consumed. */
		if (used > 0 && recv(fd, chunk, used, MSG_DONTWAIT) !=
		    (ssize_t)used) {
			*error_r = err_fmt("read: %s", strerror(errno));
			break;
		}
		if (fr < 0) {
			/* The text lives in the decoder, which is freed below. */
			*error_r = err_fmt("%s", *error_r);
			break;
		}
		if (fr > 0) {
			r = 1;
			break;
		}
	}
	attr_decoder_free(d);
	return r;
}
