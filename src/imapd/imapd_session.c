/*
 * imapd_session - one IMAP connection: reading commands, the states of
 * RFC 3501 3 (not authenticated, authenticated, selected, logout),
 * STARTTLS, AUTHENTICATE and IDLE input, untagged updates, and flow
 * control of large FETCH answers.
 *
 * Distrusts the client entirely: commands go through imap_parser (hard
 * limits), every mailbox name goes through mailstore's name check (a
 * session only ever opens files under the Maildir of the user it logged
 * in as), plaintext logins are refused before TLS when
 * imapd_tls_auth_only is set, and input that arrived together with
 * STARTTLS is thrown away (no command injection into the TLS session).
 * Runs as mail_owner.  A user whose uid is not ours is handed, after the
 * login, to a worker of that uid (mailuser_client): this process then
 * only relays bytes between the client and the worker.  In worker mode
 * (imapd_session_start_worker) the one session runs as the user, on a
 * socket from the front, starting in the authenticated state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "attr.h"
#include "bevpace.h"
#include "buf.h"
#include "log.h"
#include "mailstore.h"
#include "mailuser_client.h"
#include "mem.h"
#include "netserver.h"
#include "str.h"
#include "tls_server.h"

#include "imapd.h"
#include "imapd_cmd.h"

/* Output beyond which a FETCH pauses until the client has read. */
#define OUT_HIGH (1024 * 1024)
#define OUT_LOW (256 * 1024)
/* AUTHENTICATE and IDLE lines. */
#define RAW_LINE_MAX 8192
#define BAD_COMMANDS_MAX 20

static void session_free(struct imapd_session *s);
static void process_input(struct imapd_session *s);

void
imapd_printf(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(s->bev), fmt, ap);
	va_end(ap);
}

void
imapd_write(struct imapd_session *s, const void *p, size_t n)
{
	evbuffer_add(bufferevent_get_output(s->bev), p, n);
}

static void
close_check(evutil_socket_t fd, short what, void *arg)
{
	struct imapd_session *s = arg;
	struct timeval tv = { 0, 20000 };

	if (bev_unsent(s->bev) == 0 || ++s->close_polls > 250) {
		session_free(s);
		return;
	}
	event_add(s->ev_close, &tv);
}

bool
imapd_output_full(const struct imapd_session *s)
{
	/* Below a STARTTLS filter too (see imapd_starttls). */
	return bev_unsent(s->bev) > OUT_HIGH;
}

void
imapd_close_after_output(struct imapd_session *s)
{
	s->closing = true;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	if (s->ev_close == NULL)
		s->ev_close = evtimer_new(s->srv->base, close_check, s);
	close_check(-1, 0, s);
}

static void
idle_stop_watch(struct imapd_session *s)
{
	if (s->ev_notify != NULL) {
		event_free(s->ev_notify);
		s->ev_notify = NULL;
	}
	if (s->notify_fd >= 0) {
		close(s->notify_fd);
		s->notify_fd = -1;
	}
}

