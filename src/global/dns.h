/*
 * dns - the asynchronous DNS resolver of ulak, on libunbound, driven from
 * a libevent loop.
 *
 * libunbound resolves in a thread of its own (ub_ctx_async) and signals
 * finished queries through a descriptor (ub_fd) that a libevent read
 * event watches, so no call here ever blocks the daemon's loop.  Every
 * query also has a deadline of our own (dns_timeout): a server that never
 * answers makes the query fail temporarily, never hang.
 *
 * An answer keeps apart what mail delivery must keep apart: the name does
 * not exist (NXDOMAIN), it exists without records of that type (no
 * data), or the lookup failed for now (a temporary failure: defer, never
 * bounce).  It also carries the DNSSEC status libunbound found (secure,
 * insecure, bogus) so that DANE can be built on it; a bogus answer is a
 * temporary failure.
 *
 * Configuration (main.cf): dns_servers (forward to these; "address",
 * "address@port", "address:port", "[v6address]:port"), else the
 * forwarders of /etc/resolv.conf; dnssec_trust_anchor_file (no file: no
 * validation, every answer is insecure); dns_timeout.
 *
 * Distrusts the answers' record data: every record is parsed with its
 * length checked; a malformed record makes the answer a temporary failure
 * with a reason.
 */
#ifndef ULAK_DNS_H
#define ULAK_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct config;

/* Record types (their RFC 1035 / RFC 6698 numbers). */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52,
};

enum dns_status {
	DNS_OK,		/* at least one record of the type */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NODATA,	/* the name exists, but not with this type */
	DNS_TEMPFAIL,	/* SERVFAIL, timeout, bogus, malformed, ...: try later */
};

enum dns_security {
	DNS_INSECURE,	/* not validated (or validation is off) */
	DNS_SECURE,	/* DNSSEC-validated */
	DNS_BOGUS,	/* validation failed (status is then DNS_TEMPFAIL) */
};

/* One record, parsed according to its type. */
struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	/* A, AAAA: the address in binary and as text */
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	char addr_str[48];
	/* MX */
	unsigned pref;
	/*
	 * MX exchange, PTR and CNAME target: the name in text form without
	 * the final dot, "" for the root (a null MX, RFC 7505); bytes other
	 * than letters, digits, '-' and '_' are written \DDD.
	 */
	char *host;
	/* TLSA (RFC 6698 2.1) */
	unsigned usage, selector, mtype;
	/* TXT: its character-strings joined (RFC 7208 3.3); TLSA: the data */
	unsigned char *data;
	size_t data_len;
};

struct dns_answer {
	enum dns_status status;
	enum dns_security security;
	enum dns_type type;
	char *qname;		/* the name asked for */
	char *canonname;	/* after CNAMEs; equals qname when none */
	int rcode;		/* DNS RCODE of the reply, -1 when none came */
	struct dns_rr *rr;	/* records (status DNS_OK) */
	size_t n_rr;
	char *error;		/* why, for DNS_TEMPFAIL/NXDOMAIN/NODATA */
};

/*
 * Parse one record of TYPE from its wire-format data RDATA[0..LEN) (as
 * libunbound hands it: names uncompressed) into *RR, which the caller
 * must release with dns_rr_release.  -1 with *error_r ("malformed MX
 * record") when the data is too short, too long or holds a bad name.
 */
int dns_rr_parse(enum dns_type type, const unsigned char *rdata, size_t len,
    struct dns_rr *rr, const char **error_r);
void dns_rr_release(struct dns_rr *rr);

/* Type name ("MX"), "TYPE<n>" style text for others ("?"). */
const char *dns_type_name(enum dns_type type);
/* "ok", "NXDOMAIN", "no data", "temporary failure". */
const char *dns_status_name(enum dns_status status);

/*
 * Convert one dns_servers item to libunbound's "address@port" form into
 * OUT[SIZE]: "192.0.2.1", "192.0.2.1:5353", "192.0.2.1@5353", "::1",
 * "[::1]:5353", "::1@5353".  -1 with *error_r when the address is not a
 * numeric IPv4/IPv6 address, the port is not 1..65535, or OUT is too
 * small.
 */
int dns_server_to_unbound(const char *item, char *out, size_t size,
    const char **error_r);

/*
 * Is NAME fit to be asked: 1..253 bytes, labels of 1..63 bytes (a final
 * "." allowed), printable ASCII without backslash (libunbound would read
 * it as an escape).  SPACE_OK lets SP through too (SPF macros can expand
 * to it, RFC 7208 4.3, 4.8).  Names from mail are checked with this
 * before a query is built from them.
 */
bool dns_query_name_ok(const char *name, bool space_ok);

/*
 * The reverse-lookup name of the numeric address ADDR
 * ("4.3.2.1.in-addr.arpa", nibbles under ip6.arpa) into OUT[SIZE].  -1
 * with *error_r when ADDR is not an address or OUT too small.
 */
int dns_ptr_name(const char *addr, char *out, size_t size,
    const char **error_r);

/* Settings of a resolver. */
struct dns_config {
	const char *servers;		/* dns_servers list; NULL/"" = resolv.conf */
	const char *resolv_conf;	/* NULL = /etc/resolv.conf */
	const char *trust_anchor_file;	/* NULL/"" = no DNSSEC validation */
	unsigned timeout_ms;		/* per query; 0 = 30 s */
};

struct dns_resolver;
struct dns_query;

/*
 * Called once per query with its answer, which is owned by the resolver
 * and freed when the callback returns (copy what must live longer).  The
 * callback may start new queries, cancel others, or free the resolver.
 */
typedef void dns_callback(const struct dns_answer *answer, void *arg);

/*
 * A resolver whose events run on BASE.  NULL with *error_r when
 * libunbound refuses the settings (a bad server address, an unreadable
 * trust anchor file or resolv.conf).
 */
struct dns_resolver *dns_resolver_new(struct event_base *base,
    const struct dns_config *cfg, const char **error_r);
/* The same with dns_servers, dnssec_trust_anchor_file and dns_timeout of CFG. */
struct dns_resolver *dns_resolver_from_config(struct event_base *base,
    struct config *cfg, const char **error_r);
/* Cancel every pending query (no callbacks) and free R.  NULL is allowed. */
void dns_resolver_free(struct dns_resolver *r);

/*
 * Start looking up NAME (a host name, without or with the final dot) for
 * records of TYPE; CB(answer, ARG) runs later from the event loop, never
 * from within this call.  Returns a handle for dns_cancel, valid until the
 * callback starts.  Never fails: a name libunbound refuses is answered
 * with DNS_TEMPFAIL (or DNS_NXDOMAIN for a syntactically impossible name)
 * through the callback.
 */
struct dns_query *dns_lookup(struct dns_resolver *r, const char *name,
    enum dns_type type, dns_callback *cb, void *arg);
/* Forget query Q: its callback will not run. */
void dns_cancel(struct dns_query *q);

#endif
