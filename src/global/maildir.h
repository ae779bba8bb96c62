/*
 * maildir - names and folders of a Maildir (https://cr.yp.to/proto/maildir.html),
 * shared by local delivery and the mailbox readers.
 *
 * A delivered message is named "SECONDS.M<usec>P<pid>Q<n>.HOST,S=<size>":
 * time, the microseconds of that time, the delivering process and a
 * per-process counter make it unique on one host; ",S=<size>" (the file
 * size in bytes, as Dovecot and Courier write it) lets readers skip a
 * stat().  "/" and ":" in the host name are written as "\057" and "\072"
 * as the specification asks.
 */
#ifndef ULAK_MAILDIR_H
#define ULAK_MAILDIR_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct buf;

/*
 * Append the unique base name (without ",S=") to OUT.  HOST is the host
 * name; an empty one is written as "localhost".  -1 when OUT's maximum
 * would be exceeded.
 */
int maildir_unique_name(struct buf *out, time_t sec, long usec, pid_t pid,
    unsigned long counter, const char *host);
/* Append ",S=SIZE" to OUT.  -1 as above. */
int maildir_size_suffix(struct buf *out, uint64_t size);

/*
 * Make sure PATH (a Maildir folder) and its tmp/, new/ and cur/ exist,
 * creating what is missing with MODE (parents of PATH are not created).
 * Returns 0, or -1 with errno and error_r ("create maildir folder
 * PATH/tmp: Permission denied").
 */
int maildir_create(const char *path, mode_t mode, const char **error_r);

#endif
