/*
 * pop3d_session - one POP3 session: the AUTHORIZATION, TRANSACTION and
 * UPDATE states of RFC 1939, STLS (RFC 2595), CAPA and response codes
 * (RFC 2449), AUTH PLAIN (RFC 5034, RFC 4616).
 *
 * Distrusts everything the client sends: lines are read with a length
 * limit and a timeout, parsed by pop3_cmd, and a malformed one gets
 * "-ERR".  After STLS nothing sent before the handshake is kept (the
 * STARTTLS command-injection class of bugs).  Passwords are wiped after
 * use and never logged; the slow hash check runs on a worker thread so
 * the event loop never waits for it, and each failed login is answered
 * after a delay that doubles per failure.  Runs as mail_owner.  A user
 * whose uid is not ours is handed, after the login, to a worker of that
 * uid (mailuser_client): this process then only relays bytes between
 * the client and the worker.  In worker mode (pop3d_session_start_worker)
 * the one session runs as the user, on a socket from the front, starting
 * in the TRANSACTION state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "attr.h"
#include "bevpace.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "mailstore.h"
#include "mailuser_client.h"
#include "mem.h"
#include "netserver.h"
#include "passdb.h"
#include "pop3_cmd.h"
#include "pop3d.h"
#include "sasl.h"
#include "str.h"
#include "tls_server.h"

#define RETR_CHUNK (128 * 1024)

enum state {
	STATE_AUTHORIZATION,
	STATE_TRANSACTION,
	STATE_CLOSING,		/* last reply queued; free once written */
};

struct auth_job;

struct session {
	struct pop3d_server *srv;
	struct bufferevent *bev;
	char addr[INET6_ADDRSTRLEN];
	bool counted;		/* in the per-address table */
	enum state state;
	bool tls;
	bool paused;		/* not reading: waiting for a job or output */
	char *user;		/* from USER */
	char *login;		/* authenticated name */
	const char *method;	/* "USER" or "PLAIN" for logs */
	unsigned failures;
	bool sasl_pending;	/* AUTH PLAIN without initial response */
	struct auth_job *job;
	struct event *delay_ev;
	struct event *close_ev;
	unsigned close_polls;
	char *delayed_reply;	/* sent when delay_ev fires */
	bool close_after_delay;

	struct mailstore *store;
	struct mailstore_folder *folder;
	size_t n;
	uint64_t *vsize;
	bool *deleted;
	bool *retrieved;

	int retr_fd;		/* RETR/TOP in progress, or -1 */
	struct pop3_encode enc;
	unsigned long n_retr, n_dele;
	uint64_t bytes_retr;
	struct buf scratch;

	/* A user of another uid: asking mailuser for a worker (no input is
	 * read meanwhile), then relaying to it. */
	struct mailuser_request *handoff;
	struct mailuser_proxy *proxy;
	char *handoff_user;
};

/* A password check on a worker thread. */
struct auth_job {
	struct session *s;	/* NULL when the session went away */
	struct event *done;
	char *hash;
	char *password;
	bool known;		/* the user exists (else the check is a decoy) */
	bool ok;
	struct passdb_user user;
};

static void process_input(struct session *s);
static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

static void
reply(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&s->scratch);
	va_start(ap, fmt);
	(void)buf_vprintf(&s->scratch, fmt, ap);
	va_end(ap);
	(void)buf_append_str(&s->scratch, "\r\n");
	bufferevent_write(s->bev, s->scratch.data, s->scratch.len);
}

static void
job_free(struct auth_job *job)
{
	if (job->password != NULL) {
		explicit_bzero(job->password, strlen(job->password));
		free(job->password);
	}
	free(job->hash);
	passdb_user_release(&job->user);
	if (job->done != NULL)
		event_free(job->done);
	free(job);
}

static void
close_mailbox(struct session *s)
{
	mailstore_folder_close(s->folder);
	s->folder = NULL;
	mailstore_close(s->store);
	s->store = NULL;
	free(s->vsize);
	free(s->deleted);
	free(s->retrieved);
	s->vsize = NULL;
	s->deleted = s->retrieved = NULL;
	s->n = 0;
}

