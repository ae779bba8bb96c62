/*
 * qmgr - the queue manager: it hands every message in the queue to the
 * delivery agents, recipient by recipient, until each is delivered or
 * bounced (docs/qmgr.md).
 *
 * Process model: one process, one libevent loop.  New mail is noticed
 * through inotify on incoming/, `request=wakeup` on private/qmgr (cleanup,
 * master every 300 s) and a scan every queue_run_delay; deferred/ is
 * scanned every queue_run_delay and when a known retry time comes.
 * Deliveries are non-blocking exchanges with the agents (qmgr_call.c);
 * the file work (rename, small appends, one-byte marks) is quick local
 * I/O done in the loop.  After a restart the folders are all the state
 * there is: active/ is taken again first.
 *
 * Runs as mail_owner (dropped before the loop).  Distrusts its clients on
 * private/qmgr (any local process of mail_owner's group) and the agents'
 * replies: see qmgr_msg.c.
 *
 * Signals (daemon.h): SIGTERM exits at once (what is in flight is taken
 * again from active/ at the next start); SIGUSR1 starts no new delivery
 * and exits when the ones in flight are answered.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "attr.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"
#include "queue.h"
#include "queue_id.h"
#include "resolve.h"
#include "str.h"
#include "trigger.h"

/* A client of private/qmgr may send this many requests at once. */
#define QMGR_CLIENT_TIMEOUT 60

struct qmgr_cfg qmgr_cfg;
struct event_base *qmgr_base;

static struct event *ev_incoming_now;	/* zero-timeout: scan incoming/ */
static struct event *ev_deferred;	/* timer: scan deferred/ */
static struct event *ev_periodic;	/* every queue_run_delay */
static struct event *ev_inotify;
static int inotify_fd = -1;
static time_t deferred_at;		/* when ev_deferred fires; 0: idle */
static bool incoming_backlog;		/* the active limit left files */
static bool deferred_backlog;
static bool draining;

bool
qmgr_draining(void)
{
	return draining;
}

static unsigned n_clients;		/* open private/qmgr connections */

void
qmgr_call_finished(void)
{
	/* Clients already accepted are answered first (client_read). */
	if (draining && qmgr_call_count() == 0 && n_clients == 0) {
		log_info("drained: exiting");
		event_base_loopbreak(qmgr_base);
	}
}

static void
scan_incoming_soon(void)
{
	struct timeval zero = { 0, 0 };

	if (!event_pending(ev_incoming_now, EV_TIMEOUT, NULL))
		event_add(ev_incoming_now, &zero);
}

static void
deferred_timer_at(time_t when)
{
	time_t now = time(NULL);
	struct timeval tv = { when > now ? when - now : 0, 0 };

	if (deferred_at != 0 && deferred_at <= when &&
	    event_pending(ev_deferred, EV_TIMEOUT, NULL))
		return;
	deferred_at = when;
	event_add(ev_deferred, &tv);
}

void
qmgr_deferred_due(time_t when)
{
	deferred_timer_at(when);
}

void
qmgr_message_gone(void)
{
	if (draining)
		return;
	if (incoming_backlog)
		scan_incoming_soon();
	if (deferred_backlog)
		deferred_timer_at(time(NULL));
}

