/*
 * smtp_deliver - one delivery request of the smtp agent: read the queue
 * file, sign it with DKIM when it is due a signature (dkim_signer.h),
 * find the servers (RFC 5321 5.1: MX records by preference, equal
 * preferences shuffled, each MX host's A/AAAA; no MX: the domain itself;
 * a null MX, RFC 7505: bounce; an MX that is this host: bounce as a
 * loop), try the addresses in order until every recipient has its
 * outcome, mark delivered recipients in the queue file durably, log one
 * line per recipient.
 *
 * At TLS level "dane" (RFC 7672 2.2) each host is classified from DNSSEC:
 * a secure MX answer (or a secure no-MX answer, or a [host] next hop),
 * secure address records and a secure TLSA RRset at _port._tcp.host with
 * usable records make the host "dane" (TLS mandatory, authenticated by
 * TLSA only); secure records none of which is usable: "encrypt"; no TLSA
 * records, or anything insecure on the way: "may".  A TLSA lookup that
 * fails (SERVFAIL, bogus, timeout) on a secure host drops the host (RFC
 * 7672 2.1.1: never a downgrade to cleartext); no host left: 4.7.5.
 *
 * Distrusts DNS data (names, counts) and the request's indexes; the queue
 * file is validated by queue_file_open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "dict.h"
#include "dkim_signer.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "queue_file.h"
#include "smtp.h"

/* An MX host (or the next-hop host) and its addresses. */
struct mx_host {
	struct delivery *d;
	char *name;
	unsigned pref;
	struct dns_query *q4, *q6;
	struct dns_rr *a;	/* copies: addr fields only */
	size_t n_a;
	enum dns_status st4, st6;
	enum dns_security sec4, sec6;
	char err[256];
	/* TLS, level "dane" */
	enum smtp_tls_level level;	/* this host's effective level */
	struct dns_query *qt;		/* the TLSA lookup */
	struct smtp_dane dane;
	bool tlsa_failed;		/* skip the host (RFC 7672 2.1.1) */
	char tlsa_err[400];
};

static void routing_done(struct delivery *d);
static void try_next(struct delivery *d);
static void route(struct delivery *d);

static bool
rcpt_open(const struct smtp_rcpt *r)
{
	return !r->final;
}

static size_t
open_count(const struct delivery *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_rcpt; i++)
		n += rcpt_open(&d->rcpt[i]);
	return n;
}

void
delivery_result(struct delivery *d, struct smtp_rcpt *r, const char *dsn,
    const char *text)
{
	if (r->final)
		return;
	r->final = true;
	str_copy(r->dsn, sizeof(r->dsn), dsn);
	r->dane = dsn[0] == '2' && d->dane_session;
	buf_reset(&r->text);
	buf_append_str(&r->text, text);
}

/* Every open recipient gets DSN/TEXT. */
static void
result_all(struct delivery *d, const char *dsn, const char *text)
{
	for (size_t i = 0; i < d->n_rcpt; i++)
		delivery_result(d, &d->rcpt[i], dsn, text);
}

static void
set_relay_all(struct delivery *d, const char *relay)
{
	for (size_t i = 0; i < d->n_rcpt; i++)
		if (!d->rcpt[i].final)
			str_copy(d->rcpt[i].relay, sizeof(d->rcpt[i].relay),
			    relay);
}

