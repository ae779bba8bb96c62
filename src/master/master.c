/*
 * master - starts every ulak daemon that master.cf names, watches it, and
 * restarts it when it dies.
 *
 * master binds every listening socket itself (inet services on
 * inet_interfaces or the address the service names; unix services as
 * $queue_directory/private/<name>) and passes them to the daemon it
 * starts as descriptors 3.. (daemon.h).  A daemon that dies is restarted,
 * with a growing pause when it keeps dying soon after its start, so that a
 * crash loop does not spin.  SIGHUP re-reads main.cf and master.cf: each
 * running daemon is told to drain (SIGUSR1: stop accepting, finish its
 * sessions, exit) while a new one takes over the same listening sockets, so
 * established connections are not dropped.  SIGTERM/SIGINT stop every
 * daemon (SIGTERM, then SIGKILL after a grace period) and exit.
 *
 * Privileges: master may run as root, to bind ports below 1024 and so that
 * `local` can become the recipient; every other daemon drops to mail_owner
 * itself (daemon_drop_privileges) before it reads from the network.
 * master itself reads only main.cf and master.cf and never talks to the
 * network: it only binds and listens.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "daemon_dir.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "mastercf.h"
#include "mem.h"
#include "queue.h"
#include "str.h"
#include "trigger.h"

#define MASTER_STOP_GRACE 10	/* seconds before SIGKILL at stop */
#define MASTER_FAST_DEATH 10	/* died within this many seconds: back off */
#define MASTER_MAX_BACKOFF 60

struct mproc {
	pid_t pid;		/* 0 = slot empty */
	time_t started;
	unsigned backoff;	/* seconds of the next restart pause */
	struct event *restart;	/* pending restart, or NULL */
	struct msvc *svc;
	int slot;
};

struct msvc {
	char *name;		/* master.cf service name */
	char *type;		/* inet, unix, ... */
	char *command;		/* program in daemon_directory */
	char *key;		/* identity across reloads: type + name */
	char *host;		/* inet: "" = inet_interfaces */
	char *port;		/* inet: number or service name */
	struct strlist argv;	/* complete argv for execv */
	int fds[DAEMON_LISTEN_MAX];
	int n_fds;
	int maxproc;
	int wakeup;
	struct event *wakeup_ev;
	char *socket_path;	/* unix services */
	struct mproc *procs;	/* maxproc slots */
	bool retired;		/* left over from before a reload */
	struct msvc *next;
};

/* A process of a retired service generation, draining. */
struct mdrain {
	pid_t pid;
	char *name;
	struct mdrain *next;
};

static struct {
	char *config_dir;
	bool foreground;
	struct config *cfg;
	struct buf daemon_dir;
	char *queue_dir;
	struct event_base *base;
	struct msvc *services;
	struct mdrain *draining;
	int pid_fd;
	char *pid_path;
	bool stopping;
	struct event *stop_timer;
	unsigned reloads;	/* SIGHUPs handled, for pid/master.reload */
} m;

static void master_spawn(struct mproc *p);

static bool
master_is_root(void)
{
	return geteuid() == 0;
}