static bool
room(void)
{
	return !draining &&
	    qmgr_msg_count() < qmgr_cfg.qmgr_message_active_limit;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The queue IDs in FOLDER, sorted (oldest first). */
static void
list_folder(const char *folder, struct strlist *out)
{
	struct buf path;
	DIR *dir;
	struct dirent *de;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", qmgr_cfg.queue_directory, folder);
	dir = opendir(path.data);
	if (dir == NULL) {
		log_warning("open folder %s: %m", path.data);
		buf_release(&path);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (queue_id_valid(de->d_name))
			strlist_add(out, de->d_name);
	(void)closedir(dir);
	buf_release(&path);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

static void
scan_incoming(void)
{
	struct strlist ids;
	bool skipped = false;

	strlist_init(&ids);
	list_folder(QUEUE_INCOMING, &ids);
	incoming_backlog = false;
	for (size_t i = 0; i < ids.n; i++) {
		if (!room()) {
			incoming_backlog = !draining;
			break;
		}
		/* Requeued while still being delivered: take it later. */
		if (qmgr_msg_known(ids.v[i])) {
			skipped = true;
			continue;
		}
		(void)qmgr_msg_take(QUEUE_INCOMING, ids.v[i]);
	}
	if (skipped)
		incoming_backlog = true;
	strlist_release(&ids);
}

/* Take files of deferred/ whose time has come; arm the timer for the rest. */
static void
scan_deferred(void)
{
	struct strlist ids;
	struct buf path;
	time_t now = time(NULL), next = 0;

	strlist_init(&ids);
	buf_init(&path, 0);
	list_folder(QUEUE_DEFERRED, &ids);
	deferred_backlog = false;
	for (size_t i = 0; i < ids.n; i++) {
		struct stat st;

		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s", qmgr_cfg.queue_directory,
		    QUEUE_DEFERRED, ids.v[i]);
		if (stat(path.data, &st) < 0)
			continue;
		if (st.st_mtime > now) {
			if (next == 0 || st.st_mtime < next)
				next = st.st_mtime;
			continue;
		}
		if (!room()) {
			deferred_backlog = !draining;
			break;
		}
		if (qmgr_msg_known(ids.v[i]))
			continue;
		(void)qmgr_msg_take(QUEUE_DEFERRED, ids.v[i]);
	}
	strlist_release(&ids);
	buf_release(&path);
	deferred_at = 0;
	if (next != 0)
		deferred_timer_at(next);
}

/* request=flush: every deferred message is due now. */
static void
flush_deferred(void)
{
	struct strlist ids;
	struct buf path;

	strlist_init(&ids);
	buf_init(&path, 0);
	list_folder(QUEUE_DEFERRED, &ids);
	for (size_t i = 0; i < ids.n; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s", qmgr_cfg.queue_directory,
		    QUEUE_DEFERRED, ids.v[i]);
		/* Now as mtime: a flush survives the active limit. */
		(void)utimes(path.data, NULL);
	}
	strlist_release(&ids);
	buf_release(&path);
	deferred_timer_at(time(NULL));
}

static void
on_incoming_now(evutil_socket_t fd, short what, void *arg)
{
	scan_incoming();
}

static void
on_deferred(evutil_socket_t fd, short what, void *arg)
{
	if (!draining)
		scan_deferred();
}

static void
on_periodic(evutil_socket_t fd, short what, void *arg)
{
	if (draining)
		return;
	scan_incoming();
	deferred_timer_at(time(NULL));
}

static void
on_inotify(evutil_socket_t fd, short what, void *arg)
{
	char events[4096] __attribute__((aligned(8)));
	ssize_t n;

	/* Which file does not matter: drain, then scan once. */
	while ((n = read(fd, events, sizeof(events))) > 0)
		;
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warning("inotify read: %m");
	if (!draining)
		scan_incoming_soon();
}

/* The qmgr socket: request=wakeup and request=flush. */

struct client {
	struct bufferevent *bev;
	struct attr_decoder *dec;
	struct attr_list req;
	struct client *prev, *next;
};

static struct client *clients;

/* A draining qmgr gives its clients this long to send their request. */
#define QMGR_DRAIN_CLIENT_TIMEOUT 5

static void
client_free(struct client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	n_clients--;
	bufferevent_free(c->bev);
	attr_decoder_free(c->dec);
	attr_list_release(&c->req);
	free(c);
	qmgr_call_finished();
}

/* STATUS "0", or a failure with its DSN code and REASON. */
static void
client_reply(struct client *c, const char *status, const char *dsn,
    const char *reason)
{
	struct buf out;
	const char *error;

	buf_init(&out, 0);
	attr_encode(&out, "status", status, &error);
	if (strcmp(status, "0") != 0) {
		attr_encode(&out, "dsn", dsn, &error);
		attr_encode(&out, "reason", reason, &error);
	}
	attr_encode_end(&out);
	bufferevent_write(c->bev, out.data, out.len);
	buf_release(&out);
}

/*
 * A draining qmgr starts nothing new: master has already started its
 * successor on the same listening socket (which this process no longer
 * accepts on), so a request that reached this process is handed on
 * there.  Otherwise a flush right after `ulak reload` would be lost.
 */
static void
client_hand_on(struct client *c, const char *request)
{
	struct buf path;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s/qmgr", qmgr_cfg.queue_directory,
	    QUEUE_PRIVATE);
	if (trigger_send(path.data, request) == 0) {
		log_info("draining: request=%s handed on to the new queue "
		    "manager", request);
		client_reply(c, "0", NULL, NULL);
	} else {
		log_warning("draining: cannot hand request=%s on to %s: %m",
		    request, path.data);
		client_reply(c, "4", "4.3.0", "the queue manager is "
		    "restarting; try again");
	}
	buf_release(&path);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *error;

	while (evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		unsigned char *data = evbuffer_pullup(in, (ev_ssize_t)len);
		int ret = attr_decoder_feed(c->dec, data, len, &used, &c->req,
		    &error);
		const char *r;

		evbuffer_drain(in, used);
		if (ret < 0) {
			log_warning("private/qmgr client: %s", error);
			client_free(c);
			return;
		}
		if (ret == 0)
			return;
		r = attr_get(&c->req, "request");
		if (r != NULL && strcmp(r, "wakeup") == 0) {
			if (draining)
				client_hand_on(c, r);
			else {
				scan_incoming_soon();
				client_reply(c, "0", NULL, NULL);
			}
		} else if (r != NULL && strcmp(r, "flush") == 0) {
			if (draining)
				client_hand_on(c, r);
			else {
				flush_deferred();
				scan_incoming_soon();
				client_reply(c, "0", NULL, NULL);
			}
		} else {
			log_warning("private/qmgr client: unknown request %s",
			    r != NULL ? r : "(none)");
			client_reply(c, "5", "5.5.2", "unknown request");
		}
	}
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	/* EOF (master and cleanup close right after their wakeup), error
	 * or idle timeout. */
	client_free(arg);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct client *c = xcalloc(1, sizeof(*c));
	struct timeval tv = { QMGR_CLIENT_TIMEOUT, 0 };

	c->bev = bufferevent_socket_new(qmgr_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		(void)close(fd);
		free(c);
		return;
	}
	c->dec = attr_decoder_new();
	attr_list_init(&c->req);
	c->next = clients;
	if (clients != NULL)
		clients->prev = c;
	clients = c;
	n_clients++;
	bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Signals. */

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	log_info("terminating on signal %d", (int)sig);
	event_base_loopbreak(qmgr_base);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct evconnlistener *l = arg;

	if (draining)
		return;
	draining = true;
	if (l != NULL)
		evconnlistener_disable(l);
	for (struct client *c = clients; c != NULL; c = c->next) {
		struct timeval tv = { QMGR_DRAIN_CLIENT_TIMEOUT, 0 };

		bufferevent_set_timeouts(c->bev, &tv, &tv);
	}
	log_info("draining: %u deliveries in flight, %u clients",
	    qmgr_call_count(), n_clients);
	qmgr_call_finished();
}

