/* Unit tests for src/global/trigger: the one-way request arrives whole on
 * the listening socket; bad names and absent sockets are errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "trigger.h"

static int
listen_at(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	(void)unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void
test_request_arrives(void **state)
{
	char dir[] = "/tmp/ulak-trigger-XXXXXX", path[64], got[64];
	ssize_t n, total = 0;
	int l, c;

	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/qmgr", dir);
	l = listen_at(path);
	assert_int_equal(trigger_send(path, "flush"), 0);
	c = accept(l, NULL, NULL);
	assert_true(c >= 0);
	while ((n = read(c, got + total, sizeof(got) - 1 - (size_t)total)) > 0)
		total += n;
	got[total] = '\0';
	/* Sent, then closed: the reader sees the request, then EOF. */
	assert_string_equal(got, "request=flush\n\n");
	close(c);
	close(l);
	(void)unlink(path);
	/* Nobody listens any more. */
	assert_int_equal(trigger_send(path, "wakeup"), -1);
	assert_int_equal(errno, ENOENT);
	(void)rmdir(dir);
}

static void
test_bad_arguments(void **state)
{
	char longpath[200];

	assert_int_equal(trigger_send("/nonexistent/x", "a=b"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(trigger_send("/nonexistent/x", "a\nb"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(trigger_send("/nonexistent/x", ""), -1);
	assert_int_equal(errno, EINVAL);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(trigger_send(longpath, "wakeup"), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_arrives),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
