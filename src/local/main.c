/*
 * local - the local delivery agent: it delivers each recipient that qmgr
 * hands over to the mailbox, command, file or forwarding address that
 * aliases, .forward and home_mailbox make of it.
 *
 * Process model: master hands over the listening socket
 * ($queue_directory/private/local).  Each accepted connection is served by
 * its own child process, one request at a time (docs/protocols.md,
 * "Delivery agents"), so a slow delivery never holds up another
 * connection; at most LOCAL_CHILDREN_MAX connections are served at once
 * (more wait in the listen backlog).
 *
 * Privileges: local is the one daemon that keeps root when master runs as
 * root (master.cf unpriv = n): it needs to become each recipient.  It
 * reads only main.cf, the lookup tables and the queue as root; every
 * mailbox, .forward, command and file is touched by a child that has
 * become the recipient (local_deliver.c).  Without root everything runs
 * as the invoking user.
 *
 * Distrusts: requests from its socket (every attribute is checked; the
 * queue file path must be FOLDER/ID inside the queue), the queue file's
 * envelope values (escaped before logging).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "config.h"
#include "daemon.h"
#include "dict.h"
#include "err.h"
#include "local.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "queue.h"
#include "queue_file.h"
#include "queue_id.h"
#include "selfpipe.h"

#define LOCAL_CHILDREN_MAX 100
/* Largest .forward or :include: file. */
#define LOCAL_FILE_MAX (1024 * 1024)
/* Header block searched for Delivered-To: */
#define LOCAL_HEADER_MAX (1024 * 1024)

static struct local_cfg cfg;

/* Per connection (in the child). */
struct conn {
	struct maps *aliases;
	struct maps *users;
};

static unsigned
source_bits(struct config *c, const char *name)
{
	struct strlist l;
	unsigned bits = 0;

	strlist_init(&l);
	config_list(c, name, &l);
	for (size_t i = 0; i < l.n; i++) {
		if (str_casecmp(l.v[i], "alias") == 0)
			bits |= LOCAL_SRC_ALIAS;
		else if (str_casecmp(l.v[i], "forward") == 0)
			bits |= LOCAL_SRC_FORWARD;
		else if (str_casecmp(l.v[i], "include") == 0)
			bits |= LOCAL_SRC_INCLUDE;
		else
			log_warning("%s: unknown value \"%s\" ignored", name,
			    l.v[i]);
	}
	strlist_release(&l);
	return bits;
}