static void
session_free(struct imapd_session *s)
{
	struct imapd_server *srv = s->srv;

	mailuser_request_cancel(s->handoff);
	mailuser_proxy_free(s->proxy);
	idle_stop_watch(s);
	if (s->ev_close != NULL)
		event_free(s->ev_close);
	imapd_cmd_release(s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	imap_parser_free(s->parser);
	free(s->pending_tag);
	if (srv->net != NULL)
		netserver_session_ended(srv->net, s->counted ? s->addr : NULL);
	free(s);
	if (srv->worker)
		event_base_loopbreak(srv->base);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imapd_session *s = arg;
	char ev[4096];

	/* Drain; what changed is found by the sync. */
	while (read(fd, ev, sizeof(ev)) > 0)
		;
	if (s->mode == IMAPD_IN_IDLE) {
		imapd_report_updates(s, 0);
	}
}

/* Watch the selected folder's new/ and cur/ (RFC 2177 IDLE). */
static void
idle_start_watch(struct imapd_session *s)
{
	struct buf path;
	const char *sub[] = { "/new", "/cur" };

	if (s->folder == NULL)
		return;
	s->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->notify_fd < 0) {
		log_warning("inotify_init1: %s", strerror(errno));
		return;
	}
	buf_init(&path, 0);
	for (int i = 0; i < 2; i++) {
		buf_reset(&path);
		if (imapd_folder_path(s, &path) < 0)
			break;
		buf_append_str(&path, sub[i]);
		if (inotify_add_watch(s->notify_fd, path.data, IN_CREATE |
		    IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB) < 0)
			log_warning("inotify_add_watch %s: %s", path.data,
			    strerror(errno));
	}
	buf_release(&path);
	s->ev_notify = event_new(s->srv->base, s->notify_fd,
	    EV_READ | EV_PERSIST, notify_cb, s);
	event_add(s->ev_notify, NULL);
}

void
imapd_enter_idle(struct imapd_session *s, const char *tag)
{
	free(s->pending_tag);
	s->pending_tag = xstrdup(tag);
	s->mode = IMAPD_IN_IDLE;
	imapd_printf(s, "+ idling\r\n");
	idle_start_watch(s);
	/* Anything that happened just before IDLE. */
	imapd_report_updates(s, 0);
}

void
imapd_enter_auth(struct imapd_session *s, const char *tag)
{
	free(s->pending_tag);
	s->pending_tag = xstrdup(tag);
	s->mode = IMAPD_IN_AUTH;
	imapd_printf(s, "+ \r\n");
}

static void
raw_line(struct imapd_session *s, char *line)
{
	char *tag = s->pending_tag;
	enum imapd_input_mode mode = s->mode;

	s->pending_tag = NULL;
	s->mode = IMAPD_IN_COMMAND;
	if (mode == IMAPD_IN_IDLE) {
		idle_stop_watch(s);
		if (str_casecmp(line, "DONE") == 0)
			imapd_printf(s, "%s OK Idle completed.\r\n", tag);
		else
			imapd_printf(s, "%s BAD Expected DONE.\r\n", tag);
	} else
		imapd_auth_response(s, tag, line);
	free(tag);
}