static void
session_free(struct session *s)
{
	struct pop3d_server *srv = s->srv;

	mailuser_request_cancel(s->handoff);
	mailuser_proxy_free(s->proxy);
	free(s->handoff_user);
	if (s->login != NULL)
		log_info("disconnected: user=<%s>, rip=%s, top/retr=%lu/%llu, "
		    "del=%lu", s->login, s->addr, s->n_retr,
		    (unsigned long long)s->bytes_retr, s->n_dele);
	if (s->job != NULL)
		s->job->s = NULL;	/* the job frees itself when done */
	if (s->retr_fd >= 0)
		close(s->retr_fd);
	close_mailbox(s);
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	if (s->close_ev != NULL)
		event_free(s->close_ev);
	free(s->delayed_reply);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	free(s->user);
	free(s->login);
	buf_release(&s->scratch);
	if (srv->net != NULL)
		netserver_session_ended(srv->net, s->counted ? s->addr : NULL);
	free(s);
	if (srv->worker)
		event_base_loopbreak(srv->base);
}

/* True when everything queued for the client has left (TLS layer too). */
static bool
flushed(struct session *s)
{
	return bev_unsent(s->bev) == 0;
}

static void
close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval tv = { 0, 20000 };

	/* Give a client that does not read at most ~10 s. */
	if (flushed(s) || ++s->close_polls > 500) {
		session_free(s);
		return;
	}
	evtimer_add(s->close_ev, &tv);
}

/*
 * Queue nothing more; the session ends once the last reply is written.
 * Never frees at once: the caller may still be using the session.
 */
static void
finish(struct session *s)
{
	struct timeval now = { 0, 0 };

	s->state = STATE_CLOSING;
	s->paused = true;
	bufferevent_disable(s->bev, EV_READ);
	if (s->close_ev == NULL)
		s->close_ev = evtimer_new(s->srv->base, close_cb, s);
	evtimer_add(s->close_ev, &now);
}

static void
pause_input(struct session *s)
{
	s->paused = true;
	bufferevent_disable(s->bev, EV_READ);
}

static void
resume_input(struct session *s)
{
	s->paused = false;
	bufferevent_enable(s->bev, EV_READ);
	/* Lines that arrived meanwhile (pipelining) are waiting. */
	process_input(s);
}

static bool
plaintext_ok(const struct session *s)
{
	return s->tls || !s->srv->tls_auth_only;
}

static bool
stls_offered(const struct session *s)
{
	return !s->tls && s->srv->tls != NULL &&
	    s->srv->tls_level != POP3D_TLS_NONE;
}

/* RFC 2449 5: CAPA. */
static void
cmd_capa(struct session *s)
{
	reply(s, "+OK Capability list follows");
	reply(s, "TOP");
	reply(s, "UIDL");
	reply(s, "RESP-CODES");
	reply(s, "PIPELINING");
	reply(s, "AUTH-RESP-CODE");
	if (s->state == STATE_AUTHORIZATION && plaintext_ok(s)) {
		reply(s, "USER");
		reply(s, "SASL PLAIN");
	}
	if (s->state == STATE_AUTHORIZATION && stls_offered(s))
		reply(s, "STLS");
	reply(s, ".");
}

