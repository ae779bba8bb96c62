/*
 * passdb - check a mail user's name and password against passwd-file
 * tables (pop3d_password_maps, imapd_password_maps,
 * smtpd_sasl_password_maps) and say where the user's mail is.
 *
 * A table entry is a passwd(5) line, "name:hash:uid:gid:gecos:home:shell",
 * whose hash is a crypt(3) hash that libcrypt verifies (yescrypt "$y$",
 * SHA-512-crypt "$6$", SHA-256-crypt "$5$", bcrypt "$2b$"); an empty
 * hash or one starting with '!' or '*' never matches (a locked account).
 * The user name and password come from the network: passwords are
 * compared in constant time, wiped after use and never logged, and an
 * unknown user costs as much time as a wrong password.
 */
#ifndef ULAK_PASSDB_H
#define ULAK_PASSDB_H

#include <stdbool.h>
#include <sys/types.h>

struct buf;
struct passdb;

/* What a successful login yields (all owned; see passdb_user_release). */
struct passdb_user {
	char *name;		/* as in the table */
	char *home;		/* absolute */
	uid_t uid;
	gid_t gid;
};

/*
 * Open the tables of MAPS (a Postfix list: "passwd-file:/etc/ulak/users,
 * ...").  Empty MAPS gives a passdb where every login fails.  NULL with
 * *error_r when a table cannot be opened.
 */
struct passdb *passdb_open(const char *maps, const char **error_r);
void passdb_close(struct passdb *db);

enum passdb_result {
	PASSDB_OK = 1,		/* *user_r filled */
	PASSDB_FAIL = 0,	/* unknown user, wrong password, locked */
	PASSDB_TEMPFAIL = -1,	/* table unreadable or bad entry: *error_r */
};

/*
 * Check USER and PASSWORD.  May take tens of milliseconds (the hash is
 * slow on purpose): an event-driven caller runs it on a worker thread
 * (thread-safe for one DB when the tables are in memory, as passwd-file
 * tables are).  On PASSDB_OK *user_r is filled (release it).
 */
enum passdb_result passdb_verify(struct passdb *db, const char *user,
    const char *password, struct passdb_user *user_r, const char **error_r);
void passdb_user_release(struct passdb_user *u);

/*
 * The two halves of passdb_verify, for callers that run the slow half on
 * a worker thread.  passdb_lookup (quick, not thread-safe: call it where
 * the tables are used) finds USER's entry: PASSDB_OK with *user_r and
 * *hash_r (malloc'ed; free it) filled; PASSDB_FAIL for an unknown user
 * or a name that cannot be one, with *hash_r a dummy hash to check only
 * for the time it costs (the login fails whatever the check says);
 * PASSDB_TEMPFAIL with *error_r.  Then passdb_check_hash(password,
 * *hash_r) may run on any thread.
 */
enum passdb_result passdb_lookup(struct passdb *db, const char *user,
    struct passdb_user *user_r, char **hash_r, const char **error_r);

/*
 * Parse one passwd(5) LINE into *out (name, uid, gid, home) and point
 * *hash_r into LINE's hash field (its length in *hash_len_r).  -1 with
 * *error_r for a line without seven fields, a bad uid/gid, or a home
 * that is not absolute.  For tests and the password checker.
 */
int passdb_parse_line(const char *line, struct passdb_user *out,
    const char **hash_r, size_t *hash_len_r, const char **error_r);

/*
 * True when PASSWORD matches the crypt(3) HASH (constant-time compare
 * of the result).  False for a locked or empty hash.
 */
bool passdb_check_hash(const char *password, const char *hash);

/*
 * Expand the mailbox template TEMPLATE (imap_mailbox, e.g.
 * "$home/Maildir") for U into OUT: $home, ${home}, $user, ${user} and
 * "$$".  -1 with *error_r for any other "$" or a result that is not an
 * absolute path or that contains "/../".
 */
int passdb_mailbox_path(const char *template, const struct passdb_user *u,
    struct buf *out, const char **error_r);

#endif
