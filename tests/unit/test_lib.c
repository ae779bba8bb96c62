/* Unit tests for src/lib: parse, file, log, err, mem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"

struct time_case {
	const char *in;
	char unit;
	int ok;
	uint64_t secs;
};

static void
test_parse_time(void **state)
{
	static const struct time_case cases[] = {
		{ "300s", 's', 1, 300 }, { "300", 's', 1, 300 },
		{ "5d", 's', 1, 432000 }, { "10m", 's', 1, 600 },
		{ "2h", 's', 1, 7200 }, { "1w", 's', 1, 604800 },
		{ "0", 's', 1, 0 }, { "3", 'd', 1, 259200 }, { "3", 'h', 1, 10800 },
		{ "1H", 's', 1, 3600 }, { "", 's', 0, 0 }, { "s", 's', 0, 0 },
		{ "10x", 's', 0, 0 }, { "10ss", 's', 0, 0 }, { "-1", 's', 0, 0 },
		{ " 10", 's', 0, 0 }, { "10 ", 's', 0, 0 },
		{ "99999999999999999999", 's', 0, 0 },
		{ "30500568904943145", 'w', 0, 0 },	/* overflows when scaled */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;
		uint64_t v = 12345;
		int r = parse_time(cases[i].in, cases[i].unit, &v, &err);

		if (cases[i].ok) {
			assert_int_equal(r, 0);
			assert_int_equal(v, cases[i].secs);
		} else {
			assert_int_equal(r, -1);
			assert_non_null(err);
			assert_int_equal(v, 12345);
		}
	}
}

