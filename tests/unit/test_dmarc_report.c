/*
 * Unit tests for src/global/dmarc_report: the recorded-line parser (the
 * lines dmarc_report_append writes, old lines without fo=, junk), the
 * reader with a half-written tail, grouping per policy domain and UTC
 * day, rua= URIs with size limits, the XML (escaping of odd text, a
 * nesting check, counts), gzip round trip and the report message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "buf.h"
#include "dmarc.h"
#include "dmarc_report.h"
#include "file.h"
#include "psl.h"

#define LINE(t, ip, from, disp, dkim_al, spf_al) \
	"time=" t "\tip=" ip "\theader_from=" from \
	"\tpolicy_domain=example.com\tp=reject\tsp=quarantine\tpct=100" \
	"\tadkim=r\taspf=s\tresult=pass\tdisposition=" disp \
	"\tsampled_out=no\tdkim=pass\tdkim_domains=example.com" \
	"\tdkim_aligned=" dkim_al "\tspf=softfail\tspf_domain=example.com" \
	"\tspf_aligned=" spf_al "\trua=mailto:agg@example.com!10k\tfo=1"

/* The line dmarc_report_append writes parses back to what went in. */
static void
test_round_trip(void **state)
{
	static const char *const dkim[] = { "example.com", "other.test" };
	char dir[] = "/tmp/test_dmarc_report.XXXXXX";
	struct psl *l = psl_parse("com\ntest\n", 9);
	const char *rec = "v=DMARC1; p=quarantine; pct=50; fo=d:s; aspf=s; "
	    "rua=mailto:a%2Cb@x.example,mailto:c@y.example";
	struct dmarc_record r;
	struct dmarc_outcome o;
	struct dmarc_input in;
	struct dmarc_report_entry e;
	struct buf path, text;
	const char *err;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(dmarc_record_parse(rec, strlen(rec), &r, &err), 0);
	memset(&in, 0, sizeof(in));
	in.from_domain = "mail.example.com";
	in.spf_result = SPF_FAIL;
	in.spf_domain = "bounce.example.org";
	in.dkim_domains = dkim;
	in.n_dkim = 2;
	dmarc_evaluate(l, &in, &r, "example.com", 99, &o);
	assert_int_equal(dmarc_report_append(dir, &o, &in, "192.0.2.9",
	    1700000000, &err), 0);
	buf_init(&path, 0);
	buf_init(&text, 0);
	buf_printf(&path, "%s/dmarc-reports.log", dir);
	assert_int_equal(file_read_all(path.data, &text, 1 << 20, &err), 0);
	assert_int_equal(text.data[text.len - 1], '\n');
	assert_int_equal(dmarc_report_line_parse(text.data, text.len - 1, &e,
	    &err), 0);
	assert_int_equal(e.time, 1700000000);
	assert_string_equal(e.ip, "192.0.2.9");
	assert_string_equal(e.header_from, "mail.example.com");
	assert_string_equal(e.policy_domain, "example.com");
	assert_int_equal(e.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(e.pct, 50);
	assert_true(e.aspf_strict);
	assert_false(e.adkim_strict);
	assert_int_equal(e.result, DMARC_RESULT_PASS);
	assert_true(e.dkim_pass);
	assert_string_equal(e.dkim_domains, "example.com,other.test");
	assert_true(e.dkim_aligned);
	assert_false(e.spf_aligned);
	assert_string_equal(e.spf, "fail");
	assert_string_equal(e.spf_domain, "bounce.example.org");
	assert_string_equal(e.rua, "mailto:a%2Cb@x.example,mailto:c@y.example");
	assert_string_equal(e.fo, "d:s");
	dmarc_report_entry_release(&e);
	unlink(path.data);
	rmdir(dir);
	buf_release(&path);
	buf_release(&text);
	dmarc_outcome_release(&o);
	dmarc_record_release(&r);
	psl_free(l);
}

static void
test_line_junk(void **state)
{
	static const struct {
		const char *line;
		const char *error;
	} bad[] = {
		{ "", "no time= value" },
		{ "garbage", "field without '='" },
		{ "time=1\ttime=2", "time= given twice" },
		{ "time=x\tip=1\theader_from=a\tpolicy_domain=a\tp=none\t"
		  "result=pass\tdisposition=none", "bad time= value" },
		{ "time=1\tip=1\theader_from=a\tpolicy_domain=a\tp=nope\t"
		  "result=pass\tdisposition=none", "bad p= value" },
		{ "time=1\tip=1\theader_from=a\tpolicy_domain=a\tp=none\t"
		  "pct=101\tresult=pass\tdisposition=none", "bad pct= value" },
		{ "time=1\tip=1\theader_from=a%2\tpolicy_domain=a\tp=none\t"
		  "result=pass\tdisposition=none",
		  "bad %-escape in header_from=" },
		{ "time=1\tip=1\theader_from=a%00b\tpolicy_domain=a\tp=none\t"
		  "result=pass\tdisposition=none",
		  "bad %-escape in header_from=" },
		{ "time=1\tip=1\theader_from=a%20b\tpolicy_domain=a\tp=none\t"
		  "result=pass\tdisposition=none", "bad header_from= value" },
		{ "time=1\tip=1\theader_from=a\tpolicy_domain=a\tp=none\t"
		  "result=pass\tdisposition=none\tspf=PASS",
		  "bad spf= value" },
		{ "time=1\tip=1\theader_from=a\tpolicy_domain=a\tp=none\t"
		  "result=maybe\tdisposition=none", "bad result= value" },
		{ "time=1\tip=1\theader_from=a\tpolicy_domain=-\tp=none\t"
		  "result=pass\tdisposition=none", "no policy_domain= value" },
	};
	struct dmarc_report_entry e;
	const char *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(dmarc_report_line_parse(bad[i].line,
		    strlen(bad[i].line), &e, &err), -1);
		assert_string_equal(err, bad[i].error);
	}
	/* an old line (no fo=) and unknown fields of a later version */
	const char *old = "time=5\tip=::1\theader_from=A.Example\t"
	    "policy_domain=a.example\tp=none\tresult=fail\t"
	    "disposition=none\tnew_field=whatever";
	assert_int_equal(dmarc_report_line_parse(old, strlen(old), &e, &err),
	    0);
	assert_string_equal(e.fo, "0");
	assert_string_equal(e.header_from, "a.example");
	assert_null(e.rua);
	assert_string_equal(e.spf, "none");
	dmarc_report_entry_release(&e);
}

