/* Unit tests for src/lib/cidr: patterns, matching, failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <netinet/in.h>

#include "cidr.h"

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *in;
		const char *error;
	} t[] = {
		{ "", ": bad network address" },
		{ "1.2.3", "1.2.3: bad network address" },
		{ "1.2.3.4/33", "1.2.3.4/33: bad prefix length" },
		{ "1.2.3.4/", "1.2.3.4/: bad prefix length" },
		{ "1.2.3.4/x", "1.2.3.4/x: bad prefix length" },
		{ "1.2.3.4/24", "1.2.3.4/24: non-null host address bits" },
		{ "[::1]/129", "[::1]/129: bad prefix length" },
		{ "::1/64", "::1/64: non-null host address bits" },
		{ "[1.2.3.4", "[1.2.3.4: bad network address" },
		{ "example.com", "example.com: bad network address" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cidr c;
		const char *error = NULL;

		assert_int_equal(cidr_parse(t[i].in, &c, &error), -1);
		assert_string_equal(error, t[i].error);
	}
}

static void
test_match(void **state)
{
	static const struct {
		const char *pattern;
		const char *addr;
		bool match;
	} t[] = {
		{ "127.0.0.0/8", "127.0.0.1", true },
		{ "127.0.0.0/8", "128.0.0.1", false },
		{ "127.0.0.0/8", "::ffff:127.1.2.3", true },
		{ "127.0.0.0/8", "::1", false },
		{ "[::1]/128", "::1", true },
		{ "[::1]/128", "::2", false },
		{ "::1", "[::1]", true },
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::1", false },
		{ "192.0.2.128/25", "192.0.2.200", true },
		{ "192.0.2.128/25", "192.0.2.127", false },
		{ "192.0.2.7", "192.0.2.7", true },
		{ "192.0.2.7", "192.0.2.8", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "[::]/0", "2001:db8::1", true },
		{ "[::]/0", "192.0.2.1", false },
		{ "10.0.0.0/7", "11.255.255.255", true },
		{ "10.0.0.0/7", "12.0.0.0", false },
		{ "[IPv6:2001:db8::1]", "2001:db8::1", true },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cidr c;
		const char *error;
		unsigned char addr[16];
		int family;

		assert_int_equal(cidr_parse(t[i].pattern, &c, &error), 0);
		assert_int_equal(cidr_addr_parse(t[i].addr, &family, addr), 0);
		assert_int_equal(cidr_match(&c, family, addr), t[i].match);
	}
}

static void
test_sockaddr(void **state)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	unsigned char addr[16];
	int family;
	struct cidr c;
	const char *error;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr.s6_addr[10] = 0xff;
	sin6.sin6_addr.s6_addr[11] = 0xff;
	sin6.sin6_addr.s6_addr[12] = 127;
	sin6.sin6_addr.s6_addr[15] = 1;
	assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&sin6,
	    &family, addr), 0);
	assert_int_equal(family, AF_INET);
	assert_int_equal(cidr_parse("127.0.0.0/8", &c, &error), 0);
	assert_true(cidr_match(&c, family, addr));

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x0a000001);
	assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&sin,
	    &family, addr), 0);
	assert_false(cidr_match(&c, family, addr));

	sin.sin_family = AF_UNIX;
	assert_int_equal(cidr_addr_from_sockaddr((struct sockaddr *)&sin,
	    &family, addr), -1);
	assert_int_equal(cidr_addr_parse("nonsense", &family, addr), -1);
	assert_int_equal(cidr_addr_parse("[IPv6:1.2.3.4]", &family, addr), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_sockaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
