/*
 * pop3d - let POP3 clients download and delete the mail in their Maildir
 * (RFC 1939, RFC 2449, RFC 2595).
 *
 * One process serves every connection of its service with libevent; the
 * listening sockets come from master (daemon.h).  Start-up: read main.cf,
 * open the password tables and read the TLS certificate and key (which
 * may need root), drop to mail_owner for good, and only then accept a
 * connection: everything from the network is handled unprivileged.
 * Users whose uid is mail_owner's (`ulak init` as root gives its mail
 * users that uid) are served in this process; any other user, after the
 * login, by a worker of the user's uid that the mailuser service starts:
 * "pop3d -c DIR -n SERVICE worker" with the session's socket as
 * descriptor 3 and the ULAK_WORKER_* environment (worker_main below).
 * The worker reads main.cf but neither the TLS key nor the password
 * tables, and serves that one session only.
 *
 * Signals: SIGTERM exits at once (sessions in progress delete nothing:
 * deletions happen only in the UPDATE state after QUIT); SIGUSR1 stops
 * accepting and exits once the last session has ended (master's reload).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mailuser_client.h"
#include "mem.h"
#include "netserver.h"
#include "passdb.h"
#include "pop3d.h"
#include "str.h"
#include "tls_server.h"

/* netserver's connection callback: a session of its own. */
static void
connection_cb(void *ctx, int fd, const struct sockaddr *sa, socklen_t salen)
{
	pop3d_session_start(ctx, fd, sa, salen);
}

static void
read_settings(struct pop3d_server *srv, struct daemon *d)
{
	struct config *cfg = d->cfg;
	const char *level;
	struct buf path;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/private/mailuser",
	    config_str(cfg, "queue_directory"));
	srv->mailuser_path = buf_detach(&path, NULL);
	buf_release(&path);
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
}

/* The password tables and the TLS key (which may need root). */
static void
open_secrets(struct pop3d_server *srv, struct daemon *d)
{
	struct config *cfg = d->cfg;
	const char *cert, *error;
	struct strlist chain;

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

/*
 * Worker mode: one session, already logged in, on descriptor 3, as the
 * user that mailuser made us.  Returns the exit status.
 */
static int
worker_main(struct daemon *d, struct pop3d_server *srv)
{
	struct mailuser_worker w;

	mailuser_worker_setup(&w, "ULAK_WORKER_METHOD");
	signal(SIGPIPE, SIG_IGN);
	srv->worker = true;
	srv->base = event_base_new();
	if (srv->base == NULL)
		log_fatal("event_base_new failed");
	pop3d_session_start_worker(srv, DAEMON_LISTEN_FD, w.address,
	    w.tls, w.user, w.extra, w.maildir);
	event_base_dispatch(srv->base);
	event_base_free(srv->base);
	free(srv->banner);
	free(srv->mailbox);
	free(srv->service);
	free(srv->mailuser_path);
	daemon_release(d);
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct pop3d_server srv;
	static const struct netserver_callbacks net_cb = { connection_cb };

	memset(&srv, 0, sizeof(srv));
	daemon_init(&d, "pop3d", argc, argv);
	if (d.args.n > 0 && strcmp(d.args.v[0], "worker") != 0)
		log_fatal("unexpected argument %s", d.args.v[0]);
	if (d.args.n == 0 && d.n_listen == 0)
		log_fatal("no listening socket: pop3d is started by master "
		    "(or by hand with ULAK_LISTEN_FDS)");
	read_settings(&srv, &d);
	if (d.args.n > 0)
		return worker_main(&d, &srv);
	open_secrets(&srv, &d);

	/* Tables and keys are read; from here on nothing needs privileges. */
	daemon_drop_privileges(&d);

	signal(SIGPIPE, SIG_IGN);
	/* Password hashes are checked on worker threads. */
	if (evthread_use_pthreads() < 0)
		log_fatal("evthread_use_pthreads failed");
	srv.base = event_base_new();
	if (srv.base == NULL)
		log_fatal("event_base_new failed");
	srv.net = netserver_new(srv.base, &d, &net_cb, &srv);

	event_base_dispatch(srv.base);

	log_info("exiting: drained");
	netserver_free(srv.net);
	event_base_free(srv.base);
	tls_server_free(srv.tls);
	passdb_close(srv.passdb);
	free(srv.banner);
	free(srv.mailbox);
	free(srv.service);
	free(srv.mailuser_path);
	daemon_release(&d);
	return 0;
}
