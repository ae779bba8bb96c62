/*
 * cleanup_session - the server side of the cleanup protocol
 * (docs/protocols.md, "The cleanup protocol") on one client connection:
 * any number of messages, each an envelope request, recipient requests,
 * content chunks and an end request, answered with one reply.
 *
 * Distrusts the client (smtpd or pickup): every request is checked field
 * by field, every read has the ipc_timeout limit, and anything unexpected
 * ends the connection with the message abandoned (no queue file left).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "cleanup.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "str.h"
#include "trigger.h"

/* Largest content chunk a client may announce. */
#define CLEANUP_CHUNK_MAX (1024u * 1024)

struct reader {
	int fd;
	int timeout_ms;
	char data[65536];
	size_t start, end;
};

/* Read more bytes: >0 got some, 0 at EOF, -1 with error_r. */
static int
reader_fill(struct reader *r, const char **error_r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	ssize_t got;
	int rc;

	if (r->start == r->end)
		r->start = r->end = 0;
	for (;;) {
		rc = poll(&pfd, 1, r->timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			*error_r = err_fmt("poll: %s", strerror(errno));
			return -1;
		}
		if (rc == 0) {
			*error_r = "timeout";
			return -1;
		}
		got = read(r->fd, r->data + r->end, sizeof(r->data) - r->end);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			*error_r = err_fmt("read: %s", strerror(errno));
			return -1;
		}
		r->end += (size_t)got;
		return got > 0 ? 1 : 0;
	}
}

/* One request: 1 got it, 0 clean EOF before it, -1 with error_r. */
static int
read_request(struct reader *r, struct attr_decoder *dec, struct attr_list *req,
    const char **error_r)
{
	for (;;) {
		size_t used;
		int rc;

		if (r->start < r->end) {
			rc = attr_decoder_feed(dec, r->data + r->start,
			    r->end - r->start, &used, req, error_r);
			r->start += used;
			if (rc != 0)
				return rc;
		}
		rc = reader_fill(r, error_r);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (attr_decoder_pending(dec)) {
				*error_r = "connection closed inside a request";
				return -1;
			}
			return 0;
		}
	}
}

/* Pass N raw bytes that follow a data request to the message. */
static int
read_raw(struct reader *r, struct cleanup_msg *m, uint64_t n,
    const char **error_r)
{
	while (n > 0) {
		size_t have = r->end - r->start;

		if (have == 0) {
			int rc = reader_fill(r, error_r);

			if (rc < 0)
				return -1;
			if (rc == 0) {
				*error_r = "connection closed inside the content";
				return -1;
			}
			continue;
		}
		if (have > n)
			have = (size_t)n;
		cleanup_msg_write(m, r->data + r->start, have);
		r->start += have;
		n -= have;
	}
	return 0;
}

/*
 * Tell qmgr that incoming/ has a new file: connect to private/qmgr and
 * send request=wakeup, without waiting.  Best effort: qmgr rescans its
 * folders anyway, so any failure is ignored.
 */
static void
notify_qmgr(const struct cleanup_cfg *cfg)
{
	struct buf path;

	buf_init(&path, 0);
	buf_printf(&path, "%s/private/qmgr", cfg->queue_directory);
	(void)trigger_send(path.data, "wakeup");
	buf_release(&path);
}

static int
send_reply(int fd, const struct cleanup_status *st, int timeout_ms)
{
	struct buf out;
	const char *error;
	int rc;

	buf_init(&out, 0);
	attr_encode_uint(&out, "status", (uint64_t)st->status, &error);
	if (st->status == 0)
		attr_encode(&out, "queue_id", st->queue_id, &error);
	else {
		attr_encode(&out, "dsn", st->dsn, &error);
		attr_encode(&out, "reason", st->reason, &error);
	}
	attr_encode_end(&out);
	rc = attr_send(fd, out.data, out.len, timeout_ms, &error);
	if (rc < 0)
		log_warning("cannot send the reply to the client: %s", error);
	buf_release(&out);
	return rc;
}