/* RFC 2595 4: STLS. */
static void
cmd_stls(struct session *s)
{
	struct bufferevent *tlsbev;
	SSL *ssl;

	if (s->tls) {
		reply(s, "-ERR TLS is already active");
		return;
	}
	if (!stls_offered(s)) {
		reply(s, "-ERR STLS is not available");
		return;
	}
	ssl = tls_server_ssl_new(s->srv->tls);
	if (ssl == NULL) {
		log_warning("%s: cannot start TLS: %s", s->addr,
		    tls_server_error());
		reply(s, "-ERR [SYS/TEMP] TLS is not available now");
		return;
	}
	reply(s, "+OK Begin TLS negotiation");
	/*
	 * Whatever the client sent after STLS, before the handshake, was
	 * not protected: throw it away (CVE-2011-0411 class).
	 */
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	tlsbev = bufferevent_openssl_filter_new(s->srv->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tlsbev == NULL) {
		SSL_free(ssl);
		log_warning("%s: cannot start TLS", s->addr);
		finish(s);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tlsbev, 1);
	/* So that RETR waits for the client (bevpace.h). */
	bev_pace_below(tlsbev, 0, RETR_CHUNK * 8);
	s->bev = tlsbev;
	s->tls = true;
	free(s->user);
	s->user = NULL;
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	{
		struct timeval tv = { (time_t)s->srv->timeout, 0 };

		bufferevent_set_timeouts(s->bev, &tv, NULL);
	}
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/*
 * Open the INBOX of the Maildir PATH of user NAME and list it (RFC 1939
 * 4: enter TRANSACTION).  -1 after replying -ERR.
 */
static int
open_maildrop_path(struct session *s, const char *name, const char *path)
{
	const char *error;
	int rc;

	s->store = mailstore_open(path, &error);
	if (s->store == NULL)
		goto fail;
	s->folder = mailstore_folder_open(s->store, "INBOX", 0, &error);
	if (s->folder == NULL)
		goto fail;
	rc = mailstore_folder_trylock(s->folder, "pop3", &error);
	if (rc == 1) {
		close_mailbox(s);
		reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 "
		    "session");
		return -1;
	}
	if (rc < 0)
		goto fail;
	/* The folder was read before the lock: read it again under it. */
	if (mailstore_folder_sync(s->folder, 0, NULL, &error) < 0)
		goto fail;
	s->n = mailstore_folder_count(s->folder);
	s->vsize = xcalloc(s->n + 1, sizeof(uint64_t));
	s->deleted = xcalloc(s->n + 1, sizeof(bool));
	s->retrieved = xcalloc(s->n + 1, sizeof(bool));
	for (size_t i = 0; i < s->n; i++) {
		rc = mailstore_msg_vsize(s->folder, i, &s->vsize[i], &error);
		if (rc < 0)
			goto fail;
		/* rc 1: deleted by an IMAP session meanwhile; size 0. */
	}
	return 0;
fail:
	log_warning("user %s: cannot open the mailbox: %s", name, error);
	close_mailbox(s);
	reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox");
	return -1;
}

/* The same for the table entry U (imap_mailbox expanded for it). */
static int
open_maildrop(struct session *s, const struct passdb_user *u)
{
	struct buf path;
	const char *error;
	int rc;

	buf_init(&path, 0);
	if (passdb_mailbox_path(s->srv->mailbox, u, &path, &error) < 0) {
		log_warning("user %s: imap_mailbox: %s", u->name, error);
		reply(s, "-ERR [SYS/PERM] Mailbox is not configured "
		    "correctly");
		buf_release(&path);
		return -1;
	}
	rc = open_maildrop_path(s, u->name, path.data);
	buf_release(&path);
	return rc;
}

static void
login_failed_reply(struct session *s)
{
	reply(s, "%s", s->delayed_reply);
	free(s->delayed_reply);
	s->delayed_reply = NULL;
	if (s->close_after_delay) {
		finish(s);
		return;
	}
	resume_input(s);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	login_failed_reply(arg);
}

/* A wrong name or password: log it, answer after a growing pause. */
static void
login_failed(struct session *s, const char *user)
{
	struct buf esc;
	uint64_t delay = s->srv->fail_delay;

	buf_init(&esc, 0);
	s->failures++;
	/* The wording fail2ban's postfix-sasl filter reads. */
	log_warning("unknown[%s]: SASL %s authentication failed: "
	    "authentication failure, sasl_username=%s", s->addr,
	    strcmp(s->method, "PLAIN") == 0 ? "PLAIN" : "LOGIN",
	    log_escape(&esc, user, strlen(user)));
	buf_release(&esc);
	for (unsigned i = 1; i < s->failures && delay < s->srv->fail_delay_limit;
	    i++)
		delay *= 2;
	if (delay > s->srv->fail_delay_limit)
		delay = s->srv->fail_delay_limit;
	free(s->delayed_reply);
	s->delayed_reply = xstrdup("-ERR [AUTH] Authentication failed");
	s->close_after_delay = s->srv->fail_limit > 0 &&
	    s->failures >= s->srv->fail_limit;
	pause_input(s);
	if (delay == 0) {
		login_failed_reply(s);
		return;
	}
	if (s->delay_ev == NULL)
		s->delay_ev = evtimer_new(s->srv->base, delay_cb, s);
	{
		struct timeval tv = { (time_t)delay, 0 };

		evtimer_add(s->delay_ev, &tv);
	}
}