/* Bind one inet socket for HOST (NULL = any of FAMILY) and PORT. */
static int
master_bind_inet(struct msvc *s, const char *host, const char *port,
    int family, const char **error_r)
{
	struct addrinfo hints, *res, *ai;
	int r, count = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		*error_r = err_fmt("service %s: address %s port %s: %s", s->name,
		    host ? host : "*", port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd, one = 1;

		if (s->n_fds >= DAEMON_LISTEN_MAX) {
			*error_r = err_fmt("service %s: too many addresses",
			    s->name);
			freeaddrinfo(res);
			return -1;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, 1024) < 0) {
			*error_r = err_fmt("service %s: bind %s port %s: %s",
			    s->name, host ? host : "*", port, strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		s->fds[s->n_fds++] = fd;
		count++;
	}
	freeaddrinfo(res);
	if (count == 0) {
		*error_r = err_fmt("service %s: no usable address for %s port %s",
		    s->name, host ? host : "*", port);
		return -1;
	}
	return 0;
}

/* Resolve a port name (smtp, submission, ...) to digits. */
static char *
master_port_number(const char *port)
{
	struct servent *se;

	if (strspn(port, "0123456789") == strlen(port))
		return xstrdup(port);
	se = getservbyname(port, "tcp");
	if (se == NULL)
		return NULL;
	return xstrdup(err_fmt("%d", ntohs((uint16_t)se->s_port)));
}

static int
master_listen_inet(struct msvc *s, const char **error_r)
{
	const char *host = *s->host ? s->host : NULL;
	char *port;
	int r = 0;

	port = master_port_number(s->port);
	if (port == NULL) {
		*error_r = err_fmt("service %s: unknown port %s", s->name,
		    s->port);
		return -1;
	}
	if (host != NULL) {
		r = master_bind_inet(s, host, port, AF_UNSPEC, error_r);
	} else {
		struct strlist ifs;
		const char *protos = config_str(m.cfg, "inet_protocols");
		bool v4 = strstr(protos, "all") || strstr(protos, "ipv4");
		bool v6 = strstr(protos, "all") || strstr(protos, "ipv6");

		strlist_init(&ifs);
		config_list(m.cfg, "inet_interfaces", &ifs);
		for (size_t i = 0; i < ifs.n && r == 0; i++) {
			const char *ifc = ifs.v[i];

			if (str_casecmp(ifc, "all") == 0) {
				if (v4)
					r = master_bind_inet(s, NULL, port, AF_INET,
					    error_r);
				if (r == 0 && v6)
					r = master_bind_inet(s, NULL, port,
					    AF_INET6, error_r);
			} else if (str_casecmp(ifc, "loopback-only") == 0) {
				if (v4)
					r = master_bind_inet(s, "127.0.0.1", port,
					    AF_INET, error_r);
				if (r == 0 && v6)
					r = master_bind_inet(s, "::1", port,
					    AF_INET6, error_r);
			} else {
				char *h = xstrdup(ifc);
				size_t n = strlen(h);

				if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
					h[n - 1] = '\0';
					r = master_bind_inet(s, h + 1, port,
					    AF_UNSPEC, error_r);
				} else {
					r = master_bind_inet(s, h, port, AF_UNSPEC,
					    error_r);
				}
				free(h);
			}
		}
		strlist_release(&ifs);
	}
	free(port);
	return r;
}

static int
master_listen_unix(struct msvc *s, const char **error_r)
{
	struct sockaddr_un sun;
	struct buf path;
	int fd;

	buf_init(&path, 0);
	buf_printf(&path, "%s/private/%s", m.queue_dir, s->name);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path.data) < 0) {
		*error_r = err_fmt("service %s: socket path too long: %s",
		    s->name, path.data);
		buf_release(&path);
		return -1;
	}
	(void)unlink(path.data);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 1024) < 0) {
		*error_r = err_fmt("service %s: bind %s: %s", s->name, path.data,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		buf_release(&path);
		return -1;
	}
	/* Only daemons (mail_owner, or the invoking user) may connect. */
	(void)chmod(path.data, 0600);
	if (master_is_root()) {
		const char *owner = config_str(m.cfg, "mail_owner");
		struct passwd *pw = getpwnam(owner);

		if (pw != NULL)
			if (chown(path.data, pw->pw_uid, pw->pw_gid) < 0)
				log_warning("chown %s: %m", path.data);
	}
	s->fds[s->n_fds++] = fd;
	s->socket_path = buf_detach(&path, NULL);
	buf_release(&path);
	return 0;
}

static void
master_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct msvc *s = arg;

	/* Best effort: a busy or restarting daemon simply misses one. */
	if (s->socket_path != NULL)
		(void)trigger_send(s->socket_path, "wakeup");
}