static void
read_config(struct daemon *d)
{
	struct config *c = d->cfg;
	struct strlist locks;
	uint64_t t;

	cfg.queue_directory = xstrdup(config_str(c, "queue_directory"));
	cfg.myhostname = xstrdup(config_str(c, "myhostname"));
	cfg.myorigin = xstrdup(config_str(c, "myorigin"));
	cfg.home_mailbox = xstrdup(config_str(c, "home_mailbox"));
	cfg.mail_spool_directory = xstrdup(config_str(c,
	    "mail_spool_directory"));
	cfg.mailbox_command = xstrdup(config_str(c, "mailbox_command"));
	cfg.local_command_shell = xstrdup(config_str(c,
	    "local_command_shell"));
	cfg.recipient_delimiter = xstrdup(config_str(c,
	    "recipient_delimiter"));
	/* $home etc. are per recipient: expanded by local_expand_path. */
	cfg.forward_path = xstrdup(config_raw(c, "forward_path"));
	cfg.alias_maps = xstrdup(config_str(c, "alias_maps"));
	cfg.local_user_maps = xstrdup(config_str(c, "local_user_maps"));
	strlist_init(&cfg.mydestination);
	config_list(c, "mydestination", &cfg.mydestination);
	strlist_init(&cfg.prepend_delivered_header);
	config_list(c, "prepend_delivered_header",
	    &cfg.prepend_delivered_header);
	cfg.allow_commands = source_bits(c, "allow_mail_to_commands");
	cfg.allow_files = source_bits(c, "allow_mail_to_files");
	cfg.owner_request_special = config_bool(c, "owner_request_special");
	cfg.require_home_directory = config_bool(c, "require_home_directory");
	strlist_init(&locks);
	config_list(c, "mailbox_delivery_lock", &locks);
	cfg.lock_fcntl = strlist_find_nocase(&locks, "fcntl") >= 0 ||
	    strlist_find_nocase(&locks, "flock") >= 0;
	cfg.lock_dotlock = strlist_find_nocase(&locks, "dotlock") >= 0;
	strlist_release(&locks);
	cfg.mailbox_size_limit = config_size(c, "mailbox_size_limit");
	cfg.command_time_limit = config_time(c, "command_time_limit");
	if (cfg.command_time_limit == 0)
		cfg.command_time_limit = 1000;
	t = config_time(c, "ipc_timeout");
	if (t == 0 || t > 24 * 3600)
		t = 3600;
	cfg.ipc_timeout_ms = (int)(t * 1000);
	if (cfg.myhostname[0] == '\0')
		log_fatal("myhostname is empty");
	if (cfg.home_mailbox[0] == '/')
		log_fatal("home_mailbox = %s: must be relative to the home "
		    "folder", cfg.home_mailbox);

	cfg.root = geteuid() == 0;
	{
		const char *who = cfg.root ?
		    config_str(c, "default_privs") : NULL;
		struct passwd *pw = cfg.root ? getpwnam(who) :
		    getpwuid(geteuid());

		if (cfg.root && pw == NULL)
			log_fatal("default_privs %s: no such user", who);
		if (cfg.root && pw->pw_uid == 0)
			log_fatal("default_privs %s has uid 0: refusing", who);
		cfg.default_privs.name = xstrdup(pw ? pw->pw_name : "ulak");
		cfg.default_privs.uid = pw ? pw->pw_uid : geteuid();
		cfg.default_privs.gid = pw ? pw->pw_gid : getegid();
		cfg.default_privs.home = xstrdup(pw ? pw->pw_dir : "/");
		cfg.default_privs.shell = xstrdup(pw && *pw->pw_shell ?
		    pw->pw_shell : "/bin/sh");
	}
}

/* Lookup callbacks of the expansion. */

static int
op_alias(void *ctx, const char *name, char **value_r, const char **error_r)
{
	struct conn *c = ctx;
	const char *v;
	int rc;

	if (c->aliases == NULL)
		return 0;
	rc = maps_lookup(c->aliases, name, &v, error_r);
	if (rc > 0)
		*value_r = xstrdup(v);
	return rc;
}

static int
op_user(void *ctx, const char *name, struct local_user *user_r,
    const char **error_r)
{
	struct conn *c = ctx;
	const char *v;
	int rc;

	if (c->users == NULL)
		return 0;
	rc = maps_lookup(c->users, name, &v, error_r);
	if (rc <= 0)
		return rc;
	if (local_user_parse(v, user_r, error_r) < 0)
		return -1;
	return 1;
}

static int
op_read_file(void *ctx, const struct local_user *as, const char *path,
    struct buf *out, const char **error_r)
{
	return local_read_file_as(&cfg, as, path, LOCAL_FILE_MAX, out,
	    error_r);
}

static bool
op_is_local(void *ctx, const char *domain)
{
	return str_casecmp(domain, "localhost") == 0 ||
	    strlist_find_nocase(&cfg.mydestination, domain) >= 0;
}

static const struct local_expand_ops ops = {
	op_alias, op_user, op_read_file, op_is_local
};

