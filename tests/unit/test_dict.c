/*
 * Unit tests for src/global/dict (every table type), mapsrc (the source
 * format) and dict_lmdb (building), plus src/lib/strmap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "dict.h"
#include "file.h"
#include "log.h"
#include "mapsrc.h"
#include "str.h"
#include "strmap.h"

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ulak-test-dict-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* "<tmpdir>/NAME" in one of a few static slots. */
static const char *
tpath(const char *name)
{
	static char slots[4][256];
	static unsigned next;
	char *s = slots[next++ % 4];

	snprintf(s, sizeof(slots[0]), "%s/%s", tmpdir, name);
	return s;
}

static const char *
tspec(const char *type, const char *name)
{
	static char slots[4][300];
	static unsigned next;
	char *s = slots[next++ % 4];

	snprintf(s, sizeof(slots[0]), "%s:%s/%s", type, tmpdir, name);
	return s;
}

static void
write_file(const char *name, const char *text)
{
	const char *err = NULL;

	assert_int_equal(file_write_atomic(tpath(name), text, strlen(text),
	    0644, &err), 0);
}

static void
set_mtime(const char *path, time_t t)
{
	struct timeval tv[2];

	tv[0].tv_sec = tv[1].tv_sec = t;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(path, tv), 0);
}

/* Look KEY up and compare with WANT (NULL: not found). */
static void
expect_lookup(struct dict *d, const char *key, const char *want)
{
	const char *value = NULL, *err = NULL;
	int r = dict_lookup(d, key, &value, &err);

	if (want == NULL) {
		if (r != 0)
			fail_msg("%s: %s: expected no entry, got %d (%s)",
			    dict_spec(d), key, r, r == 1 ? value : err);
		return;
	}
	if (r != 1)
		fail_msg("%s: %s: expected \"%s\", got %d (%s)", dict_spec(d),
		    key, want, r, r < 0 ? err : "not found");
	assert_string_equal(value, want);
}

static void
expect_error(const char *got, const char *want)
{
	if (got == NULL || strstr(got, want) == NULL)
		fail_msg("expected an error containing \"%s\", got \"%s\"",
		    want, got == NULL ? "(null)" : got);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

/* --- strmap ---------------------------------------------------------- */

static int
strmap_concat(void *ctx, const char *key, const char *value)
{
	buf_printf(ctx, "%s=%s;", key, value);
	return 0;
}

static void
test_strmap(void **state)
{
	struct strmap *m = strmap_new();
	struct buf b;
	char key[32];

	assert_int_equal(strmap_add(m, "a", "1"), 1);
	assert_int_equal(strmap_add(m, "b", "2"), 1);
	assert_int_equal(strmap_add(m, "a", "3"), 0);
	assert_string_equal(strmap_get(m, "a"), "1");
	assert_null(strmap_get(m, "c"));
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(strmap_add(m, key, key + 1), 1);
	}
	assert_int_equal(strmap_count(m), 10002);
	assert_string_equal(strmap_get(m, "k9999"), "9999");
	assert_string_equal(strmap_get(m, "b"), "2");
	strmap_free(m);

	m = strmap_new();
	strmap_add(m, "x", "1");
	strmap_add(m, "y", "2");
	buf_init(&b, 0);
	assert_int_equal(strmap_foreach(m, strmap_concat, &b), 0);
	assert_string_equal(b.data, "x=1;y=2;");
	buf_release(&b);
	strmap_free(m);
	strmap_free(NULL);
}

/* --- mapsrc ---------------------------------------------------------- */

