/*
 * Unit tests for src/global/dns: record parsing, server and reverse-name
 * syntax, and live lookups against tests/integration/dnsserver.py (a
 * python3-dnslib server on a loopback port, forked per test group; the
 * live tests are skipped when /usr/bin/python3 cannot run it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "buf.h"
#include "dns.h"
#include "mem.h"
#include "str.h"

static void
test_server_syntax(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "127.0.0.1", "127.0.0.1" },
		{ "127.0.0.1:5353", "127.0.0.1@5353" },
		{ "127.0.0.1@53", "127.0.0.1@53" },
		{ "::1", "::1" },
		{ "[::1]:5353", "::1@5353" },
		{ "[2001:db8::1]", "2001:db8::1" },
		{ "::1@5300", "::1@5300" },
	};
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "ns.example.org", "not a numeric IP address" },
		{ "127.0.0.1:0", "bad port" },
		{ "127.0.0.1:70000", "bad port" },
		{ "[::1", "not a numeric" },
		{ "[::1]x", "not a numeric" },
		{ "", "not a numeric" },
		{ "1.2.3.4:x", "bad port" },
	};
	char out[64];
	const char *err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dns_server_to_unbound(good[i].in, out,
		    sizeof(out), &err), 0);
		assert_string_equal(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(dns_server_to_unbound(bad[i].in, out,
		    sizeof(out), &err), -1);
		assert_non_null(strstr(err, bad[i].err));
	}
	assert_int_equal(dns_server_to_unbound("127.0.0.1:5353", out, 8,
	    &err), -1);
	assert_non_null(strstr(err, "too long"));
}

static void
test_ptr_name(void **state)
{
	char out[128];
	const char *err;

	assert_int_equal(dns_ptr_name("192.0.2.1", out, sizeof(out), &err), 0);
	assert_string_equal(out, "1.2.0.192.in-addr.arpa");
	assert_int_equal(dns_ptr_name("2001:db8::1", out, sizeof(out), &err),
	    0);
	assert_string_equal(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(dns_ptr_name("x", out, sizeof(out), &err), -1);
	assert_non_null(strstr(err, "not an IP address"));
	assert_int_equal(dns_ptr_name("192.0.2.1", out, 10, &err), -1);
}

static void
test_query_name_ok(void **state)
{
	static const struct {
		const char *name;
		int strict;	/* dns_query_name_ok(name, false) */
		int spaced;	/* dns_query_name_ok(name, true) */
	} cases[] = {
		{ "example.com", 1, 1 },
		{ "example.com.", 1, 1 },
		{ "_dmarc.a-b.example", 1, 1 },
		{ "a", 1, 1 },
		{ "a b.example", 0, 1 },
		{ "", 0, 0 },
		{ ".", 0, 0 },
		{ ".example", 0, 0 },
		{ "a..example", 0, 0 },
		{ "a\\.example", 0, 0 },
		{ "a\tb.example", 0, 0 },
		{ "caf\xc3\xa9.example", 0, 0 },
		{ "a.\x7f", 0, 0 },
	};
	char label[64], name[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(dns_query_name_ok(cases[i].name, false),
		    cases[i].strict);
		assert_int_equal(dns_query_name_ok(cases[i].name, true),
		    cases[i].spaced);
	}
	/* Labels up to 63 bytes, names up to 253. */
	memset(label, 'a', 63);
	label[63] = '\0';
	assert_true(dns_query_name_ok(label, false));
	(void)snprintf(name, sizeof(name), "%sa", label);
	assert_false(dns_query_name_ok(name, false));
	(void)snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label,
	    label, label);
	name[253] = '\0';
	assert_true(dns_query_name_ok(name, false));
	name[253] = 'a';
	name[254] = '\0';
	assert_false(dns_query_name_ok(name, false));
}