static void
msvc_free(struct msvc *s)
{
	for (int i = 0; i < s->n_fds; i++)
		close(s->fds[i]);
	if (s->socket_path != NULL && !s->retired)
		(void)unlink(s->socket_path);
	for (int i = 0; i < s->maxproc; i++)
		if (s->procs[i].restart != NULL)
			event_free(s->procs[i].restart);
	if (s->wakeup_ev != NULL)
		event_free(s->wakeup_ev);
	free(s->procs);
	free(s->socket_path);
	free(s->name);
	free(s->type);
	free(s->command);
	free(s->key);
	free(s->host);
	free(s->port);
	strlist_release(&s->argv);
	free(s);
}

/*
 * Build the service list from master.cf (or the built-in table).  Services
 * that are marked disabled, or whose program does not exist yet, are
 * skipped with a warning (the latter so that a partial build still runs).
 */
static int
master_load_services(struct msvc **list_r, const char **error_r)
{
	struct mastercf *tab;
	struct msvc *list = NULL, **tail = &list;

	tab = mastercf_load(m.config_dir, NULL, error_r);
	if (tab == NULL)
		return -1;
	for (size_t i = 0; i < tab->n; i++) {
		const struct mastercf_service *e = &tab->services[i];
		struct msvc *s;
		struct buf prog;

		buf_init(&prog, 0);
		buf_printf(&prog, "%s/%s", m.daemon_dir.data, e->command);
		if (access(prog.data, X_OK) < 0) {
			log_warning("%s, line %d: service %s: program %s not "
			    "found; service not started", tab->file, e->line,
			    e->name, prog.data);
			buf_release(&prog);
			continue;
		}
		s = xcalloc(1, sizeof(*s));
		s->name = xstrdup(e->name);
		s->type = xstrdup(mastercf_type_name(e->type));
		s->command = xstrdup(e->command);
		s->key = xstrdup(err_fmt("%s/%s", s->type, e->name));
		if (e->type == MASTERCF_INET) {
			s->host = xstrdup(e->host);
			s->port = xstrdup(e->port);
		}
		/*
		 * ulak's daemons are event-driven or threaded: one process
		 * serves many clients, so master runs one process per
		 * service (docs/master.md).
		 */
		s->maxproc = 1;
		s->wakeup = e->wakeup > 0 ? (int)e->wakeup : 0;
		strlist_init(&s->argv);
		strlist_add_owned(&s->argv, buf_detach(&prog, NULL));
		buf_release(&prog);
		strlist_add(&s->argv, "-c");
		strlist_add(&s->argv, m.config_dir);
		strlist_add(&s->argv, "-n");
		strlist_add(&s->argv, e->name);
		strlist_add(&s->argv, "-t");
		strlist_add(&s->argv, s->type);
		for (size_t k = 0; k < e->n_overrides; k++) {
			strlist_add(&s->argv, "-o");
			strlist_add(&s->argv, err_fmt("%s=%s",
			    e->overrides[k].name, e->overrides[k].value));
		}
		for (size_t k = 0; k < e->args.n; k++)
			strlist_add(&s->argv, e->args.v[k]);
		s->procs = xcalloc((size_t)s->maxproc, sizeof(*s->procs));
		for (int k = 0; k < s->maxproc; k++) {
			s->procs[k].svc = s;
			s->procs[k].slot = k;
		}
		*tail = s;
		tail = &s->next;
	}
	mastercf_free(tab);
	*list_r = list;
	return 0;
}

static int
master_listen(struct msvc *s, const char **error_r)
{
	if (strcmp(s->type, "inet") == 0)
		return master_listen_inet(s, error_r);
	if (strcmp(s->type, "unix") == 0)
		return master_listen_unix(s, error_r);
	/* pass, fifo, unix-dgram: not used by ulak's own daemons. */
	*error_r = err_fmt("service %s: type %s is not supported", s->name,
	    s->type);
	return -1;
}

static void
master_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mproc *p = arg;

	event_free(p->restart);
	p->restart = NULL;
	if (!m.stopping && !p->svc->retired)
		master_spawn(p);
}

