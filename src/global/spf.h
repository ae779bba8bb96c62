/*
 * spf - Sender Policy Framework (RFC 7208): is a client allowed to send
 * mail for the domain of its MAIL FROM address or of its HELO name?
 *
 * Three layers, each usable alone:
 *   - the record parser (spf_record_parse) and the macro expander
 *     (spf_macro_expand): pure functions, no DNS, fuzzed and unit-tested;
 *   - the asynchronous evaluation (spf_check_start): check_host() of
 *     RFC 7208 4 driven by the libevent loop through dns.h, with the
 *     limits of 4.6.4 (10 DNS-querying terms, 2 void lookups, 10 MX or
 *     PTR names), include/redirect, exp= explanations and %{p};
 *   - a synchronous wrapper (spf_check_sync) with its own event base, for
 *     `ulak spf` and tests.
 * plus the header texts a receiver writes (Received-SPF:, the spf= part
 * of Authentication-Results:).
 *
 * Distrusts everything that came from DNS: records are parsed strictly
 * (any byte outside printable ASCII in an SPF record is a permerror,
 * RFC 7208 3.1), expansions are bounded, and every loop is bounded by
 * the lookup limit, so a hostile record can cost at most a fixed number
 * of queries and never crash.
 */
#ifndef ULAK_SPF_H
#define ULAK_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct buf;
struct dns_config;
struct dns_resolver;
struct event_base;

/* The results of RFC 7208 2.6. */
enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *spf_result_name(enum spf_result result);
/* The result called NAME (case-insensitive); -1 when there is none. */
int spf_result_parse(const char *name, enum spf_result *result_r);

/* Limits of RFC 7208 4.6.4. */
#define SPF_MAX_DNS_TERMS 10	/* include a mx ptr exists redirect */
#define SPF_MAX_VOID_LOOKUPS 2	/* answers without records */
#define SPF_MAX_NAMES 10	/* MX names per "mx", PTR names per "ptr" */
#define SPF_MAX_EXPANSION 8192	/* bytes of one macro expansion */

/* ---- the record ---- */

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

/* One directive: [qualifier] mechanism. */
struct spf_term {
	enum spf_mech mech;
	enum spf_result qualifier;	/* PASS, FAIL, SOFTFAIL or NEUTRAL */
	char *domain_spec;	/* include/exists/a/mx/ptr target; NULL = <domain> */
	unsigned cidr4;		/* a, mx, ip4: prefix length (32 when absent) */
	unsigned cidr6;		/* a, mx, ip6: prefix length (128 when absent) */
	unsigned char net[16];	/* ip4 (4 bytes used) / ip6 network */
	char *text;		/* the term as written (for Received-SPF) */
};

struct spf_record {
	struct spf_term *terms;	/* the directives in order */
	size_t n_terms;
	char *redirect;		/* redirect= domain-spec, or NULL */
	char *exp;		/* exp= domain-spec, or NULL */
};

/*
 * True when TEXT[0..LEN) is an SPF record by RFC 7208 4.5: it starts with
 * "v=spf1" (case-insensitive) followed by a space or its end.
 */
bool spf_record_is_spf(const void *text, size_t len);

/*
 * Parse the SPF record TEXT[0..LEN) (its TXT strings already joined; it
 * must pass spf_record_is_spf) by the ABNF of RFC 7208 12.  Unknown
 * modifiers are checked (name and macro-string) and dropped.  Returns 0
 * with *REC_R (free with spf_record_free), or -1 with *error_r naming the
 * fault ("unknown mechanism \"moo\"", "bad IPv4 network \"ip4:1.2.3\"",
 * "two exp= modifiers", ...): every fault is a permerror.  Any byte that
 * is not printable ASCII or a space is a fault.
 */
int spf_record_parse(const void *text, size_t len, struct spf_record **rec_r,
    const char **error_r);
/* Free a parsed record; NULL is allowed. */
void spf_record_free(struct spf_record *rec);

/* ---- macros (RFC 7208 7) ---- */

/* Where a macro-string stands, which decides what it may contain. */
enum spf_macro_ctx {
	SPF_MACRO_DOMAIN,	/* domain-spec: no c/r/t, must end right */
	SPF_MACRO_STRING,	/* unknown modifier's macro-string: no c/r/t */
	SPF_MACRO_EXPLAIN,	/* explanation text: spaces and c/r/t allowed */
};

/* The values the macro letters stand for. */
struct spf_macro_vars {
	const char *sender;	/* s: <sender>, local-part@domain */
	const char *local;	/* l: its local-part */
	const char *sender_domain;	/* o: its domain */
	const char *domain;	/* d: the current <domain> */
	int family;		/* i, c, v: AF_INET or AF_INET6 */
	unsigned char addr[16];	/* the client address (4 bytes for IPv4) */
	const char *validated;	/* p: the validated name; NULL: "unknown" */
	const char *helo;	/* h: the HELO/EHLO name */
	const char *receiver;	/* r: this host's name; NULL: "unknown" */
	time_t now;		/* t */
};

/*
 * Check that S is a valid macro-string for CTX without expanding it.
 * 0, or -1 with *error_r ("bad macro \"%(ir)\"").
 */
int spf_macro_check(const char *s, enum spf_macro_ctx ctx,
    const char **error_r);
