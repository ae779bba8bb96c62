/*
 * Unit tests for src/global/queue_file and src/global/queue: the on-disk
 * format (a golden file), round trips, truncation and damage detection,
 * in-place done-marks, commit/abort/ENOSPC leaving no stray files, and the
 * folder helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>
#include <cmocka.h>

#include "buf.h"
#include "file.h"
#include "queue.h"
#include "queue_file.h"
#include "queue_id.h"

struct env {
	char dir[64];
};

static void
rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[512];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_rf(sub);
	}
	closedir(d);
	rmdir(path);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *err;

	(void)snprintf(e->dir, sizeof(e->dir), "/tmp/test_queue_file.XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	if (queue_dirs_create(e->dir, &err) < 0)
		return -1;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	rm_rf(e->dir);
	free(e);
	return 0;
}

/* Number of entries in QUEUE_DIR/FOLDER (without . and ..). */
static int
count_files(const char *queue_dir, const char *folder)
{
	char path[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", queue_dir, folder);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *
incoming_path(const struct env *e, const char *id)
{
	static char path[512];

	(void)snprintf(path, sizeof(path), "%s/incoming/%s", e->dir, id);
	return path;
}

static const char odd_sender[] = "\"odd\x01%\x7f\xff=x y\"@example.org";
static const char odd_rcpt[] = "\"a\tb%25\\\"c\r\"@[127.0.0.1]";
static const char content[] = "Subject: test\r\n\r\nbody\r\n.dot\r\n\0bin\xff";

static struct queue_writer *
full_writer(const struct env *e)
{
	const char *err = NULL;
	struct queue_writer *w = queue_writer_open(e->dir, &err);

	assert_non_null(w);
	assert_true(queue_id_valid(queue_writer_id(w)));
	queue_writer_set_arrival(w, 1700000000);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, odd_sender, &err), 0);
	assert_int_equal(queue_writer_set(w, QUEUE_ENVID, "env+2Bid", &err), 0);
	assert_int_equal(queue_writer_set(w, QUEUE_CLIENT_NAME, "mx.example.net",
	    &err), 0);
	assert_int_equal(queue_writer_set(w, QUEUE_CLIENT_ADDRESS, "192.0.2.1",
	    &err), 0);
	assert_int_equal(queue_writer_set(w, QUEUE_CLIENT_PORT, "52100", &err), 0);
	assert_int_equal(queue_writer_set(w, QUEUE_HELO_NAME, "helo\nname", &err),
	    0);
	assert_int_equal(queue_writer_set(w, QUEUE_PROTOCOL, "ESMTPSA", &err), 0);
	assert_int_equal(queue_writer_set(w, QUEUE_SASL_USERNAME, "joe", &err), 0);
	queue_writer_set_ret(w, QUEUE_RET_HDRS);
	queue_writer_set_flags(w, QUEUE_FLAG_8BITMIME | QUEUE_FLAG_SMTPUTF8);
	assert_int_equal(queue_writer_add_rcpt(w, "a@example.org",
	    "rfc822;A@example.org", QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY,
	    &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, odd_rcpt, NULL, 0, &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "c@example.org", "",
	    QUEUE_NOTIFY_NEVER, &err), 0);
	assert_int_equal(queue_writer_write_content(w, content,
	    sizeof(content) - 1, &err), 0);
	return w;
}

/* The exact bytes full_writer produces: the format of docs/queue-format.md. */
static const char golden[] =
    "ulak-queue-file 1\n"
    "arrival_time=1700000000\n"
    "sender=\"odd%01%25%7F\xff=x y\"@example.org\n"
    "envid=env+2Bid\n"
    "client_name=mx.example.net\n"
    "client_address=192.0.2.1\n"
    "client_port=52100\n"
    "helo_name=helo%0Aname\n"
    "protocol=ESMTPSA\n"
    "sasl_username=joe\n"
    "ret=hdrs\n"
    "flags=8bitmime,smtputf8\n"
    "rcpt=a@example.org\n"
    "orcpt=rfc822;A@example.org\n"
    "notify=success,delay\n"
    "done=-\n"
    "rcpt=\"a%09b%2525\\\"c%0D\"@[127.0.0.1]\n"
    "orcpt=\n"
    "notify=\n"
    "done=-\n"
    "rcpt=c@example.org\n"
    "orcpt=\n"
    "notify=never\n"
    "done=-\n"
    "content_length=00000000000000000034\n"
    "\n"
    "Subject: test\r\n\r\nbody\r\n.dot\r\n\0bin\xff"
    "end=00000000000000000034\n";