/* Collect the Delivered-To: values of the message's header block. */
static void
delivered_to_headers(struct queue_file *qf, struct strlist *out)
{
	struct buf head;
	char chunk[16384];
	size_t got;
	const char *error, *end;
	uint64_t off = 0;

	buf_init(&head, 0);
	while (head.len < LOCAL_HEADER_MAX) {
		if (queue_file_read_content(qf, off, chunk, sizeof(chunk),
		    &got, &error) < 0 || got == 0)
			break;
		off += got;
		(void)buf_append(&head, chunk, got);
		if (strstr(head.data, "\r\n\r\n") != NULL ||
		    strncmp(head.data, "\r\n", 2) == 0)
			break;
	}
	end = strstr(head.data, "\r\n\r\n");
	if (end != NULL)
		buf_truncate(&head, (size_t)(end - head.data) + 2);
	for (char *line = head.data; *line;) {
		char *eol = strstr(line, "\r\n");

		if (eol == NULL)
			break;
		*eol = '\0';
		if (str_has_prefix_nocase(line, "Delivered-To:")) {
			char *v = str_trim(line + 13);
			size_t n = strlen(v);

			if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
				v[n - 1] = '\0';
				v++;
			}
			strlist_add(out, v);
		}
		line = eol + 2;
	}
	buf_release(&head);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
log_result(const struct local_msg *m, const char *to, const char *dsn,
    const char *text)
{
	struct buf e1, e2, e3;
	double delay = now_seconds() - (double)queue_file_arrival(m->qf);
	const char *status = dsn[0] == '2' ? "sent" : dsn[0] == '4' ?
	    "deferred" : "bounced";

	if (delay < 0)
		delay = 0;
	buf_init(&e1, 0);
	buf_init(&e2, 0);
	buf_init(&e3, 0);
	(void)log_escape(&e1, to, strlen(to));
	(void)log_escape(&e2, m->orig_rcpt, strlen(m->orig_rcpt));
	(void)log_escape(&e3, text, strlen(text));
	if (str_casecmp(to, m->orig_rcpt) != 0)
		log_info("%s: to=<%s>, orig_to=<%s>, relay=local, "
		    "delay=%.2f, dsn=%s, status=%s (%s)", m->queue_id,
		    e1.data, e2.data, delay, dsn, status, e3.data);
	else
		log_info("%s: to=<%s>, relay=local, delay=%.2f, dsn=%s, "
		    "status=%s (%s)", m->queue_id, e1.data, delay, dsn,
		    status, e3.data);
	buf_release(&e1);
	buf_release(&e2);
	buf_release(&e3);
}

/* The worse of two outcomes: 4 over 5 over 2. */
static void
merge(struct local_result *total, const struct local_result *one)
{
	int rank_t = total->dsn[0] == '4' ? 3 : total->dsn[0] == '5' ? 2 :
	    total->dsn[0] == '2' ? 1 : 0;
	int rank_o = one->dsn[0] == '4' ? 3 : one->dsn[0] == '5' ? 2 : 1;

	if (rank_o > rank_t) {
		local_result_set(total, one->dsn, "%s", one->text.data);
	} else if (rank_o == rank_t && rank_o == 1 &&
	    strstr(total->text.data, one->text.data) == NULL &&
	    total->text.len < 400) {
		(void)buf_printf(&total->text, "; %s", one->text.data);
	}
}

