/* Unit tests for src/global/mailstore (the Maildir++ store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "log.h"
#include "mailstore.h"
#include "mailstore_private.h"
#include "str.h"

static char tmpdir[64];
static char root[128];

static int
setup(void **state)
{
	str_copy(tmpdir, sizeof(tmpdir), "/tmp/test_mailstore.XXXXXX");
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

/* Put a message into DIR/new (as local delivery would). */
static void
deliver(const char *dir, const char *name, const char *text)
{
	char tmp[512], path[512];
	const char *error;

	/* Through tmp/ as the Maildir rules ask: new/ only sees whole files. */
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	snprintf(path, sizeof(path), "%s/new/%s", dir, name);
	assert_int_equal(file_write_atomic(tmp, text, strlen(text), 0600,
	    &error), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_names(void **state)
{
	static const struct {
		const char *name;
		const char *error;	/* NULL: valid */
	} cases[] = {
		{ "INBOX", NULL }, { "inbox", NULL }, { "Sent", NULL },
		{ "Lists.ulak", NULL }, { "with space", NULL },
		{ "&AOQ-hnlich", NULL }, { "INBOX.sub", NULL },
		{ "", "empty folder name" },
		{ "../etc", "empty level in folder name" },
		{ "..", "empty level in folder name" },
		{ ".hidden", "empty level in folder name" },
		{ "a.", "empty level in folder name" },
		{ "a..b", "empty level in folder name" },
		{ "/etc/passwd", "folder name has a slash" },
		{ "a/../../b", "empty level in folder name" },
		{ "a/b", "folder name has a slash" },
		{ "a\\b", "folder name has a slash" },
		{ "%", "folder name has a wildcard" },
		{ "a*", "folder name has a wildcard" },
		{ "a\001b", "folder name has control or 8-bit characters "
		    "(use modified UTF-7)" },
		{ "a\nb", "folder name has control or 8-bit characters "
		    "(use modified UTF-7)" },
		{ "\xc3\xa4", "folder name has control or 8-bit characters "
		    "(use modified UTF-7)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		int rc = mailstore_name_check(cases[i].name, &error);

		if (cases[i].error == NULL) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(errno, EINVAL);
			assert_string_equal(error, cases[i].error);
		}
	}
	{
		char longname[MAILSTORE_NAME_MAX + 2];
		const char *error;

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(mailstore_name_check(longname, &error), -1);
		assert_string_equal(error, "folder name too long");
		longname[MAILSTORE_NAME_MAX] = '\0';
		assert_int_equal(mailstore_name_check(longname, &error), 0);
	}
}

static void
test_paths(void **state)
{
	struct mailstore *s;
	struct buf b;
	const char *error;
	char want[256];

	s = mailstore_open(root, &error);
	assert_non_null(s);
	buf_init(&b, 0);
	assert_int_equal(mailstore_folder_path(s, "inbox", &b, &error), 0);
	assert_string_equal(b.data, root);
	buf_reset(&b);
	assert_int_equal(mailstore_folder_path(s, "Lists.ulak", &b, &error),
	    0);
	snprintf(want, sizeof(want), "%s/.Lists.ulak", root);
	assert_string_equal(b.data, want);
	buf_reset(&b);
	assert_int_equal(mailstore_folder_path(s, "../../etc", &b, &error),
	    -1);
	assert_int_equal(b.len, 0);
	/* Escape attempts never open anything. */
	assert_null(mailstore_folder_open(s, "../Maildir", 0, &error));
	assert_int_equal(errno, EINVAL);
	assert_null(mailstore_folder_open(s, "/tmp", 0, &error));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mailstore_folder_create(s, "a/../../x", &error), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(mailstore_folder_open(s, "Nonexistent", 0, &error));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(error, "no such folder");
	buf_release(&b);
	mailstore_close(s);

	assert_null(mailstore_open("relative/path", &error));
	assert_string_equal(error, "mail store root must be an absolute "
	    "path: relative/path");
}

static void
test_uids_and_recent(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f;
	struct mailstore_sync sync;
	const char *error;
	uint32_t validity;
	char path[256];

	s = mailstore_open(root, &error);
	assert_non_null(s);
	deliver(root, "1000.M1P1Q1.host,S=7", "Hello\n\n");
	deliver(root, "1000.M2P1Q2.host,S=7", "World\n\n");
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_count(f), 2);
	assert_int_equal(mailstore_folder_msg(f, 0)->uid, 1);
	assert_int_equal(mailstore_folder_msg(f, 1)->uid, 2);
	assert_true(mailstore_folder_msg(f, 0)->flags & MAILSTORE_RECENT);
	assert_int_equal(mailstore_folder_uidnext(f), 3);
	validity = mailstore_folder_uidvalidity(f);
	assert_true(validity > 0);
	/* Moved to cur/ with an empty info part. */
	snprintf(path, sizeof(path), "%s/cur/1000.M1P1Q1.host,S=7:2,", root);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/new", root);
	assert_int_equal(count_files(path), 0);

	/* A delivery while the folder is open. */
	deliver(root, "1001.M3P1Q3.host,S=5", "New\n\n");
	assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error), 0);
	assert_int_equal(sync.n_new, 1);
	assert_int_equal(sync.n_expunged, 0);
	assert_int_equal(sync.n_recent, 3);
	assert_false(sync.uidvalidity_changed);
	assert_int_equal(mailstore_folder_msg(f, 2)->uid, 3);
	assert_int_equal(mailstore_folder_find_uid(f, 3), 2);
	assert_int_equal(mailstore_folder_find_uid(f, 4), -1);
	mailstore_sync_release(&sync);
	mailstore_folder_close(f);

	/* Stable across a new session; nothing is Recent any more. */
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_count(f), 3);
	assert_int_equal(mailstore_folder_uidvalidity(f), validity);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(mailstore_folder_msg(f, i)->uid, i + 1);
		assert_false(mailstore_folder_msg(f, i)->flags &
		    MAILSTORE_RECENT);
	}
	mailstore_folder_close(f);
	mailstore_close(s);
}