struct bad_seen {
	unsigned long lineno[4];
	size_t n;
};

static void
bad_cb(unsigned long lineno, const char *error, void *arg)
{
	struct bad_seen *b = arg;

	if (b->n < 4)
		b->lineno[b->n++] = lineno;
}

static void
test_grouping(void **state)
{
	const char text[] =
	    LINE("1700000000", "192.0.2.1", "example.com", "none", "yes", "no")
	    "\n"
	    LINE("1700000100", "192.0.2.1", "example.com", "none", "yes", "no")
	    "\n"
	    "this line is damaged\n"
	    LINE("1700000050", "192.0.2.2", "example.com", "reject", "no",
	    "no") "\n"
	    "\n"
	    /* the next day: another report */
	    LINE("1700086400", "192.0.2.1", "example.com", "none", "yes", "no")
	    "\n"
	    "time=1700000000\tip=192.0.2.3\theader_from=other.test\t"
	    "policy_domain=other.test\tp=none\tresult=fail\t"
	    "disposition=none\tsampled_out=yes\trua=-\n"
	    "time=1700000200\tip=192.0.2.1\theader_f";
	struct dmarc_report_set s;
	struct bad_seen b = { .n = 0 };
	size_t used;

	dmarc_report_set_init(&s);
	used = dmarc_report_set_read(&s, text, sizeof(text) - 1, bad_cb, &b);
	assert_int_equal(used, strrchr(text, '\n') + 1 - text);
	assert_int_equal(s.lines, 6);
	assert_int_equal(s.bad, 1);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.lineno[0], 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.reports[0].policy_domain, "example.com");
	assert_int_equal(s.reports[0].messages, 3);
	assert_int_equal(s.reports[0].n_rows, 2);
	assert_int_equal(s.reports[0].rows[0].count, 2);
	assert_int_equal(s.reports[0].rows[1].count, 1);
	assert_int_equal(s.reports[0].rows[1].disposition,
	    DMARC_POLICY_REJECT);
	assert_int_equal(s.reports[0].begin, 1700000000);
	assert_int_equal(s.reports[0].end, 1700000100);
	assert_string_equal(s.reports[0].rua, "mailto:agg@example.com!10k");
	assert_string_equal(s.reports[0].fo, "1");
	assert_int_equal(s.reports[0].sp, DMARC_POLICY_QUARANTINE);
	assert_int_equal(s.reports[1].begin, 1700086400);
	assert_int_equal(s.reports[1].messages, 1);
	assert_string_equal(s.reports[2].policy_domain, "other.test");
	assert_null(s.reports[2].rua);
	assert_true(s.reports[2].rows[0].sampled_out);
	dmarc_report_set_release(&s);
}