static void
read_all_content(struct queue_file *qf, struct buf *out, size_t step)
{
	char chunk[8192];
	uint64_t off = 0;
	const char *err;

	assert_true(step <= sizeof(chunk));
	for (;;) {
		size_t got;

		assert_int_equal(queue_file_read_content(qf, off, chunk, step,
		    &got, &err), 0);
		if (got == 0)
			break;
		buf_append(out, chunk, got);
		off += got;
	}
}

static void
test_golden_and_round_trip(void **state)
{
	struct env *e = *state;
	struct queue_writer *w = full_writer(e);
	char id[QUEUE_ID_SIZE], want_id[QUEUE_ID_SIZE];
	const char *err = NULL;
	struct queue_file *qf;
	const struct queue_rcpt *r;
	struct buf b;

	memcpy(want_id, queue_writer_id(w), QUEUE_ID_SIZE);
	/* While being written, incoming/ holds only a hidden non-ID name. */
	assert_int_equal(count_files(e->dir, "incoming"), 1);
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	assert_string_equal(id, want_id);
	assert_int_equal(count_files(e->dir, "incoming"), 1);

	buf_init(&b, 0);
	assert_int_equal(file_read_all(incoming_path(e, id), &b, 0, &err), 0);
	assert_int_equal(b.len, sizeof(golden) - 1);
	assert_memory_equal(b.data, golden, sizeof(golden) - 1);
	buf_reset(&b);

	qf = queue_file_open(incoming_path(e, id), false, &err);
	assert_non_null(qf);
	assert_string_equal(queue_file_id(qf), id);
	assert_int_equal(queue_file_arrival(qf), 1700000000);
	assert_string_equal(queue_file_get(qf, QUEUE_SENDER), odd_sender);
	assert_string_equal(queue_file_get(qf, QUEUE_ENVID), "env+2Bid");
	assert_string_equal(queue_file_get(qf, QUEUE_CLIENT_NAME),
	    "mx.example.net");
	assert_string_equal(queue_file_get(qf, QUEUE_CLIENT_ADDRESS), "192.0.2.1");
	assert_string_equal(queue_file_get(qf, QUEUE_CLIENT_PORT), "52100");
	assert_string_equal(queue_file_get(qf, QUEUE_HELO_NAME), "helo\nname");
	assert_string_equal(queue_file_get(qf, QUEUE_PROTOCOL), "ESMTPSA");
	assert_string_equal(queue_file_get(qf, QUEUE_SASL_USERNAME), "joe");
	assert_int_equal(queue_file_ret(qf), QUEUE_RET_HDRS);
	assert_int_equal(queue_file_flags(qf),
	    QUEUE_FLAG_8BITMIME | QUEUE_FLAG_SMTPUTF8);
	assert_int_equal(queue_file_rcpt_count(qf), 3);
	r = queue_file_rcpt(qf, 0);
	assert_string_equal(r->address, "a@example.org");
	assert_string_equal(r->orcpt, "rfc822;A@example.org");
	assert_int_equal(r->notify, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY);
	assert_int_equal(r->status, QUEUE_RCPT_OPEN);
	r = queue_file_rcpt(qf, 1);
	assert_string_equal(r->address, odd_rcpt);
	assert_null(r->orcpt);
	assert_int_equal(r->notify, 0);
	r = queue_file_rcpt(qf, 2);
	assert_int_equal(r->notify, QUEUE_NOTIFY_NEVER);
	assert_int_equal(queue_file_content_length(qf), sizeof(content) - 1);
	read_all_content(qf, &b, 5);
	assert_int_equal(b.len, sizeof(content) - 1);
	assert_memory_equal(b.data, content, sizeof(content) - 1);
	queue_file_close(qf);
	buf_release(&b);
}

