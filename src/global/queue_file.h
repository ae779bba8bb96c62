/*
 * queue_file - the durable queue file: one message with its envelope.
 *
 * Format (docs/queue-format.md): a magic + version line, envelope lines
 * "name=value" (values escaped as in attr.h), per-recipient groups ending
 * in a one-byte done-mark that is updated in place, a content_length line
 * and an empty line, then the message content exactly as received, then
 * an end line repeating the content length.
 *
 * The writer (used by cleanup only) builds the file under a hidden name in
 * incoming/ and makes it appear as incoming/<ID> only once it is durable.
 * The reader (qmgr, local, smtp, bounce, ulak queue) validates the whole
 * envelope and the file size before handing out anything: a truncated or
 * garbled file is an error, never a guess.
 */
#ifndef ULAK_QUEUE_FILE_H
#define ULAK_QUEUE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "queue_id.h"

#define QUEUE_FILE_VERSION 1
/* The version of files with a content_filter field (readers take both). */
#define QUEUE_FILE_VERSION_FILTER 2
/* Longest envelope line before its LF. */
#define QUEUE_LINE_MAX 8192
/* Largest envelope (all lines up to and with the empty line). */
#define QUEUE_ENVELOPE_MAX (64u * 1024 * 1024)

/* The string fields of the envelope. */
enum queue_field {
	QUEUE_SENDER,		/* envelope sender; "" = null sender <>; always set */
	QUEUE_ENVID,		/* RFC 3461 ENVID, xtext-decoded */
	QUEUE_CLIENT_NAME,	/* verified client host name or "unknown" */
	QUEUE_CLIENT_ADDRESS,	/* client IP address */
	QUEUE_CLIENT_PORT,	/* client TCP port */
	QUEUE_HELO_NAME,	/* HELO/EHLO argument */
	QUEUE_PROTOCOL,		/* SMTP, ESMTP, ESMTPS, ESMTPSA, ..., or "local" */
	QUEUE_SASL_USERNAME,	/* authenticated user */
	QUEUE_FIELD_COUNT
};

/* RFC 3461 RET. */
enum queue_ret {
	QUEUE_RET_NONE = 0,
	QUEUE_RET_FULL,
	QUEUE_RET_HDRS,
};

/* Message flags. */
#define QUEUE_FLAG_8BITMIME 0x01u	/* BODY=8BITMIME */
#define QUEUE_FLAG_SMTPUTF8 0x02u	/* SMTPUTF8 (RFC 6531) */

/* RFC 3461 NOTIFY; 0 = not given (the default: FAILURE,DELAY). */
#define QUEUE_NOTIFY_NEVER 0x01u
#define QUEUE_NOTIFY_SUCCESS 0x02u
#define QUEUE_NOTIFY_FAILURE 0x04u
#define QUEUE_NOTIFY_DELAY 0x08u

/* Done-marks: the one byte that records what became of a recipient. */
enum queue_rcpt_status {
	QUEUE_RCPT_OPEN = '-',		/* still to be delivered */
	QUEUE_RCPT_DELIVERED = 'D',	/* delivered (or handed on) */
	QUEUE_RCPT_BOUNCED = 'B',	/* failed for good; sender notified */
};

struct queue_rcpt {
	char *address;		/* envelope recipient, without <> */
	char *orcpt;		/* RFC 3461 ORCPT "type;address" decoded, or NULL */
	unsigned notify;	/* QUEUE_NOTIFY_* */
	char status;		/* enum queue_rcpt_status */
};

/* Writer. */

struct queue_writer;

/*
 * Start a new queue file in QUEUE_DIR/incoming/ under a hidden temporary
 * name (".tmp-..."), mode 0600.  Returns NULL with error_r when it cannot be
 * created.  The queue ID is known at once (queue_writer_id).
 */
struct queue_writer *queue_writer_open(const char *queue_dir,
    const char **error_r);
/* The ID the file will have (for logging); valid until commit/abort. */
const char *queue_writer_id(const struct queue_writer *w);
/*
 * Envelope setters; all must be called before the first content write
 * (calling one later is a broken contract: panic).  String values may hold
 * any byte but NUL, also CR and LF: they come back byte for byte, so a
 * reader that puts them into a header must check them.  -1 with error_r
 * when a value is too long for one line (QUEUE_LINE_MAX once escaped).
 * Setting a field again replaces it.  The arrival time defaults to the open time.
 */
int queue_writer_set(struct queue_writer *w, enum queue_field field,
    const char *value, const char **error_r);
void queue_writer_set_arrival(struct queue_writer *w, time_t arrival);
void queue_writer_set_ret(struct queue_writer *w, enum queue_ret ret);
void queue_writer_set_flags(struct queue_writer *w, unsigned flags);
/*
 * Add a recipient (ADDRESS non-empty; ORCPT NULL or "" when none; NOTIFY a
 * valid combination of QUEUE_NOTIFY_*).  -1 with error_r on a bad value.
 */
