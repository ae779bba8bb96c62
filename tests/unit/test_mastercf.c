/* Unit tests for src/global/mastercf (master.cf). */
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
#include "config.h"
#include "file.h"
#include "mastercf.h"
#include "str.h"

static struct mastercf *
parse_ok(const char *text)
{
	const char *error = NULL;
	struct mastercf *m = mastercf_parse(text, strlen(text), "master.cf",
	    &error);

	if (m == NULL)
		fail_msg("parse failed: %s", error);
	return m;
}

static void
test_default_table(void **state)
{
	struct mastercf *m = parse_ok(mastercf_default_text());
	const struct mastercf_service *s;
	static const struct {
		const char *name;
		enum mastercf_type type;
		const char *command;
	} want[] = {
		{ "smtp", MASTERCF_INET, "smtpd" },
		{ "submission", MASTERCF_INET, "smtpd" },
		{ "submissions", MASTERCF_INET, "smtpd" },
		{ "pop3", MASTERCF_INET, "pop3d" },
		{ "pop3s", MASTERCF_INET, "pop3d" },
		{ "imap", MASTERCF_INET, "imapd" },
		{ "imaps", MASTERCF_INET, "imapd" },
		{ "pickup", MASTERCF_UNIX, "pickup" },
		{ "cleanup", MASTERCF_UNIX, "cleanup" },
		{ "qmgr", MASTERCF_UNIX, "qmgr" },
		{ "bounce", MASTERCF_UNIX, "bounce" },
		{ "local", MASTERCF_UNIX, "local" },
		{ "mailuser", MASTERCF_UNIX, "mailuser" },
		{ "smtp", MASTERCF_UNIX, "smtp" },
		{ "relay", MASTERCF_UNIX, "smtp" },
	};

	assert_int_equal(m->n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < m->n; i++) {
		s = mastercf_find(m, want[i].name, want[i].type);
		if (s == NULL)
			fail_msg("no %s service", want[i].name);
		assert_string_equal(s->command, want[i].command);
		assert_false(s->chroot);
		if (s->type == MASTERCF_INET) {
			assert_false(s->private_service);
			assert_string_equal(s->host, "");
			assert_string_equal(s->port, s->name);
		} else {
			assert_true(s->private_service);
			assert_null(s->host);
		}
	}
	assert_null(mastercf_find(m, "pipe", MASTERCF_UNIX));
	s = mastercf_find(m, "submission", MASTERCF_INET);
	assert_int_equal(s->n_overrides, 3);
	assert_string_equal(mastercf_override(s, "smtpd_tls_security_level"),
	    "encrypt");
	assert_string_equal(mastercf_override(s, "smtpd_sasl_auth_enable"),
	    "yes");
	assert_string_equal(mastercf_override(s,
	    "smtpd_recipient_restrictions"),
	    "permit_sasl_authenticated,reject");
	s = mastercf_find(m, "submissions", MASTERCF_INET);
	assert_string_equal(mastercf_override(s, "smtpd_tls_wrappermode"),
	    "yes");
	assert_string_equal(mastercf_override(s,
	    "smtpd_recipient_restrictions"),
	    "permit_sasl_authenticated,reject");
	s = mastercf_find(m, "pickup", MASTERCF_UNIX);
	assert_int_equal(s->wakeup, 60);
	assert_int_equal(s->maxproc, 1);
	s = mastercf_find(m, "qmgr", MASTERCF_UNIX);
	assert_int_equal(s->maxproc, 1);
	s = mastercf_find(m, "local", MASTERCF_UNIX);
	assert_false(s->unprivileged);
	s = mastercf_find(m, "smtp", MASTERCF_INET);
	assert_int_equal(s->wakeup, MASTERCF_DEFAULT);
	assert_int_equal(s->maxproc, MASTERCF_DEFAULT);
	assert_true(s->unprivileged);
	assert_int_equal(s->args.n, 0);
	/* Every -o of the built-in table is a known parameter. */
	for (size_t i = 0; i < m->n; i++)
		for (size_t k = 0; k < m->services[i].n_overrides; k++)
			assert_non_null(config_param_find(
			    m->services[i].overrides[k].name));
	mastercf_free(m);
}