static void
test_minimal(void **state)
{
	struct env *e = *state;
	const char *err = NULL;
	struct queue_writer *w = queue_writer_open(e->dir, &err);
	struct queue_file *qf;
	char id[QUEUE_ID_SIZE];
	size_t got;
	char c;
	time_t before = time(NULL);

	/* Null sender, no content at all, nothing optional. */
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "", &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "postmaster", NULL, 0, &err), 0);
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	qf = queue_file_open(incoming_path(e, id), false, &err);
	assert_non_null(qf);
	assert_string_equal(queue_file_get(qf, QUEUE_SENDER), "");
	for (int f = QUEUE_ENVID; f < QUEUE_FIELD_COUNT; f++)
		assert_null(queue_file_get(qf, (enum queue_field)f));
	assert_int_equal(queue_file_ret(qf), QUEUE_RET_NONE);
	assert_int_equal(queue_file_flags(qf), 0);
	assert_true(queue_file_arrival(qf) >= before &&
	    queue_file_arrival(qf) <= time(NULL));
	assert_int_equal(queue_file_content_length(qf), 0);
	assert_int_equal(queue_file_read_content(qf, 0, &c, 1, &got, &err), 0);
	assert_int_equal(got, 0);
	assert_string_equal(queue_notify_str(queue_file_rcpt(qf, 0)->notify), "");
	queue_file_close(qf);
	assert_string_equal(queue_notify_str(QUEUE_NOTIFY_SUCCESS |
	    QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY), "success,failure,delay");
	assert_string_equal(queue_notify_str(QUEUE_NOTIFY_NEVER |
	    QUEUE_NOTIFY_DELAY), "invalid");
}

static void
test_big_content(void **state)
{
	struct env *e = *state;
	const char *err = NULL;
	struct queue_writer *w = queue_writer_open(e->dir, &err);
	struct queue_file *qf;
	char id[QUEUE_ID_SIZE], chunk[7001], back[8192];
	const size_t total = 5 * 1024 * 1024 + 17;
	size_t done = 0;
	uint64_t off = 0;

	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "a@b", &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "c@d", NULL, 0, &err), 0);
	while (done < total) {
		size_t n = total - done < sizeof(chunk) ? total - done :
		    sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = (char)((done + i) * 7 % 251);
		assert_int_equal(queue_writer_write_content(w, chunk, n, &err), 0);
		done += n;
	}
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	qf = queue_file_open(incoming_path(e, id), false, &err);
	assert_non_null(qf);
	assert_int_equal(queue_file_content_length(qf), total);
	for (;;) {
		size_t got;

		assert_int_equal(queue_file_read_content(qf, off, back,
		    sizeof(back), &got, &err), 0);
		if (got == 0)
			break;
		for (size_t i = 0; i < got; i++)
			if (back[i] != (char)((off + i) * 7 % 251))
				fail_msg("content differs at %llu",
				    (unsigned long long)(off + i));
		off += got;
	}
	assert_int_equal(off, total);
	queue_file_close(qf);
}

static void
write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(file_write_full(fd, data, len), 0);
	close(fd);
}

