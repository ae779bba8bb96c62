/*
 * mailuser - start a process of a mail user's own uid to serve one
 * IMAP or POP3 session that imapd or pop3d has authenticated.
 *
 * imapd and pop3d run as mail_owner; a user whose mail belongs to another
 * uid (a system account, as in the classic Postfix + Dovecot setup) is
 * served by a worker: the front sends this service one request (attribute
 * lines, docs/protocols.md "mailuser") with one end of a socketpair
 * (SCM_RIGHTS); mailuser looks the user up in the same password tables,
 * refuses uid 0, gid 0 and uids below first_valid_uid, forks, and the
 * child becomes the user (groups, gid, uid, checked), goes to the home
 * folder and executes "imapd ... worker" or "pop3d ... worker" with the
 * socketpair end as descriptor 3.  The answer (status=0, or 4/5 with a
 * reason) goes back once the exec has happened or failed.
 *
 * Privileges: stays root (only master, local and mailuser do), never
 * reads from the network, and takes requests only from peers whose
 * SO_PEERCRED uid is mail_owner's or root's (or its own when it runs
 * unprivileged).  It does not check passwords: the front did; a
 * compromised front could thus open any non-system user's mail
 * (docs/security.md).  Every request field is checked; a malformed
 * request is refused.  Children are reaped on SIGCHLD; nothing waits
 * for one.
 *
 * Signals: SIGTERM exits at once (running workers go on serving their
 * sessions), SIGUSR1 stops accepting and exits once no request is open.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "attr.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "daemon_dir.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "netserver.h"
#include "passdb.h"
#include "str.h"

/* A request must arrive within this many seconds of the connect. */
#define REQUEST_TIMEOUT 10
/* Descriptors accepted with one request (one is used). */
#define FDS_MAX 4

struct server {
	struct event_base *base;
	struct netserver *net;
	struct daemon *d;
	struct passdb *imap_db;		/* imapd_password_maps */
	struct passdb *pop3_db;		/* pop3d_password_maps */
	char *mailbox;			/* imap_mailbox, raw */
	char *daemon_dir;
	char *logfile;			/* maillog_file, "" or "syslog" */
	bool log_stderr;		/* ULAK_LOG_STDERR=1 */
	uint64_t first_valid_uid;
	uid_t owner_uid;		/* mail_owner's (or our own) */
	bool root;
};

struct conn {
	struct server *srv;
	int fd;
	struct event *ev;
	struct attr_decoder *dec;
	int passed_fd;			/* the session's socket, or -1 */
	bool extra_fds;			/* more than one came */
	int status_fd;			/* the child's exec report, or -1 */
	struct event *status_ev;
	struct buf status;		/* what the child wrote */
	pid_t pid;
	char *user;
	char *service;
	char *addr;
};

static void
conn_free(struct conn *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->status_ev != NULL)
		event_free(c->status_ev);
	if (c->status_fd >= 0)
		close(c->status_fd);
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	if (c->fd >= 0)
		close(c->fd);
	if (c->dec != NULL)
		attr_decoder_free(c->dec);
	buf_release(&c->status);
	free(c->user);
	free(c->service);
	free(c->addr);
	netserver_session_ended(c->srv->net, NULL);
	free(c);
}

/* Answer and end the connection. */
static void
conn_reply(struct conn *c, int status, const char *dsn, const char *reason)
{
	struct buf out;
	const char *error;

	buf_init(&out, 0);
	(void)attr_encode_uint(&out, "status", (uint64_t)status, &error);
	if (status != 0) {
		(void)attr_encode(&out, "dsn", dsn, &error);
		(void)attr_encode(&out, "reason", reason, &error);
	}
	(void)attr_encode_end(&out);
	/* A few bytes into an idle socket: never blocks for long. */
	(void)attr_send(c->fd, out.data, out.len, 1000, &error);
	buf_release(&out);
	conn_free(c);
}