/* The relay to the worker is over: so is the session. */
static void
proxy_end(void *arg)
{
	struct session *s = arg;

	s->proxy = NULL;
	log_info("disconnected: user=<%s>, rip=%s, worker", s->handoff_user,
	    s->addr);
	session_free(s);
}

static void
handoff_done(void *arg, int fd, const char *error)
{
	struct session *s = arg;

	s->handoff = NULL;
	if (fd < 0) {
		log_warning("login: user=<%s>, rip=%s: no worker of the user's "
		    "uid: %s", s->handoff_user, s->addr, error);
		reply(s, "-ERR [SYS/TEMP] The mailbox cannot be opened now");
		free(s->handoff_user);
		s->handoff_user = NULL;
		resume_input(s);
		return;
	}
	log_info("login: user=<%s>, method=%s, rip=%s%s, served by a worker "
	    "of its own uid", s->handoff_user, s->method, s->addr,
	    s->tls ? ", TLS" : "");
	s->proxy = mailuser_proxy_start(s->srv->base, s->bev, fd, proxy_end,
	    s);
	s->bev = NULL;
}

/* Hand the session of U, just logged in, to a worker of U's uid. */
static void
handoff(struct session *s, const struct passdb_user *u)
{
	struct buf req;
	const char *error;

	buf_init(&req, 0);
	if (attr_encode(&req, "request", "session", &error) < 0 ||
	    attr_encode(&req, "service", "pop3", &error) < 0 ||
	    attr_encode(&req, "user", u->name, &error) < 0 ||
	    attr_encode(&req, "client_address", s->addr, &error) < 0 ||
	    attr_encode(&req, "tls", s->tls ? "yes" : "no", &error) < 0 ||
	    attr_encode(&req, "method", strcmp(s->method, "PLAIN") == 0 ?
	    "PLAIN" : "USER", &error) < 0)
		log_panic("pop3d handoff: %s", error);
	(void)attr_encode_end(&req);
	free(s->handoff_user);
	s->handoff_user = xstrdup(u->name);
	s->handoff = mailuser_request_start(s->srv->base,
	    s->srv->mailuser_path, &req, handoff_done, s);
	buf_release(&req);
}

static void
login_ok(struct session *s, struct passdb_user *u)
{
	if (u->uid != geteuid()) {
		/* The user's mail is not ours: a worker of its uid serves
		 * it; input stays paused until handoff_done. */
		handoff(s, u);
		return;
	}
	if (open_maildrop(s, u) < 0) {
		resume_input(s);
		return;
	}
	s->login = xstrdup(u->name);
	s->state = STATE_TRANSACTION;
	log_info("login: user=<%s>, method=%s, rip=%s%s", u->name, s->method,
	    s->addr, s->tls ? ", TLS" : "");
	reply(s, "+OK Logged in");
	resume_input(s);
}

static void *
job_thread(void *arg)
{
	struct auth_job *job = arg;

	job->ok = passdb_check_hash(job->password, job->hash);
	explicit_bzero(job->password, strlen(job->password));
	/* Back to the event loop's thread. */
	event_active(job->done, 0, 0);
	return NULL;
}

static void
job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth_job *job = arg;
	struct session *s = job->s;

	if (s == NULL) {
		job_free(job);
		return;
	}
	s->job = NULL;
	if (job->known && job->ok)
		login_ok(s, &job->user);
	else
		login_failed(s, job->user.name ? job->user.name :
		    s->user ? s->user : "");
	job_free(job);
}