/* Finish: done-marks first (durably), then logs, then tell the caller. */
static void
finish(struct delivery *d)
{
	struct smtp_agent *a = d->agent;
	struct timeval now;
	const char *err;
	bool marked = false, mark_failed = false;
	struct buf esc;

	for (size_t i = 0; i < d->n_rcpt; i++) {
		struct smtp_rcpt *r = &d->rcpt[i];

		if (r->dsn[0] != '2')
			continue;
		if (queue_file_set_mark(d->qf, r->index, QUEUE_RCPT_DELIVERED,
		    &err) < 0) {
			log_warning("%s: %s", d->queue_id, err);
			mark_failed = true;
		}
		marked = true;
	}
	if (marked && !mark_failed && queue_file_sync(d->qf, &err) < 0) {
		log_warning("%s: %s", d->queue_id, err);
		mark_failed = true;
	}
	if (mark_failed) {
		/*
		 * The server has the message but our record of it is not
		 * durable: say deferred, so the worst case is a second
		 * delivery, never a lost one.
		 */
		for (size_t i = 0; i < d->n_rcpt; i++) {
			struct smtp_rcpt *r = &d->rcpt[i];

			if (r->dsn[0] != '2')
				continue;
			str_copy(r->dsn, sizeof(r->dsn), "4.3.0");
			buf_set_str(&r->text, "delivered, but the queue file "
			    "could not be updated: will deliver again");
		}
	}
	gettimeofday(&now, NULL);
	buf_init(&esc, 0);
	for (size_t i = 0; i < d->n_rcpt; i++) {
		struct smtp_rcpt *r = &d->rcpt[i];
		double delay = (double)(now.tv_sec -
		    queue_file_arrival(d->qf)) +
		    (double)now.tv_usec / 1e6;
		const char *status = r->dsn[0] == '2' ? "sent" :
		    r->dsn[0] == '4' ? "deferred" : "bounced";

		buf_reset(&esc);
		log_escape(&esc, r->text.data, r->text.len);
		if (delay < 0)
			delay = 0;
		log_info("%s: to=<%s>%s%s%s, relay=%s, delay=%.2f, %sdsn=%s, "
		    "status=%s (%s)", d->queue_id, r->q->address,
		    r->q->orcpt ? ", orig_to=<" : "",
		    r->q->orcpt ? (strchr(r->q->orcpt, ';') ?
		    strchr(r->q->orcpt, ';') + 1 : r->q->orcpt) : "",
		    r->q->orcpt ? ">" : "",
		    r->relay[0] ? r->relay : "none", delay,
		    r->dane ? "tls=dane, " : "", r->dsn, status, esc.data);
	}
	buf_release(&esc);
	(void)a;
	d->done_cb(d, d->done_arg);
}

static void
finish_later_cb(evutil_socket_t fd, short what, void *arg)
{
	finish(arg);
}

/* Run finish() from the event loop, never from inside delivery_start. */
static void
finish_soon(struct delivery *d)
{
	event_base_once(d->agent->base, -1, EV_TIMEOUT, finish_later_cb, d,
	    NULL);
}

void
delivery_session_done(struct delivery *d, const char *retry_dsn,
    const char *retry_reason, bool tls_retry)
{
	d->session = NULL;
	if (retry_dsn != NULL) {
		str_copy(d->last_dsn, sizeof(d->last_dsn), retry_dsn);
		buf_set_str(&d->last_reason, retry_reason);
	}
	if (open_count(d) == 0) {
		finish(d);
		return;
	}
	if (!d->routed) {
		/* A reused connection failed: find the servers afresh. */
		route(d);
		return;
	}
	if (tls_retry && !d->addrs[d->cur_addr].no_tls) {
		/* Opportunistic TLS failed: the same server in plaintext. */
		d->addrs[d->cur_addr].no_tls = true;
	} else {
		d->cur_addr++;
	}
	try_next(d);
}

static void
try_next(struct delivery *d)
{
	if (d->cur_addr >= d->n_addrs) {
		result_all(d, d->last_dsn[0] ? d->last_dsn : "4.4.1",
		    d->last_reason.len ? d->last_reason.data :
		    "no server could be reached");
		finish(d);
		return;
	}
	d->session = smtp_session_start(d, &d->addrs[d->cur_addr]);
}

static void
try_next_cb(evutil_socket_t fd, short what, void *arg)
{
	try_next(arg);
}

/* Is ADDR:PORT this very mail system (its own smtpd)? */
static bool
addr_is_self(struct smtp_agent *a, const char *addr, unsigned port)
{
	char p[16];

	snprintf(p, sizeof(p), "%u", port);
	if (strlist_find(&a->smtpd_ports, p) < 0)
		return false;
	return strlist_find(&a->local_addrs, addr) >= 0;
}

