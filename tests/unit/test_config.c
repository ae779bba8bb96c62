/* Unit tests for src/global/config (main.cf) and its parameter table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "str.h"

/* Take B's contents as a malloc'ed string and release B. */
static char *
take(struct buf *b)
{
	char *s = buf_detach(b, NULL);

	buf_release(b);
	return s;
}

/* Load TEXT as "test.cf" into CFG; assert success. */
static void
load(struct config *cfg, const char *text)
{
	const char *error = NULL;

	if (config_load_text(cfg, text, strlen(text), "test.cf", &error) < 0)
		fail_msg("load failed: %s", error);
}

/* Expand TEXT, return a malloc'ed result or NULL (error in *error_r). */
static char *
expand(struct config *cfg, const char *text, const char **error_r)
{
	struct buf b;

	buf_init(&b, 0);
	if (config_expand(cfg, text, &b, error_r) < 0) {
		buf_release(&b);
		return NULL;
	}
	return take(&b);
}

static void
test_table_sorted_and_sane(void **state)
{
	size_t n;
	const struct config_param_def *d = config_param_defs(&n);

	assert_true(n > 150);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(d[i - 1].name, d[i].name) >= 0)
			fail_msg("table not sorted at %s", d[i].name);
		assert_true(config_name_valid(d[i].name));
		assert_non_null(d[i].def);
		assert_non_null(d[i].doc);
		assert_true(strlen(d[i].doc) > 10);
		assert_ptr_equal(config_param_find(d[i].name), &d[i]);
		if (d[i].type == CONFIG_TYPE_TIME)
			assert_non_null(strchr("smhdw", d[i].time_unit));
	}
	assert_null(config_param_find("no_such_parameter"));
	assert_null(config_param_find(""));
}

/* Every default expands and has the right type: no errors in a bare config. */
static void
test_defaults_all_valid(void **state)
{
	struct config *cfg = config_new("/etc/ulak-test");
	struct strlist problems;

	strlist_init(&problems);
	assert_int_equal(config_check(cfg, &problems), 0);
	if (problems.n > 0)
		fail_msg("first problem: %s", problems.v[0]);
	strlist_release(&problems);
	config_free(cfg);
}

static void
test_defaults_values(void **state)
{
	struct config *cfg = config_new("/etc/ulak-test");
	struct strlist l;
	const char *file;
	int line;

	config_set(cfg, "myhostname", "mx.example.org");
	assert_string_equal(config_str(cfg, "queue_directory"),
	    "/var/spool/ulak");
	assert_string_equal(config_str(cfg, "data_directory"), "/var/lib/ulak");
	assert_string_equal(config_str(cfg, "mail_owner"), "ulak");
	assert_string_equal(config_str(cfg, "config_directory"),
	    "/etc/ulak-test");
	assert_string_equal(config_raw(cfg, "config_directory"),
	    "/etc/ulak-test");
	assert_false(config_is_set(cfg, "config_directory"));
	assert_string_equal(config_str(cfg, "daemon_directory"), "");
	assert_string_equal(config_str(cfg, "mydomain"), "example.org");
	assert_string_equal(config_str(cfg, "myorigin"), "mx.example.org");
	assert_string_equal(config_str(cfg, "smtpd_banner"),
	    "mx.example.org ESMTP ulak");
	assert_string_equal(config_raw(cfg, "smtpd_banner"),
	    "$myhostname ESMTP $mail_name");
	assert_int_equal(config_int(cfg, "smtpd_recipient_limit"), 1000);
	assert_int_equal(config_int(cfg, "unknown_client_reject_code"), 550);
	assert_int_equal(config_int(cfg, "smtp_tcp_port"), 25);
	assert_int_equal(config_time(cfg, "smtpd_timeout"), 300);
	assert_int_equal(config_time(cfg, "maximal_queue_lifetime"), 5 * 86400);
	assert_int_equal(config_time(cfg, "delay_warning_time"), 0);
	assert_int_equal(config_time(cfg, "greylist_delay"), 60);
	assert_int_equal(config_size(cfg, "message_size_limit"), 10240000);
	assert_false(config_bool(cfg, "disable_vrfy_command"));
	assert_true(config_bool(cfg, "smtpd_delay_reject"));
	strlist_init(&l);
	config_list(cfg, "mydestination", &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "mx.example.org");
	assert_string_equal(l.v[1], "localhost.example.org");
	assert_string_equal(l.v[2], "localhost");
	strlist_release(&l);
	strlist_init(&l);
	config_list(cfg, "mynetworks", &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "127.0.0.0/8");
	assert_string_equal(l.v[1], "[::1]/128");
	strlist_release(&l);
	strlist_init(&l);
	config_list(cfg, "smtpd_sender_restrictions", &l);
	assert_true(strlist_find(&l, "reject_unauth_local_sender") >= 0);
	strlist_release(&l);
	assert_null(config_raw(cfg, "no_such_thing"));
	assert_null(config_default(cfg, "no_such_thing"));
	config_origin(cfg, "myhostname", &file, &line);
	assert_null(file);
	assert_int_equal(line, 0);
	config_free(cfg);
}

