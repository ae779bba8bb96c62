/*
 * cleanup_msg - turn one message as a client sent it into a queue file:
 * envelope addresses completed with $myorigin, a Received: header in
 * front, Message-ID:/Date:/From: added where a local submission lacks
 * them, unqualified header addresses of local submissions completed,
 * message_size_limit, header_size_limit and hopcount_limit enforced; the
 * reply is "queued" only after the file is durable (queue_writer_commit).
 *
 * Distrusts the content completely (it comes from the network through
 * smtpd, or from any local user through pickup): headers are parsed with
 * length limits and every header we write from peer text is sanitised
 * (rfc822_build).  Runs as mail_owner, one thread per client connection;
 * touches nothing shared but the read-only settings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "rfc822_build.h"
#include "str.h"

enum cleanup_state {
	CLEANUP_STATE_HEADERS,
	CLEANUP_STATE_BODY,
};

struct cleanup_msg {
	const struct cleanup_cfg *cfg;
	const struct cleanup_env *env;
	struct queue_writer *w;
	char id[QUEUE_ID_SIZE];
	int status;			/* first failure: 4 or 5; 0 = fine */
	char dsn[16];
	char reason[256];
	size_t n_rcpts;
	enum cleanup_state state;
	bool started;			/* Received: written */
	struct buf sender;		/* qualified envelope sender */
	struct buf first_rcpt;		/* qualified, for "for <...>" */
	struct buf line;		/* header line being assembled */
	bool line_overflow;
	struct buf hdr;			/* logical header being assembled */
	bool hdr_truncated;
	uint64_t size;			/* content bytes received */
	unsigned hops;
	bool have_msgid, have_date, have_from;
	char *message_id;		/* for the log */
};

/* Remember the first failure; later ones are consequences. */
static void
msg_fail(struct cleanup_msg *m, int status, const char *dsn,
    const char *reason)
{
	if (m->status != 0)
		return;
	m->status = status;
	(void)str_copy(m->dsn, sizeof(m->dsn), dsn);
	(void)str_copy(m->reason, sizeof(m->reason), reason);
}

static void
msg_storage_fail(struct cleanup_msg *m, const char *why)
{
	if (m->status == 0)
		log_warning("%s: cannot write queue file: %s", m->id, why);
	msg_fail(m, 4, "4.3.1", "Insufficient system storage");
}

void
cleanup_msg_protocol_error(struct cleanup_msg *m, const char *what)
{
	if (m->status == 0) {
		struct buf esc;

		buf_init(&esc, 0);
		log_warning("%s: client protocol error: %s", m->id,
		    log_escape(&esc, what, strlen(what)));
		buf_release(&esc);
	}
	msg_fail(m, 4, "4.3.0", "internal protocol error");
}

/* Write content bytes to the queue file (the Received: header first). */
static void emit(struct cleanup_msg *m, const void *data, size_t len);

static void
emit_received(struct cleanup_msg *m)
{
	const struct cleanup_env *env = m->env;
	struct rfc822_received r;
	struct buf b;

	m->started = true;
	memset(&r, 0, sizeof(r));
	r.local = env->origin != CLEANUP_ORIGIN_SMTPD;
	r.uid = env->uid;
	r.helo = env->fields[QUEUE_HELO_NAME];
	r.client_name = env->fields[QUEUE_CLIENT_NAME];
	r.client_addr = env->fields[QUEUE_CLIENT_ADDRESS];
	r.protocol = env->fields[QUEUE_PROTOCOL];
	r.hostname = m->cfg->myhostname;
	r.queue_id = m->id;
	r.rcpt = m->n_rcpts == 1 ? m->first_rcpt.data : NULL;
	r.when = env->arrival != 0 ? env->arrival : time(NULL);
	buf_init(&b, 0);
	(void)rfc822_build_received(&b, &r);
	emit(m, b.data, b.len);
	buf_release(&b);
}

static void
emit(struct cleanup_msg *m, const void *data, size_t len)
{
	const char *error;

	if (m->status != 0 || m->w == NULL)
		return;
	if (!m->started)
		emit_received(m);
	if (len == 0 || m->status != 0)
		return;
	if (queue_writer_write_content(m->w, data, len, &error) < 0)
		msg_storage_fail(m, error);
}

static void
emit_str(struct cleanup_msg *m, const char *s)
{
	emit(m, s, strlen(s));
}

void
cleanup_env_init(struct cleanup_env *env)
{
	memset(env, 0, sizeof(*env));
	env->uid = -1;
}