static void
deliver_recipient(struct conn *c, struct local_msg *m,
    const struct strlist *delivered_to, struct local_result *total)
{
	struct local_expand_cfg ecfg = {
		cfg.recipient_delimiter, cfg.owner_request_special,
		cfg.allow_commands, cfg.allow_files, cfg.forward_path,
		cfg.myorigin, cfg.root ? &cfg.default_privs : NULL,
	};
	struct local_expansion exp;
	struct local_result r;

	local_expansion_init(&exp);
	local_result_init(&r);
	local_expand(&ecfg, &ops, c, m->orig_rcpt, m->sender, delivered_to,
	    &exp);
	if (exp.dsn[0] == '4') {
		local_result_set(total, exp.dsn, "%s", exp.reason);
		log_result(m, m->orig_rcpt, exp.dsn, exp.reason);
		goto out;
	}
	for (size_t i = 0; i < exp.n; i++) {
		const struct local_dest *d = &exp.v[i];

		if (d->kind == LOCAL_DEST_REMOTE)
			continue;
		local_deliver_dest(&cfg, m, d, &r);
		log_result(m, d->address, r.dsn, r.text.data);
		merge(total, &r);
	}
	/* Remote destinations: one new message per (sender, Delivered-To). */
	for (size_t i = 0; i < exp.n; i++) {
		const struct local_dest *d = &exp.v[i];
		struct strlist addrs;

		if (d->kind != LOCAL_DEST_REMOTE || d->target == NULL)
			continue;
		strlist_init(&addrs);
		for (size_t j = i; j < exp.n; j++) {
			struct local_dest *e = &exp.v[j];

			if (e->kind == LOCAL_DEST_REMOTE && e->target &&
			    strcmp(e->sender, d->sender) == 0 &&
			    strcmp(e->address, d->address) == 0) {
				strlist_add(&addrs, e->target);
				if (j != i) {
					free(e->target);
					e->target = NULL;
				}
			}
		}
		local_forward(&cfg, m, d->sender, d->address, &addrs, &r);
		for (size_t j = 0; j < addrs.n; j++)
			log_result(m, addrs.v[j], r.dsn, r.text.data);
		merge(total, &r);
		strlist_release(&addrs);
	}
	if (exp.dsn[0] == '5') {
		local_result_set(&r, exp.dsn, "%s", exp.reason);
		log_result(m, m->orig_rcpt, exp.dsn, exp.reason);
		merge(total, &r);
	}
out:
	local_result_release(&r);
	local_expansion_release(&exp);
}

static void
reply_error(struct buf *out, const char *dsn, const char *reason)
{
	const char *error;

	buf_reset(out);
	(void)attr_encode(out, "status", "4", &error);
	(void)attr_encode(out, "dsn", dsn, &error);
	(void)attr_encode(out, "reason", reason, &error);
	(void)attr_encode_end(out);
}

/*
 * One request=deliver.  Fills OUT with the reply; -1 (with a log line)
 * when the request is malformed and the connection must be dropped.
 */