/* Attributes of request=open that map one to one onto queue file fields. */
static const struct {
	const char *name;
	enum queue_field field;
} env_fields[] = {
	{ "envid", QUEUE_ENVID },
	{ "client_name", QUEUE_CLIENT_NAME },
	{ "client_address", QUEUE_CLIENT_ADDRESS },
	{ "client_port", QUEUE_CLIENT_PORT },
	{ "helo_name", QUEUE_HELO_NAME },
	{ "protocol", QUEUE_PROTOCOL },
	{ "sasl_username", QUEUE_SASL_USERNAME },
};

static const struct {
	const char *name;
	enum cleanup_origin origin;
} origins[] = {
	{ "smtpd", CLEANUP_ORIGIN_SMTPD },
	{ "pickup", CLEANUP_ORIGIN_PICKUP },
	{ "bounce", CLEANUP_ORIGIN_BOUNCE },
	{ "local", CLEANUP_ORIGIN_LOCAL },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Every attribute request=open may hold (each at most once). */
static const char *const open_attrs[] = {
	"request", "origin", "sender", "ret", "envid", "flags", "arrival_time",
	"client_name", "client_address", "client_port", "helo_name",
	"protocol", "sasl_username", "full_name", "uid", "rewrite_headers",
};

/* Fill ENV from request=open; -1 with error_r when it is bad. */
static int
parse_open(const struct attr_list *req, struct cleanup_env *env,
    const char **error_r)
{
	const char *origin = NULL;
	bool rewrite_set = false, rewrite = false;
	size_t k;

	for (size_t i = 0; i < req->n; i++) {
		const struct attr *a = &req->v[i];
		const char *v = a->value;

		for (k = 0; k < N_ELEMS(open_attrs); k++)
			if (strcmp(a->name, open_attrs[k]) == 0)
				break;
		if (k == N_ELEMS(open_attrs)) {
			*error_r = err_fmt("unexpected attribute %s in "
			    "request=open", a->name);
			return -1;
		}
		if (attr_count(req, a->name) != 1) {
			*error_r = err_fmt("repeated attribute %s", a->name);
			return -1;
		}
		if (strlen(v) != a->value_len) {
			*error_r = err_fmt("attribute %s contains a NUL byte",
			    a->name);
			return -1;
		}
		for (k = 0; k < N_ELEMS(env_fields); k++)
			if (strcmp(a->name, env_fields[k].name) == 0)
				break;
		if (k < N_ELEMS(env_fields)) {
			env->fields[env_fields[k].field] = xstrdup(v);
		} else if (strcmp(a->name, "origin") == 0) {
			origin = v;
		} else if (strcmp(a->name, "sender") == 0) {
			env->sender = xstrdup(v);
		} else if (strcmp(a->name, "full_name") == 0) {
			env->full_name = xstrdup(v);
		} else if (strcmp(a->name, "ret") == 0) {
			if (strcmp(v, "full") == 0)
				env->ret = QUEUE_RET_FULL;
			else if (strcmp(v, "hdrs") == 0)
				env->ret = QUEUE_RET_HDRS;
			else {
				*error_r = "bad ret value";
				return -1;
			}
		} else if (strcmp(a->name, "flags") == 0) {
			struct strlist l;
			int bad = 0;

			strlist_init(&l);
			strlist_split(&l, v, ",");
			for (size_t j = 0; j < l.n; j++) {
				if (strcmp(l.v[j], "8bitmime") == 0)
					env->flags |= QUEUE_FLAG_8BITMIME;
				else if (strcmp(l.v[j], "smtputf8") == 0)
					env->flags |= QUEUE_FLAG_SMTPUTF8;
				else
					bad = 1;
			}
			strlist_release(&l);
			if (bad) {
				*error_r = "bad flags value";
				return -1;
			}
		} else if (strcmp(a->name, "uid") == 0) {
			uint64_t uid;

			if (parse_uint(v, 0, 0x7fffffff, &uid, error_r) < 0)
				return -1;
			env->uid = (long)uid;
		} else if (strcmp(a->name, "arrival_time") == 0) {
			uint64_t t;

			if (parse_uint(v, 1, (uint64_t)1 << 40, &t, error_r) < 0)
				return -1;
			env->arrival = (time_t)t;
		} else if (strcmp(a->name, "rewrite_headers") == 0) {
			if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
				*error_r = "bad rewrite_headers value";
				return -1;
			}
			rewrite_set = true;
			rewrite = strcmp(v, "yes") == 0;
		}
	}
	if (origin == NULL) {
		*error_r = "missing attribute origin";
		return -1;
	}
	for (k = 0; k < N_ELEMS(origins); k++)
		if (strcmp(origin, origins[k].name) == 0)
			break;
	if (k == N_ELEMS(origins)) {
		*error_r = "bad origin value";
		return -1;
	}
	env->origin = origins[k].origin;
	if (env->sender == NULL) {
		*error_r = "missing attribute sender";
		return -1;
	}
	/*
	 * Local submissions get missing headers and unqualified header
	 * addresses completed (Postfix: local_header_rewrite_clients);
	 * smtpd asks for it per client with rewrite_headers=yes.
	 */
	env->rewrite_headers = rewrite_set ? rewrite :
	    env->origin == CLEANUP_ORIGIN_PICKUP;
	return 0;
}