int queue_writer_add_rcpt(struct queue_writer *w, const char *address,
    const char *orcpt, unsigned notify, const char **error_r);
/*
 * Late envelope changes, allowed also after the content was started (the
 * header and body checks of cleanup decide them while the content
 * streams): they make commit write the file once more with the new
 * envelope and a copy of the content, under the same queue ID.
 *
 * queue_writer_add_rcpt may then be called as well.  clear_rcpts drops
 * every recipient (REDIRECT: clear, then add the new one).
 * set_filter records a content filter "transport:nexthop" (qmgr routes
 * every recipient there; the file becomes version 2); -1 with error_r
 * when FILTER has no ':' or is too long.  set_folder makes commit put the
 * file into FOLDER ("incoming" or "hold"; anything else is a broken
 * contract: panic) - no rewrite needed for that.
 */
void queue_writer_clear_rcpts(struct queue_writer *w);
size_t queue_writer_rcpt_count(const struct queue_writer *w);
int queue_writer_set_filter(struct queue_writer *w, const char *filter,
    const char **error_r);
void queue_writer_set_folder(struct queue_writer *w, const char *folder);

/*
 * Append message content (headers and body as received, dot-unstuffed).
 * Streams to disk; memory use does not grow with the content.  The first
 * call writes the envelope.  -1 with error_r on a write error (ENOSPC,
 * EFBIG, EIO); the writer then refuses everything and must be aborted.
 */
int queue_writer_write_content(struct queue_writer *w, const void *data,
    size_t len, const char **error_r);
/*
 * Finish the file: end line, fsync, rename to incoming/<ID> (or the
 * folder set_folder chose), fsync of that folder.  On success copies the ID to ID_R and returns 0: the message
 * is on stable storage.  On failure (also: no sender set, no recipient)
 * returns -1 with error_r and leaves no file behind.  Either way W is freed.
 */
int queue_writer_commit(struct queue_writer *w, char id_r[QUEUE_ID_SIZE],
    const char **error_r);
/* Remove the temporary file and free W. NULL is allowed. */
void queue_writer_abort(struct queue_writer *w);

/* Reader. */

struct queue_file;

/*
 * Open and validate the queue file PATH: envelope, recipients, file size
 * and end line.  FOR_UPDATE opens it read-write (needed for
 * queue_file_mark_recipient).  NULL with error_r ("PATH: line 3: bad
 * notify value") when it cannot be opened or is not a valid, complete
 * queue file.
 */
struct queue_file *queue_file_open(const char *path, bool for_update,
    const char **error_r);
/*
 * The same on an open descriptor, which the queue file takes over (it is
 * closed on failure too).  NAME is used in errors and as the ID when it
 * ends in a valid queue ID.
 */
struct queue_file *queue_file_open_fd(int fd, const char *name,
    bool for_update, const char **error_r);
void queue_file_close(struct queue_file *qf);

/* The ID (last part of the path), or "" when the name is not a queue ID. */
const char *queue_file_id(const struct queue_file *qf);
/* A string field, or NULL when absent (QUEUE_SENDER is never NULL). */
const char *queue_file_get(const struct queue_file *qf, enum queue_field field);
time_t queue_file_arrival(const struct queue_file *qf);
/* The content_filter "transport:nexthop" (version 2 files), or NULL. */
const char *queue_file_filter(const struct queue_file *qf);
enum queue_ret queue_file_ret(const struct queue_file *qf);
unsigned queue_file_flags(const struct queue_file *qf);
size_t queue_file_rcpt_count(const struct queue_file *qf);
/* Recipient INDEX (< queue_file_rcpt_count); owned by QF. */
const struct queue_rcpt *queue_file_rcpt(const struct queue_file *qf,
    size_t index);
/* Length of the message content in bytes. */
uint64_t queue_file_content_length(const struct queue_file *qf);
/*
 * Read up to LEN content bytes starting at content offset OFFSET into
 * DATA; *GOT_R is 0 at the end of the content.  -1 with error_r on a read
 * error or when the file is shorter than it was.
 */
int queue_file_read_content(struct queue_file *qf, uint64_t offset,
    void *data, size_t len, size_t *got_r, const char **error_r);

/*
 * Set the done-mark of recipient INDEX to STATUS with one pwrite, then
 * fdatasync: when it returns 0 the mark is on stable storage.  -1 with
 * error_r when the file is not open for update or the write fails.
 */
int queue_file_mark_recipient(struct queue_file *qf, size_t index,
    enum queue_rcpt_status status, const char **error_r);
/*
 * The same without the fdatasync, to mark several recipients at once;
 * follow with queue_file_sync before relying on the marks.
 */
int queue_file_set_mark(struct queue_file *qf, size_t index,
    enum queue_rcpt_status status, const char **error_r);
int queue_file_sync(struct queue_file *qf, const char **error_r);

/* Text forms used on disk, for logs and ulak queue ("success,delay"). */
const char *queue_notify_str(unsigned notify);

#endif
