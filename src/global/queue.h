/*
 * queue - the layout of $queue_directory: folder names, creating the
 * folders, the path of a queue file, moving a file between folders.
 *
 * Layout (docs/queue-format.md): maildrop/ incoming/ active/ deferred/
 * hold/ corrupt/ bounce/ defer/ private/ pid/.  Every queue folder is flat
 * for now (no hashed subfolders); a queue file is named by its queue ID
 * (queue_id.h), and any other name in a queue folder (".tmp-..." files
 * being written) is not a queue file.
 */
#ifndef ULAK_QUEUE_H
#define ULAK_QUEUE_H

#include <stdbool.h>
#include <time.h>

#include "buf.h"

#define QUEUE_MAILDROP "maildrop"
#define QUEUE_INCOMING "incoming"
#define QUEUE_ACTIVE "active"
#define QUEUE_DEFERRED "deferred"
#define QUEUE_HOLD "hold"
#define QUEUE_CORRUPT "corrupt"
#define QUEUE_BOUNCE "bounce"
#define QUEUE_DEFER "defer"
#define QUEUE_PRIVATE "private"
#define QUEUE_PID "pid"

/* True when NAME is one of the folders that hold queue files (incoming/,
 * active/, deferred/, hold/, corrupt/). */
bool queue_folder_valid(const char *name);

/*
 * Create QUEUE_DIR and every folder of the layout that is missing, with
 * the modes of docs/queue-format.md (existing folders are left as they
 * are).  -1 with error_r when one cannot be created.
 */
int queue_dirs_create(const char *queue_dir, const char **error_r);

/*
 * Set OUT (reset first) to QUEUE_DIR/FOLDER/ID; 0 on success.  -1 with error_r when FOLDER is not a queue folder or ID not a queue ID
 * (both may come from a command line).
 */
int queue_path(struct buf *out, const char *queue_dir, const char *folder,
    const char *id, const char **error_r);

/*
 * Move queue file ID from folder FROM to folder TO with rename(2) (atomic;
 * the ID stays the same).  With SYNC the destination folder (and then the
 * source folder) is fsync'ed before returning, so the move survives a
 * crash; without it a crash may undo the move, which is harmless wherever
 * qmgr rescans.  -1 with error_r (ENOENT: "... No such file").
 */
int queue_move(const char *queue_dir, const char *id, const char *from,
    const char *to, bool sync, const char **error_r);

/*
 * Remove hidden ".tmp-*" files older than MAX_AGE seconds from
 * QUEUE_DIR/incoming/: left behind when cleanup died while writing.
 * Returns the number removed, or -1 with error_r when the folder cannot be
 * read.
 */
int queue_clean_tmp(const char *queue_dir, time_t max_age,
    const char **error_r);

#endif
