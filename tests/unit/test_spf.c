/*
 * Unit tests for src/global/spf (record parser, macro expander, result
 * names, header texts).  Evaluation against DNS is tested by
 * tests/integration/test_spf.py and the RFC 7208 suite
 * (test_spf_suite.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "buf.h"
#include "spf.h"

static void
test_result_names(void **state)
{
	enum spf_result r;

	for (int i = SPF_NONE; i <= SPF_PERMERROR; i++) {
		assert_int_equal(spf_result_parse(spf_result_name(i), &r), 0);
		assert_int_equal(r, i);
	}
	assert_int_equal(spf_result_parse("SoftFail", &r), 0);
	assert_int_equal(r, SPF_SOFTFAIL);
	assert_int_equal(spf_result_parse("unknown", &r), -1);
}

static void
test_reject_mode(void **state)
{
	enum spf_reject_mode m;
	const char *err;

	assert_int_equal(spf_reject_mode_parse("fail", &m, &err), 0);
	assert_true(spf_rejects(m, SPF_FAIL));
	assert_false(spf_rejects(m, SPF_SOFTFAIL));
	assert_false(spf_rejects(m, SPF_PERMERROR));
	assert_int_equal(spf_reject_mode_parse("SoftFail", &m, &err), 0);
	assert_true(spf_rejects(m, SPF_FAIL));
	assert_true(spf_rejects(m, SPF_SOFTFAIL));
	assert_false(spf_rejects(m, SPF_NEUTRAL));
	assert_int_equal(spf_reject_mode_parse("never", &m, &err), 0);
	assert_false(spf_rejects(m, SPF_FAIL));
	assert_int_equal(spf_reject_mode_parse("yes", &m, &err), -1);
	assert_string_equal(err, "bad spf_reject_on value \"yes\" (fail, "
	    "softfail or never)");
}

static void
test_is_spf(void **state)
{
	static const struct {
		const char *text;
		bool spf;
	} cases[] = {
		{ "v=spf1", true },
		{ "v=spf1 -all", true },
		{ "V=SpF1 ~all", true },
		{ "v=spf10", false },
		{ "v=spf1-all", false },
		{ " v=spf1 -all", false },
		{ "v=spf", false },
		{ "", false },
		{ "spf2.0/pra -all", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(spf_record_is_spf(cases[i].text,
		    strlen(cases[i].text)), cases[i].spf);
}

static void
test_parse_good(void **state)
{
	struct spf_record *rec;
	const char *err = NULL;
	const char *text = "v=spf1 +a -mx:mail.example.com/24//64 ~ptr "
	    "?ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net "
	    "exists:%{ir}.%{v}._spf.%{d} a:foo:bar/baz.example.com "
	    "a//0 all redirect=other.example.org exp=explain.%{d} "
	    "moo.cow-far_out=man:dog/cat  ";

	assert_int_equal(spf_record_parse(text, strlen(text), &rec, &err), 0);
	assert_int_equal(rec->n_terms, 10);
	assert_int_equal(rec->terms[0].mech, SPF_MECH_A);
	assert_int_equal(rec->terms[0].qualifier, SPF_PASS);
	assert_null(rec->terms[0].domain_spec);
	assert_int_equal(rec->terms[0].cidr4, 32);
	assert_int_equal(rec->terms[0].cidr6, 128);
	assert_int_equal(rec->terms[1].mech, SPF_MECH_MX);
	assert_int_equal(rec->terms[1].qualifier, SPF_FAIL);
	assert_string_equal(rec->terms[1].domain_spec, "mail.example.com");
	assert_int_equal(rec->terms[1].cidr4, 24);
	assert_int_equal(rec->terms[1].cidr6, 64);
	assert_int_equal(rec->terms[2].mech, SPF_MECH_PTR);
	assert_int_equal(rec->terms[2].qualifier, SPF_SOFTFAIL);
	assert_int_equal(rec->terms[3].mech, SPF_MECH_IP4);
	assert_int_equal(rec->terms[3].qualifier, SPF_NEUTRAL);
	assert_int_equal(rec->terms[3].cidr4, 24);
	assert_memory_equal(rec->terms[3].net, "\xc0\x00\x02\x00", 4);
	assert_int_equal(rec->terms[4].mech, SPF_MECH_IP6);
	assert_int_equal(rec->terms[4].cidr6, 32);
	assert_int_equal(rec->terms[5].mech, SPF_MECH_INCLUDE);
	assert_string_equal(rec->terms[5].domain_spec, "_spf.example.net");
	assert_int_equal(rec->terms[6].mech, SPF_MECH_EXISTS);
	assert_string_equal(rec->terms[7].domain_spec,
	    "foo:bar/baz.example.com");
	assert_int_equal(rec->terms[8].cidr6, 0);
	assert_int_equal(rec->terms[8].cidr4, 32);
	assert_int_equal(rec->terms[9].mech, SPF_MECH_ALL);
	assert_string_equal(rec->terms[9].text, "all");
	assert_string_equal(rec->redirect, "other.example.org");
	assert_string_equal(rec->exp, "explain.%{d}");
	spf_record_free(rec);

	/* the empty record and case-insensitive names */
	assert_int_equal(spf_record_parse("v=spf1", 6, &rec, &err), 0);
	assert_int_equal(rec->n_terms, 0);
	spf_record_free(rec);
	text = "v=spf1 A MX:example.com IP4:1.2.3.4 -ALL";
	assert_int_equal(spf_record_parse(text, strlen(text), &rec, &err), 0);
	assert_int_equal(rec->n_terms, 4);
	assert_int_equal(rec->terms[3].qualifier, SPF_FAIL);
	spf_record_free(rec);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *text;
		const char *error;	/* a part of the error text */
	} cases[] = {
		{ "v=spf1 -all moo", "unknown mechanism \"moo\"" },
		{ "v=spf1 moo.cow/far_out=man:dog/cat", "unknown mechanism" },
		{ "v=spf1 1up=foo", "bad modifier" },
		{ "v=spf1 =all", "bad modifier" },
		{ "v=spf1 redirect:example.com", "unknown mechanism" },
		{ "v=spf1 -all.", "unknown mechanism" },
		{ "v=spf1 -all:foobar", "bad mechanism" },
		{ "v=spf1 -all/8", "bad mechanism" },
		{ "v=spf1 ptr/0", "bad mechanism" },
		{ "v=spf1 ptr:", "empty domain-spec" },
		{ "v=spf1 a:foo-bar -all", "bad domain-spec" },
		{ "v=spf1 a:example.-com", "bad domain-spec" },
		{ "v=spf1 a:abc.123", "bad domain-spec" },
		{ "v=spf1 a/33", "bad mechanism" },
		{ "v=spf1 a//129", "bad mechanism" },
		{ "v=spf1 a/024", "bad mechanism" },
		{ "v=spf1 ip4:1.2.3.4/33", "bad mechanism" },
		{ "v=spf1 ip4:1.2.3", "bad mechanism" },
		{ "v=spf1 ip4:01.2.3.4", "bad mechanism" },
		{ "v=spf1 ip6:2001:db8::/129", "bad mechanism" },
		{ "v=spf1 ip6:2001:db8:ZZZZ::", "bad mechanism" },
		{ "v=spf1 ip4", "bad mechanism" },
		{ "v=spf1 include", "bad mechanism" },
		{ "v=spf1 exists:", "empty domain-spec" },
		{ "v=spf1 exp=a.example.com exp=b.example.com", "two exp=" },
		{ "v=spf1 redirect=a.example.com redirect=a.example.com",
		    "two redirect=" },
		{ "v=spf1 redirect=", "empty domain-spec" },
		{ "v=spf1 exp=-all", "bad domain-spec" },
		{ "v=spf1 exp=%{r}.example.com", "bad macro" },
		{ "v=spf1 -exists:%(ir).sbl.example.com", "bad macro" },
		{ "v=spf1 exists:foo%.sbl.example.com", "bad macro" },
		{ "v=spf1 a:%{a}.example.com", "bad macro" },
		{ "v=spf1 a:%{d0}.example.com", "bad macro" },
		{ "v=spf1 -all foo=%abc", "bad macro" },
		{ "v=spf1 a:ctrl.example.com\rptr -all", "bad character 0x0d" },
		{ "v=spf1 ip4:192.0.2.5\n include:x.example.com", "0x0a" },
		{ "v=spf1 \x80" "a:example.net -all", "bad character 0x80" },
		{ "v=spf10", "not an SPF record" },
	};
	struct spf_record *rec;
	const char *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		if (spf_record_parse(cases[i].text, strlen(cases[i].text),
		    &rec, &err) != -1)
			fail_msg("accepted: %s", cases[i].text);
		assert_non_null(err);
		if (strstr(err, cases[i].error) == NULL)
			fail_msg("%s: error \"%s\", want \"%s\"",
			    cases[i].text, err, cases[i].error);
	}
	/* a NUL inside the record is junk too */
	assert_int_equal(spf_record_parse("v=spf1 a\0 -all", 14, &rec, &err),
	    -1);
}