static void
test_rr_parse(void **state)
{
	static const unsigned char mx[] = { 0, 10, 2, 'm', 'x', 4, 'T', 'e',
	    's', 't', 0 };
	static const unsigned char nullmx[] = { 0, 0, 0 };
	static const unsigned char oddmx[] = { 0, 5, 3, 'a', '.', 'b', 0 };
	static const unsigned char txt[] = { 3, 'a', 'b', 'c', 0, 2, 'd',
	    'e' };
	static const unsigned char tlsa[] = { 3, 1, 1, 0xaa, 0xbb };
	static const unsigned char a[] = { 127, 0, 0, 1 };
	static const unsigned char aaaa[16] = { [15] = 1 };
	static const struct {
		enum dns_type type;
		const unsigned char *data;
		size_t len;
	} bad[] = {
		{ DNS_T_A, a, 3 },
		{ DNS_T_AAAA, a, 4 },
		{ DNS_T_MX, mx, 1 },
		{ DNS_T_MX, mx, sizeof(mx) - 1 },	/* no final label */
		{ DNS_T_MX, (const unsigned char *)"\0\1\100abc", 6 },
		{ DNS_T_PTR, mx, sizeof(mx) },		/* trailing bytes */
		{ DNS_T_TXT, txt, 0 },
		{ DNS_T_TXT, txt, 3 },			/* string cut short */
		{ DNS_T_TLSA, tlsa, 2 },
	};
	struct dns_rr rr;
	const char *err;

	assert_int_equal(dns_rr_parse(DNS_T_MX, mx, sizeof(mx), &rr, &err), 0);
	assert_int_equal(rr.pref, 10);
	assert_string_equal(rr.host, "mx.Test");
	dns_rr_release(&rr);
	assert_int_equal(dns_rr_parse(DNS_T_MX, nullmx, sizeof(nullmx), &rr,
	    &err), 0);
	assert_int_equal(rr.pref, 0);
	assert_string_equal(rr.host, "");
	dns_rr_release(&rr);
	/* A dot inside a label is escaped, never read as a separator. */
	assert_int_equal(dns_rr_parse(DNS_T_MX, oddmx, sizeof(oddmx), &rr,
	    &err), 0);
	assert_string_equal(rr.host, "a\\046b");
	dns_rr_release(&rr);
	assert_int_equal(dns_rr_parse(DNS_T_TXT, txt, sizeof(txt), &rr, &err),
	    0);
	assert_int_equal(rr.data_len, 5);
	assert_memory_equal(rr.data, "abcde", 5);
	dns_rr_release(&rr);
	assert_int_equal(dns_rr_parse(DNS_T_TLSA, tlsa, sizeof(tlsa), &rr,
	    &err), 0);
	assert_int_equal(rr.usage, 3);
	assert_int_equal(rr.selector, 1);
	assert_int_equal(rr.mtype, 1);
	assert_int_equal(rr.data_len, 2);
	dns_rr_release(&rr);
	assert_int_equal(dns_rr_parse(DNS_T_A, a, 4, &rr, &err), 0);
	assert_string_equal(rr.addr_str, "127.0.0.1");
	dns_rr_release(&rr);
	assert_int_equal(dns_rr_parse(DNS_T_AAAA, aaaa, 16, &rr, &err), 0);
	assert_string_equal(rr.addr_str, "::1");
	dns_rr_release(&rr);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(dns_rr_parse(bad[i].type, bad[i].data,
		    bad[i].len, &rr, &err), -1);
		assert_non_null(strstr(err, "malformed"));
		assert_non_null(strstr(err, dns_type_name(bad[i].type)));
	}
}

/* Live lookups against the Python test server. */

static const char zone[] =
    "example.test MX 20 mx2.example.test\n"
    "example.test MX 10 mx1.example.test\n"
    "mx1.example.test A 127.0.0.1\n"
    "mx1.example.test AAAA ::1\n"
    "mx2.example.test A 127.0.0.2\n"
    "nullmx.test MX 0 .\n"
    "txt.test TXT \"v=spf1\" \" -all\"\n"
    "alias.test CNAME mx2.example.test\n"
    "_25._tcp.mx1.example.test TLSA 3 1 1 AABBCCDD\n"
    "1.0.0.127.in-addr.arpa PTR localhost.test\n"
    "broken.test SERVFAIL\n"
    "slow.test TIMEOUT\n";

struct server {
	pid_t pid;
	int to_child;
	char dir[64];
	char addr[32];
};

static struct server srv;

