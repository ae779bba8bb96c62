/*
 * dsn - delivery status notifications (RFC 3464): the whole notice
 * message that bounce submits for a message that failed, is delayed or
 * was delivered with NOTIFY=SUCCESS, plus the NOTIFY rules (RFC 3461 4.1).
 *
 * The builder is pure: it is given the original's envelope data, the
 * recipients with their outcomes and a reader for the original content,
 * and appends the notice (header and body, CRLF line ends, as cleanup
 * takes content) to a buffer.  It keeps no state; thread-safe.
 *
 * Everything it is given is distrusted as header material: addresses,
 * ENVID, ORCPT and reasons (which may come from a remote server) have
 * their control characters replaced and are length-capped before they go
 * into a header line or a status field; the MIME boundary is chosen so
 * that it occurs in none of the parts.
 */
#ifndef ULAK_DSN_H
#define ULAK_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue_file.h"

struct buf;

/* Which notice. */
enum dsn_kind {
	DSN_KIND_FAILURE,	/* "Undelivered Mail Returned to Sender" */
	DSN_KIND_DELAY,		/* "Delayed Mail (still being retried)" */
	DSN_KIND_SUCCESS,	/* "Successful Mail Delivery Report" */
};

/* One recipient the notice reports on. */
struct dsn_rcpt {
	const char *address;	/* envelope recipient (Final-Recipient) */
	const char *orcpt;	/* RFC 3461 ORCPT "type;address", or NULL */
	const char *action;	/* failed, delayed, delivered, relayed, expanded */
	const char *status;	/* enhanced status code X.Y.Z */
	const char *reason;	/* text for a person; may be a remote reply */
	time_t last_attempt;	/* Last-Attempt-Date; 0: omitted */
};

/*
 * Reads the original content: up to LEN bytes at OFFSET into DATA, *GOT_R
 * 0 at the end.  -1 with error_r on failure (queue_file_read_content has
 * this shape; see dsn_queue_file_reader).
 */
typedef int dsn_read_fn(void *ctx, uint64_t offset, void *data, size_t len,
    size_t *got_r, const char **error_r);

/* What to build. */
struct dsn_notice {
	enum dsn_kind kind;
	/*
	 * A notice for postmaster (bounce_notice_recipient copy, or a double
	 * bounce when SENDER is ""): another subject and text; the original
	 * is then returned as headers only.
	 */
	bool postmaster;
	const char *hostname;	/* $myhostname */
	const char *queue_id;	/* the original's queue ID */
	const char *sender;	/* the original's envelope sender; "" = <> */
	const char *to;		/* who gets the notice (To: header) */
	const char *envid;	/* RFC 3461 ENVID, or NULL */
	time_t arrival;		/* Arrival-Date */
	time_t now;		/* Date: and the boundary */
	time_t retry_until;	/* DSN_KIND_DELAY: Will-Retry-Until (0: none) */
	const struct dsn_rcpt *rcpts;
	size_t n_rcpts;		/* at least one */
	/* The original message (content as in the queue file). */
	dsn_read_fn *read;
	void *read_ctx;
	uint64_t length;	/* content bytes */
	enum queue_ret ret;	/* RFC 3461 RET of the original */
	/*
	 * bounce_size_limit: a failure notice returns the whole original
	 * only when it is at most this big, else its headers (cut at a line
	 * end to this size).  0: no limit.
	 */
	uint64_t size_limit;
};

/* What was built. */
struct dsn_result {
	bool eight_bit;		/* some part holds 8-bit bytes: send BODY=8BITMIME */
	bool returned_full;	/* the whole original is attached (message/rfc822) */
	bool headers_cut;	/* the original was too big: headers only */
};

/*
 * Append the complete notice for N to OUT: header (From:
 * MAILER-DAEMON@HOSTNAME, To:, Subject:, Date:, Auto-Submitted:, MIME
 * headers; no Message-ID: cleanup adds it) and a multipart/report body
 * with a text/plain part, a message/delivery-status part and the
 * original (message/rfc822 when returned in full, else
 * text/rfc822-headers).  Which of the original: the whole message for a
 * failure notice to the sender unless RET=HDRS or it is bigger than
 * size_limit; the headers otherwise (delay and success notices,
 * postmaster notices, RET=HDRS), as Postfix does.
 * Fills *RES_R.  -1 with error_r (OUT unchanged) when N has no
 * recipient or the original cannot be read.
 */
int dsn_build(const struct dsn_notice *n, struct buf *out,
    struct dsn_result *res_r, const char **error_r);

/*
 * True when a recipient with NOTIFY (QUEUE_NOTIFY_* bits; 0 = not given)
 * wants a notice about ACTION: "failed" with FAILURE or no NOTIFY,
 * "delayed" with DELAY or no NOTIFY, "delivered"/"relayed"/"expanded"
 * only with SUCCESS; never with NEVER.  False for unknown actions.
 */
bool dsn_notify_wants(unsigned notify, const char *action);

/*
 * The kind of notice ACTION belongs to (failed: FAILURE, delayed: DELAY,
 * delivered/relayed/expanded: SUCCESS), or -1 when ACTION is not an RFC
 * 3464 action.
 */
int dsn_action_kind(const char *action);

/*
 * Split a reason that quotes a remote server, in the form the smtp
 * client writes ("host NAME[ADDR] said: 550 5.1.1 text (in reply to RCPT
 * TO command)"): appends NAME to MTA and "550 5.1.1 text" to DIAG and
 * returns true.  False (nothing appended) for any other reason.
 */
bool dsn_remote_reply(const char *reason, struct buf *mta, struct buf *diag);

/* A dsn_read_fn over a struct queue_file (CTX). */
int dsn_queue_file_reader(void *ctx, uint64_t offset, void *data, size_t len,
    size_t *got_r, const char **error_r);

#endif
