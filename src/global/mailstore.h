/*
 * mailstore - a user's mail as pop3d and imapd see it: a Maildir++ tree
 * of folders, messages with flags and stable UIDs.
 *
 * Layout (the one `local` writes, readable by Dovecot, mutt and Python's
 * mailbox.Maildir):
 *
 *   ROOT/                 INBOX: tmp/ new/ cur/
 *   ROOT/.Sent/           the folder "Sent" (tmp/ new/ cur/ maildirfolder)
 *   ROOT/.Lists.ulak/     the folder "Lists.ulak" ("." separates levels)
 *   ROOT/<folder>/ulak-uidlist    UIDs of the folder's messages
 *   ROOT/<folder>/ulak-keywords   keyword letters a..z -> IMAP keywords
 *   ROOT/<folder>/ulak-lock       lock file (flock) for the two above
 *   ROOT/ulak-subscriptions       subscribed folder names, one a line
 *
 * Folder names are IMAP mailbox names: "INBOX" (any case) is the root,
 * every other name is stored as-is (IMAP modified UTF-7 is not decoded,
 * as Dovecot does by default) behind a ".", with "." as the hierarchy
 * separator.  Names come from clients and are untrusted: only printable
 * ASCII, no "/", no "%" or "*", no empty level (leading, trailing or
 * doubled "."), at most MAILSTORE_NAME_MAX bytes; anything else is
 * refused, so a name can never lead outside ROOT.
 *
 * A message file is "BASE:2,FLAGS" in cur/ (or "BASE" in new/, not yet
 * seen): FLAGS are the letters D (draft), F (flagged), P (passed),
 * R (replied), S (seen), T (trashed = \Deleted), then keyword letters
 * a..z, each sorted.  BASE may carry ",S=<size>" (the file size).
 * Flag letters the store does not know are kept across renames.
 *
 * UIDs: each folder's ulak-uidlist holds UIDVALIDITY, the next UID and a
 * "UID BASE" line per message; it changes only under the folder's lock,
 * so two sessions (or processes) never give two messages one UID.  When it
 * is missing or damaged it is rebuilt with a new UIDVALIDITY.  The full
 * format is in docs/mailstore.md.
 *
 * Messages are stored as given (delivered mail has LF line ends, APPENDed
 * mail CRLF); the "virtual size" counts each bare LF as CRLF, the size a
 * POP3/IMAP client sees.
 *
 * Error reporting: functions return 0 (or a count), or -1 with *error_r
 * and errno set: ENOENT no such folder/message, EEXIST already exists,
 * EINVAL bad folder name, EPERM not allowed (e.g. deleting INBOX),
 * other values from the system call that failed.  Nothing here exits
 * except when memory runs out.  Single-threaded: the open folders of a
 * process share what they know of each folder's files (one record per
 * message file, and the UID list; see mailstore_private.h), so the store
 * must be used from one thread of a process only.  Runs with the
 * privileges of its caller (the mail user, or mail_owner that owns the
 * users' files).
 */
#ifndef ULAK_MAILSTORE_H
#define ULAK_MAILSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct strlist;

#define MAILSTORE_NAME_MAX 200	/* bytes of a folder name */
#define MAILSTORE_KEYWORDS_MAX 26	/* keyword letters a..z per folder */

/* Message flags (the letters in the file name, plus RECENT). */
#define MAILSTORE_SEEN		0x01u	/* S  \Seen */
#define MAILSTORE_ANSWERED	0x02u	/* R  \Answered */
#define MAILSTORE_FLAGGED	0x04u	/* F  \Flagged */
#define MAILSTORE_DELETED	0x08u	/* T  \Deleted */
#define MAILSTORE_DRAFT		0x10u	/* D  \Draft */
#define MAILSTORE_PASSED	0x20u	/* P  forwarded ($Forwarded) */
/*
 * Not stored in the name: this session found the message in new/ and
 * moved it to cur/ (IMAP \Recent: exactly one session sees it).  Ignored
 * by mailstore_msg_set_flags.
 */
#define MAILSTORE_RECENT	0x40u
#define MAILSTORE_FLAGS_STORED	0x3fu

struct mailstore;		/* one user's Maildir++ tree */
struct mailstore_folder;	/* one open folder */

/*
 * One message of an open folder.  Read-only for callers; valid until the
 * next mailstore_folder_sync or mailstore_folder_close.  Index i in the
 * folder (0-based) is IMAP sequence number i+1.  16 bytes: a view holds
 * one per message and nothing else per message; what belongs to the file
 * (name, sizes, time) is shared by the folder's views in the process
 * (mailstore_private.h).
 */
