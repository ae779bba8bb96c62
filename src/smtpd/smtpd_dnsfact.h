/*
 * smtpd_dnsfact - what smtpd's DNS-based checks have learned in one
 * session: DNS answers and SPF outcomes, kept so that a restriction list
 * can be evaluated again, synchronously, once the answers it asked for
 * are in.
 *
 * The pattern: a restriction asks smtpd_dnsfact_dns() (or _spf()); when
 * the answer is not known yet, the request is remembered and the
 * restriction says "pending"; the session then calls
 * smtpd_dnsfact_resolve(), which starts every remembered lookup on the
 * event loop (dns.h, spf.h) and calls back once all are in; the session
 * evaluates the whole list again, and this time the answers are there.
 * Nothing here blocks the loop.
 *
 * Distrusts the answers (dns.h parses them; values are kept as text and
 * bounded).  Memory: at most SMTPD_DNSFACT_MAX entries per session.
 */
#ifndef ULAK_SMTPD_DNSFACT_H
#define ULAK_SMTPD_DNSFACT_H

#include <stdbool.h>

#include "dns.h"
#include "spf.h"
#include "str.h"

#define SMTPD_DNSFACT_MAX 256

struct event_base;
struct smtpd_dnsfact;

/* An answer: the status and the records as text (A/AAAA: addresses,
 * MX/PTR: host names, TXT: the joined strings up to any NUL). */
struct smtpd_dnsfact_answer {
	enum dns_status status;
	struct strlist values;
	char *error;
};

/* A cache for one session; RESOLVER and BASE must outlive it. */
struct smtpd_dnsfact *smtpd_dnsfact_new(struct event_base *base,
    struct dns_resolver *resolver);
/* Cancel whatever is under way (no callback) and free F; NULL allowed. */
void smtpd_dnsfact_free(struct smtpd_dnsfact *f);

/*
 * The answer for NAME/TYPE: 1 with *A_R (owned by F, valid until the
 * next resolve), or 0 when it is not known yet (it is now wanted).
 */
int smtpd_dnsfact_dns(struct smtpd_dnsfact *f, const char *name,
    enum dns_type type, const struct smtpd_dnsfact_answer **a_r);

/*
 * The SPF outcome for REQ (client_ip, sender, helo, helo_identity make
 * the key): 1 with *O_R (owned by F), or 0 when not known yet (wanted).
 */
int smtpd_dnsfact_spf(struct smtpd_dnsfact *f, const struct spf_request *req,
    const struct spf_outcome **o_r);

/*
 * Start every wanted lookup.  0 when nothing is wanted (CB is not
 * called); 1 when lookups started: CB(ARG) runs once from the event loop
 * when all are in.  Never called again before CB ran.
 */
typedef void smtpd_dnsfact_cb(void *arg);
int smtpd_dnsfact_resolve(struct smtpd_dnsfact *f, smtpd_dnsfact_cb *cb,
    void *arg);

/* The client's name (RFC 1912 style forward-confirmed reverse DNS). */
enum smtpd_name_status {
	SMTPD_NAME_OK,		/* found (and, for the name, confirmed) */
	SMTPD_NAME_NONE,	/* no PTR, or not forward-confirmed */
	SMTPD_NAME_TEMP,	/* a lookup failed for now */
};

struct smtpd_client_name {
	enum smtpd_name_status reverse_status;
	enum smtpd_name_status name_status;
	char *reverse_name;	/* the first PTR name, or "unknown" */
	char *name;		/* forward-confirmed name, or "unknown" */
};

/*
 * Work out the client name of ADDR (text) of FAMILY: 1 when done (fills
 * *OUT; release with smtpd_client_name_release), 0 when lookups are
 * wanted (resolve, then call again).
 */
int smtpd_dnsfact_client_name(struct smtpd_dnsfact *f, int family,
    const char *addr, struct smtpd_client_name *out);
void smtpd_client_name_release(struct smtpd_client_name *n);

#endif