void
cleanup_env_release(struct cleanup_env *env)
{
	free(env->sender);
	free(env->full_name);
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++)
		free(env->fields[f]);
	cleanup_env_init(env);
}

int
cleanup_parse_notify(const char *s, unsigned *notify_r)
{
	struct strlist l;
	unsigned v = 0;
	int rc = 0;

	strlist_init(&l);
	strlist_split(&l, s, ", \t");
	for (size_t i = 0; i < l.n; i++) {
		if (str_casecmp(l.v[i], "never") == 0)
			v |= QUEUE_NOTIFY_NEVER;
		else if (str_casecmp(l.v[i], "success") == 0)
			v |= QUEUE_NOTIFY_SUCCESS;
		else if (str_casecmp(l.v[i], "failure") == 0)
			v |= QUEUE_NOTIFY_FAILURE;
		else if (str_casecmp(l.v[i], "delay") == 0)
			v |= QUEUE_NOTIFY_DELAY;
		else
			rc = -1;
	}
	/* RFC 3461 4.1: NEVER stands alone. */
	if ((v & QUEUE_NOTIFY_NEVER) != 0 && v != QUEUE_NOTIFY_NEVER)
		rc = -1;
	strlist_release(&l);
	if (rc == 0)
		*notify_r = v;
	return rc;
}

struct cleanup_msg *
cleanup_msg_begin(const struct cleanup_cfg *cfg,
    const struct cleanup_env *env)
{
	struct cleanup_msg *m = xcalloc(1, sizeof(*m));
	const char *error;

	m->cfg = cfg;
	m->env = env;
	m->state = CLEANUP_STATE_HEADERS;
	buf_init(&m->sender, 0);
	buf_init(&m->first_rcpt, 0);
	buf_init(&m->line, 0);
	buf_init(&m->hdr, 0);
	(void)str_copy(m->id, sizeof(m->id), "NOQUEUE");
	/* RFC 5321 4.1.1.3 / Postfix append_at_myorigin: envelope addresses
	 * without a domain are completed, whoever sent them. */
	rfc822_qualify_addr(&m->sender, env->sender != NULL ? env->sender : "",
	    cfg->myorigin);

	m->w = queue_writer_open(cfg->queue_directory, &error);
	if (m->w == NULL) {
		msg_storage_fail(m, error);
		return m;
	}
	(void)str_copy(m->id, sizeof(m->id), queue_writer_id(m->w));
	if (queue_writer_set(m->w, QUEUE_SENDER, m->sender.data, &error) < 0)
		goto bad;
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++) {
		if (f == QUEUE_SENDER || env->fields[f] == NULL)
			continue;
		if (queue_writer_set(m->w, (enum queue_field)f, env->fields[f],
		    &error) < 0)
			goto bad;
	}
	if (env->arrival != 0)
		queue_writer_set_arrival(m->w, env->arrival);
	queue_writer_set_ret(m->w, env->ret);
	queue_writer_set_flags(m->w, env->flags);
	return m;
bad:
	log_warning("%s: bad envelope: %s", m->id, error);
	msg_fail(m, 5, "5.5.4", "Invalid envelope parameter");
	return m;
}

void
cleanup_msg_status(const struct cleanup_msg *m, struct cleanup_status *st)
{
	memset(st, 0, sizeof(*st));
	st->status = m->status;
	(void)str_copy(st->queue_id, sizeof(st->queue_id), m->id);
	(void)str_copy(st->dsn, sizeof(st->dsn), m->dsn);
	(void)str_copy(st->reason, sizeof(st->reason), m->reason);
}

void
cleanup_msg_add_rcpt(struct cleanup_msg *m, const char *address,
    const char *orcpt, unsigned notify)
{
	const char *error;
	struct buf a;

	if (m->started || m->size > 0) {
		cleanup_msg_protocol_error(m, "recipient after the content");
		return;
	}
	buf_init(&a, 0);
	rfc822_qualify_addr(&a, address, m->cfg->myorigin);
	if (m->n_rcpts == 0)
		buf_set_str(&m->first_rcpt, a.data);
	m->n_rcpts++;
	if (m->status == 0 && m->w != NULL &&
	    queue_writer_add_rcpt(m->w, a.data, orcpt, notify, &error) < 0) {
		log_warning("%s: bad recipient: %s", m->id, error);
		msg_fail(m, 5, "5.1.3", "Bad recipient address syntax");
	}
	buf_release(&a);
}

uint64_t
cleanup_msg_size(const struct cleanup_msg *m)
{
	return m->size;
}

/* Headers added to local submissions (always_add_missing_headers: all). */
static bool
msg_add_missing(const struct cleanup_msg *m)
{
	return m->env->rewrite_headers || m->cfg->always_add_missing_headers;
}

