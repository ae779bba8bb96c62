/*
 * smtpd_auth - SMTP AUTH for smtpd: PLAIN and LOGIN exchanges, password
 * checks and failed-login bookkeeping; see smtpd_auth.h.
 *
 * Distrusts every byte from the client: base64 and the PLAIN message are
 * decoded strictly by src/global/sasl, LOGIN's name and password are
 * checked for NUL and length.  Runs unprivileged inside smtpd; the
 * password tables were opened before privileges were dropped.  Passwords
 * live only in buffers that are wiped before they are freed; they are
 * never logged.
 */
#include "smtpd_auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "passdb.h"
#include "sasl.h"
#include "str.h"

/* LOGIN's prompts (base64 of "Username:" and "Password:"). */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

/* Failed logins per client address, within anvil_rate_time_unit. */
struct fail_entry {
	struct fail_entry *next;
	time_t start;		/* the window began */
	unsigned count;
	char addr[];
};

#define FAIL_BUCKETS 256

struct smtpd_auth {
	struct passdb *db;		/* smtpd_sasl_password_maps */
	uint64_t delay;			/* smtpd_sasl_failure_delay, s */
	uint64_t delay_limit;		/* smtpd_sasl_failure_delay_limit, s */
	uint64_t limit;			/* smtpd_sasl_failure_limit */
	uint64_t window;		/* anvil_rate_time_unit, s */
	struct fail_entry *fails[FAIL_BUCKETS];
	size_t n_fails;
};

/* A password check on a worker thread. */
struct smtpd_auth_job {
	struct event *done_ev;
	void (*done)(void *ctx, enum smtpd_auth_result res);
	void *ctx;		/* NULL once cancelled */
	char *password;
	char *hash;
	bool known;		/* else the check only costs time */
	bool ok;
};

/* The service. */

struct smtpd_auth *
smtpd_auth_new(struct config *cfg, const char **error_r)
{
	struct smtpd_auth *a = xcalloc(1, sizeof(*a));
	const char *spec = config_str(cfg, "smtpd_sasl_password_maps");

	a->delay = config_time(cfg, "smtpd_sasl_failure_delay");
	a->delay_limit = config_time(cfg, "smtpd_sasl_failure_delay_limit");
	a->limit = config_int(cfg, "smtpd_sasl_failure_limit");
	a->window = config_time(cfg, "anvil_rate_time_unit");
	if (a->window == 0)
		a->window = 1;
	a->db = passdb_open(spec, error_r);
	if (a->db == NULL) {
		*error_r = err_fmt("smtpd_sasl_password_maps: %s", *error_r);
		free(a);
		return NULL;
	}
	if (*spec == '\0')
		log_warning("smtpd_sasl_password_maps is empty: every SMTP AUTH "
		    "login fails");
	return a;
}

void
smtpd_auth_free(struct smtpd_auth *a)
{
	if (a == NULL)
		return;
	passdb_close(a->db);
	for (size_t i = 0; i < FAIL_BUCKETS; i++) {
		while (a->fails[i] != NULL) {
			struct fail_entry *e = a->fails[i];

			a->fails[i] = e->next;
			free(e);
		}
	}
	free(a);
}

const char *
smtpd_auth_mechanisms(void)
{
	return "PLAIN LOGIN";
}

const char *
smtpd_auth_mech_name(enum smtpd_auth_mech mech)
{
	switch (mech) {
	case SMTPD_AUTH_MECH_PLAIN:
		return "PLAIN";
	case SMTPD_AUTH_MECH_LOGIN:
		return "LOGIN";
	default:
		return "";
	}
}

static void
wipe_free(char *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

void
smtpd_auth_exchange_release(struct smtpd_auth_exchange *ex)
{
	free(ex->user);
	wipe_free(ex->password);
	memset(ex, 0, sizeof(*ex));
}

static void
wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	buf_release(b);
}

