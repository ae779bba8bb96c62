/*
 * netserver - the skeleton of a libevent daemon that serves network
 * clients on the listening sockets master passes (daemon.h): accept
 * connections, count sessions and connections per client address, and
 * follow master's signals.
 *
 * SIGTERM exits the process at once with status 0 (the daemon's own
 * top comment says why that loses nothing).  SIGUSR1 drains: the
 * listeners stop accepting, "draining: N session(s) left" is logged, and
 * the event loop is broken (event_base_loopbreak) as soon as no session
 * is left; the daemon then logs "exiting: drained", frees everything and
 * returns from main.
 *
 * A session is counted from the moment the connection callback is called
 * until the daemon calls netserver_session_ended() for it, exactly once.
 * The count of connections per client address is separate: a session
 * adds its address with netserver_conn_add() when it knows it, compares
 * the count with its own limit and refuses the client in its own
 * protocol, and names the same address in netserver_session_ended().
 */
#ifndef ULAK_NETSERVER_H
#define ULAK_NETSERVER_H

#include <stdbool.h>
#include <sys/socket.h>

struct daemon;
struct event_base;
struct netserver;

struct netserver_callbacks {
	/*
	 * A client connected on FD (non-blocking, owned by the callee from
	 * now on), from the address SA.  CTX is netserver_new's.
	 * Called only while not draining; the session is counted already.
	 */
	void (*connection)(void *ctx, int fd, const struct sockaddr *sa,
	    socklen_t salen);
};

/*
 * Listen on every socket of D (d->listen_fds: at least one) with BASE,
 * and catch SIGTERM and SIGUSR1 on BASE.  CB is copied; CTX is passed to
 * its callbacks.  Exits with a fatal log line when a socket cannot be
 * listened on.  Free with netserver_free().
 */
struct netserver *netserver_new(struct event_base *base,
    const struct daemon *d, const struct netserver_callbacks *cb,
    void *ctx);

/*
 * Count one more connection from the client address ADDR (text, as the
 * daemon logs it); returns the count including this one.  Never fails.
 */
unsigned long netserver_conn_add(struct netserver *ns, const char *addr);

/*
 * A session ended: count it down, and the connection from ADDR when the
 * session had added it with netserver_conn_add() (else ADDR is NULL).
 * When draining and this was the last session, the event loop stops.
 */
void netserver_session_ended(struct netserver *ns, const char *addr);

/* Stop listening and catching signals, and free NS.  NULL is allowed. */
void netserver_free(struct netserver *ns);

#endif