/* Check USER/PASSWORD without blocking the loop; the reply comes later. */
static void
start_login(struct session *s, const char *user, const char *password)
{
	struct auth_job *job = xcalloc(1, sizeof(*job));
	const char *error;
	enum passdb_result r;
	pthread_attr_t attr;
	pthread_t tid;

	r = passdb_lookup(s->srv->passdb, user, &job->user, &job->hash,
	    &error);
	if (r == PASSDB_TEMPFAIL) {
		log_warning("%s: password lookup failed: %s", s->addr, error);
		reply(s, "-ERR [SYS/TEMP] Authentication is not available "
		    "now");
		job_free(job);
		return;
	}
	job->known = r == PASSDB_OK;
	if (!job->known) {
		/* Keep the name for the log line. */
		job->user.name = xstrdup(user);
	}
	job->password = xstrdup(password);
	job->s = s;
	job->done = event_new(s->srv->base, -1, 0, job_done_cb, job);
	s->job = job;
	pause_input(s);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, job_thread, job) != 0) {
		/* No thread: check here (slower loop, but a correct answer). */
		job_thread(job);
	}
	pthread_attr_destroy(&attr);
}

static bool
auth_allowed(struct session *s)
{
	if (plaintext_ok(s))
		return true;
	reply(s, "-ERR [AUTH] Plaintext authentication disallowed on "
	    "non-secure (SSL/TLS) connections");
	return false;
}

static void
sasl_plain(struct session *s, const char *b64)
{
	struct sasl_plain p = { NULL, NULL, NULL };
	const char *error;

	if (strcmp(b64, "*") == 0) {
		reply(s, "-ERR Authentication cancelled");
		return;
	}
	if (sasl_plain_decode(b64, strlen(b64), &p, &error) < 0) {
		reply(s, "-ERR [AUTH] Invalid PLAIN response: %s", error);
		return;
	}
	if (p.authzid[0] != '\0' && strcmp(p.authzid, p.authcid) != 0) {
		/* No master users: one may only log in as oneself. */
		s->method = "PLAIN";
		login_failed(s, p.authcid);
		sasl_plain_release(&p);
		return;
	}
	s->method = "PLAIN";
	start_login(s, p.authcid, p.passwd);
	sasl_plain_release(&p);
}

static void
cmd_auth(struct session *s, const struct pop3_cmd *c)
{
	if (c->argc == 0) {
		/* Mechanism list, as clients that try "AUTH" expect. */
		reply(s, "+OK");
		if (plaintext_ok(s))
			reply(s, "PLAIN");
		reply(s, ".");
		return;
	}
	if (!auth_allowed(s))
		return;
	if (str_casecmp(c->arg[0], "PLAIN") != 0) {
		reply(s, "-ERR [AUTH] Unsupported authentication mechanism");
		return;
	}
	if (c->argc == 2) {
		sasl_plain(s, c->arg[1]);
		return;
	}
	s->sasl_pending = true;
	reply(s, "+ ");
}

/* Message number N (1-based) as an index, or -1 after replying -ERR. */
static long
msg_index(struct session *s, uint32_t n)
{
	if (n == 0 || n > s->n) {
		reply(s, "-ERR There's no message %lu", (unsigned long)n);
		return -1;
	}
	if (s->deleted[n - 1]) {
		reply(s, "-ERR Message is deleted");
		return -1;
	}
	return (long)n - 1;
}

static void
uidl_text(struct session *s, size_t i, struct buf *out)
{
	/* Dovecot's default pop3_uidl_format, %08Xu%08Xv. */
	(void)buf_printf(out, "%08X%08X",
	    (unsigned)mailstore_folder_msg(s->folder, i)->uid,
	    (unsigned)mailstore_folder_uidvalidity(s->folder));
}