static void
test_fields(void **state)
{
	struct mastercf *m = parse_ok(
	    "# comment\n"
	    "\n"
	    "127.0.0.1:2525 inet n - n - 10 smtpd -v\n"
	    "  -o smtpd_banner=first\n"
	    "# comment inside an entry\n"
	    "\t-o { smtpd_banner = $myhostname says hi }\n"
	    "  -omyhostname=x.example -D\n"
	    "[::1]:587 inet - y y 0 0 smtpd\n"
	    "*:smtps inet n n n - - smtpd\n"
	    "pickup unix y n y 60? 1 pickup\n"
	    "flt unix-dgram - - - - - pipe flags=R user=nobody\n"
	    "  argv=/bin/filter ${sender} { a b }\n"
	    "qmgr fifo n - n 300 1 qmgr\n"
	    "tlsproxy pass - - - - - tlsproxy\n"
	    "smtp inet n - n - - smtpd\n");
	const struct mastercf_service *s;

	assert_int_equal(m->n, 8);
	s = &m->services[0];
	assert_string_equal(s->name, "127.0.0.1:2525");
	assert_string_equal(s->host, "127.0.0.1");
	assert_string_equal(s->port, "2525");
	assert_int_equal(s->line, 3);
	assert_int_equal(s->maxproc, 10);
	assert_int_equal(s->args.n, 2);
	assert_string_equal(s->args.v[0], "-v");
	assert_string_equal(s->args.v[1], "-D");
	assert_int_equal(s->n_overrides, 3);
	assert_string_equal(s->overrides[0].name, "smtpd_banner");
	assert_string_equal(s->overrides[0].value, "first");
	assert_string_equal(mastercf_override(s, "smtpd_banner"),
	    "$myhostname says hi");
	assert_int_equal(s->overrides[1].line, 6);
	assert_string_equal(s->overrides[2].name, "myhostname");
	assert_string_equal(s->overrides[2].value, "x.example");
	assert_int_equal(s->overrides[2].line, 7);
	s = &m->services[1];
	assert_string_equal(s->host, "::1");
	assert_string_equal(s->port, "587");
	assert_false(s->private_service);
	assert_true(s->unprivileged);
	assert_true(s->chroot);
	assert_int_equal(s->wakeup, 0);
	assert_int_equal(s->maxproc, 0);
	s = &m->services[2];
	assert_string_equal(s->host, "");
	assert_string_equal(s->port, "smtps");
	s = mastercf_find(m, "pickup", MASTERCF_UNIX);
	assert_true(s->private_service);
	assert_false(s->unprivileged);
	assert_true(s->chroot);
	assert_int_equal(s->wakeup, 60);
	assert_true(s->wakeup_if_used);
	s = mastercf_find(m, "flt", MASTERCF_UNIX_DGRAM);
	assert_non_null(s);
	assert_int_equal(s->args.n, 5);
	assert_string_equal(s->args.v[2], "argv=/bin/filter");
	assert_string_equal(s->args.v[3], "${sender}");
	assert_string_equal(s->args.v[4], "a b");
	assert_non_null(mastercf_find(m, "qmgr", MASTERCF_FIFO));
	assert_non_null(mastercf_find(m, "tlsproxy", MASTERCF_PASS));
	assert_null(mastercf_find(m, "qmgr", MASTERCF_UNIX));
	assert_string_equal(mastercf_type_name(MASTERCF_UNIX_DGRAM),
	    "unix-dgram");
	mastercf_free(m);
}

struct bad_case {
	const char *text;
	const char *error;
};

static void
test_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "smtp inet n - n - - \n", "master.cf, line 1: too few "
		    "fields" },
		{ "# c\nsmtp inet n - n -\n", "master.cf, line 2: too few" },
		{ "smtp tcp n - n - - smtpd\n", "master.cf, line 1: bad "
		    "service type \"tcp\"" },
		{ "smtp inet x - n - - smtpd\n", "master.cf, line 1: bad "
		    "private field \"x\"" },
		{ "smtp inet n yes n - - smtpd\n", "master.cf, line 1: bad "
		    "unpriv field" },
		{ "smtp inet n - maybe - - smtpd\n", "master.cf, line 1: bad "
		    "chroot field" },
		{ "smtp inet y - n - - smtpd\n", "master.cf, line 1: an inet "
		    "service cannot be private" },
		{ "p unix n - n soon 1 pickup\n", "master.cf, line 1: bad "
		    "wakeup field \"soon\"" },
		{ "p unix n - n ? 1 pickup\n", "master.cf, line 1: bad "
		    "wakeup field" },
		{ "p unix n - n - -1 pickup\n", "master.cf, line 1: bad "
		    "maxproc field" },
		{ "p unix n - n - 99999999999999999999999 pickup\n",
		    "master.cf, line 1: bad maxproc field" },
		{ "p unix n - n - - ../../bin/sh\n", "master.cf, line 1: bad "
		    "command name" },
		{ "p unix n - n - - /bin/sh\n", "master.cf, line 1: bad "
		    "command name" },
		{ "../p unix n - n - - pickup\n", "master.cf, line 1: bad "
		    "service name" },
		{ "::1:25 inet n - n - - smtpd\n", "master.cf, line 1: bad "
		    "inet service: write an IPv6 address in brackets" },
		{ "[::1]25 inet n - n - - smtpd\n", "master.cf, line 1: bad "
		    "inet service" },
		{ "[]:25 inet n - n - - smtpd\n", "master.cf, line 1: bad "
		    "inet service: empty address" },
		{ "host: inet n - n - - smtpd\n", "master.cf, line 1: bad "
		    "inet service: missing port" },
		{ "1.2.3.4:70000 inet n - n - - smtpd\n", "master.cf, line 1: "
		    "bad inet service port" },
		{ "1.2.3.4:0 inet n - n - - smtpd\n", "master.cf, line 1: "
		    "bad inet service port" },
		{ "h/x:25 inet n - n - - smtpd\n", "master.cf, line 1: bad "
		    "inet service: bad character" },
		{ "1.2.3.4:s/s inet n - n - - smtpd\n", "master.cf, line 1: "
		    "bad inet service: the port must be" },
		{ "smtp inet n - n - - smtpd\n -o\n", "master.cf, line 2: -o "
		    "without name=value" },
		{ "smtp inet n - n - - smtpd\n -o novalue\n", "master.cf, "
		    "line 2: -o \"novalue\": expected name=value" },
		{ "smtp inet n - n - - smtpd\n -o bad-name=1\n", "master.cf, "
		    "line 2: -o \"bad-name=1\": bad parameter name" },
		{ "smtp inet n - n - - smtpd\n -o { a = b\n", "master.cf, "
		    "line 2: missing '}'" },
		{ "  smtp inet n - n - - smtpd\n", "master.cf, line 1: "
		    "continuation line without a service" },
		{ "smtp inet n - n - - smtpd\nsmtp inet n - n - - smtpd\n",
		    "master.cf, line 2: duplicate service \"smtp\"/inet "
		    "(first at line 1)" },
		{ "smtp inet n - n - - smt\0pd\n", "master.cf, line 1: NUL "
		    "byte" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		size_t len = strlen(cases[i].text);
		struct mastercf *m;

		if (strstr(cases[i].error, "NUL") != NULL)
			len = 27;
		m = mastercf_parse(cases[i].text, len, "master.cf", &error);
		if (m != NULL)
			fail_msg("case %zu parsed", i);
		if (!str_has_prefix(error, cases[i].error))
			fail_msg("case %zu: \"%s\" does not start with \"%s\"",
			    i, error, cases[i].error);
	}
}

