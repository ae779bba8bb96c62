/*
 * mailuser_client - how the front processes of imapd and pop3d (which run
 * as mail_owner) hand a logged-in session over to a process of the user's
 * own uid: ask the mailuser service (private/mailuser, src/mailuser) to
 * start a worker on one end of a new socketpair, then relay the bytes
 * between the client's connection (TLS or not) and the other end.
 *
 * The request is attribute lines (docs/protocols.md, "mailuser") and the
 * socketpair end travels with it by SCM_RIGHTS.  The reply is distrusted
 * like any other (a malformed one counts as a failure).
 */
#ifndef ULAK_MAILUSER_CLIENT_H
#define ULAK_MAILUSER_CLIENT_H

struct buf;
struct bufferevent;
struct event_base;
struct mailuser_request;
struct mailuser_proxy;

/* How long a front waits for the service's answer, seconds. */
#define MAILUSER_REPLY_TIMEOUT 20

/*
 * DONE(CTX, FD, ERROR): FD >= 0 is the front's end of the socketpair
 * (non-blocking; the callee owns it) when the service said status=0 (the
 * worker is running); FD -1 with ERROR (text for the log) otherwise.
 */
typedef void mailuser_request_fn(void *ctx, int fd, const char *error);

/*
 * Send REQUEST (complete attribute lines, end line included) with a new
 * socketpair end to the service listening on SOCKET_PATH.  DONE is called
 * once, later, from BASE's loop (never from inside this call), unless the
 * request is cancelled first.  Never fails: every failure comes through
 * DONE.  Never blocks.
 */
struct mailuser_request *mailuser_request_start(struct event_base *base,
    const char *socket_path, const struct buf *request,
    mailuser_request_fn *done, void *ctx);
/* Forget R: DONE is never called, everything is freed.  NULL is allowed. */
void mailuser_request_cancel(struct mailuser_request *r);

/*
 * END(CTX): the relay is over (either side closed, and what the other
 * had to send is sent or given up after a while); both connections are
 * closed by then.
 */
typedef void mailuser_proxy_end_fn(void *ctx);

/*
 * Relay bytes between CLIENT (taken over: its callbacks and timeouts are
 * replaced, and the proxy frees it) and the socket FD (taken over).  What
 * CLIENT's input already holds (commands pipelined after the login) is
 * sent to FD first.  Either side closing closes the other once its
 * output has left.  Output waiting for a slow reader stops the reading
 * from the other side (at most 1 MiB is buffered each way).  Never fails.
 */
struct mailuser_proxy *mailuser_proxy_start(struct event_base *base,
    struct bufferevent *client, int fd, mailuser_proxy_end_fn *end,
    void *ctx);
/* Close both connections at once and free P; END is not called. */
void mailuser_proxy_free(struct mailuser_proxy *p);

/*
 * The worker's side (imapd/pop3d started by mailuser as the user): what
 * mailuser put in the ULAK_WORKER_* environment.  mailuser_worker_setup
 * checks it all and is fatal on anything wrong: running as root, a
 * variable missing or empty, a Maildir path that is not absolute, EXTRA
 * (the IMAP tag or the POP3 login method, from ULAK_WORKER_TAG or
 * ULAK_WORKER_METHOD) with a control character, space or 8-bit byte, or
 * descriptor DAEMON_LISTEN_FD that is not a socket.
 */
struct mailuser_worker {
	const char *user;
	const char *maildir;	/* absolute */
	const char *address;	/* the client's, for the logs */
	const char *extra;
	int tls;		/* the front's connection is TLS: 1, else 0 */
};

void mailuser_worker_setup(struct mailuser_worker *w,
    const char *extra_name);

#endif