static void
host_free(struct mx_host *h)
{
	dns_cancel(h->q4);
	dns_cancel(h->q6);
	dns_cancel(h->qt);
	for (size_t i = 0; i < h->dane.n; i++)
		free(h->dane.rr[i].data);
	free(h->dane.rr);
	free(h->a);
	free(h->name);
}

/* The TLSA RRset of host H is known: its level (RFC 7672 2.2). */
static void
tlsa_cb(const struct dns_answer *ans, void *arg)
{
	struct mx_host *h = arg;
	struct delivery *d = h->d;
	size_t unusable = 0;

	h->qt = NULL;
	switch (ans->status) {
	case DNS_TEMPFAIL:
		/* RFC 7672 2.1.1: the records may exist; no downgrade. */
		h->tlsa_failed = true;
		snprintf(h->tlsa_err, sizeof(h->tlsa_err), "TLSA lookup error "
		    "for %s:%u: %s", h->name, d->nh.port, ans->error ?
		    ans->error : "temporary failure");
		log_info("%s: %s", d->queue_id, h->tlsa_err);
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		h->level = SMTP_TLS_MAY;	/* no DANE for this host */
		break;
	case DNS_OK:
		if (ans->security != DNS_SECURE) {
			/* RFC 7672 2.2: insecure TLSA records are ignored. */
			h->level = SMTP_TLS_MAY;
			break;
		}
		h->dane.rr = xcalloc(ans->n_rr, sizeof(*h->dane.rr));
		for (size_t i = 0; i < ans->n_rr; i++) {
			const struct dns_rr *rr = &ans->rr[i];
			struct smtp_tlsa *t;

			if (!smtp_tls_tlsa_usable(rr->usage, rr->selector,
			    rr->mtype, rr->data_len)) {
				unusable++;
				continue;
			}
			t = &h->dane.rr[h->dane.n++];
			t->usage = (uint8_t)rr->usage;
			t->selector = (uint8_t)rr->selector;
			t->mtype = (uint8_t)rr->mtype;
			t->len = rr->data_len;
			t->data = (unsigned char *)xmemdup0(rr->data,
			    rr->data_len);
		}
		/*
		 * Records but none usable (RFC 7672 2.2, Postfix): the host
		 * announced TLS; mandatory, not authenticated.
		 */
		h->level = h->dane.n > 0 ? SMTP_TLS_DANE : SMTP_TLS_ENCRYPT;
		if (h->dane.n == 0)
			log_info("%s: %s: %zu TLSA record%s, none usable: TLS "
			    "without authentication", d->queue_id,
			    h->dane.qname, unusable, unusable == 1 ? "" : "s");
		break;
	}
	if (--d->pending_queries == 0)
		routing_done(d);
}

/*
 * Both address lookups of H are done: at level "dane", look up its TLSA
 * records when everything that led to it was DNSSEC-secure.
 */
static void
host_tls(struct delivery *d, struct mx_host *h)
{
	bool secure = h->n_a > 0;
	int n;

	h->level = d->tls_level;
	if (d->tls_level != SMTP_TLS_DANE)
		return;
	h->level = SMTP_TLS_MAY;
	/* RFC 7672 2.2.1, 2.2.2: secure MX and secure address records. */
	if (h->st4 == DNS_OK && h->sec4 != DNS_SECURE)
		secure = false;
	if (h->st6 == DNS_OK && h->sec6 != DNS_SECURE)
		secure = false;
	if (!d->mx_secure || !secure)
		return;
	str_copy(h->dane.base, sizeof(h->dane.base), h->name);
	n = snprintf(h->dane.qname, sizeof(h->dane.qname), "_%u._tcp.%s",
	    d->nh.port, h->name);
	if (n < 0 || (size_t)n >= sizeof(h->dane.qname))
		return;		/* an impossible name has no TLSA records */
	d->pending_queries++;
	h->qt = dns_lookup(d->agent->dns, h->dane.qname, DNS_T_TLSA, tlsa_cb,
	    h);
}