/* A huge record of many terms parses without trouble. */
static void
test_parse_huge(void **state)
{
	struct buf b;
	struct spf_record *rec;
	const char *err;

	buf_init(&b, 0);
	buf_append_str(&b, "v=spf1");
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, " ip4:10.%d.%d.0/24", (i >> 8) & 255, i & 255);
	buf_append_str(&b, " -all");
	assert_int_equal(spf_record_parse(b.data, b.len, &rec, &err), 0);
	assert_int_equal(rec->n_terms, 5001);
	spf_record_free(rec);
	buf_release(&b);
}

static void
vars_rfc(struct spf_macro_vars *v, bool v6)
{
	memset(v, 0, sizeof(*v));
	/* RFC 7208 7.4 */
	v->sender = "strong-bad@email.example.com";
	v->local = "strong-bad";
	v->sender_domain = "email.example.com";
	v->domain = "email.example.com";
	v->helo = "mx.example.org";
	v->receiver = "receiver.example.net";
	v->now = 1234567890;
	if (v6) {
		v->family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, "2001:db8::cb01", v->addr),
		    1);
	} else {
		v->family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, "192.0.2.3", v->addr), 1);
	}
}

static void
test_macro_rfc_examples(void **state)
{
	static const struct {
		const char *in, *out;
		bool v6;
		enum spf_macro_ctx ctx;
	} cases[] = {
		/* RFC 7208 7.4, IPv4 */
		{ "%{s}", "strong-bad@email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{o}", "email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d}", "email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d4}", "email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d3}", "email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d2}", "example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d1}", "com", false, SPF_MACRO_DOMAIN },
		{ "%{dr}", "com.example.email", false, SPF_MACRO_DOMAIN },
		{ "%{d2r}", "example.email", false, SPF_MACRO_DOMAIN },
		{ "%{l}", "strong-bad", false, SPF_MACRO_DOMAIN },
		{ "%{l-}", "strong.bad", false, SPF_MACRO_DOMAIN },
		{ "%{lr}", "strong-bad", false, SPF_MACRO_DOMAIN },
		{ "%{lr-}", "bad.strong", false, SPF_MACRO_DOMAIN },
		{ "%{l1r-}", "strong", false, SPF_MACRO_DOMAIN },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net", false, SPF_MACRO_DOMAIN },
		/* RFC 7208 7.4, IPv6 (nibbles compared ignoring case) */
		{ "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", true, SPF_MACRO_DOMAIN },
		/* more */
		{ "%%%_%-", "% %20", false, SPF_MACRO_DOMAIN },
		{ "%{h}", "mx.example.org", false, SPF_MACRO_DOMAIN },
		{ "%{i}", "192.0.2.3", false, SPF_MACRO_DOMAIN },
		{ "%{c}", "2001:db8::cb01", true, SPF_MACRO_EXPLAIN },
		{ "%{r} at %{t}", "receiver.example.net at 1234567890", false,
		    SPF_MACRO_EXPLAIN },
		{ "%{p}", "unknown", false, SPF_MACRO_DOMAIN },
		{ "%{d200}", "email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{d99999999999999999999}", "email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{l+-}", "strong.bad", false, SPF_MACRO_DOMAIN },
		{ "%{S}", "strong-bad%40email.example.com", false, SPF_MACRO_DOMAIN },
		{ "%{D2R}", "example.email", false, SPF_MACRO_DOMAIN },
		{ "The %{l} in %{o}.", "The strong-bad in email.example.com.",
		    false, SPF_MACRO_EXPLAIN },
	};
	struct spf_macro_vars v;
	struct buf out;
	const char *err;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vars_rfc(&v, cases[i].v6);
		buf_reset(&out);
		if (spf_macro_expand(cases[i].in, cases[i].ctx ? cases[i].ctx :
		    SPF_MACRO_DOMAIN, &v, &out, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err);
		if (strcasecmp(out.data, cases[i].out) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in,
			    out.data, cases[i].out);
	}
	buf_release(&out);
}

