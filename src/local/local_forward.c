/*
 * local_forward - hand remote destinations of an alias or .forward back to
 * the queue: one new message through cleanup (origin=local, docs/
 * protocols.md), with the same content plus a Delivered-To: header (loop
 * detection), and the original recipient's NOTIFY/ORCPT and the message's
 * RET/ENVID.  The original recipient then counts as delivered
 * ("forwarded as ID").
 *
 * Trusts cleanup's replies only as far as the protocol says; a missing or
 * malformed reply defers.
 */
#include "local.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "err.h"
#include "queue_file.h"

/* Envelope fields of the original that its forwarded copy keeps. */
static const struct {
	const char *name;	/* cleanup request attribute */
	enum queue_field field;
} forward_keep[] = {
	{ "client_name", QUEUE_CLIENT_NAME },
	{ "client_address", QUEUE_CLIENT_ADDRESS },
	{ "client_port", QUEUE_CLIENT_PORT },
	{ "helo_name", QUEUE_HELO_NAME },
	{ "sasl_username", QUEUE_SASL_USERNAME },
};

static int
cleanup_connect(const struct local_cfg *cfg, const char **error_r)
{
	struct sockaddr_un sun;
	struct buf path;
	int fd;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/private/cleanup", cfg->queue_directory);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path.data) < 0) {
		*error_r = err_fmt("%s: path too long", path.data);
		buf_release(&path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = err_fmt("connect to %s: %s", path.data,
		    strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		buf_release(&path);
		return -1;
	}
	buf_release(&path);
	return fd;
}

/* Send OUT and empty it. */
static int
flush(int fd, struct buf *out, int timeout_ms, const char **error_r)
{
	int rc = attr_send(fd, out->data, out->len, timeout_ms, error_r);

	buf_reset(out);
	return rc;
}

/* Read a reply; fills R for a failure and returns -1, else 0. */
static int
get_reply(int fd, int timeout_ms, struct attr_list *reply,
    struct local_result *r)
{
	const char *error, *status, *dsn, *reason;
	int rc = attr_recv(fd, timeout_ms, reply, &error);

	if (rc <= 0) {
		local_result_set(r, "4.3.0", "cannot forward: cleanup: %s",
		    rc == 0 ? "connection closed" : error);
		return -1;
	}
	status = attr_get(reply, "status");
	if (status != NULL && strcmp(status, "0") == 0)
		return 0;
	dsn = attr_get(reply, "dsn");
	reason = attr_get(reply, "reason");
	if (status != NULL && strcmp(status, "5") == 0 && dsn != NULL &&
	    dsn[0] == '5' && strlen(dsn) < 16)
		local_result_set(r, dsn, "cannot forward: %s",
		    reason ? reason : "rejected by cleanup");
	else
		local_result_set(r, dsn != NULL && dsn[0] == '4' &&
		    strlen(dsn) < 16 ? dsn : "4.3.0", "cannot forward: %s",
		    reason ? reason : "cleanup failed");
	return -1;
}

void
local_forward(const struct local_cfg *cfg, const struct local_msg *m,
    const char *sender, const char *delivered_to,
    const struct strlist *addrs, struct local_result *r)
{
	struct attr_list reply;
	struct buf out, hdr;
	const char *error, *v, *id;
	uint64_t offset = 0, total = 0;
	int fd, tmo = cfg->ipc_timeout_ms;
	char chunk[65536];
	size_t got;

	attr_list_init(&reply);
	buf_init(&out, 0);
	buf_init(&hdr, 0);
	fd = cleanup_connect(cfg, &error);
	if (fd < 0) {
		local_result_set(r, "4.3.0", "cannot forward: %s", error);
		goto out;
	}
	(void)attr_encode(&out, "request", "open", &error);
	(void)attr_encode(&out, "origin", "local", &error);
	(void)attr_encode(&out, "sender", sender, &error);
	if (queue_file_ret(m->qf) != QUEUE_RET_NONE)
		(void)attr_encode(&out, "ret", queue_file_ret(m->qf) ==
		    QUEUE_RET_FULL ? "full" : "hdrs", &error);
	if ((v = queue_file_get(m->qf, QUEUE_ENVID)) != NULL)
		(void)attr_encode(&out, "envid", v, &error);
	if (queue_file_flags(m->qf) & QUEUE_FLAG_8BITMIME)
		(void)attr_encode(&out, "flags",
		    queue_file_flags(m->qf) & QUEUE_FLAG_SMTPUTF8 ?
		    "8bitmime,smtputf8" : "8bitmime", &error);
	else if (queue_file_flags(m->qf) & QUEUE_FLAG_SMTPUTF8)
		(void)attr_encode(&out, "flags", "smtputf8", &error);
	(void)attr_encode(&out, "protocol", "local", &error);
	/*
	 * Where the original came from goes along, so that the copy is
	 * trusted no more than the original was: the DKIM signer signs a
	 * forwarded stranger's message no more than the stranger's own
	 * (docs/dkim.md).  The Received: of local mail does not show these.
	 */
	for (size_t i = 0; i < sizeof(forward_keep) / sizeof(forward_keep[0]);
	    i++)
		if ((v = queue_file_get(m->qf, forward_keep[i].field)) != NULL &&
		    *v != '\0')
			(void)attr_encode(&out, forward_keep[i].name, v, &error);
	(void)attr_encode_uint(&out, "uid", (uint64_t)getuid(), &error);
	(void)attr_encode_end(&out);
	if (flush(fd, &out, tmo, &error) < 0) {
		local_result_set(r, "4.3.0", "cannot forward: cleanup: %s",
		    error);
		goto out;
	}
	if (get_reply(fd, tmo, &reply, r) < 0)
		goto out;
	for (size_t i = 0; i < addrs->n; i++) {
		(void)attr_encode(&out, "request", "rcpt", &error);
		if (attr_encode(&out, "address", addrs->v[i], &error) < 0) {
			local_result_set(r, "5.1.3", "cannot forward to %s: %s",
			    addrs->v[i], error);
			goto out;
		}
		if (m->notify != 0)
			(void)attr_encode(&out, "notify",
			    queue_notify_str(m->notify), &error);
		if (m->orcpt != NULL && *m->orcpt)
			(void)attr_encode(&out, "orcpt", m->orcpt, &error);
		(void)attr_encode_end(&out);
	}
	/* Delivered-To: first, then the content exactly as queued (CRLF). */
	(void)buf_append_str(&hdr, "Delivered-To: ");
	for (const char *p = delivered_to; *p; p++)
		(void)buf_append_char(&hdr, (unsigned char)*p < ' ' ? '_' : *p);
	(void)buf_append_str(&hdr, "\r\n");
	(void)attr_encode(&out, "request", "data", &error);
	(void)attr_encode_uint(&out, "length", hdr.len, &error);
	(void)attr_encode_end(&out);
	(void)buf_append(&out, hdr.data, hdr.len);
	total = hdr.len;
	for (;;) {
		if (queue_file_read_content(m->qf, offset, chunk,
		    sizeof(chunk), &got, &error) < 0) {
			local_result_set(r, "4.3.0", "cannot forward: %s",
			    error);
			goto out;
		}
		if (got == 0)
			break;
		offset += got;
		total += got;
		(void)attr_encode(&out, "request", "data", &error);
		(void)attr_encode_uint(&out, "length", got, &error);
		(void)attr_encode_end(&out);
		(void)buf_append(&out, chunk, got);
		if (flush(fd, &out, tmo, &error) < 0) {
			local_result_set(r, "4.3.0", "cannot forward: "
			    "cleanup: %s", error);
			goto out;
		}
	}
	(void)attr_encode(&out, "request", "end", &error);
	(void)attr_encode_uint(&out, "content_length", total, &error);
	(void)attr_encode_end(&out);
	if (flush(fd, &out, tmo, &error) < 0) {
		local_result_set(r, "4.3.0", "cannot forward: cleanup: %s",
		    error);
		goto out;
	}
	if (get_reply(fd, tmo, &reply, r) < 0)
		goto out;
	id = attr_get(&reply, "queue_id");
	local_result_set(r, "2.0.0", "forwarded as %s", id ? id : "?");
out:
	if (fd >= 0)
		(void)close(fd);
	attr_list_release(&reply);
	buf_release(&out);
	buf_release(&hdr);
}
