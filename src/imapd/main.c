/*
 * imapd - serve users' Maildirs to IMAP clients (RFC 3501 IMAP4rev1).
 *
 * One process serves every connection of its service with libevent; the
 * listening sockets come from master (daemon.h).  It reads main.cf, loads
 * the TLS certificate and the password tables, drops privileges for good
 * (to mail_owner, which owns the users' mail), and only then accepts a
 * connection: every byte from the network is handled unprivileged.
 *
 * Signals: SIGTERM exits at once (nothing an IMAP client was told is
 * done lives only in memory: every change is on disk before its OK);
 * SIGUSR1 stops accepting and exits once the last session has ended.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mem.h"
#include "passdb.h"
#include "tls_server.h"

#include "imapd.h"
#include "imapd_hcache.h"
#include "imapd_park.h"

/* Threads that check password hashes (imapd_auth.c). */
#define LOGIN_THREADS 4

static struct evconnlistener *listeners[DAEMON_LISTEN_MAX];
static int n_listeners;

/* Connections per client address (imapd_client_connection_count_limit). */
struct conn_entry {
	struct conn_entry *next;
	unsigned long count;
	char addr[];
};

#define CONN_BUCKETS 256

struct imapd_conn_table {
	struct conn_entry *b[CONN_BUCKETS];
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
imapd_conn_add(struct imapd_server *srv, const char *addr)
{
	struct conn_entry **pp = &srv->conns->b[conn_hash(addr)], *e;
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
conn_release(struct imapd_server *srv, const char *addr)
{
	struct conn_entry **pp = &srv->conns->b[conn_hash(addr)], *e;

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

static void
conn_table_free(struct imapd_conn_table *t)
{
	for (int i = 0; i < CONN_BUCKETS; i++) {
		while (t->b[i] != NULL) {
			struct conn_entry *e = t->b[i];

			t->b[i] = e->next;
			free(e);
		}
	}
	free(t);
}

void
imapd_session_ended(struct imapd_server *srv, const char *addr)
{
	if (addr != NULL)
		conn_release(srv, addr);
	srv->sessions--;
	if (srv->draining && srv->sessions == 0)
		event_base_loopbreak(srv->base);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct imapd_server *srv = arg;

	if (srv->draining) {
		evutil_closesocket(fd);
		return;
	}
	srv->sessions++;
	imapd_session_start(srv, fd, sa, (socklen_t)salen);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	log_warning("accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	_exit(0);
}

static void
sigusr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct imapd_server *srv = arg;

	if (srv->draining)
		return;
	srv->draining = true;
	for (int i = 0; i < n_listeners; i++)
		evconnlistener_disable(listeners[i]);
	log_info("draining: %lu session(s) left", srv->sessions);
	if (srv->sessions == 0)
		event_base_loopbreak(srv->base);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct imapd_server srv;
	struct event *ev_term, *ev_usr1;
	const char *error, *maps;

	memset(&srv, 0, sizeof(srv));
	daemon_init(&d, "imapd", argc, argv);
	if (d.n_listen == 0)
		log_fatal("no listening socket: imapd is started by master "
		    "(or by hand with ULAK_LISTEN_FDS)");
	srv.cfg = d.cfg;
	srv.banner = xstrdup(config_str(d.cfg, "imapd_banner"));
	srv.service = xstrdup(d.service != NULL ? d.service : "imap");
	srv.timeout = config_time(d.cfg, "imapd_timeout");
	if (srv.timeout < 60)
		srv.timeout = 60;
	srv.tls_auth_only = config_bool(d.cfg, "imapd_tls_auth_only");
	srv.conn_limit = (unsigned long)config_int(d.cfg,
	    "imapd_client_connection_count_limit");
	srv.conns = xcalloc(1, sizeof(*srv.conns));
	srv.wrappermode = config_bool(d.cfg, "imapd_tls_wrappermode");
	imap_parser_limits_default(&srv.limits);
	{
		uint64_t max = config_size(d.cfg, "message_size_limit");

		if (max > 0 && max < srv.limits.literal_max)
			srv.limits.literal_max = (size_t)max;
	}
	srv.tls = imapd_tls_context(d.cfg, &error);
	if (srv.tls == NULL) {
		if (srv.wrappermode)
			log_fatal("imapd_tls_wrappermode = yes: %s", error);
		log_warning("no TLS (STARTTLS is not offered): %s", error);
	}
	maps = config_str(d.cfg, "imapd_password_maps");
	if (maps[0] == '\0')
		log_warning("imapd_password_maps is empty: nobody can log in");
	srv.passwords = passdb_open(maps, &error);
	if (srv.passwords == NULL)
		log_fatal("imapd_password_maps: %s", error);

	/* Certificate and tables are loaded: privileges go now. */
	daemon_drop_privileges(&d);

	signal(SIGPIPE, SIG_IGN);
	/* Password checks finish on worker threads (event_active). */
	if (evthread_use_pthreads() < 0)
		log_fatal("evthread_use_pthreads failed");
	srv.base = event_base_new();
	if (srv.base == NULL)
		log_fatal("event_base_new failed");
	for (int i = 0; i < d.n_listen; i++) {
		evutil_make_socket_nonblocking(d.listen_fds[i]);
		listeners[i] = evconnlistener_new(srv.base, accept_cb, &srv,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
		    d.listen_fds[i]);
		if (listeners[i] == NULL)
			log_fatal("cannot listen on descriptor %d",
			    d.listen_fds[i]);
		evconnlistener_set_error_cb(listeners[i], accept_error_cb);
		n_listeners++;
	}
	srv.logins = imapd_login_pool_start(LOGIN_THREADS);
	log_info("password checks on %d threads (libcrypt prefers %s)",
	    LOGIN_THREADS, imapd_auth_crypt_method());
	ev_term = evsignal_new(srv.base, SIGTERM, sigterm_cb, &srv);
	ev_usr1 = evsignal_new(srv.base, SIGUSR1, sigusr1_cb, &srv);
	event_add(ev_term, NULL);
	event_add(ev_usr1, NULL);

	event_base_dispatch(srv.base);

	log_info("exiting: drained");
	for (int i = 0; i < n_listeners; i++)
		evconnlistener_free(listeners[i]);
	event_free(ev_term);
	event_free(ev_usr1);
	imapd_login_pool_stop(srv.logins);
	imapd_park_clear();
	imapd_hcache_clear();
	event_base_free(srv.base);
	conn_table_free(srv.conns);
	passdb_close(srv.passwords);
	if (srv.tls != NULL)
		tls_server_free(srv.tls);
	free(srv.banner);
	free(srv.service);
	daemon_release(&d);
	return 0;
}