static void
test_computed_hostname(void **state)
{
	struct config *cfg = config_new("/x");
	const char *host, *dom, *dot;

	host = config_str(cfg, "myhostname");
	dot = strchr(host, '.');
	assert_non_null(dot);
	dom = config_str(cfg, "mydomain");
	assert_string_equal(dom, dot + 1);
	assert_string_equal(config_default(cfg, "myhostname"), host);
	assert_false(str_has_prefix(config_raw(cfg, "mydomain"),
	    CONFIG_DEF_COMPUTED));
	assert_true(config_param_is_computed(config_param_find("myhostname")));
	assert_false(config_param_is_computed(config_param_find("myorigin")));
	/* A host name without a dot leaves "localdomain". */
	config_set(cfg, "myhostname", "single");
	assert_string_equal(config_str(cfg, "mydomain"), "localdomain");
	/* An explicit mydomain wins. */
	config_set(cfg, "mydomain", "example.net");
	assert_string_equal(config_str(cfg, "mydomain"), "example.net");
	config_free(cfg);
}

struct expand_case {
	const char *in;
	const char *out;	/* NULL: error */
	const char *error;	/* substring of the error */
};

static void
test_expand_forms(void **state)
{
	static const struct expand_case cases[] = {
		{ "plain text", "plain text", NULL },
		{ "$a", "x", NULL },
		{ "${a}", "x", NULL },
		{ "$(a)", "x", NULL },
		{ "<$a>", "<x>", NULL },
		{ "$a.$b", "x.x", NULL },
		{ "$a_b", "", NULL },	/* the name is a_b, unknown */
		{ "${a}_b", "x_b", NULL },
		{ "$$a", "$a", NULL },
		{ "$$", "$", NULL },
		{ "a$$$a", "a$x", NULL },
		{ "${a?yes}", "yes", NULL },
		{ "${empty?yes}", "", NULL },
		{ "${a:no}", "", NULL },
		{ "${empty:no}", "no", NULL },
		{ "${unknown:dflt}", "dflt", NULL },
		{ "$(a?t)", "t", NULL },
		{ "${a?[$b]}", "[x]", NULL },
		{ "${a?${empty:in}}", "in", NULL },
		{ "${a?{braced}}", "braced", NULL },
		{ "${a?{{x}}}", "{x}", NULL },
		{ "${a?{yes}:{no}}", "yes", NULL },
		{ "${empty?{yes}:{no}}", "no", NULL },
		{ "${empty?{yes} : {n$a}  }", "nx", NULL },
		{ "${a:{set}}", "", NULL },
		{ "${empty:{unset}}", "unset", NULL },
		{ "${a?{y} junk}", NULL, "unexpected text after" },
		{ "${a?{y}:{n} junk}", NULL, "unexpected text after" },
		{ "${a:{y}:{n}}", NULL, "unexpected text after" },
		{ "${a?{unclosed}", NULL, "unterminated" },
		{ "${a?x{y}}", "x{y}", NULL },
		{ "$(a?(p))", "(p)", NULL },
		{ "${a?}", "", NULL },
		{ "$unknown", "", NULL },
		{ "$c", "x-x", NULL },
		{ "${d}", "$literal", NULL },
		{ "$9", "", NULL },
		{ "$", NULL, "at the end" },
		{ "x$", NULL, "at the end" },
		{ "${a", NULL, "unterminated" },
		{ "$(a", NULL, "unterminated" },
		{ "${a?${b}", NULL, "unterminated" },
		{ "${}", NULL, "missing parameter name" },
		{ "${?x}", NULL, "missing parameter name" },
		{ "${a!}", NULL, "bad character" },
		{ "${a b}", NULL, "bad character" },
		{ "$-", NULL, "not followed by a parameter name" },
		{ "$ ", NULL, "not followed by a parameter name" },
		{ "${a?$}", NULL, "at the end" },
		{ "${empty?$}", "", NULL },	/* not taken: not expanded */
	};
	struct config *cfg = config_new("/x");

	load(cfg, "a = x\nb = $a\nempty =\nc = $a-${b}\nd = $$literal\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		char *r = expand(cfg, cases[i].in, &error);

		if (cases[i].out != NULL) {
			if (r == NULL)
				fail_msg("\"%s\": unexpected error %s",
				    cases[i].in, error);
			if (strcmp(r, cases[i].out) != 0)
				fail_msg("\"%s\" gave \"%s\", expected \"%s\"",
				    cases[i].in, r, cases[i].out);
		} else {
			if (r != NULL)
				fail_msg("\"%s\" gave \"%s\", expected an "
				    "error", cases[i].in, r);
			if (strstr(error, cases[i].error) == NULL)
				fail_msg("\"%s\": error \"%s\" lacks \"%s\"",
				    cases[i].in, error, cases[i].error);
		}
		free(r);
	}
	config_free(cfg);
}

