/*
 * Unit tests for src/global/aliases: the aliases(5) parser, the stored
 * value format (join/split) and aliases_build with hash: lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "aliases.h"
#include "buf.h"
#include "dict.h"
#include "file.h"
#include "log.h"
#include "str.h"

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ulak-test-aliases-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
tpath(const char *name)
{
	static char slots[4][256];
	static unsigned next;
	char *s = slots[next++ % 4];

	snprintf(s, sizeof(slots[0]), "%s/%s", tmpdir, name);
	return s;
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	const char *err = NULL;

	assert_int_equal(file_write_atomic(tpath(name), text, strlen(text),
	    mode, &err), 0);
}

static void
expect_error(const char *got, const char *want)
{
	if (got == NULL || strstr(got, want) == NULL)
		fail_msg("expected an error containing \"%s\", got \"%s\"",
		    want, got == NULL ? "(null)" : got);
}

/* "name=item|item|...;" for every entry: easy to compare. */
static void
render(const struct aliases_list *l, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < l->n; i++) {
		buf_printf(out, "%s=", l->v[i].name);
		for (size_t j = 0; j < l->v[i].items.n; j++)
			buf_printf(out, "%s%s", j ? "|" : "",
			    l->v[i].items.v[j]);
		buf_append_str(out, ";");
	}
}

static void
test_parse_syntax(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "postmaster: root\n", "postmaster=root;" },
		{ "# comment\n\nPostMaster:root\n", "postmaster=root;" },
		{ "a: b, c,d ,  e\n", "a=b|c|d|e;" },
		{ "a: b,\n  c,\n\td\n", "a=b|c|d;" },
		{ "a: b,\n# comment inside\n  c\nx: y\n", "a=b|c;x=y;" },
		{ "a : b\n", "a=b;" },
		{ "a: b,,c,\n", "a=b|c;" },
		{ "a: ,b\n", "a=b;" },
		{ "log: \"|/usr/bin/logger -t mail, x\", \"/var/log/m copy\"\n",
		    "log=|/usr/bin/logger -t mail, x|/var/log/m copy;" },
		{ "f: /var/spool/file, |/bin/cmd arg\n",
		    "f=/var/spool/file||/bin/cmd arg;" },
		{ "staff: :include:/etc/mail/staff\n",
		    "staff=:include:/etc/mail/staff;" },
		{ "\"a b\": x\n", "a b=x;" },
		{ "\"With:Colon\" : x\n", "with:colon=x;" },
		{ "\"q\\\"uote\": x\n", "q\"uote=x;" },
		{ "j: \"john doe\"@example.com, \"x\"y\n",
		    "j=\"john doe\"@example.com|\"x\"y;" },
		{ "e: \"esc \\\" \\\\ ok\"\n", "e=esc \" \\ ok;" },
		{ "u: user@Example.COM\n", "u=user@Example.COM;" },
		{ "a: b\r\nc: d\r\n", "a=b;c=d;" },
		{ "a: b # not a comment\n", "a=b # not a comment;" },
		{ "", "" },
		{ "# only\n   \n", "" },
	};
	struct aliases_list l;
	struct buf out;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;

		aliases_list_init(&l);
		if (aliases_parse_text("aliases", cases[i].text,
		    strlen(cases[i].text), &l, &err) < 0)
			fail_msg("case %zu: %s", i, err);
		render(&l, &out);
		if (strcmp(out.data, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    out.data, cases[i].want);
		aliases_list_release(&l);
	}
	buf_release(&out);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "a: b\nno colon here\n", "aliases, line 2: expected \"name: "
		    "value\" (no ':' found)" },
		{ ": b\n", "aliases, line 1: empty name before ':'" },
		{ "\"\": b\n", "aliases, line 1: empty name before ':'" },
		{ "a:\n", "aliases, line 1: no value for \"a\"" },
		{ "a:   \nb: c\n", "aliases, line 1: no value for \"a\"" },
		{ "a: , ,\n", "aliases, line 1: no value for \"a\"" },
		{ "a: \"\"\n", "aliases, line 1: no value for \"a\"" },
		{ "x: y\na: \"|cmd, x\n", "aliases, line 2: unterminated quoted "
		    "string" },
		{ "a: b,\n  \"c\n", "aliases, line 1: unterminated quoted "
		    "string" },
		{ "\"a b: x\n", "aliases, line 1: unterminated quoted name" },
		{ "\"a b\" x\n", "aliases, line 1: expected ':' after the quoted "
		    "name" },
		{ "a: :include:\n", "aliases, line 1: :include: without a file "
		    "name" },
		{ "a: :INCLUDE:   , b\n", "aliases, line 1: :include: without" },
		{ "  a: b\n", "aliases, line 1: continuation line without" },
		{ "a: b\nc: \"x\\\n", "aliases, line 2: unterminated quoted" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aliases_list l;
		const char *err = NULL;

		aliases_list_init(&l);
		if (aliases_parse_text("aliases", cases[i].text,
		    strlen(cases[i].text), &l, &err) == 0)
			fail_msg("case %zu accepted", i);
		expect_error(err, cases[i].err);
		aliases_list_release(&l);
	}
}