static void
cmd_list_uidl(struct session *s, const struct pop3_cmd *c, bool uidl)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct buf b;

	buf_init(&b, 0);
	if (c->argc == 1) {
		long i = msg_index(s, c->num[0]);

		if (i >= 0) {
			if (uidl)
				uidl_text(s, (size_t)i, &b);
			else
				(void)buf_printf(&b, "%llu",
				    (unsigned long long)s->vsize[i]);
			reply(s, "+OK %lu %s", (unsigned long)(i + 1), b.data);
		}
		buf_release(&b);
		return;
	}
	(void)buf_append_str(&b, "+OK\r\n");
	for (size_t i = 0; i < s->n; i++) {
		if (s->deleted[i])
			continue;
		(void)buf_printf(&b, "%zu ", i + 1);
		if (uidl)
			uidl_text(s, i, &b);
		else
			(void)buf_printf(&b, "%llu",
			    (unsigned long long)s->vsize[i]);
		(void)buf_append_str(&b, "\r\n");
	}
	(void)buf_append_str(&b, ".\r\n");
	evbuffer_add(out, b.data, b.len);
	buf_release(&b);
}

static void
cmd_stat(struct session *s)
{
	unsigned long count = 0;
	unsigned long long total = 0;

	for (size_t i = 0; i < s->n; i++)
		if (!s->deleted[i]) {
			count++;
			total += s->vsize[i];
		}
	reply(s, "+OK %lu %llu", count, total);
}

/* Send the next piece of a RETR/TOP; at the end, the terminating dot. */
static void
retr_continue(struct session *s)
{
	char block[RETR_CHUNK];
	ssize_t r;

	buf_reset(&s->scratch);
	while (s->scratch.len < RETR_CHUNK && !s->enc.done) {
		r = read(s->retr_fd, block, sizeof(block));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				/*
				 * The response has begun: the only way to
				 * say something went wrong is to end the
				 * connection (the client must not take a
				 * cut-off message for a whole one).
				 */
				log_warning("user %s: read error during RETR: "
				    "%s", s->login, strerror(errno));
			if (r < 0) {
				close(s->retr_fd);
				s->retr_fd = -1;
				bufferevent_write(s->bev, s->scratch.data,
				    s->scratch.len);
				finish(s);
				return;
			}
			break;
		}
		pop3_encode(&s->enc, block, (size_t)r, &s->scratch);
		if (r < (ssize_t)sizeof(block))
			continue;
	}
	if (s->scratch.len >= RETR_CHUNK && !s->enc.done) {
		bufferevent_write(s->bev, s->scratch.data, s->scratch.len);
		return;		/* write_cb calls again */
	}
	pop3_encode_finish(&s->enc, &s->scratch);
	bufferevent_write(s->bev, s->scratch.data, s->scratch.len);
	close(s->retr_fd);
	s->retr_fd = -1;
	resume_input(s);
}

static void
cmd_retr_top(struct session *s, const struct pop3_cmd *c, bool top)
{
	long i = msg_index(s, c->num[0]);
	const char *error;
	int fd, rc;

	if (i < 0)
		return;
	rc = mailstore_msg_open(s->folder, (size_t)i, &fd, &error);
	if (rc == 1) {
		reply(s, "-ERR Message was deleted by another session");
		return;
	}
	if (rc < 0) {
		log_warning("user %s: %s", s->login, error);
		reply(s, "-ERR [SYS/TEMP] Cannot read the message");
		return;
	}
	if (top)
		reply(s, "+OK");
	else
		reply(s, "+OK %llu octets", (unsigned long long)s->vsize[i]);
	if (!top) {
		s->retrieved[i] = true;
		s->n_retr++;
		s->bytes_retr += s->vsize[i];
	}
	pop3_encode_init(&s->enc, top ? (long)c->num[1] : -1);
	s->retr_fd = fd;
	pause_input(s);
	retr_continue(s);
}

/* RFC 1939 6: the UPDATE state. */
static void
cmd_quit_update(struct session *s)
{
	const char *error;
	bool failed = false;

	for (size_t i = 0; i < s->n; i++) {
		const struct mailstore_msg *m;

		if (s->deleted[i]) {
			if (mailstore_msg_expunge(s->folder, i, &error) < 0) {
				log_warning("user %s: %s", s->login, error);
				failed = true;
			} else {
				s->n_dele++;
			}
			continue;
		}
		if (!s->retrieved[i])
			continue;
		/* Downloaded: \Seen for IMAP clients of the same box. */
		m = mailstore_folder_msg(s->folder, i);
		if (!(m->flags & MAILSTORE_SEEN) && mailstore_msg_set_flags(
		    s->folder, i, m->flags | MAILSTORE_SEEN, m->keywords,
		    &error) < 0)
			log_warning("user %s: %s", s->login, error);
	}
	close_mailbox(s);
	if (failed)
		reply(s, "-ERR [SYS/TEMP] Some deleted messages were not "
		    "removed");
	else
		reply(s, "+OK Logging out");
	finish(s);
}