static void
test_mapsrc_entries(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "Key1   value one  \n"
	    "key2\tvalue,\n"
	    "  continued\n"
	    "   # an indented comment does not end the line\n"
	    "\tagain\n"
	    "   \n"
	    "key3 v3\r\n"
	    "key4 last";
	static const struct {
		const char *key, *value;
		unsigned long line;
	} want[] = {
		{ "Key1", "value one", 3 },
		{ "key2", "value,  continued\tagain", 4 },
		{ "key3", "v3", 9 },
		{ "key4", "last", 10 },
	};
	struct mapsrc *src = mapsrc_open_text("t", text, strlen(text));
	const char *err = NULL;
	unsigned long lineno;
	char *key, *value;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(mapsrc_read_entry(src, &key, &value, &lineno,
		    &err), 1);
		assert_string_equal(key, want[i].key);
		assert_string_equal(value, want[i].value);
		assert_int_equal(lineno, want[i].line);
	}
	assert_int_equal(mapsrc_read_entry(src, &key, &value, &lineno, &err),
	    0);
	assert_int_equal(mapsrc_read_entry(src, &key, &value, &lineno, &err),
	    0);
	mapsrc_close(src);
	mapsrc_close(NULL);
}

static void
test_mapsrc_errors(void **state)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen */
		const char *err;
	} cases[] = {
		{ "a b\nkeyonly\n", 0, "src, line 2: expected format: key "
		    "whitespace value" },
		{ "a b\n\nkeyonly   \n", 0, "src, line 3: expected format" },
		{ "  leading continuation\n", 0, "src, line 1: continuation "
		    "line without a line before it" },
		{ "a b\nc\0d\n", 8, "src, line 2: NUL byte in line" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].text);
		struct mapsrc *src = mapsrc_open_text("src", cases[i].text,
		    len);
		const char *err = NULL;
		unsigned long lineno;
		char *key, *value;
		int r;

		while ((r = mapsrc_read_entry(src, &key, &value, &lineno,
		    &err)) > 0)
			;
		assert_int_equal(r, -1);
		expect_error(err, cases[i].err);
		mapsrc_close(src);
	}
}

static void
test_mapsrc_file(void **state)
{
	const char *err = NULL;
	unsigned long lineno;
	struct mapsrc *src;
	char *line;
	size_t len;

	assert_null(mapsrc_open(tpath("nonexistent"), &err));
	expect_error(err, "No such file");
	write_file("lines", "one\n  two\nthree");
	src = mapsrc_open(tpath("lines"), &err);
	assert_non_null(src);
	assert_int_equal(mapsrc_read_line(src, &line, &len, &lineno, &err), 1);
	assert_string_equal(line, "one  two");
	assert_int_equal(len, 8);
	assert_int_equal(mapsrc_read_line(src, &line, &len, &lineno, &err), 1);
	assert_string_equal(line, "three");
	assert_int_equal(lineno, 3);
	assert_int_equal(mapsrc_read_line(src, &line, &len, &lineno, &err), 0);
	mapsrc_close(src);
}

/* --- hash: and lmdb: ------------------------------------------------- */

static void
check_built(const char *type, const char *suffix)
{
	const char *err = NULL;
	char db[256];
	struct stat st;
	struct dict *d;
	char *path;

	write_file("map", "# virtual\n"
	    "Alice@Example.COM   alice\n"
	    "bob@example.com\tbob, \n"
	    "    robert\n"
	    "@example.org   catchall@example.com\n");
	assert_int_equal(chmod(tpath("map"), 0640), 0);
	assert_int_equal(dict_build(tspec(type, "map"), &err), 0);
	snprintf(db, sizeof(db), "%s%s", tpath("map"), suffix);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(tmpdir), 0);
	path = dict_build_path(tspec(type, "map"), &err);
	assert_string_equal(path, db);
	free(path);

	d = dict_open(tspec(type, "map"), &err);
	assert_non_null(d);
	assert_string_equal(dict_spec(d), tspec(type, "map"));
	expect_lookup(d, "alice@example.com", "alice");
	expect_lookup(d, "ALICE@EXAMPLE.COM", "alice");
	expect_lookup(d, "bob@example.com", "bob,    robert");
	expect_lookup(d, "@example.org", "catchall@example.com");
	expect_lookup(d, "carol@example.com", NULL);
	expect_lookup(d, "", NULL);
	assert_false(dict_is_stale(d, &err));
	assert_false(dict_file_changed(d));
	dict_close(d);
}

static void
test_hash_build_lookup(void **state)
{
	check_built("hash", ".db");
}

static void
test_lmdb_build_lookup(void **state)
{
	check_built("lmdb", ".lmdb");
}