static void
test_flags_in_names(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f, *g;
	struct mailstore_sync sync;
	struct buf b;
	const char *error;
	unsigned flags;
	uint32_t kw;
	char path[256];
	int k;

	/* Letters both ways. */
	buf_init(&b, 0);
	mailstore_flags_to_letters(MAILSTORE_SEEN | MAILSTORE_DRAFT |
	    MAILSTORE_DELETED | MAILSTORE_ANSWERED, 1u | (1u << 25), &b);
	assert_string_equal(b.data, "DRSTaz");
	mailstore_flags_from_letters("TSRPFDbX", &flags, &kw);
	assert_int_equal(flags, MAILSTORE_FLAGS_STORED);
	assert_int_equal(kw, 2);
	buf_release(&b);

	s = mailstore_open(root, &error);
	assert_non_null(s);
	deliver(root, "2000.M1P1Q1.host", "A\n");
	/* A file another program flagged, with a letter we do not know. */
	snprintf(path, sizeof(path), "%s/cur/2000.M2P1Q1.host:2,FX", root);
	assert_int_equal(file_write_atomic(path, "B\n", 2, 0600, &error), 0);
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_count(f), 2);
	assert_int_equal(mailstore_folder_msg(f, 1)->flags, MAILSTORE_FLAGGED);

	k = mailstore_folder_keyword_add(f, "$Label1", &error);
	assert_int_equal(k, 0);
	assert_int_equal(mailstore_folder_keyword_add(f, "$label1", &error),
	    0);
	assert_int_equal(mailstore_folder_keyword_add(f, "bad word", &error),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(mailstore_folder_keyword_name(f, 0), "$Label1");
	assert_int_equal(mailstore_folder_keyword_find(f, "$LABEL1"), 0);

	assert_int_equal(mailstore_msg_set_flags(f, 1, MAILSTORE_SEEN |
	    MAILSTORE_FLAGGED, 1, &error), 0);
	snprintf(path, sizeof(path), "%s/cur/2000.M2P1Q1.host:2,FSXa", root);
	assert_int_equal(access(path, F_OK), 0);

	/* Another session sees the change and reports it. */
	g = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(g);
	assert_int_equal(mailstore_folder_msg(g, 1)->flags, MAILSTORE_SEEN |
	    MAILSTORE_FLAGGED);
	assert_int_equal(mailstore_folder_msg(g, 1)->keywords, 1);
	assert_string_equal(mailstore_folder_keyword_name(g, 0), "$Label1");
	assert_int_equal(mailstore_msg_set_flags(g, 0, MAILSTORE_DELETED, 0,
	    &error), 0);
	assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error), 0);
	assert_int_equal(sync.n_changed, 1);
	assert_int_equal(sync.changed[0], 1);
	assert_int_equal(mailstore_folder_msg(f, 0)->flags & ~MAILSTORE_RECENT,
	    MAILSTORE_DELETED);
	mailstore_sync_release(&sync);

	/* Renamed under f's feet: f finds it again when setting flags. */
	assert_int_equal(mailstore_msg_set_flags(g, 1, 0, 0, &error), 0);
	assert_int_equal(mailstore_msg_set_flags(f, 1, MAILSTORE_ANSWERED, 0,
	    &error), 0);
	snprintf(path, sizeof(path), "%s/cur/2000.M2P1Q1.host:2,RX", root);
	assert_int_equal(access(path, F_OK), 0);
	mailstore_folder_close(g);

	/* Read-only folders refuse changes. */
	g = mailstore_folder_open(s, "INBOX", MAILSTORE_OPEN_READONLY, &error);
	assert_non_null(g);
	assert_int_equal(mailstore_msg_set_flags(g, 0, 0, 0, &error), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(mailstore_msg_expunge(g, 0, &error), -1);
	mailstore_folder_close(g);
	mailstore_folder_close(f);
	mailstore_close(s);
}