static void
test_rua(void **state)
{
	struct dmarc_report_uri u[3];
	struct buf w;
	size_t n;

	buf_init(&w, 0);
	dmarc_report_rua_parse(" mailto:a@x.example!10m , MAILTO:first%2E"
	    "last@y.example?subject=x,https://r.example/,mailto:nope,"
	    "mailto:b%40c@y.example, mailto:d@e.example!5", u, 3, &n, &w);
	assert_int_equal(n, 3);
	assert_string_equal(u[0].address, "a@x.example");
	assert_int_equal(u[0].max_size, 10u << 20);
	assert_string_equal(u[1].address, "first.last@y.example");
	assert_int_equal(u[1].max_size, 0);
	assert_string_equal(u[2].address, "d@e.example");
	assert_int_equal(u[2].max_size, 5);
	assert_non_null(strstr(w.data, "not a mailto: URI: https://r.example/"));
	assert_non_null(strstr(w.data, "bad address in a mailto: URI"));
	for (size_t i = 0; i < n; i++)
		free(u[i].address);
	buf_reset(&w);
	dmarc_report_rua_parse("mailto:a@b.example!x,mailto:a@b.example!99999"
	    "999999999999999m,mailto:a b@c.example", u, 3, &n, &w);
	assert_int_equal(n, 0);
	assert_non_null(strstr(w.data, "bad size limit"));
	buf_reset(&w);
	dmarc_report_rua_parse("mailto:a@b.example,mailto:c@d.example", u, 1,
	    &n, &w);
	assert_int_equal(n, 1);
	assert_non_null(strstr(w.data, "more than 1 rua URIs"));
	free(u[0].address);
	buf_release(&w);
}

/*
 * A small well-formedness check: tags nest, text holds no raw '<' or
 * '&' other than entities.  Returns the number of elements.
 */
static int
xml_check(const char *x)
{
	char stack[32][64];
	int depth = 0, elems = 0;

	assert_true(strncmp(x, "<?xml ", 6) == 0);
	x = strstr(x, "?>") + 2;
	while (*x) {
		if (*x == '<') {
			const char *end = strchr(x, '>');
			size_t n;

			assert_non_null(end);
			if (x[1] == '/') {
				n = (size_t)(end - x - 2);
				assert_true(depth > 0);
				depth--;
				assert_int_equal(strlen(stack[depth]), n);
				assert_memory_equal(stack[depth], x + 2, n);
			} else {
				n = (size_t)(end - x - 1);
				assert_true(n < 64 && depth < 32);
				memcpy(stack[depth], x + 1, n);
				stack[depth++][n] = '\0';
				elems++;
			}
			x = end + 1;
			continue;
		}
		if (*x == '&')
			assert_true(strncmp(x, "&amp;", 5) == 0 ||
			    strncmp(x, "&lt;", 4) == 0 ||
			    strncmp(x, "&gt;", 4) == 0 ||
			    strncmp(x, "&quot;", 6) == 0 ||
			    strncmp(x, "&apos;", 6) == 0);
		assert_true(*x == '\n' || (*x >= 0x20 && *x < 0x7f));
		x++;
	}
	assert_int_equal(depth, 0);
	return elems;
}