static void
test_build_errors(void **state)
{
	const char *err = NULL;
	struct dict *d;
	char longkey[600];

	write_file("bad", "good value\n");
	assert_int_equal(dict_build(tspec("hash", "bad"), &err), 0);
	/* A bad line fails the build and leaves the old file in use. */
	write_file("bad", "a b\n# c\nc d\nlonely\ne f\n");
	assert_int_equal(dict_build(tspec("hash", "bad"), &err), -1);
	expect_error(err, "/bad, line 4: expected format: key whitespace "
	    "value");
	assert_int_equal(count_entries(tmpdir), 0);
	d = dict_open(tspec("hash", "bad"), &err);
	assert_non_null(d);
	expect_lookup(d, "good", "value");
	expect_lookup(d, "a", NULL);
	dict_close(d);

	memset(longkey, 'k', sizeof(longkey) - 3);
	memcpy(longkey + sizeof(longkey) - 3, " v", 3);
	write_file("longkey", longkey);
	assert_int_equal(dict_build(tspec("lmdb", "longkey"), &err), -1);
	expect_error(err, "/longkey, line 1: key too long");

	assert_int_equal(dict_build(tspec("hash", "nonexistent"), &err), -1);
	expect_error(err, "No such file");
	assert_int_equal(dict_build(tspec("texthash", "bad"), &err), -1);
	expect_error(err, "only hash: and lmdb: tables are built");
	assert_int_equal(dict_build("hash:", &err), -1);
	expect_error(err, "missing name");
	assert_int_equal(dict_build("nocolon", &err), -1);
	expect_error(err, "expected type:name");
}

static void
test_build_large_and_dups(void **state)
{
	const char *err = NULL, *v;
	char key[64], want[64];
	struct buf cap;
	struct dict *d;
	FILE *f;

	/* Larger than the writer's first map size and batch: it must grow. */
	f = fopen(tpath("large"), "w");
	assert_non_null(f);
	for (int i = 0; i < 60000; i++)
		fprintf(f, "key%d value-%d-%s\n", i, i,
		    "padding-padding-padding-padding-padding-padding");
	fprintf(f, "KEY7 duplicate\n");
	fclose(f);
	buf_init(&cap, 0);
	log_capture(&cap);
	assert_int_equal(dict_build(tspec("hash", "large"), &err), 0);
	log_capture(NULL);
	expect_error(cap.data, "/large, line 60001: duplicate entry \"key7\": "
	    "keeping the first one");
	buf_release(&cap);
	d = dict_open(tspec("hash", "large"), &err);
	assert_non_null(d);
	for (int i = 0; i < 60000; i += 997) {
		snprintf(key, sizeof(key), "KEY%d", i);
		snprintf(want, sizeof(want), "value-%d-", i);
		assert_int_equal(dict_lookup(d, key, &v, &err), 1);
		assert_true(str_has_prefix(v, want));
	}
	expect_lookup(d, "key7", "value-7-padding-padding-padding-padding-"
	    "padding-padding");
	dict_close(d);

	/* A 3 MB value on one line (LMDB overflow pages, map growth). */
	f = fopen(tpath("bigvalue"), "w");
	assert_non_null(f);
	fputs("small 1\nbig ", f);
	for (int i = 0; i < 300000; i++)
		fputs("0123456789", f);
	fputs("\nafter 2\n", f);
	fclose(f);
	assert_int_equal(dict_build(tspec("lmdb", "bigvalue"), &err), 0);
	d = dict_open(tspec("lmdb", "bigvalue"), &err);
	assert_non_null(d);
	assert_int_equal(dict_lookup(d, "big", &v, &err), 1);
	assert_int_equal(strlen(v), 3000000);
	assert_string_equal(v + 2999990, "0123456789");
	expect_lookup(d, "after", "2");
	dict_close(d);

	/* An empty source builds an empty table. */
	write_file("empty", "# nothing\n");
	assert_int_equal(dict_build(tspec("lmdb", "empty"), &err), 0);
	d = dict_open(tspec("lmdb", "empty"), &err);
	assert_non_null(d);
	expect_lookup(d, "x", NULL);
	dict_close(d);
}

