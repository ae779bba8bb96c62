/*
 * Unit tests for src/smtpd/smtpd_auth: the PLAIN and LOGIN exchanges
 * against a passwd-file (right, wrong and unknown logins, malformed
 * messages, cancel), the check on a worker thread, and the failed-login
 * delay and limit.  The module belongs to the smtpd executable, so it is
 * compiled in here.  (Base64 and PLAIN parsing: test_sasl.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <crypt.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "../../src/smtpd/smtpd_auth.c"
#include "base64.h"
#include "file.h"

struct fixture {
	char dir[64];
	struct buf path;
	struct config *cfg;
	struct smtpd_auth *a;
};

/* A passwd-file with demo:secret (yescrypt) and sha:pw (SHA-512-crypt). */
static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct buf text, spec;
	const char *error;
	char *h1, *h2;

	str_copy(f->dir, sizeof(f->dir), "/tmp/test_smtpd_auth.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	buf_init(&f->path, 0);
	buf_printf(&f->path, "%s/users", f->dir);
	h1 = crypt_gensalt_ra("$y$", 0, NULL, 0);
	h2 = crypt_gensalt_ra("$6$", 0, NULL, 0);
	assert_non_null(h1);
	assert_non_null(h2);
	buf_init(&text, 0);
	buf_printf(&text, "demo:%s:1000:1000::/home/demo:/bin/false\n",
	    crypt(("secret"), h1));
	buf_printf(&text, "sha:%s:1000:1000::/home/sha:/bin/false\n",
	    crypt("pw", h2));
	buf_printf(&text, "locked:!%s:1000:1000::/home/x:/bin/false\n",
	    crypt("pw", h2));
	free(h1);
	free(h2);
	assert_int_equal(file_write_atomic(f->path.data, text.data, text.len,
	    0600, &error), 0);
	buf_release(&text);
	f->cfg = config_new("/nonexistent");
	buf_init(&spec, 0);
	buf_printf(&spec, "passwd-file:%s", f->path.data);
	config_set(f->cfg, "smtpd_sasl_password_maps", spec.data);
	buf_release(&spec);
	config_set(f->cfg, "smtpd_sasl_failure_delay", "1s");
	config_set(f->cfg, "smtpd_sasl_failure_delay_limit", "5s");
	config_set(f->cfg, "smtpd_sasl_failure_limit", "3");
	config_set(f->cfg, "anvil_rate_time_unit", "60s");
	f->a = smtpd_auth_new(f->cfg, &error);
	assert_non_null(f->a);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	smtpd_auth_free(f->a);
	config_free(f->cfg);
	unlink(f->path.data);
	rmdir(f->dir);
	buf_release(&f->path);
	free(f);
	return 0;
}

static struct buf b64buf;

/* Base64 of P[0..N); valid until the next call. */
static const char *
b64(const void *p, size_t n)
{
	if (b64buf.data == NULL)
		buf_init(&b64buf, 0);
	buf_reset(&b64buf);
	(void)base64_encode(p, n, &b64buf);
	return b64buf.data;
}

/* CHECK results are checked at once (smtpd_auth_verify). */
static enum smtpd_auth_result
done(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    enum smtpd_auth_result r)
{
	return r == SMTPD_AUTH_CHECK ? smtpd_auth_verify(a, ex) : r;
}