/* Start-up. */

static unsigned
limit_of(struct config *c, const char *name, unsigned min)
{
	uint64_t v = config_int(c, name);

	if (v < min)
		v = min;
	if (v > 1000000)
		v = 1000000;
	return (unsigned)v;
}

static void
read_config(struct daemon *d)
{
	struct config *c = d->cfg;
	const char *error;
	uint64_t t;

	qmgr_cfg.config = c;
	qmgr_cfg.queue_directory = xstrdup(config_str(c, "queue_directory"));
	qmgr_cfg.minimal_backoff_time = config_time(c, "minimal_backoff_time");
	qmgr_cfg.maximal_backoff_time = config_time(c, "maximal_backoff_time");
	qmgr_cfg.queue_run_delay = config_time(c, "queue_run_delay");
	if (qmgr_cfg.queue_run_delay == 0)
		qmgr_cfg.queue_run_delay = 1;
	qmgr_cfg.maximal_queue_lifetime = config_time(c,
	    "maximal_queue_lifetime");
	qmgr_cfg.bounce_queue_lifetime = config_time(c,
	    "bounce_queue_lifetime");
	/* Postfix: bounce_queue_lifetime never exceeds the other. */
	if (qmgr_cfg.bounce_queue_lifetime > qmgr_cfg.maximal_queue_lifetime)
		qmgr_cfg.bounce_queue_lifetime =
		    qmgr_cfg.maximal_queue_lifetime;
	qmgr_cfg.delay_warning_time = config_time(c, "delay_warning_time");
	t = config_time(c, "ipc_timeout");
	if (t == 0 || t > 24 * 3600)
		t = 3600;
	qmgr_cfg.ipc_timeout = (int)t;
	qmgr_cfg.qmgr_message_active_limit = limit_of(c,
	    "qmgr_message_active_limit", 1);
	qmgr_cfg.default_destination_concurrency_limit = limit_of(c,
	    "default_destination_concurrency_limit", 1);
	qmgr_cfg.default_destination_recipient_limit = limit_of(c,
	    "default_destination_recipient_limit", 1);
	qmgr_cfg.default_process_limit = limit_of(c, "default_process_limit",
	    1);
	qmgr_cfg.resolve = resolve_from_config(c, &error);
	if (qmgr_cfg.resolve == NULL)
		log_fatal("%s", error);
}