static void
test_parse_size_uint_bool(void **state)
{
	const char *err;
	uint64_t v;
	bool b;

	assert_int_equal(parse_size("10240000", &v, &err), 0);
	assert_int_equal(v, 10240000);
	assert_int_equal(parse_size("10k", &v, &err), 0);
	assert_int_equal(v, 10240);
	assert_int_equal(parse_size("2M", &v, &err), 0);
	assert_int_equal(v, 2 * 1024 * 1024);
	assert_int_equal(parse_size("1g", &v, &err), 0);
	assert_int_equal(v, 1024 * 1024 * 1024);
	assert_int_equal(parse_size("1t", &v, &err), -1);
	assert_non_null(strstr(err, "bad size value"));
	assert_int_equal(parse_size("1kk", &v, &err), -1);
	assert_int_equal(parse_size("", &v, &err), -1);
	assert_int_equal(parse_size("18446744073709551615", &v, &err), 0);
	assert_int_equal(parse_size("18446744073709551616", &v, &err), -1);
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(parse_size("18014398509481984k", &v, &err), -1);

	assert_int_equal(parse_uint("42", 1, 100, &v, &err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_uint("0", 1, 100, &v, &err), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(parse_uint("101", 1, 100, &v, &err), -1);
	assert_int_equal(parse_uint("+5", 0, 100, &v, &err), -1);
	assert_non_null(strstr(err, "not a number"));
	assert_int_equal(parse_uint("5 ", 0, 100, &v, &err), -1);
	assert_int_equal(parse_uint("0x10", 0, 100, &v, &err), -1);

	assert_int_equal(parse_bool("yes", &b, &err), 0);
	assert_true(b);
	assert_int_equal(parse_bool("NO", &b, &err), 0);
	assert_false(b);
	assert_int_equal(parse_bool("On", &b, &err), 0);
	assert_true(b);
	assert_int_equal(parse_bool("0", &b, &err), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b, &err), -1);
	assert_non_null(strstr(err, "maybe"));
}

static char tmpdir[64];

static int
setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ulak-test-lib-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
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
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_file_atomic_and_read(void **state)
{
	struct buf path, in;
	const char *err = NULL;
	struct stat st;

	buf_init(&path, 0);
	buf_init(&in, 0);
	buf_printf(&path, "%s/a/b/c", tmpdir);
	assert_int_equal(file_mkdirs(path.data, 0755, &err), 0);
	assert_int_equal(file_mkdirs(path.data, 0755, &err), 0); /* exists */
	assert_int_equal(file_mkdirs("", 0755, &err), -1);
	buf_append_str(&path, "/f");
	assert_int_equal(file_write_atomic(path.data, "one\0two", 7, 0600, &err), 0);
	assert_int_equal(stat(path.data, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(path.data, &in, 0, &err), 0);
	assert_int_equal(in.len, 7);
	assert_memory_equal(in.data, "one\0two", 7);
	/* Replace: old contents gone, no temporary left behind. */
	assert_int_equal(file_write_atomic(path.data, "new", 3, 0644, &err), 0);
	buf_reset(&in);
	assert_int_equal(file_read_all(path.data, &in, 0, &err), 0);
	assert_string_equal(in.data, "new");
	buf_truncate(&path, path.len - 2);
	assert_int_equal(count_entries(path.data), 1);
	/* Limits and errors. */
	buf_append_str(&path, "/f");
	buf_reset(&in);
	assert_int_equal(file_read_all(path.data, &in, 2, &err), -1);
	assert_non_null(strstr(err, "too large"));
	assert_int_equal(file_read_all("/nonexistent/x", &in, 0, &err), -1);
	assert_non_null(strstr(err, "/nonexistent/x"));
	assert_int_equal(file_write_atomic("/nonexistent/dir/f", "x", 1, 0600,
	    &err), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/f"));
	assert_int_equal(file_mkdirs(path.data, 0755, &err), -1); /* a file */
	assert_non_null(strstr(err, "not a folder"));
	buf_release(&path);
	buf_release(&in);
}

static void
test_file_write_full_error(void **state)
{
	int fd = open("/dev/full", O_WRONLY);

	if (fd < 0)
		skip();
	assert_int_equal(file_write_full(fd, "abc", 3), -1);
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

static void
test_log_lines(void **state)
{
	struct buf cap, path, content, esc;
	const char *err;

	buf_init(&cap, 0);
	buf_init(&path, 0);
	buf_init(&content, 0);
	buf_init(&esc, 0);
	buf_printf(&path, "%s/log", tmpdir);
	log_init("smtpd", path.data);
	assert_string_equal(log_service(), "smtpd");
	log_capture(&cap);
	log_info("%s: client=%s", "4Xyz", "localhost[127.0.0.1]");
	log_warning("bad %s", "thing\nwith newline");
	log_error("oops");
	log_capture(NULL);
	log_info("not captured");
	assert_string_equal(cap.data,
	    "4Xyz: client=localhost[127.0.0.1]\n"
	    "warning: bad thing with newline\n"
	    "error: oops\n");
	assert_int_equal(file_read_all(path.data, &content, 0, &err), 0);
	/* Postfix layout: "Mon dd hh:mm:ss host ulak/smtpd[pid]: text" */
	assert_non_null(strstr(content.data, " ulak/smtpd["));
	assert_non_null(strstr(content.data, "]: 4Xyz: client=localhost[127.0.0.1]\n"));
	assert_non_null(strstr(content.data, "]: warning: bad thing with newline\n"));
	assert_non_null(strstr(content.data, "not captured"));
	log_init("ulak", "stderr");
	log_escape(&esc, "a\\b\r\n\x01\xff", 7);
	assert_string_equal(esc.data, "a\\\\b\\015\\012\\001\\377");
	buf_release(&cap);
	buf_release(&path);
	buf_release(&content);
	buf_release(&esc);
}

static void
test_err_ring(void **state)
{
	const char *first = err_fmt("first %d", 1);
	const char *texts[ERR_RING - 1];
	char big[ERR_MAX * 2];

	for (int i = 0; i < ERR_RING - 1; i++)
		texts[i] = err_fmt("n%d", i);
	assert_string_equal(first, "first 1");	/* still valid */
	assert_string_equal(texts[ERR_RING - 2], "n14");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strlen(err_fmt("%s", big)), ERR_MAX - 1);
}

static void
test_mem(void **state)
{
	char *s = xstrndup("abcdef", 3);
	char *t = xmemdup0("a\0b", 3);
	int *v = xcalloc(0, 0);

	assert_string_equal(s, "abc");
	assert_memory_equal(t, "a\0b\0", 4);
	v = xreallocarray(v, 10, sizeof(int));
	v[9] = 1;
	free(s);
	free(t);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_size_uint_bool),
		cmocka_unit_test(test_file_atomic_and_read),
		cmocka_unit_test(test_file_write_full_error),
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_err_ring),
		cmocka_unit_test(test_mem),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
