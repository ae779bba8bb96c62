/*
 * greylist - the greylisting store of smtpd's check_greylist restriction:
 * (client network, sender, recipient) triplets and per-network counts of
 * passed retries (auto-whitelist), kept in one LMDB file that every smtpd
 * process of an instance shares (LMDB's lock file orders the writers).
 *
 * A new triplet is deferred; a retry is accepted once greylist_delay has
 * passed since the first attempt and while greylist_retry_window has not;
 * a retry that comes too late starts over.  Each triplet that passes for
 * the first time counts one for its client network; a network with
 * greylist_auto_whitelist such passes is not greylisted any more.
 *
 * Reads are LMDB read transactions (microseconds).  A write is one small
 * transaction with MDB_NOMETASYNC (one fdatasync): it happens only when a
 * triplet is new, passes for the first time, or its last-seen time is
 * more than GREYLIST_TOUCH_INTERVAL old, so a busy server writes rarely.
 * A crash loses at most the last write: greylisting starts over for that
 * triplet, nothing worse.
 *
 * Distrusts the keys (sender and recipient come from the SMTP client:
 * any bytes, bounded by the caller's line limit) and the file's values
 * (a value of the wrong size is treated as absent and overwritten).
 */
#ifndef ULAK_GREYLIST_H
#define ULAK_GREYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A passing triplet's last-seen time is refreshed at most this often. */
#define GREYLIST_TOUCH_INTERVAL 3600
/* Passed triplets and networks unseen this long are expired (postgrey). */
#define GREYLIST_MAX_AGE (35 * 86400)

struct greylist_params {
	uint64_t delay;		/* greylist_delay, seconds */
	uint64_t retry_window;	/* greylist_retry_window, seconds */
	uint64_t auto_whitelist;	/* greylist_auto_whitelist; 0: off */
	uint64_t max_age;	/* 0: GREYLIST_MAX_AGE */
};

enum greylist_verdict {
	GREYLIST_NEW,		/* first attempt: defer */
	GREYLIST_EARLY,		/* retry before the delay passed: defer */
	GREYLIST_PASS,		/* the triplet waited long enough */
	GREYLIST_WHITELISTED,	/* the client network is auto-whitelisted */
};

struct greylist;

/*
 * Open (create when missing, mode 0600) the store PATH, a single LMDB
 * file (plus PATH-lock).  NULL with *error_r ("greylist_database
 * /x/greylist.lmdb: Permission denied") when it cannot be opened.
 */
struct greylist *greylist_open(const char *path,
    const struct greylist_params *params, const char **error_r);
/* Close G; NULL is allowed. */
void greylist_close(struct greylist *g);

/*
 * Decide for the triplet (NET, SENDER, RCPT) at time NOW and record the
 * attempt.  NET is the client network (greylist_client_net); SENDER ""
 * is the null sender.  0 with *VERDICT_R (and, for NEW/EARLY, the seconds
 * still to wait in *WAIT_R, may be NULL), or -1 with *error_r when the
 * store fails (the caller should let the mail pass and log).
 */
int greylist_check(struct greylist *g, const char *net, const char *sender,
    const char *rcpt, time_t now, enum greylist_verdict *verdict_r,
    uint64_t *wait_r, const char **error_r);

/*
 * Remove triplets whose retry window is over without a pass, and passed
 * triplets and network counts unseen for max_age.  0 with the number
 * removed in *REMOVED_R (may be NULL), or -1 with *error_r.
 */
int greylist_expire(struct greylist *g, time_t now, size_t *removed_r,
    const char **error_r);

/*
 * The client network of a greylisting triplet: the /24 of an IPv4
 * address ("192.0.2.0/24"), the /64 of an IPv6 one ("2001:db8:1:2::/64"),
 * into OUT[SIZE].  -1 when FAMILY is neither or OUT is too small.
 */
int greylist_client_net(int family, const unsigned char addr[16], char *out,
    size_t size);

/* "new", "early", "pass", "whitelisted". */
const char *greylist_verdict_name(enum greylist_verdict v);

#endif