static void
test_expand_appends(void **state)
{
	struct config *cfg = config_new("/x");
	struct buf b;
	const char *error;

	load(cfg, "a = x\n");
	buf_init(&b, 0);
	buf_append_str(&b, "pre:");
	assert_int_equal(config_expand(cfg, "$a", &b, &error), 0);
	assert_string_equal(b.data, "pre:x");
	/* On error OUT is unchanged. */
	assert_int_equal(config_expand(cfg, "$a${", &b, &error), -1);
	assert_string_equal(b.data, "pre:x");
	buf_release(&b);
	config_free(cfg);
}

static void
test_continuation_and_comments(void **state)
{
	struct config *cfg = config_new("/x");
	struct strlist names;
	const char *file;
	int line;

	load(cfg,
	    "# a comment\n"
	    "\n"
	    "mynetworks = 127.0.0.0/8,\n"
	    "    10.0.0.0/8\n"
	    "# a comment inside the value\n"
	    "\t192.168.0.0/16   \n"
	    "   \n"
	    "myhostname=mail.example.com\r\n"
	    "  # indented comment\n"
	    "smtpd_banner = $myhostname # not a comment\n"
	    "empty =\n"
	    "alias_maps = hash:/etc/aliases\n"
	    "  , inline:{ a=b, c=d }");
	assert_string_equal(config_raw(cfg, "mynetworks"),
	    "127.0.0.0/8, 10.0.0.0/8 192.168.0.0/16");
	assert_string_equal(config_str(cfg, "myhostname"), "mail.example.com");
	assert_string_equal(config_str(cfg, "smtpd_banner"),
	    "mail.example.com # not a comment");
	assert_string_equal(config_raw(cfg, "empty"), "");
	assert_string_equal(config_raw(cfg, "alias_maps"),
	    "hash:/etc/aliases , inline:{ a=b, c=d }");
	config_origin(cfg, "myhostname", &file, &line);
	assert_string_equal(file, "test.cf");
	assert_int_equal(line, 8);
	config_origin(cfg, "mynetworks", &file, &line);
	assert_int_equal(line, 3);
	strlist_init(&names);
	config_set_names(cfg, &names);
	assert_int_equal(names.n, 5);
	assert_string_equal(names.v[0], "mynetworks");
	assert_string_equal(names.v[1], "myhostname");
	assert_string_equal(names.v[4], "alias_maps");
	strlist_release(&names);
	strlist_init(&names);
	config_list(cfg, "alias_maps", &names);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[1], "inline:{ a=b, c=d }");
	strlist_release(&names);
	config_free(cfg);
}