static void
addr_cb(const struct dns_answer *ans, void *arg)
{
	struct mx_host *h = arg;
	struct delivery *d = h->d;

	if (ans->type == DNS_T_A) {
		h->q4 = NULL;
		h->st4 = ans->status;
		h->sec4 = ans->security;
	} else {
		h->q6 = NULL;
		h->st6 = ans->status;
		h->sec6 = ans->security;
	}
	if (ans->status == DNS_OK) {
		h->a = xreallocarray(h->a, h->n_a + ans->n_rr, sizeof(*h->a));
		for (size_t i = 0; i < ans->n_rr; i++) {
			h->a[h->n_a] = ans->rr[i];
			h->a[h->n_a].host = NULL;
			h->a[h->n_a].data = NULL;
			h->n_a++;
		}
	} else if (ans->status == DNS_TEMPFAIL || h->err[0] == '\0') {
		snprintf(h->err, sizeof(h->err), "Name service error for "
		    "name=%s type=%s: %s", ans->qname,
		    dns_type_name(ans->type), ans->error ? ans->error : "?");
	}
	if (h->q4 == NULL && h->q6 == NULL)
		host_tls(d, h);
	if (--d->pending_queries == 0)
		routing_done(d);
}

static void
host_lookup(struct delivery *d, struct mx_host *h)
{
	h->d = d;
	h->st4 = h->st6 = DNS_TEMPFAIL;
	d->pending_queries += 2;
	h->q4 = dns_lookup(d->agent->dns, h->name, DNS_T_A, addr_cb, h);
	h->q6 = dns_lookup(d->agent->dns, h->name, DNS_T_AAAA, addr_cb, h);
}

/* All addresses are known: build the list to try. */
static void
routing_done(struct delivery *d)
{
	struct smtp_agent *a = d->agent;
	bool tempfail = false, self = false;
	const char *why = NULL, *tlsa_why = NULL;

	for (size_t i = 0; i < d->n_hosts; i++) {
		struct mx_host *h = &d->hosts[i];

		if (h->tlsa_failed) {
			if (tlsa_why == NULL)
				tlsa_why = h->tlsa_err;
			continue;
		}
		if (h->n_a == 0) {
			if (h->st4 == DNS_TEMPFAIL || h->st6 == DNS_TEMPFAIL)
				tempfail = true;
			if (why == NULL || h->st4 == DNS_TEMPFAIL ||
			    h->st6 == DNS_TEMPFAIL)
				why = h->err[0] ? h->err : NULL;
		}
		for (size_t k = 0; k < h->n_a; k++) {
			struct smtp_addr_try *t;

			if (d->n_addrs >= a->mx_address_limit)
				break;
			if (addr_is_self(a, h->a[k].addr_str, d->nh.port)) {
				/*
				 * RFC 5321 5.1: hosts at or after our own
				 * preference must not be tried.
				 */
				self = true;
				break;
			}
			d->addrs = xreallocarray(d->addrs, d->n_addrs + 1,
			    sizeof(*d->addrs));
			t = &d->addrs[d->n_addrs++];
			memset(t, 0, sizeof(*t));
			str_copy(t->host, sizeof(t->host), h->name);
			str_copy(t->addr, sizeof(t->addr), h->a[k].addr_str);
			t->family = h->a[k].family;
			t->port = d->nh.port;
			t->level = h->level;
			t->dane = h->level == SMTP_TLS_DANE ? &h->dane : NULL;
		}
		if (self)
			break;
	}
	if (d->n_addrs == 0) {
		if (self) {
			char text[400];

			snprintf(text, sizeof(text), "mail for %s loops back "
			    "to myself", d->nh.host);
			result_all(d, "5.4.6", text);
		} else if (tlsa_why != NULL) {
			result_all(d, "4.7.5", tlsa_why);
		} else {
			char text[400];

			snprintf(text, sizeof(text), "Host or domain name not "
			    "found. %s", why ? why : "No address");
			result_all(d, tempfail ? "4.4.3" : "5.4.4", text);
		}
		finish(d);
		return;
	}
	if (tlsa_why != NULL) {
		/* The reason if no other host does better. */
		str_copy(d->last_dsn, sizeof(d->last_dsn), "4.7.5");
		buf_set_str(&d->last_reason, tlsa_why);
	}
	try_next(d);
}