static void
write_file(const char *path, const char *text)
{
	const char *error;

	if (file_write_atomic(path, text, strlen(text), 0644, &error) < 0)
		fail_msg("%s", error);
}

static void
test_load_and_check(void **state)
{
	char dir[] = "/tmp/ulak-test-mastercf-XXXXXX";
	struct buf path;
	struct config *cfg;
	struct mastercf *m;
	struct strlist problems;
	const char *error = NULL;
	bool from_default;

	assert_non_null(mkdtemp(dir));
	buf_init(&path, 0);
	buf_printf(&path, "%s/master.cf", dir);
	cfg = config_new(dir);

	/* Absent: the built-in table. */
	m = mastercf_load(dir, &from_default, &error);
	assert_non_null(m);
	assert_true(from_default);
	assert_non_null(mastercf_find(m, "smtp", MASTERCF_INET));
	mastercf_free(m);
	strlist_init(&problems);
	assert_int_equal(mastercf_check(cfg, &problems), 0);
	assert_int_equal(problems.n, 0);
	strlist_release(&problems);

	write_file(path.data,
	    "smtp inet n - n - - smtpd\n"
	    "  -o smtpd_timeout=soon\n"
	    "  -o no_such_param=1\n"
	    "  -o smtpd_banner=${oops\n"
	    "  -o smtpd_tls_wrappermode=yes\n");
	m = mastercf_load(dir, &from_default, &error);
	assert_non_null(m);
	assert_false(from_default);
	mastercf_free(m);
	strlist_init(&problems);
	assert_int_equal(mastercf_check(cfg, &problems), 2);
	assert_int_equal(problems.n, 3);
	assert_true(str_has_prefix(problems.v[0], path.data));
	assert_non_null(strstr(problems.v[0], "master.cf, line 2: service "
	    "smtp/inet: -o smtpd_timeout=soon: bad time value"));
	assert_true(str_has_prefix(problems.v[1], "warning: "));
	assert_non_null(strstr(problems.v[1], "master.cf, line 3: service "
	    "smtp/inet: -o no_such_param: unknown parameter name"));
	assert_non_null(strstr(problems.v[2], "line 4: service smtp/inet: "
	    "-o smtpd_banner=${oops: unterminated"));
	strlist_release(&problems);

	/* A broken file is an error of its own. */
	write_file(path.data, "smtp inet n - n - -\n");
	assert_null(mastercf_load(dir, NULL, &error));
	assert_non_null(strstr(error, "master.cf, line 1: too few fields"));
	strlist_init(&problems);
	assert_int_equal(mastercf_check(cfg, &problems), 1);
	assert_non_null(strstr(problems.v[0], "line 1: too few fields"));
	strlist_release(&problems);

	unlink(path.data);
	assert_null(mastercf_load_file(path.data, &error));
	assert_non_null(strstr(error, "No such file"));
	rmdir(dir);
	config_free(cfg);
	buf_release(&path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_table),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_and_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