static void
test_list_split(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *last;
	} cases[] = {
		{ "", 0, NULL },
		{ " ,, \t\n", 0, NULL },
		{ "a", 1, "a" },
		{ "a, b c,,d", 4, "d" },
		{ "inline:{ a=b, c=d }, hash:/x", 2, "hash:/x" },
		{ "x inline:{ a=b, c=d }", 2, "inline:{ a=b, c=d }" },
		{ "{ {a b} c } d", 2, "d" },
		{ "a } b", 3, "b" },
		{ "unterminated:{ a, b", 1, "unterminated:{ a, b" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strlist l;

		strlist_init(&l);
		config_list_split(cases[i].in, &l);
		if (l.n != cases[i].n)
			fail_msg("\"%s\": %zu items, expected %zu",
			    cases[i].in, l.n, cases[i].n);
		if (cases[i].last != NULL)
			assert_string_equal(l.v[l.n - 1], cases[i].last);
		strlist_release(&l);
	}
}

static void
test_loops(void **state)
{
	struct config *cfg = config_new("/x");
	struct strlist problems;
	const char *error = NULL;
	char *r;
	int errors;

	load(cfg, "a = $b\nb = ${a}\nself = x$self\nok = fine\n"
	    "cond = ${cond?x}\nmyhostname = $mydomain\n");
	r = expand(cfg, "$a", &error);
	assert_null(r);
	assert_non_null(strstr(error, "parameter loop"));
	r = expand(cfg, "$self", &error);
	assert_null(r);
	assert_non_null(strstr(error, "$self refers to itself"));
	r = expand(cfg, "${cond:y}", &error);
	assert_null(r);
	/* After a failed expansion, other names still work. */
	r = expand(cfg, "$ok", &error);
	assert_string_equal(r, "fine");
	free(r);
	/* myhostname = $mydomain with mydomain computed from myhostname. */
	r = expand(cfg, "$mydomain", &error);
	assert_null(r);
	assert_non_null(config_raw(cfg, "mydomain"));
	strlist_init(&problems);
	errors = config_check(cfg, &problems);
	assert_true(errors >= 5);
	assert_string_equal(problems.v[0],
	    "test.cf, line 1: parameter a: parameter loop: $a refers to "
	    "itself");
	strlist_release(&problems);
	config_free(cfg);
}

static void
test_depth_and_size_limits(void **state)
{
	struct config *cfg = config_new("/x");
	struct buf text;
	const char *error = NULL;
	char *r;

	buf_init(&text, 0);
	/* A chain longer than the nesting limit. */
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "chain%d = $chain%d\n", i, i + 1);
	buf_printf(&text, "chain300 = end\n");
	/* Doubling: 2^40 bytes unless bounded. */
	for (int i = 0; i < 40; i++)
		buf_printf(&text, "dbl%d = $dbl%d$dbl%d\n", i, i + 1, i + 1);
	buf_printf(&text, "dbl40 = xx\n");
	buf_printf(&text, "nest = ");
	for (int i = 0; i < 200; i++)
		buf_printf(&text, "${ok?");
	for (int i = 0; i < 200; i++)
		buf_printf(&text, "}");
	buf_printf(&text, "\nok = y\n");
	load(cfg, text.data);
	r = expand(cfg, "$chain0", &error);
	assert_null(r);
	assert_non_null(strstr(error, "nested more than"));
	r = expand(cfg, "$chain250", &error);
	assert_string_equal(r, "end");
	free(r);
	r = expand(cfg, "$dbl0", &error);
	assert_null(r);
	assert_non_null(strstr(error, "larger than 1 MiB"));
	r = expand(cfg, "$dbl25", &error);
	assert_non_null(r);
	assert_int_equal(strlen(r), 1 << 16);
	free(r);
	r = expand(cfg, "$nest", &error);
	assert_null(r);
	assert_non_null(strstr(error, "nested more than"));
	buf_release(&text);
	config_free(cfg);
}

struct syntax_case {
	const char *text;
	const char *error;
};