/* A complete logical header (with its CRLF) is in m->hdr: act on it. */
static void
header_done(struct cleanup_msg *m)
{
	const char *h = m->hdr.data;
	size_t len = m->hdr.len;
	size_t name_len = rfc822_header_name_len(h, len);
	const char *colon;

	if (len == 0)
		return;
	if (m->hdr_truncated)
		log_warning("%s: header longer than header_size_limit=%llu "
		    "bytes truncated", m->id,
		    (unsigned long long)m->cfg->header_size_limit);
	colon = memchr(h, ':', len);
	if ((name_len == 8 && str_ncasecmp(h, "Received", 8) == 0) ||
	    (name_len == 12 && str_ncasecmp(h, "Delivered-To", 12) == 0)) {
		/* RFC 5321 6.3: a loop shows as a pile of trace headers. */
		if (++m->hops > m->cfg->hopcount_limit)
			msg_fail(m, 5, "5.4.6", "Too many hops");
	} else if (name_len == 10 && str_ncasecmp(h, "Message-ID", 10) == 0) {
		if (!m->have_msgid && colon != NULL) {
			size_t vlen = (size_t)(h + len - (colon + 1));
			char *v = xmemdup0(colon + 1, vlen);

			free(m->message_id);
			m->message_id = xstrdup(str_trim(v));
			free(v);
		}
		m->have_msgid = true;
	} else if (name_len == 4 && str_ncasecmp(h, "Date", 4) == 0) {
		m->have_date = true;
	} else if (name_len == 4 && str_ncasecmp(h, "From", 4) == 0) {
		m->have_from = true;
	}
	if (m->env->rewrite_headers && colon != NULL &&
	    rfc822_is_address_header(h, name_len)) {
		struct buf out;
		size_t head = (size_t)(colon + 1 - h);
		size_t vlen = len - head;
		int n;

		/* The value without its final CRLF. */
		if (vlen >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n')
			vlen -= 2;
		buf_init(&out, 0);
		buf_append(&out, h, head);
		n = rfc822_qualify_header(&out, colon + 1, vlen,
		    m->cfg->myorigin);
		if (n > 0) {
			buf_append_str(&out, "\r\n");
			emit(m, out.data, out.len);
			buf_release(&out);
			return;
		}
		buf_release(&out);
	}
	emit(m, h, len);
}

/* End of the header block: flush and add what is missing. */
static void
headers_end(struct cleanup_msg *m)
{
	struct buf b;

	header_done(m);
	buf_reset(&m->hdr);
	m->state = CLEANUP_STATE_BODY;
	if (!msg_add_missing(m))
		return;
	buf_init(&b, 0);
	if (!m->have_msgid) {
		buf_printf(&b, "<%s@%s>", m->id, m->cfg->myhostname);
		free(m->message_id);
		m->message_id = xstrdup(b.data);
		buf_reset(&b);
		buf_printf(&b, "Message-ID: %s\r\n", m->message_id);
	}
	if (!m->have_date) {
		buf_append_str(&b, "Date: ");
		rfc822_build_date(&b, m->env->arrival != 0 ? m->env->arrival :
		    time(NULL));
		buf_append_str(&b, "\r\n");
	}
	if (!m->have_from)
		rfc822_build_from(&b, m->sender.data, m->env->full_name);
	emit(m, b.data, b.len);
	buf_release(&b);
}

/*
 * One complete header-block line (LINE[0..LEN), without its line end;
 * HAD_EOL: it had one).
 */
static void
header_line(struct cleanup_msg *m, const char *line, size_t len, bool had_eol)
{
	if (memchr(line, '\0', len) != NULL) {
		/* Nothing downstream can represent this header faithfully. */
		msg_fail(m, 5, "5.6.0", "Malformed message header: it "
		    "contains a NUL byte");
		return;
	}
	if (len == 0 && had_eol) {
		/* The empty line that ends the header block. */
		headers_end(m);
		emit_str(m, "\r\n");
		return;
	}
	if ((line[0] == ' ' || line[0] == '\t') && m->hdr.len > 0) {
		/* RFC 5322 2.2.3: folded continuation of the header. */
	} else if (rfc822_header_name_len(line, len) > 0) {
		header_done(m);
		buf_reset(&m->hdr);
		m->hdr_truncated = false;
	} else {
		/*
		 * Not a header: the body starts without its empty line.  Put
		 * one in, so the added headers stay headers.
		 */
		headers_end(m);
		emit_str(m, "\r\n");
		emit(m, line, len);
		emit_str(m, had_eol ? "\r\n" : "");
		return;
	}
	if (m->hdr.len + len + 2 > m->cfg->header_size_limit) {
		/* Postfix: the excess of a too long header is discarded. */
		size_t room = m->cfg->header_size_limit - 2 > m->hdr.len ?
		    m->cfg->header_size_limit - 2 - m->hdr.len : 0;

		m->hdr_truncated = true;
		if (room == 0)
			return;
		len = room < len ? room : len;
	}
	buf_append(&m->hdr, line, len);
	buf_append_str(&m->hdr, "\r\n");
}

static void
line_complete(struct cleanup_msg *m, bool had_eol)
{
	char *l = m->line.data;
	size_t len = m->line.len;

	if (len > 0 && l[len - 1] == '\r')
		len--;
	header_line(m, l, len, had_eol);
	buf_reset(&m->line);
	m->line_overflow = false;
}

void
cleanup_msg_write(struct cleanup_msg *m, const void *data, size_t len)
{
	const char *p = data;

	if (m->size == 0 && len > 0 && m->n_rcpts == 0)
		cleanup_msg_protocol_error(m, "content before any recipient");
	m->size += len;
	if (m->cfg->message_size_limit > 0 &&
	    m->size > m->cfg->message_size_limit)
		msg_fail(m, 5, "5.3.4", "Message size exceeds fixed limit");
	if (m->status != 0)
		return;
	while (len > 0 && m->state == CLEANUP_STATE_HEADERS) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - p) : len;

		size_t cap = m->cfg->header_size_limit + 2;
		size_t room = cap > m->line.len ? cap - m->line.len : 0;

		if (n <= room)
			buf_append(&m->line, p, n);
		else {
			/* Keep what fits (header_line truncates it anyway),
			 * but still check the dropped bytes for NULs. */
			buf_append(&m->line, p, room);
			if (memchr(p + room, '\0', n - room) != NULL)
				buf_append_char(&m->line, '\0');
			m->line_overflow = true;
		}
		if (nl == NULL)
			return;
		line_complete(m, true);
		p += n + 1;
		len -= n + 1;
		if (m->status != 0)
			return;
	}
	if (len > 0)
		emit(m, p, len);
}