struct mailstore_msg {
	uint32_t uid;
	uint32_t keywords;	/* bit k: keyword letter 'a'+k is set */
	uint8_t flags;		/* MAILSTORE_* */
	bool expunged;		/* gone from disk; kept until a sync reports it */
	/* Private to the mailstore files: */
	uint8_t ms_bits;	/* MS_MSG_* */
	uint32_t ms_rec;	/* record in the folder's pool */
};

/*
 * Open the Maildir++ tree at ROOT (the user's Maildir, e.g.
 * /home/u/Maildir), creating ROOT and its tmp/ new/ cur/ (mode 0700) when
 * missing; ROOT's parent must exist.  NULL with *error_r on failure.
 * Free with mailstore_close.
 */
struct mailstore *mailstore_open(const char *root, const char **error_r);
/* Close S (every folder opened from it must be closed first). */
void mailstore_close(struct mailstore *s);
/* The root folder given to mailstore_open (owned by S). */
const char *mailstore_root(const struct mailstore *s);

/*
 * Check a client-supplied folder NAME (see the top of this file).  0, or
 * -1 with errno EINVAL and *error_r saying what is wrong.  "INBOX" in any
 * case is valid.
 */
int mailstore_name_check(const char *name, const char **error_r);
/* True when NAME is INBOX (ASCII case-insensitive). */
bool mailstore_name_is_inbox(const char *name);
/*
 * Append the folder path of NAME to OUT ("ROOT" for INBOX, "ROOT/.NAME"
 * otherwise) after mailstore_name_check; the folder need not exist.
 * -1 (EINVAL) for a bad name.
 */
int mailstore_folder_path(const struct mailstore *s, const char *name,
    struct buf *out, const char **error_r);
/* True when folder NAME exists (a valid name whose folder has cur/). */
bool mailstore_folder_exists(const struct mailstore *s, const char *name);

/*
 * Every folder of S in OUT (appended, sorted, "INBOX" first): names as
 * stored, e.g. "Sent", "Lists.ulak".  Folder directories with names that
 * mailstore_name_check refuses are skipped.  -1 on a read error.
 */
int mailstore_list(struct mailstore *s, struct strlist *out,
    const char **error_r);
/*
 * The RFC 6154 special-use attribute of a top-level folder name: "\\Sent"
 * for "Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"; NULL for
 * every other name.  Static text.
 */
const char *mailstore_special_use(const char *name);
/* Create Sent, Drafts, Trash, Junk and Archive where missing. */
int mailstore_create_defaults(struct mailstore *s, const char **error_r);

/*
 * Create folder NAME (a Maildir with a "maildirfolder" file).  Parents
 * are not needed (Maildir++ folders are flat).  -1 with EEXIST when it
 * exists (INBOX always does), EINVAL for a bad name.
 */
int mailstore_folder_create(struct mailstore *s, const char *name,
    const char **error_r);
/*
 * Delete folder NAME and all its messages (its sub-folders "NAME.x" stay).
 * -1 with EPERM for INBOX, ENOENT when it does not exist.
 */
int mailstore_folder_delete(struct mailstore *s, const char *name,
    const char **error_r);
/*
 * Rename folder OLD to NEW, with its sub-folders (OLD.x becomes NEW.x);
 * UIDs and UIDVALIDITY go along.  Renaming INBOX moves its messages into
 * a new folder NEW and leaves INBOX empty (RFC 3501 6.3.5).  -1 with
 * ENOENT (OLD missing), EEXIST (NEW exists), EINVAL (bad name or NEW
 * inside OLD).
 */
int mailstore_folder_rename(struct mailstore *s, const char *oldname,
    const char *newname, const char **error_r);

/*
 * Subscriptions (IMAP SUBSCRIBE/LSUB): read into OUT (appended, file
 * order), or add/remove NAME (SUBSCRIBE may name a folder that does not
 * exist, RFC 3501 6.3.6).  The file is replaced atomically.
 */
int mailstore_subscriptions(struct mailstore *s, struct strlist *out,
    const char **error_r);
int mailstore_subscribe(struct mailstore *s, const char *name, bool on,
    const char **error_r);

/* Open folders. */

#define MAILSTORE_OPEN_READONLY 0x1u	/* EXAMINE: no renames, no moves */