static void
test_stale_and_changed(void **state)
{
	const char *err = NULL, *why = NULL;
	struct dict *d;
	char db[256];

	write_file("st", "k old\n");
	assert_int_equal(dict_build(tspec("hash", "st"), &err), 0);
	snprintf(db, sizeof(db), "%s.db", tpath("st"));
	set_mtime(tpath("st"), 1000000000);
	set_mtime(db, 1000000100);
	d = dict_open(tspec("hash", "st"), &err);
	assert_non_null(d);
	assert_false(dict_is_stale(d, &why));
	set_mtime(tpath("st"), 1000000200);
	why = NULL;
	assert_true(dict_is_stale(d, &why));
	expect_error(why, "is newer than");
	expect_error(why, "ulak map");

	/* A rebuild replaces the file; the open table still reads the old. */
	write_file("st", "k new\n");
	assert_false(dict_file_changed(d));
	assert_int_equal(dict_build(tspec("hash", "st"), &err), 0);
	assert_true(dict_file_changed(d));
	expect_lookup(d, "k", "old");
	assert_false(dict_is_stale(d, &why));
	dict_close(d);
	d = dict_open(tspec("hash", "st"), &err);
	expect_lookup(d, "k", "new");
	/* Without its source a table is never stale. */
	assert_int_equal(unlink(tpath("st")), 0);
	assert_false(dict_is_stale(d, &why));
	dict_close(d);

	/* Other types are never stale. */
	d = dict_open("static:x", &err);
	assert_false(dict_is_stale(d, &why));
	assert_false(dict_file_changed(d));
	dict_close(d);
}

static void
test_hash_open_errors(void **state)
{
	const char *err = NULL;

	assert_null(dict_open(tspec("hash", "nothere"), &err));
	expect_error(err, "nothere.db: No such file");
	expect_error(err, "ulak map");
	write_file("notlmdb.db", "this is not an LMDB file at all, but text"
	    " long enough to look at ............................\n");
	write_file("notlmdb", "a b\n");
	assert_null(dict_open(tspec("hash", "notlmdb"), &err));
	expect_error(err, "notlmdb.db");
}

/* --- texthash, passwd-file ------------------------------------------- */

static void
test_texthash(void **state)
{
	static const char text[] = "One 1\nTWO two\n  words\none again\n";
	const char *err = NULL;
	struct buf cap;
	struct dict *d;

	buf_init(&cap, 0);
	log_capture(&cap);
	d = dict_open_text("texthash", "th", text, strlen(text), &err);
	log_capture(NULL);
	assert_non_null(d);
	expect_error(cap.data, "th, line 4: duplicate entry \"one\"");
	buf_release(&cap);
	assert_string_equal(dict_spec(d), "texthash:th");
	expect_lookup(d, "one", "1");
	expect_lookup(d, "ONE", "1");
	expect_lookup(d, "two", "two  words");
	expect_lookup(d, "three", NULL);
	dict_close(d);

	write_file("th", text);
	d = dict_open(tspec("texthash", "th"), &err);
	assert_non_null(d);
	expect_lookup(d, "Two", "two  words");
	dict_close(d);

	write_file("thbad", "a b\nc\n");
	assert_null(dict_open(tspec("texthash", "thbad"), &err));
	expect_error(err, "/thbad, line 2: expected format");
	assert_null(dict_open(tspec("texthash", "none"), &err));
	expect_error(err, "No such file");
	assert_null(dict_open_text("static", "x", "", 0, &err));
	expect_error(err, "cannot be read from text");
}

static void
test_passwd_file(void **state)
{
	static const char text[] =
	    "# users\n"
	    "Alice:{CRYPT}$6$x:1000:1000:Alice A:/home/alice:/bin/sh\n"
	    "bob:x:1001:1001::/home/bob:\n";
	const char *err = NULL;
	struct dict *d;

	write_file("passwd", text);
	d = dict_open(tspec("passwd-file", "passwd"), &err);
	assert_non_null(d);
	expect_lookup(d, "alice", "Alice:{CRYPT}$6$x:1000:1000:Alice A:"
	    "/home/alice:/bin/sh");
	expect_lookup(d, "BOB", "bob:x:1001:1001::/home/bob:");
	expect_lookup(d, "carol", NULL);
	dict_close(d);

	assert_null(dict_open_text("passwd-file", "pw", "alice\n", 6, &err));
	expect_error(err, "pw, line 1: expected name:password");
	assert_null(dict_open_text("passwd-file", "pw", "a:b\n:x\n", 7, &err));
	expect_error(err, "pw, line 2: expected name:password");
}

