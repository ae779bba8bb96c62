/*
 * Unit tests for src/global/netserver: connections on a loopback
 * listener reach the callback, per-address counts, and SIGUSR1's drain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "daemon.h"
#include "log.h"
#include "netserver.h"

#define MAX_CONN 8

struct fixture {
	struct event_base *base;
	struct netserver *ns;
	struct sockaddr_in addr;	/* where the listener is */
	int accepted[MAX_CONN];
	int n_accepted;
	int clients[MAX_CONN];
	int n_clients;
};

static void
connection_cb(void *ctx, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct fixture *f = ctx;

	assert_int_equal(sa->sa_family, AF_INET);
	assert_int_equal(salen, sizeof(struct sockaddr_in));
	assert_true(f->n_accepted < MAX_CONN);
	f->accepted[f->n_accepted++] = fd;
}

static const struct netserver_callbacks callbacks = { connection_cb };

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct daemon d;
	socklen_t len = sizeof(f->addr);
	int lfd;

	assert_non_null(f);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&f->addr,
	    sizeof(f->addr)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&f->addr, &len),
	    0);
	memset(&d, 0, sizeof(d));
	d.listen_fds[0] = lfd;
	d.n_listen = 1;
	f->base = event_base_new();
	assert_non_null(f->base);
	/* The netserver owns LFD from now on (closed on free). */
	f->ns = netserver_new(f->base, &d, &callbacks, f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < f->n_accepted; i++)
		close(f->accepted[i]);
	for (int i = 0; i < f->n_clients; i++)
		close(f->clients[i]);
	netserver_free(f->ns);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void
connect_client(struct fixture *f)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&f->addr,
	    sizeof(f->addr)), 0);
	assert_true(f->n_clients < MAX_CONN);
	f->clients[f->n_clients++] = fd;
}

/* Run the loop until WANT connections were accepted (5 s at most). */
static void
run_until_accepted(struct fixture *f, int want)
{
	time_t deadline = time(NULL) + 5;

	while (f->n_accepted < want && time(NULL) < deadline)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->n_accepted, want);
}

/* Deliver SIGUSR1 and let the loop see it; returns what was logged. */
static void
drain(struct fixture *f, struct buf *log)
{
	buf_init(log, 0);
	log_capture(log);
	raise(SIGUSR1);
	event_base_loop(f->base, EVLOOP_ONCE);
	log_capture(NULL);
}

static void
test_conn_counts(void **state)
{
	static const struct {
		const char *addr;
		unsigned long want;
	} adds[] = {
		{ "127.0.0.1", 1 },
		{ "127.0.0.1", 2 },
		{ "::1", 1 },
		{ "127.0.0.1", 3 },
		{ "192.0.2.1", 1 },
	};
	struct fixture *f = *state;
	size_t n = sizeof(adds) / sizeof(adds[0]);

	for (size_t i = 0; i < n; i++)
		connect_client(f);
	run_until_accepted(f, (int)n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(netserver_conn_add(f->ns, adds[i].addr),
		    adds[i].want);
	/* A session that ends gives its address's place back. */
	netserver_session_ended(f->ns, "127.0.0.1");
	netserver_session_ended(f->ns, "192.0.2.1");
	connect_client(f);
	run_until_accepted(f, (int)n + 1);
	assert_int_equal(netserver_conn_add(f->ns, "127.0.0.1"), 3);
	assert_int_equal(netserver_conn_add(f->ns, "192.0.2.1"), 1);
	/* A session that added nothing (NULL) leaves the counts alone. */
	netserver_session_ended(f->ns, NULL);
	assert_int_equal(netserver_conn_add(f->ns, "::1"), 2);
	assert_false(event_base_got_break(f->base));
}

static void
test_drain_waits_for_sessions(void **state)
{
	struct fixture *f = *state;
	struct buf log;

	connect_client(f);
	connect_client(f);
	run_until_accepted(f, 2);
	netserver_conn_add(f->ns, "127.0.0.1");
	netserver_conn_add(f->ns, "127.0.0.1");
	drain(f, &log);
	assert_non_null(strstr(log.data, "draining: 2 session(s) left"));
	buf_release(&log);
	assert_false(event_base_got_break(f->base));

	/* No longer accepting: a new client is not handed over. */
	connect_client(f);
	for (int i = 0; i < 100; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->n_accepted, 2);

	/* A second SIGUSR1 changes nothing and logs nothing. */
	drain(f, &log);
	assert_null(strstr(log.data, "draining"));
	buf_release(&log);

	netserver_session_ended(f->ns, "127.0.0.1");
	assert_false(event_base_got_break(f->base));
	netserver_session_ended(f->ns, "127.0.0.1");
	assert_true(event_base_got_break(f->base));
}

static void
test_drain_without_sessions(void **state)
{
	struct fixture *f = *state;
	struct buf log;

	drain(f, &log);
	assert_non_null(strstr(log.data, "draining: 0 session(s) left"));
	buf_release(&log);
	assert_true(event_base_got_break(f->base));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conn_counts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drain_waits_for_sessions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_without_sessions,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