static void
dispatch(struct session *s, const char *line, size_t len)
{
	struct pop3_cmd c;
	const char *error;

	if (s->sasl_pending) {
		s->sasl_pending = false;
		sasl_plain(s, line);
		return;
	}
	if (pop3_cmd_parse(line, len, &c, &error) < 0) {
		reply(s, "-ERR %s", error);
		return;
	}
	if (c.name == POP3_CMD_QUIT) {
		if (s->state == STATE_TRANSACTION) {
			cmd_quit_update(s);
		} else {
			reply(s, "+OK Logging out");
			finish(s);
		}
		return;
	}
	if (c.name == POP3_CMD_CAPA) {
		cmd_capa(s);
		return;
	}
	if (s->state == STATE_AUTHORIZATION) {
		if (!s->tls && s->srv->tls_level == POP3D_TLS_ENCRYPT &&
		    c.name != POP3_CMD_STLS) {
			reply(s, "-ERR [AUTH] Issue STLS first");
			return;
		}
		switch (c.name) {
		case POP3_CMD_STLS:
			cmd_stls(s);
			return;
		case POP3_CMD_USER:
			if (!auth_allowed(s))
				return;
			free(s->user);
			s->user = xstrdup(c.arg[0]);
			reply(s, "+OK");
			return;
		case POP3_CMD_PASS:
			if (!auth_allowed(s))
				return;
			if (s->user == NULL) {
				reply(s, "-ERR USER first");
				return;
			}
			s->method = "USER";
			start_login(s, s->user, c.arg[0]);
			explicit_bzero(c.arg[0], sizeof(c.arg[0]));
			return;
		case POP3_CMD_AUTH:
			cmd_auth(s, &c);
			return;
		case POP3_CMD_APOP:
			reply(s, "-ERR APOP is not supported");
			return;
		default:
			reply(s, "-ERR Log in first");
			return;
		}
	}
	switch (c.name) {
	case POP3_CMD_STAT:
		cmd_stat(s);
		break;
	case POP3_CMD_LIST:
		cmd_list_uidl(s, &c, false);
		break;
	case POP3_CMD_UIDL:
		cmd_list_uidl(s, &c, true);
		break;
	case POP3_CMD_RETR:
		cmd_retr_top(s, &c, false);
		break;
	case POP3_CMD_TOP:
		cmd_retr_top(s, &c, true);
		break;
	case POP3_CMD_DELE: {
		long i = msg_index(s, c.num[0]);

		if (i >= 0) {
			s->deleted[i] = true;
			reply(s, "+OK Marked to be deleted");
		}
		break;
	}
	case POP3_CMD_RSET:
		memset(s->deleted, 0, s->n * sizeof(bool));
		reply(s, "+OK");
		break;
	case POP3_CMD_NOOP:
		reply(s, "+OK");
		break;
	default:
		reply(s, "-ERR Already logged in");
		break;
	}
}