/* --- inline, static -------------------------------------------------- */

static void
test_inline(void **state)
{
	static const struct {
		const char *spec, *key, *want;
	} cases[] = {
		{ "inline:{ k=v, k2 = v2, { key = value with, comma } }", "k",
		    "v" },
		{ "inline:{ k=v, k2 = v2, { key = value with, comma } }", "K2",
		    "v2" },
		{ "inline:{ k=v, k2 = v2, { key = value with, comma } }", "key",
		    "value with, comma" },
		{ "inline:{ k=v, k2 = v2, { key = value with, comma } }", "v",
		    NULL },
		{ "inline:{a=1 b=2}", "b", "2" },
		{ "inline:{ a= 1, b =2 }", "a", "1" },
		{ "inline:{ a= 1, b =2 }", "b", "2" },
		{ "inline:{ { n = { inner, braces } } }", "n",
		    "{ inner, braces }" },
		{ "inline:{ x={ braced value }, y=z }", "x", "braced value" },
		{ "inline:{ x={ braced value }, y=z }", "y", "z" },
		{ "inline:{ a=first, A=second }", "a", "first" },
		{ "  inline:{ a=b }", NULL, NULL },
	};
	static const struct {
		const char *spec, *err;
	} bad[] = {
		{ "inline:a=b", "expected inline:{ key=value" },
		{ "inline:{ a=b", "expected inline:{ key=value" },
		{ "inline:{ k }", "expected key=value, not \"k\"" },
		{ "inline:{ =v }", "expected key=value, not \"=v\"" },
		{ "inline:{ k= }", "expected key=value" },
		{ "inline:{ { k=v }", "missing '}'" },
		{ "inline:{ k=v } }", "unexpected '}'" },
		{ "inline:{ }", "empty table" },
		{ "inline:{ {a} }", "expected key=value, not \"{a}\"" },
		{ "inline:", "missing name" },
	};
	const char *err = NULL;
	struct dict *d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].key == NULL)
			continue;
		d = dict_open(cases[i].spec, &err);
		if (d == NULL)
			fail_msg("%s: %s", cases[i].spec, err);
		expect_lookup(d, cases[i].key, cases[i].want);
		dict_close(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		d = dict_open(bad[i].spec, &err);
		if (d != NULL)
			fail_msg("%s: accepted", bad[i].spec);
		expect_error(err, bad[i].err);
	}
}

static void
test_static(void **state)
{
	const char *err = NULL;
	struct dict *d;

	d = dict_open("static:OK", &err);
	assert_non_null(d);
	expect_lookup(d, "anything", "OK");
	expect_lookup(d, "", "OK");
	dict_close(d);
	d = dict_open("static:{ value with spaces }", &err);
	assert_non_null(d);
	expect_lookup(d, "x", "value with spaces");
	dict_close(d);
	assert_null(dict_open("static:", &err));
	expect_error(err, "needs a value");
	assert_null(dict_open("static:{ }", &err));
	expect_error(err, "needs a value");
	assert_null(dict_open("static:{ x", &err));
	expect_error(err, "missing '}'");
}

/* --- regexp, pcre ---------------------------------------------------- */

static const char re_table[] =
    "# a table that works for regexp: and pcre:\n"
    "/^(.*)@old\\.example$/           $1@new.example\n"
    "/^user-([a-z]+)-([0-9]+)$/       ${2}:$(1) costs $$5\n"
    "/^Case$/i                        case-sensitive hit\n"
    "/^case$/                         case-insensitive hit\n"
    "|^a/b|                           slash inside\n"
    "!/@/                             no-at-sign\n"
    "if /@domain\\.test$/\n"
    "if !/^postmaster@/\n"
    "/^x/                             inner x\n"
    "endif\n"
    "/^post/                          post in domain\n"
    "ENDIF\n"
    "/^ s p a c e d @/x               extended\n"
    "/^line1$/m                       multi-line\n"
    "/^dot.all@/s                     dotall\n"
    "/^long@/\n"
    "  continued result\n"
    "/(unused)?tail@(.*)/             [$1][$2]\n";

