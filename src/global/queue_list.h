/*
 * queue_list - the mailq listing of `ulak queue` (the format of Postfix's
 * mailq, so that scripts written for it keep working):
 *
 *   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   1GA4GC208J03NQK8N*  1234 Tue Apr 21 12:09:30 jane@example.org
 *                                                bob@example.com
 *
 * A '*' after the ID marks a message being delivered (active/), '!' one
 * on hold; a deferred recipient is preceded by its last deferral reason
 * in parentheses; the empty sender shows as MAILER-DAEMON.  The listing
 * ends with "-- N Kbytes in M Requests." or is the single line "Mail queue
 * is empty".
 *
 * Pure formatting: the caller reads the queue.
 */
#ifndef ULAK_QUEUE_LIST_H
#define ULAK_QUEUE_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

struct queue_list_rcpt {
	const char *address;
	const char *reason;	/* last deferral reason, or NULL */
};

struct queue_list_entry {
	const char *id;
	char flag;		/* ' ', '*' (active) or '!' (hold) */
	uint64_t size;		/* message size in bytes */
	time_t arrival;
	const char *sender;	/* "" = null sender */
	const struct queue_list_rcpt *rcpts;	/* the open recipients */
	size_t n_rcpts;
};

/* Append the header line. */
void queue_list_header(struct buf *out);
/*
 * Append one message: its line, its recipients (each reason once before
 * the recipients that share it) and an empty line.  The arrival time is
 * shown in local time; control bytes in addresses and reasons are shown
 * as '?'.
 */
void queue_list_entry(struct buf *out, const struct queue_list_entry *e);
/*
 * Append the summary: "-- N Kbytes in M Requests." (Request when M is 1;
 * N rounds TOTAL_BYTES up to whole KiB), or "Mail queue is empty" when M
 * is 0.
 */
void queue_list_total(struct buf *out, uint64_t total_bytes,
    size_t n_requests);

#endif
