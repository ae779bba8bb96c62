/* Unit tests for src/global/bevpace: unsent bytes counted through a
 * filter bufferevent and the write marks set below it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevpace.h"

static void
test_plain_and_filter(void **state)
{
	struct event_base *base = event_base_new();
	struct bufferevent *sock, *filt;
	size_t low = 0, high = 0;
	char data[1000];
	int sv[2];

	assert_non_null(base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sock = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(sock);
	memset(data, 'x', sizeof(data));

	/* A plain socket: its output only; pacing below is a no-op. */
	bufferevent_write(sock, data, 300);
	assert_int_equal(bev_unsent(sock), 300);
	bev_pace_below(sock, 10, 20);
	assert_int_equal(bufferevent_getwatermark(sock, EV_WRITE, &low,
	    &high), 0);
	assert_int_equal(low, 0);
	assert_int_equal(high, 0);

	/* A filter on it: both layers count, the marks go below. */
	filt = bufferevent_filter_new(sock, NULL, NULL, BEV_OPT_CLOSE_ON_FREE,
	    NULL, NULL);
	assert_non_null(filt);
	bufferevent_enable(filt, EV_WRITE);
	bufferevent_write(filt, data, sizeof(data));
	assert_int_equal(bev_unsent(filt), 300 + sizeof(data));
	bev_pace_below(filt, 64, 4096);
	assert_int_equal(bufferevent_getwatermark(sock, EV_WRITE, &low,
	    &high), 0);
	assert_int_equal(low, 64);
	assert_int_equal(high, 4096);

	bufferevent_free(filt);
	close(sv[1]);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
