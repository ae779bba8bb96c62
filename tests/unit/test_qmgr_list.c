/* Unit tests for src/global/queue_list (mailq format) and queue_log
 * (bounce/defer logs). */
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

#include "buf.h"
#include "queue_list.h"
#include "queue_log.h"

static int
setup_tz(void **state)
{
	setenv("TZ", "UTC", 1);
	return 0;
}

static void
test_header_and_totals(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	queue_list_header(&b);
	assert_string_equal(b.data, "-Queue ID-  --Size-- ----Arrival Time---- "
	    "-Sender/Recipient-------\n");
	buf_reset(&b);
	queue_list_total(&b, 0, 0);
	assert_string_equal(b.data, "Mail queue is empty\n");
	buf_reset(&b);
	queue_list_total(&b, 1, 1);
	assert_string_equal(b.data, "-- 1 Kbytes in 1 Request.\n");
	buf_reset(&b);
	queue_list_total(&b, 2048, 3);
	assert_string_equal(b.data, "-- 2 Kbytes in 3 Requests.\n");
	buf_reset(&b);
	queue_list_total(&b, 2049, 3);
	assert_string_equal(b.data, "-- 3 Kbytes in 3 Requests.\n");
	buf_release(&b);
}

static void
test_entry_short_id(void **state)
{
	static const struct queue_list_rcpt rcpts[] = {
		{ "bob@example.com", NULL },
	};
	struct queue_list_entry e = { "ABCDEF", '*', 1234, 1700000000,
	    "jane@example.org", rcpts, 1 };
	struct buf b;

	buf_init(&b, 0);
	queue_list_entry(&b, &e);
	/* Columns as in the header: ID 11, size 8, time 20, sender at 42. */
	assert_string_equal(b.data,
	    "ABCDEF*         1234 Tue Nov 14 22:13:20  jane@example.org\n"
	    "                                          bob@example.com\n"
	    "\n");
	buf_release(&b);
}

static void
test_entry_reasons_grouped(void **state)
{
	static const struct queue_list_rcpt rcpts[] = {
		{ "a@x.example", "connect to x.example: refused" },
		{ "b@x.example", "connect to x.example: refused" },
		{ "c@y.example", "mailbox full" },
		{ "d@z.example", NULL },
	};
	struct queue_list_entry e = { "1GA4GC208J03NQK8N", ' ', 5, 1700000000,
	    "", rcpts, 4 };
	struct buf b;
	const char *pad;

	buf_init(&b, 0);
	queue_list_entry(&b, &e);
	/* A long ID pushes the columns; recipients follow the sender. */
	pad = "                                                ";
	{
		char want[2048];

		snprintf(want, sizeof(want),
		    "1GA4GC208J03NQK8N        5 Tue Nov 14 22:13:20  "
		    "MAILER-DAEMON\n"
		    "%s(connect to x.example: refused)\n"
		    "%sa@x.example\n%sb@x.example\n"
		    "%s(mailbox full)\n%sc@y.example\n%sd@z.example\n\n",
		    pad, pad, pad, pad, pad, pad);
		assert_string_equal(b.data, want);
	}
	buf_release(&b);
}

static void
test_entry_control_bytes(void **state)
{
	static const struct queue_list_rcpt rcpts[] = {
		{ "evil\033[2J@x.example", "bad\r\nreason" },
	};
	struct queue_list_entry e = { "ABC", '!', 0, 1700000000,
	    "s\n@x", rcpts, 1 };
	struct buf b;

	buf_init(&b, 0);
	queue_list_entry(&b, &e);
	assert_null(strchr(b.data, '\033'));
	assert_null(strchr(b.data, '\r'));
	assert_non_null(strstr(b.data, "ABC!"));
	assert_non_null(strstr(b.data, " s?@x\n"));
	assert_non_null(strstr(b.data, "(bad??reason)\n"));
	assert_non_null(strstr(b.data, "evil?[2J@x.example\n"));
	buf_release(&b);
}

static void
test_log_roundtrip(void **state)
{
	char dir[] = "/tmp/test_qlog.XXXXXX";
	struct buf path;
	struct queue_log log;
	const char *error = NULL;
	bool exists = true;
	struct queue_log_entry e1 = { 0, "a@x", "delayed", "4.2.0",
	    "busy\nnow %", 100 };
	struct queue_log_entry e2 = { 3, "d@x", "failed", "5.1.1",
	    "unknown", 200 };
	struct queue_log_entry e3 = { 0, "a@x", "delayed", "4.4.1",
	    "refused", 300 };
	FILE *f;

	assert_non_null(mkdtemp(dir));
	buf_init(&path, 0);
	buf_printf(&path, "%s/log", dir);

	/* Missing file: no entries, not an error. */
	assert_int_equal(queue_log_read(path.data, &log, &exists, &error), 0);
	assert_false(exists);
	assert_int_equal(log.n, 0);
	queue_log_release(&log);

	assert_int_equal(queue_log_append(path.data, &e1, false, &error), 0);
	assert_int_equal(queue_log_append(path.data, &e2, true, &error), 0);
	assert_int_equal(queue_log_append(path.data, &e3, false, &error), 0);
	assert_int_equal(queue_log_read(path.data, &log, &exists, &error), 0);
	assert_true(exists);
	assert_int_equal(log.n, 3);
	assert_string_equal(log.v[0].reason, "busy\nnow %");
	assert_int_equal(log.v[1].rcpt, 3);
	assert_string_equal(log.v[1].action, "failed");
	assert_int_equal(log.v[1].time, 200);
	assert_string_equal(queue_log_last(&log, 0)->dsn, "4.4.1");
	assert_null(queue_log_last(&log, 1));
	queue_log_release(&log);

	/* A cut last entry (crash mid-append) is dropped, the rest kept. */
	f = fopen(path.data, "a");
	assert_non_null(f);
	fputs("rcpt=9\naddress=z@x\naction=fail", f);
	fclose(f);
	assert_int_equal(queue_log_read(path.data, &log, NULL, &error), 0);
	assert_int_equal(log.n, 3);
	queue_log_release(&log);

	/* An entry without its fields ends the reading there. */
	unlink(path.data);
	f = fopen(path.data, "w");
	fputs("rcpt=1\naddress=a\n\n", f);
	fclose(f);
	assert_int_equal(queue_log_append(path.data, &e2, false, &error), 0);
	assert_int_equal(queue_log_read(path.data, &log, NULL, &error), 0);
	assert_int_equal(log.n, 0);
	queue_log_release(&log);

	/* Append into a missing folder fails with the path. */
	buf_reset(&path);
	buf_printf(&path, "%s/nofolder/log", dir);
	assert_int_equal(queue_log_append(path.data, &e1, true, &error), -1);
	assert_non_null(strstr(error, "nofolder/log"));

	buf_reset(&path);
	buf_printf(&path, "%s/log", dir);
	unlink(path.data);
	rmdir(dir);
	buf_release(&path);
}

static void
test_log_path(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	queue_log_path(&b, "/q", "defer", "ID", ".warned");
	assert_string_equal(b.data, "/q/defer/ID.warned");
	queue_log_path(&b, "/q", "bounce", "ID", "");
	assert_string_equal(b.data, "/q/bounce/ID");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_totals),
		cmocka_unit_test(test_entry_short_id),
		cmocka_unit_test(test_entry_reasons_grouped),
		cmocka_unit_test(test_entry_control_bytes),
		cmocka_unit_test(test_log_roundtrip),
		cmocka_unit_test(test_log_path),
	};

	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
