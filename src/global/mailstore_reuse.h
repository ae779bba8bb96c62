/*
 * mailstore_reuse - what imapd needs to hand an open folder view from one
 * IMAP session to the next (it keeps the views of folders that sessions
 * closed, so that the next SELECT of the same folder only syncs instead
 * of reading the whole folder again).  Kept apart from mailstore.c, whose
 * views otherwise belong to one session for their whole life.
 */
#ifndef ULAK_MAILSTORE_REUSE_H
#define ULAK_MAILSTORE_REUSE_H

struct mailstore_folder;

/*
 * Clear MAILSTORE_RECENT on every message of F: \Recent belongs to the
 * session that first saw a message (RFC 3501 2.3.2), not to the next one
 * that gets the view.  Never fails.
 */
void mailstore_folder_forget_recent(struct mailstore_folder *f);

#endif
