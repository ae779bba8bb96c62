/*
 * Unit tests for src/global/dmarc and src/global/psl: record parser (good,
 * defaults, junk), the Public Suffix List (rules, wildcards, exceptions,
 * Punycode, Debian's list when installed), alignment, evaluation with pct
 * sampling, Authentication-Results text, aggregate-report lines.
 * Policy discovery over DNS is tested by tests/integration/test_dmarc.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "dmarc.h"
#include "file.h"
#include "psl.h"

static const char test_list[] =
    "// a small list in the format of public_suffix_list.dat\n"
    "com\n"
    "uk\n"
    "co.uk\n"
    "  // indented comment\n"
    "*.ck\n"
    "!www.ck\n"
    "jp\n"
    "*.kawasaki.jp\n"
    "!city.kawasaki.jp\n"
    "github.io   trailing words are ignored\n"
    "\xd1\x80\xd1\x84\n"			/* рф */
    "b\xc3\xbc" "cher.example\n"	/* bücher.example */
    "bad\xff\n"				/* bad UTF-8: skipped */
    "\n";

static struct psl *
test_psl(void)
{
	return psl_parse(test_list, sizeof(test_list) - 1);
}

static void
test_punycode(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "b\xc3\xbc" "cher", "xn--bcher-kva" },
		{ "m\xc3\xbcnchen", "xn--mnchen-3ya" },
		{ "\xd1\x80\xd1\x84", "xn--p1ai" },
		{ "\xe4\xbe\x8b\xe3\x81\x88", "xn--r8jz45g" },	/* 例え */
		{ "plain", "plain" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(psl_punycode_label(cases[i].in,
		    strlen(cases[i].in), out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(psl_punycode_label("\xff", 1, out, sizeof(out)), -1);
	assert_int_equal(psl_punycode_label("\xc3", 1, out, sizeof(out)), -1);
	assert_int_equal(psl_punycode_label("b\xc3\xbc" "cher", 6, out, 8), -1);
}

static void
test_psl_rules(void **state)
{
	static const struct {
		const char *name, *suffix, *org;
	} cases[] = {
		{ "example.com", "com", "example.com" },
		{ "a.b.example.com", "com", "example.com" },
		{ "com", "com", "com" },
		{ "mail.example.co.uk", "co.uk", "example.co.uk" },
		{ "example.uk", "uk", "example.uk" },
		{ "a.b.ck", "b.ck", "a.b.ck" },		/* wildcard */
		{ "x.www.ck", "ck", "www.ck" },		/* exception */
		{ "www.ck", "ck", "www.ck" },
		{ "a.b.kawasaki.jp", "b.kawasaki.jp", "a.b.kawasaki.jp" },
		{ "a.city.kawasaki.jp", "kawasaki.jp", "city.kawasaki.jp" },
		{ "user.github.io", "github.io", "user.github.io" },
		{ "Mail.Example.CO.UK.", "CO.UK.", "Example.CO.UK." },
		{ "x.unlisted", "unlisted", "x.unlisted" },	/* rule "*" */
		{ "shop.xn--p1ai", "xn--p1ai", "shop.xn--p1ai" },
		{ "a.xn--bcher-kva.example", "xn--bcher-kva.example",
		    "a.xn--bcher-kva.example" },
		{ "", "", "" },
	};
	struct psl *l = test_psl();

	assert_int_equal(psl_count(l), 11);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(psl_public_suffix(l, cases[i].name),
		    cases[i].suffix);
		assert_string_equal(psl_org_domain(l, cases[i].name),
		    cases[i].org);
	}
	psl_free(l);
}

/* Debian's list (package publicsuffix), when it is installed. */
static void
test_psl_debian(void **state)
{
	const char *err;
	struct psl *l;

	if (access(PSL_DEFAULT_FILE, R_OK) != 0) {
		skip();
		return;
	}
	l = psl_load(NULL, &err);
	assert_non_null(l);
	assert_true(psl_count(l) > 5000);
	assert_string_equal(psl_org_domain(l, "mail.example.co.uk"),
	    "example.co.uk");
	assert_string_equal(psl_org_domain(l, "a.b.example.com"),
	    "example.com");
	assert_string_equal(psl_org_domain(l, "www.ck"), "www.ck");
	assert_string_equal(psl_public_suffix(l, "foo.xn--p1ai"), "xn--p1ai");
	psl_free(l);
	assert_null(psl_load("/nonexistent/psl.dat", &err));
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));
}