static void
test_xml(void **state)
{
	const char text[] =
	    LINE("1700000000", "192.0.2.1", "example.com", "none", "yes", "no")
	    "\n"
	    LINE("1700000001", "192.0.2.1", "example.com", "none", "yes", "no")
	    "\n"
	    /* odd recorded text: escaped in the log, must be in the XML */
	    "time=1700000002\tip=192.0.2.2\theader_from=a<b&c\"d'e%C3%A9\t"
	    "policy_domain=example.com\tp=reject\tresult=fail\t"
	    "disposition=reject\tdkim=none\tspf=fail\tspf_domain=%3C%3E\t"
	    "sampled_out=yes\trua=mailto:agg@example.com\tfo=1\n";
	struct dmarc_report_set s;
	struct dmarc_report_meta meta = { .org_name = "Org & Co <x>",
	    .email = "postmaster@example.net", .report_id = "1.2.3" };
	struct buf xml, gz, back;
	const char *err;
	z_stream z;

	dmarc_report_set_init(&s);
	dmarc_report_set_read(&s, text, sizeof(text) - 1, NULL, NULL);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.n, 1);
	buf_init(&xml, 0);
	dmarc_report_xml(&s.reports[0], &meta, &xml);
	assert_true(xml_check(xml.data) > 20);
	assert_non_null(strstr(xml.data,
	    "<org_name>Org &amp; Co &lt;x&gt;</org_name>"));
	assert_non_null(strstr(xml.data, "<header_from>a&lt;b&amp;c&quot;d"
	    "&apos;e?" "?</header_from>"));
	assert_non_null(strstr(xml.data, "<domain>&lt;&gt;</domain>"));
	assert_non_null(strstr(xml.data, "<begin>1700000000</begin>"));
	assert_non_null(strstr(xml.data, "<end>1700000002</end>"));
	assert_non_null(strstr(xml.data, "<source_ip>192.0.2.1</source_ip>\n"
	    "      <count>2</count>\n      <policy_evaluated>\n"
	    "        <disposition>none</disposition>\n"
	    "        <dkim>pass</dkim>\n        <spf>fail</spf>\n"));
	assert_non_null(strstr(xml.data, "<count>1</count>"));
	assert_non_null(strstr(xml.data, "<type>sampled_out</type>"));
	/* the policy published is the latest line's */
	assert_non_null(strstr(xml.data, "<p>reject</p>"));
	assert_non_null(strstr(xml.data, "<aspf>r</aspf>"));
	assert_non_null(strstr(xml.data, "<fo>1</fo>"));
	assert_non_null(strstr(xml.data, "<dkim>\n        <domain>example.com"
	    "</domain>\n        <result>pass</result>"));
	assert_non_null(strstr(xml.data, "<result>softfail</result>"));

	/* gzip round trip */
	buf_init(&gz, 0);
	buf_init(&back, 0);
	assert_int_equal(dmarc_report_gzip(xml.data, xml.len, &gz, &err), 0);
	assert_true(gz.len > 18);
	assert_int_equal((unsigned char)gz.data[0], 0x1f);
	assert_int_equal((unsigned char)gz.data[1], 0x8b);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	buf_reserve(&back, xml.len + 1);
	z.next_in = (unsigned char *)gz.data;
	z.avail_in = (uInt)gz.len;
	z.next_out = (unsigned char *)back.data;
	z.avail_out = (uInt)xml.len + 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, xml.len);
	assert_memory_equal(back.data, xml.data, xml.len);
	inflateEnd(&z);
	buf_release(&back);
	buf_release(&gz);
	buf_release(&xml);
	dmarc_report_set_release(&s);
}

static void
test_message(void **state)
{
	const char text[] =
	    LINE("1700000000", "192.0.2.1", "example.com", "none", "yes", "no")
	    "\n";
	struct dmarc_report_set s;
	struct dmarc_report_mail m = { .from = "postmaster@r.example",
	    .to = "agg@example.com", .submitter = "mail.r.example",
	    .report_id = "42.7.0", .date = "Tue, 14 Nov 2023 22:13:20 +0000",
	    .boundary = "=_b" };
	struct buf msg, name;

	dmarc_report_set_init(&s);
	dmarc_report_set_read(&s, text, sizeof(text) - 1, NULL, NULL);
	buf_init(&msg, 0);
	buf_init(&name, 0);
	dmarc_report_filename(&s.reports[0], "mail.r.example", &name);
	assert_string_equal(name.data,
	    "mail.r.example!example.com!1700000000!1700000000.xml.gz");
	dmarc_report_message(&s.reports[0], &m, "\x1f\x8b\x08", 3, &msg);
	assert_true(strncmp(msg.data, "From: <postmaster@r.example>\n"
	    "To: <agg@example.com>\nSubject: Report Domain: example.com "
	    "Submitter: mail.r.example\n Report-ID: <42.7.0>\n", 106) == 0);
	assert_non_null(strstr(msg.data, "Content-Type: multipart/mixed; "
	    "boundary=\"=_b\"\n"));
	assert_non_null(strstr(msg.data, "\n--=_b\nContent-Type: "
	    "application/gzip\nContent-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n filename=\"mail.r.example!"
	    "example.com!1700000000!1700000000.xml.gz\"\n\nH4sI\n\n--=_b--\n"));
	assert_null(strchr(msg.data, '\r'));
	buf_release(&msg);
	buf_release(&name);
	dmarc_report_set_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_line_junk),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_rua),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
