/*
 * smtp_session - one SMTP conversation of the delivery agent with one
 * server address (RFC 5321): greeting, EHLO (HELO when EHLO is refused),
 * STARTTLS (RFC 3207) as the TLS level asks, then one transaction for
 * the delivery's open recipients: MAIL with SIZE/BODY/SMTPUTF8/RET/ENVID,
 * RCPT with NOTIFY/ORCPT (pipelined when the server offers PIPELINING,
 * RFC 2920), DATA with the delivery's DKIM-Signature field(s) and the
 * content dot-stuffed, and QUIT.
 *
 * At TLS level "dane" (an address whose host has usable TLSA records)
 * TLS is mandatory and the server is authenticated by its TLSA records
 * only (RFC 7672 2.2, 3; smtp_tls.c); a mismatch defers, never sends.
 *
 * Everything runs on libevent bufferevents (TLS through
 * bufferevent_openssl); every wait has the smtp_*_timeout of its stage;
 * every reply line is length-limited and parsed by smtp_reply_parse.
 * Distrusts the server completely: replies, their timing, their count.
 * A recipient counts as delivered only after 2xx to the final dot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "bevpace.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "queue_file.h"
#include "smtp.h"
#include "smtp_cmd.h"

enum stage {
	ST_CONNECT,
	ST_GREETING,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_TLS,
	ST_MAILRCPT,
	ST_DATA,
	ST_SENDING,
	ST_DOT,
	ST_QUIT,
	ST_IDLE,	/* kept for the next delivery to the same next hop */
	ST_RSET,	/* reused: checking the connection */
};

/* What the session was doing, for failure texts (Postfix's words). */
static const char *const stage_what[] = {
	[ST_CONNECT] = "connecting",
	[ST_GREETING] = "receiving the initial server greeting",
	[ST_EHLO] = "performing the EHLO handshake",
	[ST_HELO] = "performing the HELO handshake",
	[ST_STARTTLS] = "sending STARTTLS",
	[ST_TLS] = "performing the TLS handshake",
	[ST_MAILRCPT] = "sending MAIL FROM",
	[ST_DATA] = "sending DATA command",
	[ST_SENDING] = "sending message body",
	[ST_DOT] = "sending end of data -- message may be sent more than once",
	[ST_QUIT] = "sending QUIT",
	[ST_IDLE] = "idle",
	[ST_RSET] = "sending RSET",
};

/* At most this many idle connections are kept for reuse. */
#define IDLE_MAX 100

#define CONTENT_CHUNK 65536
#define OUTPUT_LOW 16384
#define INPUT_HIGH (256 * 1024)

struct smtp_session {
	struct delivery *d;		/* NULL once detached (QUIT) */
	struct smtp_agent *a;
	struct smtp_addr_try addr;
	char hostaddr[320];		/* "host[addr]" */
	char relay[336];		/* "host[addr]:port" */
	struct bufferevent *bev;
	SSL *ssl;
	bool tls;
	bool dane_ok;			/* TLS authenticated by TLSA */
	struct event *timer;
	enum stage stage;
	struct smtp_reply reply;
	/* EHLO keywords */
	bool esmtp, pipelining, dsn, eightbit, smtputf8, starttls;
	uint64_t size_limit;	/* 0: none announced */
	/* the transaction: D's recipients in it (indexes into d->rcpt) */
	size_t *txn;
	size_t n_txn;
	size_t n_cmds, n_sent, n_replied;
	int mail_class;		/* class of the MAIL reply (2, 4, 5) */
	struct buf mail_text;
	bool utf8_param;
	uint64_t offset;
	struct smtp_dot dot;
	struct buf scratch;
	char key[300];			/* next hop, for reuse */
	struct smtp_session *idle_prev, *idle_next;
	struct smtp_session *all_prev, *all_next;
};

/* Every session, detached ones too, so that an exit frees them all. */
static struct smtp_session *all_sessions;

static void session_free_only(struct smtp_session *s);

static void
arm(struct smtp_session *s, unsigned secs)
{
	struct timeval tv = { (time_t)(secs ? secs : 1), 0 };

	evtimer_add(s->timer, &tv);
}

/*
 * The session failed in a way another address (or a plaintext retry)
 * may fix.  S is freed; the delivery goes on.
 */