static int
handle_deliver(struct conn *c, const struct attr_list *req, struct buf *out)
{
	const char *error, *qid, *qpath, *slash, *v;
	struct strlist delivered_to;
	struct queue_file *qf;
	struct buf path, folder;
	struct local_msg m;
	uint64_t *idx = NULL;
	size_t n_idx = 0;
	int rc = -1;

	buf_init(&path, 0);
	buf_init(&folder, 0);
	strlist_init(&delivered_to);
	v = attr_get(req, "request");
	if (v == NULL || strcmp(v, "deliver") != 0) {
		log_warning("unexpected request \"%s\"", v ? v : "");
		goto out;
	}
	if (attr_require(req, "queue_id", &qid, &error) < 0 ||
	    attr_require(req, "queue_file", &qpath, &error) < 0 ||
	    attr_require(req, "transport", &v, &error) < 0 ||
	    attr_require(req, "nexthop", &v, &error) < 0) {
		log_warning("bad request: %s", error);
		goto out;
	}
	slash = strchr(qpath, '/');
	if (!queue_id_valid(qid) || slash == NULL ||
	    strcmp(slash + 1, qid) != 0) {
		log_warning("bad request: queue_file does not name queue ID");
		goto out;
	}
	(void)buf_append(&folder, qpath, (size_t)(slash - qpath));
	if (queue_path(&path, cfg.queue_directory, folder.data, qid,
	    &error) < 0) {
		log_warning("bad request: %s", error);
		goto out;
	}
	for (size_t i = 0; i < req->n; i++) {
		uint64_t k;

		if (strcmp(req->v[i].name, "rcpt") != 0)
			continue;
		if (parse_uint(req->v[i].value, 0, 1000000000, &k,
		    &error) < 0) {
			log_warning("bad request: bad rcpt value");
			goto out;
		}
		idx = xreallocarray(idx, n_idx + 1, sizeof(*idx));
		idx[n_idx++] = k;
	}
	if (n_idx == 0) {
		log_warning("bad request: no rcpt");
		goto out;
	}
	rc = 0;
	qf = queue_file_open(path.data, true, &error);
	if (qf == NULL) {
		log_warning("%s: %s", qid, error);
		reply_error(out, "4.3.0", err_fmt("cannot open queue file: %s",
		    error));
		goto out;
	}
	for (size_t i = 0; i < n_idx; i++)
		if (idx[i] >= queue_file_rcpt_count(qf)) {
			log_warning("%s: bad request: no recipient %llu", qid,
			    (unsigned long long)idx[i]);
			queue_file_close(qf);
			rc = -1;
			goto out;
		}
	delivered_to_headers(qf, &delivered_to);
	buf_reset(out);
	(void)attr_encode(out, "status", "0", &error);
	for (size_t i = 0; i < n_idx; i++) {
		const struct queue_rcpt *rc_ = queue_file_rcpt(qf, idx[i]);
		struct local_result total;
		struct buf line;

		local_result_init(&total);
		buf_init(&line, 0);
		if (rc_->status == QUEUE_RCPT_DELIVERED) {
			local_result_set(&total, "2.0.0", "already delivered");
		} else if (rc_->status == QUEUE_RCPT_BOUNCED) {
			local_result_set(&total, "5.0.0", "already bounced");
		} else {
			memset(&m, 0, sizeof(m));
			m.qf = qf;
			m.queue_id = qid;
			m.sender = queue_file_get(qf, QUEUE_SENDER);
			m.orig_rcpt = rc_->address;
			m.notify = rc_->notify;
			m.orcpt = rc_->orcpt;
			deliver_recipient(c, &m, &delivered_to, &total);
			if (total.dsn[0] == '2' &&
			    queue_file_mark_recipient(qf, idx[i],
			    QUEUE_RCPT_DELIVERED, &error) < 0) {
				log_warning("%s: %s", qid, error);
				local_result_set(&total, "4.3.0", "cannot mark "
				    "the recipient done in the queue file: %s",
				    error);
			}
		}
		(void)buf_printf(&line, "%llu %s %s",
		    (unsigned long long)idx[i], total.dsn, total.text.data);
		if (line.len > ATTR_LINE_MAX - 64)
			buf_truncate(&line, ATTR_LINE_MAX - 64);
		(void)attr_encode(out, "result", line.data, &error);
		buf_release(&line);
		local_result_release(&total);
	}
	(void)attr_encode_end(out);
	queue_file_close(qf);
out:
	free(idx);
	strlist_release(&delivered_to);
	buf_release(&path);
	buf_release(&folder);
	return rc;
}

static void
conn_open_maps(struct conn *c)
{
	const char *error;

	if (c->aliases == NULL && *cfg.alias_maps) {
		c->aliases = maps_open(cfg.alias_maps, &error);
		if (c->aliases == NULL)
			log_warning("alias_maps: %s", error);
	}
	if (c->users == NULL && *cfg.local_user_maps) {
		c->users = maps_open(cfg.local_user_maps, &error);
		if (c->users == NULL)
			log_warning("local_user_maps: %s", error);
	}
}

/* A rebuilt hash:/lmdb: table is opened again before the next request. */
static void
conn_refresh_maps(struct conn *c)
{
	struct maps **all[] = { &c->aliases, &c->users };

	for (size_t k = 0; k < 2; k++) {
		struct maps *m = *all[k];

		if (m == NULL)
			continue;
		for (size_t i = 0; i < maps_count(m); i++)
			if (dict_file_changed(maps_dict(m, i))) {
				maps_close(m);
				*all[k] = NULL;
				break;
			}
	}
	conn_open_maps(c);
}