/*
 * Open folder NAME and load its messages (a first sync: new UIDs are
 * given under the lock; unless READONLY, new/ messages move to cur/ and
 * get MAILSTORE_RECENT).  NULL with *error_r and errno (ENOENT: no such
 * folder, EINVAL: bad name).  Close with mailstore_folder_close.
 */
struct mailstore_folder *mailstore_folder_open(struct mailstore *s,
    const char *name, unsigned flags, const char **error_r);
void mailstore_folder_close(struct mailstore_folder *f);
/* The name it was opened with ("INBOX" for INBOX); owned by F. */
const char *mailstore_folder_name(const struct mailstore_folder *f);
uint32_t mailstore_folder_uidvalidity(const struct mailstore_folder *f);
/* The UID the next new message will get (at least last UID + 1). */
uint32_t mailstore_folder_uidnext(const struct mailstore_folder *f);
/* Number of messages in the view (expunged ones not yet reported count). */
size_t mailstore_folder_count(const struct mailstore_folder *f);
/* Message I (0-based, < count); owned by F, see struct mailstore_msg. */
const struct mailstore_msg *mailstore_folder_msg(
    const struct mailstore_folder *f, size_t i);
/* Index of the message with UID (binary search), or -1. */
long mailstore_folder_find_uid(const struct mailstore_folder *f,
    uint32_t uid);

/*
 * What a sync found.  EXPUNGED holds the sequence numbers (1-based) of
 * removed messages in the order they must be reported: each one is
 * valid after the ones before it were removed (IMAP EXPUNGE responses).
 * CHANGED holds sequence numbers (in the new view) whose flags or
 * keywords changed on disk (by another session).  N_NEW messages were
 * added at the end; N_RECENT of all messages carry MAILSTORE_RECENT.
 * UIDVALIDITY_CHANGED: the index was rebuilt; every UID of the old view
 * is void (imapd must end the session, RFC 3501 2.3.1.1).
 */
struct mailstore_sync {
	uint32_t *expunged;
	size_t n_expunged;
	uint32_t *changed;
	size_t n_changed;
	size_t n_new;
	size_t n_recent;
	bool uidvalidity_changed;
};

/*
 * Keep messages that vanished from disk in the view (msg->expunged set)
 * instead of removing them: for the IMAP commands during which EXPUNGE
 * must not be sent (RFC 3501 7.4.1).  A later sync without it removes
 * and reports them.
 */
#define MAILSTORE_SYNC_KEEP_EXPUNGED 0x1u

/*
 * Bring F's view up to date with the disk: new messages (UIDs given under
 * the lock), vanished ones, flag changes by others.  Cheap when nothing
 * changed (the folders' times are compared first).  OUT may be NULL;
 * otherwise it is overwritten (release with mailstore_sync_release).
 * -1 with *error_r on an I/O error (the view is unchanged).
 */
int mailstore_folder_sync(struct mailstore_folder *f, unsigned flags,
    struct mailstore_sync *out, const char **error_r);
void mailstore_sync_release(struct mailstore_sync *sync);

/*
 * Keywords of F: index K (0..25, the letter 'a'+K) to name, or NULL when
 * unused; and name to index (ASCII case-insensitive as IMAP flags are),
 * -1 when unknown.  mailstore_folder_keyword_add gives NAME an index
 * (stored in ulak-keywords under the lock) or returns the existing one;
 * -1 (ENOSPC) when all 26 are taken, EINVAL for a name that is not an
 * IMAP atom or starts with '\'.
 */
const char *mailstore_folder_keyword_name(const struct mailstore_folder *f,
    unsigned k);
int mailstore_folder_keyword_find(const struct mailstore_folder *f,
    const char *name);
int mailstore_folder_keyword_add(struct mailstore_folder *f,
    const char *name, const char **error_r);

/*
 * Lock F for a session that needs it alone (POP3, RFC 1939 8: one
 * session per maildrop): an flock on ROOT/<folder>/ulak-WHAT.lock
 * ("pop3"), held until mailstore_folder_close.  Returns 0 when taken,
 * 1 when another session (of any process) holds it, -1 on error.
 */
int mailstore_folder_trylock(struct mailstore_folder *f, const char *what,
    const char **error_r);

/* Messages of an open folder.  I is the 0-based index. */

/*
 * Append the message's full path to OUT.
 */
void mailstore_msg_path(const struct mailstore_folder *f, size_t i,
    struct buf *out);
/*
 * Open the message file read-only (O_CLOEXEC) into *fd_r; the caller
 * closes it.  Returns 0, 1 when the message is gone (it is then marked
 * expunged), -1 on another error.
 */
