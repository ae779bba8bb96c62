/*
 * pop3d - let POP3 clients download and delete the mail in their Maildir
 * (RFC 1939, RFC 2449, RFC 2595).
 *
 * One process serves every connection of its service with libevent; the
 * listening sockets come from master (daemon.h).  Start-up: read main.cf,
 * open the password tables and read the TLS certificate and key (which
 * may need root), drop to mail_owner for good, and only then accept a
 * connection: everything from the network is handled unprivileged.  The
 * users' Maildirs must therefore be readable and writable by mail_owner
 * (`ulak init` as root gives its mail users mail_owner's uid).
 *
 * Signals: SIGTERM exits at once (sessions in progress delete nothing:
 * deletions happen only in the UPDATE state after QUIT); SIGUSR1 stops
 * accepting and exits once the last session has ended (master's reload).
 */
#include <errno.h>
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
#include "pop3d.h"
#include "str.h"
#include "tls_server.h"

/* Connections per client address (pop3d_client_connection_count_limit). */
struct conn_entry {
	struct conn_entry *next;
	unsigned long count;
	char addr[];
};

#define CONN_BUCKETS 256

struct pop3d_conn_table {
	struct conn_entry *b[CONN_BUCKETS];
};

static struct evconnlistener *listeners[DAEMON_LISTEN_MAX];
static int n_listeners;

static unsigned
conn_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % CONN_BUCKETS;
}

unsigned long
pop3d_conn_add(struct pop3d_server *srv, const char *addr)
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
conn_release(struct pop3d_server *srv, const char *addr)
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
conn_table_free(struct pop3d_conn_table *t)
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
pop3d_session_ended(struct pop3d_server *srv, const char *addr)
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
	struct pop3d_server *srv = arg;

	if (srv->draining) {
		evutil_closesocket(fd);
		return;
	}
	srv->sessions++;
	pop3d_session_start(srv, fd, sa, (socklen_t)salen);
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
	/* Nothing is deleted before QUIT's UPDATE state: stopping is safe. */
	_exit(0);
}

static void
sigusr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct pop3d_server *srv = arg;

	if (srv->draining)
		return;
	srv->draining = true;
	for (int i = 0; i < n_listeners; i++)
		evconnlistener_disable(listeners[i]);
	log_info("draining: %lu session(s) left", srv->sessions);
	if (srv->sessions == 0)
		event_base_loopbreak(srv->base);
}

static void
read_settings(struct pop3d_server *srv, struct daemon *d)
{
	struct config *cfg = d->cfg;
	const char *level, *cert, *error;
	struct strlist chain;

	srv->banner = xstrdup(config_str(cfg, "pop3d_banner"));
	/* $home and $user are ours to expand: take the raw text. */
	srv->mailbox = xstrdup(config_raw(cfg, "imap_mailbox"));
	srv->service = xstrdup(d->service);
	srv->timeout = config_time(cfg, "pop3d_timeout");
	if (srv->timeout == 0)
		srv->timeout = 1;
	srv->wrappermode = config_bool(cfg, "pop3d_tls_wrappermode");
	srv->tls_auth_only = config_bool(cfg, "pop3d_tls_auth_only");
	srv->fail_delay = config_time(cfg, "pop3d_auth_failure_delay");
	srv->fail_delay_limit = config_time(cfg,
	    "pop3d_auth_failure_delay_limit");
	srv->fail_limit = config_int(cfg, "pop3d_auth_failure_limit");
	srv->conn_limit = config_int(cfg,
	    "pop3d_client_connection_count_limit");
	level = config_str(cfg, "pop3d_tls_security_level");
	if (strcmp(level, "none") == 0 || strcmp(level, "") == 0)
		srv->tls_level = POP3D_TLS_NONE;
	else if (strcmp(level, "may") == 0)
		srv->tls_level = POP3D_TLS_MAY;
	else if (strcmp(level, "encrypt") == 0)
		srv->tls_level = POP3D_TLS_ENCRYPT;
	else
		log_fatal("pop3d_tls_security_level = %s: expected none, may "
		    "or encrypt", level);

	srv->passdb = passdb_open(config_str(cfg, "pop3d_password_maps"),
	    &error);
	if (srv->passdb == NULL)
		log_fatal("pop3d_password_maps: %s", error);
	if (config_str(cfg, "pop3d_password_maps")[0] == '\0')
		log_warning("pop3d_password_maps is empty: every login fails");

	/* The key file is often readable by root only: read it now. */
	cert = config_str(cfg, "pop3d_tls_cert_file");
	strlist_init(&chain);
	config_list(cfg, "pop3d_tls_chain_files", &chain);
	if (srv->wrappermode || srv->tls_level != POP3D_TLS_NONE) {
		if (*cert != '\0' || chain.n > 0) {
			srv->tls = tls_server_new("pop3d", cert,
			    config_str(cfg, "pop3d_tls_key_file"), &chain,
			    &error);
			if (srv->tls == NULL)
				log_fatal("%s", error);
		} else if (srv->wrappermode ||
		    srv->tls_level == POP3D_TLS_ENCRYPT) {
			log_fatal("service %s needs TLS but no certificate is "
			    "configured (pop3d_tls_cert_file)", d->service);
		} else {
			log_warning("no certificate (pop3d_tls_cert_file): "
			    "STLS is not offered");
		}
	}
	strlist_release(&chain);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct pop3d_server srv;
	struct event *ev_term, *ev_usr1;

	memset(&srv, 0, sizeof(srv));
	daemon_init(&d, "pop3d", argc, argv);
	if (d.n_listen == 0)
		log_fatal("no listening socket: pop3d is started by master "
		    "(or by hand with ULAK_LISTEN_FDS)");
	read_settings(&srv, &d);
	srv.conns = xcalloc(1, sizeof(*srv.conns));

	/* Tables and keys are read; from here on nothing needs privileges. */
	daemon_drop_privileges(&d);

	signal(SIGPIPE, SIG_IGN);
	/* Password hashes are checked on worker threads. */
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
	event_base_free(srv.base);
	tls_server_free(srv.tls);
	passdb_close(srv.passdb);
	conn_table_free(srv.conns);
	free(srv.banner);
	free(srv.mailbox);
	free(srv.service);
	daemon_release(&d);
	return 0;
}
