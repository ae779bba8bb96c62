/*
 * queue_log - the per-message logs bounce/ID and defer/ID
 * (docs/protocols.md, "Bounce logs"): one attribute request per event,
 * appended by qmgr, read by bounce and ulak queue.
 *
 * The reader distrusts the file (another process wrote it, a crash may
 * have cut its last entry): an entry that is incomplete or lacks a field
 * ends the reading there, with the entries before it kept.
 */
#ifndef ULAK_QUEUE_LOG_H
#define ULAK_QUEUE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;

struct queue_log_entry {
	size_t rcpt;		/* recipient index in the queue file */
	const char *address;	/* the recipient */
	const char *action;	/* failed, delayed, delivered, relayed, expanded */
	const char *dsn;	/* X.Y.Z */
	const char *reason;	/* text for a person */
	time_t time;
};

/*
 * Set OUT (reset first) to QUEUE_DIR/FOLDER/ID, FOLDER being "bounce" or
 * "defer"; SUFFIX ("" or e.g. ".warned") is appended.
 */
void queue_log_path(struct buf *out, const char *queue_dir,
    const char *folder, const char *id, const char *suffix);

/*
 * Append entry E to the log PATH (created mode 0600 when missing) with
 * one O_APPEND write; with SYNC fsync it before returning (and the folder
 * when the file was new).  -1 with error_r on any failure.
 */
int queue_log_append(const char *path, const struct queue_log_entry *e,
    bool sync, const char **error_r);

/* The entries of one log, owned by the struct. */
struct queue_log {
	struct queue_log_entry *v;
	size_t n;
	void *priv;
};

/*
 * Read the log PATH into LOG (which the caller releases with
 * queue_log_release, also after a failure).  A missing file gives 0 entries
 * and returns 0 (*EXISTS_R false when EXISTS_R is not NULL).  A damaged
 * entry ends the reading (entries before it are kept; returns 0).  -1 with
 * error_r when the file cannot be read.
 */
int queue_log_read(const char *path, struct queue_log *log, bool *exists_r,
    const char **error_r);
void queue_log_release(struct queue_log *log);

/*
 * The last entry for recipient RCPT in LOG, or NULL (a defer log holds one
 * entry per attempt; the last one counts).
 */
const struct queue_log_entry *queue_log_last(const struct queue_log *log,
    size_t rcpt);

#endif