static void
test_expunge_and_sizes(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f, *g;
	struct mailstore_sync sync;
	struct buf b;
	const char *error;
	uint64_t size, vsize;
	time_t date;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	deliver(root, "3000.M1P1Q1.host,S=9", "a\nbb\ncccc");
	deliver(root, "3000.M2P1Q1.host", "x\r\ny\n");
	deliver(root, "3000.M3P1Q1.host", "z\n");
	deliver(root, "3000.M4P1Q1.host", "w\n");
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_msg_size(f, 0, &size, &error), 0);
	assert_int_equal(size, 9);
	assert_int_equal(mailstore_msg_vsize(f, 0, &vsize, &error), 0);
	assert_int_equal(vsize, 11);
	assert_int_equal(mailstore_msg_size(f, 1, &size, &error), 0);
	assert_int_equal(size, 5);
	assert_int_equal(mailstore_msg_vsize(f, 1, &vsize, &error), 0);
	assert_int_equal(vsize, 6);
	assert_int_equal(mailstore_msg_date(f, 1, &date, &error), 0);
	assert_true(date > 0);
	buf_init(&b, 0);
	assert_int_equal(mailstore_msg_read(f, 1, &b, &error), 0);
	assert_string_equal(b.data, "x\r\ny\n");

	/* Another session removes message 2 and 4; we remove 3. */
	g = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(g);
	assert_int_equal(mailstore_msg_expunge(g, 1, &error), 0);
	assert_int_equal(mailstore_msg_expunge(g, 3, &error), 0);
	assert_int_equal(mailstore_msg_expunge(f, 2, &error), 0);
	assert_true(mailstore_folder_msg(f, 2)->expunged);
	/* Reading a message that is gone says so. */
	buf_reset(&b);
	assert_int_equal(mailstore_msg_read(f, 3, &b, &error), 1);
	assert_true(mailstore_folder_msg(f, 3)->expunged);

	/* Kept while EXPUNGE may not be sent... */
	assert_int_equal(mailstore_folder_sync(f,
	    MAILSTORE_SYNC_KEEP_EXPUNGED, &sync, &error), 0);
	assert_int_equal(sync.n_expunged, 0);
	assert_int_equal(mailstore_folder_count(f), 4);
	assert_true(mailstore_folder_msg(f, 1)->expunged);
	mailstore_sync_release(&sync);
	/* ...then reported highest first. */
	assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error), 0);
	assert_int_equal(sync.n_expunged, 3);
	assert_int_equal(sync.expunged[0], 4);
	assert_int_equal(sync.expunged[1], 3);
	assert_int_equal(sync.expunged[2], 2);
	assert_int_equal(mailstore_folder_count(f), 1);
	assert_int_equal(mailstore_folder_msg(f, 0)->uid, 1);
	mailstore_sync_release(&sync);
	mailstore_folder_close(g);
	mailstore_folder_close(f);

	/* The virtual size was kept in the list for the next session. */
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(MS_REC(f, mailstore_folder_msg(f, 0))->vsize,
	    11);
	mailstore_folder_close(f);
	buf_release(&b);
	mailstore_close(s);
}