static void
msg_free(struct cleanup_msg *m)
{
	queue_writer_abort(m->w);
	buf_release(&m->sender);
	buf_release(&m->first_rcpt);
	buf_release(&m->line);
	buf_release(&m->hdr);
	free(m->message_id);
	free(m);
}

void
cleanup_msg_finish(struct cleanup_msg *m, struct cleanup_status *st)
{
	const char *error;

	if (m->n_rcpts == 0)
		cleanup_msg_protocol_error(m, "no recipient");
	if (m->status == 0 && m->state == CLEANUP_STATE_HEADERS) {
		if (m->line.len > 0)
			line_complete(m, false);
		if (m->status == 0 && m->state == CLEANUP_STATE_HEADERS)
			headers_end(m);
	}
	if (m->status == 0 && !m->started)
		emit(m, "", 0);
	if (m->status == 0 && m->w != NULL) {
		char id[QUEUE_ID_SIZE];
		struct queue_writer *w = m->w;

		m->w = NULL;
		if (queue_writer_commit(w, id, &error) < 0)
			msg_storage_fail(m, error);
	}
	cleanup_msg_status(m, st);
	if (m->status == 0) {
		if (m->message_id != NULL) {
			struct buf esc;

			buf_init(&esc, 0);
			log_info("%s: message-id=%s", m->id, log_escape(&esc,
			    m->message_id, strlen(m->message_id)));
			buf_release(&esc);
		}
		{
			struct buf esc;

			buf_init(&esc, 0);
			log_info("%s: from=<%s>, size=%llu, nrcpt=%zu "
			    "(queue incoming)", m->id, log_escape(&esc,
			    m->sender.data, m->sender.len),
			    (unsigned long long)m->size, m->n_rcpts);
			buf_release(&esc);
		}
	} else {
		struct buf esc;

		buf_init(&esc, 0);
		log_info("%s: %s: %s %s; from=<%s>", m->id,
		    m->status == 5 ? "reject" : "defer", m->dsn, m->reason,
		    log_escape(&esc, m->sender.data, m->sender.len));
		buf_release(&esc);
	}
	msg_free(m);
}

void
cleanup_msg_abort(struct cleanup_msg *m)
{
	if (m == NULL)
		return;
	if (m->w != NULL)
		log_info("%s: lost connection with the client before the end "
		    "of the message: nothing queued", m->id);
	msg_free(m);
}
