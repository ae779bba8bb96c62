/*
 * smtpd - receive mail from SMTP clients and hand each message to cleanup.
 *
 * One process serves every connection of its service with libevent; the
 * listening sockets come from master (daemon.h).  It reads main.cf,
 * opens its lookup tables and password tables, reads its TLS certificate
 * and key, drops privileges for good (and refuses to go on as root), and
 * only then accepts a connection: everything from the network is handled
 * unprivileged.  It never writes the queue itself (DESIGN.md): cleanup
 * does, and answers once the file is durable.
 *
 * Signals: SIGTERM exits at once (a message without a 250 reply is simply
 * not queued); SIGUSR1 stops accepting and exits once the last session
 * has ended (master's reload).
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

#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "dns.h"
#include "psl.h"
#include "log.h"
#include "mem.h"
#include "smtpd.h"
#include "smtpd_auth.h"
#include "smtpd_check.h"
#include "tls_server.h"
#include "str.h"

/* Connections per client address (smtpd_client_connection_count_limit). */
struct conn_entry {
	struct conn_entry *next;
	unsigned long count;
	char addr[];
};

#define CONN_BUCKETS 1024

struct smtpd_conn_table {
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
smtpd_conn_add(struct smtpd_server *srv, const char *addr)
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
conn_release(struct smtpd_server *srv, const char *addr)
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
conn_table_free(struct smtpd_conn_table *t)
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
smtpd_session_ended(struct smtpd_server *srv, const char *addr)
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
	struct smtpd_server *srv = arg;

	if (srv->draining) {
		evutil_closesocket(fd);
		return;
	}
	srv->sessions++;
	smtpd_session_start(srv, fd, sa, (socklen_t)salen);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	/* EMFILE and the like: go on; the next client may get through. */
	log_warning("accept: %s", evutil_socket_error_to_string(err));
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	/*
	 * Stop now.  Only messages that got their 250 are in the queue, and
	 * cleanup made those durable before answering: nothing is lost.
	 */
	_exit(0);
}

static void
sigusr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct smtpd_server *srv = arg;

	if (srv->draining)
		return;
	srv->draining = true;
	for (int i = 0; i < n_listeners; i++)
		evconnlistener_disable(listeners[i]);
	log_info("draining: %lu session(s) left", srv->sessions);
	if (srv->sessions == 0)
		event_base_loopbreak(srv->base);
}

/* Greylisting: expire old entries at start and every hour. */
static void
greylist_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_server *srv = arg;

	smtpd_check_greylist_expire(srv->check);
}

/*
 * DNS-based checks: the resolver (dns_servers), the Public Suffix List
 * for DMARC, DKIM and DMARC settings.  A resolver that cannot be made is
 * fatal: restrictions that need it would silently decide nothing.
 */
static void
read_dns_checks(struct smtpd_server *srv, struct daemon *d)
{
	struct config *cfg = d->cfg;
	const char *error, *pslfile;

	srv->resolver = dns_resolver_from_config(srv->base, cfg, &error);
	if (srv->resolver == NULL)
		log_fatal("DNS resolver: %s", error);
	srv->peername_lookup = config_bool(cfg, "smtpd_peername_lookup");
	srv->dkim_verify = config_bool(cfg, "dkim_verify");
	srv->dkim_sig_limit = config_int(cfg, "dkim_verify_signature_limit");
	srv->dmarc_enforce = config_bool(cfg, "dmarc_enforce");
	srv->dmarc_report = config_bool(cfg, "dmarc_report_data");
	srv->data_directory = xstrdup(config_str(cfg, "data_directory"));
	pslfile = config_str(cfg, "dmarc_public_suffix_list");
	srv->psl = psl_load(*pslfile ? pslfile : NULL, &error);
	if (srv->psl == NULL)
		log_warning("dmarc_public_suffix_list: %s: no DMARC "
		    "evaluation", error);
}