static void
test_syntax_errors(void **state)
{
	static const struct syntax_case cases[] = {
		{ "foo bar\n", "test.cf, line 1: line without \"=\": "
		    "\"foo bar\"" },
		{ "a = 1\n\n# c\nno equals here", "test.cf, line 4: line "
		    "without \"=\"" },
		{ "= value\n", "test.cf, line 1: bad parameter name \"\"" },
		{ "a-b = c\n", "test.cf, line 1: bad parameter name "
		    "\"a-b\"" },
		{ "a b = c\n", "test.cf, line 1: bad parameter name "
		    "\"a b\"" },
		{ "\xc3\xa9t\xc3\xa9 = x\n", "test.cf, line 1: bad parameter "
		    "name \"\\303\\251t\\303\\251\"" },
		{ "  indented = x\n", "test.cf, line 1: continuation line "
		    "without a parameter before it" },
		{ "# c\n\tx\n", "test.cf, line 2: continuation line" },
		{ "a = b\0c\n", "test.cf, line 1: NUL byte" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = config_new("/x");
		const char *error = NULL;
		size_t len = strlen(cases[i].text);

		if (strstr(cases[i].error, "NUL") != NULL)
			len = 8;
		load(cfg, "myhostname = before.example\n");
		if (config_load_text(cfg, cases[i].text, len, "test.cf",
		    &error) == 0)
			fail_msg("case %zu loaded", i);
		if (!str_has_prefix(error, cases[i].error))
			fail_msg("case %zu: \"%s\" does not start with \"%s\"",
			    i, error, cases[i].error);
		/* A failed load leaves the configuration as it was. */
		assert_string_equal(config_str(cfg, "myhostname"),
		    "before.example");
		config_free(cfg);
	}
}

static void
test_check_bad_values(void **state)
{
	static const char *const expect[] = {
		"test.cf, line 2: parameter smtpd_timeout: bad time unit",
		"test.cf, line 3: parameter message_size_limit: bad size value",
		"test.cf, line 4: parameter disable_vrfy_command: bad boolean "
		    "value",
		"test.cf, line 5: parameter smtpd_recipient_limit: not a "
		    "number",
		"test.cf, line 6: parameter smtpd_banner: unterminated",
		"warning: test.cf, line 8: unknown parameter name "
		    "\"smtpd_timeout_twice\"",
		"parameter smtpd_hard_error_limit (override \"many\"): not a "
		    "number",
		"parameter smtpd_soft_error_limit (override "
		    "\"$disable_vrfy_command\"): not a number",
	};
	struct config *cfg = config_new("/x");
	struct strlist problems;
	int errors;

	load(cfg, "# bad values\n"
	    "smtpd_timeout = 10x\n"
	    "message_size_limit = big\n"
	    "disable_vrfy_command = maybe\n"
	    "smtpd_recipient_limit = -1\n"
	    "smtpd_banner = ${myhostname\n"
	    "myhostname = ok.example\n"
	    "smtpd_timeout_twice = $smtpd_timeout\n");
	config_set(cfg, "smtpd_hard_error_limit", "many");
	config_set(cfg, "smtpd_soft_error_limit", "10");
	config_set(cfg, "smtpd_soft_error_limit", "$disable_vrfy_command");
	strlist_init(&problems);
	errors = config_check(cfg, &problems);
	assert_int_equal(errors, 7);
	assert_int_equal(problems.n, 8);
	for (size_t i = 0; i < 8; i++)
		if (!str_has_prefix(problems.v[i], expect[i]))
			fail_msg("problem %zu: \"%s\" lacks \"%s\"", i,
			    problems.v[i], expect[i]);
	strlist_release(&problems);
	config_free(cfg);
}

/* A default that refers to a value main.cf broke is reported. */
static void
test_check_broken_default(void **state)
{
	struct config *cfg = config_new("/x");
	struct strlist problems;

	load(cfg, "default_destination_concurrency_limit = lots\n");
	strlist_init(&problems);
	/* The parameter itself and smtp_destination_concurrency_limit. */
	assert_int_equal(config_check(cfg, &problems), 2);
	assert_true(str_has_prefix(problems.v[1], "parameter smtp_destination_"
	    "concurrency_limit (default \"$default_destination_concurrency_"
	    "limit\"): not a number"));
	strlist_release(&problems);
	config_free(cfg);
}

/* The typed accessors exit(1) with file and line on a bad value. */
static void
test_typed_fatal(void **state)
{
	struct config *cfg = config_new("/x");
	int fds[2], status;
	pid_t pid;
	char out[1024];
	ssize_t n;

	load(cfg, "\nsmtpd_timeout = soon\n");
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		(void)config_time(cfg, "smtpd_timeout");
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "fatal: test.cf, line 2: parameter "
	    "smtpd_timeout: bad time value"));
	config_free(cfg);
}

