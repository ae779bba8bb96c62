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

#include "hbc.h"
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
	/* Header and body checks (cleanup_msg.c, docs/content-checks.md). */
	struct hbc_tables *hbc;		/* NULL: none configured */
	bool hbc_broken;		/* a table failed to open: defer all */
	uint64_t body_checks_size_limit;
	bool disable_mime_input_processing;
};

/* The reply cleanup gives for one message. */
struct cleanup_status {
	int status;		/* 0 = queued, 4 = try again, 5 = refused */
	char dsn[16];		/* RFC 3463 code with status 4/5: "4.3.1" */
	char reason[256];	/* "Insufficient system storage" */
	char queue_id[QUEUE_ID_SIZE];
};

/* Who submits a message (the origin attribute of request=open). */
enum cleanup_origin {
	CLEANUP_ORIGIN_SMTPD,
	CLEANUP_ORIGIN_PICKUP,
	CLEANUP_ORIGIN_BOUNCE,
	CLEANUP_ORIGIN_LOCAL,
};

/* The envelope of one message, as the client sent it in request=open. */
struct cleanup_env {
	enum cleanup_origin origin;
	char *sender;		/* "" = null sender */
	char *full_name;	/* pickup: sendmail -F; or NULL */
	enum queue_ret ret;
	unsigned flags;		/* QUEUE_FLAG_* */
	char *fields[QUEUE_FIELD_COUNT];	/* QUEUE_SENDER unused here */
	bool rewrite_headers;	/* add missing headers, complete addresses */
	long uid;		/* pickup: submitting user, -1 unknown */
	time_t arrival;		/* 0: now */
};

void cleanup_env_init(struct cleanup_env *env);
void cleanup_env_release(struct cleanup_env *env);

struct cleanup_msg;

/*
 * Start a message: open a queue file in incoming/ and fill in the envelope
 * (the sender completed with $myorigin when it lacks a domain).  ENV must
 * outlive the message.  Never NULL: a failure (no space, read-only
 * folder, a bad envelope value) is remembered; cleanup_msg_status tells
 * it, and the content is then read and discarded.
 */
struct cleanup_msg *cleanup_msg_begin(const struct cleanup_cfg *cfg,
    const struct cleanup_env *env);
/* The outcome so far (status 0 = fine until now) and the queue ID. */
void cleanup_msg_status(const struct cleanup_msg *m, struct cleanup_status *st);
/* Add a recipient (completed with $myorigin); before the first content. */
void cleanup_msg_add_rcpt(struct cleanup_msg *m, const char *address,
    const char *orcpt, unsigned notify);
/* The client broke the protocol: the reply will be status 4, dsn 4.3.0. */
void cleanup_msg_protocol_error(struct cleanup_msg *m, const char *what);
/* Feed LEN bytes of content (any chunking).  Never fails: see finish. */
void cleanup_msg_write(struct cleanup_msg *m, const void *data, size_t len);
/* Content bytes fed so far. */
uint64_t cleanup_msg_size(const struct cleanup_msg *m);
/*
 * The client asks for the message to go into hold/ (request=end
 * hold=REASON: smtpd's DMARC quarantine); logged as "ID: hold: REASON".
 */
void cleanup_msg_hold(struct cleanup_msg *m, const char *reason);
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