static void
check_re_table(const char *type)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
		{ "joe@old.example", "joe@new.example" },
		{ "JOE@OLD.EXAMPLE", "JOE@new.example" },
		{ "user-abc-42", "42:abc costs $5" },
		{ "Case", "case-sensitive hit" },
		{ "CASE", "case-insensitive hit" },
		{ "a/b@x", "slash inside" },
		{ "nodomain", "no-at-sign" },
		{ "x@domain.test", "inner x" },
		{ "xpostmaster@domain.test", "inner x" },
		{ "postmaster@domain.test", "post in domain" },
		{ "x@other.test", NULL },
		{ "spaced@z", "extended" },
		{ "line0\nline1\nline2@z", "multi-line" },
		{ "dot\nall@z", "dotall" },
		{ "long@z", "continued result" },
		{ "tail@end", "[][end]" },
	};
	const char *err = NULL;
	struct buf cap;
	struct dict *d;
	char name[32];

	snprintf(name, sizeof(name), "re-%s", type);
	write_file(name, re_table);
	d = dict_open(tspec(type, name), &err);
	if (d == NULL)
		fail_msg("%s: %s", type, err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_lookup(d, cases[i].key, cases[i].want);
	dict_close(d);

	buf_init(&cap, 0);
	log_capture(&cap);
	d = dict_open_text(type, "r", "/x/\n", 4, &err);
	log_capture(NULL);
	assert_non_null(d);
	expect_error(cap.data, "r, line 1: no result after the pattern");
	expect_lookup(d, "x", "");
	expect_lookup(d, "y", NULL);
	dict_close(d);
	buf_release(&cap);
}

static void
test_regexp_tables(void **state)
{
	check_re_table("regexp");
	check_re_table("pcre");
}

