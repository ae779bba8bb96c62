/*
 * smtpd_session - one SMTP session: RFC 5321 commands, the ESMTP
 * extensions PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8,
 * CHUNKING and DSN, the limits, and the streaming of each message to
 * cleanup (docs/protocols.md).
 *
 * Everything here comes from the network and is distrusted: command lines
 * are read with a length limit and a timeout and parsed by smtp_cmd;
 * message content goes through smtpd_data (only <CR><LF>.<CR><LF> ends
 * it).  Runs unprivileged inside the event loop and never blocks it:
 * cleanup is talked to through a bufferevent, and while a reply from
 * cleanup (or an error delay) is pending the session simply stops reading
 * further commands, which keeps pipelined replies in order.
 *
 * Memory: an idle session holds this struct and its bufferevent; a
 * transaction is allocated at MAIL FROM and freed when it ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "attr.h"
#include "cidr.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "smtpd_dnsfact.h"
#include "err.h"
#include "file.h"
#include "header.h"
#include "log.h"
#include "mem.h"
#include "netserver.h"
#include "queue_id.h"
#include "rate.h"
#include "smtp_addr.h"
#include "smtp_cmd.h"
#include "smtpd.h"
#include "smtpd_auth.h"
#include "smtpd_check.h"
#include "smtpd_data.h"
#include "tls_server.h"
#include "str.h"

/* Input held while a session waits; limits the memory a flood can take. */
#define SESSION_READ_HIGH (64 * 1024)
/* Content sent to cleanup in chunks of about this size (protocol: 1 MiB). */
#define CHUNK_SIZE (64 * 1024)
/* Stop reading the client while this much waits for cleanup. */
#define CLEANUP_BACKLOG_HIGH (256 * 1024)
#define CLEANUP_BACKLOG_LOW (64 * 1024)
/*
 * Mail held for the end-of-data checks keeps this much in memory (the
 * header is in it: cleanup's header_size_limit is smaller); the rest
 * goes to an unlinked file in data_directory until cleanup takes it.
 */
#define HOLD_MEMORY (256 * 1024)

enum sstate {
	S_CMD,
	S_DATA,
	S_BDAT,
};

#define BUSY_CLEANUP 0x01u	/* waiting for a reply from cleanup */
#define BUSY_SLEEP 0x02u	/* error replies are being slowed down */
#define BUSY_TLS 0x04u		/* STARTTLS: flushing the 220, or handshake */
#define BUSY_AUTH 0x08u		/* a password is being checked */
#define BUSY_DNS 0x10u		/* restrictions wait for DNS answers */
#define BUSY_CHECK 0x20u	/* end-of-data checks (DKIM, DMARC) */

enum tls_phase {
	TLS_OFF,		/* plain text, or TLS established */
	TLS_FLUSH,		/* 220 sent; switch once it is written */
	TLS_HANDSHAKE,		/* SSL_accept under way */
};

enum cl_wait {
	CL_NONE,
	CL_OPEN,
	CL_END,
};

/* The commands counted in the "disconnect from" line, in Postfix's order. */
static const struct {
	enum smtp_verb verb;
	const char *name;
} counted[] = {
	{ SMTP_VERB_HELO, "helo" }, { SMTP_VERB_EHLO, "ehlo" },
	{ SMTP_VERB_STARTTLS, "starttls" }, { SMTP_VERB_AUTH, "auth" },
	{ SMTP_VERB_MAIL, "mail" }, { SMTP_VERB_RCPT, "rcpt" },
	{ SMTP_VERB_DATA, "data" }, { SMTP_VERB_BDAT, "bdat" },
	{ SMTP_VERB_RSET, "rset" }, { SMTP_VERB_NOOP, "noop" },
	{ SMTP_VERB_VRFY, "vrfy" }, { SMTP_VERB_EXPN, "expn" },
	{ SMTP_VERB_HELP, "help" }, { SMTP_VERB_QUIT, "quit" },
	{ SMTP_VERB_NONE, "unknown" },
};
#define N_COUNTED (sizeof(counted) / sizeof(counted[0]))

struct txn {
	struct smtp_addr sender;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	char *envid;
	uint64_t rcpt_tried;
	uint64_t rcpt_ok;
	char queue_id[QUEUE_ID_SIZE];	/* "" until cleanup opened the file */
	bool opened;		/* cleanup holds an open message for us */
	bool broken;		/* cleanup went away after open */
	struct buf pending;	/* rcpt request waiting for the open reply */
	bool used_data, used_bdat;
	struct smtpd_data dec;
	struct evbuffer *chunk;	/* content not yet sent to cleanup */
	uint64_t sent;		/* content bytes sent to cleanup */
	bool discard;		/* content goes nowhere (it failed) */
	char *fail_reply;	/* the reply once the content has been read */
	/*
	 * End-of-data checks (docs/checks.md): the content is held here
	 * (chunk is not flushed) until DKIM and DMARC have decided and the
	 * Authentication-Results: header can go in front of it.
	 */
	bool auth;
	int end_verb;		/* SMTP_VERB_DATA or SMTP_VERB_BDAT */
	unsigned auth_pending;
	struct dkim_verify *dkim;
	struct dmarc_check *dmarc;
	const struct spf_outcome *spf;	/* owned by the session's dnsfact */
	char *from_domain;	/* DMARC input, kept for the report line */
	struct strlist dkim_pass;	/* d= of passing signatures */
	int spool_fd;		/* held content beyond HOLD_MEMORY, or -1 */
	uint64_t spooled;	/* bytes in the spool file */
	uint64_t spool_sent;	/* of those, handed to cleanup */
	bool pumping;		/* cleanup is fed from the spool */
	bool spool_failed;	/* no spool file: hold in memory */
	const char *end_hold;	/* hold= of request=end (static text) */
};

struct session {
	struct smtpd_server *srv;
	struct bufferevent *bev;
	char addr[INET6_ADDRSTRLEN];
	char port[8];
	char local[INET6_ADDRSTRLEN];
	const char *name;	/* client host name, verified, or "unknown" */
	struct smtpd_client_name cname;	/* from reverse DNS */
	struct smtpd_dnsfact *dns;	/* NULL: no DNS checks */
	char *resume;		/* the command waiting for DNS answers */
	size_t resume_len;
	bool resuming;		/* handling RESUME again */
	const char *cur_line;	/* the command being handled */
	size_t cur_len;
	int family;
	unsigned char abytes[16];
	char *helo;
	bool esmtp;
	bool counted_conn;
	/* The key of the client limits: address or network (prefix). */
	char range[INET6_ADDRSTRLEN + 20];
	bool limit_exempt;	/* smtpd_client_event_limit_exceptions */
	enum sstate state;
	unsigned busy;
	bool closing;
	bool quit;
	bool skipping;		/* inside an overlong command line */
	bool throttled;		/* client reads stopped for cleanup */
	const char *phase;	/* for "lost connection after X" */
	enum smtpd_data_newline nl;
	unsigned long errors;
	unsigned long junk;
	unsigned short ok[N_COUNTED], total[N_COUNTED];
	struct txn *txn;
	struct bufferevent *cl;
	struct attr_decoder *cl_dec;
	enum cl_wait cl_wait;
	struct event *timer;
	struct buf *delayed;
	uint64_t bdat_left;
	bool bdat_last;
	char *bdat_err;
	/* TLS */
	bool tls;		/* established */
	enum tls_phase tls_phase;
	bool banner_pending;	/* wrapper mode: greet after the handshake */
	/* AUTH */
	char *sasl_user;	/* authenticated login, or NULL */
	const char *sasl_method;
	bool in_auth;		/* reading the lines of an AUTH exchange */
	bool skip_auth;		/* the over-long line is an AUTH line */
	struct smtpd_auth_exchange ax;
	struct smtpd_auth_job *auth_job;
};

static void session_process(struct session *s);
static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* Logging. */

static void
str_upper_ascii(char *p)
{
	for (; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static const char *
esc(struct buf *b, const char *s)
{
	buf_reset(b);
	return log_escape(b, s, strlen(s));
}

/* RFC 3848: the "with" of Received:, and proto= in the log. */
static const char *
proto(const struct session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->tls && s->sasl_user != NULL)
		return "ESMTPSA";
	if (s->tls)
		return "ESMTPS";
	if (s->sasl_user != NULL)
		return "ESMTPA";
	return "ESMTP";
}

static void
log_reject(struct session *s, const char *what, const char *reply,
    const char *to)
{
	struct buf a, b, c, d;
	const char *from = "";
	struct buf fb;

	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&c, 0);
	buf_init(&d, 0);
	buf_init(&fb, 0);
	if (s->txn != NULL) {
		smtp_addr_externalize(s->txn->sender.addr, &fb);
		from = fb.data;
	}
	log_info("%s: reject: %s from %s[%s]: %s; from=<%s>%s%s%s proto=%s "
	    "helo=<%s>",
	    s->txn != NULL && s->txn->queue_id[0] ? s->txn->queue_id :
	    "NOQUEUE", what, s->name, s->addr, esc(&a, reply), esc(&b, from),
	    to != NULL ? " to=<" : "", to != NULL ? esc(&c, to) : "",
	    to != NULL ? ">" : "", proto(s),
	    s->helo != NULL ? esc(&d, s->helo) : "");
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	buf_release(&d);
	buf_release(&fb);
}

/* Client rate limits (smtpd_client_*_rate_limit, as anvil(8)). */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The client's address, or with smtpd_client_ipv4/6_prefix_length below
 * the full length its network ("2001:db8:0:1:2:3000::/84"), as Postfix
 * 3.8 aggregates anvil's counters: an IPv6 client owns far more than one
 * address, and one table entry per network bounds what it can make us
 * remember.
 */
static void
client_range(struct session *s)
{
	unsigned char net[16];
	unsigned prefix = s->family == AF_INET ? s->srv->ipv4_prefix :
	    s->srv->ipv6_prefix;
	unsigned full = s->family == AF_INET ? 32 : 128;
	char text[INET6_ADDRSTRLEN];

	str_copy(s->range, sizeof(s->range), s->addr);
	if ((s->family != AF_INET && s->family != AF_INET6) ||
	    prefix >= full)
		return;
	memset(net, 0, sizeof(net));
	memcpy(net, s->abytes, prefix / 8);
	if (prefix % 8 != 0)
		net[prefix / 8] = (unsigned char)(s->abytes[prefix / 8] &
		    (0xff << (8 - prefix % 8)));
	if (inet_ntop(s->family, net, text, sizeof(text)) == NULL)
		return;
	(void)snprintf(s->range, sizeof(s->range), "%s/%u", text, prefix);
}

/* Say once per time unit that the table forgets clients. */
static void
rate_table_watch(struct smtpd_server *srv, uint64_t now)
{
	uint64_t ev = rate_table_evictions(srv->rates);

	if (ev == srv->rate_evictions_logged || (srv->rate_full_warned != 0 &&
	    now - srv->rate_full_warned < srv->rate_unit * 1000))
		return;
	log_warning("client rate table full (%zu clients): %llu oldest "
	    "entries dropped", rate_table_count(srv->rates),
	    (unsigned long long)(ev - srv->rate_evictions_logged));
	srv->rate_evictions_logged = ev;
	srv->rate_full_warned = now;
}

/*
 * Count one event of KIND for the client when LIMIT is on, and say
 * whether it goes beyond LIMIT (*N_R: the count in this time unit).
 * Clients in smtpd_client_event_limit_exceptions are not counted.
 */
static bool
rate_over(struct session *s, enum smtpd_rate kind, uint64_t limit,
    unsigned long *n_r)
{
	struct smtpd_server *srv = s->srv;
	uint64_t now;

	*n_r = 0;
	if (limit == 0 || s->limit_exempt || srv->rates == NULL)
		return false;
	now = now_ms();
	*n_r = rate_table_add(srv->rates, s->range, kind, now);
	rate_table_watch(srv, now);
	return *n_r > limit;
}