static void
write_list(const char *text)
{
	char path[256];
	const char *error;

	snprintf(path, sizeof(path), "%s/ulak-uidlist", root);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0600,
	    &error), 0);
}

static void
test_index_rebuild(void **state)
{
	static const char *const damaged[] = {
		"garbage\n",
		"ulak-uidlist 1 V5 N10\n3 :4000.M1P1Q1.host\n2 :4000.M2P1Q1.host\n",
		"ulak-uidlist 1 V5 N10\n3 :4000.M1P1Q1.host\n4 :4000.M1P1Q1.host\n",
		"ulak-uidlist 1 V5 N3\n3 :4000.M1P1Q1.host\n",
		"ulak-uidlist 1 V5 N10\n3 :a/b\n",
		"ulak-uidlist 1 V5 N10\n3 W :x\n",
		"ulak-uidlist 1 V5 N10\n3 :4000.M1P1Q1.host",
		"ulak-uidlist 1 V0 N10\n",
		"ulak-uidlist 1 V99999999999 N10\n",
	};
	struct mailstore *s;
	struct mailstore_folder *f;
	struct mailstore_sync sync;
	struct buf logs;
	const char *error;
	uint32_t v1;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	deliver(root, "4000.M1P1Q1.host", "1\n");
	deliver(root, "4000.M2P1Q1.host", "2\n");
	/* A list written by hand is honoured. */
	write_list("ulak-uidlist 1 V5 N10\n3 :4000.M1P1Q1.host\n"
	    "7 W12 :4000.M2P1Q1.host\n8 :gone.long.ago\n");
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_uidvalidity(f), 5);
	assert_int_equal(mailstore_folder_msg(f, 0)->uid, 3);
	assert_int_equal(mailstore_folder_msg(f, 1)->uid, 7);
	assert_int_equal(MS_REC(f, mailstore_folder_msg(f, 1))->vsize,
	    12);
	assert_int_equal(mailstore_folder_uidnext(f), 10);
	deliver(root, "4001.M1P1Q1.host", "3\n");
	assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error), 0);
	assert_int_equal(mailstore_folder_msg(f, 2)->uid, 10);
	mailstore_sync_release(&sync);

	/* Damaged: rebuilt with a new UIDVALIDITY, and the open view says
	 * its UIDs are void. */
	buf_init(&logs, 0);
	log_capture(&logs);
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		struct mailstore_folder *g;

		v1 = mailstore_folder_uidvalidity(f);
		write_list(damaged[i]);
		assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error),
		    0);
		assert_true(sync.uidvalidity_changed);
		assert_true(mailstore_folder_uidvalidity(f) != v1);
		assert_true(mailstore_folder_uidvalidity(f) != 5);
		assert_int_equal(mailstore_folder_count(f), 3);
		assert_int_equal(mailstore_folder_msg(f, 0)->uid, 1);
		assert_int_equal(mailstore_folder_msg(f, 2)->uid, 3);
		mailstore_sync_release(&sync);
		/* A fresh session agrees. */
		g = mailstore_folder_open(s, "INBOX", 0, &error);
		assert_non_null(g);
		assert_int_equal(mailstore_folder_uidvalidity(g),
		    mailstore_folder_uidvalidity(f));
		mailstore_folder_close(g);
	}
	log_capture(NULL);
	assert_non_null(strstr(logs.data, "ulak-uidlist: damaged; rebuilding "
	    "it with a new UIDVALIDITY"));
	buf_release(&logs);

	/* Missing: rebuilt too. */
	{
		char path[256];

		v1 = mailstore_folder_uidvalidity(f);
		snprintf(path, sizeof(path), "%s/ulak-uidlist", root);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error),
		    0);
		assert_true(sync.uidvalidity_changed);
		assert_true(mailstore_folder_uidvalidity(f) > v1);
		mailstore_sync_release(&sync);
	}
	mailstore_folder_close(f);
	mailstore_close(s);
}

