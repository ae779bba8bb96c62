/*
 * local - the local delivery agent: internal interfaces between its
 * modules (main.c: the server and the protocol; local_expand.c: aliases,
 * .forward, address extensions; local_deliver.c: Maildir, mbox, files,
 * commands; local_forward.c: re-submission through cleanup).
 */
#ifndef ULAK_LOCAL_H
#define ULAK_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "str.h"

struct queue_file;

/* Where a "|command" or "/file" destination came from (allow_mail_to_*). */
#define LOCAL_SRC_ALIAS 0x01u
#define LOCAL_SRC_FORWARD 0x02u
#define LOCAL_SRC_INCLUDE 0x04u

/* A user from local_user_maps (a passwd line). */
struct local_user {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home;
	char *shell;
};

/* Deep copy / release (NULL fields allowed). */
void local_user_copy(struct local_user *dst, const struct local_user *src);
void local_user_release(struct local_user *u);
/*
 * Parse a passwd(5) line "name:pw:uid:gid:gecos:home:shell" into U
 * (malloc'ed fields).  -1 with error_r on a malformed line.
 */
int local_user_parse(const char *line, struct local_user *u,
    const char **error_r);

enum local_dest_kind {
	LOCAL_DEST_MAILBOX,	/* the user's mailbox (home_mailbox/spool) */
	LOCAL_DEST_COMMAND,	/* "|command" */
	LOCAL_DEST_FILE,	/* "/file" (mbox), or "/folder/" (Maildir) */
	LOCAL_DEST_REMOTE,	/* an address handed back to cleanup */
};

/* One final destination of a recipient. */
struct local_dest {
	enum local_dest_kind kind;
	char *target;		/* user name, command, path, or address */
	char *address;		/* the local address delivered: Delivered-To */
	char *local;		/* its local part, with extension */
	char *extension;	/* "" when none */
	char *domain;		/* its domain */
	char *sender;		/* envelope sender to use (owner- alias) */
	unsigned source;	/* LOCAL_SRC_* (0 for the mailbox) */
	struct local_user user;	/* whose privileges it runs with */
};

struct local_expand_cfg {
	const char *recipient_delimiter;	/* "" = no extensions */
	bool owner_request_special;
	unsigned allow_commands;	/* LOCAL_SRC_* bits */
	unsigned allow_files;
	const char *forward_path;	/* unexpanded ($home, $user, ...) */
	const char *myorigin;		/* domain of owner- senders */
	/* Privileges for alias commands/files, and for root's; NULL when
	 * not running as root (everything runs as the invoking user). */
	const struct local_user *default_privs;
};

/*
 * What the expansion asks of the outside world (tables, files); tests
 * replace these with fakes.  Each returns 1 (found), 0 (not found) or -1
 * with error_r (a failure that defers the recipient).
 */
struct local_expand_ops {
	/* alias_maps: *VALUE_R malloc'ed, caller frees. */
	int (*alias)(void *ctx, const char *name, char **value_r,
	    const char **error_r);
	/* local_user_maps: fills *USER_R (malloc'ed fields). */
	int (*user)(void *ctx, const char *name, struct local_user *user_r,
	    const char **error_r);
	/* Read PATH with AS's privileges (NULL: our own) into OUT. */
	int (*read_file)(void *ctx, const struct local_user *as,
	    const char *path, struct buf *out, const char **error_r);
	/* True when DOMAIN is delivered here (mydestination). */
	bool (*is_local)(void *ctx, const char *domain);
};

struct local_expansion {
	struct local_dest *v;
	size_t n, cap;
	char dsn[16];		/* first failure ("" = none); 4.x.x wins */
	char *reason;		/* its text, malloc'ed */
};

void local_expansion_init(struct local_expansion *e);
void local_expansion_release(struct local_expansion *e);

/*
 * Expand RECIPIENT (internal form local@domain) with envelope SENDER into
 * final destinations: alias_maps (recursively, loops and duplicates
 * suppressed, owner- aliases), .forward, then the mailbox.  DELIVERED_TO
 * holds the Delivered-To: values of the message (loop detection).  Fills
 * OUT; OUT->dsn is set when part or all of it failed (4.x.x: the whole
 * recipient must be deferred, deliver nothing; 5.x.x: that part bounces,
 * the destinations found may still be delivered).  Never fails otherwise.
 */
void local_expand(const struct local_expand_cfg *cfg,
    const struct local_expand_ops *ops, void *ctx, const char *recipient,
    const char *sender, const struct strlist *delivered_to,
    struct local_expansion *out);

/*
 * Split LOCAL at the first recipient_delimiter character into *USER_R and
 * *EXT_R (both malloc'ed; *EXT_R "" when none).  owner-x and x-request are
 * never split at '-' when OWNER_REQUEST_SPECIAL.
 */
void local_split_extension(const char *local, const char *delimiters,
    bool owner_request_special, char **user_r, char **ext_r,
    char *delim_r);

/*
 * Expand one forward_path entry with the recipient's attributes (home,
 * user, extension, recipient_delimiter, local, domain): $name, ${name},
 * ${name?text}, ${name:text}.  Returns the malloc'ed path, or NULL when a
 * plainly referenced attribute is empty (Postfix then skips the entry).
 */
char *local_expand_path(const char *tmpl, const char *const *names,
    const char *const *values, size_t n);

/* The outcome of one delivery. */
struct local_result {
	char dsn[16];		/* "2.0.0", "4.2.0", ... */
	struct buf text;	/* reason for a person */
};

void local_result_init(struct local_result *r);
void local_result_release(struct local_result *r);
void local_result_set(struct local_result *r, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Settings read once at start-up. */
struct local_cfg {
	char *queue_directory;
	char *myhostname;
	char *myorigin;
	char *home_mailbox;
	char *mail_spool_directory;
	char *mailbox_command;
	char *local_command_shell;
	char *recipient_delimiter;
	char *forward_path;
	char *alias_maps;
	char *local_user_maps;
	struct strlist mydestination;
	struct strlist prepend_delivered_header;
	unsigned allow_commands, allow_files;
	bool owner_request_special;
	bool lock_fcntl, lock_dotlock;
	bool require_home_directory;
	uint64_t mailbox_size_limit;
	uint64_t command_time_limit;
	int ipc_timeout_ms;
	bool root;			/* running as root */
	struct local_user default_privs;	/* valid when root */
};

/* The message being delivered (read from the queue file). */
struct local_msg {
	struct queue_file *qf;
	const char *queue_id;
	const char *sender;
	const char *orig_rcpt;	/* the queue file's recipient */
	unsigned notify;	/* its NOTIFY */
	const char *orcpt;	/* its ORCPT or NULL */
};

/* Deliver D (not LOCAL_DEST_REMOTE) and set R. */
void local_deliver_dest(const struct local_cfg *cfg,
    const struct local_msg *m, const struct local_dest *d,
    struct local_result *r);
/*
 * Read PATH as AS (NULL or not root: as ourselves), at most MAX bytes,
 * into OUT: 1 read, 0 no such file, -1 with error_r.
 */
int local_read_file_as(const struct local_cfg *cfg,
    const struct local_user *as, const char *path, size_t max,
    struct buf *out, const char **error_r);

/*
 * Submit one new message through cleanup (origin=local): sender SENDER,
 * recipients ADDRS, content = "Delivered-To: DELIVERED_TO" + the queued
 * message.  On success R is "2.0.0 forwarded as ID"; else 4.x.x/5.x.x.
 */
void local_forward(const struct local_cfg *cfg, const struct local_msg *m,
    const char *sender, const char *delivered_to,
    const struct strlist *addrs, struct local_result *r);

#endif