static void
test_regexp_errors(void **state)
{
	static const struct {
		const char *type, *text, *err;
	} cases[] = {
		{ "regexp", "/a/ x\n/(b/ y\n", "r, line 2: bad pattern: missing "
		    "closing parenthesis" },
		{ "regexp", "/a/q x\n", "r, line 1: unknown pattern flag 'q'" },
		{ "regexp", "/a/A x\n", "r, line 1: unknown pattern flag 'A'" },
		{ "pcre", "/a/A x\n", NULL },
		{ "pcre", "/(a)/ $2\n", "r, line 1: $2: out of range (the "
		    "pattern has 1 groups)" },
		{ "pcre", "!/(a)/ $1\n", "r, line 1: $number in the result of "
		    "a negated pattern" },
		{ "pcre", "/a/ $x\n", "r, line 1: bad $ in result" },
		{ "pcre", "/a/ ${1\n", "r, line 1: bad $ in result" },
		{ "pcre", "/a/ cost $\n", "r, line 1: bad $ in result" },
		{ "pcre", "/a/ x\nendif\n", "r, line 2: endif without if" },
		{ "pcre", "if /a/\nif /b/\nendif\n", "r, line 1: if without "
		    "endif" },
		{ "pcre", "if /a/ result\nendif\n", "r, line 1: text after the "
		    "pattern of if" },
		{ "pcre", "/abc x\n", "r, line 1: missing closing delimiter "
		    "'/'" },
		{ "pcre", "\\abc\\ x\n", "r, line 1: a backslash cannot" },
		{ "pcre", "!\n", "r, line 1: missing pattern" },
		{ "regexp", "  /a/ x\n", "r, line 1: continuation line" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;
		struct dict *d = dict_open_text(cases[i].type, "r",
		    cases[i].text, strlen(cases[i].text), &err);

		if (cases[i].err == NULL) {
			if (d == NULL)
				fail_msg("%s: %s", cases[i].text, err);
			dict_close(d);
			continue;
		}
		if (d != NULL)
			fail_msg("%s: accepted", cases[i].text);
		expect_error(err, cases[i].err);
	}
}

static void
test_regexp_misc(void **state)
{
	static const char text[] =
	    "/^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)$/ $10-$9-$1\n"
	    "/\\/x/ escaped delimiter\n"
	    "if !/^skip/\n"
	    "/^s/ not skipped\n"
	    "endif trailing text warns\n"
	    "/^anch/A anchored\n"
	    "/a+?/U greedy $0\n";
	const char *err = NULL;
	struct buf cap;
	struct dict *d;

	buf_init(&cap, 0);
	log_capture(&cap);
	d = dict_open_text("pcre", "m", text, strlen(text), &err);
	log_capture(NULL);
	if (d == NULL)
		fail_msg("%s", err);
	expect_error(cap.data, "m, line 5: ignoring text after endif");
	buf_release(&cap);
	expect_lookup(d, "abcdefghij", "j-i-a");
	expect_lookup(d, "a/x", "escaped delimiter");
	expect_lookup(d, "sa", "not skipped");
	expect_lookup(d, "skip", NULL);
	expect_lookup(d, "anchor", "anchored");
	expect_lookup(d, "baaa", "greedy aaa");
	dict_close(d);

	/* Catastrophic backtracking is cut off and counts as no match. */
	d = dict_open_text("pcre", "bt", "/^(a+)+$/ never\n", 16, &err);
	assert_non_null(d);
	{
		char key[64];

		memset(key, 'a', sizeof(key) - 2);
		key[sizeof(key) - 2] = 'b';
		key[sizeof(key) - 1] = '\0';
		buf_init(&cap, 0);
		log_capture(&cap);
		expect_lookup(d, key, NULL);
		log_capture(NULL);
		expect_error(cap.data, "bt, line 1: matching failed");
		buf_release(&cap);
	}
	dict_close(d);
}

/* --- unix ------------------------------------------------------------ */

static void
test_unix(void **state)
{
	const char *err = NULL, *v = NULL;
	struct dict *d;

	d = dict_open("unix:passwd.byname", &err);
	assert_non_null(d);
	assert_int_equal(dict_lookup(d, "root", &v, &err), 1);
	assert_true(str_has_prefix(v, "root:"));
	assert_non_null(strstr(v, ":0:0:"));
	assert_int_equal(dict_lookup(d, "ROOT", &v, &err), 1);
	assert_true(str_has_prefix(v, "root:"));
	expect_lookup(d, "no-such-user-ulak-test", NULL);
	expect_lookup(d, "", NULL);
	dict_close(d);

	d = dict_open("unix:group.byname", &err);
	assert_non_null(d);
	assert_int_equal(dict_lookup(d, "root", &v, &err), 1);
	assert_true(str_has_prefix(v, "root:"));
	assert_non_null(strstr(v, ":0:"));
	dict_close(d);

	/* proxy: is accepted and ignored (there is no proxymap). */
	d = dict_open("proxy:unix:passwd.byname", &err);
	assert_non_null(d);
	assert_string_equal(dict_spec(d), "proxy:unix:passwd.byname");
	assert_int_equal(dict_lookup(d, "root", &v, &err), 1);
	dict_close(d);
	assert_null(dict_open("proxy:nosuch:x", &err));
	expect_error(err, "unknown table type \"nosuch\"");
	assert_null(dict_open("proxy:", &err));
	expect_error(err, "unknown table type \"proxy\"");

	assert_null(dict_open("unix:shadow.byname", &err));
	expect_error(err, "passwd.byname and group.byname only");
}

/* --- specs, maps, iteration ------------------------------------------ */

static void
test_bad_specs(void **state)
{
	static const struct {
		const char *spec, *err;
	} cases[] = {
		{ "nosuchtype:/x", "unknown table type \"nosuchtype\"" },
		{ "averyveryveryveryverylongtypename:/x", "unknown table type" },
		{ "/etc/aliases", "expected type:name" },
		{ ":x", "expected type:name" },
		{ "hash:", "missing name" },
		{ "regexp:", "missing name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;

		assert_null(dict_open(cases[i].spec, &err));
		expect_error(err, cases[i].err);
	}
}

static void
test_maps(void **state)
{
	const char *err = NULL, *v = NULL;
	struct maps *m;
	char list[1024];

	write_file("m1", "a from-m1\n");
	write_file("m2", "a from-m2\nb from-m2\n");
	assert_int_equal(dict_build(tspec("hash", "m1"), &err), 0);
	snprintf(list, sizeof(list), "%s, %s\n\tinline:{ c=3, { d = 4, 5 } } "
	    "static:{ last resort }", tspec("hash", "m1"),
	    tspec("texthash", "m2"));
	m = maps_open(list, &err);
	if (m == NULL)
		fail_msg("%s", err);
	assert_int_equal(maps_count(m), 4);
	assert_string_equal(dict_spec(maps_dict(m, 2)),
	    "inline:{ c=3, { d = 4, 5 } }");
	assert_null(maps_dict(m, 4));
	assert_int_equal(maps_lookup(m, "A", &v, &err), 1);
	assert_string_equal(v, "from-m1");
	assert_int_equal(maps_lookup(m, "b", &v, &err), 1);
	assert_string_equal(v, "from-m2");
	assert_int_equal(maps_lookup(m, "d", &v, &err), 1);
	assert_string_equal(v, "4, 5");
	assert_int_equal(maps_lookup(m, "zzz", &v, &err), 1);
	assert_string_equal(v, "last resort");
	maps_close(m);

	m = maps_open("", &err);
	assert_non_null(m);
	assert_int_equal(maps_count(m), 0);
	assert_int_equal(maps_lookup(m, "a", &v, &err), 0);
	maps_close(m);

	snprintf(list, sizeof(list), "%s, nosuch:x", tspec("hash", "m1"));
	assert_null(maps_open(list, &err));
	expect_error(err, "unknown table type \"nosuch\"");
	assert_null(maps_open("inline:{ a=b", &err));
	expect_error(err, "missing '}'");
	maps_close(NULL);
}

static int
collect(void *ctx, const char *key, const char *value)
{
	buf_printf(ctx, "%s=%s;", key, value);
	return 0;
}

static int
stop_at_b(void *ctx, const char *key, const char *value)
{
	buf_printf(ctx, "%s;", key);
	return strcmp(key, "b") == 0 ? 7 : 0;
}

static void
test_iterate(void **state)
{
	const char *err = NULL;
	struct dict *d;
	struct buf b;

	buf_init(&b, 0);
	write_file("it", "C 3\nA 1\nb 2\n");
	assert_int_equal(dict_build(tspec("hash", "it"), &err), 0);
	d = dict_open(tspec("hash", "it"), &err);
	assert_int_equal(dict_iterate(d, collect, &b, &err), 0);
	assert_string_equal(b.data, "a=1;b=2;c=3;");
	buf_reset(&b);
	assert_int_equal(dict_iterate(d, stop_at_b, &b, &err), 7);
	assert_string_equal(b.data, "a;b;");
	dict_close(d);

	buf_reset(&b);
	d = dict_open(tspec("texthash", "it"), &err);
	assert_int_equal(dict_iterate(d, collect, &b, &err), 0);
	assert_string_equal(b.data, "c=3;a=1;b=2;");
	dict_close(d);

	d = dict_open("static:x", &err);
	assert_int_equal(dict_iterate(d, collect, &b, &err), -1);
	expect_error(err, "cannot be listed");
	dict_close(d);
	dict_close(NULL);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_mapsrc_entries),
		cmocka_unit_test(test_mapsrc_errors),
		cmocka_unit_test(test_mapsrc_file),
		cmocka_unit_test(test_hash_build_lookup),
		cmocka_unit_test(test_lmdb_build_lookup),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_build_large_and_dups),
		cmocka_unit_test(test_stale_and_changed),
		cmocka_unit_test(test_hash_open_errors),
		cmocka_unit_test(test_texthash),
		cmocka_unit_test(test_passwd_file),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_regexp_tables),
		cmocka_unit_test(test_regexp_errors),
		cmocka_unit_test(test_regexp_misc),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_iterate),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
