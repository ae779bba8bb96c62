/*
 * cleanup.h - what the parts of the cleanup daemon share: the settings
 * read once at start-up, the envelope of one message, and the message
 * processor (headers completed, size limits, queue file written).
 *
 * Internal to src/cleanup.
 */
#ifndef ULAK_CLEANUP_H
#define ULAK_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue_file.h"
#include "str.h"

/*
 * Every main.cf value cleanup uses, read once at start-up: config_*
 * caches values and is not thread-safe, and the threads only ever read
 * this struct.
 */
struct cleanup_cfg {
	char *queue_directory;
	char *myhostname;
	char *myorigin;
	uint64_t message_size_limit;	/* 0: none */
	uint64_t header_size_limit;
	uint64_t hopcount_limit;
	bool always_add_missing_headers;
	int ipc_timeout_ms;		/* read timeout on a client */
	bool verbose;			/* log more */
};

/* The reply cleanup gives for one message. */
struct cleanup_status {
	int status;		/* 0 = queued, 4 = try again, 5 = refused */
	char text[256];		/* "4.3.1 Insufficient system storage" */
	char queue_id[QUEUE_ID_SIZE];
};

struct cleanup_rcpt {
	char *address;
	char *orcpt;		/* NULL when none */
	unsigned notify;
};

/* The envelope of one message, as the client sent it. */
struct cleanup_env {
	char *sender;		/* "" = null sender */
	char *full_name;	/* local submissions: sendmail -F; or NULL */
	struct cleanup_rcpt *rcpts;
	size_t n_rcpts, cap_rcpts;
	enum queue_ret ret;
	unsigned flags;		/* QUEUE_FLAG_* */
	char *fields[QUEUE_FIELD_COUNT];	/* QUEUE_SENDER unused here */
	bool local;		/* local submission (pickup) */
	bool rewrite_headers;	/* complete header addresses with $myorigin */
	long uid;		/* local: submitting user, -1 unknown */
	time_t arrival;		/* 0: now */
};

void cleanup_env_init(struct cleanup_env *env);
void cleanup_env_release(struct cleanup_env *env);
void cleanup_env_add_rcpt(struct cleanup_env *env, const char *address,
    const char *orcpt, unsigned notify);

struct cleanup_msg;

/*
 * Start a message: open a queue file in incoming/ and fill in the envelope
 * (addresses completed with $myorigin where they lack a domain).  ENV is
 * read here and later for logging; it must outlive the message.  Never
 * NULL: an error (no space, a bad envelope value) is remembered and shows
 * in cleanup_msg_finish, and the content is then read and discarded.
 */
struct cleanup_msg *cleanup_msg_begin(const struct cleanup_cfg *cfg,
    const struct cleanup_env *env);
/* Feed LEN bytes of content (any chunking).  Never fails: see finish. */
void cleanup_msg_write(struct cleanup_msg *m, const void *data, size_t len);
/*
 * End of the content: add what is missing, commit the queue file (durable
 * on disk before this returns with status 0), log, and free M.  *ST gets
 * the outcome.
 */
void cleanup_msg_finish(struct cleanup_msg *m, struct cleanup_status *st);
/* The client went away or broke the protocol: remove the file, free M. */
void cleanup_msg_abort(struct cleanup_msg *m);

/*
 * Serve one client connection FD (the cleanup protocol) until it closes,
 * breaks the protocol or times out.  Does not close FD.
 */
void cleanup_session_run(const struct cleanup_cfg *cfg, int fd);

/* Parse "success,failure,delay" / "never" into QUEUE_NOTIFY_*; -1 when bad. */
int cleanup_parse_notify(const char *s, unsigned *notify_r);

#endif
