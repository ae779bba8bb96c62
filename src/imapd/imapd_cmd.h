/*
 * imapd_cmd - the session of imapd and its commands (RFC 3501 6, and the
 * extensions of docs/imap.md).  Shared by imapd_session.c (I/O),
 * imapd_cmd.c (every command but FETCH/STORE/SEARCH) and imapd_fetch.c.
 */
#ifndef ULAK_IMAPD_CMD_H
#define ULAK_IMAPD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parser.h"

struct buf;
struct bufferevent;
struct event;
struct imapd_server;
struct mailstore;
struct mailstore_folder;
struct mailuser_request;
struct mailuser_proxy;

enum imapd_state {
	IMAPD_NOT_AUTH,
	IMAPD_AUTH,
	IMAPD_SELECTED,
};

enum imapd_input_mode {
	IMAPD_IN_COMMAND,
	IMAPD_IN_AUTH,		/* waiting for an AUTHENTICATE response */
	IMAPD_IN_IDLE,		/* waiting for DONE */
};

struct imapd_fetch_job;

struct imapd_session {
	struct imapd_server *srv;
	struct bufferevent *bev;
	struct imap_parser *parser;
	char addr[64];
	enum imapd_state state;
	enum imapd_input_mode mode;
	char *pending_tag;	/* AUTHENTICATE / IDLE */
	bool tls;
	bool closing;
	struct event *ev_close;	/* waits for the output to leave */
	unsigned close_polls;
	unsigned bad_count;
	char *user;
	struct mailstore *store;
	struct mailstore_folder *folder;
	struct mailstore *fstore;	/* the store FOLDER belongs to */
	bool readonly;
	int notify_fd;
	struct event *ev_notify;
	bool job_active;
	struct imapd_fetch_job *job;
	/* A login whose password is being checked: no input is read
	 * meanwhile. */
	struct imapd_login *login;
	char *login_tag;
	char *login_user;
	bool counted;		/* in the per-address connection count */
	/* A user of another uid: asking mailuser for a worker (no input
	 * is read meanwhile), then relaying to it. */
	struct mailuser_request *handoff;
	struct mailuser_proxy *proxy;
};

/* Output (imapd_session.c). */
void imapd_printf(struct imapd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void imapd_write(struct imapd_session *s, const void *p, size_t n);
bool imapd_output_full(const struct imapd_session *s);
void imapd_close_after_output(struct imapd_session *s);
void imapd_session_setup_bev(struct imapd_session *s);
void imapd_starttls(struct imapd_session *s);
void imapd_enter_idle(struct imapd_session *s, const char *tag);
void imapd_enter_auth(struct imapd_session *s, const char *tag);
/* Pause reading commands (a login is being checked), and go on again:
 * the commands that arrived meanwhile are then run. */
void imapd_input_pause(struct imapd_session *s);
void imapd_input_resume(struct imapd_session *s);

/*
 * Hand the session whose login (s->login_tag, s->login_user) just
 * succeeded to a worker of the user's uid (mailuser); the tagged answer
 * comes from the worker, or NO [UNAVAILABLE] from here when none can be
 * started (imapd_session.c).
 */
void imapd_handoff(struct imapd_session *s);

/* Commands (imapd_cmd.c). */
/*
 * The login of USER (command TAG) is accepted: open MAILDIR, enter the
 * authenticated state and answer OK, or NO [UNAVAILABLE] when the
 * mailbox cannot be opened.
 */
void imapd_login_finish(struct imapd_session *s, const char *tag,
    const char *user, const char *maildir);
void imapd_greeting(struct imapd_session *s);
void imapd_execute(struct imapd_session *s, const struct imap_command *c);
void imapd_auth_response(struct imapd_session *s, const char *tag,
    const char *line);
/* Untagged EXISTS/EXPUNGE/FETCH for what changed on disk (FLAGS:
 * MAILSTORE_SYNC_*).  May end the session (UIDVALIDITY changed). */
void imapd_report_updates(struct imapd_session *s, unsigned flags);
/* The selected folder's directory, appended to OUT. */
int imapd_folder_path(struct imapd_session *s, struct buf *out);
/* Free the session's mailbox state. */
void imapd_cmd_release(struct imapd_session *s);
/* Append "(\Seen ...)" for message I of the selected folder. */
void imapd_render_flags(struct imapd_session *s, size_t i, struct buf *out);
/* Indexes of the selected folder's messages in SET (UIDs when UID);
 * caller frees *V_R. */
size_t imapd_resolve_set(struct imapd_session *s,
    const struct imap_seqset *set, bool uid, size_t **v_r);

/* A flag or flag list (APPEND, STORE) into MAILSTORE_* bits and keyword
 * names (appended to KEYWORDS).  -1 for a bad flag. */
struct strlist;
int imapd_parse_flags(const struct imap_arg *a, unsigned *flags_r,
    struct strlist *keywords);

/* FETCH, STORE, SEARCH (imapd_fetch.c). */
void imapd_cmd_fetch(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n);
void imapd_fetch_resume(struct imapd_session *s);
void imapd_fetch_release(struct imapd_session *s);
void imapd_cmd_store(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n);
void imapd_cmd_search(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n);

#endif