static int
server_up(void **state)
{
	char path[128], port[16];
	int in[2], out[2];
	FILE *f;
	ssize_t n;
	const char *src = getenv("ULAK_SOURCE_DIR");
	char script[512];

	memset(&srv, 0, sizeof(srv));
	snprintf(script, sizeof(script), "%s/tests/integration/dnsserver.py",
	    src != NULL ? src : ".");
	if (access("/usr/bin/python3", X_OK) != 0 || access(script, R_OK) != 0)
		return 0;
	str_copy(srv.dir, sizeof(srv.dir), "/tmp/test_dns.XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(path, sizeof(path), "%s/zone", srv.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(zone, f);
	fclose(f);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	srv.pid = fork();
	assert_true(srv.pid >= 0);
	if (srv.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", script, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	srv.to_child = in[1];
	n = read(out[0], port, sizeof(port) - 1);
	close(out[0]);
	if (n <= 0) {
		/* No dnslib: the live tests skip. */
		waitpid(srv.pid, NULL, 0);
		srv.pid = 0;
		return 0;
	}
	port[n] = '\0';
	port[strcspn(port, "\n")] = '\0';
	snprintf(srv.addr, sizeof(srv.addr), "127.0.0.1:%s", port);
	return 0;
}

static int
server_down(void **state)
{
	char path[128];

	if (srv.pid > 0) {
		close(srv.to_child);	/* the server exits at EOF */
		waitpid(srv.pid, NULL, 0);
	}
	if (srv.dir[0]) {
		snprintf(path, sizeof(path), "%s/zone", srv.dir);
		unlink(path);
		rmdir(srv.dir);
	}
	return 0;
}

struct result {
	int done;
	enum dns_status status;
	enum dns_security security;
	char canon[256];
	char error[256];
	struct buf text;	/* records as text, one per line, sorted by input */
};

static void
collect(const struct dns_answer *a, void *arg)
{
	struct result *r = arg;

	r->done++;
	r->status = a->status;
	r->security = a->security;
	str_copy(r->canon, sizeof(r->canon), a->canonname);
	str_copy(r->error, sizeof(r->error), a->error ? a->error : "");
	for (size_t i = 0; i < a->n_rr; i++) {
		const struct dns_rr *rr = &a->rr[i];

		switch (rr->type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			buf_printf(&r->text, "%s\n", rr->addr_str);
			break;
		case DNS_T_MX:
			buf_printf(&r->text, "%u %s\n", rr->pref, rr->host);
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
			buf_printf(&r->text, "%s\n", rr->host);
			break;
		case DNS_T_TXT:
			buf_printf(&r->text, "%s\n", (const char *)rr->data);
			break;
		case DNS_T_TLSA:
			buf_printf(&r->text, "%u %u %u %zu\n", rr->usage,
			    rr->selector, rr->mtype, rr->data_len);
			break;
		}
	}
	event_base_loopbreak(NULL);
}

struct live {
	struct event_base *base;
	struct dns_resolver *r;
};

static void
live_open(struct live *l, unsigned timeout_ms)
{
	struct dns_config cfg = { 0 };
	const char *err = NULL;

	if (srv.pid == 0)
		skip();
	l->base = event_base_new();
	cfg.servers = srv.addr;
	cfg.timeout_ms = timeout_ms;
	l->r = dns_resolver_new(l->base, &cfg, &err);
	if (l->r == NULL)
		fail_msg("dns_resolver_new: %s", err);
}

static void
live_close(struct live *l)
{
	dns_resolver_free(l->r);
	event_base_free(l->base);
}

/* Look NAME up and wait (at most 10 s) for the answer. */
static void
lookup(struct live *l, const char *name, enum dns_type type,
    struct result *res)
{
	struct timeval limit = { 10, 0 };

	memset(res, 0, sizeof(*res));
	buf_init(&res->text, 0);
	dns_lookup(l->r, name, type, collect, res);
	while (res->done == 0) {
		struct event_base *b = l->base;

		event_base_loopexit(b, &limit);
		assert_int_equal(event_base_loop(b, EVLOOP_ONCE), 0);
	}
	assert_int_equal(res->done, 1);
}

static void
test_live_lookups(void **state)
{
	static const struct {
		const char *name;
		enum dns_type type;
		enum dns_status status;
		const char *text;	/* records, sorted; NULL: skip check */
		const char *error;
	} cases[] = {
		{ "example.test", DNS_T_MX, DNS_OK,
		    "10 mx1.example.test\n20 mx2.example.test\n", NULL },
		{ "Example.TEST.", DNS_T_MX, DNS_OK, NULL, NULL },
		{ "mx1.example.test", DNS_T_A, DNS_OK, "127.0.0.1\n", NULL },
		{ "mx1.example.test", DNS_T_AAAA, DNS_OK, "::1\n", NULL },
		{ "mx2.example.test", DNS_T_AAAA, DNS_NODATA, "", "No AAAA" },
		{ "nullmx.test", DNS_T_MX, DNS_OK, "0 \n", NULL },
		{ "nowhere.test", DNS_T_MX, DNS_NXDOMAIN, "",
		    "Host not found" },
		{ "broken.test", DNS_T_A, DNS_TEMPFAIL, "", "try again" },
		{ "txt.test", DNS_T_TXT, DNS_OK, "v=spf1 -all\n", NULL },
		{ "_25._tcp.mx1.example.test", DNS_T_TLSA, DNS_OK,
		    "3 1 1 4\n", NULL },
		{ "1.0.0.127.in-addr.arpa", DNS_T_PTR, DNS_OK,
		    "localhost.test\n", NULL },
		{ "a..b.test", DNS_T_A, DNS_NXDOMAIN, "",
		    "malformed domain name" },
		{ "a\\000b.test", DNS_T_A, DNS_NXDOMAIN, "",
		    "malformed domain name" },
	};
	struct live l;
	struct result res;

	live_open(&l, 5000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lookup(&l, cases[i].name, cases[i].type, &res);
		if (res.status != cases[i].status)
			fail_msg("%s %s: status %s (%s), expected %s",
			    cases[i].name, dns_type_name(cases[i].type),
			    dns_status_name(res.status), res.error,
			    dns_status_name(cases[i].status));
		assert_int_equal(res.security, DNS_INSECURE);
		if (cases[i].text != NULL) {
			/* Order of records is the server's: sort two lines. */
			if (strcmp(res.text.data, cases[i].text) != 0 &&
			    strchr(cases[i].text, '\n') !=
			    strrchr(cases[i].text, '\n')) {
				char *nl = strchr(res.text.data, '\n');
				struct buf sw;

				buf_init(&sw, 0);
				buf_append_str(&sw, nl + 1);
				buf_append(&sw, res.text.data,
				    (size_t)(nl + 1 - res.text.data));
				assert_string_equal(sw.data, cases[i].text);
				buf_release(&sw);
			} else {
				assert_string_equal(res.text.data,
				    cases[i].text);
			}
		}
		if (cases[i].error != NULL &&
		    strstr(res.error, cases[i].error) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].name,
			    res.error, cases[i].error);
		buf_release(&res.text);
	}
	/* CNAMEs are followed; the answer names the canonical name. */
	lookup(&l, "alias.test", DNS_T_A, &res);
	assert_int_equal(res.status, DNS_OK);
	assert_string_equal(res.text.data, "127.0.0.2\n");
	assert_string_equal(res.canon, "mx2.example.test");
	buf_release(&res.text);
	live_close(&l);
}

static void
test_live_timeout(void **state)
{
	struct live l;
	struct result res;

	live_open(&l, 1000);
	lookup(&l, "slow.test", DNS_T_A, &res);
	assert_int_equal(res.status, DNS_TEMPFAIL);
	assert_string_equal(res.error, "DNS query timed out");
	buf_release(&res.text);
	/* The server is still asked for other names afterwards. */
	lookup(&l, "mx2.example.test", DNS_T_A, &res);
	assert_int_equal(res.status, DNS_OK);
	buf_release(&res.text);
	live_close(&l);
}

static void
never(const struct dns_answer *a, void *arg)
{
	fail_msg("callback of a cancelled query ran");
}

static void
test_live_cancel_and_free(void **state)
{
	struct live l;
	struct result res;
	struct dns_query *q;

	live_open(&l, 5000);
	q = dns_lookup(l.r, "example.test", DNS_T_MX, never, NULL);
	dns_cancel(q);
	lookup(&l, "mx1.example.test", DNS_T_A, &res);
	assert_int_equal(res.status, DNS_OK);
	buf_release(&res.text);
	/* Freeing with queries pending runs no callback and leaks nothing. */
	dns_lookup(l.r, "slow.test", DNS_T_A, never, NULL);
	dns_lookup(l.r, "a..b", DNS_T_A, never, NULL);
	live_close(&l);
}

static void
test_bad_config(void **state)
{
	struct event_base *base = event_base_new();
	struct dns_config cfg = { 0 };
	const char *err = NULL;

	cfg.servers = "127.0.0.1 ns.example.org";
	assert_null(dns_resolver_new(base, &cfg, &err));
	assert_non_null(strstr(err, "ns.example.org"));
	cfg.servers = NULL;
	cfg.resolv_conf = "/nonexistent/resolv.conf";
	assert_null(dns_resolver_new(base, &cfg, &err));
	assert_non_null(strstr(err, "/nonexistent/resolv.conf"));
	cfg.resolv_conf = NULL;
	cfg.trust_anchor_file = "/nonexistent/root.key";
	assert_null(dns_resolver_new(base, &cfg, &err));
	assert_non_null(strstr(err, "dnssec_trust_anchor_file"));
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_syntax),
		cmocka_unit_test(test_ptr_name),
		cmocka_unit_test(test_query_name_ok),
		cmocka_unit_test(test_rr_parse),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_live_lookups),
		cmocka_unit_test(test_live_timeout),
		cmocka_unit_test(test_live_cancel_and_free),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, server_up, server_down);
}
