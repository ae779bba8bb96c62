/*
 * cleanup_msg - turn one message as a client sent it into a queue file:
 * envelope addresses completed with $myorigin, a Received: header in
 * front, Message-ID:/Date:/From: added where a local submission lacks
 * them, unqualified header addresses of local submissions completed,
 * message_size_limit, header_size_limit and hopcount_limit enforced,
 * header and body checks applied (header_checks, mime_header_checks,
 * nested_header_checks, body_checks over a streaming MIME walk, see
 * docs/content-checks.md); the reply is "queued" only after the file is
 * durable (queue_writer_commit).
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
#include "err.h"
#include "hbc.h"
#include "log.h"
#include "mem.h"
#include "mime_stream.h"
#include "rfc822_build.h"
#include "str.h"

/* What a check decided for the line it looked at. */
enum check_result {
	CHECK_KEEP,	/* emit the line as it is */
	CHECK_DROP,	/* IGNORE */
	CHECK_REPLACE,	/* emit m->replace instead */
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
	bool started;			/* Received: written */
	struct buf sender;		/* qualified envelope sender */
	struct buf first_rcpt;		/* qualified, for "for <...>" */
	struct mime_stream *ms;		/* the content, line by line */
	bool primary_sep;		/* the primary header's empty line is next */
	uint64_t size;			/* content bytes received */
	/* Header and body checks. */
	bool checking;			/* tables to consult, no final verdict yet */
	bool discard;			/* DISCARD: answer success, queue nothing */
	bool rejected_by_check;		/* REJECT: already logged */
	bool hold;			/* HOLD: commit into hold/ */
	char *redirect;			/* REDIRECT address (the last one wins) */
	char *filter;			/* FILTER transport:nexthop (the last one) */
	struct strlist bcc;		/* BCC addresses */
	struct buf key;			/* the text looked up */
	struct buf value;		/* the table's answer */
	struct buf prepend;		/* PREPEND lines to emit before the line */
	struct buf replace;		/* REPLACE text */
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
cleanup_msg_hold(struct cleanup_msg *m, const char *reason)
{
	struct buf esc;

	buf_init(&esc, 0);
	log_info("%s: hold: %s", m->id, log_escape(&esc, reason,
	    strlen(reason) > 200 ? 200 : strlen(reason)));
	buf_release(&esc);
	m->hold = true;
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

	if (m->status != 0 || m->w == NULL || m->discard)
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

static struct mime_stream *msg_stream_new(struct cleanup_msg *m);

struct cleanup_msg *
cleanup_msg_begin(const struct cleanup_cfg *cfg,
    const struct cleanup_env *env)
{
	struct cleanup_msg *m = xcalloc(1, sizeof(*m));
	const char *error;

	m->cfg = cfg;
	m->env = env;
	buf_init(&m->sender, 0);
	buf_init(&m->first_rcpt, 0);
	buf_init(&m->key, 0);
	buf_init(&m->value, 0);
	buf_init(&m->prepend, 0);
	buf_init(&m->replace, 0);
	strlist_init(&m->bcc);
	m->ms = msg_stream_new(m);
	m->checking = cfg->hbc != NULL;
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
	if (cfg->hbc_broken)
		msg_fail(m, 4, "4.3.5", "Server configuration error");
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

/*
 * A complete field H[0..LEN) (CRLF line ends) of the primary header, after
 * the checks: count hops, note what is there, complete addresses, emit.
 */
static void
header_done(struct cleanup_msg *m, const char *h, size_t len)
{
	size_t name_len = rfc822_header_name_len(h, len);
	const char *colon;

	if (len == 0)
		return;
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


/* End of the primary header block: add what is missing. */
static void
headers_end(struct cleanup_msg *m)
{
	struct buf b;

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
 * One Postfix-style log line for a check that fired:
 * "ID: reject: header Subject: x from NAME[ADDR]; from=<s> to=<r>
 * proto=ESMTP helo=<h>: 5.7.1 text".  LINE is message text: escaped.
 */
static void
hbc_log(struct cleanup_msg *m, const char *what, const char *where,
    const char *line, size_t len, const char *dsn, const char *text)
{
	const struct cleanup_env *env = m->env;
	const char *name = env->fields[QUEUE_CLIENT_NAME];
	const char *addr = env->fields[QUEUE_CLIENT_ADDRESS];
	const char *proto = env->fields[QUEUE_PROTOCOL];
	const char *helo = env->fields[QUEUE_HELO_NAME];
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s: %s: %s ", m->id, what, where);
	(void)log_escape(&b, line, len > 200 ? 200 : len);
	if (env->origin == CLEANUP_ORIGIN_SMTPD && addr != NULL) {
		buf_append_str(&b, " from ");
		name = name != NULL ? name : "unknown";
		(void)log_escape(&b, name, strlen(name));
		buf_append_str(&b, "[");
		(void)log_escape(&b, addr, strlen(addr));
		buf_append_str(&b, "]");
	} else {
		buf_append_str(&b, " from local");
	}
	buf_append_str(&b, "; from=<");
	(void)log_escape(&b, m->sender.data, m->sender.len);
	buf_append_str(&b, "> to=<");
	(void)log_escape(&b, m->first_rcpt.data, m->first_rcpt.len);
	buf_append_str(&b, ">");
	if (proto != NULL) {
		buf_append_str(&b, " proto=");
		(void)log_escape(&b, proto, strlen(proto));
	}
	if (helo != NULL) {
		buf_append_str(&b, " helo=<");
		(void)log_escape(&b, helo, strlen(helo));
		buf_append_str(&b, ">");
	}
	if (dsn != NULL || (text != NULL && *text != '\0')) {
		buf_append_str(&b, ": ");
		if (dsn != NULL)
			buf_printf(&b, "%s ", dsn);
		if (text != NULL)
			(void)log_escape(&b, text, strlen(text));
	}
	log_info("%s", b.data);
	buf_release(&b);
}

static const char *const table_names[HBC_TABLE_COUNT] = {
	[HBC_TABLE_HEADER] = "header_checks",
	[HBC_TABLE_MIME] = "mime_header_checks",
	[HBC_TABLE_NESTED] = "nested_header_checks",
	[HBC_TABLE_BODY] = "body_checks",
};

/*
 * Look LINE[0..LEN) up in TABLE and carry out the action (Postfix
 * header_checks(5)).  HEADER: LINE is a whole field, unfolded for the
 * lookup; EDITABLE: IGNORE/PREPEND/REPLACE can change the line (not for
 * decoded lines of encoded parts).  PREPEND text lands in m->prepend,
 * REPLACE text in m->replace.
 */
static enum check_result
check_line(struct cleanup_msg *m, enum hbc_table table, const char *where,
    bool header, bool editable, const char *line, size_t len)
{
	struct hbc_action a;
	const char *error, *text;
	struct buf esc;
	int rc;

	if (!m->checking || m->status != 0 ||
	    hbc_tables_empty(m->cfg->hbc, table))
		return CHECK_KEEP;
	buf_reset(&m->key);
	if (header) {
		/* RFC 5322 2.2.3: the field as one line, without CRLFs. */
		for (size_t i = 0; i < len; i++) {
			if (line[i] == '\r' && i + 1 < len && line[i + 1] == '\n') {
				i++;
				continue;
			}
			buf_append_char(&m->key, line[i]);
		}
	} else {
		buf_append(&m->key, line, len);
	}
	rc = hbc_lookup(m->cfg->hbc, table, m->key.data, &m->value, &error);
	if (rc == 0)
		return CHECK_KEEP;
	buf_init(&esc, 0);
	if (rc < 0) {
		log_warning("%s: %s lookup failed: %s", m->id,
		    table_names[table], log_escape(&esc, error, strlen(error)));
		buf_release(&esc);
		msg_fail(m, 4, "4.3.5", "Server configuration error");
		return CHECK_KEEP;
	}
	if (hbc_parse_action(m->value.data, &a, &error) < 0) {
		log_warning("%s: %s: %s in \"%s\"; the rule is ignored", m->id,
		    table_names[table], error, log_escape(&esc, m->value.data,
		    m->value.len));
		buf_release(&esc);
		return CHECK_KEEP;
	}
	buf_release(&esc);
	if (!editable && (a.type == HBC_IGNORE || a.type == HBC_PREPEND ||
	    a.type == HBC_REPLACE)) {
		hbc_log(m, "warning", where, m->key.data, m->key.len, NULL,
		    err_fmt("%s is not applied to a decoded line of an "
		    "encoded part", a.type == HBC_IGNORE ? "IGNORE" :
		    a.type == HBC_PREPEND ? "PREPEND" : "REPLACE"));
		return CHECK_KEEP;
	}
	if (header && (a.type == HBC_PREPEND || a.type == HBC_REPLACE) &&
	    !hbc_is_header_text(a.text)) {
		hbc_log(m, "warning", where, m->key.data, m->key.len, NULL,
		    err_fmt("bad %s header text; need \"Name: value\"",
		    a.type == HBC_PREPEND ? "PREPEND" : "REPLACE"));
		return CHECK_KEEP;
	}
	switch (a.type) {
	case HBC_DUNNO:
		return CHECK_KEEP;
	case HBC_REJECT:
		text = *a.text != '\0' ? a.text : "message content rejected";
		hbc_log(m, "reject", where, m->key.data, m->key.len, a.dsn, text);
		msg_fail(m, a.status, a.dsn, text);
		m->rejected_by_check = true;
		m->checking = false;
		return CHECK_KEEP;
	case HBC_DISCARD:
		hbc_log(m, "discard", where, m->key.data, m->key.len, NULL,
		    a.text);
		m->discard = true;
		m->checking = false;
		return CHECK_KEEP;
	case HBC_HOLD:
		hbc_log(m, "hold", where, m->key.data, m->key.len, NULL, a.text);
		m->hold = true;
		return CHECK_KEEP;
	case HBC_WARN:
	case HBC_INFO:
		hbc_log(m, hbc_type_log(a.type), where, m->key.data,
		    m->key.len, NULL, a.text);
		return CHECK_KEEP;
	case HBC_REDIRECT:
		hbc_log(m, "redirect", where, m->key.data, m->key.len, NULL,
		    a.text);
		free(m->redirect);
		m->redirect = xstrdup(a.text);
		return CHECK_KEEP;
	case HBC_BCC:
		hbc_log(m, "bcc", where, m->key.data, m->key.len, NULL, a.text);
		strlist_add(&m->bcc, a.text);
		return CHECK_KEEP;
	case HBC_FILTER:
		hbc_log(m, "filter", where, m->key.data, m->key.len, NULL,
		    a.text);
		free(m->filter);
		m->filter = xstrdup(a.text);
		return CHECK_KEEP;
	case HBC_IGNORE:
		return CHECK_DROP;
	case HBC_PREPEND:
		buf_append_str(&m->prepend, a.text);
		buf_append_str(&m->prepend, "\r\n");
		return CHECK_KEEP;
	case HBC_REPLACE:
		hbc_log(m, "replace", where, m->key.data, m->key.len, NULL,
		    a.text);
		buf_set_str(&m->replace, a.text);
		return CHECK_REPLACE;
	}
	return CHECK_KEEP;
}

static void
on_header(void *ctx, enum mime_stream_class cls, const char *h, size_t len,
    unsigned flags)
{
	struct cleanup_msg *m = ctx;
	size_t name_len = rfc822_header_name_len(h, len);
	enum check_result r;

	if (m->status != 0 || m->discard)
		return;
	if (cls == MIME_STREAM_PRIMARY) {
		if ((flags & MIME_STREAM_HDR_NUL) != 0) {
			/* Nothing downstream can represent it faithfully. */
			msg_fail(m, 5, "5.6.0", "Malformed message header: it "
			    "contains a NUL byte");
			return;
		}
		if ((flags & MIME_STREAM_HDR_TRUNCATED) != 0)
			log_warning("%s: header longer than header_size_limit="
			    "%llu bytes truncated", m->id,
			    (unsigned long long)m->cfg->header_size_limit);
	}
	buf_reset(&m->prepend);
	r = check_line(m, hbc_header_table(cls, h, name_len), "header", true,
	    true, h, len);
	if (m->prepend.len > 0)
		emit(m, m->prepend.data, m->prepend.len);
	if (r == CHECK_DROP)
		return;
	if (r == CHECK_REPLACE) {
		buf_append_str(&m->replace, "\r\n");
		h = m->replace.data;
		len = m->replace.len;
	}
	if (cls == MIME_STREAM_PRIMARY)
		header_done(m, h, len);
	else
		emit(m, h, len);
}

static void
on_header_end(void *ctx, enum mime_stream_class cls, enum mime_stream_end how)
{
	struct cleanup_msg *m = ctx;

	if (cls != MIME_STREAM_PRIMARY || m->status != 0 || m->discard)
		return;
	headers_end(m);
	if (how == MIME_STREAM_END_BODY) {
		/*
		 * The body starts without its empty line: put one in, so the
		 * added headers stay headers.
		 */
		emit_str(m, "\r\n");
	}
	m->primary_sep = how == MIME_STREAM_END_SEPARATOR;
}

static void
on_line(void *ctx, enum mime_stream_line kind, const char *line, size_t len,
    size_t eol, bool check)
{
	struct cleanup_msg *m = ctx;
	enum check_result r;

	if (m->status != 0 || m->discard)
		return;
	if (kind == MIME_STREAM_SEPARATOR && m->primary_sep) {
		m->primary_sep = false;
		emit_str(m, "\r\n");
		return;
	}
	if (!check || !m->checking) {
		emit(m, line, len + eol);
		return;
	}
	buf_reset(&m->prepend);
	r = check_line(m, HBC_TABLE_BODY, "body", false, true, line, len);
	if (m->prepend.len > 0)
		emit(m, m->prepend.data, m->prepend.len);
	if (r == CHECK_DROP)
		return;
	if (r == CHECK_REPLACE) {
		emit(m, m->replace.data, m->replace.len);
		emit(m, line + len, eol);
		return;
	}
	emit(m, line, len + eol);
}

static void
on_text(void *ctx, const char *text, size_t len)
{
	struct cleanup_msg *m = ctx;

	if (m->status != 0 || !m->checking)
		return;
	(void)check_line(m, HBC_TABLE_BODY, "body", false, false, text, len);
}

static struct mime_stream *
msg_stream_new(struct cleanup_msg *m)
{
	static const struct mime_stream_callbacks cb = {
		.header = on_header,
		.header_end = on_header_end,
		.line = on_line,
		.text = on_text,
	};
	const struct cleanup_cfg *cfg = m->cfg;
	const struct hbc_tables *t = cfg->hbc;
	struct mime_stream_opts o;

	mime_stream_opts_default(&o);
	o.header_max = (size_t)cfg->header_size_limit;
	o.body_limit = (size_t)cfg->body_checks_size_limit;
	o.no_mime = cfg->disable_mime_input_processing;
	/* Without tables for the rest, the body is copied, not walked. */
	o.headers_only = t == NULL || (hbc_tables_empty(t, HBC_TABLE_BODY) &&
	    (o.no_mime || (hbc_tables_empty(t, HBC_TABLE_MIME) &&
	    hbc_tables_empty(t, HBC_TABLE_NESTED))));
	return mime_stream_new(&o, &cb, m);
}

void
cleanup_msg_write(struct cleanup_msg *m, const void *data, size_t len)
{
	if (m->size == 0 && len > 0 && m->n_rcpts == 0)
		cleanup_msg_protocol_error(m, "content before any recipient");
	m->size += len;
	if (m->cfg->message_size_limit > 0 &&
	    m->size > m->cfg->message_size_limit)
		msg_fail(m, 5, "5.3.4", "Message size exceeds fixed limit");
	if (m->status != 0 || m->discard)
		return;
	mime_stream_feed(m->ms, data, len);
}

static void
msg_free(struct cleanup_msg *m)
{
	queue_writer_abort(m->w);
	mime_stream_free(m->ms);
	buf_release(&m->sender);
	buf_release(&m->first_rcpt);
	buf_release(&m->key);
	buf_release(&m->value);
	buf_release(&m->prepend);
	buf_release(&m->replace);
	strlist_release(&m->bcc);
	free(m->redirect);
	free(m->filter);
	free(m->message_id);
	free(m);
}

/*
 * What the checks decided about the envelope, just before the commit:
 * REDIRECT, BCC, FILTER (a rewrite of the queue file), HOLD.
 */
static void
apply_envelope_actions(struct cleanup_msg *m)
{
	struct queue_writer *w = m->w;
	const char *error;
	struct buf a;

	buf_init(&a, 0);
	if (m->redirect != NULL) {
		queue_writer_clear_rcpts(w);
		rfc822_qualify_addr(&a, m->redirect, m->cfg->myorigin);
		if (queue_writer_add_rcpt(w, a.data, NULL, 0, &error) < 0)
			goto bad;
		buf_set_str(&m->first_rcpt, a.data);
	}
	for (size_t i = 0; i < m->bcc.n; i++) {
		buf_reset(&a);
		rfc822_qualify_addr(&a, m->bcc.v[i], m->cfg->myorigin);
		/* Like always_bcc: no delivery notices for the copy. */
		if (queue_writer_add_rcpt(w, a.data, NULL, QUEUE_NOTIFY_NEVER,
		    &error) < 0)
			goto bad;
	}
	m->n_rcpts = queue_writer_rcpt_count(w);
	if (m->filter != NULL &&
	    queue_writer_set_filter(w, m->filter, &error) < 0)
		goto bad;
	if (m->hold)
		queue_writer_set_folder(w, "hold");
	buf_release(&a);
	return;
bad:
	buf_release(&a);
	log_warning("%s: header/body checks: %s", m->id, error);
	msg_fail(m, 4, "4.3.5", "Server configuration error");
}

void
cleanup_msg_finish(struct cleanup_msg *m, struct cleanup_status *st)
{
	const char *error;
	struct buf esc;

	if (m->n_rcpts == 0)
		cleanup_msg_protocol_error(m, "no recipient");
	if (m->status == 0 && !m->discard)
		mime_stream_finish(m->ms);
	if (m->status == 0 && !m->started && !m->discard)
		emit(m, "", 0);
	if (m->status == 0 && m->discard) {
		/* DISCARD: success for the client, but no queue file. */
		queue_writer_abort(m->w);
		m->w = NULL;
	} else if (m->status == 0 && m->w != NULL) {
		char id[QUEUE_ID_SIZE];
		struct queue_writer *w = m->w;

		apply_envelope_actions(m);
		if (m->status == 0) {
			m->w = NULL;
			if (queue_writer_commit(w, id, &error) < 0)
				msg_storage_fail(m, error);
		}
	}
	cleanup_msg_status(m, st);
	buf_init(&esc, 0);
	if (m->status == 0 && !m->discard) {
		if (m->message_id != NULL) {
			log_info("%s: message-id=%s", m->id, log_escape(&esc,
			    m->message_id, strlen(m->message_id)));
			buf_reset(&esc);
		}
		log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue %s)",
		    m->id, log_escape(&esc, m->sender.data, m->sender.len),
		    (unsigned long long)m->size, m->n_rcpts,
		    m->hold ? "hold" : "incoming");
	} else if (m->status != 0 && !m->rejected_by_check) {
		log_info("%s: %s: %s %s; from=<%s>", m->id,
		    m->status == 5 ? "reject" : "defer", m->dsn, m->reason,
		    log_escape(&esc, m->sender.data, m->sender.len));
	}
	buf_release(&esc);
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
