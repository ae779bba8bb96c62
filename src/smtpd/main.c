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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "dns.h"
#include "psl.h"
#include "rate.h"
#include "log.h"
#include "mem.h"
#include "netserver.h"
#include "smtpd.h"
#include "smtpd_auth.h"
#include "smtpd_check.h"
#include "tls_server.h"
#include "str.h"

/* netserver's connection callback: a session of its own. */
static void
connection_cb(void *ctx, int fd, const struct sockaddr *sa, socklen_t salen)
{
	smtpd_session_start(ctx, fd, sa, salen);
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

/*
 * smtpd_client_*_rate_limit: one table of counters per client network
 * for this service (docs/smtpd.md "Rate limits"), made only when a limit
 * is on.  At most SMTPD_RATE_MAX_CLIENTS networks are held (about 100
 * bytes each); beyond that the oldest window is forgotten.
 */
#define SMTPD_RATE_MAX_CLIENTS 100000

static void
read_rate_limits(struct smtpd_server *srv, struct config *cfg)
{
	uint64_t v4, v6;

	srv->conn_rate_limit = config_int(cfg,
	    "smtpd_client_connection_rate_limit");
	srv->msg_rate_limit = config_int(cfg,
	    "smtpd_client_message_rate_limit");
	srv->rcpt_rate_limit = config_int(cfg,
	    "smtpd_client_recipient_rate_limit");
	srv->newtls_rate_limit = config_int(cfg,
	    "smtpd_client_new_tls_session_rate_limit");
	srv->auth_rate_limit = config_int(cfg, "smtpd_client_auth_rate_limit");
	srv->rate_unit = config_time(cfg, "anvil_rate_time_unit");
	if (srv->rate_unit == 0)
		srv->rate_unit = 1;
	v4 = config_int(cfg, "smtpd_client_ipv4_prefix_length");
	v6 = config_int(cfg, "smtpd_client_ipv6_prefix_length");
	if (v4 < 1 || v4 > 32)
		log_fatal("smtpd_client_ipv4_prefix_length = %llu: expected "
		    "1..32", (unsigned long long)v4);
	if (v6 < 1 || v6 > 128)
		log_fatal("smtpd_client_ipv6_prefix_length = %llu: expected "
		    "1..128", (unsigned long long)v6);
	srv->ipv4_prefix = (unsigned)v4;
	srv->ipv6_prefix = (unsigned)v6;
	if (srv->conn_rate_limit > 0 || srv->msg_rate_limit > 0 ||
	    srv->rcpt_rate_limit > 0 || srv->newtls_rate_limit > 0 ||
	    srv->auth_rate_limit > 0)
		srv->rates = rate_table_new(SMTPD_RATE_N, srv->rate_unit * 1000,
		    SMTPD_RATE_MAX_CLIENTS);
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
	read_rate_limits(srv, cfg);
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
	static const struct netserver_callbacks net_cb = { connection_cb };
	struct event *ev_greylist;
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
	srv.net = netserver_new(srv.base, &d, &net_cb, &srv);

	event_base_dispatch(srv.base);

	log_info("exiting: drained");
	netserver_free(srv.net);
	event_free(ev_greylist);
	dns_resolver_free(srv.resolver);
	psl_free(srv.psl);
	free(srv.data_directory);
	event_base_free(srv.base);
	smtpd_check_free(srv.check);
	tls_server_free(srv.tls);
	smtpd_auth_free(srv.auth);
	rate_table_free(srv.rates);
	buf_release(&srv.scratch);
	free(srv.myhostname);
	free(srv.banner);
	free(srv.cleanup_path);
	free(srv.service);
	daemon_release(&d);
	return 0;
}
