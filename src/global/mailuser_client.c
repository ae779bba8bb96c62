/*
 * mailuser_client - a front's side of the mailuser service: the request
 * with its socketpair end, and the byte relay; see mailuser_client.h.
 *
 * Runs in imapd and pop3d as mail_owner.  The service's reply is read
 * with a length limit (the attr decoder's) and a timeout; anything but a
 * well-formed status=0 is a failure.  The relayed bytes are not looked
 * at: the client's commands are the worker's business, and so are the
 * limits on them.
 */
#include "mailuser_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "attr.h"
#include "bevpace.h"
#include "buf.h"
#include "daemon.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* Output waiting for one side beyond which the other is not read. */
#define RELAY_HIGH (1024 * 1024)
#define RELAY_LOW (256 * 1024)
/* After one side closed: wait at most this many 20 ms polls for the
 * other's output to leave (10 s). */
#define DRAIN_POLLS 500

struct mailuser_request {
	struct event_base *base;
	int ctl;		/* connection to the service, or -1 */
	int mine;		/* the front's end of the pair, or -1 */
	struct event *ev;
	struct attr_decoder *dec;
	char *error;		/* a failure to report from the loop */
	mailuser_request_fn *done;
	void *ctx;
};

static void
request_free(struct mailuser_request *r)
{
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->ctl >= 0)
		close(r->ctl);
	if (r->mine >= 0)
		close(r->mine);
	if (r->dec != NULL)
		attr_decoder_free(r->dec);
	free(r->error);
	free(r);
}

void
mailuser_request_cancel(struct mailuser_request *r)
{
	if (r != NULL)
		request_free(r);
}

static void
request_finish(struct mailuser_request *r, const char *error)
{
	int fd = -1;

	if (error == NULL) {
		fd = r->mine;
		r->mine = -1;
	}
	r->done(r->ctx, fd, error);
	request_free(r);
}

static void
fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailuser_request *r = arg;

	request_finish(r, r->error);
}

static void
reply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailuser_request *r = arg;
	struct attr_list reply;
	char data[4096];
	const char *error, *status, *reason;
	size_t used;
	ssize_t n;
	int rc;

	if (what & EV_TIMEOUT) {
		request_finish(r, "no answer from the mailuser service");
		return;
	}
	n = recv(fd, data, sizeof(data), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		request_finish(r, err_fmt("read from the mailuser service: "
		    "%s", strerror(errno)));
		return;
	}
	if (n == 0) {
		request_finish(r, "the mailuser service closed the connection "
		    "without an answer");
		return;
	}
	attr_list_init(&reply);
	rc = attr_decoder_feed(r->dec, data, (size_t)n, &used, &reply,
	    &error);
	if (rc == 0) {
		attr_list_release(&reply);
		return;
	}
	if (rc < 0)
		error = err_fmt("malformed answer from the mailuser service: "
		    "%s", error);
	else if (used != (size_t)n)
		error = "the mailuser service sent more than one answer";
	else if ((status = attr_get(&reply, "status")) == NULL)
		error = "the mailuser service's answer has no status";
	else if (strcmp(status, "0") == 0)
		error = NULL;
	else {
		reason = attr_get(&reply, "reason");
		error = err_fmt("the mailuser service refused: status=%.8s: "
		    "%.300s", status, reason != NULL ? reason : "(no reason)");
	}
	attr_list_release(&reply);
	request_finish(r, error);
}

/* Connect and send; -1 with *error_r. */
static int
request_send(struct mailuser_request *r, const char *path,
    const struct buf *request, const char **error_r)
{
	struct sockaddr_un sun;
	int pair[2];
	struct msghdr msg;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0) {
		*error_r = err_fmt("socket path too long: %s", path);
		return -1;
	}
	r->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (r->ctl < 0) {
		*error_r = err_fmt("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(r->ctl, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = err_fmt("connect to %s: %s", path, strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		*error_r = err_fmt("socketpair: %s", strerror(errno));
		return -1;
	}
	r->mine = pair[0];
	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = request->data;
	iov.iov_len = request->len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pair[1], sizeof(int));
	/* A fresh socket's buffer takes the whole (small) request. */
	n = sendmsg(r->ctl, &msg, MSG_NOSIGNAL);
	close(pair[1]);
	if (n < 0 || (size_t)n != request->len) {
		*error_r = n < 0 ? err_fmt("send to %s: %s", path,
		    strerror(errno)) : "short send to the mailuser service";
		return -1;
	}
	if (evutil_make_socket_nonblocking(r->mine) < 0) {
		*error_r = "cannot make the socketpair non-blocking";
		return -1;
	}
	return 0;
}

struct mailuser_request *
mailuser_request_start(struct event_base *base, const char *socket_path,
    const struct buf *request, mailuser_request_fn *done, void *ctx)
{
	struct mailuser_request *r = xcalloc(1, sizeof(*r));
	struct timeval tv = { MAILUSER_REPLY_TIMEOUT, 0 };
	const char *error;

	r->base = base;
	r->ctl = r->mine = -1;
	r->done = done;
	r->ctx = ctx;
	r->dec = attr_decoder_new();
	if (request_send(r, socket_path, request, &error) < 0) {
		r->error = xstrdup(error);
		r->ev = event_new(base, -1, 0, fail_cb, r);
		if (r->ev == NULL)
			log_fatal("event_new failed");
		event_active(r->ev, 0, 0);
		return r;
	}
	r->ev = event_new(base, r->ctl, EV_READ | EV_PERSIST, reply_cb, r);
	if (r->ev == NULL)
		log_fatal("event_new failed");
	event_add(r->ev, &tv);
	return r;
}