static void
test_unknown_warning(void **state)
{
	struct config *cfg = config_new("/x");
	struct buf cap;
	struct strlist problems;

	buf_init(&cap, 0);
	log_capture(&cap);
	load(cfg, "myhostname = h.example\nfoo = 1\nbar = 2\nbaz = $bar\n"
	    "myhostname = h2.example\n");
	log_capture(NULL);
	/* foo is unknown and unused; bar is used by baz; baz is unused. */
	assert_non_null(strstr(cap.data, "warning: test.cf, line 2: unknown "
	    "parameter name \"foo\""));
	assert_null(strstr(cap.data, "\"bar\""));
	assert_non_null(strstr(cap.data, "test.cf, line 4: unknown parameter "
	    "name \"baz\""));
	assert_non_null(strstr(cap.data, "warning: test.cf, line 5: "
	    "overriding earlier entry (line 1): myhostname=h.example"));
	assert_string_equal(config_str(cfg, "myhostname"), "h2.example");
	/* Unknown names are kept and may be expanded. */
	assert_string_equal(config_raw(cfg, "foo"), "1");
	assert_true(config_is_set(cfg, "foo"));
	strlist_init(&problems);
	assert_int_equal(config_check(cfg, &problems), 0);
	assert_int_equal(problems.n, 2);
	assert_true(str_has_prefix(problems.v[0], "warning: test.cf, line 2: "
	    "unknown parameter name \"foo\""));
	strlist_release(&problems);
	buf_release(&cap);
	config_free(cfg);
}

static void
test_set_and_reload(void **state)
{
	struct config *cfg = config_new("/x");
	struct strlist names;
	const char *file, *s;
	int line;

	load(cfg, "myhostname = file.example\nrelayhost = [r]:25\n");
	config_set(cfg, "zzz_extra", "1");
	config_set(cfg, "myhostname", "set.example");
	config_set(cfg, "aaa_extra", "2");
	assert_string_equal(config_str(cfg, "myhostname"), "set.example");
	config_origin(cfg, "myhostname", &file, &line);
	assert_null(file);
	config_origin(cfg, "relayhost", &file, &line);
	assert_string_equal(file, "test.cf");
	assert_int_equal(line, 2);
	strlist_init(&names);
	config_set_names(cfg, &names);
	assert_int_equal(names.n, 4);
	assert_string_equal(names.v[0], "myhostname");
	assert_string_equal(names.v[1], "relayhost");
	assert_string_equal(names.v[2], "zzz_extra");
	assert_string_equal(names.v[3], "aaa_extra");
	strlist_release(&names);
	/* A reload drops old file values and keeps overrides. */
	load(cfg, "mydomain = d.example\n");
	assert_false(config_is_set(cfg, "relayhost"));
	assert_string_equal(config_str(cfg, "relayhost"), "");
	assert_string_equal(config_str(cfg, "myhostname"), "set.example");
	assert_string_equal(config_str(cfg, "mydomain"), "d.example");
	/* config_str results change after config_set. */
	s = config_str(cfg, "myorigin");
	assert_string_equal(s, "set.example");
	config_set(cfg, "myhostname", "new.example");
	assert_string_equal(config_str(cfg, "myorigin"), "new.example");
	config_free(cfg);
}

static void
test_check_value(void **state)
{
	struct config *cfg = config_new("/x");
	const char *error = NULL;

	load(cfg, "t = 5m\n");
	assert_int_equal(config_check_value(cfg, "smtpd_timeout", "$t", &error),
	    0);
	assert_int_equal(config_check_value(cfg, "smtpd_timeout", "5x",
	    &error), -1);
	assert_non_null(strstr(error, "bad time unit"));
	assert_int_equal(config_check_value(cfg, "disable_vrfy_command", "",
	    &error), -1);
	assert_int_equal(config_check_value(cfg, "no_such", "any text",
	    &error), 0);
	assert_int_equal(config_check_value(cfg, "no_such", "${", &error), -1);
	assert_non_null(strstr(error, "unterminated"));
	/* Nothing changed. */
	assert_false(config_is_set(cfg, "smtpd_timeout"));
	assert_int_equal(config_time(cfg, "smtpd_timeout"), 300);
	config_free(cfg);
}

static char *
make_tmpdir(void)
{
	char tmpl[] = "/tmp/ulak-test-config-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static char *
path_in(const char *dir, const char *name)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s/%s", dir, name);
	return take(&b);
}