static void
refuse(struct conn *c, int status, const char *reason)
{
	struct buf esc;

	buf_init(&esc, 0);
	log_warning("refused: user=%s service=%s from %s: %s",
	    c->user != NULL ? log_escape(&esc, c->user, strlen(c->user)) : "-",
	    c->service != NULL ? c->service : "-",
	    c->addr != NULL ? c->addr : "-", reason);
	buf_release(&esc);
	conn_reply(c, status, status == 5 ? "5.7.0" : "4.3.0", reason);
}

/* IMAP tags, client addresses: 1..MAX printable ASCII bytes, no space. */
static bool
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static void
env_add(struct strlist *env, const char *name, const char *value)
{
	struct buf b;

	buf_init(&b, 0);
	(void)buf_printf(&b, "%s=%s", name, value);
	strlist_add(env, b.data);
	buf_release(&b);
}

/* In the child: report WHAT to the parent and exit. */
static void __attribute__((noreturn))
child_fail(int report, const char *what)
{
	if (write(report, what, strlen(what)) < 0) {
		/* The parent then reports a failed exec without the reason. */
	}
	_exit(127);
}

/*
 * The child: become U, go home, exec the worker.  Never returns.
 * Only async-signal-safe calls matter little here (the parent has one
 * thread), but nothing is logged: errors go to the parent via REPORT.
 */
static void __attribute__((noreturn))
child_exec(struct conn *c, const struct passdb_user *u, const char *maildir,
    const char *tag, const char *method, bool tls, int report)
{
	struct server *srv = c->srv;
	struct strlist argv, env;
	struct buf prog;
	struct passwd *pw;
	const char *v;
	sigset_t none;
	int logfd = -1;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);

	strlist_init(&env);
	if (srv->log_stderr)
		env_add(&env, "ULAK_LOG_STDERR", "1");
	else if (srv->logfile[0] == '/') {
		/* The worker cannot open mail_owner's log: give it ours. */
		logfd = open(srv->logfile, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0640);
		if (logfd >= 0)
			env_add(&env, "ULAK_LOG_STDERR", "1");
	}
	env_add(&env, "ULAK_WORKER_USER", u->name);
	env_add(&env, "ULAK_WORKER_MAILDIR", maildir);
	env_add(&env, "ULAK_WORKER_ADDRESS", c->addr);
	env_add(&env, "ULAK_WORKER_TLS", tls ? "yes" : "no");
	if (tag != NULL)
		env_add(&env, "ULAK_WORKER_TAG", tag);
	if (method != NULL)
		env_add(&env, "ULAK_WORKER_METHOD", method);
	env_add(&env, "HOME", u->home);
	env_add(&env, "USER", u->name);
	env_add(&env, "LOGNAME", u->name);
	env_add(&env, "PATH", "/usr/local/bin:/usr/bin:/bin");
	/* Sanitizer settings of test builds, the time zone of the logs. */
	if ((v = getenv("ASAN_OPTIONS")) != NULL)
		env_add(&env, "ASAN_OPTIONS", v);
	if ((v = getenv("UBSAN_OPTIONS")) != NULL)
		env_add(&env, "UBSAN_OPTIONS", v);
	if ((v = getenv("LSAN_OPTIONS")) != NULL)
		env_add(&env, "LSAN_OPTIONS", v);
	if ((v = getenv("TZ")) != NULL)
		env_add(&env, "TZ", v);

	if (srv->root) {
		/* A system account gets its groups; a table-only name may
		 * belong to someone else in /etc/group: only its gid. */
		pw = getpwnam(u->name);
		if (pw != NULL && pw->pw_uid == u->uid) {
			if (initgroups(u->name, u->gid) < 0)
				child_fail(report, "initgroups failed");
		} else if (setgroups(1, &u->gid) < 0)
			child_fail(report, "setgroups failed");
		if (setgid(u->gid) < 0 || setuid(u->uid) < 0)
			child_fail(report, "cannot become the user");
	}
	if (getuid() != u->uid || geteuid() != u->uid ||
	    getgid() != u->gid || getegid() != u->gid ||
	    (u->uid != 0 && setuid(0) == 0))
		child_fail(report, "privileges could not be changed for good");
	if (chdir(u->home) < 0 && chdir("/") < 0)
		child_fail(report, "cannot change to the home folder or /");

	if (logfd >= 0 && logfd != STDERR_FILENO &&
	    dup2(logfd, STDERR_FILENO) < 0)
		child_fail(report, "dup2 of the log failed");
	if (dup2(c->passed_fd, DAEMON_LISTEN_FD) < 0)
		child_fail(report, "dup2 of the session failed");
	/* Nothing else crosses the exec (the report pipe closes there). */
	if (close_range(DAEMON_LISTEN_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = DAEMON_LISTEN_FD + 1; fd < 65536; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);

	buf_init(&prog, 0);
	(void)buf_printf(&prog, "%s/%s", srv->daemon_dir,
	    strcmp(c->service, "imap") == 0 ? "imapd" : "pop3d");
	strlist_init(&argv);
	strlist_add(&argv, prog.data);
	strlist_add(&argv, "-c");
	strlist_add(&argv, srv->d->config_dir);
	strlist_add(&argv, "-n");
	strlist_add(&argv, c->service);
	strlist_add(&argv, "worker");
	execve(prog.data, argv.v, env.v);
	child_fail(report, err_fmt("exec %s: %s", prog.data, strerror(errno)));
}

