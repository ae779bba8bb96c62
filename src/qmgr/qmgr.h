/*
 * qmgr.h - what the files of the queue manager share (internal to
 * src/qmgr).
 *
 * main.c       start-up, signals, the qmgr socket, folder scans, timers
 * qmgr_msg.c   one message's life in active/: resolve, jobs per
 *              destination, replies, bounce/defer logs, notices, then
 *              removal or deferral
 * qmgr_call.c  one asynchronous request/reply exchange with a daemon
 *              under private/ (delivery agents, bounce)
 */
#ifndef ULAK_QMGR_H
#define ULAK_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue_id.h"

struct event_base;
struct attr_list;
struct buf;
struct config;
struct resolve;

/* Settings, read once at start-up. */
struct qmgr_cfg {
	char *queue_directory;
	uint64_t minimal_backoff_time;
	uint64_t maximal_backoff_time;
	uint64_t queue_run_delay;
	uint64_t maximal_queue_lifetime;
	uint64_t bounce_queue_lifetime;
	uint64_t delay_warning_time;
	int ipc_timeout;		/* seconds */
	unsigned qmgr_message_active_limit;
	unsigned default_destination_concurrency_limit;
	unsigned default_destination_recipient_limit;
	unsigned default_process_limit;
	struct resolve *resolve;
	struct config *config;		/* for <transport>_* parameters */
};

extern struct qmgr_cfg qmgr_cfg;
extern struct event_base *qmgr_base;

/* main.c: called by qmgr_msg.c when a message leaves memory. */
void qmgr_message_gone(void);
/* main.c: a deferred message wants a retry at WHEN: scan by then. */
void qmgr_deferred_due(time_t when);
/* main.c: true while draining (SIGUSR1): no new deliveries start. */
bool qmgr_draining(void);
/* main.c: a call finished; exit when draining and none is left. */
void qmgr_call_finished(void);

/* qmgr_msg.c */

/* Messages in memory (active/). */
unsigned qmgr_msg_count(void);
bool qmgr_msg_known(const char *id);
/*
 * Take queue file ID from FOLDER (incoming, deferred or active): move it
 * to active/ unless it is there, read it, resolve its recipients and
 * queue its deliveries.  A corrupt file goes to corrupt/.  Returns 0, or
 * -1 when the file was gone (someone else moved it).
 */
int qmgr_msg_take(const char *folder, const char *id);
/* Start whatever deliveries the limits allow (after a limit freed up). */
void qmgr_dispatch_all(void);
/* Free everything (exit under ASan). */
void qmgr_msg_shutdown(void);

/* qmgr_call.c */

/*
 * The outcome of a call: REPLY is the reply request, or NULL with ERROR
 * saying why there is none (EOF, timeout, malformed reply).
 */
typedef void qmgr_call_cb(void *ctx, const struct attr_list *reply,
    const char *error);

struct qmgr_call;

/* Number of calls in flight. */
unsigned qmgr_call_count(void);
/*
 * Connect to private/SERVICE (non-blocking), send REQUEST (a complete
 * encoded request) and call CB once with the reply or the failure, after
 * at most TIMEOUT seconds.  When the connection cannot even be made, return
 * NULL with *error_r ("connect to private/smtp: No such file or
 * directory") and never call CB.
 */
struct qmgr_call *qmgr_call_start(const char *service,
    const struct buf *request, int timeout, qmgr_call_cb *cb, void *ctx,
    const char **error_r);
/*
 * Abandon every call in flight (at exit): no callback runs; FREE_CTX, when
 * not NULL, gets each call's callback and context to free the latter.
 */
void qmgr_call_shutdown(void (*free_ctx)(qmgr_call_cb *cb, void *ctx));

#endif