static void
serve(int fd)
{
	struct conn c;
	struct attr_list req;
	struct buf out;
	const char *error;

	memset(&c, 0, sizeof(c));
	attr_list_init(&req);
	buf_init(&out, 0);
	for (;;) {
		int rc = attr_recv(fd, cfg.ipc_timeout_ms, &req, &error);

		if (rc == 0)
			break;
		if (rc < 0) {
			log_warning("request: %s", error);
			break;
		}
		conn_refresh_maps(&c);
		if ((*cfg.alias_maps && c.aliases == NULL) ||
		    (*cfg.local_user_maps && c.users == NULL)) {
			reply_error(&out, "4.3.0", "lookup table "
			    "unavailable (see the log)");
		} else {
			buf_reset(&out);
			if (handle_deliver(&c, &req, &out) < 0)
				break;
		}
		if (attr_send(fd, out.data, out.len, cfg.ipc_timeout_ms,
		    &error) < 0) {
			log_warning("reply: %s", error);
			break;
		}
		if (selfpipe_caught(SIGTERM))
			break;
	}
	if (c.aliases)
		maps_close(c.aliases);
	if (c.users)
		maps_close(c.users);
	attr_list_release(&req);
	buf_release(&out);
}

static void
setup_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGUSR1, SIGCHLD };
	struct sigaction sa;

	selfpipe_catch(sigs, sizeof(sigs) / sizeof(sigs[0]));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGXFSZ, &sa, NULL);
}

static void
child_signals(void)
{
	static const int term = SIGTERM;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	/* A connection child finishes its request; master's SIGTERM to
	 * the daemon does not cut a delivery in half. */
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR1, &sa, NULL);
	selfpipe_catch(&term, 1);
}

static int n_children;

static void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		n_children--;
		if (WIFSIGNALED(status))
			log_warning("process %ld died with signal %d",
			    (long)pid, WTERMSIG(status));
	}
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct pollfd pfds[DAEMON_LISTEN_MAX + 1];

	daemon_init(&d, "local", argc, argv);
	read_config(&d);
	setup_signals();
	if (d.n_listen == 0)
		log_fatal("no listening socket (start local from master)");
	for (int i = 0; i < d.n_listen; i++)
		(void)fcntl(d.listen_fds[i], F_SETFD, FD_CLOEXEC);
	umask(077);
	while (!selfpipe_caught(SIGTERM) && !selfpipe_caught(SIGUSR1)) {
		int n = 0;

		pfds[n].fd = selfpipe_fd();
		pfds[n++].events = POLLIN;
		if (n_children < LOCAL_CHILDREN_MAX)
			for (int i = 0; i < d.n_listen; i++) {
				pfds[n].fd = d.listen_fds[i];
				pfds[n++].events = POLLIN;
			}
		if (poll(pfds, (nfds_t)n, -1) < 0) {
			if (errno != EINTR)
				log_fatal("poll: %m");
			continue;
		}
		if (pfds[0].revents) {
			selfpipe_drain();
			reap();
		}
		for (int i = 1; i < n; i++) {
			int fd;
			pid_t pid;

			if (!(pfds[i].revents & POLLIN))
				continue;
			fd = accept4(pfds[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			pid = fork();
			if (pid < 0) {
				log_warning("fork: %m");
				(void)close(fd);
				continue;
			}
			if (pid == 0) {
				for (int k = 0; k < d.n_listen; k++)
					(void)close(d.listen_fds[k]);
				child_signals();
				serve(fd);
				(void)close(fd);
				daemon_release(&d);
				exit(0);
			}
			n_children++;
			(void)close(fd);
		}
	}
	/* Connections in progress finish in their own processes. */
	daemon_release(&d);
	return 0;
}