static void
test_record_good(void **state)
{
	struct dmarc_record r;
	const char *err;
	const char *text = "v=DMARC1; p=reject; sp=quarantine; pct=20; "
	    "adkim=s; aspf=r; rua=mailto:agg@example.com,mailto:x@example.net"
	    "!10m; ruf=mailto:f@example.com; fo=0:d:s; ri=3600; "
	    "future=yes";

	assert_int_equal(dmarc_record_parse(text, strlen(text), &r, &err), 0);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_QUARANTINE);
	assert_true(r.has_sp);
	assert_int_equal(r.pct, 20);
	assert_true(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_string_equal(r.rua,
	    "mailto:agg@example.com,mailto:x@example.net!10m");
	assert_string_equal(r.ruf, "mailto:f@example.com");
	assert_string_equal(r.fo, "0:d:s");
	assert_int_equal(r.ri, 3600);
	assert_null(r.warnings);
	dmarc_record_release(&r);

	/* defaults, white space, upper case values, no final ';' */
	text = "v = DMARC1 ;P = Quarantine";
	assert_int_equal(dmarc_record_parse(text, strlen(text), &r, &err), 0);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_QUARANTINE);
	assert_false(r.has_sp);
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_string_equal(r.fo, "0");
	assert_string_equal(r.rf, "afrf");
	assert_int_equal(r.ri, 86400);
	assert_null(r.rua);
	dmarc_record_release(&r);
}

static void
test_record_junk(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *error_or_warning;
		enum dmarc_policy p;
	} cases[] = {
		{ "v=DMARC1", -1, "without a valid p=", DMARC_POLICY_NONE },
		{ "v=DMARC1; p=bogus", -1, "without a valid p=", DMARC_POLICY_NONE },
		{ "v=DMARC1; p=reject; sp=bogus", -1, "invalid sp=", DMARC_POLICY_NONE },
		{ "v=DMARC1; p=bogus; rua=mailto:a@example.com", 0, NULL,
		    DMARC_POLICY_NONE },
		{ "v=DMARC1; rua=mailto:a@example.com", 0, NULL,
		    DMARC_POLICY_NONE },
		{ "v=DMARC1; p=bogus; rua=junk", -1, "without a valid p=", DMARC_POLICY_NONE },
		{ "v=dmarc1; p=reject", -1, "not a DMARC record", DMARC_POLICY_NONE },
		{ "p=reject; v=DMARC1", -1, "not a DMARC record", DMARC_POLICY_NONE },
		{ "v=DMARC10; p=reject", -1, "not a DMARC record", DMARC_POLICY_NONE },
		{ "v=spf1 -all", -1, "not a DMARC record", DMARC_POLICY_NONE },
		{ "", -1, "not a DMARC record", DMARC_POLICY_NONE },
		{ "v=DMARC1; p=reject; pct=101", 0, "bad pct=101",
		    DMARC_POLICY_REJECT },
		{ "v=DMARC1; p=reject; pct=-1; adkim=x; aspf=", 0,
		    "bad pct=-1 ignored, bad adkim=x ignored, bad aspf=",
		    DMARC_POLICY_REJECT },
		{ "v=DMARC1; p=reject; ;;; junk ;fo=7; ri=x", 0,
		    "bad tag=junk ignored, bad fo=7 ignored, bad ri=x",
		    DMARC_POLICY_REJECT },
		{ "v=DMARC1; p=none; rua=mailto:a@example.com, :bad", 0,
		    "bad rua=", DMARC_POLICY_NONE },
		{ "v=DMARC1; p=quarantine; v=DMARC2", 0, "bad v=DMARC2",
		    DMARC_POLICY_QUARANTINE },
	};
	struct dmarc_record r;
	const char *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		if (dmarc_record_parse(cases[i].text, strlen(cases[i].text),
		    &r, &err) != cases[i].rc)
			fail_msg("%s: want %d", cases[i].text, cases[i].rc);
		if (cases[i].rc < 0) {
			if (strstr(err, cases[i].error_or_warning) == NULL)
				fail_msg("%s: error \"%s\"", cases[i].text,
				    err);
			continue;
		}
		assert_int_equal(r.p, cases[i].p);
		if (cases[i].error_or_warning != NULL &&
		    (r.warnings == NULL || strstr(r.warnings,
		    cases[i].error_or_warning) == NULL))
			fail_msg("%s: warnings \"%s\"", cases[i].text,
			    r.warnings != NULL ? r.warnings : "(none)");
		dmarc_record_release(&r);
	}
	/* NUL bytes and huge records are refused, never read past */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none\0x", 18, &r,
	    &err), -1);
}

