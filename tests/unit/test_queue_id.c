/* Unit tests for src/global/queue_id: format, validity, order, uniqueness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue_id.h"

static void
test_make(void **state)
{
	static const struct {
		uint64_t usec, uniq;
		const char *id;
	} t[] = {
		{ 0, 0, "000000000000" },
		{ 1700000000123456ull, 123456789, "1GA4GC208J03NQK8N" },
		{ (1ull << 55) - 1, UINT64_MAX, "ZZZZZZZZZZZFZZZZZZZZZZZZ" },
		{ 31, 31, "0000000000ZZ" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char id[QUEUE_ID_SIZE];
		uint64_t usec;

		queue_id_make(id, t[i].usec, t[i].uniq);
		assert_string_equal(id, t[i].id);
		assert_true(queue_id_valid(id));
		assert_int_equal(queue_id_time(id, &usec), 0);
		assert_int_equal(usec, t[i].usec);
	}
	assert_int_equal(strlen("ZZZZZZZZZZZFZZZZZZZZZZZZ"), QUEUE_ID_MAX);
}

static void
test_valid(void **state)
{
	static const struct {
		const char *id;
		bool valid;
	} t[] = {
		{ "1GA4GC208J03NQK8N", true },
		{ "000000000000", true },
		{ "", false },
		{ "1GA4GC208J0", false },		/* time only */
		{ "1GA4GC208J03nqk8n", false },		/* lower case */
		{ "1GA4GC208J03NQK8I", false },		/* I not in alphabet */
		{ "1GA4GC208J03NQK8U", false },
		{ "1GA4GC208J0.", false },
		{ "../GC208J03NQK8N", false },
		{ "1GA4GC208J00N", false },		/* leading zero in uniq */
		{ "1GA4GC208J0ZZZZZZZZZZZZZ", false },	/* uniq > 64 bits */
		{ "1GA4GC208J0FZZZZZZZZZZZZ", true },
		{ "1GA4GC208J0FZZZZZZZZZZZZZ", false },	/* too long */
		{ ".tmp-abcdef", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t usec;

		assert_int_equal(queue_id_valid(t[i].id), t[i].valid);
		assert_int_equal(queue_id_time(t[i].id, &usec),
		    t[i].valid ? 0 : -1);
	}
}

static void
test_sort_order(void **state)
{
	char a[QUEUE_ID_SIZE], b[QUEUE_ID_SIZE];

	/* Fixed-width time first: a later time sorts later whatever UNIQ is. */
	queue_id_make(a, 1000, UINT64_MAX);
	queue_id_make(b, 1001, 0);
	assert_true(strcmp(a, b) < 0);
	queue_id_make(a, 1699999999999999ull, 5);
	queue_id_make(b, 1700000000000000ull, 5);
	assert_true(strcmp(a, b) < 0);
	/* Every digit step is in ASCII order. */
	for (uint64_t t = 0; t < 2000; t++) {
		queue_id_make(a, t, 7);
		queue_id_make(b, t + 1, 7);
		assert_true(strcmp(a, b) < 0);
	}
}

static int
cmp_ids(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void
test_unique_in_process(void **state)
{
	enum { N = 100000 };
	char prev[QUEUE_ID_SIZE], id[QUEUE_ID_SIZE];

	/* Even with the same UNIQ, IDs strictly increase within a process. */
	queue_id_new(prev, 42);
	for (int i = 0; i < N; i++) {
		queue_id_new(id, 42);
		assert_true(queue_id_valid(id));
		assert_true(strcmp(prev, id) < 0);
		memcpy(prev, id, sizeof(id));
	}
}

static void
test_unique_across_processes(void **state)
{
	enum { CHILDREN = 8, PER_CHILD = 5000 };
	char dir[] = "/tmp/test_queue_id.XXXXXX";
	char (*ids)[QUEUE_ID_SIZE] = calloc(CHILDREN * PER_CHILD, QUEUE_ID_SIZE);
	int fds[2];
	size_t got = 0;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(pipe(fds), 0);
	for (int c = 0; c < CHILDREN; c++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			char path[64], id[QUEUE_ID_SIZE];
			struct stat st;
			int fd;

			/* As the queue writer does: UNIQ is the inode of a live file. */
			(void)snprintf(path, sizeof(path), "%s/f%d", dir, c);
			fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
			if (fd < 0 || fstat(fd, &st) < 0)
				_exit(1);
			for (int i = 0; i < PER_CHILD; i++) {
				queue_id_new(id, (uint64_t)st.st_ino);
				if (write(fds[1], id, QUEUE_ID_SIZE) != QUEUE_ID_SIZE)
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], ids[got], QUEUE_ID_SIZE);

		if (n <= 0)
			break;
		assert_int_equal(n, QUEUE_ID_SIZE);
		got++;
	}
	close(fds[0]);
	for (int c = 0; c < CHILDREN; c++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(got, CHILDREN * PER_CHILD);
	qsort(ids, got, QUEUE_ID_SIZE, cmp_ids);
	for (size_t i = 1; i < got; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	for (int c = 0; c < CHILDREN; c++) {
		char path[64];

		(void)snprintf(path, sizeof(path), "%s/f%d", dir, c);
		unlink(path);
	}
	rmdir(dir);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_sort_order),
		cmocka_unit_test(test_unique_in_process),
		cmocka_unit_test(test_unique_across_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
