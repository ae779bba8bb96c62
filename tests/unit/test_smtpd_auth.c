/*
 * Unit tests for src/smtpd/smtpd_auth: strict base64, the PLAIN and LOGIN
 * exchanges against a passwd-file (right, wrong and unknown logins,
 * malformed messages, cancel), and the failed-login delay and limit.  The
 * module belongs to the smtpd executable, so it is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/smtpd/smtpd_auth.c"
#include "file.h"

static void
test_base64(void **state)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: refused */
		size_t outlen;
	} t[] = {
		{ "=", "", 0 },
		{ "", "", 0 },
		{ "AGRlbW8AcHc=", "\0demo\0pw", 8 },
		{ "YQ==", "a", 1 },
		{ "YWI=", "ab", 2 },
		{ "YWJj", "abc", 3 },
		{ "YQ=", NULL, 0 },		/* not a multiple of 4 */
		{ "YQ", NULL, 0 },
		{ "Y===", NULL, 0 },		/* too much padding */
		{ "YQ==YWJj", NULL, 0 },	/* data after padding */
		{ "YR==", NULL, 0 },		/* non-zero unused bits */
		{ "YWJ=", NULL, 0 },
		{ "YW Jj", NULL, 0 },		/* white space */
		{ "YW\nJj", NULL, 0 },
		{ "YWJ*", NULL, 0 },
		{ "=YWJ", NULL, 0 },
		{ "YWJjZA==", "abcd", 4 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf out;
		int r;

		buf_init(&out, 0);
		r = smtpd_auth_base64_decode(t[i].in, strlen(t[i].in), 100,
		    &out);
		if (t[i].out == NULL) {
			if (r == 0)
				fail_msg("case %zu (%s) accepted", i, t[i].in);
		} else {
			if (r != 0)
				fail_msg("case %zu (%s) refused", i, t[i].in);
			assert_int_equal(out.len, t[i].outlen);
			assert_memory_equal(out.data, t[i].out, out.len);
			/* And back (but "=" encodes as nothing). */
			buf_reset(&out);
			smtpd_auth_base64_encode(t[i].out, t[i].outlen, &out);
			if (t[i].outlen > 0)
				assert_string_equal(out.data, t[i].in);
		}
		buf_release(&out);
	}
	/* The limit on the decoded size. */
	{
		struct buf out;

		buf_init(&out, 0);
		assert_int_equal(smtpd_auth_base64_decode("YWJjZA==", 8, 3,
		    &out), -1);
		buf_reset(&out);
		assert_int_equal(smtpd_auth_base64_decode("YWJjZA==", 8, 4,
		    &out), 0);
		buf_release(&out);
	}
}

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
	smtpd_auth_base64_encode(p, n, &b64buf);
	return b64buf.data;
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
		r = smtpd_auth_start(f->a, &ex, "PLAIN", b64(t[i].msg,
		    t[i].len), &reply);
		if (r != t[i].res)
			fail_msg("case %zu: got %d", i, (int)r);
		/* ... and after an empty challenge. */
		assert_int_equal(smtpd_auth_start(f->a, &ex, "plain", NULL,
		    &reply), SMTPD_AUTH_CHALLENGE);
		assert_string_equal(reply.data, "");
		r = smtpd_auth_step(f->a, &ex, b64(t[i].msg, t[i].len),
		    &reply);
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
	    &reply), SMTPD_AUTH_OK);
	assert_string_equal(ex.user, "demo");

	/* The user name as an initial response. */
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", b64("demo", 4),
	    &reply), SMTPD_AUTH_CHALLENGE);
	assert_string_equal(reply.data, "UGFzc3dvcmQ6");
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("wrong", 5), &reply),
	    SMTPD_AUTH_FAILED);

	/* A bad name still gets the password prompt, then fails. */
	assert_int_equal(smtpd_auth_start(f->a, &ex, "LOGIN", NULL, &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("de\0mo", 5), &reply),
	    SMTPD_AUTH_CHALLENGE);
	assert_int_equal(smtpd_auth_step(f->a, &ex, b64("secret", 6),
	    &reply), SMTPD_AUTH_FAILED);

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
	config_set(cfg, "smtpd_sasl_password_maps", "passwd-file:/nonexistent/users");
	assert_null(smtpd_auth_new(cfg, &error));
	assert_non_null(strstr(error, "smtpd_sasl_password_maps: "));
	config_set(cfg, "smtpd_sasl_password_maps", "");
	a = smtpd_auth_new(cfg, &error);
	assert_non_null(a);
	buf_init(&reply, 0);
	buf_init(&logged, 0);
	log_capture(&logged);
	assert_int_equal(smtpd_auth_start(a, &ex, "PLAIN", b64("\0a\0b", 4),
	    &reply), SMTPD_AUTH_TEMPFAIL);
	log_capture(NULL);
	assert_non_null(strstr(logged.data, "smtpd_sasl_password_maps is "
	    "empty"));
	smtpd_auth_exchange_release(&ex);
	smtpd_auth_free(a);
	buf_release(&reply);
	buf_release(&logged);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test(test_no_table),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	buf_release(&b64buf);
	return failed;
}