static void
test_truncation(void **state)
{
	struct env *e = *state;
	char path[512];
	const char *err = NULL;
	struct queue_file *qf;
	char *longer;

	(void)snprintf(path, sizeof(path), "%s/corrupt/1GA4GC208J03NQK8N", e->dir);
	write_bytes(path, golden, sizeof(golden) - 1);
	qf = queue_file_open(path, false, &err);
	assert_non_null(qf);
	queue_file_close(qf);
	/* Every shorter file is refused, whatever byte it ends at. */
	for (size_t len = 0; len < sizeof(golden) - 1; len++) {
		write_bytes(path, golden, len);
		err = NULL;
		qf = queue_file_open(path, false, &err);
		if (qf != NULL)
			fail_msg("truncation at %zu accepted", len);
		assert_non_null(err);
		assert_true(strncmp(err, path, strlen(path)) == 0);
	}
	write_bytes(path, golden, 0);
	assert_null(queue_file_open(path, false, &err));
	assert_string_equal(err + strlen(path), ": empty file");
	write_bytes(path, golden, 100);
	assert_null(queue_file_open(path, false, &err));
	assert_string_equal(err + strlen(path), ": truncated envelope");
	write_bytes(path, golden, sizeof(golden) - 10);
	assert_null(queue_file_open(path, false, &err));
	assert_string_equal(err + strlen(path), ": file size 521 does not match "
	    "content length 34 (truncated?)");
	/* A byte too many is refused too. */
	longer = malloc(sizeof(golden));
	memcpy(longer, golden, sizeof(golden) - 1);
	longer[sizeof(golden) - 1] = '\n';
	write_bytes(path, longer, sizeof(golden));
	assert_null(queue_file_open(path, false, &err));
	free(longer);
}

/* Replace the first FROM in golden with TO, write it, expect ERROR. */
static void
test_garbled(void **state)
{
	static const struct {
		const char *from, *to, *error;
	} t[] = {
		{ "ulak-queue-file 1", "ulak-queue-file 3",
		    "unsupported queue file version 3" },
		{ "ulak-queue-file 1", "ulak-queue-file x", "bad version line" },
		{ "ulak-queue-file 1", "ulak-queue-file ", "bad version line" },
		{ "ulak-queue-file 1", "From sender", "not a queue file" },
		{ "arrival_time=1700000000\n", "", "missing arrival_time" },
		{ "arrival_time=1700000000", "arrival_time=-1",
		    "line 2: bad arrival_time" },
		{ "envid=env+2Bid\n", "envid=env+2Bid\nenvid=x\n",
		    "line 5: duplicate envid" },
		{ "sender=\"odd", "sender=\"%00odd", "line 3: sender: NUL byte in value" },
		{ "sender=\"odd%01", "sender=\"odd%1", "line 3: sender: bad % escape in value" },
		{ "sender=\"odd%01%25%7F\xff=x y\"@example.org\n", "",
		    "missing sender" },
		{ "protocol=ESMTPSA", "color=blue", "line 9: unknown field color" },
		{ "protocol=ESMTPSA", "=ESMTPSA", "line 9: not a name=value line" },
		{ "protocol=ESMTPSA", "protocol ESMTPSA",
		    "line 9: not a name=value line" },
		{ "ret=hdrs", "ret=all", "line 11: bad ret value" },
		{ "flags=8bitmime,smtputf8", "flags=8bitmime,8bitmime",
		    "line 12: bad or duplicate flags" },
		{ "flags=8bitmime,smtputf8", "flags=", "line 12: bad or duplicate flags" },
		{ "flags=8bitmime,smtputf8", "flags=binarymime",
		    "line 12: bad or duplicate flags" },
		{ "rcpt=a@example.org", "rcpt=", "line 13: empty recipient" },
		{ "orcpt=rfc822;A@example.org\n", "", "line 14: orcpt expected" },
		{ "notify=success,delay", "notify=success,never",
		    "line 15: bad notify value" },
		{ "notify=success,delay", "notify=success,", "line 15: bad notify value" },
		{ "notify=success,delay", "notify=Success", "line 15: bad notify value" },
		{ "notify=success,delay\n", "", "line 15: notify expected" },
		{ "done=-\nrcpt=\"a", "done=X\nrcpt=\"a", "line 16: bad done mark" },
		{ "done=-\nrcpt=\"a", "done=--\nrcpt=\"a", "line 16: bad done mark" },
		{ "done=-\nrcpt=\"a", "done=%2D\nrcpt=\"a", "line 16: bad done mark" },
		{ "done=-\nrcpt=\"a", "rcpt=\"a", "line 16: done expected" },
		{ "done=-\nrcpt=\"a", "done=-\nsender=x\nrcpt=\"a",
		    "line 17: unexpected sender after the recipients" },
		{ "content_length=00000000000000000034",
		    "content_length=0000000000000000034", "line 25: bad content_length" },
		{ "content_length=00000000000000000034",
		    "content_length=0000000000000000003x", "line 25: bad content_length" },
		{ "content_length=00000000000000000034",
		    "content_length=00000000000000000033",
		    "file size 530 does not match content length 33 (truncated?)" },
		{ "content_length=00000000000000000034\n\n",
		    "content_length=00000000000000000034\nx=1\n\n",
		    "line 26: empty line expected after content_length" },
		{ "done=-\ncontent_length", "done=-\n\ncontent_length",
		    "line 25: unexpected end of envelope" },
		{ "end=00000000000000000034\n", "End=00000000000000000034\n",
		    "bad end line" },
		{ "end=00000000000000000034\n", "end=00000000000000000035\n",
		    "bad end line" },
		{ "rcpt=a@example.org\norcpt=rfc822;A@example.org\nnotify=success,delay\n"
		  "done=-\nrcpt=\"a%09b%2525\\\"c%0D\"@[127.0.0.1]\norcpt=\nnotify=\n"
		  "done=-\nrcpt=c@example.org\norcpt=\nnotify=never\ndone=-\n", "",
		    "line 13: unknown field content_length" },
	};
	struct env *e = *state;
	char path[512];

	(void)snprintf(path, sizeof(path), "%s/corrupt/1GA4GC208J03NQK8N", e->dir);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf b;
		const char *at = NULL, *err = NULL;
		struct queue_file *qf;

		/* memmem: golden holds a NUL in its content. */
		at = memmem(golden, sizeof(golden) - 1, t[i].from, strlen(t[i].from));
		assert_non_null(at);
		buf_init(&b, 0);
		buf_append(&b, golden, (size_t)(at - golden));
		buf_append_str(&b, t[i].to);
		buf_append(&b, at + strlen(t[i].from),
		    sizeof(golden) - 1 - (size_t)(at - golden) - strlen(t[i].from));
		write_bytes(path, b.data, b.len);
		qf = queue_file_open(path, false, &err);
		if (qf != NULL)
			fail_msg("case %zu accepted", i);
		assert_string_equal(err + strlen(path) + 2, t[i].error);
		buf_release(&b);
	}
}