static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char data[512];
	ssize_t n;
	struct buf esc;

	if (what & EV_TIMEOUT) {
		/* The child hangs before its exec (e.g. initgroups on a slow
		 * directory): the front gives up; the child is reaped
		 * whenever it ends. */
		refuse(c, 4, "the worker did not start in time");
		return;
	}
	n = read(fd, data, sizeof(data));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		if (c->status.len < 1024)
			(void)buf_append(&c->status, data, (size_t)n);
		return;
	}
	if (c->status.len > 0 || n < 0) {
		buf_init(&esc, 0);
		log_escape(&esc, c->status.data, c->status.len);
		refuse(c, 4, err_fmt("worker pid %ld: %s", (long)c->pid,
		    n < 0 ? strerror(errno) : esc.data));
		buf_release(&esc);
		return;
	}
	/* EOF without a word: the exec happened. */
	buf_init(&esc, 0);
	log_info("worker pid %ld: user=%s service=%s from %s",
	    (long)c->pid, log_escape(&esc, c->user, strlen(c->user)),
	    c->service, c->addr);
	buf_release(&esc);
	conn_reply(c, 0, NULL, NULL);
}

/* A complete request R: check it, look the user up, start the worker. */
static void
handle(struct conn *c, const struct attr_list *r)
{
	struct server *srv = c->srv;
	const char *request, *service, *user, *addr, *tls, *tag, *method;
	const char *error;
	struct passdb_user u;
	struct passdb *db;
	struct buf path;
	struct stat st;
	char *hash = NULL;
	enum passdb_result pr;
	int pipefd[2];
	struct timeval tv = { REQUEST_TIMEOUT, 0 };

	if (attr_require(r, "request", &request, &error) < 0 ||
	    attr_require(r, "service", &service, &error) < 0 ||
	    attr_require(r, "user", &user, &error) < 0 ||
	    attr_require(r, "client_address", &addr, &error) < 0 ||
	    attr_require(r, "tls", &tls, &error) < 0) {
		refuse(c, 5, error);
		return;
	}
	c->service = xstrdup(service);
	c->user = xstrdup(user);
	c->addr = xstrdup(token_ok(addr, 64) ? addr : "unknown");
	tag = attr_get(r, "tag");
	method = attr_get(r, "method");
	if (strcmp(request, "session") != 0 || (strcmp(service, "imap") != 0 &&
	    strcmp(service, "pop3") != 0) || (strcmp(tls, "yes") != 0 &&
	    strcmp(tls, "no") != 0) || r->n != 5u + (tag != NULL) +
	    (method != NULL) || attr_count(r, "tag") > 1 ||
	    attr_count(r, "method") > 1) {
		refuse(c, 5, "malformed request");
		return;
	}
	if (strcmp(service, "imap") == 0 ? (tag == NULL || method != NULL ||
	    !token_ok(tag, 256)) : (tag != NULL || (method != NULL &&
	    strcmp(method, "USER") != 0 && strcmp(method, "PLAIN") != 0))) {
		refuse(c, 5, "malformed request");
		return;
	}
	if (c->passed_fd < 0 || c->extra_fds || fstat(c->passed_fd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		refuse(c, 5, "the request must carry exactly one socket");
		return;
	}
	if (strlen(user) > 256 || strchr(user, '\n') != NULL) {
		refuse(c, 5, "malformed user name");
		return;
	}
	db = strcmp(service, "imap") == 0 ? srv->imap_db : srv->pop3_db;
	memset(&u, 0, sizeof(u));
	pr = passdb_lookup(db, user, &u, &hash, &error);
	free(hash);
	if (pr != PASSDB_OK) {
		passdb_user_release(&u);
		if (pr == PASSDB_TEMPFAIL)
			refuse(c, 4, error);
		else
			refuse(c, 5, "no such user in the password tables");
		return;
	}
	if (u.uid == 0 || u.gid == 0 || u.uid < srv->first_valid_uid) {
		const char *why = err_fmt("uid %lu gid %lu: uid 0, gid 0 and "
		    "uids below first_valid_uid (%llu) are not served",
		    (unsigned long)u.uid, (unsigned long)u.gid,
		    (unsigned long long)srv->first_valid_uid);

		passdb_user_release(&u);
		refuse(c, 5, why);
		return;
	}
	if (!srv->root && u.uid != geteuid()) {
		passdb_user_release(&u);
		refuse(c, 4, "mailuser is not running as root");
		return;
	}
	buf_init(&path, 0);
	if (passdb_mailbox_path(srv->mailbox, &u, &path, &error) < 0) {
		buf_release(&path);
		passdb_user_release(&u);
		refuse(c, 5, err_fmt("imap_mailbox: %s", error));
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		buf_release(&path);
		passdb_user_release(&u);
		refuse(c, 4, err_fmt("pipe: %s", strerror(errno)));
		return;
	}
	c->pid = fork();
	if (c->pid == 0) {
		close(pipefd[0]);
		child_exec(c, &u, path.data, tag, method,
		    strcmp(tls, "yes") == 0, pipefd[1]);
	}
	close(pipefd[1]);
	buf_release(&path);
	passdb_user_release(&u);
	if (c->pid < 0) {
		close(pipefd[0]);
		refuse(c, 4, err_fmt("fork: %s", strerror(errno)));
		return;
	}
	/* The session belongs to the worker now. */
	close(c->passed_fd);
	c->passed_fd = -1;
	c->status_fd = pipefd[0];
	evutil_make_socket_nonblocking(c->status_fd);
	c->status_ev = event_new(srv->base, c->status_fd,
	    EV_READ | EV_PERSIST, status_cb, c);
	if (c->status_ev == NULL)
		log_fatal("event_new failed");
	event_add(c->status_ev, &tv);
}

/* Keep the descriptors that came with the bytes of MSG. */
static void
take_fds(struct conn *c, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL;
	    cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (c->passed_fd < 0)
				c->passed_fd = fd;
			else {
				close(fd);
				c->extra_fds = true;
			}
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		c->extra_fds = true;
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char data[4096];
	union {
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr msg;
	struct iovec iov;
	struct attr_list r;
	const char *error;
	size_t used;
	ssize_t n;
	int rc;

	if (what & EV_TIMEOUT) {
		refuse(c, 4, "timeout while reading the request");
		return;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 || msg.msg_controllen > 0)
		take_fds(c, &msg);
	if (n <= 0) {
		if (n < 0 || attr_decoder_pending(c->dec))
			log_warning("request cut short%s%s",
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		conn_free(c);
		return;
	}
	attr_list_init(&r);
	rc = attr_decoder_feed(c->dec, data, (size_t)n, &used, &r, &error);
	if (rc < 0 || (rc == 1 && used != (size_t)n)) {
		attr_list_release(&r);
		refuse(c, 5, rc < 0 ? error : "data after the request");
		return;
	}
	if (rc == 1) {
		event_del(c->ev);
		handle(c, &r);
	}
	attr_list_release(&r);
}

static void
connection_cb(void *ctx, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct server *srv = ctx;
	struct conn *c = xcalloc(1, sizeof(*c));
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct timeval tv = { REQUEST_TIMEOUT, 0 };

	c->srv = srv;
	c->fd = fd;
	c->passed_fd = c->status_fd = -1;
	buf_init(&c->status, 0);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		refuse(c, 5, err_fmt("SO_PEERCRED: %s", strerror(errno)));
		return;
	}
	if (cred.uid != 0 && cred.uid != srv->owner_uid &&
	    cred.uid != geteuid()) {
		refuse(c, 5, err_fmt("peer pid %ld uid %lu is neither "
		    "mail_owner nor root", (long)cred.pid,
		    (unsigned long)cred.uid));
		return;
	}
	c->dec = attr_decoder_new();
	c->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	if (c->ev == NULL)
		log_fatal("event_new failed");
	event_add(c->ev, &tv);
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFSIGNALED(status))
			log_warning("worker pid %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warning("worker pid %ld exit status %d", (long)pid,
			    WEXITSTATUS(status));
	}
}

