/*
 * bounce - turns the outcomes qmgr logged for a message into delivery
 * status notifications (RFC 3464) and submits them through cleanup.
 *
 * Protocol (docs/protocols.md, "bounce"): qmgr connects to
 * private/bounce and sends request=notify with queue_id, queue_file and
 * kind (failure, delay, success).  bounce reads the queue file (sender,
 * RET, ENVID, NOTIFY per recipient, content) and bounce/ID (failure,
 * success) or defer/ID (delay), builds the notices with dsn_build() and
 * hands each to cleanup (origin=bounce, null sender).  It answers
 * status=0 only after cleanup has said status=0 for every notice due,
 * i.e. they are durable in incoming/; status=4 otherwise, and qmgr asks
 * again later (at worst a notice is sent twice, never lost).
 *
 * Which notices (docs/bounce.md): the sender's, filtered by NOTIFY; never
 * one to the null sender (a double bounce goes to
 * 2bounce_notice_recipient when notify_classes has 2bounce or bounce, as
 * in Postfix, else it is dropped); copies to bounce_notice_recipient /
 * delay_notice_recipient with notify_classes bounce / delay; nothing at
 * all for mail from double_bounce_sender.
 *
 * Runs as mail_owner.  Distrusts its clients (every attribute is
 * checked, the queue file path must name the queue ID in a queue folder)
 * and the files it reads (queue_file and queue_log validate them; every
 * text goes into the notice through dsn_build, which cleans it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "dsn.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "queue_file.h"
#include "queue_id.h"
#include "queue_log.h"
#include "str.h"

#define BOUNCE_CLIENTS_MAX 64
/* Largest data chunk sent to cleanup (its limit is 1 MiB). */
#define BOUNCE_DATA_CHUNK (1024 * 1024)

/* notify_classes bits we act on. */
#define CLASS_BOUNCE 0x01u
#define CLASS_2BOUNCE 0x02u
#define CLASS_DELAY 0x04u

/* The configuration, read once at start. */
static struct {
	char *queue_dir;
	char *hostname;
	char *myorigin;
	char *bounce_rcpt;	/* bounce_notice_recipient */
	char *twobounce_rcpt;	/* 2bounce_notice_recipient */
	char *delay_rcpt;	/* delay_notice_recipient */
	char *double_bounce;	/* double_bounce_sender */
	unsigned classes;	/* notify_classes */
	uint64_t size_limit;	/* bounce_size_limit */
	uint64_t queue_lifetime, bounce_lifetime;
	int ipc_timeout_ms;
} cf;

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_usr1, busy;

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM) {
		/* Stop now: a notice not yet acknowledged is asked for again. */
		if (busy)
			_exit(0);
		got_term = 1;
	} else {
		got_usr1 = 1;
	}
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* The pipe is full: a wake-up is already pending. */
	}
	errno = saved;
}

/* One request being served. */
struct job {
	const char *id;		/* the original's queue ID */
	struct queue_file *qf;
	const char *sender;
	time_t now;
};