/* Two processes deliver and sync at the same time. */
static void
test_concurrent_assignment(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f;
	const char *error;
	pid_t pids[2];
	enum { PER_CHILD = 60 };

	s = mailstore_open(root, &error);
	assert_non_null(s);
	mailstore_close(s);
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			struct mailstore *cs = mailstore_open(root, &error);
			int bad = cs == NULL;

			for (int i = 0; i < PER_CHILD && !bad; i++) {
				char name[64];
				struct mailstore_folder *cf;

				snprintf(name, sizeof(name),
				    "5000.M%dP%dQ%d.host", i, (int)getpid(),
				    c);
				deliver(root, name, "x\n");
				/* Half read-only (no moves), half moving. */
				cf = mailstore_folder_open(cs, "INBOX",
				    i % 2 ? MAILSTORE_OPEN_READONLY : 0,
				    &error);
				if (cf == NULL)
					bad = 1;
				mailstore_folder_close(cf);
			}
			mailstore_close(cs);
			_exit(bad);
		}
	}
	for (int c = 0; c < 2; c++) {
		int status;

		assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	s = mailstore_open(root, &error);
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_count(f), 2 * PER_CHILD);
	/* Distinct, ascending, and no UID skipped or reused. */
	for (size_t i = 0; i < mailstore_folder_count(f); i++)
		assert_int_equal(mailstore_folder_msg(f, i)->uid, i + 1);
	assert_int_equal(mailstore_folder_uidnext(f), 2 * PER_CHILD + 1);
	mailstore_folder_close(f);
	mailstore_close(s);
}