/* request=rcpt; -1 with error_r when it is bad (the message fails). */
static int
parse_rcpt(const struct attr_list *req, struct cleanup_msg *m,
    const char **error_r)
{
	const char *addr, *orcpt, *notify_s;
	unsigned notify = 0;

	for (size_t i = 1; i < req->n; i++) {
		const char *n = req->v[i].name;

		if (strcmp(n, "address") != 0 && strcmp(n, "orcpt") != 0 &&
		    strcmp(n, "notify") != 0) {
			*error_r = err_fmt("unexpected attribute %s in "
			    "request=rcpt", n);
			return -1;
		}
		if (attr_count(req, n) != 1) {
			*error_r = err_fmt("repeated attribute %s", n);
			return -1;
		}
	}
	if (attr_require(req, "address", &addr, error_r) < 0)
		return -1;
	if (addr[0] == '\0') {
		*error_r = "empty recipient address";
		return -1;
	}
	orcpt = attr_get(req, "orcpt");
	notify_s = attr_get(req, "notify");
	if (attr_get_bin(req, "orcpt", NULL) != NULL && orcpt == NULL) {
		*error_r = "attribute orcpt contains a NUL byte";
		return -1;
	}
	if (notify_s != NULL && cleanup_parse_notify(notify_s, &notify) < 0) {
		*error_r = "bad notify value";
		return -1;
	}
	cleanup_msg_add_rcpt(m, addr, orcpt, notify);
	return 0;
}

/*
 * One message after its request=open: reply to the open, then rcpt, data
 * and end requests.  Returns 0 when the message is over (reply sent), -1
 * when the connection must close.
 */
static int
session_message(const struct cleanup_cfg *cfg, struct reader *r,
    struct attr_decoder *dec, struct attr_list *req, const char **error_r)
{
	struct cleanup_env env;
	struct cleanup_msg *m = NULL;
	struct cleanup_status st;
	const char *what;
	int rc = -1;

