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

#include "imap_parser.h"

struct event_base;
struct config;
struct passdb;
struct tls_server;

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
	unsigned long sessions;
	bool draining;
};

/* Start a session on the accepted socket FD (takes ownership). */
void imapd_session_start(struct imapd_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen);
/* Called by a session when it ends. */
void imapd_session_ended(struct imapd_server *srv);

/*
 * Check USER's PASSWORD against the password tables and find the
 * Maildir to serve (imap_mailbox with $home and $user of that user).
 * Returns 1 with *MAILDIR_R (caller frees), 0 for a wrong user or
 * password, -1 with *error_r when the tables fail (a temporary error).
 */
int imapd_auth_login(struct imapd_server *srv, const char *user,
    const char *password, char **maildir_r, const char **error_r);

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
