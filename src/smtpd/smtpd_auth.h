/*
 * smtpd_auth - the server side of SMTP AUTH (RFC 4954) in smtpd: the
 * PLAIN (RFC 4616, decoded by src/global/sasl) and LOGIN mechanisms, the
 * check of a user name and password against smtpd_sasl_password_maps
 * (src/global/passdb; the slow hash check on a worker thread), and the
 * bookkeeping of failed logins per client address (the growing delay
 * and the limit).
 *
 * Everything a client sends here is distrusted: responses are strict
 * base64 of bounded length, the decoded PLAIN message must have exactly
 * its three parts, and names and passwords may hold no NUL.  Passwords
 * are wiped from memory after use and never logged.
 */
#ifndef ULAK_SMTPD_AUTH_H
#define ULAK_SMTPD_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct config;
struct event_base;

/* RFC 4954 4: a line of the exchange may be 12288 octets long. */
#define SMTPD_AUTH_LINE_MAX 12288

enum smtpd_auth_mech {
	SMTPD_AUTH_MECH_NONE,
	SMTPD_AUTH_MECH_PLAIN,
	SMTPD_AUTH_MECH_LOGIN,
};

/* What the session does next. */
enum smtpd_auth_result {
	SMTPD_AUTH_CHALLENGE,	/* send "334 <reply>" and read a line */
	SMTPD_AUTH_CHECK,	/* name and password known: check them */
	SMTPD_AUTH_OK,		/* authenticated as the exchange's user */
	SMTPD_AUTH_FAILED,	/* wrong name or password: 535, counted */
	SMTPD_AUTH_ABORTED,	/* the client sent "*": 501 5.7.0 */
	SMTPD_AUTH_BAD_BASE64,	/* 501 5.5.2 Cannot decode response */
	SMTPD_AUTH_TEMPFAIL,	/* the table could not be read: 454 4.7.0 */
	SMTPD_AUTH_BAD_MECH,	/* 504 5.5.4 */
};

/* One exchange: from AUTH to its final reply. */
struct smtpd_auth_exchange {
	enum smtpd_auth_mech mech;
	int step;		/* mechanism-specific */
	char *user;		/* the login, once known (owned) */
	char *password;		/* once known (owned, wiped on release) */
};

struct smtpd_auth;

/*
 * The AUTH service from CFG: smtpd_sasl_password_maps (opened now, while
 * the daemon may still be root; see passdb.h), smtpd_sasl_failure_delay,
 * smtpd_sasl_failure_delay_limit, smtpd_sasl_failure_limit and
 * anvil_rate_time_unit.  NULL with *error_r when the tables cannot be
 * opened; with no tables at all it is created but every login fails.
 */
struct smtpd_auth *smtpd_auth_new(struct config *cfg, const char **error_r);
void smtpd_auth_free(struct smtpd_auth *a);

/* The mechanisms offered, for EHLO: "PLAIN LOGIN". */
const char *smtpd_auth_mechanisms(void);

/* The name of MECH, upper case ("PLAIN"). */
const char *smtpd_auth_mech_name(enum smtpd_auth_mech mech);

/*
 * Begin an exchange for MECH (upper case) with INITIAL (the initial
 * response as sent, "=" for an empty one; NULL when none).  The
 * challenge (base64, may be empty) or nothing goes into REPLY.  EX is
 * reset first; release it with smtpd_auth_exchange_release().
 */
enum smtpd_auth_result smtpd_auth_start(struct smtpd_auth *a,
    struct smtpd_auth_exchange *ex, const char *mech, const char *initial,
    struct buf *reply);

/* The client's next line LINE (without CRLF) in the exchange. */
enum smtpd_auth_result smtpd_auth_step(struct smtpd_auth *a,
    struct smtpd_auth_exchange *ex, const char *line, struct buf *reply);

void smtpd_auth_exchange_release(struct smtpd_auth_exchange *ex);

/*
 * After SMTPD_AUTH_CHECK: check EX's user and password without blocking
 * the event loop.  The table lookup happens now; the hash check on a
 * worker thread; DONE(CTX, result) is called later from BASE's loop with
 * SMTPD_AUTH_OK, SMTPD_AUTH_FAILED or SMTPD_AUTH_TEMPFAIL (logged).  The
 * password is taken out of EX.  Returns the job; when the session ends
 * first it calls smtpd_auth_job_cancel (DONE is then never called).
 * NULL when the table lookup failed (logged): a temporary failure.
 * BASE must be thread-enabled (evthread_use_pthreads before it was made).
 */
struct smtpd_auth_job;
struct smtpd_auth_job *smtpd_auth_check(struct smtpd_auth *a,
    struct smtpd_auth_exchange *ex, struct event_base *base,
    void (*done)(void *ctx, enum smtpd_auth_result res), void *ctx);
void smtpd_auth_job_cancel(struct smtpd_auth_job *job);

/* The same check done at once (blocks for the hash; tests). */
enum smtpd_auth_result smtpd_auth_verify(struct smtpd_auth *a,
    struct smtpd_auth_exchange *ex);

/*
 * Failed logins of client ADDR at time NOW: record one more and return
 * how many there were within the last anvil_rate_time_unit.
 */
unsigned smtpd_auth_fail_count(struct smtpd_auth *a, const char *addr,
    time_t now);

/* How many failures ADDR has within the window (0 when none). */
unsigned smtpd_auth_failures(struct smtpd_auth *a, const char *addr,
    time_t now);

/*
 * The delay before answering failure number N (1, 2, ...) of a client:
 * smtpd_sasl_failure_delay doubled per failure, at most
 * smtpd_sasl_failure_delay_limit; in milliseconds.
 */
uint64_t smtpd_auth_delay_ms(const struct smtpd_auth *a, unsigned n);

/* True when N failures reach smtpd_sasl_failure_limit (0: no limit). */
bool smtpd_auth_over_limit(const struct smtpd_auth *a, unsigned n);

#endif