static void
master_spawn(struct mproc *p)
{
	struct msvc *s = p->svc;
	sigset_t usr1, saved;
	pid_t pid;

	/*
	 * SIGUSR1 (drain) is blocked from before the fork and stays blocked
	 * across exec until the daemon can take it (daemon_init): a reload
	 * right after a start must not kill a daemon by the signal's default
	 * action, not even between fork and exec.
	 */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &saved);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	if (pid < 0) {
		log_warning("fork for service %s: %m", s->name);
		p->backoff = MASTER_MAX_BACKOFF;
		p->restart = evtimer_new(m.base, master_restart_cb, p);
		struct timeval tv = { p->backoff, 0 };
		evtimer_add(p->restart, &tv);
		return;
	}
	if (pid == 0) {
		char count[16];
		sigset_t none;

		/* Child: listening sockets become 3.., everything else closes;
		 * only SIGUSR1 stays blocked. */
		sigemptyset(&none);
		sigaddset(&none, SIGUSR1);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int i = 0; i < s->n_fds; i++) {
			int fd = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 64);

			if (fd < 0)
				_exit(71);
			s->fds[i] = fd;
		}
		for (int i = 0; i < s->n_fds; i++) {
			if (dup2(s->fds[i], DAEMON_LISTEN_FD + i) < 0)
				_exit(71);
		}
		for (int fd = DAEMON_LISTEN_FD + s->n_fds; fd < 1024; fd++)
			(void)close(fd);
		if (s->n_fds > 0) {
			(void)snprintf(count, sizeof(count), "%d", s->n_fds);
			setenv("ULAK_LISTEN_FDS", count, 1);
		} else {
			unsetenv("ULAK_LISTEN_FDS");
		}
		setenv("ULAK_CONFIG_DIR", m.config_dir, 1);
		execv(s->argv.v[0], s->argv.v);
		log_error("exec %s: %m", s->argv.v[0]);
		_exit(71);
	}
	p->pid = pid;
	p->started = time(NULL);
}

static struct mproc *
master_find_proc(pid_t pid)
{
	for (struct msvc *s = m.services; s != NULL; s = s->next)
		for (int i = 0; i < s->maxproc; i++)
			if (s->procs[i].pid == pid)
				return &s->procs[i];
	return NULL;
}

static void
master_log_death(const char *name, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_warning("process %s pid %ld killed by signal %d", name,
		    (long)pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("process %s pid %ld exit status %d", name, (long)pid,
		    WEXITSTATUS(status));
}

static bool
master_children_left(void)
{
	if (m.draining != NULL)
		return true;
	for (struct msvc *s = m.services; s != NULL; s = s->next)
		for (int i = 0; i < s->maxproc; i++)
			if (s->procs[i].pid != 0)
				return true;
	return false;
}

static void
master_sigchld(evutil_socket_t sig, short what, void *arg)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct mproc *p = master_find_proc(pid);

		if (p == NULL) {
			struct mdrain **dp = &m.draining;

			while (*dp != NULL && (*dp)->pid != pid)
				dp = &(*dp)->next;
			if (*dp != NULL) {
				struct mdrain *d = *dp;

				master_log_death(d->name, pid, status);
				*dp = d->next;
				free(d->name);
				free(d);
			}
			continue;
		}
		p->pid = 0;
		if (m.stopping)
			continue;
		master_log_death(p->svc->argv.v[0], pid, status);
		{
			time_t up = time(NULL) - p->started;
			struct timeval tv = { 0, 0 };

			if (up < MASTER_FAST_DEATH) {
				p->backoff = p->backoff == 0 ? 1 :
				    p->backoff * 2 > MASTER_MAX_BACKOFF ?
				    MASTER_MAX_BACKOFF : p->backoff * 2;
				log_warning("%s: service %s died %ld s after its "
				    "start; restarting in %u s",
				    p->svc->argv.v[0], p->svc->name, (long)up,
				    p->backoff);
			} else {
				p->backoff = 0;
			}
			tv.tv_sec = p->backoff;
			p->restart = evtimer_new(m.base, master_restart_cb, p);
			evtimer_add(p->restart, &tv);
		}
	}
	if (m.stopping && !master_children_left())
		event_base_loopbreak(m.base);
}

