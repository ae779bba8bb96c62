/*
 * netserver - accept clients on master's listening sockets, count
 * sessions and connections per client address, and drain or stop on
 * master's signals (netserver.h).
 *
 * It reads nothing from the network itself: the connections go to the
 * daemon's callback as they are.  The client addresses it counts are the
 * daemon's text; the table grows with the number of distinct addresses
 * connected at the same time and shrinks as they leave.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "daemon.h"
#include "log.h"
#include "mem.h"
#include "netserver.h"

#define CONN_BUCKETS 1024

/* Connections from one client address. */
struct conn_entry {
	struct conn_entry *next;
	unsigned long count;
	char addr[];
};

struct netserver {
	struct event_base *base;
	struct netserver_callbacks cb;
	void *ctx;
	struct evconnlistener *listeners[DAEMON_LISTEN_MAX];
	int n_listeners;
	struct event *ev_term, *ev_usr1;
	unsigned long sessions;
	bool draining;
	struct conn_entry *conns[CONN_BUCKETS];
};

static unsigned
conn_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % CONN_BUCKETS;
}

unsigned long
netserver_conn_add(struct netserver *ns, const char *addr)
{
	struct conn_entry **pp = &ns->conns[conn_hash(addr)], *e;
	size_t len;

	for (e = *pp; e != NULL; e = e->next)
		if (strcmp(e->addr, addr) == 0)
			return ++e->count;
	len = strlen(addr);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->addr, addr, len + 1);
	e->count = 1;
	e->next = *pp;
	*pp = e;
	return 1;
}

static void
conn_release(struct netserver *ns, const char *addr)
{
	struct conn_entry **pp = &ns->conns[conn_hash(addr)], *e;

	for (; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->addr, addr) != 0)
			continue;
		if (--e->count == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}

void
netserver_session_ended(struct netserver *ns, const char *addr)
{
	if (addr != NULL)
		conn_release(ns, addr);
	ns->sessions--;
	if (ns->draining && ns->sessions == 0)
		event_base_loopbreak(ns->base);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct netserver *ns = arg;

	if (ns->draining) {
		evutil_closesocket(fd);
		return;
	}
	ns->sessions++;
	ns->cb.connection(ns->ctx, fd, sa, (socklen_t)salen);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	/* EMFILE and the like: go on; the next client may get through. */
	log_warning("accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	/* Each daemon's top comment says why nothing is lost. */
	_exit(0);
}

static void
sigusr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct netserver *ns = arg;

	if (ns->draining)
		return;
	ns->draining = true;
	for (int i = 0; i < ns->n_listeners; i++)
		evconnlistener_disable(ns->listeners[i]);
	log_info("draining: %lu session(s) left", ns->sessions);
	if (ns->sessions == 0)
		event_base_loopbreak(ns->base);
}

struct netserver *
netserver_new(struct event_base *base, const struct daemon *d,
    const struct netserver_callbacks *cb, void *ctx)
{
	struct netserver *ns = xcalloc(1, sizeof(*ns));

	ns->base = base;
	ns->cb = *cb;
	ns->ctx = ctx;
	for (int i = 0; i < d->n_listen; i++) {
		evutil_make_socket_nonblocking(d->listen_fds[i]);
		ns->listeners[i] = evconnlistener_new(base, accept_cb, ns,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
		    d->listen_fds[i]);
		if (ns->listeners[i] == NULL)
			log_fatal("cannot listen on descriptor %d",
			    d->listen_fds[i]);
		evconnlistener_set_error_cb(ns->listeners[i], accept_error_cb);
		ns->n_listeners++;
	}
	ns->ev_term = evsignal_new(base, SIGTERM, sigterm_cb, ns);
	ns->ev_usr1 = evsignal_new(base, SIGUSR1, sigusr1_cb, ns);
	event_add(ns->ev_term, NULL);
	event_add(ns->ev_usr1, NULL);
	return ns;
}

void
netserver_free(struct netserver *ns)
{
	if (ns == NULL)
		return;
	for (int i = 0; i < ns->n_listeners; i++)
		evconnlistener_free(ns->listeners[i]);
	event_free(ns->ev_term);
	event_free(ns->ev_usr1);
	for (int i = 0; i < CONN_BUCKETS; i++) {
		while (ns->conns[i] != NULL) {
			struct conn_entry *e = ns->conns[i];

			ns->conns[i] = e->next;
			free(e);
		}
	}
	free(ns);
}
