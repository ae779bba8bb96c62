/* Unit tests for src/global/passdb (passwd-file logins, mailbox paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "mem.h"
#include "passdb.h"
#include "str.h"

static char tmpdir[64];
static char table[160];

static char *
make_hash(const char *prefix, const char *password)
{
	char *salt = crypt_gensalt_ra(prefix, 0, NULL, 0);
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char *h;

	assert_non_null(salt);
	h = xstrdup(crypt_r(password, salt, cd));
	free(salt);
	free(cd);
	return h;
}

static int
setup(void **state)
{
	struct buf t;
	const char *error;
	char *y, *s6;

	str_copy(tmpdir, sizeof(tmpdir), "/tmp/test_passdb.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	y = make_hash("$y$", "yes secret");
	s6 = make_hash("$6$", "sha secret");
	buf_init(&t, 0);
	(void)buf_printf(&t, "alice:%s:1000:1000::/home/alice:/bin/false\n"
	    "bob:%s:1001:100:Bob:/home/bob:/bin/sh\n"
	    "locked:!%s:1002:100::/home/locked:/bin/false\n"
	    "empty::1003:100::/home/empty:/bin/false\n"
	    "broken:%s:x:100::/home/broken:/bin/false\n"
	    "relhome:%s:1004:100::home/rel:/bin/false\n"
	    "short:%s:1005:100\n", y, s6, y, y, y, y);
	snprintf(table, sizeof(table), "%s/users", tmpdir);
	if (file_write_atomic(table, t.data, t.len, 0600, &error) < 0)
		return -1;
	buf_release(&t);
	free(y);
	free(s6);
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
test_verify(void **state)
{
	static const struct {
		const char *user, *password;
		enum passdb_result want;
		const char *error;
	} cases[] = {
		{ "alice", "yes secret", PASSDB_OK, NULL },
		{ "ALICE", "yes secret", PASSDB_OK, NULL },
		{ "bob", "sha secret", PASSDB_OK, NULL },
		{ "alice", "yes secreT", PASSDB_FAIL, NULL },
		{ "alice", "", PASSDB_FAIL, NULL },
		{ "bob", "yes secret", PASSDB_FAIL, NULL },
		{ "nobody", "yes secret", PASSDB_FAIL, NULL },
		{ "", "x", PASSDB_FAIL, NULL },
		{ "alice:x", "yes secret", PASSDB_FAIL, NULL },
		{ "locked", "yes secret", PASSDB_FAIL, NULL },
		{ "empty", "", PASSDB_FAIL, NULL },
		{ "broken", "yes secret", PASSDB_TEMPFAIL,
		    "user broken: passwd-file entry with a bad uid or gid" },
		{ "relhome", "yes secret", PASSDB_TEMPFAIL,
		    "user relhome: passwd-file entry whose home is not an "
		    "absolute path" },
		{ "short", "yes secret", PASSDB_TEMPFAIL,
		    "user short: passwd-file entry without seven fields" },
	};
	struct passdb *db;
	struct buf spec;
	const char *error;

	buf_init(&spec, 0);
	(void)buf_printf(&spec, "passwd-file:%s", table);
	db = passdb_open(spec.data, &error);
	assert_non_null(db);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct passdb_user u = { NULL, NULL, 0, 0 };
		enum passdb_result r;

		error = NULL;
		r = passdb_verify(db, cases[i].user, cases[i].password, &u,
		    &error);
		assert_int_equal(r, cases[i].want);
		if (cases[i].error != NULL)
			assert_string_equal(error, cases[i].error);
		if (r == PASSDB_OK) {
			assert_non_null(u.home);
			assert_true(u.uid == 1000 || u.uid == 1001);
		} else {
			assert_null(u.name);
		}
		passdb_user_release(&u);
	}
	{
		struct passdb_user u = { NULL, NULL, 0, 0 };

		assert_int_equal(passdb_verify(db, "bob", "sha secret", &u,
		    &error), PASSDB_OK);
		assert_string_equal(u.name, "bob");
		assert_string_equal(u.home, "/home/bob");
		assert_int_equal(u.uid, 1001);
		assert_int_equal(u.gid, 100);
		passdb_user_release(&u);
	}
	passdb_close(db);

	/* No tables: every login fails; a missing file cannot be opened. */
	db = passdb_open("", &error);
	assert_non_null(db);
	{
		struct passdb_user u = { NULL, NULL, 0, 0 };

		assert_int_equal(passdb_verify(db, "alice", "yes secret", &u,
		    &error), PASSDB_FAIL);
	}
	passdb_close(db);
	assert_null(passdb_open("passwd-file:/nonexistent/users", &error));
	buf_release(&spec);
}

static void
test_check_hash(void **state)
{
	char *h = make_hash("$y$", "pw");

	assert_true(passdb_check_hash("pw", h));
	assert_false(passdb_check_hash("pW", h));
	assert_false(passdb_check_hash("pw", ""));
	assert_false(passdb_check_hash("pw", "*"));
	assert_false(passdb_check_hash("pw", "!"));
	assert_false(passdb_check_hash("pw", "$y$garbage"));
	free(h);
}

static void
test_mailbox_path(void **state)
{
	static const struct {
		const char *tmpl;
		const char *want;	/* NULL: refused */
		const char *error;
	} cases[] = {
		{ "$home/Maildir", "/home/u/Maildir", NULL },
		{ "${home}/Maildir/", "/home/u/Maildir/", NULL },
		{ "/var/mail/$user/Maildir", "/var/mail/u/Maildir", NULL },
		{ "/var/mail/${user}$$x", "/var/mail/u$x", NULL },
		{ "$homes/Maildir", NULL, "mailbox template $homes/Maildir: "
		    "only $home and $user may be used" },
		{ "$mail_spool_directory/$user", NULL, "mailbox template "
		    "$mail_spool_directory/$user: only $home and $user may "
		    "be used" },
		{ "Maildir", NULL, "mailbox Maildir is not a clean absolute "
		    "path" },
		{ "$home/../x", NULL, "mailbox /home/u/../x is not a clean "
		    "absolute path" },
	};
	struct passdb_user u = { (char *)"u", (char *)"/home/u", 1, 1 };
	struct passdb_user dots = { (char *)"..", (char *)"/home", 1, 1 };
	struct buf b;
	const char *error;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		if (cases[i].want != NULL) {
			assert_int_equal(passdb_mailbox_path(cases[i].tmpl, &u,
			    &b, &error), 0);
			assert_string_equal(b.data, cases[i].want);
		} else {
			assert_int_equal(passdb_mailbox_path(cases[i].tmpl, &u,
			    &b, &error), -1);
			assert_string_equal(error, cases[i].error);
			assert_int_equal(b.len, 0);
		}
	}
	buf_reset(&b);
	assert_int_equal(passdb_mailbox_path("$home/$user", &dots, &b,
	    &error), -1);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test(test_check_hash),
		cmocka_unit_test(test_mailbox_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
