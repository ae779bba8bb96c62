/*
 * Unit tests for src/global/mailstore_pool (what the views of one folder
 * share in a process): interning, reference counts, sharing between
 * views, records outliving a closed view, the hash after removals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "mailstore.h"
#include "mailstore_private.h"
#include "str.h"

static char tmpdir[64];
static char root[128];

static int
setup(void **state)
{
	str_copy(tmpdir, sizeof(tmpdir), "/tmp/test_mailstore_pool.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/Maildir", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
put_cur(const char *name, const char *text)
{
	char path[512];
	const char *error;

	snprintf(path, sizeof(path), "%s/cur/%s", root, name);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0600,
	    &error), 0);
}

static void
test_intern(void **state)
{
	struct ms_pool *p, *q;
	uint32_t a, b, c;

	assert_int_equal(ms_pool_count(), 0);
	p = ms_pool_get("/x/Maildir");
	q = ms_pool_get("/x/Maildir");
	assert_ptr_equal(p, q);
	assert_int_equal(p->views, 2);
	q = ms_pool_get("/x/Maildir/.Sent");
	assert_ptr_not_equal(p, q);
	assert_int_equal(ms_pool_count(), 2);

	a = ms_pool_intern(p, "1.M1.host,S=5xyz", 11);
	b = ms_pool_intern(p, "1.M1.host,Sabc", 11);
	c = ms_pool_intern(p, "1.M2.host", 9);
	assert_int_equal(a, b);
	assert_int_not_equal(a, c);
	assert_string_equal(ms_pool_rec(p, a)->base, "1.M1.host,S");
	assert_int_equal(ms_pool_rec(p, a)->refs, 2);
	assert_int_equal(ms_pool_find(p, "1.M1.host,S", 11), (long)a);
	assert_int_equal(ms_pool_find(p, "1.M2.host", 9), (long)c);
	assert_int_equal(ms_pool_find(p, "1.M1.host", 9), -1);
	assert_int_equal(ms_pool_find(p, "1.M3.host", 9), -1);
	/* Another folder has its own records. */
	assert_int_equal(ms_pool_find(q, "1.M2.host", 9), -1);
	ms_pool_ref(p, c);
	assert_int_equal(ms_pool_rec(p, c)->refs, 2);
	ms_pool_unref(p, c);
	assert_int_equal(p->live, 2);
	ms_pool_unref(p, a);
	ms_pool_unref(p, b);
	ms_pool_unref(p, c);
	assert_int_equal(p->live, 0);
	assert_int_equal(ms_pool_find(p, "1.M2.host", 9), -1);
	ms_pool_put(q);
	ms_pool_put(p);
	assert_int_equal(ms_pool_count(), 1);
	ms_pool_put(p);
	assert_int_equal(ms_pool_count(), 0);
}

/* Many records, half removed in a scattered order: the rest is found. */
static void
test_hash_removal(void **state)
{
	struct ms_pool *p = ms_pool_get("/y/Maildir");
	uint32_t r[3000];
	char name[32];
	size_t n = sizeof(r) / sizeof(r[0]);

	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%zu.M%zu.h", i * 7919 % 1000, i);
		r[i] = ms_pool_intern(p, name, strlen(name));
	}
	assert_int_equal(p->live, n);
	for (size_t i = 0; i < n; i += 1 + i % 3)
		ms_pool_unref(p, r[i]);
	for (size_t i = 0, next = 0; i < n; i++) {
		long want = -1;

		if (i == next)
			next += 1 + i % 3;
		else
			want = (long)r[i];
		snprintf(name, sizeof(name), "%zu.M%zu.h", i * 7919 % 1000, i);
		assert_int_equal(ms_pool_find(p, name, strlen(name)), want);
	}
	/* Freed slots are used again before the array grows. */
	{
		uint32_t cap = p->n_rec;
		uint32_t x = ms_pool_intern(p, "again", 5);

		assert_true(x < cap);
		assert_int_equal(p->n_rec, cap);
		ms_pool_unref(p, x);
	}
	for (size_t i = 0, next = 0; i < n; i++) {
		if (i == next) {
			next += 1 + i % 3;
			continue;
		}
		ms_pool_unref(p, r[i]);
	}
	assert_int_equal(p->live, 0);
	ms_pool_put(p);
	assert_int_equal(ms_pool_count(), 0);
}

static void
test_views_share(void **state)
{
	struct mailstore *s, *s2;
	struct mailstore_folder *f, *g;
	struct ms_pool *p;
	struct buf b;
	const char *error;
	uint64_t vsize;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	s2 = mailstore_open(root, &error);
	assert_non_null(s2);
	put_cur("5000.M1P1Q1.host,S=3:2,S", "a\nb");
	put_cur("5000.M2P1Q1.host:2,", "c\n");
	put_cur("5000.M3P1Q1.host:2,FX", "d\n");

	/* Two views (of two stores, as two IMAP sessions have) share. */
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	p = f->pool;
	assert_int_equal(ms_pool_count(), 1);
	assert_int_equal(p->live, 3);
	g = mailstore_folder_open(s2, "INBOX", 0, &error);
	assert_non_null(g);
	assert_ptr_equal(g->pool, p);
	assert_int_equal(p->views, 2);
	assert_int_equal(p->live, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct mailstore_msg *m = mailstore_folder_msg(f, i);

		assert_int_equal(m->ms_rec, mailstore_folder_msg(g, i)->ms_rec);
		assert_int_equal(MS_REC(f, m)->refs, 2);
	}
	assert_int_equal(MS_REC(f, mailstore_folder_msg(f, 0))->size, 3);
	assert_string_equal(MS_REC(f, mailstore_folder_msg(f, 2))->extra,
	    "X");
	/* What one view learns of a file, the other knows. */
	assert_int_equal(mailstore_msg_vsize(f, 0, &vsize, &error), 0);
	assert_int_equal(vsize, 4);
	assert_int_equal(MS_REC(g, mailstore_folder_msg(g, 0))->vsize, 4);

	/* An expunge in f: the record stays while g holds it. */
	assert_int_equal(mailstore_msg_expunge(f, 1, &error), 0);
	assert_int_equal(mailstore_folder_sync(f, 0, NULL, &error), 0);
	assert_int_equal(mailstore_folder_count(f), 2);
	assert_int_equal(p->live, 3);
	assert_int_equal(mailstore_folder_sync(g, 0, NULL, &error), 0);
	assert_int_equal(mailstore_folder_count(g), 2);
	assert_int_equal(p->live, 2);

	/* f closes: g's records live on, and g still reads its messages. */
	mailstore_folder_close(f);
	assert_int_equal(ms_pool_count(), 1);
	assert_int_equal(p->views, 1);
	assert_int_equal(p->live, 2);
	assert_int_equal(MS_REC(g, mailstore_folder_msg(g, 0))->refs, 1);
	buf_init(&b, 0);
	assert_int_equal(mailstore_msg_read(g, 0, &b, &error), 0);
	assert_string_equal(b.data, "a\nb");
	buf_release(&b);

	/* The last view closes: everything is freed. */
	mailstore_folder_close(g);
	assert_int_equal(ms_pool_count(), 0);
	mailstore_close(s2);
	mailstore_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intern),
		cmocka_unit_test(test_hash_removal),
		cmocka_unit_test_setup_teardown(test_views_share, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