static void
test_open_errors(void **state)
{
	struct env *e = *state;
	char path[512], link_path[512];
	const char *err = NULL;

	(void)snprintf(path, sizeof(path), "%s/active", e->dir);
	assert_null(queue_file_open(path, false, &err));
	assert_non_null(strstr(err, ": not a regular file"));
	(void)snprintf(path, sizeof(path), "%s/active/fifo", e->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(queue_file_open(path, false, &err));
	assert_non_null(strstr(err, ": not a regular file"));
	(void)snprintf(path, sizeof(path), "%s/active/missing", e->dir);
	assert_null(queue_file_open(path, false, &err));
	assert_non_null(strstr(err, ": No such file or directory"));
	(void)snprintf(path, sizeof(path), "%s/active/real", e->dir);
	write_bytes(path, golden, sizeof(golden) - 1);
	(void)snprintf(link_path, sizeof(link_path), "%s/active/link", e->dir);
	assert_int_equal(symlink(path, link_path), 0);
	assert_null(queue_file_open(link_path, false, &err));
	assert_non_null(strstr(err, "open "));
}

static void
test_mark_in_place(void **state)
{
	struct env *e = *state;
	struct queue_writer *w = full_writer(e);
	char id[QUEUE_ID_SIZE];
	const char *err = NULL;
	struct queue_file *qf;
	struct stat st1, st2;
	struct buf b, want;

	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	assert_int_equal(stat(incoming_path(e, id), &st1), 0);

	qf = queue_file_open(incoming_path(e, id), false, &err);
	assert_int_equal(queue_file_mark_recipient(qf, 0, QUEUE_RCPT_DELIVERED,
	    &err), -1);
	assert_non_null(strstr(err, ": not open for update"));
	queue_file_close(qf);

	qf = queue_file_open(incoming_path(e, id), true, &err);
	assert_non_null(qf);
	assert_int_equal(queue_file_mark_recipient(qf, 0, QUEUE_RCPT_DELIVERED,
	    &err), 0);
	assert_int_equal(queue_file_rcpt(qf, 0)->status, QUEUE_RCPT_DELIVERED);
	assert_int_equal(queue_file_set_mark(qf, 2, QUEUE_RCPT_BOUNCED, &err), 0);
	assert_int_equal(queue_file_sync(qf, &err), 0);
	queue_file_close(qf);

	/* Same inode, same size: only the two mark bytes changed. */
	assert_int_equal(stat(incoming_path(e, id), &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_size, st2.st_size);
	buf_init(&b, 0);
	buf_init(&want, 0);
	assert_int_equal(file_read_all(incoming_path(e, id), &b, 0, &err), 0);
	buf_append(&want, golden, sizeof(golden) - 1);
	{
		char *m = memmem(want.data, want.len, "done=-", 6);

		m[5] = 'D';
		m = memmem(m + 6, want.len - (size_t)(m + 6 - want.data),
		    "done=-", 6);
		m = memmem(m + 6, want.len - (size_t)(m + 6 - want.data),
		    "done=-", 6);
		m[5] = 'B';
	}
	assert_int_equal(b.len, want.len);
	assert_memory_equal(b.data, want.data, b.len);
	buf_release(&b);
	buf_release(&want);

	qf = queue_file_open(incoming_path(e, id), false, &err);
	assert_non_null(qf);
	assert_int_equal(queue_file_rcpt(qf, 0)->status, QUEUE_RCPT_DELIVERED);
	assert_int_equal(queue_file_rcpt(qf, 1)->status, QUEUE_RCPT_OPEN);
	assert_int_equal(queue_file_rcpt(qf, 2)->status, QUEUE_RCPT_BOUNCED);
	queue_file_close(qf);
}

static void
test_commit_abort(void **state)
{
	struct env *e = *state;
	const char *err = NULL;
	struct queue_writer *w;
	char id[QUEUE_ID_SIZE], big[9000];

	/* Abort, before and after content. */
	w = queue_writer_open(e->dir, &err);
	assert_int_equal(count_files(e->dir, "incoming"), 1);
	queue_writer_abort(w);
	assert_int_equal(count_files(e->dir, "incoming"), 0);
	w = full_writer(e);
	queue_writer_abort(w);
	assert_int_equal(count_files(e->dir, "incoming"), 0);
	queue_writer_abort(NULL);

	/* Commit without sender or recipients fails and cleans up. */
	w = queue_writer_open(e->dir, &err);
	assert_int_equal(queue_writer_add_rcpt(w, "a@b", NULL, 0, &err), 0);
	assert_int_equal(queue_writer_commit(w, id, &err), -1);
	assert_non_null(strstr(err, ": no sender set"));
	assert_int_equal(count_files(e->dir, "incoming"), 0);
	w = queue_writer_open(e->dir, &err);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "a@b", &err), 0);
	assert_int_equal(queue_writer_write_content(w, "x", 1, &err), 0);
	assert_int_equal(queue_writer_commit(w, id, &err), -1);
	assert_non_null(strstr(err, ": no recipients"));
	assert_int_equal(count_files(e->dir, "incoming"), 0);

	/* Bad values are refused one by one; the writer stays usable. */
	w = queue_writer_open(e->dir, &err);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, big, &err), -1);
	assert_string_equal(err, "sender too long");
	assert_int_equal(queue_writer_add_rcpt(w, big, NULL, 0, &err), -1);
	assert_string_equal(err, "recipient: attribute rcpt: value too long");
	assert_int_equal(queue_writer_add_rcpt(w, "", NULL, 0, &err), -1);
	assert_string_equal(err, "empty recipient address");
	assert_int_equal(queue_writer_add_rcpt(w, "a@b", NULL,
	    QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_SUCCESS, &err), -1);
	assert_string_equal(err, "bad NOTIFY combination 0x3");
	assert_int_equal(queue_writer_add_rcpt(w, "a@b", NULL, 16, &err), -1);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "s@b", &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "a@b", NULL, 0, &err), 0);
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	assert_int_equal(count_files(e->dir, "incoming"), 1);

	/* An unwritable incoming/ (as on a read-only file system). */
	if (geteuid() != 0) {
		char path[512];

		(void)snprintf(path, sizeof(path), "%s/incoming", e->dir);
		assert_int_equal(chmod(path, 0500), 0);
		assert_null(queue_writer_open(e->dir, &err));
		assert_non_null(strstr(err, ": Permission denied"));
		assert_int_equal(chmod(path, 0700), 0);
	}

	/* No queue folder: a clear error. */
	assert_null(queue_writer_open("/nonexistent/queue", &err));
	assert_string_equal(err, "create queue file in /nonexistent/queue/incoming: "
	    "No such file or directory");
}