/* A LOGIN user name or password: 1..255 bytes, no NUL (RFC 4616 rules). */
static bool
clean_field(const struct buf *b)
{
	return b->len > 0 && b->len <= SASL_PLAIN_FIELD_MAX &&
	    memchr(b->data, '\0', b->len) == NULL;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static enum smtpd_auth_result
plain(struct smtpd_auth_exchange *ex, const char *line)
{
	struct sasl_plain p = { NULL, NULL, NULL };
	struct buf d;
	const char *error;
	enum smtpd_auth_result res = SMTPD_AUTH_CHECK;

	buf_init(&d, SASL_PLAIN_FIELD_MAX * 3 + 2);
	if (sasl_base64_decode(line, strlen(line), &d, &error) < 0) {
		wipe(&d);
		return SMTPD_AUTH_BAD_BASE64;
	}
	if (sasl_plain_parse(d.data, d.len, &p, &error) < 0) {
		/* Not a PLAIN message: a failed login all the same. */
		wipe(&d);
		ex->user = xstrdup("");
		return SMTPD_AUTH_FAILED;
	}
	wipe(&d);
	ex->user = xstrdup(p.authcid);
	/* No proxy logins: an authzid must name the user itself. */
	if (p.authzid[0] != '\0' && strcmp(p.authzid, p.authcid) != 0)
		res = SMTPD_AUTH_FAILED;
	else
		ex->password = xstrdup(p.passwd);
	sasl_plain_release(&p);
	return res;
}

enum smtpd_auth_result
smtpd_auth_start(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    const char *mech, const char *initial, struct buf *reply)
{
	smtpd_auth_exchange_release(ex);
	buf_reset(reply);
	if (str_casecmp(mech, "PLAIN") == 0) {
		ex->mech = SMTPD_AUTH_MECH_PLAIN;
		if (initial != NULL)
			return plain(ex, initial);
		ex->step = 1;
		return SMTPD_AUTH_CHALLENGE;
	}
	if (str_casecmp(mech, "LOGIN") == 0) {
		ex->mech = SMTPD_AUTH_MECH_LOGIN;
		ex->step = 1;
		/* Some clients send the user name at once. */
		if (initial != NULL)
			return smtpd_auth_step(a, ex, initial, reply);
		buf_append_str(reply, LOGIN_USER_PROMPT);
		return SMTPD_AUTH_CHALLENGE;
	}
	return SMTPD_AUTH_BAD_MECH;
}

enum smtpd_auth_result
smtpd_auth_step(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    const char *line, struct buf *reply)
{
	struct buf d;
	const char *error;

	buf_reset(reply);
	if (strcmp(line, "*") == 0)
		return SMTPD_AUTH_ABORTED;
	if (ex->mech == SMTPD_AUTH_MECH_PLAIN)
		return plain(ex, line);
	buf_init(&d, SASL_PLAIN_FIELD_MAX * 4);
	if (sasl_base64_decode(line, strlen(line), &d, &error) < 0) {
		wipe(&d);
		return SMTPD_AUTH_BAD_BASE64;
	}
	if (ex->step == 1) {
		free(ex->user);
		/* A bad name still gets the password prompt, then fails. */
		ex->user = clean_field(&d) ? xstrndup(d.data, d.len) :
		    xstrdup("");
		ex->step = 2;
		buf_append_str(reply, LOGIN_PASS_PROMPT);
		wipe(&d);
		return SMTPD_AUTH_CHALLENGE;
	}
	if (ex->user == NULL || ex->user[0] == '\0' || !clean_field(&d)) {
		wipe(&d);
		return SMTPD_AUTH_FAILED;
	}
	wipe_free(ex->password);
	ex->password = xstrndup(d.data, d.len);
	wipe(&d);
	return SMTPD_AUTH_CHECK;
}

/* Checking. */

/* The quick half: the table.  -1 on a table failure (logged). */
static int
lookup(struct smtpd_auth *a, const char *user, char **hash_r, bool *known_r)
{
	struct passdb_user u;
	const char *error;
	enum passdb_result r;

	memset(&u, 0, sizeof(u));
	r = passdb_lookup(a->db, user, &u, hash_r, &error);
	passdb_user_release(&u);
	if (r == PASSDB_TEMPFAIL) {
		log_warning("smtpd_sasl_password_maps: %s", error);
		return -1;
	}
	*known_r = r == PASSDB_OK;
	return 0;
}

enum smtpd_auth_result
smtpd_auth_verify(struct smtpd_auth *a, struct smtpd_auth_exchange *ex)
{
	char *hash = NULL;
	bool known = false, ok;

	if (lookup(a, ex->user, &hash, &known) < 0)
		return SMTPD_AUTH_TEMPFAIL;
	ok = passdb_check_hash(ex->password, hash);
	free(hash);
	wipe_free(ex->password);
	ex->password = NULL;
	return known && ok ? SMTPD_AUTH_OK : SMTPD_AUTH_FAILED;
}

static void
job_free(struct smtpd_auth_job *job)
{
	wipe_free(job->password);
	free(job->hash);
	if (job->done_ev != NULL)
		event_free(job->done_ev);
	free(job);
}

static void *
job_thread(void *arg)
{
	struct smtpd_auth_job *job = arg;

	job->ok = passdb_check_hash(job->password, job->hash);
	explicit_bzero(job->password, strlen(job->password));
	/* Back to the event loop's thread. */
	event_active(job->done_ev, 0, 0);
	return NULL;
}

static void
job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_auth_job *job = arg;

	if (job->ctx != NULL)
		job->done(job->ctx, job->known && job->ok ? SMTPD_AUTH_OK :
		    SMTPD_AUTH_FAILED);
	job_free(job);
}