static void
fail(struct smtp_session *s, const char *dsn, bool tls_retry,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct smtp_session *s, const char *dsn, bool tls_retry,
    const char *fmt, ...)
{
	struct delivery *d = s->d;
	struct buf reason;
	char dsn_copy[16];
	va_list ap;

	buf_init(&reason, 0);
	va_start(ap, fmt);
	buf_vprintf(&reason, fmt, ap);
	va_end(ap);
	str_copy(dsn_copy, sizeof(dsn_copy), dsn);
	if (d == NULL) {
		session_free_only(s);
		buf_release(&reason);
		return;
	}
	log_info("%s: %s", d->queue_id, reason.data);
	session_free_only(s);
	delivery_session_done(d, dsn_copy, reason.data, tls_retry);
	buf_release(&reason);
}

static void
send_line(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_line(struct smtp_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* "host X[a] said: 550 5.1.1 text (in reply to RCPT TO command)" */
static void
said(struct smtp_session *s, const char *cmd, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "host %s said: ", s->hostaddr);
	smtp_reply_oneline(&s->reply, 1000, out);
	buf_printf(out, " (in reply to %s command)", cmd);
}

static void
idle_unlink(struct smtp_session *s)
{
	struct smtp_agent *a = s->a;

	if (s->idle_prev != NULL)
		s->idle_prev->idle_next = s->idle_next;
	else if (a->idle == s)
		a->idle = s->idle_next;
	else
		return;		/* not in the list */
	if (s->idle_next != NULL)
		s->idle_next->idle_prev = s->idle_prev;
	s->idle_prev = s->idle_next = NULL;
	a->n_idle--;
}

/*
 * Results done.  Keep the connection for the next delivery to the same
 * next hop when allowed, else QUIT in the background; the delivery goes
 * on at once either way.
 */
static void
quit(struct smtp_session *s)
{
	struct delivery *d = s->d;
	struct smtp_agent *a = s->a;

	smtp_reply_reset(&s->reply);
	s->d = NULL;
	if (a->cache_time > 0 && a->n_idle < IDLE_MAX) {
		s->stage = ST_IDLE;
		s->idle_next = a->idle;
		if (a->idle != NULL)
			a->idle->idle_prev = s;
		a->idle = s;
		a->n_idle++;
		arm(s, a->cache_time);
	} else {
		send_line(s, "QUIT");
		s->stage = ST_QUIT;
		arm(s, a->quit_timeout);
	}
	delivery_session_done(d, NULL, NULL, false);
}

static const char *
xtext(struct smtp_session *s, const char *text)
{
	buf_reset(&s->scratch);
	if (smtp_xtext_encode(text, strlen(text), &s->scratch) < 0)
		return "";
	return s->scratch.data;
}

static void
send_mail(struct smtp_session *s)
{
	struct queue_file *qf = s->d->qf;
	struct buf cmd;
	const char *envid = queue_file_get(qf, QUEUE_ENVID);

	buf_init(&cmd, 0);
	buf_printf(&cmd, "MAIL FROM:<%s>", queue_file_get(qf, QUEUE_SENDER));
	if (s->size_limit > 0 || s->esmtp) {
		if (s->esmtp)
			buf_printf(&cmd, " SIZE=%llu", (unsigned long long)
			    (queue_file_content_length(qf) +
			    s->d->dkim_header.len));
	}
	if (s->eightbit && (queue_file_flags(qf) & QUEUE_FLAG_8BITMIME))
		buf_append_str(&cmd, " BODY=8BITMIME");
	if (s->utf8_param)
		buf_append_str(&cmd, " SMTPUTF8");
	if (s->dsn) {
		if (queue_file_ret(qf) == QUEUE_RET_FULL)
			buf_append_str(&cmd, " RET=FULL");
		else if (queue_file_ret(qf) == QUEUE_RET_HDRS)
			buf_append_str(&cmd, " RET=HDRS");
		if (envid != NULL && envid[0])
			buf_printf(&cmd, " ENVID=%s", xtext(s, envid));
	}
	send_line(s, "%s", cmd.data);
	buf_release(&cmd);
}

static void
send_rcpt(struct smtp_session *s, const struct smtp_rcpt *r)
{
	struct buf cmd;

	buf_init(&cmd, 0);
	buf_printf(&cmd, "RCPT TO:<%s>", r->q->address);
	if (s->dsn) {
		unsigned n = r->q->notify;

		if (n & QUEUE_NOTIFY_NEVER)
			buf_append_str(&cmd, " NOTIFY=NEVER");
		else if (n != 0)
			buf_printf(&cmd, " NOTIFY=%s%s%s",
			    n & QUEUE_NOTIFY_SUCCESS ? "SUCCESS," : "",
			    n & QUEUE_NOTIFY_FAILURE ? "FAILURE," : "",
			    n & QUEUE_NOTIFY_DELAY ? "DELAY," : "");
		if (n != 0 && !(n & QUEUE_NOTIFY_NEVER))
			buf_truncate(&cmd, cmd.len - 1);	/* last ',' */
		if (r->q->orcpt != NULL && strchr(r->q->orcpt, ';')) {
			const char *semi = strchr(r->q->orcpt, ';');

			buf_printf(&cmd, " ORCPT=%.*s;%s",
			    (int)(semi - r->q->orcpt), r->q->orcpt,
			    xtext(s, semi + 1));
		}
	}
	send_line(s, "%s", cmd.data);
	buf_release(&cmd);
}

/* Send what may be sent now: all with PIPELINING, else one at a time. */
static void
send_cmds(struct smtp_session *s)
{
	while (s->n_sent < s->n_cmds &&
	    (s->pipelining || s->n_sent == s->n_replied)) {
		if (s->n_sent == 0)
			send_mail(s);
		else
			send_rcpt(s, &s->d->rcpt[s->txn[s->n_sent - 1]]);
		s->n_sent++;
	}
	arm(s, s->n_replied == 0 ? s->a->mail_timeout : s->a->rcpt_timeout);
}

/* Bounce every recipient of the transaction with DSN/TEXT, then QUIT. */
static void
reject_all(struct smtp_session *s, const char *dsn, const char *text)
{
	for (size_t i = 0; i < s->d->n_rcpt; i++)
		delivery_result(s->d, &s->d->rcpt[i], dsn, text);
	quit(s);
}

static void
start_transaction(struct smtp_session *s)
{
	struct delivery *d = s->d;
	const char *sender = queue_file_get(d->qf, QUEUE_SENDER);
	bool utf8_env = smtp_is_utf8(sender);
	uint64_t size = queue_file_content_length(d->qf) + d->dkim_header.len;
	char text[600];

	free(s->txn);
	s->txn = xcalloc(d->n_rcpt, sizeof(*s->txn));
	s->n_txn = 0;
	for (size_t i = 0; i < d->n_rcpt; i++) {
		if (d->rcpt[i].final)
			continue;
		d->rcpt[i].accepted = false;
		s->txn[s->n_txn++] = i;
		utf8_env |= smtp_is_utf8(d->rcpt[i].q->address);
	}
	if (s->n_txn == 0) {
		quit(s);
		return;
	}
	/* RFC 6531 3.2: a UTF-8 envelope needs a server that takes it. */
	if (utf8_env && !s->smtputf8) {
		snprintf(text, sizeof(text), "SMTPUTF8 is required, but was "
		    "not offered by host %s", s->hostaddr);
		reject_all(s, "5.6.7", text);
		return;
	}
	s->utf8_param = s->smtputf8 && (utf8_env ||
	    (queue_file_flags(d->qf) & QUEUE_FLAG_SMTPUTF8));
	/* RFC 1870 6: do not send what the server said it will refuse. */
	if (s->size_limit > 0 && size > s->size_limit) {
		snprintf(text, sizeof(text), "message size %llu exceeds size "
		    "limit %llu of server %s", (unsigned long long)size,
		    (unsigned long long)s->size_limit, s->hostaddr);
		reject_all(s, "5.3.4", text);
		return;
	}
	s->stage = ST_MAILRCPT;
	s->n_cmds = 1 + s->n_txn;
	s->n_sent = s->n_replied = 0;
	s->mail_class = 0;
	send_cmds(s);
}

static void
after_ehlo(struct smtp_session *s)
{
	enum smtp_tls_level level = s->addr.level;
	bool wants = level != SMTP_TLS_NONE && !s->addr.no_tls;
	bool requires = level == SMTP_TLS_ENCRYPT ||
	    level == SMTP_TLS_VERIFY || level == SMTP_TLS_SECURE ||
	    level == SMTP_TLS_DANE;

	if (!s->tls && wants && s->starttls) {
		send_line(s, "STARTTLS");
		s->stage = ST_STARTTLS;
		arm(s, s->a->helo_timeout);
		return;
	}
	if (!s->tls && requires) {
		fail(s, "4.7.4", false, "TLS is required, but was not offered "
		    "by host %s", s->hostaddr);
		return;
	}
	start_transaction(s);
}

/* EHLO keywords (RFC 5321 4.1.1.1), one per line after the first. */
static void
parse_ehlo(struct smtp_session *s)
{
	const char *p = s->reply.text.data;
	const char *nl = strchr(p, '\n');

	s->esmtp = true;
	s->pipelining = s->dsn = s->eightbit = s->smtputf8 = false;
	s->starttls = false;
	s->size_limit = 0;
	while (nl != NULL) {
		char kw[64];
		size_t len;
		const char *line = nl + 1, *end;

		nl = strchr(line, '\n');
		end = nl != NULL ? nl : line + strlen(line);
		len = strcspn(line, " \n");
		if (len >= sizeof(kw) || len == 0)
			continue;
		memcpy(kw, line, len);
		kw[len] = '\0';
		if (str_casecmp(kw, "PIPELINING") == 0)
			s->pipelining = true;
		else if (str_casecmp(kw, "DSN") == 0)
			s->dsn = true;
		else if (str_casecmp(kw, "8BITMIME") == 0)
			s->eightbit = true;
		else if (str_casecmp(kw, "SMTPUTF8") == 0)
			s->smtputf8 = true;
		else if (str_casecmp(kw, "STARTTLS") == 0)
			s->starttls = true;
		else if (str_casecmp(kw, "SIZE") == 0 && line[len] == ' ') {
			char num[24];
			size_t nlen = (size_t)(end - (line + len + 1));
			uint64_t v;
			const char *e;

			if (nlen < sizeof(num)) {
				memcpy(num, line + len + 1, nlen);
				num[nlen] = '\0';
				if (parse_uint(num, 0, UINT64_MAX, &v, &e) == 0)
					s->size_limit = v;
			}
		}
	}
}

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

static void
start_tls(struct smtp_session *s)
{
	struct bufferevent *tb;
	struct evbuffer *in = bufferevent_get_input(s->bev);

	/*
	 * RFC 3207 5 / CVE-2011-0411: anything the server sent after its
	 * 220 came before TLS and must not be read as if inside it.
	 */
	evbuffer_drain(in, evbuffer_get_length(in));
	s->ssl = SSL_new(s->a->ssl_ctx);
	if (s->ssl == NULL) {
		fail(s, "4.7.5", false, "cannot create a TLS session for %s",
		    s->hostaddr);
		return;
	}
	if (inet_pton(AF_INET, s->addr.host, &(struct in6_addr){ 0 }) != 1 &&
	    inet_pton(AF_INET6, s->addr.host, &(struct in6_addr){ 0 }) != 1)
		SSL_set_tlsext_host_name(s->ssl, s->addr.host);
	if (s->addr.level == SMTP_TLS_DANE) {
		const char *err;

		if (s->addr.dane == NULL || smtp_tls_dane_enable(s->ssl,
		    s->addr.dane, s->d->tls_match.len ?
		    s->d->tls_match.data : NULL, &err) < 0) {
			SSL_free(s->ssl);
			s->ssl = NULL;
			fail(s, "4.7.5", false, "cannot use the TLSA records "
			    "of %s: %s", s->hostaddr, s->addr.dane == NULL ?
			    "none" : err);
			return;
		}
	}
	tb = bufferevent_openssl_filter_new(s->a->base, s->bev, s->ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(s->ssl);
		s->ssl = NULL;
		fail(s, "4.7.5", false, "cannot start TLS with %s",
		    s->hostaddr);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
	/* So that the content pump waits for a slow server (bevpace.h). */
	bev_pace_below(tb, 0, OUTPUT_LOW * 16);
	s->bev = tb;
	bufferevent_setcb(tb, read_cb, write_cb, event_cb, s);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	s->stage = ST_TLS;
	arm(s, s->a->starttls_timeout);
}

static void
tls_established(struct smtp_session *s)
{
	enum smtp_tls_level level = s->addr.level;
	const char *names = s->d->tls_match.len ? s->d->tls_match.data :
	    s->addr.host;
	bool trusted, matched;
	int alg_bits = 0, bits;
	char note[200];

	s->tls = true;
	if (level == SMTP_TLS_DANE) {
		/* RFC 7672 3: the TLSA records alone decide. */
		trusted = matched = s->dane_ok = smtp_tls_dane_check(s->ssl,
		    note, sizeof(note));
		s->d->dane_session = s->dane_ok;
	} else {
		smtp_tls_check(s->ssl, names, &trusted, &matched);
	}
	bits = SSL_get_cipher_bits(s->ssl, &alg_bits);
	log_info("%s TLS connection established to %s: %s with cipher %s "
	    "(%d/%d bits)", trusted && matched ? "Verified" : trusted ?
	    "Trusted" : "Untrusted", s->relay, SSL_get_version(s->ssl),
	    SSL_get_cipher_name(s->ssl), bits, alg_bits);
	if (level == SMTP_TLS_DANE) {
		if (!s->dane_ok) {
			fail(s, "4.7.5", false, "TLSA mismatch: server "
			    "certificate of %s not verified by the TLSA "
			    "records of %s: %s", s->hostaddr,
			    s->addr.dane->qname, note);
			return;
		}
		log_info("%s: DANE: %s", s->relay, note);
	}
	if ((level == SMTP_TLS_VERIFY || level == SMTP_TLS_SECURE) &&
	    !(trusted && matched)) {
		fail(s, "4.7.5", false, "Server certificate not %s for %s",
		    trusted ? "verified (name mismatch)" : "trusted",
		    s->hostaddr);
		return;
	}
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH);
	bufferevent_setwatermark(s->bev, EV_WRITE, OUTPUT_LOW, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	/* RFC 3207 4.2: forget what was learned before TLS; EHLO again. */
	send_line(s, "EHLO %s", s->a->helo_name);
	s->stage = ST_EHLO;
	smtp_reply_reset(&s->reply);
	arm(s, s->a->helo_timeout);
}

/* Feed more content while the output drains. */
static void
send_content(struct smtp_session *s)
{
	struct delivery *d = s->d;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	unsigned char chunk[CONTENT_CHUNK];
	size_t got;
	const char *err;

	while (evbuffer_get_length(out) < OUTPUT_LOW) {
		if (queue_file_read_content(d->qf, s->offset, chunk,
		    sizeof(chunk), &got, &err) < 0) {
			/* Our own disk: never let the server take it. */
			log_warning("%s: %s", d->queue_id, err);
			fail(s, "4.3.0", false, "queue file read error: %s",
			    err);
			return;
		}
		buf_reset(&s->scratch);
		if (got == 0) {
			smtp_dot_finish(&s->dot, &s->scratch);
			evbuffer_add(out, s->scratch.data, s->scratch.len);
			s->stage = ST_DOT;
			smtp_reply_reset(&s->reply);
			arm(s, s->a->data_done_timeout);
			return;
		}
		s->offset += got;
		smtp_dot_encode(&s->dot, chunk, got, &s->scratch);
		evbuffer_add(out, s->scratch.data, s->scratch.len);
	}
	arm(s, s->a->data_xfer_timeout);
}

/* A complete reply arrived.  Returns -1 when S is gone. */
static int
handle_reply(struct smtp_session *s)
{
	struct delivery *d = s->d;
	int code = s->reply.code, cls = code / 100;
	char dsn[16];
	struct buf text;

	if (s->stage == ST_QUIT) {
		session_free_only(s);
		return -1;
	}
	evtimer_del(s->timer);
	smtp_reply_dsn(&s->reply, dsn);
	buf_init(&text, 0);
	switch (s->stage) {
	case ST_RSET:
		if (cls != 2) {
			buf_release(&text);
			fail(s, "4.4.2", false, "reused connection to %s: RSET "
			    "refused", s->hostaddr);
			return -1;
		}
		smtp_reply_reset(&s->reply);
		buf_release(&text);
		start_transaction(s);
		return -1;
	case ST_GREETING:
		if (cls != 2) {
			buf_printf(&text, "host %s refused to talk to me: ",
			    s->hostaddr);
			smtp_reply_oneline(&s->reply, 1000, &text);
			/* RFC 5321 3.1: the next MX may do better. */
			dsn[0] = '4';
			fail(s, dsn, false, "%s", text.data);
			buf_release(&text);
			return -1;
		}
		delivery_set_relay(d, s->relay);
		send_line(s, "EHLO %s", s->a->helo_name);
		s->stage = ST_EHLO;
		arm(s, s->a->helo_timeout);
		break;
	case ST_EHLO:
		if (cls == 2) {
			parse_ehlo(s);
			smtp_reply_reset(&s->reply);
			buf_release(&text);
			after_ehlo(s);
			return -1;	/* S may be gone; stop reading */
		}
		if (cls == 5 && !s->tls) {
			/* RFC 5321 3.2: an old server; try HELO. */
			send_line(s, "HELO %s", s->a->helo_name);
			s->stage = ST_HELO;
			arm(s, s->a->helo_timeout);
			break;
		}
		said(s, "EHLO", &text);
		dsn[0] = '4';
		fail(s, dsn, false, "%s", text.data);
		buf_release(&text);
		return -1;
	case ST_HELO:
		if (cls == 2) {
			s->esmtp = false;
			s->pipelining = s->dsn = s->eightbit = false;
			s->smtputf8 = s->starttls = false;
			s->size_limit = 0;
			smtp_reply_reset(&s->reply);
			buf_release(&text);
			after_ehlo(s);
			return -1;
		}
		said(s, "HELO", &text);
		dsn[0] = '4';
		fail(s, dsn, false, "%s", text.data);
		buf_release(&text);
		return -1;
	case ST_STARTTLS:
		if (code == 220) {
			buf_release(&text);
			start_tls(s);
			return -1;	/* the TLS filter reads from here on */
		}
		if (s->addr.level == SMTP_TLS_MAY) {
			smtp_reply_reset(&s->reply);
			buf_release(&text);
			start_transaction(s);
			return -1;
		}
		said(s, "STARTTLS", &text);
		fail(s, "4.7.4", false, "TLS is required, but %s", text.data);
		buf_release(&text);
		return -1;
	case ST_MAILRCPT: {
		size_t i = s->n_replied++;

		if (i == 0) {
			s->mail_class = cls;
			said(s, "MAIL FROM", &s->mail_text);
			if (cls == 5) {
				for (size_t k = 0; k < s->n_txn; k++)
					delivery_result(d,
					    &d->rcpt[s->txn[k]], dsn,
					    s->mail_text.data);
			}
		} else if (s->mail_class == 2) {
			struct smtp_rcpt *r = &d->rcpt[s->txn[i - 1]];

			if (cls == 2) {
				r->accepted = true;
			} else {
				said(s, "RCPT TO", &text);
				delivery_result(d, r, cls == 4 || cls == 5 ?
				    dsn : "4.5.0", text.data);
			}
		}
		if (s->n_replied < s->n_cmds) {
			send_cmds(s);
			break;
		}
		if (s->mail_class == 4 || (s->mail_class != 2 &&
		    s->mail_class != 5)) {
			char mdsn[16];

			str_copy(mdsn, sizeof(mdsn), dsn);
			mdsn[0] = '4';
			buf_set_str(&text, s->mail_text.data);
			send_line(s, "QUIT");
			fail(s, mdsn, false, "%s", text.data);
			buf_release(&text);
			return -1;
		}
		{
			bool any = false;

			for (size_t k = 0; k < s->n_txn; k++)
				any |= d->rcpt[s->txn[k]].accepted;
			if (s->mail_class != 2 || !any) {
				buf_release(&text);
				quit(s);
				return 0;
			}
		}
		send_line(s, "DATA");
		s->stage = ST_DATA;
		arm(s, s->a->data_init_timeout);
		break;
	}
	case ST_DATA:
		if (code == 354) {
			s->stage = ST_SENDING;
			s->offset = 0;
			smtp_dot_init(&s->dot);
			buf_release(&text);
			if (d->dkim_header.len > 0) {
				/* RFC 6376 5.6: prepended to the message. */
				buf_reset(&s->scratch);
				smtp_dot_encode(&s->dot, d->dkim_header.data,
				    d->dkim_header.len, &s->scratch);
				bufferevent_write(s->bev, s->scratch.data,
				    s->scratch.len);
			}
			send_content(s);
			return -1;
		}
		said(s, "DATA", &text);
		for (size_t k = 0; k < s->n_txn; k++)
			if (d->rcpt[s->txn[k]].accepted)
				delivery_result(d, &d->rcpt[s->txn[k]],
				    cls == 4 || cls == 5 ? dsn : "4.5.0",
				    text.data);
		buf_release(&text);
		quit(s);
		return 0;
	case ST_DOT:
		if (cls == 2)
			smtp_reply_oneline(&s->reply, 1000, &text);
		else
			said(s, "end of DATA", &text);
		for (size_t k = 0; k < s->n_txn; k++)
			if (d->rcpt[s->txn[k]].accepted)
				delivery_result(d, &d->rcpt[s->txn[k]],
				    cls == 2 || cls == 4 || cls == 5 ? dsn :
				    "4.5.0", text.data);
		buf_release(&text);
		quit(s);
		return 0;
	default:
		/* A reply nobody asked for. */
		buf_release(&text);
		fail(s, "4.5.0", false, "unexpected reply from %s while %s",
		    s->hostaddr, stage_what[s->stage]);
		return -1;
	}
	smtp_reply_reset(&s->reply);
	buf_release(&text);
	return 0;
}

static bool
waiting(const struct smtp_session *s)
{
	switch (s->stage) {
	case ST_GREETING:
	case ST_EHLO:
	case ST_HELO:
	case ST_STARTTLS:
	case ST_DATA:
	case ST_DOT:
	case ST_QUIT:
	case ST_RSET:
		return true;
	case ST_MAILRCPT:
		return s->n_replied < s->n_sent;
	default:
		return false;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (s->stage == ST_IDLE) {
		/* Something unasked (a 421 before closing): not reusable. */
		session_free_only(s);
		return;
	}
	while (waiting(s)) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		const char *err;
		int rc;

		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTP_REPLY_LINE_MAX + 2) {
				fail(s, "4.5.0", false, "reply line too long "
				    "from %s while %s", s->hostaddr,
				    stage_what[s->stage]);
			}
			return;
		}
		rc = smtp_reply_parse(&s->reply, line, len, &err);
		free(line);
		if (rc < 0) {
			if (s->stage == ST_QUIT) {
				session_free_only(s);
				return;
			}
			fail(s, "4.5.0", false, "malformed reply from %s while "
			    "%s: %s", s->hostaddr, stage_what[s->stage], err);
			return;
		}
		if (rc == 1 && handle_reply(s) < 0)
			return;
	}
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	if (s->stage == ST_SENDING)
		send_content(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		if (s->stage == ST_TLS) {
			evtimer_del(s->timer);
			tls_established(s);
			return;
		}
		s->stage = ST_GREETING;
		arm(s, s->a->helo_timeout);
		return;
	}
	if (s->stage == ST_QUIT || s->stage == ST_IDLE) {
		session_free_only(s);
		return;
	}
	if (s->stage == ST_CONNECT) {
		fail(s, "4.4.1", false, "connect to %s: %s", s->relay,
		    evutil_socket_error_to_string(err));
		return;
	}
	if (s->stage == ST_TLS) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		/* At "may" the same server is tried again without TLS. */
		fail(s, "4.7.5", s->addr.level == SMTP_TLS_MAY,
		    "TLS handshake with %s failed: %s", s->hostaddr,
		    e ? ERR_reason_error_string(e) : (what & BEV_EVENT_EOF) ?
		    "lost connection" : "error");
		return;
	}
	fail(s, "4.4.2", false, "lost connection with %s while %s",
	    s->hostaddr, stage_what[s->stage]);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (s->stage == ST_QUIT) {
		session_free_only(s);
		return;
	}
	if (s->stage == ST_IDLE) {
		idle_unlink(s);
		send_line(s, "QUIT");
		s->stage = ST_QUIT;
		arm(s, s->a->quit_timeout);
		return;
	}
	if (s->stage == ST_CONNECT) {
		fail(s, "4.4.1", false, "connect to %s: Connection timed out",
		    s->relay);
		return;
	}
	fail(s, "4.4.2", s->stage == ST_TLS &&
	    s->addr.level == SMTP_TLS_MAY, "conversation with %s timed "
	    "out while %s", s->hostaddr, stage_what[s->stage]);
}