/* True when S uses the %{p} macro (expanding it needs DNS first). */
bool spf_macro_uses_p(const char *s);
/*
 * Expand the macro-string S for CTX with the values VARS into OUT
 * (appended).  Upper-case letters are URL-escaped (RFC 3986 unreserved
 * characters stay); an IPv6 %{i} is dotted nibbles in upper case (as the
 * reference implementation and the RFC 7208 test suite write them).
 * -1 with *error_r on a syntax error (as spf_macro_check) or when the
 * result would exceed SPF_MAX_EXPANSION bytes.
 */
int spf_macro_expand(const char *s, enum spf_macro_ctx ctx,
    const struct spf_macro_vars *vars, struct buf *out, const char **error_r);

/* ---- evaluation ---- */

struct spf_request {
	const char *client_ip;	/* the client's address as text (required) */
	const char *sender;	/* MAIL FROM address without <>; NULL/"": none */
	const char *helo;	/* HELO/EHLO name; NULL: none */
	const char *receiver;	/* our host name for %{r}; NULL: "unknown" */
	bool helo_identity;	/* check the HELO identity (RFC 7208 2.3) */
	/* Explanation of a fail without exp= (macro-string); NULL: built in. */
	const char *default_explanation;
};

/*
 * The outcome, with everything the Received-SPF: and Authentication-
 * Results: headers need.  Strings are owned by the outcome; NULL when not
 * applicable.
 */
struct spf_outcome {
	enum spf_result result;
	bool helo_identity;	/* the identity checked was HELO, not MAIL FROM */
	char *identity;		/* "mailfrom" or "helo" */
	char *sender;		/* <sender> as evaluated (postmaster@helo, ...) */
	char *domain;		/* the domain whose policy was checked */
	char *client_ip;	/* the client address, normalised */
	char *helo;		/* the HELO name ("" when none) */
	char *receiver;		/* the receiver name given, or NULL */
	/* The top-level term that decided ("-all", "include:x.example"),
	 * "default" when none matched; NULL for none/errors. */
	char *mechanism;
	/* for fail: the expanded exp= or default (printable ASCII only,
	 * safe in an SMTP reply) */
	char *explanation;
	char *problem;		/* why: for none, temperror, permerror (ditto) */
	unsigned dns_terms;	/* DNS-querying terms evaluated */
	unsigned void_lookups;
};

/* Free the strings of O and clear it; NULL is allowed. */
void spf_outcome_release(struct spf_outcome *o);
/* Move SRC into DST (DST is overwritten, SRC cleared). */
void spf_outcome_move(struct spf_outcome *dst, struct spf_outcome *src);

struct spf_check;

/*
 * Called once with the outcome, from the event loop (never from within
 * spf_check_start).  O belongs to the check and is freed when the
 * callback returns: keep it with spf_outcome_move.  The check itself is
 * freed after the callback; the callback must not cancel it.
 */
typedef void spf_callback(struct spf_outcome *o, void *arg);

/*
 * Start check_host() for REQ on BASE, asking DNS through RESOLVER (which
 * must outlive the check).  The request's strings are copied.  Returns the
 * check, or NULL with *error_r when REQ->client_ip is not an address
 * (nothing is started then).  Every other problem, a malformed sender
 * included, is a result delivered through CB.
 */
struct spf_check *spf_check_start(struct event_base *base,
    struct dns_resolver *resolver, const struct spf_request *req,
    spf_callback *cb, void *arg, const char **error_r);
/* Stop a check before its callback ran (no callback follows). */
void spf_check_cancel(struct spf_check *c);

/*
 * The same, synchronously: a private event base and a resolver with
 * DNS_CFG, run until the outcome is known (at most a few DNS timeouts).
 * 0 with *OUT_R (release with spf_outcome_release), or -1 with *error_r
 * when the client address or the resolver settings are bad.
 */
int spf_check_sync(const struct dns_config *dns_cfg,
    const struct spf_request *req, struct spf_outcome *out_r,
    const char **error_r);

/* ---- policy: spf_reject_on ---- */

/* Which results the check_spf restriction refuses (spf_reject_on). */
enum spf_reject_mode {
	SPF_REJECT_FAIL,	/* "fail": fail only (the default) */
	SPF_REJECT_SOFTFAIL,	/* "softfail": fail and softfail */
	SPF_REJECT_NEVER,	/* "never": record only */
};

/*
 * Parse a spf_reject_on value ("fail", "softfail", "never"; case-
 * insensitive).  -1 with *error_r for anything else.
 */
int spf_reject_mode_parse(const char *value, enum spf_reject_mode *mode_r,
    const char **error_r);
/* True when MODE refuses mail with RESULT. */
bool spf_rejects(enum spf_reject_mode mode, enum spf_result result);

/* ---- header texts ---- */

/*
 * The value of a Received-SPF: header field for O (RFC 7208 9.1), e.g.
 * "pass (mx.example.org: domain of a@example.com designates 192.0.2.1 as
 * permitted sender) client-ip=192.0.2.1; envelope-from=\"a@example.com\";
 * helo=mail.example.com; receiver=mx.example.org; mechanism=\"ip4:...\";
 * identity=mailfrom", appended to OUT.
 */
void spf_received_spf(const struct spf_outcome *o, struct buf *out);

/*
 * The spf= method part of Authentication-Results: (RFC 8601 2.7.2) for O,
 * e.g. "spf=pass smtp.mailfrom=a@example.com" or "spf=none
 * smtp.helo=mail.example.com", appended to OUT (no leading "; ").
 */
void spf_auth_results(const struct spf_outcome *o, struct buf *out);

#endif
