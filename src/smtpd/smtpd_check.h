/*
 * smtpd_check - smtpd's access policy: the smtpd_*_restrictions lists,
 * mynetworks, the relay check and the local recipient check, with
 * Postfix's semantics (smtpd_access_policy(5)-style lists evaluated in
 * order; within a list the first permit or reject decides; a permit ends
 * only its own list; with smtpd_delay_reject = yes every list is
 * evaluated at RCPT TO).
 *
 * Restriction lists are compiled once at start-up: an unknown restriction
 * name, a check_*_access without a table or a table that cannot be opened
 * is a configuration error (the daemon must not start).  A configuration
 * whose relay and recipient restrictions hold nothing that blocks relaying
 * is refused too, so that ulak is never an open relay by mistake.
 *
 * Input distrusted: addresses and HELO names from the client (already
 * syntax-checked by smtp_cmd/smtp_addr) and table results.  Table lookups
 * are synchronous (LMDB, files in memory, getpwnam).  DNS-based
 * restrictions (reject_unknown_*, reject_rbl_client, reject_rhsbl_*,
 * check_dnsbl_score, check_spf) never wait: when an answer is not in the
 * session's smtpd_dnsfact yet, the restriction asks for it and the
 * evaluation returns "pending" (1); the session resolves and evaluates
 * again.  check_greylist reads and writes the LMDB greylist store
 * (greylist.h) on the loop: small, fast transactions.
 */
#ifndef ULAK_SMTPD_CHECK_H
#define ULAK_SMTPD_CHECK_H

#include <stdbool.h>

#include "smtpd_dnsfact.h"

struct buf;
struct config;
struct smtp_addr;

/* The restriction lists, in the order Postfix evaluates them. */
enum smtpd_check_list {
	SMTPD_CHECK_CLIENT,	/* smtpd_client_restrictions */
	SMTPD_CHECK_HELO,	/* smtpd_helo_restrictions */
	SMTPD_CHECK_SENDER,	/* smtpd_sender_restrictions */
	SMTPD_CHECK_RELAY,	/* smtpd_relay_restrictions */
	SMTPD_CHECK_RECIPIENT,	/* smtpd_recipient_restrictions */
	SMTPD_CHECK_LIST_COUNT
};

/* What the restrictions may look at. */
struct smtpd_check_ctx {
	const char *client_name;	/* "unknown" when not verified */
	const char *client_addr;	/* "192.0.2.1" */
	int family;			/* AF_INET/AF_INET6 of client_addr */
	unsigned char addr[16];
	const char *local_addr;		/* the address the client connected to */
	const char *helo;		/* NULL before HELO/EHLO */
	const char *sasl_username;	/* NULL: not authenticated */
	const struct smtp_addr *sender;	/* NULL before MAIL FROM */
	const struct smtp_addr *rcpt;	/* NULL before RCPT TO */
	/* DNS: NULL means no resolver (DNS restrictions decide nothing). */
	struct smtpd_dnsfact *dns;
	const char *reverse_name;	/* PTR name or "unknown" */
	enum smtpd_name_status name_status;	/* of client_name */
	enum smtpd_name_status reverse_status;	/* of reverse_name */
};

struct smtpd_check;

/*
 * Compile the policy from CFG (the lists, mynetworks, mydestination,
 * relay_domains, local_recipient_maps, reply codes).  NULL with *error_r
 * ("smtpd_recipient_restrictions: unknown restriction: reject_foo") on a
 * configuration error.
 */
struct smtpd_check *smtpd_check_new(struct config *cfg, const char **error_r);
void smtpd_check_free(struct smtpd_check *c);

/*
 * Open the state the restrictions keep (the greylist store, when
 * check_greylist is used), after privileges are dropped so that the
 * files belong to mail_owner.  -1 with *error_r.
 */
int smtpd_check_open_state(struct smtpd_check *c, struct config *cfg,
    const char **error_r);

/* Expire old greylisting entries (a periodic cleanup pass); logs. */
void smtpd_check_greylist_expire(struct smtpd_check *c);

/*
 * True when the client is trusted for content checks: in mynetworks or
 * authenticated.  smtpd then skips the end-of-data authentication checks
 * (DKIM, DMARC) as Postfix setups skip their milters for them.
 */
bool smtpd_check_trusted(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx);

/* The SPF request for the transaction in CTX (RFC 7208 2.3, 2.4). */
void smtpd_check_spf_request(const struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx, struct spf_request *req);

/* True when the client address in CTX is in mynetworks. */
bool smtpd_check_mynetworks(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx);

/* True when the client is in smtpd_forbid_bare_newline_exclusions. */
bool smtpd_check_bare_newline_excluded(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx);

/*
 * True when the client address is in smtpd_client_event_limit_exceptions
 * (default $mynetworks): no smtpd_client_*_count/rate_limit applies.
 */
bool smtpd_check_event_limit_exempt(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx);

/*
 * Evaluate the list WHICH.  Returns 0 when the request may go on (a permit
 * or no decision), -1 with the complete reply line (without CRLF:
 * "554 5.7.1 <a@b>: Relay access denied") in REPLY (reset first), or 1
 * when a DNS answer is needed first (smtpd_dnsfact_resolve, then call
 * again).  The same 0/-1/1 for smtpd_check_mail and smtpd_check_rcpt.
 */
int smtpd_check_list(struct smtpd_check *c, enum smtpd_check_list which,
    const struct smtpd_check_ctx *ctx, struct buf *reply);

/*
 * What MAIL FROM decides.  With smtpd_delay_reject = no: the client and
 * sender lists.  With yes: only the anti-forgery verdicts of the sender
 * list (reject_unauth_local_sender and the *_sender_login_mismatch
 * restrictions, when they decide the list); everything else waits for
 * RCPT TO.  Returns 0 to accept, -1 with the reply in REPLY.
 */
int smtpd_check_mail(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply);

/*
 * Everything that RCPT TO decides: with smtpd_delay_reject = yes the
 * client, HELO and sender lists, then the relay and recipient lists, then
 * (smtpd_reject_unlisted_recipient) the local recipient check.  Returns
 * 0 to accept, -1 with the reply in REPLY.
 */
int smtpd_check_rcpt(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply);

/*
 * The local recipient check alone (also for VRFY): 0 when ADDR is not in
 * a local domain, or is known in local_recipient_maps, or the check is
 * off; -1 with "550 5.1.1 <a@b>: Recipient address rejected: User unknown
 * in local recipient table" (or a 451 4.3.0 on a lookup failure) in
 * REPLY.  *LOCAL_R (may be NULL) tells whether ADDR is in a local domain.
 */
int smtpd_check_local_recipient(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx, const struct smtp_addr *addr,
    bool *local_r, struct buf *reply);

/* True when restrictions that apply at connect/HELO/MAIL are delayed. */
bool smtpd_check_delay_reject(const struct smtpd_check *c);

#endif
