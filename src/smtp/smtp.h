/*
 * smtp - the SMTP delivery agent's internal interfaces.
 *
 * main.c      the agent protocol with qmgr (docs/protocols.md, "Delivery
 *             agents"): requests in, results out
 * smtp_deliver.c  one delivery: queue file, DKIM signing (dkim_signer.h),
 *             routing (MX, A/AAAA, loops), trying addresses in order,
 *             results, done-marks, log lines
 * smtp_session.c  one SMTP conversation on one TCP connection: ESMTP,
 *             PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, STARTTLS
 * smtp_tls.c  the OpenSSL client context, certificate checks and DANE
 *             (RFC 7672: TLSA records handed to OpenSSL's DANE verifier)
 */
#ifndef ULAK_SMTP_SMTP_H
#define ULAK_SMTP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "smtp_client.h"
#include "str.h"

struct event_base;
struct dns_resolver;
struct dkim_signer;
struct maps;
struct queue_file;
struct queue_rcpt;
struct delivery;
struct smtp_session;

/* Everything that stays the same from delivery to delivery. */
struct smtp_agent {
	struct event_base *base;
	struct dns_resolver *dns;
	char *service;
	char *queue_dir;
	char *myhostname;
	char *helo_name;
	unsigned tcp_port;
	unsigned connect_timeout, helo_timeout, mail_timeout, rcpt_timeout;
	unsigned data_init_timeout, data_xfer_timeout, data_done_timeout;
	unsigned quit_timeout, starttls_timeout;
	unsigned mx_address_limit;
	enum smtp_tls_level tls_level;
	struct maps *tls_policy;	/* NULL when smtp_tls_policy_maps is empty */
	SSL_CTX *ssl_ctx;
	struct strlist local_addrs;	/* addresses of this host */
	struct strlist smtpd_ports;	/* ports our own smtpd listens on */
	unsigned cache_time;		/* smtp_connection_cache_time_limit */
	struct smtp_session *idle;	/* sessions kept for reuse */
	unsigned n_idle;
	struct dkim_signer *dkim;	/* outgoing DKIM signatures */
	bool dnssec;			/* dnssec_trust_anchor_file is set */
};

/* One usable TLSA record (RFC 6698 2.1, RFC 7672 3.1). */
struct smtp_tlsa {
	uint8_t usage;		/* 2 DANE-TA or 3 DANE-EE */
	uint8_t selector;	/* 0 full certificate, 1 public key */
	uint8_t mtype;		/* 0 exact, 1 SHA2-256, 2 SHA2-512 */
	unsigned char *data;
	size_t len;
};

/* The DANE data of one server host (RFC 7672 2.2.2, 3.2.2). */
struct smtp_dane {
	char base[256];		/* TLSA base domain: the host name */
	char qname[300];	/* "_25._tcp.<base>", for messages */
	struct smtp_tlsa *rr;	/* usable records only */
	size_t n;
};

/* A recipient of the current request. */
struct smtp_rcpt {
	size_t index;			/* in the queue file */
	const struct queue_rcpt *q;	/* owned by the queue file */
	bool final;			/* outcome known */
	bool accepted;			/* RCPT got 2xx in this transaction */
	char dsn[16];
	struct buf text;
	char relay[320];		/* "host[addr]:port" or "none" */
	bool dane;			/* delivered over a DANE-verified session */
};

/* One address to try. */
struct smtp_addr_try {
	char host[256];		/* MX or next-hop host name (for logs, TLS) */
	char addr[48];		/* numeric */
	int family;
	unsigned port;
	bool no_tls;		/* retry in plaintext after a failed handshake */
	/*
	 * The TLS level for this address: the delivery's, except at "dane"
	 * where each host gets "dane" (usable TLSA records), "encrypt"
	 * (secure TLSA records, none usable) or "may" (RFC 7672 2.2).
	 */
	enum smtp_tls_level level;
	/* level "dane": the host's records, owned by the delivery */
	const struct smtp_dane *dane;
};