static struct passdb *
open_db(struct config *cfg, const char *name)
{
	const char *error;
	struct passdb *db = passdb_open(config_str(cfg, name), &error);

	if (db == NULL)
		log_fatal("%s: %s", name, error);
	return db;
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct server srv;
	static const struct netserver_callbacks net_cb = { connection_cb };
	struct event *ev_chld;
	struct passwd *pw;
	struct buf dir;
	const char *error, *env;

	memset(&srv, 0, sizeof(srv));
	daemon_init(&d, "mailuser", argc, argv);
	if (d.n_listen == 0)
		log_fatal("no listening socket: mailuser is started by master");
	srv.d = &d;
	srv.root = geteuid() == 0;
	srv.first_valid_uid = (uint64_t)config_int(d.cfg, "first_valid_uid");
	srv.mailbox = xstrdup(config_raw(d.cfg, "imap_mailbox"));
	srv.logfile = xstrdup(config_str(d.cfg, "maillog_file"));
	env = getenv("ULAK_LOG_STDERR");
	srv.log_stderr = env != NULL && strcmp(env, "1") == 0;
	srv.owner_uid = geteuid();
	pw = getpwnam(config_str(d.cfg, "mail_owner"));
	if (pw != NULL && pw->pw_uid != 0)
		srv.owner_uid = pw->pw_uid;
	else if (srv.root)
		log_fatal("mail_owner %s: no such user, or root",
		    config_str(d.cfg, "mail_owner"));
	buf_init(&dir, 0);
	if (daemon_dir_find(config_str(d.cfg, "daemon_directory"), &dir,
	    &error) < 0)
		log_fatal("%s", error);
	srv.daemon_dir = buf_detach(&dir, NULL);
	buf_release(&dir);
	srv.imap_db = open_db(d.cfg, "imapd_password_maps");
	srv.pop3_db = open_db(d.cfg, "pop3d_password_maps");
	if (!srv.root)
		log_warning("not running as root: only users of uid %lu can be "
		    "served", (unsigned long)geteuid());

	signal(SIGPIPE, SIG_IGN);
	srv.base = event_base_new();
	if (srv.base == NULL)
		log_fatal("event_base_new failed");
	ev_chld = evsignal_new(srv.base, SIGCHLD, sigchld_cb, &srv);
	if (ev_chld == NULL || event_add(ev_chld, NULL) < 0)
		log_fatal("cannot catch SIGCHLD");
	srv.net = netserver_new(srv.base, &d, &net_cb, &srv);

	event_base_dispatch(srv.base);

	log_info("exiting: drained");
	netserver_free(srv.net);
	event_free(ev_chld);
	event_base_free(srv.base);
	passdb_close(srv.imap_db);
	passdb_close(srv.pop3_db);
	free(srv.mailbox);
	free(srv.logfile);
	free(srv.daemon_dir);
	daemon_release(&d);
	return 0;
}
