/*
 * smtpd - what the parts of the SMTP server share: the server-wide
 * settings read once at start-up, and the session entry points.
 */
#ifndef ULAK_SMTPD_H
#define ULAK_SMTPD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "smtpd_data.h"

struct dns_resolver;
struct event_base;
struct netserver;
struct psl;
struct rate_table;
struct smtpd_auth;
struct smtpd_check;
struct tls_server;

/* smtpd_tls_security_level */
enum smtpd_tls_level {
	SMTPD_TLS_NONE,		/* no STARTTLS */
	SMTPD_TLS_MAY,		/* offered */
	SMTPD_TLS_ENCRYPT,	/* required before MAIL, AUTH, ... */
};

/* The kinds of event counted for smtpd_client_*_rate_limit. */
enum smtpd_rate {
	SMTPD_RATE_CONN,	/* connections */
	SMTPD_RATE_MAIL,	/* MAIL FROM commands */
	SMTPD_RATE_RCPT,	/* RCPT TO commands */
	SMTPD_RATE_NEWTLS,	/* new (not resumed) TLS sessions */
	SMTPD_RATE_AUTH,	/* AUTH commands */
	SMTPD_RATE_N
};

/* Server-wide state: settings from main.cf and the netserver. */
struct smtpd_server {
	struct event_base *base;
	struct smtpd_check *check;
	struct netserver *net;	/* listeners, session and connection counts */
	struct tls_server *tls;	/* NULL: no TLS (no certificate, or none) */
	enum smtpd_tls_level tls_level;
	bool tls_wrapper;	/* smtpd_tls_wrappermode: TLS from byte one */
	uint64_t starttls_timeout;
	struct smtpd_auth *auth;	/* NULL: AUTH not offered */
	bool tls_auth_only;	/* AUTH only over TLS */
	char *myhostname;
	char *banner;		/* smtpd_banner, expanded */
	char *cleanup_path;	/* $queue_directory/private/cleanup */
	char *service;		/* master.cf service name, for logs */
	uint64_t timeout;	/* smtpd_timeout, seconds */
	uint64_t ipc_timeout;
	uint64_t message_size_limit;	/* 0: none */
	uint64_t recipient_limit;
	uint64_t hard_error_limit;
	uint64_t soft_error_limit;
	uint64_t error_sleep_time;
	uint64_t junk_command_limit;
	uint64_t conn_count_limit;	/* 0: none */
	/*
	 * smtpd_client_*_rate_limit (0: none), counted per client network
	 * (smtpd_client_ipv4/6_prefix_length) over anvil_rate_time_unit in
	 * RATES; NULL when every rate limit is off.
	 */
	struct rate_table *rates;
	uint64_t conn_rate_limit, msg_rate_limit, rcpt_rate_limit;
	uint64_t newtls_rate_limit, auth_rate_limit;
	uint64_t rate_unit;		/* anvil_rate_time_unit, seconds */
	unsigned ipv4_prefix, ipv6_prefix;
	uint64_t rate_evictions_logged;	/* evictions at the last warning */
	uint64_t rate_full_warned;	/* when (monotonic ms), 0: never */
	uint64_t line_limit;		/* longest command line */
	enum smtpd_data_newline bare_newline;
	bool helo_required;
	bool vrfy_disabled;
	bool smtputf8;
	bool strict_rfc821;
	bool forbid_unauth_pipelining;
	/* EHLO keywords, as offered (smtpd_discard_ehlo_keywords applied). */
	bool ehlo_pipelining, ehlo_size, ehlo_vrfy, ehlo_8bitmime;
	bool ehlo_enhanced, ehlo_dsn, ehlo_smtputf8, ehlo_chunking;
	bool ehlo_starttls, ehlo_auth;
	/* DNS-based checks (docs/checks.md); resolver NULL: none. */
	struct dns_resolver *resolver;
	bool peername_lookup;	/* smtpd_peername_lookup */
	bool dkim_verify;	/* dkim_verify */
	uint64_t dkim_sig_limit;	/* dkim_verify_signature_limit */
	struct psl *psl;	/* NULL: no DMARC evaluation */
	bool dmarc_enforce;
	bool dmarc_report;	/* dmarc_report_data */
	char *data_directory;
	struct buf scratch;	/* per-reply formatting; never held across calls */
};

/*
 * Serve the client connected on FD (non-blocking, owned by the session
 * from now on); SA is its address.  Never fails: on trouble the client
 * gets a 421 and the connection is closed.
 */
void smtpd_session_start(struct smtpd_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen);

#endif
