/* Unit tests for src/lib/selfpipe: a caught signal sets its flag and
 * makes the pipe readable; draining empties it; wake fills it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>

#include "selfpipe.h"

static bool
readable(void)
{
	struct pollfd p = { .fd = selfpipe_fd(), .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void
test_signal_flag_and_wakeup(void **state)
{
	static const int sigs[] = { SIGUSR1, SIGUSR2 };

	assert_int_equal(selfpipe_fd(), -1);
	assert_false(selfpipe_caught(SIGUSR1));
	selfpipe_catch(sigs, 2);
	assert_true(selfpipe_fd() >= 0);
	assert_false(readable());

	assert_int_equal(raise(SIGUSR2), 0);
	assert_true(selfpipe_caught(SIGUSR2));
	assert_false(selfpipe_caught(SIGUSR1));
	assert_true(readable());
	selfpipe_drain();
	assert_false(readable());

	/* Many signals never block the handler: the pipe is non-blocking. */
	for (int i = 0; i < 100000; i++)
		assert_int_equal(raise(SIGUSR1), 0);
	assert_true(selfpipe_caught(SIGUSR1));
	selfpipe_drain();
	assert_false(readable());

	selfpipe_wake();
	assert_true(readable());
	selfpipe_drain();
	assert_false(readable());

	/* Out of range: never caught. */
	assert_false(selfpipe_caught(0));
	assert_false(selfpipe_caught(-1));
	assert_false(selfpipe_caught(1000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_flag_and_wakeup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