static void
test_macro_escape(void **state)
{
	struct spf_macro_vars v;
	struct buf out;
	const char *err;

	vars_rfc(&v, false);
	v.local = "~jack&jill=up-a_b3.c";
	buf_init(&out, 0);
	assert_int_equal(spf_macro_expand("http://example.com/why.html?l=%{L}",
	    SPF_MACRO_EXPLAIN, &v, &out, &err), 0);
	assert_string_equal(out.data,
	    "http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c");
	/* IPv6 %{i} in upper case, as the RFC 7208 test suite expects */
	vars_rfc(&v, true);
	buf_reset(&out);
	assert_int_equal(spf_macro_expand("%{i}", SPF_MACRO_DOMAIN, &v, &out,
	    &err), 0);
	assert_string_equal(out.data, "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1");
	buf_release(&out);
}

static void
test_macro_errors(void **state)
{
	static const struct {
		const char *in;
		enum spf_macro_ctx ctx;
	} bad[] = {
		{ "%{x}", SPF_MACRO_EXPLAIN },
		{ "%{d0}", SPF_MACRO_DOMAIN },
		{ "%(ir)", SPF_MACRO_DOMAIN },
		{ "foo%", SPF_MACRO_DOMAIN },
		{ "%{d", SPF_MACRO_DOMAIN },
		{ "%{d2r-x}", SPF_MACRO_DOMAIN },
		{ "%{c}.example.com", SPF_MACRO_DOMAIN },
		{ "%{t}.example.com", SPF_MACRO_DOMAIN },
		{ "%{r}", SPF_MACRO_STRING },
		{ "a b.example.com", SPF_MACRO_DOMAIN },
		{ "", SPF_MACRO_DOMAIN },
		{ "example", SPF_MACRO_DOMAIN },
		{ "example.123", SPF_MACRO_DOMAIN },
		{ "example.com-", SPF_MACRO_DOMAIN },
	};
	static const char *const good[] = {
		"example.com", "example.com.", "%{d}", "foo.%{d2}", "%-",
		"x.1-2", "a.b-c", "foo:bar/baz.example.com",
	};
	struct spf_macro_vars v;
	struct buf out;
	const char *err;

	vars_rfc(&v, false);
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (spf_macro_check(bad[i].in, bad[i].ctx, &err) != -1)
			fail_msg("accepted: \"%s\"", bad[i].in);
		assert_non_null(err);
		assert_int_equal(spf_macro_expand(bad[i].in, bad[i].ctx, &v,
		    &out, &err), -1);
		assert_int_equal(out.len, 0);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (spf_macro_check(good[i], SPF_MACRO_DOMAIN, &err) != 0)
			fail_msg("refused: \"%s\": %s", good[i], err);
	assert_true(spf_macro_uses_p("a.%{p}.b"));
	assert_true(spf_macro_uses_p("%{P2}"));
	assert_false(spf_macro_uses_p("%%{p}"));
	assert_false(spf_macro_uses_p("%{d}"));
	buf_release(&out);
}

