/* Unit tests for src/global/mbox, maildir and sys_exits (the pure parts
 * of local delivery). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "maildir.h"
#include "mbox.h"
#include "sys_exits.h"

/* Filter IN in chunks of CHUNK bytes; the output as a string. */
static char *
filter(const char *in, size_t chunk, bool quote, bool newline)
{
	struct mbox_filter f;
	struct buf out;
	size_t len = strlen(in);

	buf_init(&out, 0);
	mbox_filter_init(&f, quote);
	for (size_t i = 0; i < len; i += chunk)
		assert_int_equal(mbox_filter_feed(&f, in + i,
		    len - i < chunk ? len - i : chunk, &out), 0);
	assert_int_equal(mbox_filter_finish(&f, newline, &out), 0);
	char *r = strdup(out.data);
	buf_release(&out);
	return r;
}

static void
test_filter_table(void **state)
{
	static const struct {
		const char *in, *out;
		bool quote, newline;
	} t[] = {
		{ "a\r\nb\r\n", "a\nb\n", true, true },
		{ "From x\r\n", ">From x\n", true, true },
		{ "From x\r\n", "From x\n", false, true },
		{ "h: 1\r\n\r\nFrom me\r\nFrom\r\nFro\r\n From a\r\n",
		  "h: 1\n\n>From me\nFrom\nFro\n From a\n", true, true },
		{ ">From x\r\n", ">From x\n", true, true },
		{ "x From y\r\n", "x From y\n", true, true },
		{ "no end", "no end\n", true, true },
		{ "no end", "no end", true, false },
		{ "a\rb\r\n", "a\rb\n", true, true },	/* lone CR kept */
		{ "a\r", "a\n", true, true },
		{ "a\n\nFrom b", "a\n\n>From b\n", true, true },
		{ "Fr", "Fr\n", true, true },
		{ "", "", true, true },
		{ "\r\n\r\n", "\n\n", true, true },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (size_t chunk = 1; chunk <= 8; chunk++) {
			char *got = filter(t[i].in, chunk, t[i].quote,
			    t[i].newline);

			if (strcmp(got, t[i].out) != 0)
				fail_msg("case %zu chunk %zu: got \"%s\"", i,
				    chunk, got);
			free(got);
		}
}

static void
test_filter_max(void **state)
{
	struct mbox_filter f;
	struct buf out;

	buf_init(&out, 4);
	mbox_filter_init(&f, true);
	assert_int_equal(mbox_filter_feed(&f, "abcdefgh", 8, &out), -1);
	buf_release(&out);
}

static void
test_from_line(void **state)
{
	struct buf b;
	time_t when = 1700000000;
	char expect[128];
	struct tm tm;

	setenv("TZ", "UTC", 1);
	tzset();
	localtime_r(&when, &tm);
	buf_init(&b, 0);
	assert_int_equal(mbox_from_line(&b, "jane@example.org", when), 0);
	assert_string_equal(b.data,
	    "From jane@example.org Tue Nov 14 22:13:20 2023\n");
	buf_reset(&b);
	assert_int_equal(mbox_from_line(&b, "", when), 0);
	assert_string_equal(b.data,
	    "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n");
	buf_reset(&b);
	/* White space and controls cannot split or end the line. */
	assert_int_equal(mbox_from_line(&b, "a b\nc@x", when), 0);
	snprintf(expect, sizeof(expect), "From a_b_c@x Tue Nov 14 "
	    "22:13:20 2023\n");
	assert_string_equal(b.data, expect);
	buf_release(&b);
	buf_init(&b, 10);
	assert_int_equal(mbox_from_line(&b, "jane@example.org", when), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_local_XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_dotlock(void **state)
{
	char box[128], lock[160];
	const char *error;
	struct stat st;
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	int fd;

	snprintf(box, sizeof(box), "%s/mbox", tmpdir);
	snprintf(lock, sizeof(lock), "%s.lock", box);
	assert_int_equal(mbox_dotlock_acquire(box, 500, 0, &error), 0);
	assert_int_equal(stat(lock, &st), 0);
	/* Held by someone else and fresh: give up after the timeout. */
	assert_int_equal(mbox_dotlock_acquire(box, 500, 0, &error), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(error, "held by another process"));
	/* Stale: taken over. */
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	assert_int_equal(mbox_dotlock_acquire(box, 500, 0, &error), 0);
	mbox_dotlock_release(box);
	assert_int_equal(stat(lock, &st), -1);
	/* A folder that does not exist: the create error comes back. */
	snprintf(box, sizeof(box), "%s/none/mbox", tmpdir);
	assert_int_equal(mbox_dotlock_acquire(box, 500, 0, &error), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(error, "create lock file"));
	/* fcntl lock on a file of ours. */
	snprintf(box, sizeof(box), "%s/mbox", tmpdir);
	fd = open(box, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(mbox_fcntl_lock(fd, 0, &error), 0);
	close(fd);
}

static void
test_maildir_names(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(maildir_unique_name(&b, 1700000000, 42, 1234, 7,
	    "mail.example.org"), 0);
	assert_string_equal(b.data,
	    "1700000000.M000042P1234Q7.mail.example.org");
	assert_int_equal(maildir_size_suffix(&b, 2048), 0);
	assert_string_equal(b.data,
	    "1700000000.M000042P1234Q7.mail.example.org,S=2048");
	buf_reset(&b);
	assert_int_equal(maildir_unique_name(&b, 1, 999999, 1, 1, "a/b:c"),
	    0);
	assert_string_equal(b.data, "1.M999999P1Q1.a\\057b\\072c");
	buf_reset(&b);
	assert_int_equal(maildir_unique_name(&b, 1, 0, 1, 1, ""), 0);
	assert_string_equal(b.data, "1.M000000P1Q1.localhost");
	buf_release(&b);
	buf_init(&b, 8);
	assert_int_equal(maildir_unique_name(&b, 1, 0, 1, 1, "host"), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_maildir_create(void **state)
{
	char md[128], sub[160];
	const char *error;
	struct stat st;
	int fd;

	snprintf(md, sizeof(md), "%s/Maildir", tmpdir);
	assert_int_equal(maildir_create(md, 0700, &error), 0);
	assert_int_equal(maildir_create(md, 0700, &error), 0);	/* again */
	for (const char *const *s = (const char *const[]){ "tmp", "new",
	    "cur", NULL }; *s; s++) {
		snprintf(sub, sizeof(sub), "%s/%s", md, *s);
		assert_int_equal(stat(sub, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	/* new/ is a file: not a Maildir. */
	snprintf(md, sizeof(md), "%s/Bad", tmpdir);
	assert_int_equal(mkdir(md, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/new", md);
	fd = open(sub, O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(maildir_create(md, 0700, &error), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(error, "Bad/new"));
	/* Parent missing. */
	snprintf(md, sizeof(md), "%s/no/Maildir", tmpdir);
	assert_int_equal(maildir_create(md, 0700, &error), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_sys_exits(void **state)
{
	static const struct {
		int status;
		const char *dsn;
		bool soft;
	} t[] = {
		{ 64, "5.3.0", false }, { 65, "5.6.0", false },
		{ 67, "5.1.1", false }, { 68, "5.1.2", false },
		{ 69, "5.3.0", false }, { 71, "4.3.0", true },
		{ 73, "5.2.0", false }, { 75, "4.3.0", true },
		{ 77, "5.7.0", false }, { 78, "5.3.5", false },
		{ 1, "5.3.0", false }, { 63, "5.3.0", false },
		{ 79, "5.3.0", false }, { 255, "5.3.0", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct sys_exits_detail *d = sys_exits_detail(t[i].status);

		assert_string_equal(d->dsn, t[i].dsn);
		assert_int_equal(sys_exits_soft(t[i].status), t[i].soft);
		assert_int_equal(sys_exits_known(t[i].status),
		    t[i].status >= 64 && t[i].status <= 78);
	}
	assert_string_equal(sys_exits_detail(75)->text, "temporary failure");
	assert_string_equal(sys_exits_detail(67)->text, "user unknown");
	assert_string_equal(sys_exits_detail(2)->text,
	    "unknown mail system error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_table),
		cmocka_unit_test(test_filter_max),
		cmocka_unit_test(test_from_line),
		cmocka_unit_test_setup_teardown(test_dotlock, setup_tmp,
		    teardown_tmp),
		cmocka_unit_test(test_maildir_names),
		cmocka_unit_test_setup_teardown(test_maildir_create, setup_tmp,
		    teardown_tmp),
		cmocka_unit_test(test_sys_exits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