static void
test_alignment(void **state)
{
	struct psl *l = test_psl();

	assert_true(dmarc_aligned(l, "example.com", "EXAMPLE.com.", true));
	assert_false(dmarc_aligned(l, "mail.example.com", "example.com",
	    true));
	assert_true(dmarc_aligned(l, "mail.example.com", "example.com",
	    false));
	assert_true(dmarc_aligned(l, "a.example.co.uk", "b.example.co.uk",
	    false));
	assert_false(dmarc_aligned(l, "example.co.uk", "other.co.uk", false));
	assert_false(dmarc_aligned(l, "a.b.ck", "c.b.ck", false));
	assert_false(dmarc_aligned(l, "example.com", "example.net", false));
	assert_false(dmarc_aligned(l, NULL, "example.com", false));
	assert_false(dmarc_aligned(l, "", "", false));
	psl_free(l);
}

static void
test_evaluate(void **state)
{
	static const char *const dkim_sub[] = { "other.net", "mail.example.com" };
	struct psl *l = test_psl();
	struct dmarc_record r;
	struct dmarc_outcome o;
	struct dmarc_input in;
	struct buf b;
	const char *err, *text = "v=DMARC1; p=reject; sp=quarantine; pct=50";

	buf_init(&b, 0);
	assert_int_equal(dmarc_record_parse(text, strlen(text), &r, &err), 0);
	memset(&in, 0, sizeof(in));

	/* SPF pass, relaxed alignment: pass */
	in.from_domain = "example.com";
	in.spf_result = SPF_PASS;
	in.spf_domain = "bounces.example.com";
	dmarc_evaluate(l, &in, &r, "example.com", 99, &o);
	assert_int_equal(o.result, DMARC_RESULT_PASS);
	assert_true(o.spf_aligned);
	assert_false(o.dkim_aligned);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	dmarc_auth_results(&o, &b);
	assert_string_equal(b.data, "dmarc=pass (p=reject sp=quarantine "
	    "pct=50 dis=none) header.from=example.com");
	dmarc_outcome_release(&o);

	/* SPF pass but not aligned, no DKIM: fail, sampled in: reject */
	in.spf_domain = "example.net";
	dmarc_evaluate(l, &in, &r, "example.com", 10, &o);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_int_equal(o.disposition, DMARC_POLICY_REJECT);
	assert_false(o.sampled_out);
	dmarc_outcome_release(&o);

	/* sampled out (50 >= pct): reject becomes quarantine (6.6.4) */
	dmarc_evaluate(l, &in, &r, "example.com", 50, &o);
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
	assert_true(o.sampled_out);
	buf_reset(&b);
	dmarc_auth_results(&o, &b);
	assert_string_equal(b.data, "dmarc=fail (p=reject sp=quarantine "
	    "pct=50 dis=quarantine) header.from=example.com");
	dmarc_outcome_release(&o);

	/* a subdomain under the org's record: sp=; SPF fail does not count */
	in.from_domain = "Shop.Example.com.";
	in.spf_result = SPF_FAIL;
	in.spf_domain = "shop.example.com";
	dmarc_evaluate(l, &in, &r, "example.com", 0, &o);
	assert_string_equal(o.from_domain, "shop.example.com");
	assert_string_equal(o.org_domain, "example.com");
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
	dmarc_outcome_release(&o);

	/* DKIM: the second signature aligns (relaxed) */
	in.dkim_domains = dkim_sub;
	in.n_dkim = 2;
	dmarc_evaluate(l, &in, &r, "example.com", 0, &o);
	assert_int_equal(o.result, DMARC_RESULT_PASS);
	assert_true(o.dkim_aligned);
	assert_string_equal(o.dkim_domain, "mail.example.com");
	dmarc_outcome_release(&o);
	dmarc_record_release(&r);

	/* strict DKIM alignment: a subdomain's signature does not align */
	text = "v=DMARC1; p=reject; adkim=s";
	assert_int_equal(dmarc_record_parse(text, strlen(text), &r, &err), 0);
	in.from_domain = "example.com";
	dmarc_evaluate(l, &in, &r, "example.com", 0, &o);
	assert_int_equal(o.result, DMARC_RESULT_FAIL);
	assert_int_equal(o.disposition, DMARC_POLICY_REJECT);
	dmarc_outcome_release(&o);
	dmarc_record_release(&r);

	/* no record: none */
	dmarc_evaluate(l, &in, NULL, NULL, 0, &o);
	assert_int_equal(o.result, DMARC_RESULT_NONE);
	assert_false(o.have_record);
	buf_reset(&b);
	dmarc_auth_results(&o, &b);
	assert_string_equal(b.data, "dmarc=none header.from=example.com");
	dmarc_outcome_release(&o);
	buf_release(&b);
	psl_free(l);
}