static void
setup_inotify(void)
{
	struct buf path;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", qmgr_cfg.queue_directory, QUEUE_INCOMING);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd < 0 ||
	    inotify_add_watch(inotify_fd, path.data,
	    IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		/* Not fatal: wakeups and the periodic scan still work. */
		log_warning("inotify on %s: %m; relying on wakeups",
		    path.data);
		if (inotify_fd >= 0)
			(void)close(inotify_fd);
		inotify_fd = -1;
	} else {
		ev_inotify = event_new(qmgr_base, inotify_fd,
		    EV_READ | EV_PERSIST, on_inotify, NULL);
		event_add(ev_inotify, NULL);
	}
	buf_release(&path);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct evconnlistener *listener = NULL;
	struct event *ev_term, *ev_usr1;
	struct timeval period;
	struct strlist ids;

	daemon_init(&d, "qmgr", argc, argv);
	read_config(&d);
	daemon_drop_privileges(&d);
	signal(SIGPIPE, SIG_IGN);

	qmgr_base = event_base_new();
	if (qmgr_base == NULL)
		log_fatal("event_base_new failed");
	if (d.n_listen > 0) {
		evutil_make_socket_nonblocking(d.listen_fds[0]);
		listener = evconnlistener_new(qmgr_base, on_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
		    d.listen_fds[0]);
		if (listener == NULL)
			log_fatal("cannot listen on descriptor %d",
			    d.listen_fds[0]);
	} else
		log_warning("no listening socket: wakeup and flush requests "
		    "are not served");
	ev_term = evsignal_new(qmgr_base, SIGTERM, on_term, NULL);
	ev_usr1 = evsignal_new(qmgr_base, SIGUSR1, on_usr1, listener);
	event_add(ev_term, NULL);
	event_add(ev_usr1, NULL);
	ev_incoming_now = event_new(qmgr_base, -1, 0, on_incoming_now, NULL);
	ev_deferred = event_new(qmgr_base, -1, 0, on_deferred, NULL);
	ev_periodic = event_new(qmgr_base, -1, EV_PERSIST, on_periodic, NULL);
	period.tv_sec = (time_t)qmgr_cfg.queue_run_delay;
	period.tv_usec = 0;
	event_add(ev_periodic, &period);
	setup_inotify();

	/* Rebuild: what was active when qmgr stopped comes first. */
	strlist_init(&ids);
	list_folder(QUEUE_ACTIVE, &ids);
	for (size_t i = 0; i < ids.n; i++)
		(void)qmgr_msg_take(QUEUE_ACTIVE, ids.v[i]);
	strlist_release(&ids);
	scan_incoming();
	scan_deferred();

	event_base_dispatch(qmgr_base);

	if (listener != NULL)
		evconnlistener_free(listener);
	if (ev_inotify != NULL)
		event_free(ev_inotify);
	if (inotify_fd >= 0)
		(void)close(inotify_fd);
	event_free(ev_term);
	event_free(ev_usr1);
	event_free(ev_incoming_now);
	event_free(ev_deferred);
	event_free(ev_periodic);
	qmgr_msg_shutdown();
	resolve_free(qmgr_cfg.resolve);
	free(qmgr_cfg.queue_directory);
	daemon_release(&d);
	/* Calls still in flight are abandoned; their files stay in active/. */
	return 0;
}