static void
test_parse_nul_and_long_name(void **state)
{
	static const char nul[] = "a: b\nc: d\0e\n";
	struct aliases_list l;
	const char *err = NULL;
	char name[600];

	aliases_list_init(&l);
	assert_int_equal(aliases_parse_text("al", nul, sizeof(nul) - 1, &l,
	    &err), -1);
	expect_error(err, "al, line 2: NUL byte");
	aliases_list_release(&l);

	memset(name, 'n', sizeof(name));
	memcpy(name + sizeof(name) - 5, ": x\n", 5);
	assert_int_equal(aliases_parse_text("al", name, strlen(name), &l,
	    &err), -1);
	expect_error(err, "al, line 1: name too long (over 511 bytes)");
	aliases_list_release(&l);
}

static void
test_duplicates(void **state)
{
	static const char text[] =
	    "a: first\n"
	    "b: x\n"
	    "A: second\n"
	    "\"a\": third\n";
	struct aliases_list l;
	const char *err = NULL;
	struct buf cap, out;

	aliases_list_init(&l);
	buf_init(&cap, 0);
	buf_init(&out, 0);
	log_capture(&cap);
	assert_int_equal(aliases_parse_text("al", text, strlen(text), &l,
	    &err), 0);
	log_capture(NULL);
	render(&l, &out);
	assert_string_equal(out.data, "a=first;b=x;");
	expect_error(cap.data, "al, line 3: duplicate entry \"a\": keeping "
	    "the first one");
	expect_error(cap.data, "al, line 4: duplicate entry \"a\"");
	assert_int_equal(l.v[1].lineno, 2);
	aliases_list_release(&l);
	buf_release(&cap);
	buf_release(&out);
}

static void
test_long_lines(void **state)
{
	struct aliases_list l;
	const char *err = NULL;
	struct buf text;
	size_t total = 0;

	/* One logical line of about 1.5 MB over 20000 physical lines. */
	buf_init(&text, 0);
	buf_append_str(&text, "big: ");
	for (int i = 0; i < 20000; i++)
		buf_printf(&text, "user%d@example.com,%s\n  ", i,
		    "                                        ");
	buf_append_str(&text, "last\n");
	for (int i = 0; i < 511; i++)
		buf_append_str(&text, "X");
	buf_append_str(&text, ": one physical line of a long name\n");
	aliases_list_init(&l);
	if (aliases_parse_text("al", text.data, text.len, &l, &err) < 0)
		fail_msg("%s", err);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].items.n, 20001);
	assert_string_equal(l.v[0].items.v[19999], "user19999@example.com");
	assert_string_equal(l.v[0].items.v[20000], "last");
	for (size_t i = 0; i < l.v[0].items.n; i++)
		total += strlen(l.v[0].items.v[i]);
	assert_true(total > 300000);
	assert_int_equal(strlen(l.v[1].name), 511);
	assert_int_equal(l.v[1].name[0], 'x');
	aliases_list_release(&l);
	buf_release(&text);
	(void)err;
}