static void
set_fsize_limit(rlim_t limit)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void
test_enospc(void **state)
{
	struct env *e = *state;
	const char *err = NULL;
	struct queue_writer *w;
	char id[QUEUE_ID_SIZE], chunk[65536];
	struct rlimit saved;
	int r = 0;

	/*
	 * A full disk, simulated without root: RLIMIT_FSIZE makes write(2)
	 * fail with EFBIG exactly where ENOSPC would.
	 */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_IGN);
	memset(chunk, 'x', sizeof(chunk));

	/* Failing while streaming content. */
	set_fsize_limit(100000);
	w = queue_writer_open(e->dir, &err);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "a@b", &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "c@d", NULL, 0, &err), 0);
	for (int i = 0; i < 16 && r == 0; i++)
		r = queue_writer_write_content(w, chunk, sizeof(chunk), &err);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err, ": File too large"));
	/* The writer stays failed; commit fails and removes the file. */
	assert_int_equal(queue_writer_write_content(w, "x", 1, &err), -1);
	assert_int_equal(queue_writer_commit(w, id, &err), -1);
	assert_non_null(strstr(err, ": File too large"));
	assert_int_equal(count_files(e->dir, "incoming"), 0);

	/* Failing only at commit (the content was still buffered). */
	set_fsize_limit(200);
	w = queue_writer_open(e->dir, &err);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "a@b", &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "c@d", NULL, 0, &err), 0);
	assert_int_equal(queue_writer_write_content(w, chunk, 1000, &err), 0);
	assert_int_equal(queue_writer_commit(w, id, &err), -1);
	assert_non_null(strstr(err, ": File too large"));
	assert_int_equal(count_files(e->dir, "incoming"), 0);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, SIG_DFL);
}