static int
cleanup_connect(const char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/cleanup",
	    cf.queue_dir, QUEUE_PRIVATE) >= (int)sizeof(sun.sun_path)) {
		*error_r = "cleanup socket path too long";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = err_fmt("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = err_fmt("connect to %s: %s", sun.sun_path,
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* Read cleanup's reply; -1 with error_r when there is none. */
static int
cleanup_reply(int fd, struct attr_list *reply, uint64_t *status_r,
    const char **error_r)
{
	int rc = attr_recv(fd, cf.ipc_timeout_ms, reply, error_r);

	if (rc == 0)
		*error_r = "cleanup closed the connection";
	if (rc <= 0)
		return -1;
	return attr_get_uint(reply, "status", 0, 5, status_r, error_r);
}

/*
 * Submit CONTENT as a message from ENV_SENDER to RCPT through cleanup.
 * Returns 0 with *STATUS_R (cleanup's answer to end, or to open when
 * that failed) and *QID_R (a copy, or NULL; the caller frees it), -1 with
 * error_r when cleanup cannot be reached or breaks the protocol.
 */
static int
submit(const char *env_sender, const char *rcpt, const struct buf *content,
    const char *flags, uint64_t *status_r, char **qid_r, struct buf *why,
    const char **error_r)
{
	struct attr_list reply;
	struct buf out;
	const char *error = NULL;
	int fd, rc = -1;

	*qid_r = NULL;
	fd = cleanup_connect(error_r);
	if (fd < 0)
		return -1;
	attr_list_init(&reply);
	buf_init(&out, 0);
	if (attr_encode(&out, "request", "open", &error) < 0 ||
	    attr_encode(&out, "origin", "bounce", &error) < 0 ||
	    attr_encode(&out, "sender", env_sender, &error) < 0 ||
	    (flags[0] != '\0' && attr_encode(&out, "flags", flags,
	    &error) < 0) ||
	    /* cleanup adds Message-ID: and qualifies "postmaster". */
	    attr_encode(&out, "rewrite_headers", "yes", &error) < 0 ||
	    attr_encode(&out, "protocol", "local", &error) < 0 ||
	    attr_encode_end(&out) < 0) {
		*error_r = err_fmt("cannot encode request: %s", error);
		goto out;
	}
	if (attr_send(fd, out.data, out.len, cf.ipc_timeout_ms, error_r) < 0 ||
	    cleanup_reply(fd, &reply, status_r, error_r) < 0)
		goto out;
	if (*status_r != 0)
		goto answered;
	buf_reset(&out);
	if (attr_encode(&out, "request", "rcpt", &error) < 0 ||
	    attr_encode(&out, "address", rcpt, &error) < 0 ||
	    attr_encode_end(&out) < 0) {
		*error_r = err_fmt("cannot encode recipient: %s", error);
		goto out;
	}
	for (size_t off = 0; off < content->len; off += BOUNCE_DATA_CHUNK) {
		size_t n = content->len - off;

		if (n > BOUNCE_DATA_CHUNK)
			n = BOUNCE_DATA_CHUNK;
		buf_printf(&out, "request=data\nlength=%zu\n\n", n);
		buf_append(&out, content->data + off, n);
		if (attr_send(fd, out.data, out.len, cf.ipc_timeout_ms,
		    error_r) < 0)
			goto out;
		buf_reset(&out);
	}
	buf_printf(&out, "request=end\ncontent_length=%zu\n\n", content->len);
	if (attr_send(fd, out.data, out.len, cf.ipc_timeout_ms, error_r) < 0 ||
	    cleanup_reply(fd, &reply, status_r, error_r) < 0)
		goto out;
answered:
	if (*status_r == 0) {
		const char *q = attr_get(&reply, "queue_id");

		*qid_r = xstrdup(q != NULL ? q : "?");
	} else {
		const char *dsn = attr_get(&reply, "dsn");
		const char *reason = attr_get(&reply, "reason");

		buf_reset(why);
		buf_printf(why, "%s %s", dsn != NULL ? dsn : "?",
		    reason != NULL ? reason : "?");
	}
	rc = 0;
out:
	(void)close(fd);
	attr_list_release(&reply);
	buf_release(&out);
	return rc;
}

/*
 * The flags of notice N: 8bitmime when a part is 8-bit; smtputf8 when the
 * original was SMTPUTF8 and the notice goes to a non-ASCII address (its
 * To: header then needs RFC 6532 on the way).
 */
static const char *
notice_flags(const struct job *j, const struct dsn_notice *n,
    const struct dsn_result *res)
{
	bool utf8 = false;

	if ((queue_file_flags(j->qf) & QUEUE_FLAG_SMTPUTF8) != 0)
		for (const char *p = n->to; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				utf8 = true;
	if (utf8)
		return "8bitmime,smtputf8";
	return res->eight_bit ? "8bitmime" : "";
}

/*
 * Build notice N and submit it from ENV_SENDER to N->to; LABEL names it
 * in the log ("sender non-delivery notification").  0 when it is queued
 * (or refused for good: logged, not retried); -1 with error_r when it
 * must be tried again later.
 */
static int
send_notice(struct job *j, struct dsn_notice *n, const char *env_sender,
    const char *label, const char **error_r)
{
	struct dsn_result res;
	struct buf content, why, esc;
	uint64_t status = 4;
	char *qid = NULL;
	int rc = -1;

	buf_init(&content, 0);
	buf_init(&why, 0);
	buf_init(&esc, 0);
	for (int attempt = 0; attempt < 2; attempt++) {
		buf_reset(&content);
		if (dsn_build(n, &content, &res, error_r) < 0) {
			*error_r = err_fmt("cannot build the notice: %s",
			    *error_r);
			goto out;
		}
		if (submit(env_sender, n->to, &content, notice_flags(j, n,
		    &res), &status, &qid, &why, error_r) < 0) {
			*error_r = err_fmt("cannot submit the notice: %s",
			    *error_r);
			goto out;
		}
		if (status != 5 || !res.returned_full)
			break;
		/* Refused for good (e.g. too big): try with the headers only. */
		log_warning("%s: %s refused by cleanup (%s); trying with the "
		    "headers only", j->id, label, log_escape(&esc, why.data,
		    why.len));
		n->ret = QUEUE_RET_HDRS;
	}
	if (status == 0) {
		buf_reset(&esc);
		log_info("%s: %s: %s", j->id, label, qid);
		rc = 0;
	} else if (status == 5) {
		buf_reset(&esc);
		log_error("%s: %s to <%s> refused by cleanup for good (%s); "
		    "notice dropped", j->id, label, log_escape(&esc, n->to,
		    strlen(n->to)), why.data);
		rc = 0;
	} else {
		*error_r = err_fmt("cleanup: %s", why.data);
	}
out:
	free(qid);
	buf_release(&content);
	buf_release(&why);
	buf_release(&esc);
	return rc;
}

/* True when SENDER is double_bounce_sender (bare or @myorigin/@myhostname). */
static bool
is_double_bounce(const char *sender)
{
	size_t n = strlen(cf.double_bounce);

	if (sender[0] == '\0' || cf.double_bounce[0] == '\0')
		return false;
	if (str_casecmp(sender, cf.double_bounce) == 0)
		return true;
	if (strchr(cf.double_bounce, '@') != NULL ||
	    str_ncasecmp(sender, cf.double_bounce, n) != 0 || sender[n] != '@')
		return false;
	return str_casecmp(sender + n + 1, cf.myorigin) == 0 ||
	    str_casecmp(sender + n + 1, cf.hostname) == 0;
}

/*
 * The notices of one KIND about the recipients ALL (every one the log
 * names) of which WANTED asked for one (NOTIFY).
 */
static int
notify_kind(struct job *j, enum dsn_kind kind, const struct dsn_rcpt *all,
    size_t n_all, const struct dsn_rcpt *wanted, size_t n_wanted,
    const char **error_r)
{
	struct dsn_notice n;
	const char *envid = queue_file_get(j->qf, QUEUE_ENVID);
	static const char *const sender_label[] = {
		"sender non-delivery notification",
		"sender delay notification",
		"sender delivery status notification",
	};

	if (n_all == 0)
		return 0;
	memset(&n, 0, sizeof(n));
	n.kind = kind;
	n.hostname = cf.hostname;
	n.queue_id = j->id;
	n.sender = j->sender;
	n.envid = envid;
	n.arrival = queue_file_arrival(j->qf);
	n.now = j->now;
	n.retry_until = n.arrival + (time_t)(j->sender[0] == '\0' ?
	    cf.bounce_lifetime : cf.queue_lifetime);
	n.read = dsn_queue_file_reader;
	n.read_ctx = j->qf;
	n.length = queue_file_content_length(j->qf);
	n.ret = queue_file_ret(j->qf);
	n.size_limit = cf.size_limit;

	if (is_double_bounce(j->sender)) {
		/* A notice to postmaster failed: never a third one. */
		log_warning("%s: undeliverable postmaster notification "
		    "discarded", j->id);
		return 0;
	}
	if (j->sender[0] == '\0') {
		/* Never a bounce for a bounce (RFC 5321 4.5.5). */
		if (kind != DSN_KIND_FAILURE)
			return 0;
		if ((cf.classes & (CLASS_2BOUNCE | CLASS_BOUNCE)) == 0) {
			log_info("%s: undeliverable bounce discarded (no "
			    "2bounce in notify_classes)", j->id);
			return 0;
		}
		n.postmaster = true;
		n.to = cf.twobounce_rcpt;
		n.rcpts = all;
		n.n_rcpts = n_all;
		return send_notice(j, &n, cf.double_bounce,
		    "postmaster non-delivery notification", error_r);
	}
	if (n_wanted > 0) {
		n.to = j->sender;
		n.rcpts = wanted;
		n.n_rcpts = n_wanted;
		if (send_notice(j, &n, "", sender_label[kind], error_r) < 0)
			return -1;
	}
	if ((kind == DSN_KIND_FAILURE && (cf.classes & CLASS_BOUNCE) != 0) ||
	    (kind == DSN_KIND_DELAY && (cf.classes & CLASS_DELAY) != 0)) {
		n.postmaster = true;
		n.ret = queue_file_ret(j->qf);
		n.to = kind == DSN_KIND_FAILURE ? cf.bounce_rcpt :
		    cf.delay_rcpt;
		n.rcpts = all;
		n.n_rcpts = n_all;
		if (send_notice(j, &n, cf.double_bounce, kind ==
		    DSN_KIND_FAILURE ? "postmaster non-delivery notification" :
		    "postmaster delay notification", error_r) < 0)
			return -1;
	}
	return 0;
}

/* A recipient record of the notice from log entry E. */
static void
rcpt_from_entry(struct job *j, const struct queue_log_entry *e,
    struct dsn_rcpt *r, unsigned *notify_r)
{
	const struct queue_rcpt *qr = NULL;

	if (e->rcpt < queue_file_rcpt_count(j->qf))
		qr = queue_file_rcpt(j->qf, e->rcpt);
	if (qr != NULL && strcmp(qr->address, e->address) != 0) {
		log_warning("%s: log entry for recipient %zu names <%s>, the "
		    "queue file <%s>; using the default NOTIFY", j->id,
		    e->rcpt, e->address, qr->address);
		qr = NULL;
	}
	memset(r, 0, sizeof(*r));
	r->address = e->address;
	r->orcpt = qr != NULL ? qr->orcpt : NULL;
	r->action = e->action;
	r->status = e->dsn;
	r->reason = e->reason;
	r->last_attempt = e->time;
	*notify_r = qr != NULL ? qr->notify : 0;
}

/*
 * Serve request=notify for KIND.  0: every notice due is queued (or none
 * was due); -1 with error_r: try again later.
 */
static int
do_notify(const char *id, const char *path, const char *kind_s,
    const char **error_r)
{
	struct job j;
	struct queue_log log;
	struct buf lpath;
	struct dsn_rcpt *all[3], *wanted[3];
	size_t n_all[3] = { 0, 0, 0 }, n_wanted[3] = { 0, 0, 0 };
	bool delay = strcmp(kind_s, "delay") == 0;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	memset(&log, 0, sizeof(log));
	for (int k = 0; k < 3; k++)
		all[k] = wanted[k] = NULL;
	buf_init(&lpath, 0);
	j.id = id;
	j.now = time(NULL);
	j.qf = queue_file_open(path, false, error_r);
	if (j.qf == NULL)
		goto out;
	j.sender = queue_file_get(j.qf, QUEUE_SENDER);
	queue_log_path(&lpath, cf.queue_dir, delay ? QUEUE_DEFER :
	    QUEUE_BOUNCE, id, "");
	if (queue_log_read(lpath.data, &log, NULL, error_r) < 0)
		goto out;
	for (int k = 0; k < 3; k++) {
		all[k] = xcalloc(log.n + 1, sizeof(**all));
		wanted[k] = xcalloc(log.n + 1, sizeof(**wanted));
	}
	for (size_t i = 0; i < log.n; i++) {
		const struct queue_log_entry *e = &log.v[i];
		struct dsn_rcpt r;
		unsigned notify;
		int k;

		/* One entry per recipient counts: the last (a retry after a
		 * crash may have logged it twice). */
		if (queue_log_last(&log, e->rcpt) != e)
			continue;
		k = dsn_action_kind(e->action);
		if (k < 0) {
			log_warning("%s: %s: unknown action \"%s\" ignored", id,
			    lpath.data, e->action);
			continue;
		}
		/*
		 * bounce/ID holds failures and successes: both are answered,
		 * whatever kind was asked, since qmgr removes the log after
		 * our reply.  defer/ID: only recipients still open.
		 */
		if (delay != (k == DSN_KIND_DELAY))
			continue;
		if (delay && (e->rcpt >= queue_file_rcpt_count(j.qf) ||
		    queue_file_rcpt(j.qf, e->rcpt)->status != QUEUE_RCPT_OPEN))
			continue;
		rcpt_from_entry(&j, e, &r, &notify);
		all[k][n_all[k]++] = r;
		if (dsn_notify_wants(notify, e->action))
			wanted[k][n_wanted[k]++] = r;
	}
	for (int k = 0; k < 3; k++)
		if (notify_kind(&j, (enum dsn_kind)k, all[k], n_all[k],
		    wanted[k], n_wanted[k], error_r) < 0)
			goto out;
	rc = 0;
out:
	for (int k = 0; k < 3; k++) {
		free(all[k]);
		free(wanted[k]);
	}
	queue_log_release(&log);
	if (j.qf != NULL)
		queue_file_close(j.qf);
	buf_release(&lpath);
	return rc;
}

/*
 * Check a request=notify and serve it; the reply goes into REPLY.
 * -1 with error_r for a malformed request (the connection is closed).
 */
static int
serve_request(const struct attr_list *req, struct buf *reply,
    const char **error_r)
{
	const char *what, *id, *qfile, *kind, *slash, *error;
	struct buf path, esc;
	int rc;

	if (attr_require(req, "request", &what, error_r) < 0)
		return -1;
	if (strcmp(what, "notify") != 0) {
		*error_r = err_fmt("unknown request \"%s\"", what);
		return -1;
	}
	if (attr_require(req, "queue_id", &id, error_r) < 0 ||
	    attr_require(req, "queue_file", &qfile, error_r) < 0 ||
	    attr_require(req, "kind", &kind, error_r) < 0)
		return -1;
	if (!queue_id_valid(id)) {
		*error_r = "bad queue_id";
		return -1;
	}
	if (strcmp(kind, "failure") != 0 && strcmp(kind, "delay") != 0 &&
	    strcmp(kind, "success") != 0) {
		*error_r = "bad kind";
		return -1;
	}
	/* Only FOLDER/ID of this very message: no other file is read. */
	slash = strchr(qfile, '/');
	if (slash == NULL || strcmp(slash + 1, id) != 0) {
		*error_r = "queue_file does not name queue_id";
		return -1;
	}
	{
		char folder[16];
		size_t fl = (size_t)(slash - qfile);

		if (fl >= sizeof(folder)) {
			*error_r = "bad queue_file folder";
			return -1;
		}
		memcpy(folder, qfile, fl);
		folder[fl] = '\0';
		if (!queue_folder_valid(folder) ||
		    strcmp(folder, QUEUE_CORRUPT) == 0) {
			*error_r = "bad queue_file folder";
			return -1;
		}
	}
	buf_init(&path, 0);
	buf_init(&esc, 0);
	buf_printf(&path, "%s/%s", cf.queue_dir, qfile);
	busy = 1;
	rc = do_notify(id, path.data, kind, &error);
	busy = 0;
	buf_reset(reply);
	if (rc == 0) {
		buf_append_str(reply, "status=0\n\n");
	} else {
		log_warning("%s: %s notice not sent now: %s", id, kind,
		    log_escape(&esc, error, strlen(error)));
		attr_encode(reply, "status", "4", &error);
		attr_encode(reply, "dsn", "4.3.0", &error);
		attr_encode(reply, "reason", "bounce service: cannot queue "
		    "the notice now", &error);
		attr_encode_end(reply);
	}
	buf_release(&path);
	buf_release(&esc);
	return 0;
}

struct client {
	int fd;
	struct attr_decoder *dec;
	time_t last;
};

static void
client_close(struct client *c)
{
	(void)close(c->fd);
	attr_decoder_free(c->dec);
	c->fd = -1;
	c->dec = NULL;
}

/* True when bytes wait to be read on FD (a request began). */
static bool
has_input(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Read what client C sent and answer every complete request. */
static void
client_input(struct client *c)
{
	char chunk[8192];
	struct attr_list req;
	struct buf reply;
	ssize_t got;
	size_t pos = 0;
	const char *error;

	got = read(c->fd, chunk, sizeof(chunk));
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got <= 0) {
		if (got < 0 || attr_decoder_pending(c->dec))
			log_warning("client closed the connection in the "
			    "middle of a request");
		client_close(c);
		return;
	}
	c->last = time(NULL);
	attr_list_init(&req);
	buf_init(&reply, 0);
	while (pos < (size_t)got && c->fd >= 0) {
		size_t used;
		int r = attr_decoder_feed(c->dec, chunk + pos,
		    (size_t)got - pos, &used, &req, &error);

		pos += used;
		if (r == 0)
			break;
		if (r < 0 || serve_request(&req, &reply, &error) < 0) {
			log_warning("bad request from client: %s; closing "
			    "the connection", error);
			client_close(c);
			break;
		}
		if (attr_send(c->fd, reply.data, reply.len,
		    cf.ipc_timeout_ms, &error) < 0) {
			log_warning("cannot answer client: %s", error);
			client_close(c);
		}
	}
	attr_list_release(&req);
	buf_release(&reply);
}

static void
read_config(struct config *cfg)
{
	struct strlist classes;
	uint64_t t;

	cf.queue_dir = xstrdup(config_str(cfg, "queue_directory"));
	cf.hostname = xstrdup(config_str(cfg, "myhostname"));
	cf.myorigin = xstrdup(config_str(cfg, "myorigin"));
	cf.bounce_rcpt = xstrdup(config_str(cfg, "bounce_notice_recipient"));
	cf.twobounce_rcpt = xstrdup(config_str(cfg,
	    "2bounce_notice_recipient"));
	cf.delay_rcpt = xstrdup(config_str(cfg, "delay_notice_recipient"));
	cf.double_bounce = xstrdup(config_str(cfg, "double_bounce_sender"));
	cf.size_limit = config_size(cfg, "bounce_size_limit");
	cf.queue_lifetime = config_time(cfg, "maximal_queue_lifetime");
	cf.bounce_lifetime = config_time(cfg, "bounce_queue_lifetime");
	t = config_time(cfg, "ipc_timeout");
	cf.ipc_timeout_ms = (int)((t == 0 || t > 24 * 3600 ? 3600 : t) * 1000);
	strlist_init(&classes);
	config_list(cfg, "notify_classes", &classes);
	for (size_t i = 0; i < classes.n; i++) {
		if (str_casecmp(classes.v[i], "bounce") == 0)
			cf.classes |= CLASS_BOUNCE;
		else if (str_casecmp(classes.v[i], "2bounce") == 0)
			cf.classes |= CLASS_2BOUNCE;
		else if (str_casecmp(classes.v[i], "delay") == 0)
			cf.classes |= CLASS_DELAY;
	}
	strlist_release(&classes);
}

static void
free_config(void)
{
	free(cf.queue_dir);
	free(cf.hostname);
	free(cf.myorigin);
	free(cf.bounce_rcpt);
	free(cf.twobounce_rcpt);
	free(cf.delay_rcpt);
	free(cf.double_bounce);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct sigaction sa;
	struct client clients[BOUNCE_CLIENTS_MAX];
	struct pollfd pfds[1 + DAEMON_LISTEN_MAX + BOUNCE_CLIENTS_MAX];
	int n_clients = 0;

	daemon_init(&d, "bounce", argc, argv);
	read_config(d.cfg);
	if (d.n_listen == 0)
		log_fatal("no listening socket (ULAK_LISTEN_FDS): bounce is "
		    "started by master");

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %m");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	daemon_drop_privileges(&d);

	for (;;) {
		int n = 0, rc, timeout_ms;
		time_t now = time(NULL);
		bool pending = false;

		/* Drop idle clients and, when draining, every idle one. */
		for (int i = 0; i < n_clients; i++) {
			struct client *c = &clients[i];
			bool part = c->fd >= 0 && (attr_decoder_pending(c->dec) ||
			    has_input(c->fd));

			if (c->fd < 0) {
				/* closed while serving it */
			} else if (now - c->last > cf.ipc_timeout_ms / 1000 ||
			    ((got_usr1 || got_term) && !part))
				client_close(c);
			else if (part)
				pending = true;
			if (c->fd < 0)
				clients[i--] = clients[--n_clients];
		}
		if (got_term || (got_usr1 && !pending))
			break;
		int nl = 0, nc = n_clients;

		pfds[n].fd = sig_pipe[0];
		pfds[n++].events = POLLIN;
		if (!got_usr1 && n_clients < BOUNCE_CLIENTS_MAX)
			for (int i = 0; i < d.n_listen; i++, nl++) {
				pfds[n].fd = d.listen_fds[i];
				pfds[n++].events = POLLIN;
			}
		for (int i = 0; i < nc; i++) {
			pfds[n].fd = clients[i].fd;
			pfds[n++].events = POLLIN;
		}
		timeout_ms = n_clients > 0 ? 1000 : -1;
		rc = poll(pfds, (nfds_t)n, timeout_ms);
		if (rc < 0 && errno != EINTR)
			log_fatal("poll: %m");
		if (rc <= 0)
			continue;
		if (pfds[0].revents != 0) {
			char junk[64];

			while (read(sig_pipe[0], junk, sizeof(junk)) > 0)
				;
		}
		/* Clients first (by index: the array only grows below). */
		for (int i = 0; i < nc; i++)
			if (pfds[1 + nl + i].revents != 0 && clients[i].fd >= 0)
				client_input(&clients[i]);
		for (int i = 0; i < nl; i++) {
			int fd;

			if (pfds[1 + i].revents == 0 ||
			    n_clients >= BOUNCE_CLIENTS_MAX)
				continue;
			fd = accept4(pfds[1 + i].fd, NULL, NULL,
			    SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			clients[n_clients].fd = fd;
			clients[n_clients].dec = attr_decoder_new();
			clients[n_clients].last = time(NULL);
			n_clients++;
		}
	}
	for (int i = 0; i < n_clients; i++)
		client_close(&clients[i]);
	log_info("stopping");
	free_config();
	daemon_release(&d);
	return 0;
}
