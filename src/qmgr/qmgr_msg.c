/*
 * qmgr_msg - one message's life in active/ (docs/qmgr.md):
 *
 *   take     move to active/, read and validate the queue file (corrupt:
 *            to corrupt/), resolve each open recipient, group them into
 *            delivery jobs per (transport, next hop)
 *   deliver  each job is one request=deliver to private/TRANSPORT when
 *            the destination's concurrency allows; its reply decides
 *            each recipient (docs/protocols.md, "Delivery agents")
 *   finish   when no job is left: expired recipients bounce, a notice is
 *            requested from bounce when bounce/ID exists, a delay warning
 *            when due, then the file is removed (nothing open) or moved
 *            to deferred/ with its next attempt time as mtime
 *
 * The truth is on disk: done-marks in the queue file, failures in
 * bounce/ID (fsync'ed before the B mark), deferral reasons in defer/ID.
 * What is kept in memory can be rebuilt from the folders at any time.
 *
 * Distrusts agent replies (checked field by field; anything odd defers
 * the request's recipients) and queue files (validated by queue_file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "attr.h"
#include "backoff.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "qmgr.h"
#include "queue.h"
#include "queue_file.h"
#include "queue_log.h"
#include "resolve.h"
#include "str.h"

/* Recipient states in memory. */
enum rcpt_state {
	RS_IDLE,	/* done on disk, or not for this pass */
	RS_PENDING,	/* in a job waiting for its turn or in flight */
	RS_DEFERRED,	/* deferred in this pass; REASON says why */
};

struct qmgr_rcpt {
	char *address;
	unsigned notify;
	enum rcpt_state state;
	char *reason;		/* last deferral: "4.x.x text" */
};

enum msg_phase {
	PHASE_DELIVER,
	PHASE_NOTICE,
	PHASE_WARNING,
};

struct qmgr_msg {
	char id[QUEUE_ID_SIZE];
	char *sender;
	time_t arrival;
	uint64_t size;
	struct qmgr_rcpt *rcpts;
	size_t n_rcpts;
	unsigned jobs;		/* jobs queued or in flight */
	enum msg_phase phase;
	bool warned;		/* defer/ID.warned exists */
	bool notice_failed;	/* bounce/ID still waits for its notice */
	struct qmgr_msg *hnext;
};

struct qmgr_transport {
	char *name;
	unsigned rcpt_limit;
	unsigned conc_limit;	/* per destination */
	unsigned total_limit;	/* all destinations together */
	unsigned active;
	struct qmgr_transport *next;
};

struct qmgr_job;

struct qmgr_dest {
	char *key;		/* transport LF nexthop-or-recipient */
	char *nexthop;
	struct qmgr_transport *tp;
	unsigned active;
	unsigned hold;		/* being dispatched: do not free */
	struct qmgr_job *head, *tail;	/* waiting jobs */
	struct qmgr_dest *next;
};

struct qmgr_job {
	struct qmgr_msg *msg;
	struct qmgr_dest *dest;
	size_t *rcpts;
	size_t n;
	struct qmgr_job *next;
};

#define MSG_HASH 4096

static struct qmgr_msg *msg_hash[MSG_HASH];
static unsigned n_msgs;
static struct qmgr_transport *transports;
static struct qmgr_dest *dests;

static void msg_pass_done(struct qmgr_msg *m);

static void
dispatch_event(evutil_socket_t fd, short what, void *arg)
{
	qmgr_dispatch_all();
}

/* Messages by ID. */

static unsigned
id_hash(const char *id)
{
	unsigned h = 5381;

	for (; *id; id++)
		h = h * 33 + (unsigned char)*id;
	return h % MSG_HASH;
}