static void
mx_cb(const struct dns_answer *ans, void *arg)
{
	struct delivery *d = arg;
	struct smtp_agent *a = d->agent;
	char text[600];
	struct dns_rr *rr;
	size_t n, best_self = SIZE_MAX;

	d->mx_query = NULL;
	/* RFC 7672 2.2.1: MX host names are trusted only when secure. */
	d->mx_secure = ans->security == DNS_SECURE;
	switch (ans->status) {
	case DNS_NXDOMAIN:
		snprintf(text, sizeof(text), "Host or domain name not found. "
		    "Name service error for name=%s type=MX: %s", d->nh.host,
		    ans->error ? ans->error : "Host not found");
		result_all(d, "5.4.4", text);
		finish(d);
		return;
	case DNS_TEMPFAIL:
		snprintf(text, sizeof(text), "Host or domain name not found. "
		    "Name service error for name=%s type=MX: %s", d->nh.host,
		    ans->error ? ans->error : "try again");
		result_all(d, "4.4.3", text);
		finish(d);
		return;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain itself (implicit MX). */
		d->hosts = xcalloc(1, sizeof(*d->hosts));
		d->hosts[0].name = xstrdup(d->nh.host);
		d->n_hosts = 1;
		if (str_casecmp(d->nh.host, a->myhostname) == 0) {
			snprintf(text, sizeof(text), "mail for %s loops back "
			    "to myself", d->nh.host);
			result_all(d, "5.4.6", text);
			finish(d);
			return;
		}
		host_lookup(d, &d->hosts[0]);
		return;
	case DNS_OK:
		break;
	}
	n = ans->n_rr;
	/* RFC 7505 3: a single MX with the root as its host. */
	if (n == 1 && ans->rr[0].host[0] == '\0') {
		snprintf(text, sizeof(text), "Domain %s does not accept mail "
		    "(nullMX)", d->nh.host);
		result_all(d, "5.1.10", text);
		finish(d);
		return;
	}
	rr = xcalloc(n, sizeof(*rr));
	memcpy(rr, ans->rr, n * sizeof(*rr));	/* hosts stay ans's */
	smtp_mx_sort(rr, n, NULL);
	for (size_t i = 0; i < n; i++) {
		if (str_casecmp(rr[i].host, a->myhostname) == 0) {
			best_self = i;
			break;
		}
	}
	d->hosts = xcalloc(n, sizeof(*d->hosts));
	for (size_t i = 0; i < n; i++) {
		if (best_self != SIZE_MAX && rr[i].pref >= rr[best_self].pref)
			break;
		if (rr[i].host[0] == '\0')
			continue;	/* a null MX among others: ignore it */
		d->hosts[d->n_hosts].name = xstrdup(rr[i].host);
		d->hosts[d->n_hosts].pref = rr[i].pref;
		d->n_hosts++;
	}
	free(rr);
	if (d->n_hosts == 0) {
		snprintf(text, sizeof(text), best_self != SIZE_MAX ?
		    "mail for %s loops back to myself" :
		    "Domain %s does not accept mail (nullMX)", d->nh.host);
		result_all(d, best_self != SIZE_MAX ? "5.4.6" : "5.1.10",
		    text);
		finish(d);
		return;
	}
	for (size_t i = 0; i < d->n_hosts; i++)
		host_lookup(d, &d->hosts[i]);
}