static void
read_settings(struct smtpd_server *srv, struct daemon *d)
{
	struct config *cfg = d->cfg;
	struct strlist discard;
	struct buf b;
	const char *nl;

	srv->myhostname = xstrdup(config_str(cfg, "myhostname"));
	srv->banner = xstrdup(config_str(cfg, "smtpd_banner"));
	buf_init(&b, 0);
	buf_printf(&b, "%s/private/cleanup", config_str(cfg,
	    "queue_directory"));
	srv->cleanup_path = buf_detach(&b, NULL);
	buf_release(&b);
	srv->service = xstrdup(d->service);
	srv->timeout = config_time(cfg, "smtpd_timeout");
	srv->ipc_timeout = config_time(cfg, "ipc_timeout");
	srv->message_size_limit = config_size(cfg, "message_size_limit");
	srv->recipient_limit = config_int(cfg, "smtpd_recipient_limit");
	srv->hard_error_limit = config_int(cfg, "smtpd_hard_error_limit");
	srv->soft_error_limit = config_int(cfg, "smtpd_soft_error_limit");
	srv->error_sleep_time = config_time(cfg, "smtpd_error_sleep_time");
	srv->junk_command_limit = config_int(cfg, "smtpd_junk_command_limit");
	srv->conn_count_limit = config_int(cfg,
	    "smtpd_client_connection_count_limit");
	srv->line_limit = config_int(cfg, "line_length_limit");
	/* RFC 5321 4.5.3.1.4 allows 512; ESMTP parameters need more. */
	if (srv->line_limit < 512)
		srv->line_limit = 512;
	nl = config_str(cfg, "smtpd_forbid_bare_newline");
	if (smtpd_data_newline_parse(nl, &srv->bare_newline) < 0)
		log_fatal("smtpd_forbid_bare_newline = %s: expected normalize, "
		    "reject, yes or no", nl);
	srv->starttls_timeout = config_time(cfg, "smtpd_starttls_timeout");
	if (srv->starttls_timeout == 0)
		srv->starttls_timeout = 1;
	srv->tls_auth_only = config_bool(cfg, "smtpd_tls_auth_only");
	srv->helo_required = config_bool(cfg, "smtpd_helo_required");
	srv->vrfy_disabled = config_bool(cfg, "disable_vrfy_command");
	srv->smtputf8 = config_bool(cfg, "smtputf8_enable");
	srv->strict_rfc821 = config_bool(cfg, "strict_rfc821_envelopes");
	srv->forbid_unauth_pipelining = config_bool(cfg,
	    "smtpd_forbid_unauth_pipelining");
	if (srv->timeout == 0)
		srv->timeout = 1;

	strlist_init(&discard);
	config_list(cfg, "smtpd_discard_ehlo_keywords", &discard);
#define OFFER(kw) (strlist_find_nocase(&discard, kw) < 0)
	srv->ehlo_pipelining = OFFER("pipelining");
	srv->ehlo_size = OFFER("size");
	srv->ehlo_vrfy = OFFER("vrfy") && !srv->vrfy_disabled;
	srv->ehlo_8bitmime = OFFER("8bitmime");
	srv->ehlo_enhanced = OFFER("enhancedstatuscodes");
	srv->ehlo_dsn = OFFER("dsn");
	srv->ehlo_smtputf8 = OFFER("smtputf8") && srv->smtputf8;
	srv->ehlo_chunking = OFFER("chunking");
	srv->ehlo_starttls = OFFER("starttls");
	srv->ehlo_auth = OFFER("auth");
#undef OFFER
	strlist_release(&discard);
}

/*
 * TLS: smtpd_tls_security_level and smtpd_tls_wrappermode, and the
 * certificate and key, read now (before privileges are dropped).  A
 * service that must speak TLS (encrypt, wrapper mode) and cannot is not
 * started; with "may" a broken certificate only turns STARTTLS off.
 */