static void
test_folders(void **state)
{
	struct mailstore *s;
	struct strlist l;
	const char *error;
	char path[256];

	s = mailstore_open(root, &error);
	assert_non_null(s);
	assert_int_equal(mailstore_create_defaults(s, &error), 0);
	assert_int_equal(mailstore_folder_create(s, "Lists", &error), 0);
	assert_int_equal(mailstore_folder_create(s, "Lists.ulak", &error), 0);
	assert_int_equal(mailstore_folder_create(s, "Lists.ulak.dev", &error),
	    0);
	assert_int_equal(mailstore_folder_create(s, "Sent", &error), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(mailstore_folder_create(s, "INBOX", &error), -1);
	assert_int_equal(errno, EEXIST);
	snprintf(path, sizeof(path), "%s/.Lists/maildirfolder", root);
	assert_int_equal(access(path, F_OK), 0);
	/* A stray directory with a bad name is not listed. */
	snprintf(path, sizeof(path), "%s/..evil", root);
	assert_int_equal(mkdir(path, 0700), 0);

	strlist_init(&l);
	assert_int_equal(mailstore_list(s, &l, &error), 0);
	assert_int_equal(l.n, 9);
	assert_string_equal(l.v[0], "INBOX");
	assert_string_equal(l.v[1], "Archive");
	assert_string_equal(l.v[4], "Lists");
	assert_string_equal(l.v[5], "Lists.ulak");
	assert_string_equal(l.v[6], "Lists.ulak.dev");
	assert_string_equal(l.v[8], "Trash");
	strlist_release(&l);
	assert_string_equal(mailstore_special_use("Sent"), "\\Sent");
	assert_string_equal(mailstore_special_use("Junk"), "\\Junk");
	assert_null(mailstore_special_use("Lists"));

	/* Rename with children; subscriptions follow. */
	assert_int_equal(mailstore_subscribe(s, "Lists.ulak", true, &error),
	    0);
	assert_int_equal(mailstore_folder_rename(s, "Lists", "Lists.x",
	    &error), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mailstore_folder_rename(s, "Lists", "Sent", &error),
	    -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(mailstore_folder_rename(s, "Nope", "Other", &error),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mailstore_folder_rename(s, "Lists", "Groups",
	    &error), 0);
	assert_true(mailstore_folder_exists(s, "Groups.ulak.dev"));
	assert_false(mailstore_folder_exists(s, "Lists.ulak"));
	strlist_init(&l);
	assert_int_equal(mailstore_subscriptions(s, &l, &error), 0);
	assert_true(strlist_find(&l, "Groups.ulak") >= 0);
	assert_true(strlist_find(&l, "Lists.ulak") < 0);
	assert_true(strlist_find(&l, "Sent") >= 0);
	strlist_release(&l);

	/* Delete: the folder goes, its children stay; INBOX cannot. */
	assert_int_equal(mailstore_folder_delete(s, "Groups", &error), 0);
	assert_false(mailstore_folder_exists(s, "Groups"));
	assert_true(mailstore_folder_exists(s, "Groups.ulak"));
	assert_int_equal(mailstore_folder_delete(s, "Groups", &error), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mailstore_folder_delete(s, "inbox", &error), -1);
	assert_int_equal(errno, EPERM);
	assert_string_equal(error, "INBOX cannot be deleted");
	assert_int_equal(mailstore_folder_delete(s, "../Maildir", &error),
	    -1);
	assert_int_equal(errno, EINVAL);

	assert_int_equal(mailstore_subscribe(s, "Groups.ulak", false, &error),
	    0);
	assert_int_equal(mailstore_subscribe(s, "a%", true, &error), -1);
	mailstore_close(s);
}

static void
test_rename_inbox(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f;
	const char *error;
	uint32_t validity;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	deliver(root, "6000.M1P1Q1.host", "1\n");
	deliver(root, "6000.M2P1Q1.host", "2\n");
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	validity = mailstore_folder_uidvalidity(f);
	mailstore_folder_close(f);
	assert_int_equal(mailstore_folder_rename(s, "INBOX", "Old", &error),
	    0);
	f = mailstore_folder_open(s, "Old", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_count(f), 2);
	assert_int_equal(mailstore_folder_msg(f, 1)->uid, 2);
	assert_int_equal(mailstore_folder_uidvalidity(f), validity);
	mailstore_folder_close(f);
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_count(f), 0);
	assert_int_equal(mailstore_folder_uidnext(f), 3);
	mailstore_folder_close(f);
	mailstore_close(s);
}

static void
test_append_copy_move(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n";
	struct mailstore *s;
	struct mailstore_folder *f, *t;
	struct mailstore_sync sync;
	struct strlist kws;
	struct buf b;
	const char *error;
	uint32_t validity, uid, uids[3];
	size_t idx[3] = { 0, 1, 2 };
	uint64_t vsize;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	assert_int_equal(mailstore_folder_create(s, "Archive", &error), 0);
	assert_int_equal(mailstore_append(s, "Nope", msg, sizeof(msg) - 1, 0,
	    NULL, 0, NULL, NULL, &error), -1);
	assert_int_equal(errno, ENOENT);
	strlist_init(&kws);
	strlist_add(&kws, "$Important");
	assert_int_equal(mailstore_append(s, "INBOX", msg, sizeof(msg) - 1,
	    MAILSTORE_SEEN | MAILSTORE_RECENT, &kws, 1000000000, &validity,
	    &uid, &error), 0);
	strlist_release(&kws);
	assert_int_equal(uid, 1);
	assert_int_equal(mailstore_append(s, "INBOX", "2\n", 2, 0, NULL, 0,
	    NULL, &uid, &error), 0);
	assert_int_equal(uid, 2);
	assert_int_equal(mailstore_append(s, "INBOX", "3\n", 2,
	    MAILSTORE_FLAGGED, NULL, 0, NULL, &uid, &error), 0);

	f = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_int_equal(mailstore_folder_uidvalidity(f), validity);
	assert_int_equal(mailstore_folder_count(f), 3);
	assert_int_equal(mailstore_folder_msg(f, 0)->flags, MAILSTORE_SEEN);
	assert_int_equal(mailstore_folder_msg(f, 0)->keywords, 1);
	assert_string_equal(mailstore_folder_keyword_name(f, 0),
	    "$Important");
	buf_init(&b, 0);
	assert_int_equal(mailstore_msg_read(f, 0, &b, &error), 0);
	assert_int_equal(b.len, sizeof(msg) - 1);
	assert_memory_equal(b.data, msg, b.len);
	assert_int_equal(mailstore_msg_vsize(f, 0, &vsize, &error), 0);
	assert_int_equal(vsize, sizeof(msg) - 1);
	{
		time_t date;

		assert_int_equal(mailstore_msg_date(f, 0, &date, &error), 0);
		assert_int_equal(date, 1000000000);
	}

	/* Copy all three; then move the first two. */
	assert_int_equal(mailstore_copy(f, idx, 3, "Archive", false,
	    &validity, uids, &error), 0);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[2], 3);
	assert_int_equal(mailstore_copy(f, idx, 2, "Nope", false, NULL, NULL,
	    &error), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mailstore_copy(f, idx, 2, "Archive", true, NULL,
	    uids, &error), 0);
	assert_int_equal(uids[0], 4);
	assert_int_equal(uids[1], 5);
	assert_true(mailstore_folder_msg(f, 0)->expunged);
	assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error), 0);
	assert_int_equal(sync.n_expunged, 2);
	assert_int_equal(mailstore_folder_count(f), 1);
	mailstore_sync_release(&sync);

	t = mailstore_folder_open(s, "Archive", 0, &error);
	assert_non_null(t);
	assert_int_equal(mailstore_folder_uidvalidity(t), validity);
	assert_int_equal(mailstore_folder_count(t), 5);
	assert_int_equal(mailstore_folder_msg(t, 0)->flags, MAILSTORE_SEEN);
	assert_string_equal(mailstore_folder_keyword_name(t,
	    0), "$Important");
	assert_int_equal(mailstore_folder_msg(t, 0)->keywords, 1);
	assert_int_equal(mailstore_folder_msg(t, 2)->flags, MAILSTORE_FLAGGED);
	buf_reset(&b);
	assert_int_equal(mailstore_msg_read(t, 3, &b, &error), 0);
	assert_memory_equal(b.data, msg, sizeof(msg) - 1);
	mailstore_folder_close(t);

	/* Status without selecting. */
	{
		struct mailstore_status st;

		deliver(root, "7000.M1P1Q1.host", "n\n");
		assert_int_equal(mailstore_folder_status(s, "INBOX", &st,
		    &error), 0);
		assert_int_equal(st.messages, 2);
		assert_int_equal(st.recent, 1);
		assert_int_equal(st.unseen, 2);
		assert_int_equal(st.uidnext, 5);
		assert_int_equal(mailstore_folder_status(s, "Nope", &st,
		    &error), -1);
	}
	buf_release(&b);
	mailstore_folder_close(f);
	mailstore_close(s);
}

