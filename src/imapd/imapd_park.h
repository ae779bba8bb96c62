/*
 * imapd_park - views of folders that sessions have closed (UNSELECT,
 * CLOSE, another SELECT, LOGOUT), kept by the imapd process for the next
 * SELECT or EXAMINE of the same folder by any of its sessions: that
 * SELECT then only syncs the view (three stat()s when nothing changed)
 * instead of reading the folder's directories and UID list again.
 *
 * A view travels with the struct mailstore it was opened from (each
 * selected folder gets its own).  Bounded: at most IMAPD_PARK_VIEWS
 * views, IMAPD_PARK_MESSAGES messages in all, each kept at most
 * IMAPD_PARK_SECONDS; the oldest go first.  Event loop thread only.
 */
#ifndef ULAK_IMAPD_PARK_H
#define ULAK_IMAPD_PARK_H

#include <stdbool.h>

struct mailstore;
struct mailstore_folder;

#define IMAPD_PARK_VIEWS 32
#define IMAPD_PARK_MESSAGES 100000	/* about 27 MiB of views */
#define IMAPD_PARK_SECONDS 600

/*
 * Keep FOLDER, opened with FLAGS (MAILSTORE_OPEN_*) from STORE, which
 * serves nothing else; takes both (they may be closed at once when the
 * limits say so).
 */
void imapd_park_put(struct mailstore *store, struct mailstore_folder *folder,
    unsigned flags);
/*
 * Take the kept view of folder NAME ("INBOX" in any case is INBOX) of the
 * Maildir ROOT opened with FLAGS: true with *STORE_R and *FOLDER_R (the
 * caller owns them; sync the view before use), false when none is kept.
 */
bool imapd_park_take(const char *root, const char *name, unsigned flags,
    struct mailstore **store_r, struct mailstore_folder **folder_r);
/* Close every kept view of the Maildir ROOT (DELETE, RENAME). */
void imapd_park_drop(const char *root);
/* Close everything (exit, tests). */
void imapd_park_clear(void);

#endif