static void
master_kill_all(int sig)
{
	for (struct msvc *s = m.services; s != NULL; s = s->next)
		for (int i = 0; i < s->maxproc; i++)
			if (s->procs[i].pid != 0)
				(void)kill(s->procs[i].pid, sig);
	for (struct mdrain *d = m.draining; d != NULL; d = d->next)
		(void)kill(d->pid, sig);
}

static void
master_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	log_warning("daemons still running %d s after stop: killing them",
	    MASTER_STOP_GRACE);
	master_kill_all(SIGKILL);
}

static void
master_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { MASTER_STOP_GRACE, 0 };

	if (m.stopping)
		return;
	m.stopping = true;
	log_info("terminating on signal %d", (int)sig);
	master_kill_all(SIGTERM);
	if (!master_children_left()) {
		event_base_loopbreak(m.base);
		return;
	}
	m.stop_timer = evtimer_new(m.base, master_stop_timeout, NULL);
	evtimer_add(m.stop_timer, &tv);
}

static void
master_start_services(struct msvc *list)
{
	for (struct msvc *s = list; s != NULL; s = s->next) {
		for (int i = 0; i < s->maxproc; i++)
			if (s->procs[i].pid == 0 && s->procs[i].restart == NULL)
				master_spawn(&s->procs[i]);
		if (s->wakeup > 0 && s->socket_path != NULL &&
		    s->wakeup_ev == NULL) {
			struct timeval tv = { s->wakeup, 0 };

			s->wakeup_ev = event_new(m.base, -1, EV_PERSIST,
			    master_wakeup, s);
			event_add(s->wakeup_ev, &tv);
		}
	}
}

/* Move running processes of S to the draining list and tell them to drain. */
static void
master_retire(struct msvc *s)
{
	s->retired = true;
	for (int i = 0; i < s->maxproc; i++) {
		struct mproc *p = &s->procs[i];

		if (p->pid != 0) {
			struct mdrain *d = xcalloc(1, sizeof(*d));

			d->pid = p->pid;
			d->name = xstrdup(s->argv.v[0]);
			d->next = m.draining;
			m.draining = d;
			(void)kill(p->pid, SIGUSR1);
			p->pid = 0;
		}
	}
}

static int
master_read_config(struct config **cfg_r, const char **error_r)
{
	struct config *cfg = config_new(m.config_dir);
	struct strlist problems;
	const char *logfile;

	if (config_load(cfg, error_r) < 0) {
		config_free(cfg);
		return -1;
	}
	strlist_init(&problems);
	if (config_check(cfg, &problems) > 0) {
		for (size_t i = 0; i < problems.n; i++)
			log_warning("%s", problems.v[i]);
		*error_r = err_fmt("%s/main.cf: %s%s", m.config_dir,
		    problems.v[0], problems.n > 1 ? " (and more: see the "
		    "log)" : "");
		strlist_release(&problems);
		config_free(cfg);
		return -1;
	}
	strlist_release(&problems);
	logfile = config_str(cfg, "maillog_file");
	if (!m.foreground)
		log_init("master", *logfile ? logfile : "syslog");
	*cfg_r = cfg;
	return 0;
}

/* master.reload beside master.pid. */
static void
master_reload_path(struct buf *path)
{
	const char *slash = strrchr(m.pid_path, '/');

	buf_init(path, 0);
	buf_append(path, m.pid_path, (size_t)(slash - m.pid_path));
	buf_append_str(path, "/master.reload");
}

/*
 * pid/master.reload says how the last SIGHUP ended, for `ulak reload`,
 * which waits for it to change: "PID COUNT ok" or "PID COUNT failed:
 * WHY".  Written when the new daemons are started and the old ones told
 * to drain, so that what follows a reload meets the new configuration.
 */