static void
test_plain(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *msg;
		size_t len;
		enum smtpd_auth_result res;
	} t[] = {
		{ "\0demo\0secret", 12, SMTPD_AUTH_OK },
		{ "demo\0demo\0secret", 16, SMTPD_AUTH_OK },
		{ "\0DEMO\0secret", 12, SMTPD_AUTH_OK },
		{ "\0sha\0pw", 7, SMTPD_AUTH_OK },
		{ "\0demo\0Secret", 12, SMTPD_AUTH_FAILED },
		{ "\0demo\0", 6, SMTPD_AUTH_FAILED },
		{ "\0nobody\0secret", 14, SMTPD_AUTH_FAILED },
		{ "\0locked\0pw", 10, SMTPD_AUTH_FAILED },
		{ "sha\0demo\0secret", 15, SMTPD_AUTH_FAILED },
		{ "\0demo", 5, SMTPD_AUTH_FAILED },
		{ "demo secret", 11, SMTPD_AUTH_FAILED },
		{ "\0de:mo\0secret", 13, SMTPD_AUTH_FAILED },
		{ "\0demo\0secret\0", 13, SMTPD_AUTH_FAILED },
	};
	struct smtpd_auth_exchange ex;
	struct buf reply;

	memset(&ex, 0, sizeof(ex));
	buf_init(&reply, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum smtpd_auth_result r;

		/* As an initial response ... */
		r = done(f->a, &ex, smtpd_auth_start(f->a, &ex, "PLAIN",
		    b64(t[i].msg, t[i].len), &reply));
		if (r != t[i].res)
			fail_msg("case %zu: got %d", i, (int)r);
		/* ... and after an empty challenge. */
		assert_int_equal(smtpd_auth_start(f->a, &ex, "plain", NULL,
		    &reply), SMTPD_AUTH_CHALLENGE);
		assert_string_equal(reply.data, "");
		r = done(f->a, &ex, smtpd_auth_step(f->a, &ex,
		    b64(t[i].msg, t[i].len), &reply));
		if (r != t[i].res)
			fail_msg("case %zu (challenge): got %d", i, (int)r);
	}
	assert_int_equal(smtpd_auth_start(f->a, &ex, "PLAIN", "AGRlbW8",
	    &reply), SMTPD_AUTH_BAD_BASE64);
	assert_int_equal(smtpd_auth_start(f->a, &ex, "PLAIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, "*", &reply),
	    SMTPD_AUTH_ABORTED);
	assert_int_equal(smtpd_auth_start(f->a, &ex, "CRAM-MD5", NULL,
	    &reply), SMTPD_AUTH_BAD_MECH);
	assert_int_equal(smtpd_auth_start(f->a, &ex, "PLAIN", "=", &reply),
	    SMTPD_AUTH_FAILED);
	/* A 256-byte password is longer than RFC 4616 allows. */
	{
		char msg[300];

		memset(msg, 'x', sizeof(msg));
		memcpy(msg, "\0demo\0", 6);
		assert_int_equal(smtpd_auth_start(f->a, &ex, "PLAIN",
		    b64(msg, 6 + 256), &reply), SMTPD_AUTH_FAILED);
	}
	smtpd_auth_exchange_release(&ex);
	buf_release(&reply);
}

static void
test_login(void **state)
{
	struct fixture *f = *state;
	struct smtpd_auth_exchange ex;
	struct buf reply;

	memset(&ex, 0, sizeof(ex));
	buf_init(&reply, 0);
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_string_equal(reply.data, "VXNlcm5hbWU6");
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("demo", 4), &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_string_equal(reply.data, "UGFzc3dvcmQ6");
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("secret", 6),
	    &reply), SMTPD_AUTH_CHECK);
	assert_string_equal(ex.user, "demo");
	assert_string_equal(ex.password, "secret");
	assert_int_equal(smtpd_auth_verify(f->a, &ex), SMTPD_AUTH_OK);
	assert_null(ex.password);

	/* The user name as an initial response. */
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", b64("demo", 4),
	    &reply), SMTPD_AUTH_CHALLENGE);
	assert_string_equal(reply.data, "UGFzc3dvcmQ6");
	assert_int_equal(done(f->a, &ex, smtpd_auth_step(f->a, &ex,
	    b64("wrong", 5), &reply)), SMTPD_AUTH_FAILED);

	/* A bad name still gets the password prompt, then fails. */
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("de\0mo", 5), &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(done(f->a, &ex, smtpd_auth_step(f->a, &ex,
	    b64("secret", 6), &reply)), SMTPD_AUTH_FAILED);

	/* Cancel and garbage at each step. */
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, "*", &reply),
	    SMTPD_AUTH_ABORTED);
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, "!!!!", &reply),
	    SMTPD_AUTH_BAD_BASE64);
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("demo", 4), &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, "=", &reply),
	    SMTPD_AUTH_FAILED);
	smtpd_auth_exchange_release(&ex);
	buf_release(&reply);
}

static void
test_failures(void **state)
{
	struct fixture *f = *state;
	time_t t0 = 1000000;

	assert_int_equal(smtpd_auth_failures(f->a, "192.0.2.1", t0), 0);
	assert_int_equal(smtpd_auth_fail_count(f->a, "192.0.2.1", t0), 1);
	assert_int_equal(smtpd_auth_fail_count(f->a, "192.0.2.1", t0 + 1), 2);
	assert_int_equal(smtpd_auth_fail_count(f->a, "192.0.2.2", t0 + 1), 1);
	assert_false(smtpd_auth_over_limit(f->a, 2));
	assert_int_equal(smtpd_auth_fail_count(f->a, "192.0.2.1", t0 + 2), 3);
	assert_true(smtpd_auth_over_limit(f->a, 3));
	assert_int_equal(smtpd_auth_failures(f->a, "192.0.2.1", t0 + 59), 3);
	/* The window (anvil_rate_time_unit) passes. */
	assert_int_equal(smtpd_auth_failures(f->a, "192.0.2.1", t0 + 60), 0);
	assert_int_equal(smtpd_auth_fail_count(f->a, "192.0.2.1", t0 + 61), 1);

	assert_int_equal(smtpd_auth_delay_ms(f->a, 0), 0);
	assert_int_equal(smtpd_auth_delay_ms(f->a, 1), 1000);
	assert_int_equal(smtpd_auth_delay_ms(f->a, 2), 2000);
	assert_int_equal(smtpd_auth_delay_ms(f->a, 3), 4000);
	assert_int_equal(smtpd_auth_delay_ms(f->a, 4), 5000);
	assert_int_equal(smtpd_auth_delay_ms(f->a, 100), 5000);
}