static void
process_input(struct session *s)
{
	struct evbuffer *in;

	if (s->handoff != NULL || s->proxy != NULL)
		return;
	in = bufferevent_get_input(s->bev);
	while (!s->paused && s->state != STATE_CLOSING) {
		size_t n;
		char *line;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &n,
		    EVBUFFER_EOL_CRLF);

		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > POP3_LINE_MAX + 2) {
				reply(s, "-ERR Line too long");
				finish(s);
			}
			return;
		}
		if ((size_t)eol.pos > POP3_LINE_MAX) {
			reply(s, "-ERR Line too long");
			finish(s);
			return;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL)
			return;
		dispatch(s, line, n);
		explicit_bzero(line, n);
		free(line);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	process_input(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->retr_fd >= 0) {
		retr_continue(s);
		return;
	}
	/* STATE_CLOSING: close_cb ends the session once all is written. */
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* A TLS handshake completed. */
		SSL *ssl = bufferevent_openssl_get_ssl(bev);

		if (ssl != NULL) {
			struct buf d;

			buf_init(&d, 0);
			tls_server_describe(ssl, &d);
			log_info("%s: TLS connection established: %s", s->addr,
			    d.data);
			buf_release(&d);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("%s: timeout after %s", s->addr,
		    s->state == STATE_TRANSACTION ? "login" : "connect");
		session_free(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e;

		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			char text[256];

			ERR_error_string_n(e, text, sizeof(text));
			log_info("%s: TLS error: %s", s->addr, text);
		}
	}
	/* EOF or error: nothing is deleted outside QUIT's UPDATE state. */
	session_free(s);
}

void
pop3d_session_start_worker(struct pop3d_server *srv, int fd,
    const char *addr, bool tls, const char *user, const char *method,
    const char *maildir)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->retr_fd = -1;
	s->method = strcmp(method, "PLAIN") == 0 ? "PLAIN" : "USER";
	s->tls = tls;
	buf_init(&s->scratch, 0);
	if (str_copy(s->addr, sizeof(s->addr), addr) < 0)
		str_copy(s->addr, sizeof(s->addr), "unknown");
	evutil_make_socket_nonblocking(fd);
	s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warning("%s: cannot set up the session", s->addr);
		evutil_closesocket(fd);
		session_free(s);
		return;
	}
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	{
		struct timeval tv = { (time_t)srv->timeout, 0 };

		bufferevent_set_timeouts(s->bev, &tv, NULL);
	}
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (open_maildrop_path(s, user, maildir) < 0) {
		/* The -ERR is out; the front cannot take the session back
		 * into AUTHORIZATION, so it ends here. */
		finish(s);
		return;
	}
	s->login = xstrdup(user);
	s->state = STATE_TRANSACTION;
	log_info("login: user=<%s>, method=%s, rip=%s%s, uid=%lu", user,
	    s->method, s->addr, s->tls ? ", TLS" : "",
	    (unsigned long)getuid());
	reply(s, "+OK Logged in");
	/* Commands the client pipelined after its login. */
	process_input(s);
}

void
pop3d_session_start(struct pop3d_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct session *s = xcalloc(1, sizeof(*s));
	unsigned long count;

	s->srv = srv;
	s->retr_fd = -1;
	s->method = "USER";
	buf_init(&s->scratch, 0);
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    s->addr, sizeof(s->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, s->addr,
		    sizeof(s->addr));
	else
		str_copy(s->addr, sizeof(s->addr), "unknown");
	count = netserver_conn_add(srv->net, s->addr);
	s->counted = true;
	evutil_make_socket_nonblocking(fd);
	if (srv->wrappermode) {
		SSL *ssl = tls_server_ssl_new(srv->tls);

		if (ssl != NULL) {
			s->bev = bufferevent_openssl_socket_new(srv->base, fd,
			    ssl, BUFFEREVENT_SSL_ACCEPTING,
			    BEV_OPT_CLOSE_ON_FREE);
			if (s->bev == NULL)
				SSL_free(ssl);
			else
				bufferevent_openssl_set_allow_dirty_shutdown(
				    s->bev, 1);
		}
		s->tls = true;
	} else {
		s->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	}
	if (s->bev == NULL) {
		log_warning("%s: cannot set up the connection: %s", s->addr,
		    tls_server_error());
		evutil_closesocket(fd);
		session_free(s);
		return;
	}
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	{
		struct timeval tv = { (time_t)srv->timeout, 0 };

		bufferevent_set_timeouts(s->bev, &tv, NULL);
	}
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	log_info("connect from %s", s->addr);
	if (srv->conn_limit > 0 && count > srv->conn_limit) {
		log_warning("%s: too many connections (%lu)", s->addr, count);
		reply(s, "-ERR [SYS/TEMP] Too many connections from your "
		    "address");
		finish(s);
		return;
	}
	reply(s, "+OK %s", srv->banner);
}
