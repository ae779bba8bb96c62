/* Unit tests for src/global/daemon_dir: the daemon folder lookup. */
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
#include "daemon_dir.h"
#include "file.h"

static char top[64];

static void
mkfile(const char *rel, mode_t mode)
{
	char path[256];
	const char *error;

	(void)snprintf(path, sizeof(path), "%s/%s", top, rel);
	assert_int_equal(file_write_atomic(path, "#!/bin/sh\n", 10, mode,
	    &error), 0);
}

static void
mkd(const char *rel)
{
	char path[256];
	const char *error;

	(void)snprintf(path, sizeof(path), "%s/%s", top, rel);
	assert_int_equal(file_mkdirs(path, 0755, &error), 0);
}

static int
setup(void **state)
{
	(void)snprintf(top, sizeof(top), "/tmp/test_daemon_dir.XXXXXX");
	assert_non_null(mkdtemp(top));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Expect the lookup from TOP/EXE to give TOP/WANT (canonical). */
static void
expect(const char *exe, const char *configured, const char *want)
{
	char exe_path[256], want_path[256];
	struct buf out;
	const char *error = NULL;

	(void)snprintf(exe_path, sizeof(exe_path), "%s/%s", top, exe);
	if (want[0] == '/')
		(void)snprintf(want_path, sizeof(want_path), "%s", want);
	else
		(void)snprintf(want_path, sizeof(want_path), "%s/%s", top, want);
	buf_init(&out, 0);
	assert_int_equal(daemon_dir_find_from(exe_path, configured, &out,
	    &error), 0);
	assert_string_equal(out.data, want_path);
	buf_release(&out);
}

static void
test_installed_layout(void **state)
{
	mkd("p/bin");
	mkd("p/libexec/ulak");
	mkfile("p/bin/ulak", 0755);
	mkfile("p/libexec/ulak/master", 0755);
	expect("p/bin/ulak", NULL, "p/libexec/ulak");
	expect("p/bin/ulak", "", "p/libexec/ulak");
}

static void
test_build_tree(void **state)
{
	mkd("build");
	mkfile("build/ulak", 0755);
	mkfile("build/master", 0755);
	expect("build/ulak", NULL, "build");
}

static void
test_libexec_wins_over_own_folder(void **state)
{
	mkd("q/bin");
	mkd("q/libexec/ulak");
	mkfile("q/bin/master", 0755);
	mkfile("q/libexec/ulak/master", 0755);
	expect("q/bin/ulak", NULL, "q/libexec/ulak");
}

static void
test_not_executable_is_not_found(void **state)
{
	/* A master that is not executable does not count. */
	mkd("r");
	mkfile("r/master", 0644);
	expect("r/ulak", NULL, "r");	/* fallback: own folder */
	mkd("s/bin");
	expect("s/bin/ulak", NULL, "s/bin/../libexec/ulak");
}

static void
test_configured_wins(void **state)
{
	mkd("t/bin");
	mkd("t/libexec/ulak");
	mkfile("t/libexec/ulak/master", 0755);
	expect("t/bin/ulak", "/opt/ulak/daemons", "/opt/ulak/daemons");
}

static void
test_bad_exe_path(void **state)
{
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 0);
	assert_int_equal(daemon_dir_find_from("ulak", NULL, &out, &error), -1);
	assert_non_null(strstr(error, "cannot tell the folder"));
	buf_release(&out);
}

static void
test_self(void **state)
{
	struct buf out;
	const char *error = NULL;

	/* The test program itself: some folder, absolute. */
	buf_init(&out, 0);
	assert_int_equal(daemon_dir_find(NULL, &out, &error), 0);
	assert_true(out.data[0] == '/');
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_installed_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_build_tree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_libexec_wins_over_own_folder,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_executable_is_not_found,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_configured_wins, setup,
		    teardown),
		cmocka_unit_test(test_bad_exe_path),
		cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