static int
tls_policy(struct delivery *d, const char **error_r)
{
	struct smtp_agent *a = d->agent;
	const char *value = NULL, *err;
	int rc = 0;

	d->tls_level = a->tls_level;
	if (a->tls_policy == NULL)
		goto dane;
	/* Postfix's order: the next hop as written, then its host part. */
	rc = maps_lookup(a->tls_policy, d->nexthop, &value, &err);
	if (rc == 0 && strcmp(d->nexthop, d->nh.host) != 0)
		rc = maps_lookup(a->tls_policy, d->nh.host, &value, &err);
	if (rc < 0) {
		*error_r = err_fmt("smtp_tls_policy_maps: %s", err);
		return -1;
	}
	if (rc == 0)
		goto dane;
	if (smtp_tls_policy_parse(value, &d->tls_level, &d->tls_match,
	    &err) < 0) {
		*error_r = err_fmt("smtp_tls_policy_maps, %s: %s", d->nexthop,
		    err);
		return -1;
	}
dane:
	if (d->tls_level == SMTP_TLS_DANE && !a->dnssec) {
		/* Without DNSSEC no answer is secure: Postfix uses "may". */
		static bool warned;

		if (!warned)
			log_warning("TLS level \"dane\" needs DNSSEC validation, "
			    "but dnssec_trust_anchor_file is empty: using "
			    "\"may\"");
		warned = true;
		d->tls_level = SMTP_TLS_MAY;
	}
	return 0;
}

/*
 * Sign the message once for this delivery (before any connection, so
 * that a failure costs nothing).  The file is read sequentially and
 * hashed; it is in the page cache for the sending that follows.  -1 when
 * the recipients were deferred: a message that should be signed is never
 * sent unsigned.
 */
static int
dkim_sign(struct delivery *d)
{
	const char *note = NULL, *err;
	int rc;

	if (d->agent->dkim == NULL || !dkim_signer_enabled(d->agent->dkim))
		return 0;
	rc = dkim_signer_sign_queue_file(d->agent->dkim, d->qf,
	    &d->dkim_header, &note, &err);
	if (rc < 0) {
		log_warning("%s: DKIM signing failed: %s", d->queue_id, err);
		result_all(d, "4.3.0", err_fmt("DKIM signing failed: %s",
		    err));
		return -1;
	}
	if (rc > 0)
		log_info("%s: DKIM-Signature added: %s", d->queue_id, note);
	return 0;
}

/* Find the servers: the literal address, the host's, or the MX hosts'. */
static void
route(struct delivery *d)
{
	struct smtp_agent *agent = d->agent;

	d->routed = true;
	if (d->nh.literal) {
		d->addrs = xcalloc(1, sizeof(*d->addrs));
		str_copy(d->addrs[0].host, sizeof(d->addrs[0].host),
		    d->nh.host);
		str_copy(d->addrs[0].addr, sizeof(d->addrs[0].addr),
		    d->nh.host);
		d->addrs[0].family = strchr(d->nh.host, ':') ? AF_INET6 :
		    AF_INET;
		d->addrs[0].port = d->nh.port;
		/* An address has no TLSA base domain: no DANE. */
		d->addrs[0].level = d->tls_level == SMTP_TLS_DANE ?
		    SMTP_TLS_MAY : d->tls_level;
		d->n_addrs = 1;
		if (addr_is_self(agent, d->nh.host, d->nh.port)) {
			char text[400];

			snprintf(text, sizeof(text), "mail for %s loops back "
			    "to myself", d->nexthop);
			result_all(d, "5.4.6", text);
			finish_soon(d);
			return;
		}
		/* Start from the loop, like every other path. */
		event_base_once(agent->base, -1, EV_TIMEOUT, try_next_cb, d,
		    NULL);
	} else if (d->nh.mx) {
		d->mx_query = dns_lookup(agent->dns, d->nh.host, DNS_T_MX,
		    mx_cb, d);
	} else {
		/*
		 * [host]: the name comes from our own configuration, as
		 * trusted as a secure MX answer (Postfix does the same).
		 */
		d->mx_secure = true;
		d->hosts = xcalloc(1, sizeof(*d->hosts));
		d->hosts[0].name = xstrdup(d->nh.host);
		d->n_hosts = 1;
		host_lookup(d, &d->hosts[0]);
	}
}

