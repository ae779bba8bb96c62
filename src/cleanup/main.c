/*
 * cleanup - the only writer of new queue files: it takes each message that
 * smtpd or pickup streams to it, completes its headers and answers only
 * once the queue file is durable in incoming/.
 *
 * Process model: master hands over the listening Unix socket
 * ($queue_directory/private/cleanup); each accepted connection is served by
 * its own thread with blocking I/O and a read timeout (ipc_timeout), so a
 * client waiting for its fsync never holds up another.  At most
 * CLEANUP_THREADS_MAX connections are served at once; more wait in the
 * listen backlog.  Every setting is read once at start-up into a
 * read-only struct (config_* is not thread-safe).
 *
 * Runs as mail_owner (dropped before the first accept).  Distrusts its
 * clients: see cleanup_session.c and cleanup_msg.c.
 *
 * Signals (daemon.h): SIGTERM stops at once (connections are shut down,
 * unfinished messages leave no file); SIGUSR1 stops accepting and exits
 * when the current connections are done.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "selfpipe.h"

/* Connections served at once (one thread each). */
#define CLEANUP_THREADS_MAX 64
/* Hidden temporary files older than this are leftovers of a crash. */
#define CLEANUP_TMP_MAX_AGE (24 * 3600)

static struct cleanup_cfg cfg;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int client_fds[CLEANUP_THREADS_MAX];
static int n_clients;

static void *
client_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;

	cleanup_session_run(&cfg, fd);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_clients; i++)
		if (client_fds[i] == fd) {
			client_fds[i] = client_fds[--n_clients];
			break;
		}
	pthread_mutex_unlock(&lock);
	(void)close(fd);
	selfpipe_wake();
	return NULL;
}

/*
 * Header and body check tables, compiled once here and shared by the
 * threads.  A table that does not open defers every message (Postfix
 * does the same) rather than letting mail through unchecked.
 */
static void
read_checks(struct config *c)
{
	static const char *const names[HBC_TABLE_COUNT] = {
		[HBC_TABLE_HEADER] = "header_checks",
		[HBC_TABLE_MIME] = "mime_header_checks",
		[HBC_TABLE_NESTED] = "nested_header_checks",
		[HBC_TABLE_BODY] = "body_checks",
	};
	char *specs[HBC_TABLE_COUNT];
	struct strlist opts;
	const char *error;
	bool any = false;

	cfg.body_checks_size_limit = config_size(c, "body_checks_size_limit");
	cfg.disable_mime_input_processing = config_bool(c,
	    "disable_mime_input_processing");
	strlist_init(&opts);
	config_list(c, "receive_override_options", &opts);
	if (strlist_find_nocase(&opts, "no_header_body_checks") >= 0) {
		strlist_release(&opts);
		return;
	}
	strlist_release(&opts);
	for (int i = 0; i < HBC_TABLE_COUNT; i++) {
		specs[i] = xstrdup(config_str(c, names[i]));
		if (specs[i][strspn(specs[i], " \t,")] != '\0')
			any = true;
	}
	if (any) {
		cfg.hbc = hbc_tables_open((const char *const *)specs, &error);
		if (cfg.hbc == NULL) {
			log_warning("header/body checks: %s: every message "
			    "will be deferred", error);
			cfg.hbc_broken = true;
		}
	}
	for (int i = 0; i < HBC_TABLE_COUNT; i++)
		free(specs[i]);
}

static void
read_config(struct daemon *d)
{
	struct config *c = d->cfg;
	uint64_t t;

	cfg.queue_directory = xstrdup(config_str(c, "queue_directory"));
	cfg.myhostname = xstrdup(config_str(c, "myhostname"));
	cfg.myorigin = xstrdup(config_str(c, "myorigin"));
	cfg.message_size_limit = config_size(c, "message_size_limit");
	cfg.header_size_limit = config_size(c, "header_size_limit");
	if (cfg.header_size_limit < 1024)
		cfg.header_size_limit = 1024;
	cfg.hopcount_limit = config_int(c, "hopcount_limit");
	cfg.always_add_missing_headers = config_bool(c,
	    "always_add_missing_headers");
	t = config_time(c, "ipc_timeout");
	if (t == 0 || t > 24 * 3600)
		t = 3600;
	cfg.ipc_timeout_ms = (int)(t * 1000);
	if (cfg.myhostname[0] == '\0')
		log_fatal("myhostname is empty");
	read_checks(c);
}

static void
setup_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGUSR1 };
	struct sigaction sa;

	selfpipe_catch(sigs, sizeof(sigs) / sizeof(sigs[0]));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* Errors come back from write(2), not as signals: EPIPE, EFBIG. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGXFSZ, &sa, NULL);
}

static int
clients_now(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = n_clients;
	pthread_mutex_unlock(&lock);
	return n;
}

static void
accept_one(int lfd)
{
	pthread_attr_t attr;
	pthread_t tid;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warning("accept: %m");
		return;
	}
	pthread_mutex_lock(&lock);
	client_fds[n_clients++] = fd;
	pthread_mutex_unlock(&lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, client_thread,
	    (void *)(intptr_t)fd) != 0) {
		log_warning("cannot start a thread for a client");
		pthread_mutex_lock(&lock);
		client_fds[--n_clients] = -1;
		pthread_mutex_unlock(&lock);
		(void)close(fd);
	}
	pthread_attr_destroy(&attr);
}

/* SIGTERM: cut every connection, give the threads a moment to clean up. */
static void
stop_now(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_clients; i++)
		(void)shutdown(client_fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 300 && clients_now() > 0; i++)
		nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct pollfd pfds[DAEMON_LISTEN_MAX + 1];
	const char *error;
	bool draining = false;

	daemon_init(&d, "cleanup", argc, argv);
	read_config(&d);
	setup_signals();
	if (d.n_listen == 0)
		log_fatal("no listening socket: cleanup is started by master "
		    "(or by hand with ULAK_LISTEN_FDS)");
	daemon_drop_privileges(&d);
	if (queue_clean_tmp(cfg.queue_directory, CLEANUP_TMP_MAX_AGE,
	    &error) < 0)
		log_warning("%s", error);
	for (int i = 0; i < d.n_listen; i++)
		(void)fcntl(d.listen_fds[i], F_SETFL,
		    fcntl(d.listen_fds[i], F_GETFL) | O_NONBLOCK);

	while (!selfpipe_caught(SIGTERM)) {
		int n = 0, busy;

		if (selfpipe_caught(SIGUSR1) && !draining) {
			draining = true;
			log_info("draining: no new connections");
		}
		busy = clients_now();
		if (draining && busy == 0)
			break;
		pfds[n].fd = selfpipe_fd();
		pfds[n++].events = POLLIN;
		if (!draining && busy < CLEANUP_THREADS_MAX)
			for (int i = 0; i < d.n_listen; i++) {
				pfds[n].fd = d.listen_fds[i];
				pfds[n++].events = POLLIN;
			}
		if (poll(pfds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
		if (pfds[0].revents != 0)
			selfpipe_drain();
		for (int i = 1; i < n && !selfpipe_caught(SIGTERM); i++)
			if (pfds[i].revents != 0 &&
			    clients_now() < CLEANUP_THREADS_MAX)
				accept_one(pfds[i].fd);
	}
	if (selfpipe_caught(SIGTERM))
		stop_now();
	log_info("stopping");
	/* Threads that are still running own their memory; just exit. */
	_exit(0);
}