/* The count of KIND so far, without counting (as anvil's *_stat). */
static bool
rate_stat_over(struct session *s, enum smtpd_rate kind, uint64_t limit)
{
	struct smtpd_server *srv = s->srv;

	if (limit == 0 || s->limit_exempt || srv->rates == NULL)
		return false;
	return rate_table_get(srv->rates, s->range, kind, now_ms()) > limit;
}

/* Replies. */

static void
out_text(struct session *s, const char *text, size_t len)
{
	struct smtpd_server *srv = s->srv;

	/*
	 * Past smtpd_soft_error_limit every reply waits
	 * smtpd_error_sleep_time, on a timer: the loop goes on serving the
	 * other sessions, and this one reads no command meanwhile.
	 */
	if (s->delayed != NULL || (srv->error_sleep_time > 0 &&
	    srv->soft_error_limit > 0 && s->errors >= srv->soft_error_limit)) {
		struct timeval tv = { (time_t)srv->error_sleep_time, 0 };

		if (s->delayed == NULL) {
			s->delayed = buf_new(0);
			evtimer_add(s->timer, &tv);
			s->busy |= BUSY_SLEEP;
		}
		buf_append(s->delayed, text, len);
		buf_append(s->delayed, "\r\n", 2);
		return;
	}
	evbuffer_add(bufferevent_get_output(s->bev), text, len);
	evbuffer_add(bufferevent_get_output(s->bev), "\r\n", 2);
}

static void
session_close(struct session *s)
{
	s->closing = true;
	bufferevent_disable(s->bev, EV_READ);
}

/* Count VERB's outcome (for the "disconnect from" line). */
static void
count_verb(struct session *s, int verb, bool error)
{
	if (verb >= 0) {
		for (size_t i = 0; i < N_COUNTED; i++) {
			if ((int)counted[i].verb != verb)
				continue;
			if (s->total[i] < 0xffff)
				s->total[i]++;
			if (!error && s->ok[i] < 0xffff)
				s->ok[i]++;
			break;
		}
	}
}

/* Answer all replies that follow after a pause of MS milliseconds. */
static void
delay_replies(struct session *s, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000 * 1000) };

	if (ms == 0 || s->delayed != NULL)
		return;
	s->delayed = buf_new(0);
	evtimer_add(s->timer, &tv);
	s->busy |= BUSY_SLEEP;
}

/*
 * Send one reply line (FMT, without CRLF) and count VERB's outcome when
 * VERB is not -1.  A 4xx/5xx reply counts as an error; at
 * smtpd_hard_error_limit the session ends with a 421.
 */
static void __attribute__((format(printf, 3, 4)))
respond(struct session *s, int verb, const char *fmt, ...)
{
	struct smtpd_server *srv = s->srv;
	struct buf *b = &srv->scratch;
	va_list ap;
	bool error;

	buf_reset(b);
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
	error = b->data[0] == '4' || b->data[0] == '5';
	count_verb(s, verb, error);
	if (error)
		s->errors++;
	out_text(s, b->data, b->len);
	if (error && srv->hard_error_limit > 0 &&
	    s->errors >= srv->hard_error_limit && !s->closing) {
		buf_reset(b);
		buf_printf(b, "421 4.7.0 %s Error: too many errors",
		    srv->myhostname);
		out_text(s, b->data, b->len);
		log_warning("too many errors after %s from %s[%s]", s->phase,
		    s->name, s->addr);
		session_close(s);
	}
}

static void
fill_ctx(struct session *s, struct smtpd_check_ctx *ctx,
    const struct smtp_addr *rcpt)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->client_name = s->name;
	ctx->client_addr = s->addr;
	ctx->family = s->family;
	memcpy(ctx->addr, s->abytes, sizeof(ctx->addr));
	ctx->local_addr = s->local;
	ctx->helo = s->helo;
	ctx->sasl_username = s->sasl_user;
	ctx->sender = s->txn != NULL ? &s->txn->sender : NULL;
	ctx->rcpt = rcpt;
	ctx->dns = s->dns;
	ctx->reverse_name = s->cname.reverse_name != NULL ?
	    s->cname.reverse_name : "unknown";
	ctx->name_status = s->cname.name != NULL ? s->cname.name_status :
	    SMTPD_NAME_NONE;
	ctx->reverse_status = s->cname.reverse_name != NULL ?
	    s->cname.reverse_status : SMTPD_NAME_NONE;
}

static void resume_cb(void *arg);

/*
 * The restrictions need DNS answers: keep the command line, look the
 * answers up, and handle the line again once they are in (resume_cb).
 * The session reads no further command meanwhile.
 */
static void
defer_for_dns(struct session *s)
{
	if (s->dns == NULL || smtpd_dnsfact_resolve(s->dns, resume_cb,
	    s) == 0) {
		/* Cannot happen: pending means a lookup is wanted. */
		log_warning("restriction pending without a DNS lookup");
		return;
	}
	free(s->resume);
	s->resume = xmalloc(s->cur_len + 1);
	memcpy(s->resume, s->cur_line, s->cur_len);
	s->resume[s->cur_len] = '\0';
	s->resume_len = s->cur_len;
	s->busy |= BUSY_DNS;
}

/* Cleanup connection. */

static void
cl_drop(struct session *s)
{
	if (s->cl != NULL) {
		bufferevent_free(s->cl);
		s->cl = NULL;
	}
	if (s->cl_dec != NULL) {
		attr_decoder_free(s->cl_dec);
		s->cl_dec = NULL;
	}
	s->cl_wait = CL_NONE;
	if (s->throttled) {
		s->throttled = false;
		if (!s->closing)
			bufferevent_enable(s->bev, EV_READ);
	}
	/* Whatever message cleanup held for us is gone now. */
	if (s->txn != NULL && s->txn->opened) {
		s->txn->opened = false;
		s->txn->broken = true;
	}
}

static void txn_free(struct session *s);

static void
content_fail(struct txn *t, const char *reply)
{
	if (t->fail_reply == NULL)
		t->fail_reply = xstrdup(reply);
	t->discard = true;
	evbuffer_drain(t->chunk, evbuffer_get_length(t->chunk));
}

static const char *
temp_reply(const char *dsn)
{
	if (dsn != NULL && strcmp(dsn, "4.3.1") == 0)
		return "452 4.3.1 Insufficient system storage";
	return "451 4.3.0 Error: queue file write error";
}

static void
cl_reply(struct session *s, const struct attr_list *r)
{
	const char *status = attr_get(r, "status");
	const char *dsn = attr_get(r, "dsn");
	const char *reason = attr_get(r, "reason");
	const char *qid = attr_get(r, "queue_id");
	struct txn *t = s->txn;
	enum cl_wait wait = s->cl_wait;
	int verb = t != NULL && t->used_bdat ? SMTP_VERB_BDAT : SMTP_VERB_DATA;
	struct buf e;

	s->cl_wait = CL_NONE;
	s->busy &= ~BUSY_CLEANUP;
	bufferevent_set_timeouts(s->cl, NULL, NULL);
	if (status == NULL)
		status = "4";
	if (reason == NULL)
		reason = "internal protocol error";
	buf_init(&e, 0);
	switch (wait) {
	case CL_OPEN:
		if (strcmp(status, "0") == 0 && qid != NULL &&
		    queue_id_valid(qid) && t != NULL) {
			str_copy(t->queue_id, sizeof(t->queue_id), qid);
			t->opened = true;
			if (s->sasl_user != NULL) {
				buf_reset(&e);
				log_info("%s: client=%s[%s], sasl_method=%s, "
				    "sasl_username=%s", t->queue_id, s->name,
				    s->addr, s->sasl_method,
				    log_escape(&e, s->sasl_user,
				    strlen(s->sasl_user)));
			} else {
				log_info("%s: client=%s[%s]", t->queue_id,
				    s->name, s->addr);
			}
			evbuffer_add(bufferevent_get_output(s->cl),
			    t->pending.data, t->pending.len);
			buf_reset(&t->pending);
			t->rcpt_ok++;
			respond(s, SMTP_VERB_RCPT, "250 2.1.5 Ok");
		} else {
			log_warning("cleanup refused a new message: %s %s",
			    dsn != NULL ? dsn : "", esc(&e, reason));
			cl_drop(s);
			if (t != NULL)
				t->broken = false;
			respond(s, SMTP_VERB_RCPT, "%s", temp_reply(dsn));
		}
		break;
	case CL_END:
		if (strcmp(status, "0") == 0 && t != NULL) {
			respond(s, verb, "250 2.0.0 Ok: queued as %s",
			    t->queue_id);
		} else {
			const char *d = dsn != NULL ? dsn : "4.3.0";

			/*
			 * As Postfix: a content rule's own text goes to the
			 * client ("550 5.7.1 no pills here"); internal
			 * trouble (4.3.x) gets the generic text.
			 */
			if (strcmp(d, "5.3.4") == 0) {
				respond(s, verb, "552 5.3.4 Message size "
				    "exceeds fixed limit");
			} else if (status[0] == '5') {
				int code = strcmp(d, "5.7.1") == 0 ? 550 : 554;

				respond(s, verb, "%d %s %s", code, d,
				    esc(&e, reason));
			} else if (strncmp(d, "4.3.", 4) != 0 &&
			    d[0] == '4') {
				respond(s, verb, "451 %s %s", d,
				    esc(&e, reason));
			} else {
				respond(s, verb, "%s", temp_reply(d));
			}
			log_warning("%s: cleanup: %s %s", t != NULL ?
			    t->queue_id : "NOQUEUE", d, esc(&e, reason));
			cl_drop(s);
		}
		if (t != NULL) {
			t->opened = false;
			txn_free(s);
		}
		break;
	case CL_NONE:
		log_warning("unexpected reply from cleanup");
		cl_drop(s);
		break;
	}
	buf_release(&e);
}

static void
cl_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct attr_list r;
	bool handled = false;

	attr_list_init(&r);
	while (s->cl != NULL && evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		const unsigned char *p = evbuffer_pullup(in, -1);
		const char *error;
		int ret = attr_decoder_feed(s->cl_dec, p, len, &used, &r,
		    &error);

		evbuffer_drain(in, used);
		if (ret < 0) {
			log_warning("cleanup: %s", error);
			ret = 0;
			attr_list_reset(&r);
			attr_list_add(&r, "status", "4", 1);
			/* cl_reply sees a failure and drops the connection. */
			cl_reply(s, &r);
			cl_drop(s);
			handled = true;
			break;
		}
		if (ret == 0)
			break;
		cl_reply(s, &r);
		handled = true;
	}
	attr_list_release(&r);
	if (handled)
		session_process(s);
}

static void spool_pump(struct session *s);

static void
cl_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->txn != NULL && s->txn->pumping) {
		spool_pump(s);
		session_process(s);
		return;
	}
	if (!s->throttled)
		return;
	s->throttled = false;
	bufferevent_setwatermark(s->cl, EV_WRITE, 0, 0);
	if (!s->closing)
		bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

static void
cl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	enum cl_wait wait = s->cl_wait;
	struct txn *t = s->txn;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		log_warning("cleanup: timeout (ipc_timeout)");
	else if (what & BEV_EVENT_ERROR)
		log_warning("cleanup %s: %s", s->srv->cleanup_path,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else if (wait != CL_NONE || (t != NULL && t->opened))
		log_warning("cleanup closed the connection");
	s->busy &= ~BUSY_CLEANUP;
	cl_drop(s);
	if (wait == CL_OPEN) {
		if (t != NULL)
			t->broken = false;
		respond(s, SMTP_VERB_RCPT, "%s", temp_reply(NULL));
	} else if (wait == CL_END) {
		respond(s, t != NULL && t->used_bdat ? SMTP_VERB_BDAT :
		    SMTP_VERB_DATA, "%s", temp_reply(NULL));
		if (t != NULL)
			txn_free(s);
	} else if (t != NULL && t->broken && s->state != S_CMD) {
		content_fail(t, temp_reply(NULL));
	}
	session_process(s);
}