struct delivery *
delivery_start(struct smtp_agent *agent, const char *queue_id,
    const char *queue_file, const char *nexthop, const size_t *rcpts,
    size_t n, void (*done_cb)(struct delivery *d, void *arg), void *arg,
    const char **error_r)
{
	struct delivery *d = xcalloc(1, sizeof(*d));
	struct buf path;
	const char *err;
	size_t count;

	d->agent = agent;
	d->done_cb = done_cb;
	d->done_arg = arg;
	gettimeofday(&d->start, NULL);
	buf_init(&d->last_reason, 0);
	buf_init(&d->tls_match, 0);
	buf_init(&d->dkim_header, 0);
	str_copy(d->queue_id, sizeof(d->queue_id), queue_id);
	if (str_copy(d->nexthop, sizeof(d->nexthop), nexthop) < 0) {
		*error_r = "next hop too long";
		goto fail;
	}
	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", agent->queue_dir, queue_file);
	d->qf = queue_file_open(path.data, true, &err);
	buf_release(&path);
	if (d->qf == NULL) {
		*error_r = err_fmt("cannot open the queue file: %s", err);
		goto fail;
	}
	count = queue_file_rcpt_count(d->qf);
	d->rcpt = xcalloc(n, sizeof(*d->rcpt));
	for (size_t i = 0; i < n; i++) {
		struct smtp_rcpt *r = &d->rcpt[i];

		buf_init(&r->text, 0);
		d->n_rcpt++;
		if (rcpts[i] >= count) {
			*error_r = err_fmt("recipient index %zu out of range",
			    rcpts[i]);
			goto fail;
		}
		for (size_t k = 0; k < i; k++) {
			if (rcpts[k] == rcpts[i]) {
				*error_r = err_fmt("recipient index %zu "
				    "given twice", rcpts[i]);
				goto fail;
			}
		}
		r->index = rcpts[i];
		r->q = queue_file_rcpt(d->qf, rcpts[i]);
		if (r->q->status != QUEUE_RCPT_OPEN) {
			*error_r = err_fmt("recipient %zu is already done",
			    rcpts[i]);
			goto fail;
		}
	}
	if (nexthop[0] == '\0') {
		/* No next hop: the first recipient's domain. */
		const char *at = strrchr(d->rcpt[0].q->address, '@');

		nexthop = at != NULL ? at + 1 : "";
		str_copy(d->nexthop, sizeof(d->nexthop), nexthop);
	}
	if (smtp_nexthop_parse(d->nexthop, agent->tcp_port, &d->nh, &err) <
	    0) {
		*error_r = err;
		goto fail;
	}
	if (tls_policy(d, &err) < 0) {
		/* A broken policy table must never weaken TLS: defer. */
		result_all(d, "4.7.5", err);
		finish_soon(d);
		return d;
	}
	if (dkim_sign(d) < 0) {
		finish_soon(d);
		return d;
	}
	d->session = smtp_session_reuse(d);
	if (d->session == NULL)
		route(d);
	return d;
fail:
	delivery_free(d);
	return NULL;
}

void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	if (d->session != NULL)
		smtp_session_free(d->session);
	dns_cancel(d->mx_query);
	for (size_t i = 0; i < d->n_hosts; i++)
		host_free(&d->hosts[i]);
	free(d->hosts);
	free(d->addrs);
	for (size_t i = 0; i < d->n_rcpt; i++)
		buf_release(&d->rcpt[i].text);
	free(d->rcpt);
	if (d->qf != NULL)
		queue_file_close(d->qf);
	buf_release(&d->last_reason);
	buf_release(&d->tls_match);
	buf_release(&d->dkim_header);
	free(d);
}

void
delivery_set_relay(struct delivery *d, const char *relay)
{
	set_relay_all(d, relay);
}