static void
master_reload_report(const char *why)
{
	struct buf path, text;
	const char *error;

	buf_init(&text, 0);
	master_reload_path(&path);
	m.reloads++;
	buf_printf(&text, "%ld %u %s%s\n", (long)getpid(), m.reloads,
	    why == NULL ? "ok" : "failed: ", why == NULL ? "" : why);
	if (file_write_atomic(path.data, text.data, text.len, 0644,
	    &error) < 0)
		log_warning("%s", error);
	buf_release(&text);
	buf_release(&path);
}

static void
master_reload_forget(void)
{
	struct buf path;

	master_reload_path(&path);
	(void)unlink(path.data);
	buf_release(&path);
}

static void
master_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct config *cfg, *old_cfg = m.cfg;
	struct msvc *list, *old = m.services;
	const char *error;

	if (m.stopping)
		return;
	if (master_read_config(&cfg, &error) < 0) {
		log_warning("reload failed, keeping the running configuration: "
		    "%s", error);
		master_reload_report(error);
		return;
	}
	m.cfg = cfg;
	if (master_load_services(&list, &error) < 0) {
		log_warning("reload failed, keeping the running configuration: "
		    "%s", error);
		master_reload_report(error);
		m.cfg = old_cfg;
		config_free(cfg);
		return;
	}
	/* Reuse the listening sockets of services that stay. */
	for (struct msvc *s = list; s != NULL; s = s->next) {
		struct msvc *o;

		for (o = old; o != NULL; o = o->next)
			if (!o->retired && strcmp(o->key, s->key) == 0)
				break;
		if (o != NULL) {
			memcpy(s->fds, o->fds, sizeof(s->fds));
			s->n_fds = o->n_fds;
			o->n_fds = 0;
			s->socket_path = o->socket_path;
			o->socket_path = NULL;
		} else if (master_listen(s, &error) < 0) {
			log_warning("%s", error);
		}
	}
	for (struct msvc *o = old; o != NULL; o = o->next)
		master_retire(o);
	while (old != NULL) {
		struct msvc *n = old->next;

		msvc_free(old);
		old = n;
	}
	m.services = list;
	config_free(old_cfg);
	master_start_services(m.services);
	log_info("reload -- version %s, configuration %s", ULAK_VERSION,
	    m.config_dir);
	master_reload_report(NULL);
}

static int
master_lock_pid(const char **error_r)
{
	struct buf path;
	const char *err;

	buf_init(&path, 0);
	buf_printf(&path, "%s/pid", m.queue_dir);
	if (file_mkdirs(path.data, 0755, &err) < 0) {
		*error_r = err;
		buf_release(&path);
		return -1;
	}
	buf_append_str(&path, "/master.pid");
	m.pid_fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (m.pid_fd < 0) {
		*error_r = err_fmt("open %s: %s", path.data, strerror(errno));
		buf_release(&path);
		return -1;
	}
	if (flock(m.pid_fd, LOCK_EX | LOCK_NB) < 0) {
		char pidtext[32] = "";
		ssize_t n = read(m.pid_fd, pidtext, sizeof(pidtext) - 1);

		pidtext[n > 0 ? n : 0] = '\0';
		*error_r = err_fmt("the mail system is already running (pid %ld)",
		    strtol(pidtext, NULL, 10));
		close(m.pid_fd);
		buf_release(&path);
		return -1;
	}
	m.pid_path = buf_detach(&path, NULL);
	buf_release(&path);
	return 0;
}

static void
master_write_pid(void)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%10ld\n", (long)getpid());

	if (ftruncate(m.pid_fd, 0) < 0 || pwrite(m.pid_fd, text, (size_t)n, 0) !=
	    n)
		log_fatal("write %s: %m", m.pid_path);
	(void)fsync(m.pid_fd);
}

/*
 * As root, the daemons run as mail_owner and must own the queue: give it
 * every queue folder (Postfix's set-permissions, at each start).
 */