void
imapd_starttls(struct imapd_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct bufferevent *tls;
	SSL *ssl;

	/* RFC 3501 6.2.1 / CVE-2011-0411: nothing sent before the
	 * handshake may count as a command inside TLS. */
	evbuffer_drain(in, evbuffer_get_length(in));
	ssl = tls_server_ssl_new(s->srv->tls);
	if (ssl == NULL) {
		log_warning("SSL_new failed");
		imapd_close_after_output(s);
		return;
	}
	tls = bufferevent_openssl_filter_new(s->srv->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		SSL_free(ssl);
		imapd_close_after_output(s);
		return;
	}
	/* So that the FETCH pacing waits for the client (bevpace.h). */
	bev_pace_below(tls, OUT_LOW, OUT_HIGH);
	s->bev = tls;
	s->tls = true;
	imapd_session_setup_bev(s);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	process_input(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct imapd_session *s = arg;

	if (s->closing)
		return;		/* close_check frees the session */
	if (s->job_active) {
		imapd_fetch_resume(s);
		if (!s->job_active && !s->closing)
			process_input(s);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct imapd_session *s = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		if (s->closing)
			return;
		imapd_printf(s, "* BYE Idle timeout.\r\n");
		log_info("timeout after %s from %s", s->user != NULL ?
		    "login" : "connect", s->addr);
		imapd_close_after_output(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (what & BEV_EVENT_ERROR && !s->closing) {
			unsigned long e = bufferevent_get_openssl_error(bev);

			if (e != 0)
				log_info("TLS error from %s: %s", s->addr,
				    ERR_reason_error_string(e));
		}
		log_info("disconnect from %s%s%s", s->addr,
		    s->user != NULL ? " user=" : "",
		    s->user != NULL ? s->user : "");
		session_free(s);
	}
}

void
imapd_input_pause(struct imapd_session *s)
{
	/* Whatever the client sends meanwhile waits in the kernel. */
	bufferevent_disable(s->bev, EV_READ);
}

void
imapd_input_resume(struct imapd_session *s)
{
	if (s->closing)
		return;
	bufferevent_enable(s->bev, EV_READ);
	process_input(s);
}

void
imapd_session_setup_bev(struct imapd_session *s)
{
	struct timeval tv = { (time_t)s->srv->timeout, 0 };

	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, OUT_LOW, 0);
	bufferevent_set_timeouts(s->bev, &tv, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void
process_input(struct imapd_session *s)
{
	struct evbuffer *in;

	while (!s->closing && !s->job_active && s->login == NULL &&
	    s->handoff == NULL && s->proxy == NULL) {
		size_t len, n, used;
		unsigned char *data;
		enum imap_parse_result r;

		in = bufferevent_get_input(s->bev);
		len = evbuffer_get_length(in);
		if (len == 0)
			break;
		if (s->mode != IMAPD_IN_COMMAND) {
			size_t ln;
			char *line = evbuffer_readln(in, &ln,
			    EVBUFFER_EOL_CRLF);

			if (line == NULL) {
				if (len > RAW_LINE_MAX) {
					imapd_printf(s, "* BYE Line too "
					    "long.\r\n");
					imapd_close_after_output(s);
				}
				break;
			}
			if (ln != strlen(line)) {
				free(line);
				line = xstrdup("");
			}
			raw_line(s, line);
			free(line);
			continue;
		}
		n = len < 65536 ? len : 65536;
		data = evbuffer_pullup(in, (ssize_t)n);
		r = imap_parser_feed(s->parser, (const char *)data, n, &used);
		evbuffer_drain(in, used);
		switch (r) {
		case IMAP_PARSE_MORE:
			continue;
		case IMAP_PARSE_CONTINUE:
			imapd_printf(s, "+ Ready for literal data\r\n");
			continue;
		case IMAP_PARSE_DONE:
			s->bad_count = 0;
			imapd_execute(s, imap_parser_command(s->parser));
			imap_parser_reset(s->parser);
			break;
		case IMAP_PARSE_BAD:
			imapd_printf(s, "%s BAD %s.\r\n",
			    imap_parser_tag(s->parser),
			    imap_parser_error(s->parser));
			imap_parser_reset(s->parser);
			if (++s->bad_count >= BAD_COMMANDS_MAX) {
				imapd_printf(s, "* BYE Too many invalid "
				    "commands.\r\n");
				imapd_close_after_output(s);
			}
			break;
		case IMAP_PARSE_FATAL:
			imapd_printf(s, "* BYE %s.\r\n",
			    imap_parser_error(s->parser));
			imap_parser_reset(s->parser);
			imapd_close_after_output(s);
			break;
		}
	}
}

/* The relay to the worker is over: so is the session. */
static void
proxy_end(void *arg)
{
	struct imapd_session *s = arg;

	s->proxy = NULL;
	log_info("disconnect from %s user=%s (worker)", s->addr,
	    s->user != NULL ? s->user : "-");
	session_free(s);
}

static void
handoff_done(void *arg, int fd, const char *error)
{
	struct imapd_session *s = arg;
	struct buf esc;
	char *tag = s->login_tag, *user = s->login_user;

	s->handoff = NULL;
	s->login_tag = s->login_user = NULL;
	buf_init(&esc, 0);
	log_escape(&esc, user, strlen(user) > 100 ? 100 : strlen(user));
	if (fd < 0) {
		log_warning("login user=%s from %s: no worker of the user's "
		    "uid: %s", esc.data, s->addr, error);
		imapd_printf(s, "%s NO [UNAVAILABLE] Temporary failure: the "
		    "mailbox cannot be opened now.\r\n", tag);
		imapd_input_resume(s);
	} else {
		log_info("login user=%s from %s%s: served by a worker of its "
		    "own uid", esc.data, s->addr, s->tls ? " (TLS)" : "");
		s->user = xstrdup(user);
		s->proxy = mailuser_proxy_start(s->srv->base, s->bev, fd,
		    proxy_end, s);
		s->bev = NULL;
	}
	buf_release(&esc);
	free(tag);
	free(user);
}

void
imapd_handoff(struct imapd_session *s)
{
	struct buf req;
	const char *error;

	buf_init(&req, 0);
	if (attr_encode(&req, "request", "session", &error) < 0 ||
	    attr_encode(&req, "service", "imap", &error) < 0 ||
	    attr_encode(&req, "user", s->login_user, &error) < 0 ||
	    attr_encode(&req, "client_address", s->addr, &error) < 0 ||
	    attr_encode(&req, "tls", s->tls ? "yes" : "no", &error) < 0 ||
	    attr_encode(&req, "tag", s->login_tag, &error) < 0)
		log_panic("imapd_handoff: %s", error);
	(void)attr_encode_end(&req);
	s->handoff = mailuser_request_start(s->srv->base,
	    s->srv->mailuser_path, &req, handoff_done, s);
	buf_release(&req);
}

void
imapd_session_start_worker(struct imapd_server *srv, int fd,
    const char *addr, bool tls, const char *user, const char *maildir,
    const char *tag)
{
	struct imapd_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->notify_fd = -1;
	s->parser = imap_parser_new(&srv->limits);
	if (str_copy(s->addr, sizeof(s->addr), addr) < 0)
		str_copy(s->addr, sizeof(s->addr), "unknown");
	s->tls = tls;
	evutil_make_socket_nonblocking(fd);
	s->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		log_warning("cannot set up the session of %s", addr);
		evutil_closesocket(fd);
		session_free(s);
		return;
	}
	imapd_session_setup_bev(s);
	imapd_login_finish(s, tag, user, maildir);
	if (s->state == IMAPD_NOT_AUTH) {
		imapd_close_after_output(s);
		return;
	}
	/* Commands the client pipelined after its login. */
	process_input(s);
}

void
imapd_session_start(struct imapd_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct imapd_session *s = xcalloc(1, sizeof(*s));
	unsigned long count;

	s->srv = srv;
	s->notify_fd = -1;
	s->parser = imap_parser_new(&srv->limits);
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    s->addr, sizeof(s->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, s->addr,
		    sizeof(s->addr));
	else
		str_copy(s->addr, sizeof(s->addr), "local");
	count = netserver_conn_add(srv->net, s->addr);
	s->counted = true;
	evutil_make_socket_nonblocking(fd);
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int one = 1;

		/*
		 * Answers leave in large writes already; without this the
		 * short last piece of one (the tagged line) waits for the
		 * client's delayed ACK (Nagle): 40 ms per command.
		 */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	if (srv->wrappermode) {
		SSL *ssl = tls_server_ssl_new(srv->tls);

		s->bev = ssl == NULL ? NULL :
		    bufferevent_openssl_socket_new(srv->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		s->tls = true;
	} else
		s->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		log_warning("cannot set up a session for %s", s->addr);
		evutil_closesocket(fd);
		session_free(s);
		return;
	}
	log_info("connect from %s%s", s->addr, s->tls ? " (TLS)" : "");
	imapd_session_setup_bev(s);
	if (srv->conn_limit > 0 && count > srv->conn_limit) {
		/* RFC 3501 7.1.5: BYE instead of a greeting. */
		log_warning("%s: too many connections (%lu)", s->addr, count);
		imapd_printf(s, "* BYE [UNAVAILABLE] Too many connections "
		    "from your address.\r\n");
		imapd_close_after_output(s);
		return;
	}
	imapd_greeting(s);
}