static void
write_file(const char *path, const char *text)
{
	const char *error;

	if (file_write_atomic(path, text, strlen(text), 0644, &error) < 0)
		fail_msg("%s", error);
}

static char *
read_file(const char *path)
{
	struct buf b;
	const char *error;

	buf_init(&b, 0);
	if (file_read_all(path, &b, 0, &error) < 0)
		fail_msg("%s", error);
	return take(&b);
}

static void
test_load_from_dir(void **state)
{
	char *dir = make_tmpdir(), *path = path_in(dir, "main.cf");
	struct config *cfg = config_new(dir);
	const char *error = NULL, *file;
	int line;

	/* Missing main.cf is an error. */
	assert_int_equal(config_load(cfg, &error), -1);
	assert_non_null(strstr(error, "main.cf"));
	assert_non_null(strstr(error, "No such file"));
	write_file(path, "myhostname = dir.example\nbad line\n");
	assert_int_equal(config_load(cfg, &error), -1);
	assert_non_null(strstr(error, "main.cf, line 2: line without"));
	assert_true(str_has_prefix(error, dir));
	write_file(path, "myhostname = dir.example\n");
	assert_int_equal(config_load(cfg, &error), 0);
	assert_string_equal(config_str(cfg, "myhostname"), "dir.example");
	config_origin(cfg, "myhostname", &file, &line);
	assert_string_equal(file, path);
	assert_string_equal(config_dir(cfg), dir);
	config_free(cfg);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static void
test_edit(void **state)
{
	char *dir = make_tmpdir(), *path = path_in(dir, "main.cf"), *text;
	const char *error = NULL;
	struct config *cfg;
	struct stat st;

	write_file(path,
	    "# main.cf of a test\n"
	    "myhostname = old.example\n"
	    "mynetworks = 127.0.0.0/8\n"
	    "    10.0.0.0/8\n"
	    "# inside\n"
	    "\t192.168.0.0/16\n"
	    "\n"
	    "# relay\n"
	    "relayhost =\n"
	    "mynetworks = duplicate\n"
	    "  continued\n"
	    "last = 1");
	chmod(path, 0640);
	assert_int_equal(config_edit(path, "mynetworks", "127.0.0.0/8 [::1]/128",
	    &error), 0);
	assert_int_equal(config_edit(path, "relayhost", "[smarthost]:587",
	    &error), 0);
	assert_int_equal(config_edit(path, "new_param", "", &error), 0);
	assert_int_equal(config_edit(path, "myhostname", "new.example",
	    &error), 0);
	text = read_file(path);
	assert_string_equal(text,
	    "# main.cf of a test\n"
	    "myhostname = new.example\n"
	    "mynetworks = 127.0.0.0/8 [::1]/128\n"
	    "# inside\n"
	    "\n"
	    "# relay\n"
	    "relayhost = [smarthost]:587\n"
	    "last = 1\n"
	    "new_param =\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	cfg = config_new(dir);
	assert_int_equal(config_load(cfg, &error), 0);
	assert_string_equal(config_str(cfg, "mynetworks"),
	    "127.0.0.0/8 [::1]/128");
	config_free(cfg);

	/* Bad input. */
	assert_int_equal(config_edit(path, "bad-name", "x", &error), -1);
	assert_non_null(strstr(error, "bad parameter name"));
	assert_int_equal(config_edit(path, "a", "x\ny = z", &error), -1);
	assert_non_null(strstr(error, "line break"));
	unlink(path);

	/* A missing file is created. */
	assert_int_equal(config_edit(path, "myhostname", "created.example",
	    &error), 0);
	text = read_file(path);
	assert_string_equal(text, "myhostname = created.example\n");
	free(text);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted_and_sane),
		cmocka_unit_test(test_defaults_all_valid),
		cmocka_unit_test(test_defaults_values),
		cmocka_unit_test(test_computed_hostname),
		cmocka_unit_test(test_expand_forms),
		cmocka_unit_test(test_expand_appends),
		cmocka_unit_test(test_continuation_and_comments),
		cmocka_unit_test(test_list_split),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_depth_and_size_limits),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_check_bad_values),
		cmocka_unit_test(test_check_broken_default),
		cmocka_unit_test(test_typed_fatal),
		cmocka_unit_test(test_unknown_warning),
		cmocka_unit_test(test_set_and_reload),
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_load_from_dir),
		cmocka_unit_test(test_edit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
