/* Unit tests for src/global/tls_server (the shared server TLS context). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "str.h"
#include "tls_server.h"

static char dir[64], cert[128], key[128], cert2[128], key2[128], both[160];

static int
make_pair(const char *c, const char *k)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test -keyout "
	    "'%s' -out '%s' >/dev/null 2>&1", k, c);
	return system(cmd) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	char cmd[512];

	str_copy(dir, sizeof(dir), "/tmp/test_tls_server.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/cert2.pem", dir);
	snprintf(key2, sizeof(key2), "%s/key2.pem", dir);
	snprintf(both, sizeof(both), "%s/both.pem", dir);
	if (make_pair(cert, key) < 0 || make_pair(cert2, key2) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s'", key, cert, both);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_contexts(void **state)
{
	struct tls_server *t;
	struct strlist chain;
	const char *error;
	SSL *ssl;

	t = tls_server_new("pop3d", cert, key, NULL, &error);
	assert_non_null(t);
	assert_int_equal(SSL_CTX_get_min_proto_version(tls_server_ctx(t)),
	    TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(tls_server_ctx(t)) &
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	assert_true(SSL_CTX_get_session_cache_mode(tls_server_ctx(t)) &
	    SSL_SESS_CACHE_SERVER);
	ssl = tls_server_ssl_new(t);
	assert_non_null(ssl);
	SSL_free(ssl);
	tls_server_free(t);

	/* Key and certificate in one file: as cert file, and as chain. */
	t = tls_server_new("pop3d", both, "", NULL, &error);
	assert_non_null(t);
	tls_server_free(t);
	strlist_init(&chain);
	strlist_add(&chain, both);
	t = tls_server_new("imapd", "", "", &chain, &error);
	assert_non_null(t);
	tls_server_free(t);
	strlist_release(&chain);
}

static void
test_errors(void **state)
{
	const char *error;
	struct strlist chain;

	assert_null(tls_server_new("pop3d", "", "", NULL, &error));
	assert_string_equal(error, "pop3d: no TLS certificate configured "
	    "(pop3d_tls_cert_file or pop3d_tls_chain_files)");
	assert_null(tls_server_new("pop3d", "/nonexistent.pem", key, NULL,
	    &error));
	assert_true(str_has_prefix(error, "pop3d_tls_cert_file "
	    "/nonexistent.pem: "));
	assert_null(tls_server_new("imapd", cert, "/nonexistent.pem", NULL,
	    &error));
	assert_true(str_has_prefix(error, "imapd_tls_key_file "
	    "/nonexistent.pem: "));
	/* A key that belongs to another certificate. */
	assert_null(tls_server_new("pop3d", cert, key2, NULL, &error));
	assert_non_null(strstr(error, "pop3d_tls_key_file"));
	strlist_init(&chain);
	strlist_add(&chain, cert);	/* no key in it */
	assert_null(tls_server_new("smtpd", "", "", &chain, &error));
	assert_true(str_has_prefix(error, "smtpd_tls_chain_files "));
	strlist_release(&chain);
	/* The queue is empty after an error was reported. */
	assert_string_equal(tls_server_error(), "unknown TLS error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contexts),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