static void
session_free_only(struct smtp_session *s)
{
	idle_unlink(s);
	if (s->all_prev != NULL)
		s->all_prev->all_next = s->all_next;
	else
		all_sessions = s->all_next;
	if (s->all_next != NULL)
		s->all_next->all_prev = s->all_prev;
	if (s->d != NULL && s->d->session == s)
		s->d->session = NULL;
	if (s->bev != NULL)
		bufferevent_free(s->bev);	/* frees the SSL too */
	else if (s->ssl != NULL)
		SSL_free(s->ssl);
	if (s->timer != NULL)
		event_free(s->timer);
	smtp_reply_release(&s->reply);
	buf_release(&s->mail_text);
	buf_release(&s->scratch);
	free(s->txn);
	free(s);
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s != NULL)
		session_free_only(s);
}

static void
connect_failed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	fail(s, "4.4.1", false, "connect to %s: %s", s->relay,
	    strerror(errno ? errno : ECONNREFUSED));
}

struct smtp_session *
smtp_session_start(struct delivery *d, const struct smtp_addr_try *addr)
{
	struct smtp_agent *a = d->agent;
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sslen;

	s->d = d;
	s->a = a;
	s->addr = *addr;
	d->dane_session = false;
	str_copy(s->key, sizeof(s->key), d->nexthop);
	s->all_next = all_sessions;
	if (all_sessions != NULL)
		all_sessions->all_prev = s;
	all_sessions = s;
	snprintf(s->hostaddr, sizeof(s->hostaddr), "%s[%s]", addr->host,
	    addr->addr);
	snprintf(s->relay, sizeof(s->relay), "%s:%u", s->hostaddr,
	    addr->port);
	smtp_reply_init(&s->reply, 0, 0);
	buf_init(&s->mail_text, 0);
	buf_init(&s->scratch, 0);
	s->timer = evtimer_new(a->base, timer_cb, s);
	s->stage = ST_CONNECT;
	memset(&ss, 0, sizeof(ss));
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)addr->port);
		inet_pton(AF_INET6, addr->addr, &s6->sin6_addr);
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)addr->port);
		inet_pton(AF_INET, addr->addr, &s4->sin_addr);
		sslen = sizeof(*s4);
	}
	s->bev = bufferevent_socket_new(a->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		log_fatal("cannot create a bufferevent");
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH);
	bufferevent_setwatermark(s->bev, EV_WRITE, OUTPUT_LOW, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	arm(s, a->connect_timeout);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&ss,
	    (int)sslen) < 0) {
		/* Report from the loop: the caller must get S first. */
		event_base_once(a->base, -1, EV_TIMEOUT, connect_failed_cb, s,
		    NULL);
	}
	return s;
}

struct smtp_session *
smtp_session_reuse(struct delivery *d)
{
	struct smtp_session *s;

	for (s = d->agent->idle; s != NULL; s = s->idle_next)
		if (strcmp(s->key, d->nexthop) == 0)
			break;
	if (s == NULL)
		return NULL;
	idle_unlink(s);
	evtimer_del(s->timer);
	s->d = d;
	/* The TLS of this connection was settled by an earlier delivery. */
	s->addr.dane = NULL;
	d->dane_session = s->dane_ok;
	delivery_set_relay(d, s->relay);
	/* RFC 5321 4.1.1.5: a clean state, and proof the server is there. */
	send_line(s, "RSET");
	s->stage = ST_RSET;
	arm(s, s->a->helo_timeout);
	return s;
}

void
smtp_session_flush_idle(struct smtp_agent *a)
{
	while (a->idle != NULL) {
		struct smtp_session *s = a->idle;

		idle_unlink(s);
		send_line(s, "QUIT");
		s->stage = ST_QUIT;
		arm(s, s->a->quit_timeout);
	}
}

void
smtp_session_free_all(void)
{
	while (all_sessions != NULL)
		session_free_only(all_sessions);
}
