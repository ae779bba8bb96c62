/*
 * qmgr_call - one request/reply exchange of qmgr with a daemon under
 * $queue_directory/private/ (a delivery agent or bounce), without ever
 * blocking the event loop: the socket is non-blocking, the reply is
 * decoded incrementally as it arrives, and a timer bounds the wait.
 *
 * Distrusts the reply (another process, possibly broken): the attr
 * decoder enforces every limit; anything malformed is reported as an error
 * and the caller treats it as a temporary failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "attr.h"
#include "buf.h"
#include "err.h"
#include "mem.h"
#include "qmgr.h"
#include "str.h"

struct qmgr_call {
	struct bufferevent *bev;
	struct attr_decoder *dec;
	struct attr_list reply;
	qmgr_call_cb *cb;
	void *ctx;
	char service[64];
	struct qmgr_call *prev, *next;	/* the calls in flight */
};

static unsigned calls_in_flight;
/* Kept in a list so that an exit with calls in flight leaks nothing. */
static struct qmgr_call *calls;

unsigned
qmgr_call_count(void)
{
	return calls_in_flight;
}

static void
call_end(struct qmgr_call *c, const struct attr_list *reply,
    const char *error)
{
	qmgr_call_cb *cb = c->cb;
	void *ctx = c->ctx;

	bufferevent_free(c->bev);
	attr_decoder_free(c->dec);
	calls_in_flight--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	/* The callback may start new calls: C is gone by then. */
	if (reply != NULL) {
		struct attr_list copy = c->reply;

		free(c);
		cb(ctx, &copy, NULL);
		attr_list_release(&copy);
	} else {
		attr_list_release(&c->reply);
		free(c);
		cb(ctx, NULL, error);
	}
	qmgr_call_finished();
}

static void
call_read(struct bufferevent *bev, void *arg)
{
	struct qmgr_call *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *error;

	while (evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		unsigned char *data = evbuffer_pullup(in, (ev_ssize_t)len);
		int ret = attr_decoder_feed(c->dec, data, len, &used,
		    &c->reply, &error);

		evbuffer_drain(in, used);
		if (ret < 0) {
			call_end(c, NULL, err_fmt("malformed reply from "
			    "private/%s: %s", c->service, error));
			return;
		}
		if (ret > 0) {
			call_end(c, &c->reply, NULL);
			return;
		}
	}
}

static void
call_event(struct bufferevent *bev, short what, void *arg)
{
	struct qmgr_call *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		call_end(c, NULL, err_fmt("timeout waiting for a reply from "
		    "private/%s", c->service));
	else if (what & BEV_EVENT_EOF)
		call_end(c, NULL, err_fmt("lost connection with private/%s",
		    c->service));
	else if (what & BEV_EVENT_ERROR)
		call_end(c, NULL, err_fmt("read from private/%s: %s",
		    c->service, strerror(EVUTIL_SOCKET_ERROR())));
}

struct qmgr_call *
qmgr_call_start(const char *service, const struct buf *request, int timeout,
    qmgr_call_cb *cb, void *ctx, const char **error_r)
{
	struct sockaddr_un sun;
	struct qmgr_call *c;
	struct buf path;
	struct timeval tv = { timeout, 0 };
	int fd;

	buf_init(&path, 0);
	buf_printf(&path, "%s/private/%s", qmgr_cfg.queue_directory,
	    service);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path.data) < 0) {
		*error_r = err_fmt("connect to private/%s: socket path too "
		    "long", service);
		buf_release(&path);
		return NULL;
	}
	buf_release(&path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = err_fmt("socket: %s", strerror(errno));
		return NULL;
	}
	/* A Unix socket connects at once or fails (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS) {
		*error_r = err_fmt("connect to private/%s: %s", service,
		    strerror(errno));
		(void)close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	(void)str_copy(c->service, sizeof(c->service), service);
	c->bev = bufferevent_socket_new(qmgr_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		(void)close(fd);
		free(c);
		*error_r = "out of memory (bufferevent)";
		return NULL;
	}
	c->dec = attr_decoder_new();
	attr_list_init(&c->reply);
	c->cb = cb;
	c->ctx = ctx;
	bufferevent_setcb(c->bev, call_read, NULL, call_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (bufferevent_write(c->bev, request->data, request->len) < 0 ||
	    bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		bufferevent_free(c->bev);
		attr_decoder_free(c->dec);
		attr_list_release(&c->reply);
		free(c);
		*error_r = err_fmt("write to private/%s failed", service);
		return NULL;
	}
	calls_in_flight++;
	c->next = calls;
	if (calls != NULL)
		calls->prev = c;
	calls = c;
	return c;
}

void
qmgr_call_shutdown(void (*free_ctx)(qmgr_call_cb *cb, void *ctx))
{
	while (calls != NULL) {
		struct qmgr_call *c = calls;

		calls = c->next;
		bufferevent_free(c->bev);
		attr_decoder_free(c->dec);
		attr_list_release(&c->reply);
		if (free_ctx != NULL)
			free_ctx(c->cb, c->ctx);
		free(c);
	}
	calls_in_flight = 0;
}