static void
test_no_table(void **state)
{
	struct config *cfg = config_new("/nonexistent");
	struct smtpd_auth_exchange ex;
	struct smtpd_auth *a;
	struct buf reply, logged;
	const char *error = NULL;

	memset(&ex, 0, sizeof(ex));
	config_set(cfg, "smtpd_sasl_password_maps",
	    "passwd-file:/nonexistent/users");
	assert_null(smtpd_auth_new(cfg, &error));
	assert_non_null(strstr(error, "smtpd_sasl_password_maps: "));
	config_set(cfg, "smtpd_sasl_password_maps", "");
	buf_init(&reply, 0);
	buf_init(&logged, 0);
	log_capture(&logged);
	a = smtpd_auth_new(cfg, &error);
	log_capture(NULL);
	assert_non_null(a);
	assert_non_null(strstr(logged.data, "smtpd_sasl_password_maps is "
	    "empty"));
	assert_int_equal(done(a, &ex, smtpd_auth_start(a, &ex, "PLAIN",
	    b64("\0a\0b", 4), &reply)), SMTPD_AUTH_FAILED);
	smtpd_auth_exchange_release(&ex);
	smtpd_auth_free(a);
	buf_release(&reply);
	buf_release(&logged);
	config_free(cfg);
}

struct thread_result {
	struct event_base *base;
	enum smtpd_auth_result res;
	int calls;
};

static void
thread_done(void *ctx, enum smtpd_auth_result res)
{
	struct thread_result *t = ctx;

	t->res = res;
	t->calls++;
	event_base_loopbreak(t->base);
}

/* The check on a worker thread, answered in the loop; and cancelled. */
static void
test_worker_thread(void **state)
{
	struct fixture *f = *state;
	struct smtpd_auth_exchange ex;
	struct thread_result t = { NULL, SMTPD_AUTH_CHALLENGE, 0 };
	struct smtpd_auth_job *job;
	struct buf reply;
	static const char *const pw[] = { "secret", "nope" };
	static const enum smtpd_auth_result want[] = { SMTPD_AUTH_OK,
		SMTPD_AUTH_FAILED };

	assert_int_equal(evthread_use_pthreads(), 0);
	t.base = event_base_new();
	memset(&ex, 0, sizeof(ex));
	buf_init(&reply, 0);
	for (size_t i = 0; i < 2; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "%cdemo%c%s", 0, 0, pw[i]);

		assert_int_equal(smtpd_auth_start(f->a, &ex, "PLAIN",
		    b64(msg, (size_t)n), &reply), SMTPD_AUTH_CHECK);
		t.calls = 0;
		job = smtpd_auth_check(f->a, &ex, t.base, thread_done, &t);
		assert_non_null(job);
		assert_null(ex.password);
		{
			/* Keeps the loop waiting; thread_done breaks it. */
			struct timeval tv = { 30, 0 };

			event_base_loopexit(t.base, &tv);
		}
		event_base_dispatch(t.base);
		assert_int_equal(t.calls, 1);
		assert_int_equal(t.res, want[i]);
	}
	/* Cancelled: the callback never comes, the job is freed. */
	assert_int_equal(smtpd_auth_start(f->a, &ex, "PLAIN",
	    b64("\0demo\0secret", 12), &reply), SMTPD_AUTH_CHECK);
	t.calls = 0;
	job = smtpd_auth_check(f->a, &ex, t.base, thread_done, &t);
	smtpd_auth_job_cancel(job);
	{
		struct timeval tv = { 2, 0 };

		event_base_loopexit(t.base, &tv);
		event_base_dispatch(t.base);
	}
	assert_int_equal(t.calls, 0);
	smtpd_auth_exchange_release(&ex);
	buf_release(&reply);
	event_base_free(t.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test(test_no_table),
		cmocka_unit_test_setup_teardown(test_worker_thread, setup,
		    teardown),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	buf_release(&b64buf);
	return failed;
}
