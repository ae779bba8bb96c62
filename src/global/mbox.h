/*
 * mbox - the pieces of mbox and file delivery that do not depend on a
 * daemon: the "From " separator line, the content filter that turns queue
 * content (CRLF line ends) into mailbox lines (LF, ">From " quoting), and
 * the dot-lock of a mailbox file.
 *
 * Format written (as Postfix's local delivery writes it, the "mboxo"
 * variant): every message starts with "From SENDER DATE", every line that
 * starts with "From " gets one '>' in front, and the message ends with an
 * empty line.  Readers such as Python's mailbox.mbox, mutt and Dovecot
 * split such files correctly.
 */
#ifndef ULAK_MBOX_H
#define ULAK_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;

/*
 * Append "From SENDER DATE\n" to OUT: SENDER is the envelope sender
 * ("MAILER-DAEMON" for the null sender; white space and control bytes in
 * it become '_' so the line stays one token), DATE WHEN in ctime(3) layout
 * ("Tue Jan  2 03:04:05 2024") in local time.  -1 when OUT's maximum
 * would be exceeded.
 */
int mbox_from_line(struct buf *out, const char *sender, time_t when);

/*
 * Content filter: feed message bytes in chunks of any size (lines may
 * span chunks); CR LF becomes LF (a CR that is not followed by LF is
 * kept, except at the very end, where it becomes LF), and with QUOTE_FROM every line that starts with "From " gets a
 * '>' in front.  Output goes to the caller's buffer.
 */
struct mbox_filter {
	bool quote_from;
	bool bol;		/* at the start of a line */
	bool cr;		/* a CR is held back (it may be the CR of CR LF) */
	char held[5];		/* start of a line that may become "From " */
	size_t n_held;
	bool last_lf;		/* the last byte written was LF (or none yet) */
	bool any;		/* something was written */
};

void mbox_filter_init(struct mbox_filter *f, bool quote_from);
/* Filter DATA[0..LEN) into OUT.  -1 when OUT's maximum would be exceeded. */
int mbox_filter_feed(struct mbox_filter *f, const void *data, size_t len,
    struct buf *out);
/*
 * Flush what is held back; with END_WITH_NEWLINE add an LF when the output
 * does not end with one (a last line without line end).  -1 as above.
 */
int mbox_filter_finish(struct mbox_filter *f, bool end_with_newline,
    struct buf *out);

/*
 * Dot-lock of mailbox PATH: create "PATH.lock" exclusively.  A lock older
 * than STALE_SECS is considered left by a dead process and removed.
 * Tries for at most TIMEOUT_SECS (polling with short sleeps).  Returns 0
 * when the lock is ours, -1 with errno and error_r otherwise (EEXIST when
 * another holder kept it for the whole time, or the error of the create,
 * e.g. EACCES when the folder is not writable).
 */
int mbox_dotlock_acquire(const char *path, unsigned stale_secs,
    unsigned timeout_secs, const char **error_r);
/* Remove "PATH.lock" (errors ignored: the lock will look stale). */
void mbox_dotlock_release(const char *path);

/*
 * fcntl write lock on the whole of FD, waiting at most TIMEOUT_SECS.
 * 0, or -1 with errno and error_r.
 */
int mbox_fcntl_lock(int fd, unsigned timeout_secs, const char **error_r);

#endif