static void
master_queue_owner(void)
{
	static const char *const folders[] = {
		"", QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED,
		QUEUE_HOLD, QUEUE_CORRUPT, QUEUE_BOUNCE, QUEUE_DEFER,
		QUEUE_PRIVATE,
	};
	const char *owner = config_str(m.cfg, "mail_owner");
	struct passwd *pw = getpwnam(owner);
	struct buf path;

	if (pw == NULL)
		log_fatal("mail_owner %s: no such user (create it, e.g. "
		    "useradd --system %s)", owner, owner);
	if (pw->pw_uid == 0)
		log_fatal("mail_owner %s must not be root", owner);
	buf_init(&path, 0);
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", m.queue_dir, folders[i]);
		if (chown(path.data, pw->pw_uid, pw->pw_gid) < 0)
			log_fatal("chown %s to %s: %m", path.data, owner);
	}
	buf_release(&path);
}

static void
master_usage(void)
{
	fprintf(stderr, "usage: master [-f] -c config_dir\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct event *ev_hup, *ev_term, *ev_int, *ev_chld;
	const char *error, *env;
	int c;

	file_sanitize_stdio();
	log_init("master", "stderr");
	env = getenv("ULAK_CONFIG_DIR");
	m.config_dir = xstrdup(env != NULL && *env ? env : "/etc/ulak");
	while ((c = getopt(argc, argv, "c:f")) != -1) {
		switch (c) {
		case 'c':
			free(m.config_dir);
			m.config_dir = xstrdup(optarg);
			break;
		case 'f':
			m.foreground = true;
			setenv("ULAK_LOG_STDERR", "1", 1);
			break;
		default:
			master_usage();
		}
	}
	if (optind != argc)
		master_usage();
	/* Until it detaches, `ulak start` shows why the start failed. */
	log_tee_stderr(true);
	if (master_read_config(&m.cfg, &error) < 0)
		log_fatal("%s", error);
	m.queue_dir = xstrdup(config_str(m.cfg, "queue_directory"));
	buf_init(&m.daemon_dir, 0);
	if (daemon_dir_find(config_str(m.cfg, "daemon_directory"),
	    &m.daemon_dir, &error) < 0)
		log_fatal("%s", error);
	if (queue_dirs_create(m.queue_dir, &error) < 0)
		log_fatal("%s", error);
	if (master_is_root())
		master_queue_owner();
	if (master_lock_pid(&error) < 0)
		log_fatal("%s", error);
	if (master_load_services(&m.services, &error) < 0)
		log_fatal("%s", error);
	for (struct msvc *s = m.services; s != NULL; s = s->next)
		if (master_listen(s, &error) < 0)
			log_fatal("%s", error);

	if (!m.foreground) {
		pid_t pid = fork();
		int null;

		if (pid < 0)
			log_fatal("fork: %m");
		if (pid > 0)
			_exit(0);
		log_tee_stderr(false);
		(void)setsid();
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	master_write_pid();
	signal(SIGPIPE, SIG_IGN);

	m.base = event_base_new();
	if (m.base == NULL)
		log_fatal("cannot create the event loop");
	ev_hup = evsignal_new(m.base, SIGHUP, master_sighup, NULL);
	ev_term = evsignal_new(m.base, SIGTERM, master_sigterm, NULL);
	ev_int = evsignal_new(m.base, SIGINT, master_sigterm, NULL);
	ev_chld = evsignal_new(m.base, SIGCHLD, master_sigchld, NULL);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_chld, NULL);

	master_reload_forget();
	log_info("daemon started -- version %s, configuration %s",
	    ULAK_VERSION, m.config_dir);
	master_start_services(m.services);
	event_base_dispatch(m.base);

	log_info("stopped");
	(void)unlink(m.pid_path);
	master_reload_forget();
	while (m.services != NULL) {
		struct msvc *n = m.services->next;

		msvc_free(m.services);
		m.services = n;
	}
	while (m.draining != NULL) {
		struct mdrain *n = m.draining->next;

		free(m.draining->name);
		free(m.draining);
		m.draining = n;
	}
	if (m.stop_timer != NULL)
		event_free(m.stop_timer);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_base_free(m.base);
	config_free(m.cfg);
	buf_release(&m.daemon_dir);
	free(m.queue_dir);
	free(m.pid_path);
	free(m.config_dir);
	close(m.pid_fd);
	return 0;
}