/* The relay. */

struct mailuser_proxy {
	struct event_base *base;
	struct bufferevent *side[2];	/* 0: the client, 1: the worker */
	struct event *drain_ev;
	unsigned polls;
	mailuser_proxy_end_fn *end;
	void *ctx;
};

void
mailuser_proxy_free(struct mailuser_proxy *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < 2; i++)
		if (p->side[i] != NULL)
			bufferevent_free(p->side[i]);
	if (p->drain_ev != NULL)
		event_free(p->drain_ev);
	free(p);
}

static int
side_of(struct mailuser_proxy *p, struct bufferevent *bev)
{
	return bev == p->side[0] ? 0 : 1;
}

/* Move what side I has read to the other side's output. */
static void
relay(struct mailuser_proxy *p, int i)
{
	struct bufferevent *to = p->side[!i];

	if (to == NULL) {
		struct evbuffer *in = bufferevent_get_input(p->side[i]);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	evbuffer_add_buffer(bufferevent_get_output(to),
	    bufferevent_get_input(p->side[i]));
	/* A TLS filter's output moves on to the socket's below at once. */
	if (bev_unsent(to) > RELAY_HIGH)
		bufferevent_disable(p->side[i], EV_READ);
}

static void
proxy_read_cb(struct bufferevent *bev, void *arg)
{
	struct mailuser_proxy *p = arg;

	relay(p, side_of(p, bev));
}

static void
proxy_write_cb(struct bufferevent *bev, void *arg)
{
	struct mailuser_proxy *p = arg;
	int i = side_of(p, bev);

	/* Below the low mark: read the other side again. */
	if (p->side[!i] != NULL && p->drain_ev == NULL)
		bufferevent_enable(p->side[!i], EV_READ);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailuser_proxy *p = arg;
	struct timeval tv = { 0, 20000 };
	bool empty = true;

	for (int i = 0; i < 2; i++)
		if (p->side[i] != NULL && bev_unsent(p->side[i]) > 0)
			empty = false;
	if (empty || ++p->polls > DRAIN_POLLS) {
		mailuser_proxy_end_fn *end = p->end;
		void *ctx = p->ctx;

		mailuser_proxy_free(p);
		end(ctx);
		return;
	}
	event_add(p->drain_ev, &tv);
}

static void
proxy_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mailuser_proxy *p = arg;
	int i = side_of(p, bev);

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* What arrived just before the close still goes across. */
	relay(p, i);
	bufferevent_free(p->side[i]);
	p->side[i] = NULL;
	if (p->side[!i] != NULL)
		bufferevent_disable(p->side[!i], EV_READ);
	if (p->drain_ev == NULL) {
		p->drain_ev = evtimer_new(p->base, drain_cb, p);
		if (p->drain_ev == NULL)
			log_fatal("evtimer_new failed");
	}
	drain_cb(-1, 0, p);
}

struct mailuser_proxy *
mailuser_proxy_start(struct event_base *base, struct bufferevent *client,
    int fd, mailuser_proxy_end_fn *end, void *ctx)
{
	struct mailuser_proxy *p = xcalloc(1, sizeof(*p));
	struct bufferevent *worker;

	p->base = base;
	p->end = end;
	p->ctx = ctx;
	p->side[0] = client;
	evutil_make_socket_nonblocking(fd);
	worker = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (worker == NULL)
		log_fatal("bufferevent_socket_new failed");
	p->side[1] = worker;
	for (int i = 0; i < 2; i++) {
		bufferevent_setcb(p->side[i], proxy_read_cb, proxy_write_cb,
		    proxy_event_cb, p);
		/* The worker keeps the idle timeout of the session. */
		bufferevent_set_timeouts(p->side[i], NULL, NULL);
		bufferevent_setwatermark(p->side[i], EV_WRITE, RELAY_LOW, 0);
		bufferevent_enable(p->side[i], EV_READ | EV_WRITE);
		/* Below a TLS filter (STARTTLS): see bevpace.h. */
		bev_pace_below(p->side[i], RELAY_LOW, RELAY_HIGH);
	}
	/* Commands pipelined after the login. */
	relay(p, 0);
	return p;
}

/* A ULAK_WORKER_* variable; fatal when it is missing or empty. */
static const char *
worker_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		log_fatal("worker mode: %s is not set", name);
	return v;
}

void
mailuser_worker_setup(struct mailuser_worker *w, const char *extra_name)
{
	struct stat st;

	if (geteuid() == 0 || getuid() == 0)
		log_fatal("worker mode never runs as root");
	w->user = worker_env("ULAK_WORKER_USER");
	w->maildir = worker_env("ULAK_WORKER_MAILDIR");
	w->address = worker_env("ULAK_WORKER_ADDRESS");
	w->extra = worker_env(extra_name);
	w->tls = strcmp(worker_env("ULAK_WORKER_TLS"), "yes") == 0;
	if (w->maildir[0] != '/')
		log_fatal("worker mode: ULAK_WORKER_MAILDIR is not absolute");
	for (const char *p = w->extra; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			log_fatal("worker mode: bad %s", extra_name);
	if (fstat(DAEMON_LISTEN_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
		log_fatal("worker mode: descriptor %d is not a socket",
		    DAEMON_LISTEN_FD);
}