struct delivery {
	struct smtp_agent *agent;
	char queue_id[64];
	struct queue_file *qf;
	char nexthop[300];
	struct smtp_nexthop nh;
	enum smtp_tls_level tls_level;
	struct buf tls_match;		/* names a certificate may carry */
	struct smtp_rcpt *rcpt;
	size_t n_rcpt;
	/*
	 * DKIM-Signature field(s) to send before the content (CRLF line
	 * ends), made once per delivery; empty when not signed.
	 */
	struct buf dkim_header;
	/* routing */
	struct dns_query *mx_query;
	struct mx_host *hosts;
	size_t n_hosts;
	size_t pending_queries;
	struct smtp_addr_try *addrs;
	size_t n_addrs, cur_addr;
	/* the last failure that may be retried elsewhere */
	char last_dsn[16];
	struct buf last_reason;
	struct smtp_session *session;
	bool routed;			/* DNS routing has started */
	bool mx_secure;			/* DNSSEC-secure MX (or no-MX) answer */
	bool dane_session;		/* the current session is DANE-verified */
	struct timeval start;
	/* who to tell */
	void (*done_cb)(struct delivery *d, void *arg);
	void *done_arg;
};

/* smtp_deliver.c */

/*
 * Start delivering recipients RCPTS[0..N) of the queue file QUEUE_FILE
 * (relative to queue_directory) to NEXTHOP.  Returns the delivery, or NULL
 * with *error_r when the request cannot even be started (unreadable queue
 * file, a recipient index out of range or already done, a bad next hop):
 * the caller answers status=4.  DONE_CB runs once from the event loop
 * when every recipient has its outcome (in d->rcpt); the caller then
 * frees D with delivery_free.
 */
struct delivery *delivery_start(struct smtp_agent *agent,
    const char *queue_id, const char *queue_file, const char *nexthop,
    const size_t *rcpts, size_t n,
    void (*done_cb)(struct delivery *d, void *arg), void *arg,
    const char **error_r);
void delivery_free(struct delivery *d);

/* Called by the session: an outcome for one recipient. */
void delivery_result(struct delivery *d, struct smtp_rcpt *r,
    const char *dsn, const char *text);
/*
 * Called by the session when it ends.  RETRY_DSN/RETRY_REASON (NULL when
 * none): the session failed in a way the next address may fix; every
 * recipient without an outcome is tried there.
 */
/* The relay ("host[addr]:port") of every recipient without an outcome. */
void delivery_set_relay(struct delivery *d, const char *relay);
void delivery_session_done(struct delivery *d, const char *retry_dsn,
    const char *retry_reason, bool tls_retry);

/* smtp_session.c */

/*
 * Connect to ADDR and run one transaction for D's open recipients.
 * Outcomes come back through delivery_result and finally
 * delivery_session_done (always from the event loop).
 */
struct smtp_session *smtp_session_start(struct delivery *d,
    const struct smtp_addr_try *addr);
void smtp_session_free(struct smtp_session *s);
/*
 * An idle session to D's next hop (kept after an earlier delivery), now
 * D's: it checks the connection with RSET and runs the transaction; on
 * failure D routes as usual.  NULL when none is cached.
 */
struct smtp_session *smtp_session_reuse(struct delivery *d);
/* Close every idle session (QUIT in the background). */
void smtp_session_flush_idle(struct smtp_agent *a);
/* Free every session (at exit; deliveries must be gone or not care). */
void smtp_session_free_all(void);

/* smtp_tls.c */

/* The client context from main.cf; fatal on a bad CA file. */
SSL_CTX *smtp_tls_context(const char *cafile, const char *capath,
    const char *cert_file, const char *key_file);
/*
 * After the handshake: is the chain trusted, and does the certificate
 * carry one of the NAMES (':'-separated; an IP literal is compared as an
 * address)?  Sets *trusted_r and *matched_r.
 */
void smtp_tls_check(SSL *ssl, const char *names, bool *trusted_r,
    bool *matched_r);
/*
 * Is TLSA record (USAGE, SELECTOR, MTYPE, LEN bytes of data) usable for
 * SMTP (RFC 7672 3.1: DANE-TA(2) and DANE-EE(3) only; selectors 0/1;
 * matching types 0/1/2 with the digest's length)?
 */
bool smtp_tls_tlsa_usable(unsigned usage, unsigned selector, unsigned mtype,
    size_t len);
/*
 * Before the handshake: make OpenSSL authenticate the server of SSL by
 * the records of DANE (base domain and reference identifiers, RFC 7672
 * 3.2.2; extra names MATCH, ':'-separated, may be NULL).  -1 with
 * *error_r when OpenSSL takes none of the records.
 */
int smtp_tls_dane_enable(SSL *ssl, const struct smtp_dane *dane,
    const char *match, const char **error_r);
/*
 * After the handshake: did a TLSA record match?  True with a note on the
 * matching record in NOTE[SIZE]; false with OpenSSL's reason there.
 */
bool smtp_tls_dane_check(SSL *ssl, char *note, size_t size);

#endif