struct smtpd_auth_job *
smtpd_auth_check(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    struct event_base *base,
    void (*done)(void *ctx, enum smtpd_auth_result res), void *ctx)
{
	struct smtpd_auth_job *job = xcalloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t tid;

	if (lookup(a, ex->user, &job->hash, &job->known) < 0) {
		free(job);
		return NULL;
	}
	job->password = ex->password;
	ex->password = NULL;
	job->done = done;
	job->ctx = ctx;
	job->done_ev = event_new(base, -1, 0, job_done_cb, job);
	if (job->done_ev == NULL)
		log_fatal("event_new failed");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, job_thread, job) != 0) {
		/* No thread: check here (a slower loop, but an answer). */
		job_thread(job);
	}
	pthread_attr_destroy(&attr);
	return job;
}

void
smtpd_auth_job_cancel(struct smtpd_auth_job *job)
{
	/* The thread still owns JOB; job_done_cb frees it. */
	if (job != NULL)
		job->ctx = NULL;
}

/* Failed logins. */

static unsigned
fail_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % FAIL_BUCKETS;
}

/* Drop the entries whose window has passed (keeps the table small). */
static void
fail_expire(struct smtpd_auth *a, time_t now)
{
	for (size_t i = 0; i < FAIL_BUCKETS; i++) {
		struct fail_entry **pp = &a->fails[i], *e;

		while ((e = *pp) != NULL) {
			if (now - e->start >= (time_t)a->window ||
			    now < e->start) {
				*pp = e->next;
				free(e);
				a->n_fails--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct fail_entry *
fail_find(struct smtpd_auth *a, const char *addr, time_t now)
{
	struct fail_entry *e;

	for (e = a->fails[fail_hash(addr)]; e != NULL; e = e->next) {
		if (strcmp(e->addr, addr) != 0)
			continue;
		if (now - e->start >= (time_t)a->window || now < e->start) {
			e->start = now;
			e->count = 0;
		}
		return e;
	}
	return NULL;
}

unsigned
smtpd_auth_failures(struct smtpd_auth *a, const char *addr, time_t now)
{
	struct fail_entry *e = fail_find(a, addr, now);

	return e != NULL ? e->count : 0;
}

unsigned
smtpd_auth_fail_count(struct smtpd_auth *a, const char *addr, time_t now)
{
	struct fail_entry *e = fail_find(a, addr, now);

	if (e == NULL) {
		size_t len = strlen(addr);

		if (a->n_fails >= 4096)
			fail_expire(a, now);
		e = xmalloc(sizeof(*e) + len + 1);
		memcpy(e->addr, addr, len + 1);
		e->start = now;
		e->count = 0;
		e->next = a->fails[fail_hash(addr)];
		a->fails[fail_hash(addr)] = e;
		a->n_fails++;
	}
	if (e->count < 1000000)
		e->count++;
	return e->count;
}

uint64_t
smtpd_auth_delay_ms(const struct smtpd_auth *a, unsigned n)
{
	uint64_t d = a->delay * 1000, cap = a->delay_limit * 1000;

	if (n == 0)
		return 0;
	for (unsigned i = 1; i < n && d < cap; i++)
		d *= 2;
	return d > cap ? cap : d;
}

bool
smtpd_auth_over_limit(const struct smtpd_auth *a, unsigned n)
{
	return a->limit > 0 && n >= a->limit;
}