	cleanup_env_init(&env);
	if (parse_open(req, &env, error_r) < 0) {
		/* Answer, so the client knows why; it may open again. */
		struct buf esc;

		buf_init(&esc, 0);
		log_warning("client protocol error: %s",
		    log_escape(&esc, *error_r, strlen(*error_r)));
		buf_release(&esc);
		memset(&st, 0, sizeof(st));
		st.status = 4;
		(void)str_copy(st.dsn, sizeof(st.dsn), "4.3.0");
		(void)str_copy(st.reason, sizeof(st.reason),
		    "internal protocol error");
		*error_r = NULL;
		rc = send_reply(r->fd, &st, cfg->ipc_timeout_ms);
		goto done;
	}
	m = cleanup_msg_begin(cfg, &env);
	cleanup_msg_status(m, &st);
	if (send_reply(r->fd, &st, cfg->ipc_timeout_ms) < 0) {
		*error_r = "cannot send the reply";
		goto done;
	}
	if (st.status != 0) {
		/* The client must not send the rest of this message. */
		rc = 0;
		goto done;
	}
	for (;;) {
		if (read_request(r, dec, req, error_r) <= 0) {
			if (*error_r == NULL)
				*error_r = "connection closed before the end "
				    "of the message";
			goto done;
		}
		if (strcmp(req->v[0].name, "request") != 0 ||
		    attr_count(req, "request") != 1 ||
		    attr_require(req, "request", &what, error_r) < 0) {
			*error_r = "a request must start with request=";
			goto done;
		}
		if (strcmp(what, "rcpt") == 0) {
			const char *why;

			if (parse_rcpt(req, m, &why) < 0)
				cleanup_msg_protocol_error(m, why);
		} else if (strcmp(what, "data") == 0) {
			uint64_t length;

			if (req->n != 2 || attr_get_uint(req, "length", 1,
			    CLEANUP_CHUNK_MAX, &length, error_r) < 0) {
				/* How many bytes follow is unknown: stop. */
				if (req->n != 2)
					*error_r = "request=data must hold "
					    "exactly length=";
				goto done;
			}
			if (read_raw(r, m, length, error_r) < 0)
				goto done;
		} else if (strcmp(what, "end") == 0) {
			uint64_t length;
			const char *why;

			const char *hold = attr_get(req, "hold");
			size_t n_attr = hold != NULL && *hold != '\0' ? 3 : 2;

			/* hold=REASON (optional): smtpd's DMARC quarantine. */
			if (req->n != n_attr || attr_get_uint(req,
			    "content_length", 0, UINT64_MAX, &length,
			    &why) < 0)
				cleanup_msg_protocol_error(m, req->n != n_attr ?
				    "request=end must hold exactly "
				    "content_length= (and hold=)" : why);
			else if (length != cleanup_msg_size(m))
				cleanup_msg_protocol_error(m, err_fmt(
				    "content_length=%llu but %llu bytes came",
				    (unsigned long long)length,
				    (unsigned long long)cleanup_msg_size(m)));
			else if (n_attr == 3)
				cleanup_msg_hold(m, hold);
			cleanup_msg_finish(m, &st);
			m = NULL;
			rc = send_reply(r->fd, &st, cfg->ipc_timeout_ms);
			if (rc < 0)
				*error_r = "cannot send the reply";
			else if (st.status == 0)
				notify_qmgr(cfg);
			goto done;
		} else {
			*error_r = err_fmt("unexpected request %s inside a "
			    "message", what);
			goto done;
		}
	}
done:
	cleanup_msg_abort(m);
	cleanup_env_release(&env);
	return rc;
}

void
cleanup_session_run(const struct cleanup_cfg *cfg, int fd)
{
	struct reader *r = xcalloc(1, sizeof(*r));
	struct attr_decoder *dec = attr_decoder_new();
	struct attr_list req;
	const char *error = NULL, *what;

	r->fd = fd;
	r->timeout_ms = cfg->ipc_timeout_ms;
	attr_list_init(&req);
	for (;;) {
		int rc = read_request(r, dec, &req, &error);

		if (rc <= 0)
			break;
		if (strcmp(req.v[0].name, "request") != 0 ||
		    attr_count(&req, "request") != 1 ||
		    attr_require(&req, "request", &what, &error) < 0) {
			error = "a request must start with request=";
			break;
		}
		if (strcmp(what, "open") != 0) {
			error = err_fmt("unexpected request %s outside a "
			    "message", what);
			break;
		}
		error = NULL;
		if (session_message(cfg, r, dec, &req, &error) < 0)
			break;
	}
	if (error != NULL) {
		struct buf esc;

		buf_init(&esc, 0);
		log_warning("client connection: %s", log_escape(&esc, error,
		    strlen(error)));
		buf_release(&esc);
	}
	attr_list_release(&req);
	attr_decoder_free(dec);
	free(r);
}