/* Expansion is bounded: a long sender repeated many times fails cleanly. */
static void
test_macro_too_long(void **state)
{
	struct spf_macro_vars v;
	struct buf out, spec;
	char local[1001];
	const char *err;

	vars_rfc(&v, false);
	memset(local, 'x', 1000);
	local[1000] = '\0';
	v.local = local;
	buf_init(&out, 0);
	buf_init(&spec, 0);
	for (int i = 0; i < 20; i++)
		buf_append_str(&spec, "%{l}");
	buf_append_str(&spec, ".example.com");
	assert_int_equal(spf_macro_expand(spec.data, SPF_MACRO_DOMAIN, &v,
	    &out, &err), -1);
	assert_string_equal(err, "macro expansion too long");
	assert_int_equal(out.len, 0);
	buf_release(&out);
	buf_release(&spec);
}

static void
test_headers(void **state)
{
	struct spf_outcome o;
	struct buf b;

	memset(&o, 0, sizeof(o));
	o.result = SPF_FAIL;
	o.identity = "mailfrom";
	o.sender = "elonmusk@spacex.com";
	o.domain = "spacex.com";
	o.client_ip = "192.0.2.9";
	o.helo = "evil.example";
	o.receiver = "mx.example.org";
	o.mechanism = "-all";
	buf_init(&b, 0);
	spf_received_spf(&o, &b);
	assert_string_equal(b.data, "fail (mx.example.org: domain of "
	    "elonmusk@spacex.com does not designate 192.0.2.9 as permitted "
	    "sender) client-ip=192.0.2.9; envelope-from="
	    "\"elonmusk@spacex.com\"; helo=evil.example; "
	    "receiver=mx.example.org; mechanism=-all; identity=mailfrom");
	buf_reset(&b);
	spf_auth_results(&o, &b);
	assert_string_equal(b.data, "spf=fail smtp.mailfrom=elonmusk@spacex.com");

	o.result = SPF_PERMERROR;
	o.mechanism = NULL;
	o.problem = "spacex.com: more than one SPF record";
	o.helo_identity = true;
	o.identity = "helo";
	o.sender = "postmaster@evil.example";
	o.domain = "evil.example";
	buf_reset(&b);
	spf_auth_results(&o, &b);
	assert_string_equal(b.data, "spf=permerror reason=\"spacex.com: more "
	    "than one SPF record\" smtp.helo=evil.example");
	buf_reset(&b);
	spf_received_spf(&o, &b);
	assert_non_null(strstr(b.data, "problem=\"spacex.com: more than one "
	    "SPF record\"; identity=helo"));
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_reject_mode),
		cmocka_unit_test(test_is_spf),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_huge),
		cmocka_unit_test(test_macro_rfc_examples),
		cmocka_unit_test(test_macro_escape),
		cmocka_unit_test(test_macro_errors),
		cmocka_unit_test(test_macro_too_long),
		cmocka_unit_test(test_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
