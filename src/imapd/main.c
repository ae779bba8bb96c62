/*
 * imapd - serve users' Maildirs to IMAP clients (RFC 3501 IMAP4rev1).
 *
 * One process serves every connection of its service with libevent; the
 * listening sockets come from master (daemon.h).  It reads main.cf, loads
 * the TLS certificate and the password tables, drops privileges for good
 * (to mail_owner, which owns the users' mail), and only then accepts a
 * connection: every byte from the network is handled unprivileged.
 * A user whose uid is not mail_owner's is served, after the login, by a
 * worker of that uid that the mailuser service starts: "imapd -c DIR -n
 * SERVICE worker" with the session's socket as descriptor 3 and the
 * ULAK_WORKER_* environment (worker_main below).  The worker reads
 * main.cf but neither the TLS key nor the password tables, and serves
 * that one session only.
 *
 * Signals: SIGTERM exits at once (nothing an IMAP client was told is
 * done lives only in memory: every change is on disk before its OK);
 * SIGUSR1 stops accepting and exits once the last session has ended.
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
#include "str.h"
#include "tls_server.h"

#include "imapd.h"
#include "imapd_hcache.h"
#include "imapd_park.h"

/* Threads that check password hashes (imapd_auth.c). */
#define LOGIN_THREADS 4

/* netserver's connection callback: a session of its own. */
static void
connection_cb(void *ctx, int fd, const struct sockaddr *sa, socklen_t salen)
{
	imapd_session_start(ctx, fd, sa, salen);
}

/*
 * Worker mode: one session, already logged in, on descriptor 3, as the
 * user that mailuser made us.  Returns the exit status.
 */
static int
worker_main(struct daemon *d, struct imapd_server *srv)
{
	struct mailuser_worker w;

	mailuser_worker_setup(&w, "ULAK_WORKER_TAG");
	signal(SIGPIPE, SIG_IGN);
	srv->worker = true;
	srv->base = event_base_new();
	if (srv->base == NULL)
		log_fatal("event_base_new failed");
	imapd_session_start_worker(srv, DAEMON_LISTEN_FD, w.address,
	    w.tls, w.user, w.maildir, w.extra);
	event_base_dispatch(srv->base);
	imapd_park_clear();
	imapd_hcache_clear();
	event_base_free(srv->base);
	free(srv->banner);
	free(srv->service);
	daemon_release(d);
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct imapd_server srv;
	static const struct netserver_callbacks net_cb = { connection_cb };
	const char *error, *maps;

	memset(&srv, 0, sizeof(srv));
	daemon_init(&d, "imapd", argc, argv);
	if (d.args.n > 0 && strcmp(d.args.v[0], "worker") != 0)
		log_fatal("unexpected argument %s", d.args.v[0]);
	if (d.args.n == 0 && d.n_listen == 0)
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
	srv.wrappermode = config_bool(d.cfg, "imapd_tls_wrappermode");
	imap_parser_limits_default(&srv.limits);
	{
		uint64_t max = config_size(d.cfg, "message_size_limit");

		if (max > 0 && max < srv.limits.literal_max)
			srv.limits.literal_max = (size_t)max;
	}
	if (d.args.n > 0)
		return worker_main(&d, &srv);
	{
		struct buf path;

		buf_init(&path, 0);
		(void)buf_printf(&path, "%s/private/mailuser",
		    config_str(d.cfg, "queue_directory"));
		srv.mailuser_path = buf_detach(&path, NULL);
		buf_release(&path);
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
	srv.net = netserver_new(srv.base, &d, &net_cb, &srv);
	srv.logins = imapd_login_pool_start(LOGIN_THREADS);
	log_info("password checks on %d threads (libcrypt prefers %s)",
	    LOGIN_THREADS, imapd_auth_crypt_method());

	event_base_dispatch(srv.base);

	log_info("exiting: drained");
	netserver_free(srv.net);
	imapd_login_pool_stop(srv.logins);
	imapd_park_clear();
	imapd_hcache_clear();
	event_base_free(srv.base);
	passdb_close(srv.passwords);
	if (srv.tls != NULL)
		tls_server_free(srv.tls);
	free(srv.banner);
	free(srv.service);
	free(srv.mailuser_path);
	daemon_release(&d);
	return 0;
}
