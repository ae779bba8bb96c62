/*
 * file - safe file helpers: complete writes, durable atomic replacement,
 * bounded whole-file reads, folder creation.
 *
 * Durability rule (DESIGN.md): write to a temporary name, fsync, rename
 * into place, fsync the folder.  All functions return 0 on success and -1
 * with *error_r set (see err.h) on failure; none exits.
 */
#ifndef ULAK_FILE_H
#define ULAK_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* write(2) all of P[0..N), retrying on EINTR and short writes. -1 with errno. */
int file_write_full(int fd, const void *p, size_t n);
/* fsync the folder that holds PATH (PATH may be the folder itself when IS_DIR). */
int file_fsync_parent(const char *path, const char **error_r);
int file_fsync_dir(const char *dir, const char **error_r);
/*
 * Replace PATH durably with DATA[0..LEN): temporary file in the same
 * folder, fsync, rename, fsync of the folder.  MODE applies to the new file.
 * On failure the old PATH is untouched and no temporary file remains.
 */
int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, const char **error_r);
/*
 * Append the contents of PATH to OUT; fail when the file is larger than
 * MAX bytes (0 = OUT's own limit only) or cannot be read.
 */
int file_read_all(const char *path, struct buf *out, size_t max,
    const char **error_r);
/* mkdir -p with MODE for the folders it creates. */
int file_mkdirs(const char *path, mode_t mode, const char **error_r);
/*
 * Make sure descriptors 0, 1 and 2 are open (on /dev/null when closed), so
 * that a file opened later never lands on them and gets clobbered by a
 * dup2 over stdio.  Call first thing in main().  Exits when /dev/null
 * cannot be opened.
 */
void file_sanitize_stdio(void);
/* Modification time of PATH in *mtime_r; -1 (errno set) when it cannot be stat'ed. */
int file_mtime(const char *path, time_t *mtime_r);

#endif
