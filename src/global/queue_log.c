/*
 * queue_log - bounce/ID and defer/ID logs; see queue_log.h.
 *
 * Reads files written by qmgr (another process, possibly cut by a crash):
 * every field is checked by the attr decoder and attr_get_uint.
 */
#include "queue_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "err.h"
#include "file.h"
#include "mem.h"
#include "str.h"

/* A log larger than this is not read (it cannot be legitimate). */
#define QUEUE_LOG_MAX (64u * 1024 * 1024)

void
queue_log_path(struct buf *out, const char *queue_dir, const char *folder,
    const char *id, const char *suffix)
{
	buf_reset(out);
	buf_printf(out, "%s/%s/%s%s", queue_dir, folder, id, suffix);
}

int
queue_log_append(const char *path, const struct queue_log_entry *e,
    bool sync, const char **error_r)
{
	struct buf b;
	const char *error;
	bool created = false;
	int fd, ret = -1;

	buf_init(&b, 0);
	if (attr_encode_uint(&b, "rcpt", e->rcpt, &error) < 0 ||
	    attr_encode(&b, "address", e->address, &error) < 0 ||
	    attr_encode(&b, "action", e->action, &error) < 0 ||
	    attr_encode(&b, "dsn", e->dsn, &error) < 0 ||
	    attr_encode(&b, "reason", e->reason, &error) < 0 ||
	    attr_encode_uint(&b, "time", (uint64_t)e->time, &error) < 0 ||
	    attr_encode_end(&b) < 0) {
		/* A reason too long for one line: keep the start of it. */
		struct buf r;

		buf_init(&r, 0);
		buf_append(&r, e->reason, strlen(e->reason) > 2000 ? 2000 :
		    strlen(e->reason));
		buf_reset(&b);
		if (attr_encode_uint(&b, "rcpt", e->rcpt, &error) < 0 ||
		    attr_encode(&b, "address", e->address, &error) < 0 ||
		    attr_encode(&b, "action", e->action, &error) < 0 ||
		    attr_encode(&b, "dsn", e->dsn, &error) < 0 ||
		    attr_encode(&b, "reason", r.data, &error) < 0 ||
		    attr_encode_uint(&b, "time", (uint64_t)e->time,
		    &error) < 0 || attr_encode_end(&b) < 0) {
			buf_release(&r);
			buf_release(&b);
			*error_r = err_fmt("%s: cannot encode entry: %s", path,
			    error);
			return -1;
		}
		buf_release(&r);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
		created = true;
	}
	if (fd < 0) {
		*error_r = err_fmt("open %s: %m", path);
		goto out;
	}
	if (file_write_full(fd, b.data, b.len) < 0) {
		*error_r = err_fmt("write %s: %m", path);
		goto out;
	}
	if (sync && fsync(fd) < 0) {
		*error_r = err_fmt("fsync %s: %m", path);
		goto out;
	}
	if (sync && created && file_fsync_parent(path, error_r) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	buf_release(&b);
	return ret;
}

struct queue_log_priv {
	struct strlist strings;
};

static const char *
keep(struct queue_log_priv *p, const char *s)
{
	strlist_add(&p->strings, s);
	return p->strings.v[p->strings.n - 1];
}

int
queue_log_read(const char *path, struct queue_log *log, bool *exists_r,
    const char **error_r)
{
	struct queue_log_priv *p = xcalloc(1, sizeof(*p));
	struct attr_decoder *d;
	struct attr_list req;
	struct buf data;
	size_t pos = 0, cap = 0;
	const char *error;

	memset(log, 0, sizeof(*log));
	strlist_init(&p->strings);
	log->priv = p;
	if (exists_r != NULL)
		*exists_r = false;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	buf_init(&data, 0);
	if (file_read_all(path, &data, QUEUE_LOG_MAX, &error) < 0) {
		buf_release(&data);
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return 0;
		*error_r = err_fmt("%s", error);
		return -1;
	}
	if (exists_r != NULL)
		*exists_r = true;
	d = attr_decoder_new();
	attr_list_init(&req);
	while (pos < data.len) {
		struct queue_log_entry e;
		uint64_t rcpt, t;
		size_t used;
		int ret;

		ret = attr_decoder_feed(d, data.data + pos, data.len - pos,
		    &used, &req, &error);
		if (ret <= 0)
			break;
		pos += used;
		if (attr_get_uint(&req, "rcpt", 0, 10000000, &rcpt,
		    &error) < 0 ||
		    attr_get_uint(&req, "time", 0, INT64_MAX, &t, &error) < 0 ||
		    attr_get(&req, "address") == NULL ||
		    attr_get(&req, "action") == NULL ||
		    attr_get(&req, "dsn") == NULL ||
		    attr_get(&req, "reason") == NULL)
			break;
		e.rcpt = (size_t)rcpt;
		e.time = (time_t)t;
		e.address = keep(p, attr_get(&req, "address"));
		e.action = keep(p, attr_get(&req, "action"));
		e.dsn = keep(p, attr_get(&req, "dsn"));
		e.reason = keep(p, attr_get(&req, "reason"));
		if (log->n == cap) {
			cap = cap ? cap * 2 : 8;
			log->v = xreallocarray(log->v, cap, sizeof(*log->v));
		}
		log->v[log->n++] = e;
	}
	attr_list_release(&req);
	attr_decoder_free(d);
	buf_release(&data);
	return 0;
}

void
queue_log_release(struct queue_log *log)
{
	struct queue_log_priv *p = log->priv;

	if (p != NULL) {
		strlist_release(&p->strings);
		free(p);
	}
	free(log->v);
	memset(log, 0, sizeof(*log));
}

const struct queue_log_entry *
queue_log_last(const struct queue_log *log, size_t rcpt)
{
	for (size_t i = log->n; i-- > 0;)
		if (log->v[i].rcpt == rcpt)
			return &log->v[i];
	return NULL;
}