int mailstore_msg_open(struct mailstore_folder *f, size_t i, int *fd_r,
    const char **error_r);
/* Append the whole message to OUT; 0 / 1 (gone) / -1 as above. */
int mailstore_msg_read(struct mailstore_folder *f, size_t i,
    struct buf *out, const char **error_r);
/* File size in bytes (",S=" when present, else fstat). 0/1/-1. */
int mailstore_msg_size(struct mailstore_folder *f, size_t i,
    uint64_t *size_r, const char **error_r);
/*
 * Size with every bare LF counted as CRLF: RFC822.SIZE, the POP3 LIST
 * size.  Computed once (reads the file) and kept in ulak-uidlist.
 * 0/1/-1.
 */
int mailstore_msg_vsize(struct mailstore_folder *f, size_t i,
    uint64_t *vsize_r, const char **error_r);
/* IMAP INTERNALDATE: the file's modification time.  0/1/-1. */
int mailstore_msg_date(struct mailstore_folder *f, size_t i,
    time_t *date_r, const char **error_r);
/*
 * Set the stored flags (MAILSTORE_FLAGS_STORED bits of FLAGS) and the
 * keyword bits of message I by renaming its file (a message in new/
 * moves to cur/).  Nothing happens when they are unchanged or F is
 * read-only (-1, EROFS).  0 / 1 (gone) / -1.
 */
int mailstore_msg_set_flags(struct mailstore_folder *f, size_t i,
    unsigned flags, uint32_t keywords, const char **error_r);
/*
 * Remove message I from disk (unlink).  It stays in the view marked
 * expunged; the next sync without MAILSTORE_SYNC_KEEP_EXPUNGED reports
 * and removes it.  A message already gone is not an error.  -1 (EROFS)
 * for a read-only folder.
 */
int mailstore_msg_expunge(struct mailstore_folder *f, size_t i,
    const char **error_r);

/*
 * Store a new message DATA[0..LEN) in folder NAME of S (no need to have
 * it open): written to tmp/, fsynced, renamed to cur/ with FLAGS and
 * KEYWORDS (names, NULL for none: given letters in that folder), the
 * folder fsynced, then a UID given under the lock.  DATE (0 = now)
 * becomes the file's time.  *UIDVALIDITY_R and *UID_R (either may be
 * NULL) get the new message's UIDPLUS data.  -1 with ENOENT when NAME
 * does not exist (IMAP [TRYCREATE]).
 */
int mailstore_append(struct mailstore *s, const char *name,
    const void *data, size_t len, unsigned flags,
    const struct strlist *keywords, time_t date, uint32_t *uidvalidity_r,
    uint32_t *uid_r, const char **error_r);
/*
 * Copy the N messages INDEXES[] of SRC into folder DEST (by name; may be
 * SRC's own folder) with their flags and keywords (hard links when
 * possible, else copies; each gets a new file name), in the given order.
 * With MOVE the originals are then expunged from SRC (as
 * mailstore_msg_expunge).  UIDs are given in one locked step;
 * *UIDVALIDITY_R and DEST_UIDS_R[0..N) (either may be NULL) get the
 * UIDPLUS data.  Messages of SRC that are gone are skipped and get UID 0.
 * -1 with ENOENT when DEST does not exist; on failure nothing new stays
 * in DEST.
 */
int mailstore_copy(struct mailstore_folder *src, const size_t *indexes,
    size_t n, const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t *dest_uids_r, const char **error_r);

/*
 * Quick counts for IMAP STATUS without keeping the folder open: opens it
 * read-only, syncs, counts, closes.
 */
struct mailstore_status {
	uint32_t messages;
	uint32_t recent;	/* messages still in new/ */
	uint32_t unseen;	/* without \Seen */
	uint32_t uidnext;
	uint32_t uidvalidity;
};
int mailstore_folder_status(struct mailstore *s, const char *name,
    struct mailstore_status *st, const char **error_r);

/*
 * The flag letters of FLAGS and KEYWORDS as they appear after ":2,"
 * (sorted), appended to OUT; and the inverse for a file name's info part
 * (the text after ":2,"; unknown letters are ignored).  For tests and
 * tools.
 */
void mailstore_flags_to_letters(unsigned flags, uint32_t keywords,
    struct buf *out);
void mailstore_flags_from_letters(const char *letters, unsigned *flags_r,
    uint32_t *keywords_r);

#endif