static void
test_trylock(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f, *g;
	const char *error;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	f = mailstore_folder_open(s, "INBOX", 0, &error);
	g = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(f);
	assert_non_null(g);
	assert_int_equal(mailstore_folder_trylock(f, "pop3", &error), 0);
	assert_int_equal(mailstore_folder_trylock(f, "pop3", &error), 0);
	assert_int_equal(mailstore_folder_trylock(g, "pop3", &error), 1);
	mailstore_folder_close(f);
	assert_int_equal(mailstore_folder_trylock(g, "pop3", &error), 0);
	mailstore_folder_close(g);
	mailstore_close(s);
}

/*
 * Names another program wrote: letters out of order and unknown ones,
 * flag letters on a file in new/.  Such a message opens and reads (the
 * name on disk is kept in the shared record), is never taken for
 * expunged, and a view that has an older name finds it again.
 */
static void
test_odd_names(void **state)
{
	struct mailstore *s;
	struct mailstore_folder *f, *g;
	struct mailstore_sync sync;
	struct buf b;
	const char *error;
	char path[256];
	uint64_t size;
	time_t date;

	s = mailstore_open(root, &error);
	assert_non_null(s);
	snprintf(path, sizeof(path), "%s/cur/3000.M1P1Q1.host:2,SR", root);
	assert_int_equal(file_write_atomic(path, "one\n", 4, 0600, &error),
	    0);
	snprintf(path, sizeof(path), "%s/cur/3000.M2P1Q1.host:2,SX1Rb", root);
	assert_int_equal(file_write_atomic(path, "two\n", 4, 0600, &error),
	    0);
	snprintf(path, sizeof(path), "%s/new/3000.M3P1Q1.host:2,S", root);
	assert_int_equal(file_write_atomic(path, "three\n", 6, 0600, &error),
	    0);
	f = mailstore_folder_open(s, "INBOX", MAILSTORE_OPEN_READONLY, &error);
	assert_non_null(f);
	g = mailstore_folder_open(s, "INBOX", 0, &error);
	assert_non_null(g);
	assert_int_equal(mailstore_folder_count(f), 3);
	assert_int_equal(mailstore_folder_msg(f, 0)->flags, MAILSTORE_SEEN |
	    MAILSTORE_ANSWERED);
	assert_int_equal(mailstore_folder_msg(f, 1)->flags, MAILSTORE_SEEN |
	    MAILSTORE_ANSWERED);
	assert_int_equal(mailstore_folder_msg(f, 1)->keywords, 2);
	buf_init(&b, 0);
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&b);
		assert_int_equal(mailstore_msg_read(f, i, &b, &error), 0);
		assert_false(mailstore_folder_msg(f, i)->expunged);
		assert_int_equal(mailstore_msg_size(f, i, &size, &error), 0);
		assert_int_equal(size, b.len);
		assert_int_equal(mailstore_msg_date(f, i, &date, &error), 0);
		assert_true(date > 0);
	}
	assert_string_equal(b.data, "three\n");
	buf_reset(&b);
	mailstore_msg_path(f, 1, &b);
	assert_string_equal(b.data + strlen(root),
	    "/cur/3000.M2P1Q1.host:2,SX1Rb");

	/* g renames into the store's form, unknown letters kept sorted. */
	assert_int_equal(mailstore_msg_set_flags(g, 1, MAILSTORE_FLAGGED, 2,
	    &error), 0);
	snprintf(path, sizeof(path), "%s/cur/3000.M2P1Q1.host:2,1FXb", root);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(mailstore_msg_set_flags(g, 0, MAILSTORE_SEEN |
	    MAILSTORE_ANSWERED | MAILSTORE_FLAGGED, 0, &error), 0);
	snprintf(path, sizeof(path), "%s/cur/3000.M1P1Q1.host:2,FRS", root);
	assert_int_equal(access(path, F_OK), 0);

	/* f still has the old names: it finds the files again (relocate)
	 * and does not call them expunged. */
	for (size_t i = 0; i < 2; i++) {
		buf_reset(&b);
		assert_int_equal(mailstore_msg_read(f, i, &b, &error), 0);
		assert_false(mailstore_folder_msg(f, i)->expunged);
	}
	assert_string_equal(b.data, "two\n");
	assert_int_equal(mailstore_folder_msg(f, 1)->flags,
	    MAILSTORE_FLAGGED);
	assert_int_equal(mailstore_folder_sync(f, 0, &sync, &error), 0);
	assert_int_equal(sync.n_expunged, 0);
	assert_int_equal(mailstore_folder_count(f), 3);
	mailstore_sync_release(&sync);
	assert_int_equal(mailstore_folder_msg(f, 0)->flags, MAILSTORE_SEEN |
	    MAILSTORE_ANSWERED | MAILSTORE_FLAGGED);
	buf_release(&b);
	mailstore_folder_close(g);
	mailstore_folder_close(f);
	mailstore_close(s);
}