static struct qmgr_msg *
msg_find(const char *id)
{
	for (struct qmgr_msg *m = msg_hash[id_hash(id)]; m; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

unsigned
qmgr_msg_count(void)
{
	return n_msgs;
}

bool
qmgr_msg_known(const char *id)
{
	return msg_find(id) != NULL;
}

static void
msg_free(struct qmgr_msg *m)
{
	struct qmgr_msg **pp = &msg_hash[id_hash(m->id)];

	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		free(m->rcpts[i].address);
		free(m->rcpts[i].reason);
	}
	free(m->rcpts);
	free(m->sender);
	free(m);
	n_msgs--;
}

static void
path_of(struct buf *b, const char *folder, const char *id)
{
	buf_reset(b);
	buf_printf(b, "%s/%s/%s", qmgr_cfg.queue_directory, folder, id);
}

/* Escaped copy of S for a log line (S came from the network at first). */
static const char *
esc(struct buf *b, const char *s)
{
	buf_reset(b);
	return log_escape(b, s, strlen(s));
}

/* Transports and destinations. */

static unsigned
transport_param(const char *transport, const char *what, unsigned def)
{
	struct buf name, val;
	const char *raw, *error;
	uint64_t v;
	unsigned ret = def;

	buf_init(&name, 0);
	buf_init(&val, 0);
	buf_printf(&name, "%s_%s", transport, what);
	raw = config_raw(qmgr_cfg.config, name.data);
	if (raw != NULL) {
		if (config_expand(qmgr_cfg.config, raw, &val, &error) < 0 ||
		    parse_uint(val.data, 0, 1000000, &v, &error) < 0)
			log_warning("%s: %s; using %u", name.data, error, def);
		else if (v > 0)
			ret = (unsigned)v;
	}
	buf_release(&name);
	buf_release(&val);
	return ret;
}

static struct qmgr_transport *
transport_get(const char *name)
{
	struct qmgr_transport *t;

	for (t = transports; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->rcpt_limit = transport_param(name, "destination_recipient_limit",
	    qmgr_cfg.default_destination_recipient_limit);
	t->conc_limit = transport_param(name,
	    "destination_concurrency_limit",
	    qmgr_cfg.default_destination_concurrency_limit);
	t->total_limit = qmgr_cfg.default_process_limit;
	t->next = transports;
	transports = t;
	return t;
}

static struct qmgr_dest *
dest_get(struct qmgr_transport *tp, const char *nexthop, const char *rcpt)
{
	struct qmgr_dest *d;
	struct buf key;

	buf_init(&key, 0);
	buf_printf(&key, "%s\n%s", tp->name, tp->rcpt_limit == 1 ? rcpt :
	    nexthop);
	if (tp->rcpt_limit == 1)
		str_lower(key.data);
	for (d = dests; d != NULL; d = d->next)
		if (strcmp(d->key, key.data) == 0) {
			buf_release(&key);
			return d;
		}
	d = xcalloc(1, sizeof(*d));
	d->key = buf_detach(&key, NULL);
	buf_release(&key);
	d->nexthop = xstrdup(nexthop);
	d->tp = tp;
	d->next = dests;
	dests = d;
	return d;
}

/* Forget a destination with nothing waiting and nothing in flight. */
static void
dest_maybe_free(struct qmgr_dest *d)
{
	struct qmgr_dest **pp;

	if (d->active > 0 || d->hold > 0 || d->head != NULL)
		return;
	for (pp = &dests; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	free(d->key);
	free(d->nexthop);
	free(d);
}

/* Recipient outcomes decided by qmgr (not by an agent). */

static void
log_outcome(struct qmgr_msg *m, size_t i, const char *relay,
    const char *dsn, const char *status, const char *text)
{
	struct buf a, t;

	buf_init(&a, 0);
	buf_init(&t, 0);
	log_info("%s: to=<%s>, relay=%s, delay=%lld, dsn=%s, status=%s (%s)",
	    m->id, esc(&a, m->rcpts[i].address), relay,
	    (long long)(time(NULL) - m->arrival), dsn, status,
	    log_escape(&t, text, strlen(text)));
	buf_release(&a);
	buf_release(&t);
}

static void
rcpt_defer(struct qmgr_msg *m, size_t i, const char *dsn, const char *text)
{
	struct queue_log_entry e = { i, m->rcpts[i].address, "delayed", dsn,
	    text, time(NULL) };
	struct buf path, r;
	const char *error;

	buf_init(&path, 0);
	buf_init(&r, 0);
	queue_log_path(&path, qmgr_cfg.queue_directory, QUEUE_DEFER, m->id,
	    "");
	/* Only for ulak queue and delay notices: no fsync needed. */
	if (queue_log_append(path.data, &e, false, &error) < 0)
		log_warning("%s: %s", m->id, error);
	buf_printf(&r, "%s %s", dsn, text);
	free(m->rcpts[i].reason);
	m->rcpts[i].reason = buf_detach(&r, NULL);
	m->rcpts[i].state = RS_DEFERRED;
	buf_release(&path);
	buf_release(&r);
}

/*
 * Record failures of the recipients IDX[0..N) (dsn/text each) in
 * bounce/ID durably, then mark them B in the queue file.  A recipient
 * whose failure cannot be recorded is deferred instead (never lose a
 * bounce).
 */
struct failure {
	size_t rcpt;
	char dsn[16];
	const char *text;
};

static void
rcpts_fail(struct qmgr_msg *m, const struct failure *f, size_t n)
{
	struct buf path;
	struct queue_file *qf;
	const char *error;
	size_t i;
	time_t now = time(NULL);

	if (n == 0)
		return;
	buf_init(&path, 0);
	queue_log_path(&path, qmgr_cfg.queue_directory, QUEUE_BOUNCE, m->id,
	    "");
	for (i = 0; i < n; i++) {
		struct queue_log_entry e = { f[i].rcpt,
		    m->rcpts[f[i].rcpt].address, "failed", f[i].dsn,
		    f[i].text, now };

		/* One fsync after the last entry covers the earlier ones. */
		if (queue_log_append(path.data, &e, i + 1 == n, &error) < 0)
			break;
	}
	if (i < n) {
		log_warning("%s: cannot record a bounce: %s", m->id, error);
		for (i = 0; i < n; i++)
			rcpt_defer(m, f[i].rcpt, "4.3.0",
			    "cannot record the failure: bounce log write error");
		buf_release(&path);
		return;
	}
	path_of(&path, QUEUE_ACTIVE, m->id);
	qf = queue_file_open(path.data, true, &error);
	if (qf == NULL) {
		/* Gone (deleted or held by the administrator). */
		log_warning("%s: cannot mark bounced recipients: %s", m->id,
		    error);
	} else {
		for (i = 0; i < n; i++)
			if (f[i].rcpt >= queue_file_rcpt_count(qf) ||
			    queue_file_set_mark(qf, f[i].rcpt,
			    QUEUE_RCPT_BOUNCED, &error) < 0)
				break;
		if (i < n || queue_file_sync(qf, &error) < 0)
			log_warning("%s: cannot mark bounced recipients: %s",
			    m->id, error);
		queue_file_close(qf);
	}
	for (i = 0; i < n; i++) {
		m->rcpts[f[i].rcpt].state = RS_IDLE;
		log_outcome(m, f[i].rcpt, "none", f[i].dsn, "bounced",
		    f[i].text);
	}
	buf_release(&path);
}

static void
rcpt_success_notice(struct qmgr_msg *m, size_t i, const char *dsn,
    const char *text)
{
	struct queue_log_entry e = { i, m->rcpts[i].address, "delivered",
	    dsn, text, time(NULL) };
	struct buf path;
	const char *error;

	buf_init(&path, 0);
	queue_log_path(&path, qmgr_cfg.queue_directory, QUEUE_BOUNCE, m->id,
	    "");
	if (queue_log_append(path.data, &e, true, &error) < 0)
		log_warning("%s: cannot record a success notice: %s", m->id,
		    error);
	buf_release(&path);
}

/* Jobs. */

static void
job_free(struct qmgr_job *j)
{
	free(j->rcpts);
	free(j);
}

static void
job_enqueue(struct qmgr_job *j)
{
	struct qmgr_dest *d = j->dest;

	j->next = NULL;
	if (d->tail != NULL)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
}

/* Run qmgr_dispatch_all from the event loop, once per loop turn. */
static void
dispatch_soon(void)
{
	static struct event *ev;

	if (ev == NULL) {
		ev = event_new(qmgr_base, -1, 0, dispatch_event, NULL);
		if (ev == NULL)
			log_fatal("event_new: out of memory");
	}
	if (!event_pending(ev, EV_TIMEOUT, NULL)) {
		struct timeval zero = { 0, 0 };

		event_add(ev, &zero);
	}
}

/* The job is over (reply handled): free it, let others start, maybe finish. */
static void
job_done(struct qmgr_job *j)
{
	struct qmgr_msg *m = j->msg;
	struct qmgr_dest *d = j->dest;

	d->active--;
	d->tp->active--;
	job_free(j);
	dispatch_soon();
	dest_maybe_free(d);
	if (--m->jobs == 0)
		msg_pass_done(m);
}

/* Every recipient of J is deferred with DSN and TEXT. */
static void
job_defer_all(struct qmgr_job *j, const char *dsn, const char *text)
{
	for (size_t k = 0; k < j->n; k++)
		if (j->msg->rcpts[j->rcpts[k]].state == RS_PENDING)
			rcpt_defer(j->msg, j->rcpts[k], dsn, text);
}

/* "INDEX DSN TEXT": 0 with the parts, -1 when malformed. */
static int
parse_result(const char *s, size_t *index_r, char dsn[16],
    const char **text_r)
{
	const char *sp = strchr(s, ' '), *p;
	char num[24];
	uint64_t v;
	const char *error;
	size_t n;

	if (sp == NULL || (size_t)(sp - s) >= sizeof(num) || sp == s)
		return -1;
	memcpy(num, s, (size_t)(sp - s));
	num[sp - s] = '\0';
	if (parse_uint(num, 0, 10000000, &v, &error) < 0)
		return -1;
	p = sp + 1;
	/* RFC 3463: class "." subject "." detail, 1-3 digits each. */
	if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return -1;
	n = 2;
	for (int part = 0; part < 2; part++) {
		size_t digits = strspn(p + n, "0123456789");

		if (digits < 1 || digits > 3)
			return -1;
		n += digits;
		if (part == 0) {
			if (p[n] != '.')
				return -1;
			n++;
		}
	}
	if (p[n] != ' ' && p[n] != '\0')
		return -1;
	memcpy(dsn, p, n);
	dsn[n] = '\0';
	*text_r = p[n] == ' ' ? p + n + 1 : "";
	*index_r = (size_t)v;
	return 0;
}

static void
job_reply(void *ctx, const struct attr_list *reply, const char *error)
{
	struct qmgr_job *j = ctx;
	struct qmgr_msg *m = j->msg;
	struct failure *fail;
	size_t n_fail = 0, k;
	const char *status;
	bool *seen;

	if (reply == NULL) {
		log_warning("%s: %s", m->id, error);
		job_defer_all(j, "4.3.0", error);
		job_done(j);
		return;
	}
	status = attr_get(reply, "status");
	if (status == NULL || strcmp(status, "0") != 0) {
		const char *reason = attr_get(reply, "reason");
		struct buf t;

		buf_init(&t, 0);
		buf_printf(&t, "delivery agent failure: %s", reason != NULL ?
		    reason : "no reason given");
		log_warning("%s: private/%s: status=%s: %s", m->id,
		    j->dest->tp->name, status != NULL ? status : "(none)",
		    t.data);
		job_defer_all(j, "4.3.0", t.data);
		buf_release(&t);
		job_done(j);
		return;
	}
	/* First check the whole reply: one result per recipient sent. */
	seen = xcalloc(j->n, sizeof(*seen));
	fail = xcalloc(j->n, sizeof(*fail));
	if (attr_count(reply, "result") != j->n)
		goto malformed;
	for (size_t a = 0; a < reply->n; a++) {
		size_t idx;
		char dsn[16];
		const char *text;

		if (strcmp(reply->v[a].name, "result") != 0)
			continue;
		if (strlen(reply->v[a].value) != reply->v[a].value_len ||
		    parse_result(reply->v[a].value, &idx, dsn, &text) < 0)
			goto malformed;
		for (k = 0; k < j->n && j->rcpts[k] != idx; k++)
			;
		if (k == j->n || seen[k])
			goto malformed;
		seen[k] = true;
	}
	for (size_t a = 0; a < reply->n; a++) {
		size_t idx;
		char dsn[16];
		const char *text;

		if (strcmp(reply->v[a].name, "result") != 0)
			continue;
		(void)parse_result(reply->v[a].value, &idx, dsn, &text);
		if (m->rcpts[idx].state != RS_PENDING)
			continue;
		if (dsn[0] == '2') {
			/* The agent marked it D before it replied. */
			m->rcpts[idx].state = RS_IDLE;
			if (m->rcpts[idx].notify & QUEUE_NOTIFY_SUCCESS)
				rcpt_success_notice(m, idx, dsn, text);
		} else if (dsn[0] == '4') {
			rcpt_defer(m, idx, dsn, text);
		} else {
			fail[n_fail].rcpt = idx;
			memcpy(fail[n_fail].dsn, dsn, sizeof(dsn));
			fail[n_fail].text = text;
			n_fail++;
		}
	}
	rcpts_fail(m, fail, n_fail);
	free(seen);
	free(fail);
	job_done(j);
	return;
malformed:
	log_warning("%s: malformed reply from private/%s", m->id,
	    j->dest->tp->name);
	job_defer_all(j, "4.3.0", "delivery agent failure: malformed reply");
	free(seen);
	free(fail);
	job_done(j);
}

/* Start job J now: build and send its request=deliver. */
static void
job_start(struct qmgr_job *j)
{
	struct qmgr_msg *m = j->msg;
	struct buf req, qfile;
	const char *error;
	bool warn = backoff_warning_due(time(NULL), m->arrival,
	    qmgr_cfg.delay_warning_time);

	buf_init(&req, 0);
	buf_init(&qfile, 0);
	buf_printf(&qfile, "%s/%s", QUEUE_ACTIVE, m->id);
	if (attr_encode(&req, "request", "deliver", &error) < 0 ||
	    attr_encode(&req, "queue_id", m->id, &error) < 0 ||
	    attr_encode(&req, "queue_file", qfile.data, &error) < 0 ||
	    attr_encode(&req, "transport", j->dest->tp->name, &error) < 0 ||
	    attr_encode(&req, "nexthop", j->dest->nexthop, &error) < 0)
		log_panic("%s: cannot encode a deliver request: %s", m->id,
		    error);
	for (size_t k = 0; k < j->n; k++)
		if (attr_encode_uint(&req, "rcpt", j->rcpts[k], &error) < 0)
			log_panic("%s: %s", m->id, error);
	if (warn && attr_encode(&req, "delay_warning", "1", &error) < 0)
		log_panic("%s: %s", m->id, error);
	attr_encode_end(&req);
	j->dest->active++;
	j->dest->tp->active++;
	if (qmgr_call_start(j->dest->tp->name, &req, qmgr_cfg.ipc_timeout,
	    job_reply, j, &error) == NULL) {
		struct buf t;

		buf_init(&t, 0);
		buf_printf(&t, "delivery temporarily suspended: %s", error);
		log_warning("%s: %s", m->id, t.data);
		job_defer_all(j, "4.3.0", t.data);
		buf_release(&t);
		job_done(j);
	}
	buf_release(&req);
	buf_release(&qfile);
}

static void
dispatch(struct qmgr_dest *d)
{
	/* A job that fails at once frees itself, never D (held). */
	d->hold++;
	while (d->head != NULL && d->active < d->tp->conc_limit &&
	    d->tp->active < d->tp->total_limit && !qmgr_draining()) {
		struct qmgr_job *j = d->head;

		d->head = j->next;
		if (d->head == NULL)
			d->tail = NULL;
		job_start(j);
	}
	d->hold--;
}

void
qmgr_dispatch_all(void)
{
	struct qmgr_dest *d, *next;

	for (d = dests; d != NULL; d = next) {
		dispatch(d);
		next = d->next;
		dest_maybe_free(d);
	}
}

/* Taking a message. */

static void
move_corrupt(const char *id, const char *why)
{
	const char *error;

	if (queue_move(qmgr_cfg.queue_directory, id, QUEUE_ACTIVE,
	    QUEUE_CORRUPT, true, &error) < 0)
		log_warning("%s: cannot move to corrupt/: %s", id, error);
	else
		log_warning("%s: corrupt queue file moved to corrupt/: %s", id,
		    why);
}

static bool
path_exists(const char *folder, const char *id, const char *suffix)
{
	struct buf p;
	bool ret;

	buf_init(&p, 0);
	buf_printf(&p, "%s/%s/%s%s", qmgr_cfg.queue_directory, folder, id,
	    suffix);
	ret = access(p.data, F_OK) == 0;
	buf_release(&p);
	return ret;
}

/*
 * A content filter "transport:nexthop" (header/body checks FILTER, the
 * queue file's content_filter) overrides the route of every recipient,
 * as Postfix's qmgr does; an empty nexthop keeps the one the resolver
 * chose, or the recipient's domain.  -1 when FILTER is malformed.
 */
static int
filter_route(const char *filter, const char *addr, struct resolve_result *res)
{
	const char *colon = strchr(filter, ':');
	const char *at = strrchr(addr, '@');
	size_t tlen;

	if (colon == NULL || colon == filter || filter[0] == '.')
		return -1;
	tlen = (size_t)(colon - filter);
	if (tlen >= sizeof(res->transport) ||
	    strspn(filter, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") < tlen)
		return -1;
	if (colon[1] != '\0') {
		if (str_copy(res->nexthop, sizeof(res->nexthop), colon + 1) < 0)
			return -1;
	} else if (res->kind != RESOLVE_DELIVER) {
		(void)str_copy(res->nexthop, sizeof(res->nexthop),
		    at != NULL ? at + 1 : "");
	}
	memcpy(res->transport, filter, tlen);
	res->transport[tlen] = '\0';
	res->kind = RESOLVE_DELIVER;
	return 0;
}

int
qmgr_msg_take(const char *folder, const char *id)
{
	struct qmgr_msg *m;
	struct queue_file *qf;
	struct buf path, tmp;
	struct failure *fail;
	struct qmgr_job **jobs = NULL;
	size_t n_jobs = 0, n_fail = 0, n_open = 0;
	struct resolve_result *res;
	const char *error, *filter;
	int fd;

	if (msg_find(id) != NULL)
		return -1;
	if (strcmp(folder, QUEUE_ACTIVE) != 0 &&
	    queue_move(qmgr_cfg.queue_directory, id, folder, QUEUE_ACTIVE,
	    false, &error) < 0) {
		if (errno != ENOENT)
			log_warning("%s: cannot move to active/: %s", id,
			    error);
		return -1;
	}
	buf_init(&path, 0);
	buf_init(&tmp, 0);
	path_of(&path, QUEUE_ACTIVE, id);
	fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warning("%s: open %s: %m", id, path.data);
		buf_release(&path);
		buf_release(&tmp);
		return -1;
	}
	qf = queue_file_open_fd(fd, path.data, true, &error);
	if (qf == NULL) {
		move_corrupt(id, error);
		buf_release(&path);
		buf_release(&tmp);
		return 0;
	}
	m = xcalloc(1, sizeof(*m));
	(void)str_copy(m->id, sizeof(m->id), id);
	m->sender = xstrdup(queue_file_get(qf, QUEUE_SENDER));
	m->arrival = queue_file_arrival(qf);
	m->size = queue_file_content_length(qf);
	m->n_rcpts = queue_file_rcpt_count(qf);
	m->rcpts = xcalloc(m->n_rcpts, sizeof(*m->rcpts));
	m->warned = path_exists(QUEUE_DEFER, id, ".warned");
	m->hnext = msg_hash[id_hash(id)];
	msg_hash[id_hash(id)] = m;
	n_msgs++;
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id,
	    esc(&tmp, m->sender), (unsigned long long)m->size, m->n_rcpts);

	res = xcalloc(m->n_rcpts, sizeof(*res));
	fail = xcalloc(m->n_rcpts, sizeof(*fail));
	filter = queue_file_filter(qf);
	if (filter != NULL)
		log_info("%s: content_filter=%s", id, esc(&tmp, filter));
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const struct queue_rcpt *qr = queue_file_rcpt(qf, i);

		m->rcpts[i].address = xstrdup(qr->address);
		m->rcpts[i].notify = qr->notify;
		if (qr->status != QUEUE_RCPT_OPEN)
			continue;
		n_open++;
		if (resolve_addr(qmgr_cfg.resolve, qr->address, &res[i],
		    &error) < 0) {
			log_warning("%s: <%s>: %s", id, esc(&tmp, qr->address),
			    error);
			rcpt_defer(m, i, "4.3.0",
			    "address resolver failure: transport table lookup "
			    "error");
			continue;
		}
		if (filter != NULL) {
			if (filter_route(filter, qr->address, &res[i]) < 0) {
				rcpt_defer(m, i, "4.3.5", "bad content_filter "
				    "in the queue file");
				continue;
			}
		}
		switch (res[i].kind) {
		case RESOLVE_BOUNCE:
			fail[n_fail].rcpt = i;
			(void)str_copy(fail[n_fail].dsn,
			    sizeof(fail[n_fail].dsn), res[i].dsn);
			fail[n_fail].text = res[i].text;
			n_fail++;
			break;
		case RESOLVE_DEFER:
			rcpt_defer(m, i, res[i].dsn, res[i].text);
			break;
		case RESOLVE_DELIVER: {
			struct qmgr_transport *tp = transport_get(
			    res[i].transport);
			struct qmgr_dest *d = dest_get(tp, res[i].nexthop,
			    qr->address);
			struct qmgr_job *j = NULL;

			/* Join this message's open job for D, if not full. */
			for (size_t k = n_jobs; k-- > 0;)
				if (jobs[k]->dest == d) {
					if (jobs[k]->n < tp->rcpt_limit)
						j = jobs[k];
					break;
				}
			if (j == NULL) {
				j = xcalloc(1, sizeof(*j));
				j->msg = m;
				j->dest = d;
				j->rcpts = xcalloc(tp->rcpt_limit <
				    m->n_rcpts ? tp->rcpt_limit : m->n_rcpts,
				    sizeof(*j->rcpts));
				jobs = xreallocarray(jobs, n_jobs + 1,
				    sizeof(*jobs));
				jobs[n_jobs++] = j;
			}
			j->rcpts[j->n++] = i;
			m->rcpts[i].state = RS_PENDING;
			break;
		}
		}
	}
	queue_file_close(qf);
	rcpts_fail(m, fail, n_fail);
	free(fail);
	free(res);
	/* The jobs start from the event loop (never recursively here). */
	m->jobs = (unsigned)n_jobs;
	for (size_t k = 0; k < n_jobs; k++)
		job_enqueue(jobs[k]);
	if (n_jobs > 0)
		dispatch_soon();
	free(jobs);
	buf_release(&path);
	buf_release(&tmp);
	if (m->jobs == 0)
		msg_pass_done(m);
	return 0;
}

/* Finishing a pass. */

static bool
msg_has_deferred(const struct qmgr_msg *m)
{
	for (size_t i = 0; i < m->n_rcpts; i++)
		if (m->rcpts[i].state == RS_DEFERRED)
			return true;
	return false;
}

static void msg_final(struct qmgr_msg *m);
static void msg_warning(struct qmgr_msg *m);

static void
notice_reply(void *ctx, const struct attr_list *reply, const char *error)
{
	struct qmgr_msg *m = ctx;
	const char *status = reply != NULL ? attr_get(reply, "status") : NULL;

	if (status != NULL && strcmp(status, "0") == 0) {
		if (m->phase == PHASE_NOTICE) {
			struct buf p;

			buf_init(&p, 0);
			queue_log_path(&p, qmgr_cfg.queue_directory,
			    QUEUE_BOUNCE, m->id, "");
			if (unlink(p.data) < 0 && errno != ENOENT)
				log_warning("%s: unlink %s: %m", m->id,
				    p.data);
			buf_release(&p);
		} else {
			struct buf p;
			int fd;

			buf_init(&p, 0);
			queue_log_path(&p, qmgr_cfg.queue_directory,
			    QUEUE_DEFER, m->id, ".warned");
			fd = open(p.data, O_WRONLY | O_CREAT | O_CLOEXEC,
			    0600);
			if (fd < 0)
				log_warning("%s: create %s: %m", m->id,
				    p.data);
			else
				(void)close(fd);
			m->warned = true;
			buf_release(&p);
		}
	} else {
		const char *reason = reply != NULL ?
		    attr_get(reply, "reason") : NULL;

		log_warning("%s: bounce service: %s", m->id, reply == NULL ?
		    error : reason != NULL ? reason : "notice not sent");
		if (m->phase == PHASE_NOTICE)
			m->notice_failed = true;
	}
	if (m->phase == PHASE_NOTICE)
		msg_warning(m);
	else
		msg_final(m);
}

static void
notice_send(struct qmgr_msg *m, const char *kind)
{
	struct buf req;
	const char *error;

	buf_init(&req, 0);
	attr_encode(&req, "request", "notify", &error);
	attr_encode(&req, "queue_id", m->id, &error);
	buf_printf(&req, "queue_file=%s/%s\n", QUEUE_ACTIVE, m->id);
	attr_encode(&req, "kind", kind, &error);
	attr_encode_end(&req);
	if (qmgr_call_start("bounce", &req, qmgr_cfg.ipc_timeout,
	    notice_reply, m, &error) == NULL) {
		buf_release(&req);
		notice_reply(m, NULL, error);
		return;
	}
	buf_release(&req);
}

/* Step 3: the delay warning, once per message. */
static void
msg_warning(struct qmgr_msg *m)
{
	m->phase = PHASE_WARNING;
	if (!m->warned && msg_has_deferred(m) &&
	    backoff_warning_due(time(NULL), m->arrival,
	    qmgr_cfg.delay_warning_time)) {
		notice_send(m, "delay");
		return;
	}
	msg_final(m);
}

/* Logs of a message that is gone for good. */
static void
logs_remove(const char *id)
{
	struct buf p;

	buf_init(&p, 0);
	queue_log_path(&p, qmgr_cfg.queue_directory, QUEUE_DEFER, id, "");
	(void)unlink(p.data);
	queue_log_path(&p, qmgr_cfg.queue_directory, QUEUE_DEFER, id,
	    ".warned");
	(void)unlink(p.data);
	queue_log_path(&p, qmgr_cfg.queue_directory, QUEUE_BOUNCE, id, "");
	(void)unlink(p.data);
	buf_release(&p);
}

/* Step 4: remove the message, or defer it until its next attempt. */
static void
msg_final(struct qmgr_msg *m)
{
	struct buf path;
	const char *error;

	buf_init(&path, 0);
	path_of(&path, QUEUE_ACTIVE, m->id);
	if (access(path.data, F_OK) < 0 && errno == ENOENT) {
		/* Deleted, held or requeued by the administrator. */
		if (!path_exists(QUEUE_HOLD, m->id, "") &&
		    !path_exists(QUEUE_INCOMING, m->id, "") &&
		    !path_exists(QUEUE_DEFERRED, m->id, "") &&
		    !path_exists(QUEUE_CORRUPT, m->id, ""))
			logs_remove(m->id);
		log_info("%s: left active/ while being delivered", m->id);
	} else if (msg_has_deferred(m) || m->notice_failed) {
		time_t now = time(NULL);
		time_t next = backoff_next(now, m->arrival,
		    qmgr_cfg.minimal_backoff_time,
		    qmgr_cfg.maximal_backoff_time);
		struct timeval tv[2] = { { now, 0 }, { next, 0 } };

		/* The next attempt time is the file's mtime (Postfix). */
		if (utimes(path.data, tv) < 0)
			log_warning("%s: utimes %s: %m", m->id, path.data);
		if (queue_move(qmgr_cfg.queue_directory, m->id, QUEUE_ACTIVE,
		    QUEUE_DEFERRED, false, &error) < 0)
			log_warning("%s: %s", m->id, error);
		else
			qmgr_deferred_due(next);
	} else {
		logs_remove(m->id);
		if (unlink(path.data) < 0)
			log_warning("%s: unlink %s: %m", m->id, path.data);
		else
			log_info("%s: removed", m->id);
	}
	buf_release(&path);
	msg_free(m);
	qmgr_message_gone();
}

/* Step 1 and 2: expiry, then the notice when bounce/ID exists. */
static void
msg_pass_done(struct qmgr_msg *m)
{
	struct failure *fail;
	size_t n_fail = 0;
	struct buf path, text;
	uint64_t lifetime = m->sender[0] == '\0' ?
	    qmgr_cfg.bounce_queue_lifetime : qmgr_cfg.maximal_queue_lifetime;
	struct queue_log log;
	const char *error, *kind = NULL;

	buf_init(&path, 0);
	if (msg_has_deferred(m) &&
	    backoff_expired(time(NULL), m->arrival, lifetime)) {
		struct strlist texts;

		strlist_init(&texts);
		fail = xcalloc(m->n_rcpts, sizeof(*fail));
		for (size_t i = 0; i < m->n_rcpts; i++) {
			const char *last = m->rcpts[i].reason;

			if (m->rcpts[i].state != RS_DEFERRED)
				continue;
			buf_init(&text, 0);
			/* Keep the text of the last reason, without its code. */
			if (last != NULL && strchr(last, ' ') != NULL)
				last = strchr(last, ' ') + 1;
			buf_printf(&text, "delivery time expired (%s)",
			    last != NULL ? last : "no reason recorded");
			strlist_add_owned(&texts, buf_detach(&text, NULL));
			buf_release(&text);
			fail[n_fail].rcpt = i;
			(void)str_copy(fail[n_fail].dsn,
			    sizeof(fail[n_fail].dsn), "5.4.7");
			fail[n_fail].text = texts.v[texts.n - 1];
			n_fail++;
		}
		rcpts_fail(m, fail, n_fail);
		free(fail);
		strlist_release(&texts);
	}

	m->phase = PHASE_NOTICE;
	m->notice_failed = false;
	queue_log_path(&path, qmgr_cfg.queue_directory, QUEUE_BOUNCE, m->id,
	    "");
	if (queue_log_read(path.data, &log, NULL, &error) < 0) {
		log_warning("%s: %s", m->id, error);
		m->notice_failed = true;
	} else if (log.n > 0) {
		kind = "success";
		for (size_t i = 0; i < log.n; i++)
			if (strcmp(log.v[i].action, "failed") == 0)
				kind = "failure";
	} else if (access(path.data, F_OK) == 0) {
		/* An empty or damaged log: nothing to report; drop it. */
		log_warning("%s: %s holds no complete entry; removed", m->id,
		    path.data);
		(void)unlink(path.data);
	}
	queue_log_release(&log);
	buf_release(&path);
	if (kind != NULL)
		notice_send(m, kind);
	else
		msg_warning(m);
}

/* Jobs in flight belong to their calls: free them with the calls. */
static void
free_call_ctx(qmgr_call_cb *cb, void *ctx)
{
	if (cb == job_reply)
		job_free(ctx);
}

void
qmgr_msg_shutdown(void)
{
	qmgr_call_shutdown(free_call_ctx);
	while (dests != NULL) {
		struct qmgr_dest *d = dests;

		dests = d->next;
		while (d->head != NULL) {
			struct qmgr_job *j = d->head;

			d->head = j->next;
			job_free(j);
		}
		free(d->key);
		free(d->nexthop);
		free(d);
	}
	while (transports != NULL) {
		struct qmgr_transport *t = transports;

		transports = t->next;
		free(t->name);
		free(t);
	}
	for (size_t i = 0; i < MSG_HASH; i++)
		while (msg_hash[i] != NULL)
			msg_free(msg_hash[i]);
}