static int
cl_connect(struct session *s)
{
	struct sockaddr_un sun;
	size_t len = strlen(s->srv->cleanup_path);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (len >= sizeof(sun.sun_path)) {
		log_warning("%s: socket path too long", s->srv->cleanup_path);
		return -1;
	}
	memcpy(sun.sun_path, s->srv->cleanup_path, len + 1);
	s->cl = bufferevent_socket_new(s->srv->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (s->cl == NULL)
		return -1;
	bufferevent_setcb(s->cl, cl_read_cb, cl_write_cb, cl_event_cb, s);
	bufferevent_enable(s->cl, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->cl, (struct sockaddr *)&sun,
	    (int)sizeof(sun)) < 0) {
		log_warning("connect to %s: %s", s->srv->cleanup_path,
		    strerror(errno));
		bufferevent_free(s->cl);
		s->cl = NULL;
		return -1;
	}
	s->cl_dec = attr_decoder_new();
	return 0;
}

static void
cl_wait_for(struct session *s, enum cl_wait wait)
{
	struct timeval tv = { (time_t)s->srv->ipc_timeout, 0 };

	s->cl_wait = wait;
	s->busy |= BUSY_CLEANUP;
	bufferevent_set_timeouts(s->cl, &tv, &tv);
}

/* Ask cleanup for a new message; the first RCPT waits for its answer. */
static int
cl_open(struct session *s)
{
	struct txn *t = s->txn;
	struct buf b;
	const char *error = NULL;
	int r = 0;

	if (s->cl == NULL && cl_connect(s) < 0)
		return -1;
	buf_init(&b, 0);
	r |= attr_encode(&b, "request", "open", &error);
	r |= attr_encode(&b, "origin", "smtpd", &error);
	r |= attr_encode(&b, "sender", t->sender.addr, &error);
	if (t->ret != SMTP_RET_NONE)
		r |= attr_encode(&b, "ret", t->ret == SMTP_RET_FULL ? "full" :
		    "hdrs", &error);
	if (t->envid != NULL)
		r |= attr_encode(&b, "envid", t->envid, &error);
	if (t->body == SMTP_BODY_8BITMIME || t->smtputf8)
		r |= attr_encode(&b, "flags", t->body == SMTP_BODY_8BITMIME &&
		    t->smtputf8 ? "8bitmime,smtputf8" : t->smtputf8 ?
		    "smtputf8" : "8bitmime", &error);
	r |= attr_encode(&b, "client_name", s->name, &error);
	r |= attr_encode(&b, "client_address", s->addr, &error);
	r |= attr_encode(&b, "client_port", s->port, &error);
	if (s->helo != NULL)
		r |= attr_encode(&b, "helo_name", s->helo, &error);
	r |= attr_encode(&b, "protocol", proto(s), &error);
	if (s->sasl_user != NULL)
		r |= attr_encode(&b, "sasl_username", s->sasl_user, &error);
	r |= attr_encode_end(&b);
	if (r != 0) {
		log_warning("cleanup open request: %s", error != NULL ? error :
		    "too long");
		buf_release(&b);
		return -1;
	}
	evbuffer_add(bufferevent_get_output(s->cl), b.data, b.len);
	buf_release(&b);
	cl_wait_for(s, CL_OPEN);
	return 0;
}

/* Transactions. */

static void
txn_free(struct session *s)
{
	struct txn *t = s->txn;

	if (t == NULL)
		return;
	/* Closing the connection is how a half-sent message is aborted. */
	if (t->opened || s->cl_wait != CL_NONE)
		cl_drop(s);
	free(t->envid);
	free(t->fail_reply);
	dkim_verify_free(t->dkim);
	if (t->dmarc != NULL)
		dmarc_check_cancel(t->dmarc);
	free(t->from_domain);
	strlist_release(&t->dkim_pass);
	buf_release(&t->pending);
	if (t->chunk != NULL)
		evbuffer_free(t->chunk);
	if (t->spool_fd >= 0)
		(void)close(t->spool_fd);
	free(t);
	s->txn = NULL;
}

/* An unlinked file for held content, in data_directory (-1 on error). */
static int
spool_open(struct session *s)
{
	const char *dir = s->srv->data_directory;
	struct buf path;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	buf_init(&path, 0);
	buf_printf(&path, "%s/.smtpd-hold-XXXXXX", dir);
	fd = mkostemp(path.data, O_CLOEXEC);
	if (fd >= 0)
		(void)unlink(path.data);
	buf_release(&path);
	return fd;
}

/* Hold P[0..N) of a message waiting for the end-of-data checks. */
static void
hold_content(struct session *s, const void *p, size_t n)
{
	struct txn *t = s->txn;

	if (t->spool_fd < 0 && (t->spool_failed ||
	    evbuffer_get_length(t->chunk) + n <= HOLD_MEMORY)) {
		evbuffer_add(t->chunk, p, n);
		return;
	}
	if (t->spool_fd < 0 && (t->spool_fd = spool_open(s)) < 0) {
		/* Nothing lost: hold it in memory, as before the limit. */
		log_warning("cannot make a file in %s to hold a message for "
		    "the checks: %m; holding it in memory",
		    s->srv->data_directory);
		t->spool_failed = true;
		evbuffer_add(t->chunk, p, n);
		return;
	}
	if (file_write_full(t->spool_fd, p, n) < 0) {
		log_warning("write to the file holding a message for the "
		    "checks: %m");
		content_fail(t, "451 4.3.0 Error: cannot hold the message");
		return;
	}
	t->spooled += n;
}