static void
test_join_split(void **state)
{
	static const struct {
		const char *items[4];
		const char *joined;
	} cases[] = {
		{ { "root", NULL }, "root" },
		{ { "a", "b@example.com", NULL }, "a, b@example.com" },
		{ { "|/bin/cmd, with comma", "/file", NULL },
		    "\"|/bin/cmd, with comma\", /file" },
		{ { "|/bin/cmd arg", NULL }, "|/bin/cmd arg" },
		{ { "\"john doe\"@example.com", NULL },
		    "\"john doe\"@example.com" },
		{ { "\"whole\"", NULL }, "\"\\\"whole\\\"\"" },
		{ { "back\\slash", NULL }, "back\\slash" },
		{ { "quote\"inside", NULL }, "\"quote\\\"inside\"" },
		{ { " lead", NULL }, "\" lead\"" },
		{ { ":include:/etc/x", NULL }, ":include:/etc/x" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strlist items, back;
		const char *err = NULL;
		char *joined;
		size_t n = 0;

		strlist_init(&items);
		strlist_init(&back);
		for (; cases[i].items[n] != NULL; n++)
			strlist_add(&items, cases[i].items[n]);
		joined = aliases_join(&items);
		if (strcmp(joined, cases[i].joined) != 0)
			fail_msg("case %zu: joined \"%s\", want \"%s\"", i,
			    joined, cases[i].joined);
		assert_int_equal(aliases_split_value(joined, &back, &err),
		    (int)n);
		for (size_t j = 0; j < n; j++)
			assert_string_equal(back.v[j], items.v[j]);
		free(joined);
		strlist_release(&items);
		strlist_release(&back);
	}
}

static void
test_split_errors(void **state)
{
	struct strlist l;
	const char *err = NULL;

	strlist_init(&l);
	assert_int_equal(aliases_split_value("a, \"b", &l, &err), -1);
	expect_error(err, "unterminated quoted string");
	assert_int_equal(aliases_split_value(":include:", &l, &err), -1);
	expect_error(err, ":include: without a file name");
	assert_int_equal(aliases_split_value("", &l, &err), 0);
	assert_int_equal(aliases_split_value(" , ,", &l, &err), 0);
	strlist_release(&l);
}

static void
test_build(void **state)
{
	static const char text[] =
	    "# system aliases\n"
	    "postmaster: root\n"
	    "Root: alice,\n"
	    "      bob\n"
	    "log: \"|/usr/bin/logger -t mail, x\", /var/log/copy\n"
	    "\"a b\": alice\n"
	    "root: duplicate\n";
	const char *err = NULL, *v = NULL;
	struct strlist items;
	struct buf cap;
	struct stat st;
	struct dict *d;
	char spec[300], db[300];

	write_file("aliases", text, 0640);
	snprintf(spec, sizeof(spec), "hash:%s", tpath("aliases"));
	snprintf(db, sizeof(db), "%s.db", tpath("aliases"));
	buf_init(&cap, 0);
	log_capture(&cap);
	assert_int_equal(aliases_build(tpath("aliases"), &err), 0);
	log_capture(NULL);
	expect_error(cap.data, "/aliases, line 7: duplicate entry \"root\": "
	    "keeping the first one");
	buf_release(&cap);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	d = dict_open(spec, &err);
	assert_non_null(d);
	assert_int_equal(dict_lookup(d, "POSTMASTER", &v, &err), 1);
	assert_string_equal(v, "root");
	assert_int_equal(dict_lookup(d, "root", &v, &err), 1);
	assert_string_equal(v, "alice, bob");
	assert_int_equal(dict_lookup(d, "a b", &v, &err), 1);
	assert_string_equal(v, "alice");
	assert_int_equal(dict_lookup(d, "log", &v, &err), 1);
	assert_string_equal(v, "\"|/usr/bin/logger -t mail, x\", "
	    "/var/log/copy");
	strlist_init(&items);
	assert_int_equal(aliases_split_value(v, &items, &err), 2);
	assert_string_equal(items.v[0], "|/usr/bin/logger -t mail, x");
	assert_string_equal(items.v[1], "/var/log/copy");
	strlist_release(&items);
	assert_int_equal(dict_lookup(d, "nobody", &v, &err), 0);
	dict_close(d);

	/* A broken file fails and leaves the old table. */
	write_file("aliases", "postmaster: admin\nbroken line\n", 0640);
	assert_int_equal(aliases_build(tpath("aliases"), &err), -1);
	expect_error(err, "/aliases, line 2: expected \"name: value\"");
	d = dict_open(spec, &err);
	assert_non_null(d);
	assert_int_equal(dict_lookup(d, "postmaster", &v, &err), 1);
	assert_string_equal(v, "root");
	dict_close(d);
	assert_int_equal(access(tpath("aliases.db.tmp.1"), F_OK), -1);

	assert_int_equal(aliases_build(tpath("missing"), &err), -1);
	expect_error(err, "No such file");
}

static void
test_parse_file(void **state)
{
	struct aliases_list l;
	const char *err = NULL;

	write_file("f", "a: b\n", 0644);
	aliases_list_init(&l);
	assert_int_equal(aliases_parse_file(tpath("f"), &l, &err), 0);
	assert_int_equal(l.n, 1);
	/* Parsing a second source into the same list still drops dups. */
	write_file("g", "A: c\nd: e\n", 0644);
	assert_int_equal(aliases_parse_file(tpath("g"), &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].items.v[0], "b");
	assert_string_equal(l.v[1].name, "d");
	assert_int_equal(aliases_parse_file(tpath("none"), &l, &err), -1);
	expect_error(err, "No such file");
	aliases_list_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_syntax),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_nul_and_long_name),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_join_split),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_parse_file),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