static void
test_report_line(void **state)
{
	static const char *const dkim[] = { "example.com" };
	char dir[] = "/tmp/test_dmarc.XXXXXX";
	struct psl *l = test_psl();
	struct dmarc_record r;
	struct dmarc_outcome o;
	struct dmarc_input in;
	struct buf path, text;
	const char *err, *rec = "v=DMARC1; p=reject; rua=mailto:a b@x.example";

	assert_non_null(mkdtemp(dir));
	assert_int_equal(dmarc_record_parse(rec, strlen(rec), &r, &err), 0);
	memset(&in, 0, sizeof(in));
	in.from_domain = "example.com";
	in.spf_result = SPF_SOFTFAIL;
	in.spf_domain = "example.com";
	in.dkim_domains = dkim;
	in.n_dkim = 1;
	dmarc_evaluate(l, &in, &r, "example.com", 0, &o);
	assert_int_equal(dmarc_report_append(dir, &o, &in, "192.0.2.1", 1700000000,
	    &err), 0);
	assert_int_equal(dmarc_report_append(dir, &o, &in, "192.0.2.2", 1700000001,
	    &err), 0);
	buf_init(&path, 0);
	buf_init(&text, 0);
	buf_printf(&path, "%s/dmarc-reports.log", dir);
	assert_int_equal(file_read_all(path.data, &text, 1 << 20, &err), 0);
	assert_non_null(strstr(text.data, "time=1700000000\tip=192.0.2.1\t"
	    "header_from=example.com\tpolicy_domain=example.com\tp=reject\t"
	    "sp=reject\tpct=100\tadkim=r\taspf=r\tresult=pass\t"
	    "disposition=none\tsampled_out=no\tdkim=pass\t"
	    "dkim_domains=example.com\tdkim_aligned=yes\tspf=softfail\t"
	    "spf_domain=example.com\tspf_aligned=no\t"
	    "rua=mailto:a%20b@x.example\tfo=0\n"));
	assert_non_null(strstr(text.data, "\ntime=1700000001\tip=192.0.2.2\t"));
	unlink(path.data);
	rmdir(dir);
	/* an unwritable folder is an error with the path */
	assert_int_equal(dmarc_report_append(dir, &o, &in, "192.0.2.1", 0,
	    &err), -1);
	assert_non_null(strstr(err, "dmarc-reports.log"));
	buf_release(&path);
	buf_release(&text);
	dmarc_outcome_release(&o);
	dmarc_record_release(&r);
	psl_free(l);
}

static void
test_from_domain(void **state)
{
	static const struct {
		const char *value, *domain, *error;
	} cases[] = {
		{ "Elon <elonmusk@SpaceX.com>", "spacex.com", NULL },
		{ " a@example.org (comment)", "example.org", NULL },
		{ "\"x, y\" <a@b.example>", "b.example", NULL },
		{ "a@x.example, b@y.example", NULL, "From: holds 2 addresses" },
		{ "undisclosed:;", NULL, "From: holds 0 addresses" },
		{ "root", NULL, "without a domain" },
		{ "<<<", NULL, "bad From: address" },
	};
	const char *v[2], *err;
	char *d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v[0] = cases[i].value;
		d = NULL;
		err = NULL;
		if (cases[i].domain != NULL) {
			assert_int_equal(dmarc_from_domain(v, 1, &d, &err), 0);
			assert_string_equal(d, cases[i].domain);
			free(d);
		} else {
			assert_int_equal(dmarc_from_domain(v, 1, &d, &err), -1);
			if (strstr(err, cases[i].error) == NULL)
				fail_msg("%s: %s", cases[i].value, err);
		}
	}
	v[0] = v[1] = "a@example.com";
	assert_int_equal(dmarc_from_domain(v, 2, &d, &err), -1);
	assert_string_equal(err, "2 From: header fields");
	assert_int_equal(dmarc_from_domain(v, 0, &d, &err), -1);
	assert_string_equal(err, "no From: header field");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punycode),
		cmocka_unit_test(test_psl_rules),
		cmocka_unit_test(test_psl_debian),
		cmocka_unit_test(test_record_good),
		cmocka_unit_test(test_record_junk),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_report_line),
		cmocka_unit_test(test_from_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