static void
read_tls(struct smtpd_server *srv, struct daemon *d)
{
	struct config *cfg = d->cfg;
	const char *level = config_str(cfg, "smtpd_tls_security_level");
	const char *error;
	struct strlist chain;
	bool must;

	if (*level == '\0' || strcmp(level, "none") == 0)
		srv->tls_level = SMTPD_TLS_NONE;
	else if (strcmp(level, "may") == 0)
		srv->tls_level = SMTPD_TLS_MAY;
	else if (strcmp(level, "encrypt") == 0)
		srv->tls_level = SMTPD_TLS_ENCRYPT;
	else
		log_fatal("smtpd_tls_security_level = %s: expected none, may "
		    "or encrypt", level);
	srv->tls_wrapper = config_bool(cfg, "smtpd_tls_wrappermode");
	if (srv->tls_level == SMTPD_TLS_NONE && !srv->tls_wrapper)
		return;
	must = srv->tls_wrapper || srv->tls_level == SMTPD_TLS_ENCRYPT;
	strlist_init(&chain);
	config_list(cfg, "smtpd_tls_chain_files", &chain);
	srv->tls = tls_server_new("smtpd", config_str(cfg,
	    "smtpd_tls_cert_file"), config_str(cfg, "smtpd_tls_key_file"),
	    &chain, &error);
	strlist_release(&chain);
	if (srv->tls != NULL)
		return;
	if (must)
		log_fatal("service %s: TLS is required (%s) but cannot be "
		    "set up: %s", d->service, srv->tls_wrapper ?
		    "smtpd_tls_wrappermode = yes" :
		    "smtpd_tls_security_level = encrypt", error);
	log_warning("service %s: STARTTLS is not offered: %s", d->service,
	    error);
	srv->tls_level = SMTPD_TLS_NONE;
}

/* AUTH: smtpd_sasl_auth_enable and the password tables (opened now). */
static void
read_auth(struct smtpd_server *srv, struct daemon *d)
{
	const char *error;

	if (!config_bool(d->cfg, "smtpd_sasl_auth_enable"))
		return;
	srv->auth = smtpd_auth_new(d->cfg, &error);
	if (srv->auth == NULL)
		log_warning("service %s: AUTH is not offered: %s", d->service,
		    error);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct smtpd_server srv;
	struct event *ev_term, *ev_usr1, *ev_greylist;
	const char *error;

	memset(&srv, 0, sizeof(srv));
	daemon_init(&d, "smtpd", argc, argv);
	if (d.n_listen == 0)
		log_fatal("no listening socket: smtpd is started by master "
		    "(or by hand with ULAK_LISTEN_FDS)");
	read_settings(&srv, &d);
	srv.check = smtpd_check_new(d.cfg, &error);
	if (srv.check == NULL)
		log_fatal("%s", error);
	read_tls(&srv, &d);
	read_auth(&srv, &d);
	srv.conns = xcalloc(1, sizeof(*srv.conns));
	buf_init(&srv.scratch, 0);

	/*
	 * Tables, certificate and key are open; from here on nothing needs
	 * privileges.  smtpd faces the network: it never runs as root.
	 */
	daemon_drop_privileges(&d);
	if (getuid() == 0 || geteuid() == 0)
		log_fatal("running as root after dropping privileges: refusing "
		    "to serve the network");
	/* Files of mail_owner: opened after the drop. */
	if (smtpd_check_open_state(srv.check, d.cfg, &error) < 0)
		log_fatal("%s", error);

	signal(SIGPIPE, SIG_IGN);
	/* Password hashes are checked on worker threads (smtpd_auth). */
	if (evthread_use_pthreads() < 0)
		log_fatal("evthread_use_pthreads failed");
	srv.base = event_base_new();
	if (srv.base == NULL)
		log_fatal("event_base_new failed");
	read_dns_checks(&srv, &d);
	smtpd_check_greylist_expire(srv.check);
	ev_greylist = event_new(srv.base, -1, EV_PERSIST, greylist_timer_cb,
	    &srv);
	{
		struct timeval hour = { 3600, 0 };

		event_add(ev_greylist, &hour);
	}
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
	event_free(ev_greylist);
	dns_resolver_free(srv.resolver);
	psl_free(srv.psl);
	free(srv.data_directory);
	event_base_free(srv.base);
	smtpd_check_free(srv.check);
	tls_server_free(srv.tls);
	smtpd_auth_free(srv.auth);
	conn_table_free(srv.conns);
	buf_release(&srv.scratch);
	free(srv.myhostname);
	free(srv.banner);
	free(srv.cleanup_path);
	free(srv.service);
	daemon_release(&d);
	return 0;
}
