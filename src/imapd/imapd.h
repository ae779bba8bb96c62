/*
 * imapd - shared declarations of the IMAP server's modules: the server
 * settings, sessions, logins and TLS.
 */
#ifndef ULAK_IMAPD_H
#define ULAK_IMAPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "imap_parser.h"

struct event_base;
struct config;
struct passdb;
struct passdb_user;
struct tls_server;
struct netserver;
struct imapd_login_pool;
struct imapd_login;

struct imapd_server {
	struct event_base *base;
	struct config *cfg;
	char *banner;
	char *service;
	uint64_t timeout;		/* imapd_timeout, seconds */
	bool tls_auth_only;		/* imapd_tls_auth_only */
	bool wrappermode;		/* imapd_tls_wrappermode */
	struct tls_server *tls;		/* NULL: no STARTTLS, no imaps */
	struct passdb *passwords;	/* imapd_password_maps */
	struct imap_parser_limits limits;
	/* imapd_client_connection_count_limit (0: none) */
	unsigned long conn_limit;
	struct netserver *net;		/* listeners, session counts */
	struct imapd_login_pool *logins;	/* password-check threads */
	/* $queue_directory/private/mailuser: users of another uid than
	 * ours are handed to a worker of their own uid through it. */
	char *mailuser_path;
	/* Worker mode ("imapd ... worker", started by mailuser): one
	 * session, already logged in; the process ends with it. */
	bool worker;
};

/* Start a session on the accepted socket FD (takes ownership). */
void imapd_session_start(struct imapd_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen);
/*
 * Worker mode: serve the one session on FD (plaintext; the front keeps
 * the TLS), whose LOGIN or AUTHENTICATE command TAG the front accepted
 * for USER; ADDR and TLS are for the logs.  Opens MAILDIR and sends the
 * tagged OK (or NO when the mailbox cannot be opened).  The event loop
 * is broken when the session ends.
 */
void imapd_session_start_worker(struct imapd_server *srv, int fd,
    const char *addr, bool tls, const char *user, const char *maildir,
    const char *tag);

/*
 * Logins without blocking the event loop (imapd_auth.c).  The table
 * lookup is quick and runs at once; the slow part, the crypt(3) hash
 * (yescrypt costs tens of milliseconds on purpose), runs on one of a few
 * worker threads, and DONE(CTX, RESULT, MAILDIR, UID, ERROR) is called
 * later on the event loop's thread: RESULT 1 with MAILDIR (imap_mailbox
 * expanded for the user; the callee frees it) and the user's UID (from
 * the table), 0 for a wrong user or
 * password, -1 with ERROR when the tables or the mailbox path fail.
 * PASSWORD is copied and wiped after use.  Returns a handle that
 * imapd_login_cancel makes forget CTX (DONE is then never called);
 * after DONE the handle is gone.
 */
typedef void imapd_login_done_fn(void *ctx, int result, char *maildir,
    uid_t uid, const char *error);
struct imapd_login *imapd_login_start(struct imapd_server *srv,
    const char *user, const char *password, imapd_login_done_fn *done,
    void *ctx);
void imapd_login_cancel(struct imapd_login *l);
/*
 * Start N worker threads for password checks (after privileges are
 * dropped; libevent must have been told to use pthreads before the
 * event base was made).  Exits when no thread can be started.
 * imapd_login_pool_stop ends them (pending checks are dropped).
 */
struct imapd_login_pool *imapd_login_pool_start(unsigned n);
void imapd_login_pool_stop(struct imapd_login_pool *pool);
/*
 * The password hashing method libcrypt prefers ("$y$"), for the start-up
 * log line.  Also keeps libcrypt a direct dependency of imapd.
 */
const char *imapd_auth_crypt_method(void);

/*
 * Decode an RFC 4616 PLAIN response (base64 text B64): authzid,
 * authcid, password.  0 with the two (caller frees) when well formed and
 * the authzid is empty or equal to the authcid; -1 otherwise.
 */
int imapd_sasl_plain(const char *b64, char **user_r, char **password_r);

/* The server TLS context from imapd_tls_cert_file/key_file/chain_files;
 * NULL with *error_r when none is configured or it cannot load. */
struct tls_server *imapd_tls_context(struct config *cfg,
    const char **error_r);

#endif