static void
data_emit(void *ctx, const void *p, size_t n)
{
	struct session *s = ctx;
	struct txn *t = s->txn;
	uint64_t limit = s->srv->message_size_limit;

	if (t->discard)
		return;
	if (limit > 0 && t->dec.out_bytes > limit) {
		content_fail(t, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (t->auth)
		hold_content(s, p, n);
	else
		evbuffer_add(t->chunk, p, n);
	if (t->dkim != NULL && !t->discard)
		dkim_verify_feed(t->dkim, p, n);
}

static void
data_flush(struct session *s)
{
	struct txn *t = s->txn;
	struct evbuffer *out;
	size_t n = evbuffer_get_length(t->chunk);

	/* Held for the end-of-data checks (their headers go first). */
	if (n == 0 || t->discard || t->auth)
		return;
	if (s->cl == NULL || !t->opened) {
		content_fail(t, temp_reply(NULL));
		return;
	}
	out = bufferevent_get_output(s->cl);
	evbuffer_add_printf(out, "request=data\nlength=%zu\n\n", n);
	evbuffer_add_buffer(out, t->chunk);
	t->sent += n;
	if (evbuffer_get_length(out) > CLEANUP_BACKLOG_HIGH && !s->throttled) {
		s->throttled = true;
		bufferevent_disable(s->bev, EV_READ);
		bufferevent_setwatermark(s->cl, EV_WRITE, CLEANUP_BACKLOG_LOW,
		    0);
	}
}

/* After each piece of content: the bare CR/LF policy. */
static void
data_check(struct session *s)
{
	struct txn *t = s->txn;

	if (s->nl == SMTPD_DATA_NL_REJECT && t->dec.flags != 0)
		content_fail(t, (t->dec.flags & SMTPD_DATA_BARE_LF) ?
		    "550 5.5.2 Error: bare <LF> received" :
		    "550 5.5.2 Error: bare <CR> received");
	if (evbuffer_get_length(t->chunk) >= CHUNK_SIZE)
		data_flush(s);
}


/* ---- End-of-data checks: DKIM, SPF (for the record), DMARC ---- */


/* header_parse_message callbacks for the held message. */
static int
collect_from(void *ctx, const struct header_field *f)
{
	if (header_field_is(f, "From"))
		strlist_add((struct strlist *)ctx, f->value);
	return 0;
}

/*
 * RFC 8601 5: Authentication-Results fields that claim to come from us
 * (their authserv-id is $myhostname) were forged upstream.
 */
struct forged {
	const char *host;
	struct forged_span {
		size_t offset, length;
	} *at;
	size_t n, cap;
};

static int
collect_forged(void *ctx, const struct header_field *f)
{
	struct forged *fo = ctx;

	if (!header_field_is(f, "Authentication-Results") ||
	    !header_authserv_id_is(f->value, f->value_len, fo->host))
		return 0;
	if (fo->n == fo->cap) {
		fo->cap = fo->cap > 0 ? fo->cap * 2 : 4;
		fo->at = xreallocarray(fo->at, fo->cap, sizeof(*fo->at));
	}
	fo->at[fo->n].offset = f->offset;
	fo->at[fo->n].length = f->length;
	fo->n++;
	return 0;
}

static void auth_finish(struct session *s, struct dmarc_outcome *o);

/* The held message is all with cleanup: end it. */
static void
held_end(struct session *s)
{
	struct txn *t = s->txn;
	struct evbuffer *out = bufferevent_get_output(s->cl);

	if (t->end_hold != NULL)
		evbuffer_add_printf(out, "request=end\ncontent_length=%llu\n"
		    "hold=%s\n\n", (unsigned long long)t->sent, t->end_hold);
	else
		evbuffer_add_printf(out, "request=end\ncontent_length=%llu\n\n",
		    (unsigned long long)t->sent);
}

/*
 * Feed cleanup from the spool file, a CHUNK_SIZE at a time while its
 * backlog is low (cl_write_cb calls again), then end the message.
 */
static void
spool_pump(struct session *s)
{
	static char piece[CHUNK_SIZE];
	struct txn *t = s->txn;
	struct evbuffer *out = bufferevent_get_output(s->cl);

	while (t->spool_sent < t->spooled &&
	    evbuffer_get_length(out) < CLEANUP_BACKLOG_HIGH) {
		uint64_t left = t->spooled - t->spool_sent;
		size_t k = left < sizeof(piece) ? (size_t)left : sizeof(piece);
		ssize_t r = pread(t->spool_fd, piece, k, (off_t)t->spool_sent);

		if (r <= 0) {
			log_warning("read the file holding a message for the "
			    "checks: %s", r < 0 ? strerror(errno) :
			    "unexpected end");
			/* Closing the connection aborts the message. */
			cl_drop(s);
			respond(s, t->end_verb, "%s", temp_reply(NULL));
			txn_free(s);
			return;
		}
		evbuffer_add_printf(out, "request=data\nlength=%zd\n\n", r);
		evbuffer_add(out, piece, (size_t)r);
		t->spool_sent += (uint64_t)r;
		t->sent += (uint64_t)r;
	}
	if (t->spool_sent < t->spooled) {
		bufferevent_setwatermark(s->cl, EV_WRITE, CLEANUP_BACKLOG_LOW,
		    0);
		return;
	}
	t->pumping = false;
	bufferevent_setwatermark(s->cl, EV_WRITE, 0, 0);
	held_end(s);
}

static void
dmarc_cb(struct dmarc_outcome *o, void *arg)
{
	struct session *s = arg;

	s->txn->dmarc = NULL;
	auth_finish(s, o);
	session_process(s);
}

/* DKIM and SPF are in: evaluate DMARC for the From: domain. */
static void
auth_dmarc(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	struct txn *t = s->txn;
	struct dmarc_input in;
	struct dmarc_outcome o;
	struct strlist from;
	const char *p, *error;
	size_t len, body;

	if (t->dkim != NULL) {
		size_t nr;
		const struct dkim_result *r = dkim_verify_results(t->dkim, &nr);

		for (size_t i = 0; i < nr; i++)
			if (r[i].status == DKIM_PASS && r[i].domain != NULL)
				strlist_add(&t->dkim_pass, r[i].domain);
	}
	if (srv->psl == NULL) {
		auth_finish(s, NULL);
		return;
	}
	len = evbuffer_get_length(t->chunk);
	p = (const char *)evbuffer_pullup(t->chunk, -1);
	strlist_init(&from);
	/* The header as cleanup will see it (header.h); no size limit:
	 * message_size_limit bounds the held message. */
	(void)header_parse_message(p, len, 0, collect_from, &from, &body,
	    &error);
	if (dmarc_from_domain((const char *const *)from.v, from.n,
	    &t->from_domain, &error) < 0) {
		strlist_release(&from);
		memset(&o, 0, sizeof(o));
		o.result = DMARC_RESULT_PERMERROR;
		o.problem = xstrdup(error);
		auth_finish(s, &o);
		dmarc_outcome_release(&o);
		return;
	}
	strlist_release(&from);
	memset(&in, 0, sizeof(in));
	in.from_domain = t->from_domain;
	in.spf_result = t->spf != NULL ? t->spf->result : SPF_NONE;
	in.spf_domain = t->spf != NULL ? t->spf->domain : NULL;
	in.dkim_domains = (const char *const *)t->dkim_pass.v;
	in.n_dkim = t->dkim_pass.n;
	t->dmarc = dmarc_check_start(srv->base, srv->resolver, srv->psl, &in,
	    dmarc_cb, s);
}

static void
auth_one_done(struct session *s)
{
	struct txn *t = s->txn;

	if (--t->auth_pending > 0)
		return;
	auth_dmarc(s);
}

static void
dkim_cb(struct dkim_verify *v, void *arg)
{
	struct session *s = arg;

	auth_one_done(s);
	session_process(s);
}

static bool
spf_wanted(struct session *s, struct spf_request *req)
{
	struct smtpd_check_ctx ctx;

	if (s->txn->sender.is_null && (s->helo == NULL || s->helo[0] == '['))
		return false;
	fill_ctx(s, &ctx, NULL);
	smtpd_check_spf_request(s->srv->check, &ctx, req);
	return true;
}

static void
spf_cb(void *arg)
{
	struct session *s = arg;
	struct spf_request req;

	if (spf_wanted(s, &req) && smtpd_dnsfact_spf(s->dns, &req,
	    &s->txn->spf) == 0)
		s->txn->spf = NULL;
	auth_one_done(s);
	session_process(s);
}

static void
auth_start(struct session *s)
{
	struct txn *t = s->txn;
	struct spf_request req;

	s->busy |= BUSY_CHECK;
	t->auth_pending = 1;
	if (t->dkim != NULL) {
		dkim_verify_end(t->dkim);
		if (dkim_verify_lookup(t->dkim, s->srv->resolver, dkim_cb,
		    s) == 1)
			t->auth_pending++;
	}
	/* The SPF outcome of check_spf, or a check of its own now. */
	if (spf_wanted(s, &req) && smtpd_dnsfact_spf(s->dns, &req,
	    &t->spf) == 0) {
		t->spf = NULL;
		if (smtpd_dnsfact_resolve(s->dns, spf_cb, s) == 1)
			t->auth_pending++;
	}
	auth_one_done(s);
}

/* Append "; METHOD-RESULT" folded onto a new line. */
static void
ar_part(struct buf *ar, const char *part)
{
	buf_append_str(ar, ";\r\n\t");
	buf_append_str(ar, part);
}

/* The verdicts are in: queue the message with its headers, or refuse. */
static void
auth_finish(struct session *s, struct dmarc_outcome *o)
{
	struct smtpd_server *srv = s->srv;
	struct txn *t = s->txn;
	struct buf hdr, part;
	struct evbuffer *out, *all;
	struct forged forged = { 0 };
	const char *p, *hold = NULL, *error;
	size_t len, body, pos = 0, total;
	int verb = t->end_verb;

	s->busy &= ~BUSY_CHECK;
	buf_init(&hdr, 0);
	buf_init(&part, 0);
	if (t->spf != NULL) {
		buf_append_str(&hdr, "Received-SPF: ");
		spf_received_spf(t->spf, &hdr);
		buf_append_str(&hdr, "\r\n");
	}
	/* RFC 8601 2.2: authserv-id; then one resinfo per method. */
	buf_printf(&hdr, "Authentication-Results: %s", srv->myhostname);
	if (t->spf != NULL) {
		buf_reset(&part);
		spf_auth_results(t->spf, &part);
		ar_part(&hdr, part.data);
	}
	if (t->dkim != NULL) {
		size_t nr;
		const struct dkim_result *r = dkim_verify_results(t->dkim, &nr);

		if (nr == 0)
			ar_part(&hdr, "dkim=none");
		for (size_t i = 0; i < nr; i++) {
			buf_reset(&part);
			dkim_result_format(&r[i], &part);
			ar_part(&hdr, part.data);
		}
	}
	if (o != NULL) {
		buf_reset(&part);
		dmarc_auth_results(o, &part);
		ar_part(&hdr, part.data);
	}
	if (t->spf == NULL && t->dkim == NULL && o == NULL)
		buf_append_str(&hdr, "; none");
	buf_append_str(&hdr, "\r\n");

	if (o != NULL && o->have_record && srv->dmarc_report &&
	    t->from_domain != NULL) {
		struct dmarc_input in;

		memset(&in, 0, sizeof(in));
		in.from_domain = t->from_domain;
		in.spf_result = t->spf != NULL ? t->spf->result : SPF_NONE;
		in.spf_domain = t->spf != NULL ? t->spf->domain : NULL;
		in.dkim_domains = (const char *const *)t->dkim_pass.v;
		in.n_dkim = t->dkim_pass.n;
		if (dmarc_report_append(srv->data_directory, o, &in, s->addr,
		    time(NULL), &error) < 0)
			log_warning("dmarc report data: %s", error);
	}
	if (o != NULL && srv->dmarc_enforce && o->disposition ==
	    DMARC_POLICY_REJECT) {
		/* As OpenDMARC's RejectFailures. */
		buf_reset(&part);
		buf_printf(&part, "550 5.7.1 Rejected by DMARC policy for %s",
		    o->from_domain != NULL ? o->from_domain : "");
		log_reject(s, "END-OF-MESSAGE", part.data, NULL);
		respond(s, verb, "%s", part.data);
		txn_free(s);
		goto done;
	}
	if (o != NULL && srv->dmarc_enforce && o->disposition ==
	    DMARC_POLICY_QUARANTINE)
		hold = "DMARC quarantine policy";
	if (s->cl == NULL || !t->opened) {
		respond(s, verb, "%s", temp_reply(NULL));
		txn_free(s);
		goto done;
	}

	/* Our headers, then the message without forged results. */
	all = evbuffer_new();
	if (all == NULL)
		log_fatal("out of memory");
	evbuffer_add(all, hdr.data, hdr.len);
	len = evbuffer_get_length(t->chunk);
	p = (const char *)evbuffer_pullup(t->chunk, -1);
	forged.host = srv->myhostname;
	(void)header_parse_message(p, len, 0, collect_forged, &forged, &body,
	    &error);
	for (size_t i = 0; i < forged.n; i++) {
		evbuffer_add(all, p + pos, forged.at[i].offset - pos);
		pos = forged.at[i].offset + forged.at[i].length;
		log_info("%s: removed an Authentication-Results: header with "
		    "our authserv-id %s (RFC 8601 5)", t->queue_id,
		    srv->myhostname);
	}
	free(forged.at);
	evbuffer_add(all, p + pos, len - pos);
	evbuffer_drain(t->chunk, len);
	total = evbuffer_get_length(all);
	out = bufferevent_get_output(s->cl);
	while (evbuffer_get_length(all) > 0) {
		size_t k = evbuffer_get_length(all);

		if (k > CHUNK_SIZE)
			k = CHUNK_SIZE;
		evbuffer_add_printf(out, "request=data\nlength=%zu\n\n", k);
		evbuffer_remove_buffer(all, out, k);
	}
	evbuffer_free(all);
	t->sent += total;
	t->end_hold = hold;
	cl_wait_for(s, CL_END);
	if (t->spool_fd >= 0) {
		t->pumping = true;
		spool_pump(s);
	} else
		held_end(s);
done:
	buf_release(&hdr);
	buf_release(&part);
}

static int
header_ignore(void *ctx, const struct header_field *f)
{
	return 0;
}

/*
 * Does the part of the held message kept in memory hold its whole header?
 * The end-of-data checks see only that part (the DMARC From:, forged
 * Authentication-Results fields), and cleanup limits each field, not the
 * header.  Only complete lines count: a cut line might still turn out to
 * be a field.
 */
static bool
held_header_complete(struct txn *t)
{
	size_t len = evbuffer_get_length(t->chunk), end, body;
	const char *p, *nl, *error;

	if (len == 0)
		return false;
	p = (const char *)evbuffer_pullup(t->chunk, -1);
	if ((nl = memrchr(p, '\n', len)) == NULL)
		return false;
	end = (size_t)(nl - p) + 1;
	(void)header_parse_message(p, end, 0, header_ignore, NULL, &body,
	    &error);
	if (body < end)
		return true;
	/* Or the empty line that ends it is the last line. */
	return end == 1 || p[end - 2] == '\n' || (p[end - 2] == '\r' &&
	    (end == 2 || p[end - 3] == '\n'));
}

/* The whole message is read: queue it, or give the reply it earned. */
static void
data_end(struct session *s, int verb)
{
	struct txn *t = s->txn;

	s->state = S_CMD;
	s->phase = "END-OF-MESSAGE";
	if (t->fail_reply == NULL && t->auth && t->spool_fd >= 0 &&
	    !held_header_complete(t))
		content_fail(t, "552 5.3.4 Message header too large for the "
		    "end-of-data checks");
	if (t->fail_reply == NULL)
		data_flush(s);
	if (t->fail_reply == NULL && (s->cl == NULL || !t->opened))
		content_fail(t, temp_reply(NULL));
	if (t->fail_reply != NULL) {
		char *reply = xstrdup(t->fail_reply);

		log_reject(s, "END-OF-MESSAGE", reply, NULL);
		respond(s, verb, "%s", reply);
		free(reply);
		txn_free(s);
		return;
	}
	if (t->auth) {
		t->end_verb = verb;
		auth_start(s);
		return;
	}
	evbuffer_add_printf(bufferevent_get_output(s->cl),
	    "request=end\ncontent_length=%llu\n\n",
	    (unsigned long long)t->sent);
	cl_wait_for(s, CL_END);
}

/* Feed what the input holds to the decoder; true when something happened. */
static bool
data_step(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v[8];
	size_t used = 0;
	bool done = false;
	int n;

	if (evbuffer_get_length(in) == 0)
		return false;
	n = evbuffer_peek(in, -1, NULL, v, 8);
	if (n > 8)
		n = 8;
	for (int i = 0; i < n && !done; i++) {
		used += smtpd_data_feed(&s->txn->dec, v[i].iov_base,
		    v[i].iov_len, &done);
		data_check(s);
	}
	evbuffer_drain(in, used);
	if (done)
		data_end(s, SMTP_VERB_DATA);
	return true;
}

static bool
bdat_step(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct txn *t = s->txn;

	while (s->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v[8];
		int n = evbuffer_peek(in, -1, NULL, v, 8);
		size_t used = 0;

		if (n > 8)
			n = 8;
		for (int i = 0; i < n && s->bdat_left > 0; i++) {
			size_t len = v[i].iov_len;
			bool done;

			if (len > s->bdat_left)
				len = (size_t)s->bdat_left;
			if (s->bdat_err == NULL) {
				smtpd_data_feed(&t->dec, v[i].iov_base, len,
				    &done);
				data_check(s);
			}
			used += len;
			s->bdat_left -= len;
		}
		evbuffer_drain(in, used);
	}
	if (s->bdat_left > 0)
		return false;
	/* The chunk is complete. */
	s->state = S_CMD;
	if (s->bdat_err != NULL) {
		respond(s, SMTP_VERB_BDAT, "%s", s->bdat_err);
		free(s->bdat_err);
		s->bdat_err = NULL;
		return true;
	}
	if (s->bdat_last) {
		smtpd_data_finish(&t->dec);
		data_check(s);
		data_end(s, SMTP_VERB_BDAT);
		return true;
	}
	if (t->fail_reply != NULL)
		respond(s, SMTP_VERB_BDAT, "%s", t->fail_reply);
	else
		respond(s, SMTP_VERB_BDAT, "250 2.0.0 Ok: %llu bytes",
		    (unsigned long long)t->dec.out_bytes);
	return true;
}

/* Commands. */

static bool
starttls_offered(const struct session *s)
{
	const struct smtpd_server *srv = s->srv;

	return srv->tls != NULL && srv->tls_level != SMTPD_TLS_NONE &&
	    !srv->tls_wrapper && !s->tls && srv->ehlo_starttls;
}

/* RFC 4954 + smtpd_tls_auth_only: AUTH only inside TLS by default. */
static bool
auth_offered(const struct session *s)
{
	const struct smtpd_server *srv = s->srv;

	return srv->auth != NULL && srv->ehlo_auth &&
	    (s->tls || !srv->tls_auth_only);
}

/* smtpd_tls_security_level = encrypt and no TLS yet. */
static bool
tls_required(const struct session *s)
{
	return s->srv->tls_level == SMTPD_TLS_ENCRYPT && !s->tls;
}

static void
do_ehlo(struct session *s, struct smtp_cmd *cmd)
{
	struct smtpd_server *srv = s->srv;
	struct smtpd_check_ctx ctx;
	struct strlist kw;

	txn_free(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (!smtpd_check_delay_reject(srv->check)) {
		int r;

		fill_ctx(s, &ctx, NULL);
		r = smtpd_check_list(srv->check, SMTPD_CHECK_HELO, &ctx,
		    &srv->scratch);
		if (r > 0) {
			free(s->helo);
			s->helo = NULL;
			defer_for_dns(s);
			return;
		}
		if (r < 0) {
			char *reply = xstrdup(srv->scratch.data);

			log_reject(s, cmd->name, reply, NULL);
			respond(s, (int)cmd->verb, "%s", reply);
			free(reply);
			free(s->helo);
			s->helo = NULL;
			return;
		}
	}
	if (cmd->verb == SMTP_VERB_HELO) {
		respond(s, SMTP_VERB_HELO, "250 %s", srv->myhostname);
		return;
	}
	strlist_init(&kw);
	if (srv->ehlo_pipelining)
		strlist_add(&kw, "PIPELINING");
	if (srv->ehlo_size) {
		if (srv->message_size_limit > 0) {
			char n[32];

			snprintf(n, sizeof(n), "SIZE %llu",
			    (unsigned long long)srv->message_size_limit);
			strlist_add(&kw, n);
		} else {
			strlist_add(&kw, "SIZE");
		}
	}
	if (srv->ehlo_vrfy)
		strlist_add(&kw, "VRFY");
	if (starttls_offered(s))
		strlist_add(&kw, "STARTTLS");
	if (auth_offered(s)) {
		char a[64];

		snprintf(a, sizeof(a), "AUTH %s", smtpd_auth_mechanisms());
		strlist_add(&kw, a);
	}
	if (srv->ehlo_enhanced)
		strlist_add(&kw, "ENHANCEDSTATUSCODES");
	if (srv->ehlo_8bitmime)
		strlist_add(&kw, "8BITMIME");
	if (srv->ehlo_dsn)
		strlist_add(&kw, "DSN");
	if (srv->ehlo_smtputf8)
		strlist_add(&kw, "SMTPUTF8");
	if (srv->ehlo_chunking)
		strlist_add(&kw, "CHUNKING");
	{
		struct buf line;

		/* RFC 5321 4.2.1: "250-" on every line but the last. */
		buf_init(&line, 0);
		strlist_add(&kw, "");	/* a sentinel: kw.n >= 1 below */
		buf_printf(&line, "%s", srv->myhostname);
		for (size_t i = 0; i + 1 < kw.n; i++) {
			char *text = buf_detach(&line, NULL);

			buf_printf(&line, "250-%s", text);
			free(text);
			out_text(s, line.data, line.len);
			buf_reset(&line);
			buf_append_str(&line, kw.v[i]);
		}
		respond(s, SMTP_VERB_EHLO, "250 %s", line.data);
		buf_release(&line);
	}
	strlist_release(&kw);
}

static void
do_mail(struct session *s, struct smtp_cmd *cmd)
{
	struct smtpd_server *srv = s->srv;
	struct smtpd_check_ctx ctx;
	struct txn *t;
	unsigned long n;
	int r;

	if (srv->helo_required && s->helo == NULL) {
		respond(s, SMTP_VERB_MAIL, "503 5.5.1 Error: send HELO/EHLO "
		    "first");
		return;
	}
	if (s->txn != NULL) {
		respond(s, SMTP_VERB_MAIL, "503 5.5.1 Error: nested MAIL "
		    "command");
		return;
	}
	/* Counted whether or not the MAIL is accepted, as in Postfix. */
	if (!s->resuming && rate_over(s, SMTPD_RATE_MAIL, srv->msg_rate_limit,
	    &n)) {
		respond(s, SMTP_VERB_MAIL, "450 4.7.1 Error: too much mail "
		    "from %s", s->addr);
		log_warning("Message delivery request rate limit exceeded: "
		    "%lu from %s[%s] for service %s", n, s->name, s->addr,
		    srv->service);
		return;
	}
	if (cmd->smtputf8 && !srv->smtputf8) {
		respond(s, SMTP_VERB_MAIL, "555 5.5.4 Unsupported option: "
		    "SMTPUTF8");
		return;
	}
	if (cmd->body == SMTP_BODY_BINARYMIME) {
		respond(s, SMTP_VERB_MAIL, "555 5.5.4 Unsupported option: "
		    "BODY=BINARYMIME");
		return;
	}
	if (cmd->has_size && srv->message_size_limit > 0 &&
	    cmd->size > srv->message_size_limit) {
		respond(s, SMTP_VERB_MAIL, "552 5.3.4 Message size exceeds "
		    "fixed limit");
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->spool_fd = -1;
	t->sender = cmd->path;
	t->body = cmd->body;
	t->smtputf8 = cmd->smtputf8;
	t->ret = cmd->ret;
	t->envid = cmd->envid != NULL ? xstrdup(cmd->envid) : NULL;
	buf_init(&t->pending, 0);
	strlist_init(&t->dkim_pass);
	s->txn = t;
	fill_ctx(s, &ctx, NULL);
	r = smtpd_check_mail(srv->check, &ctx, &srv->scratch);
	if (r > 0) {
		txn_free(s);
		defer_for_dns(s);
		return;
	}
	if (r < 0) {
		char *reply = xstrdup(srv->scratch.data);

		log_reject(s, "MAIL", reply, NULL);
		txn_free(s);
		respond(s, SMTP_VERB_MAIL, "%s", reply);
		free(reply);
		return;
	}
	respond(s, SMTP_VERB_MAIL, "250 2.1.0 Ok");
}

static void
do_rcpt(struct session *s, struct smtp_cmd *cmd)
{
	struct smtpd_server *srv = s->srv;
	struct smtpd_check_ctx ctx;
	struct txn *t = s->txn;
	struct buf to, *req;
	const char *error = NULL;
	unsigned long rate;
	int r = 0;

	if (t == NULL) {
		respond(s, SMTP_VERB_RCPT, "503 5.5.1 Error: need MAIL "
		    "command");
		return;
	}
	if (!s->resuming && rate_over(s, SMTPD_RATE_RCPT, srv->rcpt_rate_limit,
	    &rate)) {
		log_warning("Recipient address rate limit exceeded: %lu from "
		    "%s[%s] for service %s", rate, s->name, s->addr,
		    srv->service);
		respond(s, SMTP_VERB_RCPT, "450 4.7.1 Error: too many "
		    "recipients from %s", s->addr);
		return;
	}
	if (!s->resuming)
		t->rcpt_tried++;
	if (srv->recipient_limit > 0 && t->rcpt_ok >= srv->recipient_limit) {
		respond(s, SMTP_VERB_RCPT, "452 4.5.3 Error: too many "
		    "recipients");
		return;
	}
	buf_init(&to, 0);
	smtp_addr_externalize(cmd->path.addr, &to);
	fill_ctx(s, &ctx, &cmd->path);
	r = smtpd_check_rcpt(srv->check, &ctx, &srv->scratch);
	if (r > 0) {
		buf_release(&to);
		defer_for_dns(s);
		return;
	}
	if (r < 0) {
		char *reply = xstrdup(srv->scratch.data);

		log_reject(s, "RCPT", reply, to.data);
		respond(s, SMTP_VERB_RCPT, "%s", reply);
		free(reply);
		buf_release(&to);
		return;
	}
	buf_release(&to);

	req = &t->pending;
	buf_reset(req);
	r |= attr_encode(req, "request", "rcpt", &error);
	r |= attr_encode(req, "address", cmd->path.addr, &error);
	if (cmd->orcpt != NULL) {
		struct buf o;

		buf_init(&o, 0);
		buf_printf(&o, "%s;%s", cmd->orcpt_type != NULL ?
		    cmd->orcpt_type : "rfc822", cmd->orcpt);
		r |= attr_encode(req, "orcpt", o.data, &error);
		buf_release(&o);
	}
	if (cmd->notify != 0) {
		struct buf n;

		buf_init(&n, 0);
		if (cmd->notify & SMTP_NOTIFY_NEVER)
			buf_append_str(&n, "never");
		if (cmd->notify & SMTP_NOTIFY_SUCCESS)
			buf_append_str(&n, n.len ? ",success" : "success");
		if (cmd->notify & SMTP_NOTIFY_FAILURE)
			buf_append_str(&n, n.len ? ",failure" : "failure");
		if (cmd->notify & SMTP_NOTIFY_DELAY)
			buf_append_str(&n, n.len ? ",delay" : "delay");
		r |= attr_encode(req, "notify", n.data, &error);
		buf_release(&n);
	}
	r |= attr_encode_end(req);
	if (r != 0) {
		buf_reset(req);
		respond(s, SMTP_VERB_RCPT, "501 5.5.4 Error: recipient "
		    "parameters too long");
		return;
	}
	if (t->broken) {
		buf_reset(req);
		respond(s, SMTP_VERB_RCPT, "%s", temp_reply(NULL));
		return;
	}
	if (!t->opened) {
		/* The first recipient: cleanup opens the queue file now. */
		if (cl_open(s) < 0) {
			buf_reset(req);
			cl_drop(s);
			t->broken = false;
			respond(s, SMTP_VERB_RCPT, "%s", temp_reply(NULL));
		}
		return;
	}
	evbuffer_add(bufferevent_get_output(s->cl), req->data, req->len);
	buf_reset(req);
	t->rcpt_ok++;
	respond(s, SMTP_VERB_RCPT, "250 2.1.5 Ok");
}

/* Why DATA/BDAT cannot start now, or NULL. */
static const char *
content_refusal(struct session *s)
{
	struct txn *t = s->txn;

	if (t == NULL)
		return "503 5.5.1 Error: need MAIL command";
	if (t->rcpt_ok == 0 && t->rcpt_tried == 0)
		return "503 5.5.1 Error: need RCPT command";
	if (t->rcpt_ok == 0)
		return "554 5.5.1 Error: no valid recipients";
	if (t->broken || !t->opened)
		return temp_reply(NULL);
	return NULL;
}

static void
content_start(struct session *s, enum smtpd_data_mode mode)
{
	struct txn *t = s->txn;

	struct smtpd_server *srv = s->srv;
	struct smtpd_check_ctx ctx;

	smtpd_data_init(&t->dec, mode, s->nl, data_emit, s);
	t->chunk = evbuffer_new();
	if (t->chunk == NULL)
		log_fatal("out of memory");
	/*
	 * Mail from outside (not mynetworks, not authenticated) is checked
	 * at its end: DKIM, SPF for the record, DMARC.
	 */
	fill_ctx(s, &ctx, NULL);
	if (s->dns == NULL || smtpd_check_trusted(srv->check, &ctx) ||
	    (!srv->dkim_verify && srv->psl == NULL))
		return;
	t->auth = true;
	if (srv->dkim_verify) {
		struct dkim_verify_params vp;

		memset(&vp, 0, sizeof(vp));
		vp.max_signatures = (size_t)srv->dkim_sig_limit;
		t->dkim = dkim_verify_new(&vp);
	}
}

static void
do_data(struct session *s, struct smtp_cmd *cmd)
{
	const char *no = content_refusal(s);

	if (no == NULL && s->txn->used_bdat)
		no = "503 5.5.1 Error: DATA after BDAT";
	if (no != NULL) {
		if (s->txn != NULL && s->txn->rcpt_ok > 0)
			log_reject(s, "DATA", no, NULL);
		respond(s, SMTP_VERB_DATA, "%s", no);
		return;
	}
	s->txn->used_data = true;
	content_start(s, SMTPD_DATA_DOT);
	s->state = S_DATA;
	/* RFC 5321 4.2: an intermediate reply; counted with the final one. */
	out_text(s, "354 End data with <CR><LF>.<CR><LF>", 35);
}

static void
do_bdat(struct session *s, struct smtp_cmd *cmd)
{
	const char *no = tls_required(s) ? "530 5.7.0 Must issue a STARTTLS "
	    "command first" : content_refusal(s);

	if (no == NULL && s->txn->used_data)
		no = "503 5.5.1 Error: BDAT after DATA";
	s->bdat_left = cmd->chunk_size;
	s->bdat_last = cmd->last;
	s->state = S_BDAT;
	free(s->bdat_err);
	s->bdat_err = NULL;
	if (no != NULL) {
		/* RFC 3030 2: the chunk is read (and dropped) all the same. */
		s->bdat_err = xstrdup(no);
		return;
	}
	if (!s->txn->used_bdat) {
		s->txn->used_bdat = true;
		content_start(s, SMTPD_DATA_RAW);
	}
}

static void
junk(struct session *s)
{
	if (++s->junk > s->srv->junk_command_limit &&
	    s->srv->junk_command_limit > 0)
		s->errors++;
}

static void
do_vrfy(struct session *s, struct smtp_cmd *cmd)
{
	struct smtpd_server *srv = s->srv;
	struct smtp_addr a;
	const struct smtp_status *st;
	const char *reason, *arg = cmd->arg != NULL ? cmd->arg : "";
	struct smtpd_check_ctx ctx;
	struct buf ext;

	junk(s);
	if (srv->vrfy_disabled) {
		respond(s, SMTP_VERB_VRFY, "502 5.5.1 VRFY command is "
		    "disabled");
		return;
	}
	if (smtp_addr_parse_path(arg, strlen(arg), SMTP_ADDR_LENIENT |
	    SMTP_ADDR_NODOMAIN | (srv->smtputf8 ? SMTP_ADDR_SMTPUTF8 : 0),
	    &a, &st, &reason) < 0 || a.is_null) {
		respond(s, SMTP_VERB_VRFY, "501 5.1.3 Bad recipient address "
		    "syntax");
		return;
	}
	fill_ctx(s, &ctx, &a);
	if (smtpd_check_local_recipient(srv->check, &ctx, &a, NULL,
	    &srv->scratch) < 0) {
		char *reply = xstrdup(srv->scratch.data);

		respond(s, SMTP_VERB_VRFY, "%s", reply);
		free(reply);
		return;
	}
	buf_init(&ext, 0);
	smtp_addr_externalize(a.addr, &ext);
	respond(s, SMTP_VERB_VRFY, "252 2.0.0 <%s>: Cannot VRFY user, but "
	    "will accept message", ext.data);
	buf_release(&ext);
}

/*
 * Forget everything the client said before TLS (RFC 3207 4.2): the
 * hello, the transaction, a login.
 */
static void
session_reset_for_tls(struct session *s)
{
	txn_free(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	free(s->sasl_user);
	s->sasl_user = NULL;
	s->sasl_method = NULL;
	s->in_auth = false;
	smtpd_auth_exchange_release(&s->ax);
}

/* A new server SSL object; smtpd cannot go on without one. */
static SSL *
tls_ssl(struct smtpd_server *srv)
{
	SSL *ssl = tls_server_ssl_new(srv->tls);

	if (ssl == NULL)
		log_fatal("SSL_new: %s", tls_server_error());
	return ssl;
}

/* OpenSSL's error code E (0: none) as text for the log. */
static const char *
tls_error_text(unsigned long e)
{
	char text[256];

	if (e == 0)
		return "lost connection";
	ERR_error_string_n(e, text, sizeof(text));
	return err_fmt("%s", text);
}

/* The handshake is done: TLS is on. */
static void
tls_established(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	struct timeval tv = { (time_t)srv->timeout, 0 };
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	unsigned long n;

	s->tls = true;
	s->tls_phase = TLS_OFF;
	s->busy &= ~BUSY_TLS;
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	buf_reset(&srv->scratch);
	tls_server_describe(ssl, &srv->scratch);
	log_info("Anonymous TLS connection established from %s[%s]: %s%s",
	    s->name, s->addr, srv->scratch.data, SSL_session_reused(ssl) ?
	    " (session resumed)" : "");
	/*
	 * As Postfix: a new session is counted once it exists (the CPU is
	 * spent by then; the limit really bites at the next STARTTLS or
	 * wrapper-mode connection, which are refused before a handshake).
	 */
	if (!SSL_session_reused(ssl) && rate_over(s, SMTPD_RATE_NEWTLS,
	    srv->newtls_rate_limit, &n)) {
		log_warning("New TLS session rate limit exceeded: %lu from "
		    "%s[%s] for service %s", n, s->name, s->addr, srv->service);
		s->banner_pending = false;
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "421 4.7.0 %s Error: too many new TLS sessions from "
		    "%s[%s]\r\n", srv->myhostname, s->name, s->addr);
		session_close(s);
		return;
	}
	if (s->banner_pending) {
		s->banner_pending = false;
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "220 %s\r\n", srv->banner);
	}
}

/*
 * Replace the plain bufferevent by a TLS one on the same socket and start
 * the server handshake.  Whatever the client sent after STARTTLS in
 * plain text is gone (CVE-2011-0411): the input was emptied when the 220
 * was queued, and bytes still in the kernel are read by SSL_accept as
 * (bad) handshake data.
 */
static void
tls_switch(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	struct timeval tv = { (time_t)srv->starttls_timeout, 0 };
	struct bufferevent *nb;
	evutil_socket_t fd = bufferevent_getfd(s->bev);
	struct evbuffer *in = bufferevent_get_input(s->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	/* The old bufferevent must not close the socket it leaves behind. */
	bufferevent_setfd(s->bev, -1);
	bufferevent_free(s->bev);
	nb = bufferevent_openssl_socket_new(srv->base, fd,
	    tls_ssl(srv), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (nb == NULL)
		log_fatal("bufferevent_openssl_socket_new failed");
	/* A client that just closes the socket has not attacked anyone. */
	bufferevent_openssl_set_allow_dirty_shutdown(nb, 1);
	s->bev = nb;
	s->tls_phase = TLS_HANDSHAKE;
	bufferevent_setcb(nb, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(nb, EV_READ, 0, SESSION_READ_HIGH);
	bufferevent_set_timeouts(nb, &tv, &tv);
	bufferevent_enable(nb, EV_READ | EV_WRITE);
}

static void
do_starttls(struct session *s, struct smtp_cmd *cmd)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk;

	if (!starttls_offered(s) && !s->tls) {
		respond(s, SMTP_VERB_STARTTLS, "502 5.5.1 Error: command not "
		    "implemented");
		return;
	}
	if (s->tls) {
		respond(s, SMTP_VERB_STARTTLS, "554 5.5.1 Error: TLS already "
		    "active");
		return;
	}
	if (s->txn != NULL) {
		respond(s, SMTP_VERB_STARTTLS, "503 5.5.1 Error: MAIL "
		    "transaction in progress");
		return;
	}
	if (rate_stat_over(s, SMTPD_RATE_NEWTLS, s->srv->newtls_rate_limit)) {
		log_warning("Refusing STARTTLS request from %s[%s] for service "
		    "%s", s->name, s->addr, s->srv->service);
		respond(s, SMTP_VERB_STARTTLS, "454 4.7.0 Error: too many new "
		    "TLS sessions from %s[%s]", s->name, s->addr);
		return;
	}
	/*
	 * RFC 3207 4.2, CVE-2011-0411: nothing the client sent after
	 * STARTTLS in the same packet may be taken as a command after the
	 * handshake.  Drop it now, before the 220 leaves.
	 */
	junk = evbuffer_get_length(in);
	if (junk > 0) {
		char next[101];
		ev_ssize_t got = evbuffer_copyout(in, next, sizeof(next) - 1);

		buf_reset(&s->srv->scratch);
		log_info("improper command pipelining after STARTTLS from "
		    "%s[%s]: %s", s->name, s->addr, log_escape(&s->srv->scratch,
		    next, got > 0 ? (size_t)got : 0));
		evbuffer_drain(in, junk);
	}
	s->skipping = false;
	session_reset_for_tls(s);
	count_verb(s, SMTP_VERB_STARTTLS, false);
	/* Straight out, never delayed: the switch waits for it. */
	evbuffer_add(bufferevent_get_output(s->bev),
	    "220 2.0.0 Ready to start TLS\r\n", 30);
	s->tls_phase = TLS_FLUSH;
	s->busy |= BUSY_TLS;
	bufferevent_disable(s->bev, EV_READ);
}

static void auth_result(struct session *s, enum smtpd_auth_result res,
    const struct buf *reply);

/* The password check of the worker thread is done. */
static void
auth_checked(void *ctx, enum smtpd_auth_result res)
{
	struct session *s = ctx;

	s->auth_job = NULL;
	s->busy &= ~BUSY_AUTH;
	auth_result(s, res, NULL);
	session_process(s);
}

/* The outcome of an AUTH exchange step (REPLY: the challenge). */
static void
auth_result(struct session *s, enum smtpd_auth_result res,
    const struct buf *reply)
{
	struct smtpd_server *srv = s->srv;
	const char *mech = smtpd_auth_mech_name(s->ax.mech);
	unsigned n;
	struct buf e;

	s->in_auth = res == SMTPD_AUTH_CHALLENGE;
	switch (res) {
	case SMTPD_AUTH_CHALLENGE:
		/* Not counted: only the exchange's final reply is. */
		respond(s, -1, "334 %s", reply->data);
		return;
	case SMTPD_AUTH_CHECK:
		/* The hash is slow on purpose: not in the event loop. */
		s->auth_job = smtpd_auth_check(srv->auth, &s->ax, srv->base,
		    auth_checked, s);
		if (s->auth_job == NULL) {
			auth_result(s, SMTPD_AUTH_TEMPFAIL, NULL);
			return;
		}
		s->busy |= BUSY_AUTH;
		return;
	case SMTPD_AUTH_OK:
		s->sasl_user = xstrdup(s->ax.user);
		s->sasl_method = mech;
		respond(s, SMTP_VERB_AUTH, "235 2.7.0 Authentication "
		    "successful");
		break;
	case SMTPD_AUTH_FAILED:
		n = smtpd_auth_fail_count(srv->auth, s->addr, time(NULL));
		buf_init(&e, 0);
		if (s->ax.user != NULL && s->ax.user[0] != '\0')
			log_warning("%s[%s]: SASL %s authentication failed: "
			    "authentication failure, sasl_username=%s",
			    s->name, s->addr, mech, log_escape(&e, s->ax.user,
			    strlen(s->ax.user)));
		else
			log_warning("%s[%s]: SASL %s authentication failed: "
			    "authentication failure", s->name, s->addr, mech);
		buf_release(&e);
		/* On a timer: other sessions go on meanwhile. */
		delay_replies(s, smtpd_auth_delay_ms(srv->auth, n));
		respond(s, SMTP_VERB_AUTH, "535 5.7.8 Error: authentication "
		    "failed: authentication failure");
		if (smtpd_auth_over_limit(srv->auth, n) && !s->closing) {
			log_warning("too many failed logins from %s[%s]: %u",
			    s->name, s->addr, n);
			respond(s, -1, "421 4.7.0 %s Error: too many failed "
			    "authentications", srv->myhostname);
			session_close(s);
		}
		break;
	case SMTPD_AUTH_ABORTED:
		respond(s, SMTP_VERB_AUTH, "501 5.7.0 Authentication aborted");
		break;
	case SMTPD_AUTH_BAD_BASE64:
		respond(s, SMTP_VERB_AUTH, "501 5.5.2 Cannot decode response");
		break;
	case SMTPD_AUTH_TEMPFAIL:
		respond(s, SMTP_VERB_AUTH, "454 4.7.0 Temporary authentication "
		    "failure");
		break;
	case SMTPD_AUTH_BAD_MECH:
		respond(s, SMTP_VERB_AUTH, "504 5.5.4 Unrecognized "
		    "authentication type");
		break;
	}
	smtpd_auth_exchange_release(&s->ax);
}

static void
do_auth(struct session *s, struct smtp_cmd *cmd)
{
	struct smtpd_server *srv = s->srv;
	struct buf reply;
	unsigned long n;

	/* Every AUTH command counts, accepted or not, as in Postfix. */
	if (rate_over(s, SMTPD_RATE_AUTH, srv->auth_rate_limit, &n)) {
		log_warning("AUTH command rate limit exceeded: %lu from %s[%s] "
		    "for service %s", n, s->name, s->addr, srv->service);
		respond(s, SMTP_VERB_AUTH, "450 4.7.1 Error: too many AUTH "
		    "commands from %s", s->addr);
		return;
	}
	if (!auth_offered(s)) {
		respond(s, SMTP_VERB_AUTH, "503 5.5.1 Error: authentication "
		    "not enabled");
		return;
	}
	if (!s->esmtp) {
		respond(s, SMTP_VERB_AUTH, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->sasl_user != NULL) {
		respond(s, SMTP_VERB_AUTH, "503 5.5.1 Error: already "
		    "authenticated");
		return;
	}
	if (s->txn != NULL) {
		respond(s, SMTP_VERB_AUTH, "503 5.5.1 Error: MAIL transaction "
		    "in progress");
		return;
	}
	if (smtpd_auth_over_limit(srv->auth, smtpd_auth_failures(srv->auth,
	    s->addr, time(NULL)))) {
		log_warning("too many failed logins from %s[%s]", s->name,
		    s->addr);
		respond(s, SMTP_VERB_AUTH, "421 4.7.0 %s Error: too many "
		    "failed authentications", srv->myhostname);
		session_close(s);
		return;
	}
	buf_init(&reply, 0);
	auth_result(s, smtpd_auth_start(srv->auth, &s->ax, cmd->auth_mech,
	    cmd->auth_initial, &reply), &reply);
	buf_release(&reply);
}

/* A line of an AUTH exchange (RFC 4954 4): a response, or "*". */
static void
auth_line(struct session *s, const char *line, size_t len)
{
	struct buf reply;

	s->phase = "AUTH";
	if (memchr(line, '\0', len) != NULL) {
		s->in_auth = false;
		smtpd_auth_exchange_release(&s->ax);
		respond(s, SMTP_VERB_AUTH, "501 5.5.2 Cannot decode response");
		return;
	}
	buf_init(&reply, 0);
	auth_result(s, smtpd_auth_step(s->srv->auth, &s->ax, line, &reply),
	    &reply);
	buf_release(&reply);
}

static void
handle_line(struct session *s, const char *line, size_t len)
{
	struct smtpd_server *srv = s->srv;
	struct smtp_cmd cmd;
	const struct smtp_status *st;
	const char *reason;
	unsigned flags = 0;

	s->cur_line = line;
	s->cur_len = len;
	if (!srv->strict_rfc821)
		flags |= SMTP_CMD_LENIENT;
	if (s->txn != NULL && s->txn->smtputf8)
		flags |= SMTP_CMD_SMTPUTF8;
	if (smtp_cmd_parse(line, len, flags, &cmd, &st, &reason) < 0) {
		s->phase = cmd.verb != SMTP_VERB_NONE ?
		    smtp_verb_name(cmd.verb) : "UNKNOWN";
		if (cmd.verb == SMTP_VERB_AUTH && tls_required(s))
			respond(s, SMTP_VERB_AUTH, "530 5.7.0 Must issue a "
			    "STARTTLS command first");
		else if (cmd.verb == SMTP_VERB_AUTH && auth_offered(s) &&
		    strcmp(reason, "bad initial response") == 0)
			respond(s, SMTP_VERB_AUTH, "501 5.5.2 Cannot decode "
			    "response");
		else if (cmd.verb == SMTP_VERB_RCPT && s->txn == NULL)
			respond(s, SMTP_VERB_RCPT, "503 5.5.1 Error: need "
			    "MAIL command");
		else
			respond(s, (int)cmd.verb, "%s", st->reply);
		smtp_cmd_release(&cmd);
		return;
	}
	s->phase = smtp_verb_name(cmd.verb);
	/*
	 * smtpd_tls_security_level = encrypt: only what leads to TLS (and
	 * QUIT, NOOP) before it, as Postfix.  BDAT's chunk is read first.
	 */
	if (tls_required(s) && cmd.verb != SMTP_VERB_EHLO &&
	    cmd.verb != SMTP_VERB_HELO && cmd.verb != SMTP_VERB_STARTTLS &&
	    cmd.verb != SMTP_VERB_NOOP && cmd.verb != SMTP_VERB_QUIT &&
	    cmd.verb != SMTP_VERB_BDAT) {
		respond(s, (int)cmd.verb, "530 5.7.0 Must issue a STARTTLS "
		    "command first");
		smtp_cmd_release(&cmd);
		return;
	}
	switch (cmd.verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		do_ehlo(s, &cmd);
		break;
	case SMTP_VERB_MAIL:
		do_mail(s, &cmd);
		break;
	case SMTP_VERB_RCPT:
		do_rcpt(s, &cmd);
		break;
	case SMTP_VERB_DATA:
		do_data(s, &cmd);
		break;
	case SMTP_VERB_BDAT:
		do_bdat(s, &cmd);
		break;
	case SMTP_VERB_RSET:
		junk(s);
		txn_free(s);
		respond(s, SMTP_VERB_RSET, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_NOOP:
		junk(s);
		respond(s, SMTP_VERB_NOOP, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_QUIT:
		respond(s, SMTP_VERB_QUIT, "221 2.0.0 Bye");
		s->quit = true;
		session_close(s);
		break;
	case SMTP_VERB_VRFY:
		do_vrfy(s, &cmd);
		break;
	case SMTP_VERB_HELP:
		junk(s);
		respond(s, SMTP_VERB_HELP, "214 2.0.0 Commands: EHLO HELO "
		    "STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY "
		    "HELP");
		break;
	case SMTP_VERB_STARTTLS:
		do_starttls(s, &cmd);
		break;
	case SMTP_VERB_AUTH:
		do_auth(s, &cmd);
		break;
	default:
		respond(s, (int)cmd.verb, "502 5.5.2 Error: command not "
		    "recognized");
		break;
	}
	smtp_cmd_release(&cmd);
}

/*
 * The longest line the input may hold now: RFC 4954 4 allows AUTH lines
 * (the command with its initial response, and the responses) 12288
 * octets; other commands get line_length_limit.
 */
static size_t
line_limit(struct session *s, struct evbuffer *in, bool *auth_r)
{
	char pre[5];
	size_t limit = s->srv->line_limit;

	*auth_r = s->in_auth;
	if (!*auth_r && s->srv->auth != NULL &&
	    evbuffer_copyout(in, pre, sizeof(pre)) == (ev_ssize_t)sizeof(pre) &&
	    str_ncasecmp(pre, "AUTH ", 5) == 0)
		*auth_r = true;
	if (*auth_r && limit < SMTPD_AUTH_LINE_MAX)
		limit = SMTPD_AUTH_LINE_MAX;
	return limit;
}

/* One command line from the input; false when none is complete yet. */
static bool
cmd_step(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol;
	size_t eol_len = 0, len, avail = evbuffer_get_length(in);
	static char *line;
	static size_t line_cap;
	bool bare_lf, auth;
	size_t limit;

	if (avail == 0)
		return false;
	limit = line_limit(s, in, &auth);
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (avail > limit) {
			/* Drop it as it comes; the reply follows at its end. */
			evbuffer_drain(in, avail);
			if (!s->skipping)
				s->skip_auth = auth;
			s->skipping = true;
		}
		return false;
	}
	len = (size_t)eol.pos;
	if (s->skipping || len > limit) {
		if (!s->skipping)
			s->skip_auth = auth;
		evbuffer_drain(in, len + 1);
		s->skipping = false;
		if (s->skip_auth) {
			/* RFC 4954 4: the exchange ends. */
			s->phase = "AUTH";
			s->in_auth = false;
			smtpd_auth_exchange_release(&s->ax);
			respond(s, SMTP_VERB_AUTH, "500 5.5.6 Authentication "
			    "Exchange line is too long");
			return true;
		}
		s->phase = "UNKNOWN";
		respond(s, SMTP_VERB_NONE, "500 5.5.2 Error: line too long");
		return true;
	}
	if (line_cap < limit + 2) {
		line_cap = limit + 2;
		line = xrealloc(line, line_cap);
	}
	evbuffer_remove(in, line, len + 1);
	bare_lf = len == 0 || line[len - 1] != '\r';
	if (!bare_lf)
		len--;
	line[len] = '\0';
	if (s->in_auth) {
		auth_line(s, line, len);
		return true;
	}
	if (bare_lf && s->nl == SMTPD_DATA_NL_REJECT) {
		s->phase = "UNKNOWN";
		respond(s, SMTP_VERB_NONE, "550 5.5.2 Error: bare <LF> "
		    "received");
		return true;
	}
	/*
	 * RFC 2920: without PIPELINING offered, a client must wait for each
	 * reply.  One that sends ahead after HELO (or before any hello) is a
	 * spam engine or an attack (smtpd_forbid_unauth_pipelining).  EHLO
	 * itself may be followed at once: ulak always offers PIPELINING.
	 */
	if (srv->forbid_unauth_pipelining && !s->esmtp &&
	    evbuffer_get_length(in) > 0 &&
	    !(len >= 4 && str_ncasecmp(line, "EHLO", 4) == 0 &&
	    (len == 4 || line[4] == ' '))) {
		char verb[16], next[101];
		size_t vl = strcspn(line, " ");
		ev_ssize_t got;
		struct buf e;

		if (vl >= sizeof(verb))
			vl = sizeof(verb) - 1;
		memcpy(verb, line, vl);
		verb[vl] = '\0';
		str_upper_ascii(verb);
		got = evbuffer_copyout(in, next, sizeof(next) - 1);
		if (got < 0)
			got = 0;
		buf_init(&e, 0);
		esc(&e, verb);
		buf_reset(&srv->scratch);
		log_info("improper command pipelining after %s from %s[%s]: "
		    "%s", e.data, s->name, s->addr,
		    log_escape(&srv->scratch, next, (size_t)got));
		buf_release(&e);
		s->phase = "UNKNOWN";
		respond(s, SMTP_VERB_NONE, "554 5.5.0 Error: SMTP protocol "
		    "synchronization");
		session_close(s);
		return true;
	}
	handle_line(s, line, len);
	return true;
}

static void session_free(struct session *s);

/* The DNS answers a command waited for are in: handle it again. */
static void
resume_cb(void *arg)
{
	struct session *s = arg;
	char *line = s->resume;
	size_t len = s->resume_len;

	s->busy &= ~BUSY_DNS;
	s->resume = NULL;
	if (line != NULL && !s->closing) {
		s->resuming = true;
		handle_line(s, line, len);
		s->resuming = false;
	}
	free(line);
	session_process(s);
}

/*
 * Handle everything the input holds, in order, unless the session waits
 * (for cleanup or an error delay).  May free S: callers return at once.
 */
static void
session_process(struct session *s)
{
	for (;;) {
		bool progress;

		if (s->busy != 0 || s->closing)
			break;
		switch (s->state) {
		case S_DATA:
			progress = data_step(s);
			break;
		case S_BDAT:
			progress = bdat_step(s);
			break;
		default:
			progress = cmd_step(s);
			break;
		}
		if (!progress)
			break;
	}
	if (s->closing && (s->busy & BUSY_SLEEP) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_free(s);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	s->busy &= ~BUSY_SLEEP;
	if (s->delayed != NULL) {
		evbuffer_add(bufferevent_get_output(s->bev), s->delayed->data,
		    s->delayed->len);
		buf_free(s->delayed);
		s->delayed = NULL;
	}
	session_process(s);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	session_process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->tls_phase == TLS_FLUSH && !s->closing) {
		/* The 220 is out: the handshake may begin. */
		tls_switch(s);
		return;
	}
	if (s->closing && (s->busy & BUSY_SLEEP) == 0)
		session_free(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (s->tls_phase == TLS_HANDSHAKE) {
		const char *why;

		if (what & BEV_EVENT_CONNECTED) {
			tls_established(s);
			session_process(s);
			return;
		}
		/* A handshake that fails or stalls ends the session. */
		why = (what & BEV_EVENT_TIMEOUT) ? "timeout" :
		    (what & BEV_EVENT_EOF) ? "lost connection" :
		    tls_error_text(bufferevent_get_openssl_error(bev));
		log_info("SSL_accept error from %s[%s]: %s", s->name, s->addr,
		    why);
		log_info("%s after %s from %s[%s]", (what & BEV_EVENT_TIMEOUT) ?
		    "timeout" : "lost connection", s->srv->tls_wrapper &&
		    !s->tls ? "CONNECT" : "STARTTLS", s->name, s->addr);
		session_free(s);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* The client has not read its replies for smtpd_timeout. */
		log_info("timeout after %s from %s[%s]", s->phase, s->name,
		    s->addr);
		session_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->busy != 0 && !s->closing) {
			/* Our own wait, not the client's: keep going. */
			bufferevent_enable(bev, EV_READ);
			return;
		}
		if (!s->closing) {
			char text[300];
			int n = snprintf(text, sizeof(text), "421 4.4.2 %s "
			    "Error: timeout exceeded", s->srv->myhostname);

			log_info("timeout after %s from %s[%s]", s->phase,
			    s->name, s->addr);
			if (n > 0 && (size_t)n < sizeof(text))
				evbuffer_add_printf(bufferevent_get_output(bev),
				    "%s\r\n", text);
			s->closing = true;
			bufferevent_disable(bev, EV_READ);
			/* One more chance to write it, then give up. */
			return;
		}
		session_free(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (!s->quit)
			log_info("lost connection after %s from %s[%s]",
			    s->phase, s->name, s->addr);
		session_free(s);
	}
}

static void
session_free(struct session *s)
{
	struct buf line;
	unsigned long ok = 0, total = 0;

	buf_init(&line, 0);
	buf_printf(&line, "disconnect from %s[%s]", s->name, s->addr);
	for (size_t i = 0; i < N_COUNTED; i++) {
		if (s->total[i] == 0)
			continue;
		ok += s->ok[i];
		total += s->total[i];
		if (s->ok[i] == s->total[i])
			buf_printf(&line, " %s=%u", counted[i].name, s->ok[i]);
		else
			buf_printf(&line, " %s=%u/%u", counted[i].name,
			    s->ok[i], s->total[i]);
	}
	if (ok == total)
		buf_printf(&line, " commands=%lu", ok);
	else
		buf_printf(&line, " commands=%lu/%lu", ok, total);
	log_info("%s", line.data);
	buf_release(&line);

	txn_free(s);
	cl_drop(s);
	smtpd_dnsfact_free(s->dns);
	smtpd_client_name_release(&s->cname);
	free(s->resume);
	bufferevent_free(s->bev);
	if (s->timer != NULL)
		event_free(s->timer);
	buf_free(s->delayed);
	free(s->helo);
	free(s->bdat_err);
	free(s->sasl_user);
	smtpd_auth_exchange_release(&s->ax);
	smtpd_auth_job_cancel(s->auth_job);
	netserver_session_ended(s->srv->net,
	    s->counted_conn ? s->range : NULL);
	free(s);
}

static void session_greet(struct session *s);
static void name_cb(void *arg);

void
smtpd_session_start(struct smtpd_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct timeval tv = { (time_t)srv->timeout, 0 };

	s->srv = srv;
	s->name = "unknown";
	s->phase = "CONNECT";
	s->nl = srv->bare_newline;
	if (getnameinfo(sa, salen, s->addr, sizeof(s->addr), s->port,
	    sizeof(s->port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		str_copy(s->addr, sizeof(s->addr), "unknown");
	if (cidr_addr_from_sockaddr(sa, &s->family, s->abytes) == 0 &&
	    s->family == AF_INET && sa->sa_family == AF_INET6) {
		/* ::ffff:192.0.2.1 is logged and checked as 192.0.2.1. */
		inet_ntop(AF_INET, s->abytes, s->addr, sizeof(s->addr));
	}
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		getnameinfo((struct sockaddr *)&local, llen, s->local,
		    sizeof(s->local), NULL, 0, NI_NUMERICHOST);
	client_range(s);
	{
		/* By address (the name is not known yet), as mynetworks. */
		struct smtpd_check_ctx ctx;

		fill_ctx(s, &ctx, NULL);
		s->limit_exempt = smtpd_check_event_limit_exempt(srv->check,
		    &ctx);
	}
	if (srv->tls_wrapper) {
		/* RFC 8314: TLS from the first byte; the greeting follows it. */
		s->bev = bufferevent_openssl_socket_new(srv->base, fd,
		    tls_ssl(srv), BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (s->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		s->tls_phase = TLS_HANDSHAKE;
		s->busy |= BUSY_TLS;
		s->banner_pending = true;
		tv.tv_sec = (time_t)srv->starttls_timeout;
	} else {
		s->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	}
	if (s->bev == NULL) {
		evutil_closesocket(fd);
		free(s);
		netserver_session_ended(srv->net, NULL);
		return;
	}
	s->timer = evtimer_new(srv->base, timer_cb, s);
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SESSION_READ_HIGH);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	if (srv->resolver != NULL)
		s->dns = smtpd_dnsfact_new(srv->base, srv->resolver);
	/*
	 * As Postfix: the client's name (PTR, then forward confirmation) is
	 * looked up before the greeting, so that logs, restrictions and
	 * Received: all see it.  The loop serves others meanwhile.
	 */
	if (s->dns != NULL && srv->peername_lookup) {
		if (smtpd_dnsfact_client_name(s->dns, s->family, s->addr,
		    &s->cname) == 0) {
			s->busy |= BUSY_DNS;
			if (smtpd_dnsfact_resolve(s->dns, name_cb, s) == 1)
				return;
			s->busy &= ~BUSY_DNS;
		}
		name_cb(s);
		return;
	}
	session_greet(s);
}

/* The greeting, once the client's name is known. */
static void
session_greet(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	struct smtpd_check_ctx ctx;
	unsigned long n;
	bool refuse;

	log_info("connect from %s[%s]", s->name, s->addr);

	fill_ctx(s, &ctx, NULL);
	if (s->nl != SMTPD_DATA_NL_KEEP &&
	    smtpd_check_bare_newline_excluded(srv->check, &ctx))
		s->nl = SMTPD_DATA_NL_KEEP;
	n = netserver_conn_add(srv->net, s->range);
	s->counted_conn = true;
	/*
	 * smtpd_client_event_limit_exceptions ($mynetworks) are not
	 * limited.  Concurrency first, then the rate; both refuse with the
	 * same reply, as in Postfix.
	 */
	refuse = true;
	if (srv->conn_count_limit > 0 && n > srv->conn_count_limit &&
	    !s->limit_exempt)
		log_warning("Connection concurrency limit exceeded: %lu from "
		    "%s[%s] for service %s", n, s->name, s->addr, srv->service);
	else if (rate_over(s, SMTPD_RATE_CONN, srv->conn_rate_limit, &n))
		log_warning("Connection rate limit exceeded: %lu from %s[%s] "
		    "for service %s", n, s->name, s->addr, srv->service);
	else
		refuse = false;
	if (!refuse && srv->tls_wrapper && rate_stat_over(s,
	    SMTPD_RATE_NEWTLS, srv->newtls_rate_limit)) {
		/* No handshake just to say no (Postfix does the same). */
		log_warning("Refusing TLS service request from %s[%s] for "
		    "service %s", s->name, s->addr, srv->service);
		session_free(s);
		return;
	}
	if (refuse) {
		if (srv->tls_wrapper) {
			session_free(s);
			return;
		}
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "421 4.7.0 %s Error: too many connections from %s\r\n",
		    srv->myhostname, s->addr);
		s->closing = true;
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	/* Wrapper mode: tls_established greets, after the handshake. */
	if (!srv->tls_wrapper)
		evbuffer_add_printf(bufferevent_get_output(s->bev),
		    "220 %s\r\n", srv->banner);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* Reverse DNS answers are in (or a first round of them). */
static void
name_cb(void *arg)
{
	struct session *s = arg;

	s->busy &= ~BUSY_DNS;
	if (s->cname.name == NULL) {
		if (smtpd_dnsfact_client_name(s->dns, s->family, s->addr,
		    &s->cname) == 0) {
			/* The forward lookups of the PTR names. */
			s->busy |= BUSY_DNS;
			if (smtpd_dnsfact_resolve(s->dns, name_cb, s) == 1)
				return;
			s->busy &= ~BUSY_DNS;
			log_warning("%s: client name lookup made no progress",
			    s->addr);
			smtpd_client_name_release(&s->cname);
			s->cname.reverse_name = xstrdup("unknown");
			s->cname.name = xstrdup("unknown");
			s->cname.reverse_status = SMTPD_NAME_TEMP;
			s->cname.name_status = SMTPD_NAME_TEMP;
		}
	}
	s->name = s->cname.name;
	session_greet(s);
}
