/*
 * daemon - common start-up of every ulak daemon; see daemon.h.
 *
 * Runs first in every daemon, possibly as root (when master runs as root):
 * it reads only main.cf and its own command line, and gives up root in
 * daemon_drop_privileges() before anything reads from the network.
 */
#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"

static void
daemon_usage(const char *program)
{
	log_fatal("usage: %s -c config_dir [-n service] [-t type] "
	    "[-o name=value]...", program);
}

/*
 * A drain request (SIGUSR1) that arrives before the daemon serves anyone
 * has nothing to wait for: exit at once.  master starts daemons with
 * SIGUSR1 blocked, so one sent during exec is pending until here.  The
 * daemon replaces this handler with its own before its event loop.
 */
static void
daemon_early_usr1(int sig)
{
	(void)sig;
	_exit(0);
}

static void
daemon_early_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_early_usr1;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void
daemon_init(struct daemon *d, const char *program, int argc, char **argv)
{
	struct strlist overrides;
	const char *error, *env, *logfile;
	int i;

	file_sanitize_stdio();
	daemon_early_signals();
	memset(d, 0, sizeof(*d));
	d->program = program;
	strlist_init(&d->args);
	strlist_init(&overrides);
	log_init(program, "stderr");
	env = getenv("ULAK_CONFIG_DIR");
	d->config_dir = xstrdup(env != NULL && *env ? env : "/etc/ulak");
	d->service = xstrdup(program);
	d->type = xstrdup("");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || strcmp(a, "--") == 0) {
			if (strcmp(a, "--") == 0)
				i++;
			break;
		}
		if (a[1] == '\0' || a[2] != '\0' || i + 1 >= argc)
			daemon_usage(program);
		switch (a[1]) {
		case 'c':
			free(d->config_dir);
			d->config_dir = xstrdup(argv[++i]);
			break;
		case 'n':
			free(d->service);
			d->service = xstrdup(argv[++i]);
			break;
		case 't':
			free(d->type);
			d->type = xstrdup(argv[++i]);
			break;
		case 'o':
			if (strchr(argv[i + 1], '=') == NULL)
				log_fatal("-o %s: expected name=value", argv[i + 1]);
			strlist_add(&overrides, argv[++i]);
			break;
		default:
			daemon_usage(program);
		}
	}
	for (; i < argc; i++)
		strlist_add(&d->args, argv[i]);

	d->cfg = config_new(d->config_dir);
	if (config_load(d->cfg, &error) < 0)
		log_fatal("%s", error);
	for (size_t k = 0; k < overrides.n; k++) {
		char *eq = strchr(overrides.v[k], '=');

		*eq = '\0';
		config_set(d->cfg, overrides.v[k], eq + 1);
	}
	strlist_release(&overrides);

	/* `ulak start -f`: master in the foreground, every log line on stderr. */
	env = getenv("ULAK_LOG_STDERR");
	logfile = env != NULL && strcmp(env, "1") == 0 ? "stderr" :
	    config_str(d->cfg, "maillog_file");
	log_init(program, *logfile ? logfile : "syslog");

	env = getenv("ULAK_LISTEN_FDS");
	if (env != NULL && *env) {
		uint64_t n;

		if (parse_uint(env, 1, DAEMON_LISTEN_MAX, &n, &error) < 0)
			log_fatal("ULAK_LISTEN_FDS: %s", error);
		for (int k = 0; k < (int)n; k++) {
			struct stat st;
			int fd = DAEMON_LISTEN_FD + k;

			if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
				log_fatal("ULAK_LISTEN_FDS=%s but descriptor %d "
				    "is not a socket", env, fd);
			d->listen_fds[d->n_listen++] = fd;
		}
		unsetenv("ULAK_LISTEN_FDS");
	}
}

void
daemon_drop_privileges(struct daemon *d)
{
	const char *owner;
	struct passwd *pw;

	if (geteuid() != 0 && getuid() != 0)
		return;
	owner = config_str(d->cfg, "mail_owner");
	errno = 0;
	pw = getpwnam(owner);
	if (pw == NULL)
		log_fatal("mail_owner %s: no such user", owner);
	if (pw->pw_uid == 0)
		log_fatal("mail_owner %s has uid 0: refusing to run a daemon "
		    "as root", owner);
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		log_fatal("cannot become %s: %m", owner);
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0)
		log_fatal("privileges could not be dropped for good");
}

void
daemon_release(struct daemon *d)
{
	config_free(d->cfg);
	free(d->config_dir);
	free(d->service);
	free(d->type);
	strlist_release(&d->args);
}