/*
 * RFC 3501 2.3.1.1: a folder deleted and created again gets a new
 * UIDVALIDITY, even within one second.
 */
static void
test_uidvalidity_recreate(void **state)
{
	struct mailstore *s;
	struct mailstore_status st;
	const char *error;
	uint32_t last = 0;
	char path[256];

	s = mailstore_open(root, &error);
	assert_non_null(s);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(mailstore_folder_create(s, "Tmp", &error), 0);
		if (i % 2 == 0)
			assert_int_equal(mailstore_folder_status(s, "Tmp", &st,
			    &error), 0);
		else
			assert_int_equal(mailstore_append(s, "Tmp", "x\r\n",
			    3, 0, NULL, 0, &st.uidvalidity, NULL, &error), 0);
		assert_true(st.uidvalidity > last);
		last = st.uidvalidity;
		assert_int_equal(mailstore_folder_delete(s, "Tmp", &error), 0);
	}
	snprintf(path, sizeof(path), "%s/ulak-uidvalidity", root);
	assert_int_equal(access(path, F_OK), 0);
	/* A damaged file costs only the "last + 1". */
	assert_int_equal(file_write_atomic(path, "junk", 4, 0600, &error), 0);
	assert_int_equal(mailstore_folder_create(s, "Tmp", &error), 0);
	assert_int_equal(mailstore_folder_status(s, "Tmp", &st, &error), 0);
	assert_true(st.uidvalidity > 0);
	mailstore_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_and_recent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flags_in_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expunge_and_sizes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_index_rebuild, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_assignment,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_append_copy_move, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_trylock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_uidvalidity_recreate,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