static void
test_concurrent_writers(void **state)
{
	enum { CHILDREN = 6, PER_CHILD = 40 };
	struct env *e = *state;
	DIR *d;
	struct dirent *de;
	char path[512];
	int n = 0;

	for (int c = 0; c < CHILDREN; c++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < PER_CHILD; i++) {
				const char *err;
				char id[QUEUE_ID_SIZE];
				struct queue_writer *w =
				    queue_writer_open(e->dir, &err);

				if (w == NULL ||
				    queue_writer_set(w, QUEUE_SENDER, "a@b", &err) ||
				    queue_writer_add_rcpt(w, "c@d", NULL, 0, &err) ||
				    queue_writer_commit(w, id, &err))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int c = 0; c < CHILDREN; c++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	(void)snprintf(path, sizeof(path), "%s/incoming", e->dir);
	d = opendir(path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(queue_id_valid(de->d_name));
		n++;
	}
	closedir(d);
	assert_int_equal(n, CHILDREN * PER_CHILD);
}

static void
test_dirs_and_move(void **state)
{
	struct env *e = *state;
	static const struct {
		const char *name;
		mode_t mode;
	} modes[] = {
		{ "maildrop", 01733 }, { "incoming", 0700 }, { "active", 0700 },
		{ "deferred", 0700 }, { "hold", 0700 }, { "corrupt", 0700 },
		{ "bounce", 0700 }, { "defer", 0700 }, { "private", 0700 },
		{ "pid", 0755 },
	};
	const char *err = NULL;
	char path[512], id[QUEUE_ID_SIZE];
	struct stat st;
	struct buf b;
	struct queue_writer *w;
	struct queue_file *qf;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", e->dir, modes[i].name);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, modes[i].mode);
	}
	/* Idempotent; a file in the way is an error. */
	assert_int_equal(queue_dirs_create(e->dir, &err), 0);
	(void)snprintf(path, sizeof(path), "%s/pid", e->dir);
	rmdir(path);
	write_bytes(path, "x", 1);
	assert_int_equal(queue_dirs_create(e->dir, &err), -1);
	assert_non_null(strstr(err, "/pid: not a folder"));
	unlink(path);

	assert_true(queue_folder_valid("deferred"));
	assert_false(queue_folder_valid("private"));
	assert_false(queue_folder_valid(".."));
	buf_init(&b, 0);
	assert_int_equal(queue_path(&b, "/q", "hold", "1GA4GC208J03NQK8N", &err), 0);
	assert_string_equal(b.data, "/q/hold/1GA4GC208J03NQK8N");
	assert_int_equal(queue_path(&b, "/q", "../etc", "1GA4GC208J03NQK8N", &err),
	    -1);
	assert_string_equal(err, "not a queue folder: ../etc");
	assert_int_equal(queue_path(&b, "/q", "hold", "../../passwd", &err), -1);
	assert_string_equal(err, "not a queue ID: ../../passwd");

	w = queue_writer_open(e->dir, &err);
	queue_writer_set(w, QUEUE_SENDER, "a@b", &err);
	queue_writer_add_rcpt(w, "c@d", NULL, 0, &err);
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	assert_int_equal(queue_move(e->dir, id, "incoming", "active", false,
	    &err), 0);
	assert_int_equal(queue_move(e->dir, id, "active", "deferred", true,
	    &err), 0);
	assert_int_equal(count_files(e->dir, "incoming"), 0);
	assert_int_equal(count_files(e->dir, "active"), 0);
	assert_int_equal(queue_path(&b, e->dir, "deferred", id, &err), 0);
	qf = queue_file_open(b.data, false, &err);
	assert_non_null(qf);
	assert_string_equal(queue_file_id(qf), id);
	queue_file_close(qf);
	assert_int_equal(queue_move(e->dir, id, "active", "hold", true, &err), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(queue_move(e->dir, id, "deferred", "private", true,
	    &err), -1);
	assert_string_equal(err, "not a queue folder: private");
	buf_release(&b);
}

static void
test_clean_tmp(void **state)
{
	struct env *e = *state;
	const char *err = NULL;
	char path[512];
	struct utimbuf old = { .actime = 1000, .modtime = 1000 };
	struct queue_writer *w = queue_writer_open(e->dir, &err);

	(void)snprintf(path, sizeof(path), "%s/incoming/.tmp-stale1", e->dir);
	write_bytes(path, "x", 1);
	assert_int_equal(utime(path, &old), 0);
	(void)snprintf(path, sizeof(path), "%s/incoming/1GA4GC208J03NQK8N", e->dir);
	write_bytes(path, "x", 1);
	assert_int_equal(utime(path, &old), 0);
	/* The live writer's file is recent and stays; a queue file stays. */
	assert_int_equal(queue_clean_tmp(e->dir, 3600, &err), 1);
	assert_int_equal(count_files(e->dir, "incoming"), 2);
	queue_writer_abort(w);
	assert_int_equal(queue_clean_tmp("/nonexistent", 3600, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_golden_and_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dirs_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_tmp, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
