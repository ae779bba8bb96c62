/*
 * pop3d - what the files of the POP3 server share: the server settings
 * (main.c) and the session (pop3d_session.c).
 */
#ifndef ULAK_POP3D_H
#define ULAK_POP3D_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct passdb;
struct tls_server;

enum pop3d_tls_level {
	POP3D_TLS_NONE,		/* no STLS */
	POP3D_TLS_MAY,		/* STLS offered */
	POP3D_TLS_ENCRYPT,	/* nothing but CAPA, STLS, QUIT before TLS */
};

struct netserver;

struct pop3d_server {
	struct event_base *base;
	struct tls_server *tls;		/* NULL: no certificate */
	struct passdb *passdb;
	char *banner;
	char *mailbox;			/* imap_mailbox template */
	char *service;
	uint64_t timeout;		/* seconds */
	bool wrappermode;		/* implicit TLS (pop3s) */
	enum pop3d_tls_level tls_level;
	bool tls_auth_only;
	uint64_t fail_delay;		/* seconds */
	uint64_t fail_delay_limit;
	uint64_t fail_limit;
	uint64_t conn_limit;		/* per client address; 0: none */
	struct netserver *net;		/* listeners, session counts */
	/* $queue_directory/private/mailuser: users of another uid than
	 * ours are handed to a worker of their own uid through it. */
	char *mailuser_path;
	/* Worker mode ("pop3d ... worker", started by mailuser): one
	 * session, already logged in; the process ends with it. */
	bool worker;
};

/* Start a session on the accepted socket FD (takes it over). */
void pop3d_session_start(struct pop3d_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen);
/*
 * Worker mode: serve the one session on FD (plaintext; the front keeps
 * the TLS), whose login as USER (METHOD "USER" or "PLAIN") the front
 * accepted; ADDR and TLS are for the logs.  Locks and lists the INBOX
 * of MAILDIR and answers +OK, or -ERR ([IN-USE], [SYS/TEMP]) and ends
 * the session.  The event loop is broken when the session ends.
 */
void pop3d_session_start_worker(struct pop3d_server *srv, int fd,
    const char *addr, bool tls, const char *user, const char *method,
    const char *maildir);

#endif
