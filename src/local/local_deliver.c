/*
 * local_deliver - the final deliveries of local: Maildir, mbox, "/file"
 * and "|command", each with the right privileges.
 *
 * Privileges: when local runs as root (master.cf unpriv = n), every file
 * access for a recipient happens in a child process that has become that
 * recipient first (setgroups, setgid, setuid, checked); the child reports
 * its outcome through a pipe and exits.  Commands and files never run as
 * root: a uid-0 recipient's commands and files get default_privs, as in
 * Postfix; root's own mailbox is written as root (Postfix does the same),
 * and mailboxes in mail_spool_directory are created as root and then
 * given to their user (a spool folder such as /var/mail is not writable by
 * users).  When local does not run as root, everything runs as the
 * invoking user in this process and no privilege change is attempted.
 *
 * Distrusts: the message content (any bytes; only line ends and "From "
 * are looked at), the paths and commands from aliases and .forward files
 * (they are opened with O_NOFOLLOW where a link could redirect a
 * privileged write, and run only with the owner's privileges), and the
 * output of commands (kept short and made printable).
 */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "log.h"
#include "maildir.h"
#include "mbox.h"
#include "mem.h"
#include "queue_file.h"
#include "sys_exits.h"

/* Keep at most this much of a command's output for the reason text. */
#define LOCAL_OUTPUT_MAX 512
/* Waiting for a mailbox lock. */
#define LOCAL_LOCK_TIMEOUT 20
/* A dot-lock older than this was left by a dead process. */
#define LOCAL_LOCK_STALE 500

void
local_result_init(struct local_result *r)
{
	memset(r->dsn, 0, sizeof(r->dsn));
	buf_init(&r->text, 0);
}

void
local_result_release(struct local_result *r)
{
	buf_release(&r->text);
}

void
local_result_set(struct local_result *r, const char *dsn, const char *fmt,
    ...)
{
	va_list ap;

	(void)str_copy(r->dsn, sizeof(r->dsn), dsn);
	buf_reset(&r->text);
	va_start(ap, fmt);
	(void)buf_vprintf(&r->text, fmt, ap);
	va_end(ap);
}

/* The enhanced status code for a failed file system call. */
static const char *
errno_dsn(int e)
{
	switch (e) {
	case ENOSPC:
		return "4.3.1";
	case EDQUOT:
		return "4.2.2";
	case EFBIG:
		return "5.2.2";
	case EIO:
	case EROFS:
		return "4.3.0";
	default:
		return "4.2.0";
	}
}

/*
 * Become AS for good (child processes only).  -1 with error_r.  A uid of
 * 0 is refused unless ALLOW_ROOT.
 */
static int
become(const struct local_user *as, bool allow_root, const char **error_r)
{
	if (as->uid == 0 && !allow_root) {
		*error_r = "refusing to deliver with root privileges";
		return -1;
	}
	if (setgroups(1, &as->gid) < 0 || setgid(as->gid) < 0 ||
	    setuid(as->uid) < 0) {
		*error_r = err_fmt("cannot become uid %lu: %s",
		    (unsigned long)as->uid, strerror(errno));
		return -1;
	}
	if (getuid() != as->uid || geteuid() != as->uid ||
	    getegid() != as->gid || (as->uid != 0 && setuid(0) == 0)) {
		*error_r = "privileges could not be changed for good";
		return -1;
	}
	return 0;
}

typedef void task_fn(void *ctx, struct local_result *r);

/*
 * End a forked child at once: no atexit handlers, no stdio flush, and no
 * leak check of the memory it shares with its parent (sanitizers hook
 * _exit too).
 */
static void __attribute__((noreturn))
child_exit(int status)
{
	for (;;)
		(void)syscall(SYS_exit_group, status);
}

/*
 * Run FN with AS's privileges: in a child that becomes AS when we are
 * root (KEEP_ROOT: the child stays root), in this process otherwise.
 */
static void
run_as(const struct local_cfg *cfg, const struct local_user *as,
    bool keep_root, task_fn *fn, void *ctx, struct local_result *r)
{
	struct buf got;
	int p[2], status;
	pid_t pid;

	if (!cfg->root || as == NULL) {
		fn(ctx, r);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		local_result_set(r, "4.3.0", "cannot create a pipe: %s",
		    strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		local_result_set(r, "4.3.0", "cannot fork: %s",
		    strerror(errno));
		(void)close(p[0]);
		(void)close(p[1]);
		return;
	}
	if (pid == 0) {
		const char *error;

		(void)close(p[0]);
		if (!keep_root && become(as, true, &error) < 0)
			local_result_set(r, "4.3.0", "%s", error);
		else
			fn(ctx, r);
		(void)file_write_full(p[1], r->dsn, strlen(r->dsn));
		(void)file_write_full(p[1], "\n", 1);
		(void)file_write_full(p[1], r->text.data, r->text.len);
		child_exit(0);
	}
	(void)close(p[1]);
	buf_init(&got, 0);
	for (;;) {
		char chunk[8192];
		ssize_t n = read(p[0], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		(void)buf_append(&got, chunk, (size_t)n);
	}
	(void)close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *nl = memchr(got.data, '\n', got.len);

	if (nl == NULL || nl == got.data || (size_t)(nl - got.data) >=
	    sizeof(r->dsn)) {
		if (WIFSIGNALED(status))
			local_result_set(r, "4.3.0", "delivery process died "
			    "with signal %d", WTERMSIG(status));
		else
			local_result_set(r, "4.3.0", "delivery process failed "
			    "without a result");
	} else {
		memcpy(r->dsn, got.data, (size_t)(nl - got.data));
		r->dsn[nl - got.data] = '\0';
		buf_reset(&r->text);
		(void)buf_append(&r->text, nl + 1,
		    got.len - (size_t)(nl + 1 - got.data));
	}
	buf_release(&got);
}

/* Reading .forward and include files. */

struct read_task {
	const char *path;
	const struct local_user *as;	/* owner check when root */
	bool check_owner;
	size_t max;
};

static void
read_task(void *ctx, struct local_result *r)
{
	struct read_task *t = ctx;
	struct stat st;
	int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			local_result_set(r, "0.0.0", "missing");
		else
			local_result_set(r, "4.3.0", "open: %s",
			    strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		local_result_set(r, "4.3.0", "not a regular file");
		(void)close(fd);
		return;
	}
	if (t->check_owner && st.st_uid != 0 && st.st_uid != t->as->uid) {
		log_warning("%s: not owned by %s or root: ignored", t->path,
		    t->as->name ? t->as->name : "the user");
		local_result_set(r, "0.0.0", "missing");
		(void)close(fd);
		return;
	}
	(void)str_copy(r->dsn, sizeof(r->dsn), "2.0.0");
	buf_reset(&r->text);
	for (;;) {
		char chunk[8192];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			local_result_set(r, "4.3.0", "read: %s",
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (r->text.len + (size_t)n > t->max) {
			local_result_set(r, "4.3.0", "file larger than %zu "
			    "bytes", t->max);
			break;
		}
		(void)buf_append(&r->text, chunk, (size_t)n);
	}
	(void)close(fd);
}

int
local_read_file_as(const struct local_cfg *cfg, const struct local_user *as,
    const char *path, size_t max, struct buf *out, const char **error_r)
{
	struct read_task t = { path, as, as != NULL && cfg->root, max };
	struct local_result r;
	int rc;

	local_result_init(&r);
	run_as(cfg, as, false, read_task, &t, &r);
	if (strcmp(r.dsn, "2.0.0") == 0) {
		if (memchr(r.text.data, '\0', r.text.len) != NULL) {
			*error_r = "file contains a NUL byte";
			rc = -1;
		} else {
			rc = buf_append(out, r.text.data, r.text.len) < 0 ?
			    -1 : 1;
			if (rc < 0)
				*error_r = "file too large";
		}
	} else if (strcmp(r.dsn, "0.0.0") == 0) {
		rc = 0;
	} else {
		*error_r = err_fmt("%s", r.text.data);
		rc = -1;
	}
	local_result_release(&r);
	return rc;
}

/* The message as a mailbox gets it. */

#define COPY_FROM_LINE 0x01u	/* "From sender date" first */
#define COPY_QUOTE 0x02u	/* ">From " quoting */
#define COPY_BLANK 0x04u	/* an empty line at the end */
#define COPY_DELIVERED 0x08u	/* Delivered-To: */
#define COPY_MBOX (COPY_FROM_LINE | COPY_QUOTE | COPY_BLANK)

struct msg_stream {
	const struct local_cfg *cfg;
	const struct local_msg *m;
	const struct local_dest *d;
	unsigned flags;
	int stage;
	uint64_t offset;
	struct mbox_filter filter;
};

static void
stream_init(struct msg_stream *s, const struct local_cfg *cfg,
    const struct local_msg *m, const struct local_dest *d, unsigned flags)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->m = m;
	s->d = d;
	s->flags = flags;
	mbox_filter_init(&s->filter, (flags & COPY_QUOTE) != 0);
}

/* Header values from the envelope must stay on one line. */
static void
append_header(struct buf *out, const char *name, const char *pre,
    const char *value, const char *post)
{
	(void)buf_printf(out, "%s: %s", name, pre);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		(void)buf_append_char(out, *p < ' ' || *p == 0x7f ? '_' :
		    (char)*p);
	(void)buf_printf(out, "%s\n", post);
}

/* Append the next part of the message to OUT: 1 more, 0 done, -1 error. */
static int
stream_next(struct msg_stream *s, struct buf *out, const char **error_r)
{
	char chunk[65536];
	size_t got;

	switch (s->stage) {
	case 0:
		if (s->flags & COPY_FROM_LINE)
			(void)mbox_from_line(out, s->d->sender,
			    queue_file_arrival(s->m->qf));
		append_header(out, "Return-Path", "<", s->d->sender, ">");
		append_header(out, "X-Original-To", "", s->m->orig_rcpt, "");
		if (s->flags & COPY_DELIVERED)
			append_header(out, "Delivered-To", "", s->d->address,
			    "");
		s->stage = 1;
		return 1;
	case 1:
		if (queue_file_read_content(s->m->qf, s->offset, chunk,
		    sizeof(chunk), &got, error_r) < 0)
			return -1;
		if (got > 0) {
			s->offset += got;
			(void)mbox_filter_feed(&s->filter, chunk, got, out);
			return 1;
		}
		(void)mbox_filter_finish(&s->filter, true, out);
		if (s->flags & COPY_BLANK)
			(void)buf_append_char(out, '\n');
		s->stage = 2;
		return 1;
	default:
		return 0;
	}
}

/*
 * Write the message to FD from its current position; BASE is the size
 * before (for mailbox_size_limit).  -1 with errno and error_r.
 */
static int
copy_message(int fd, const struct local_cfg *cfg, const struct local_msg *m,
    const struct local_dest *d, unsigned flags, uint64_t base,
    uint64_t *size_r, const char **error_r)
{
	struct msg_stream s;
	struct buf out;
	uint64_t total = 0;
	int rc;

	stream_init(&s, cfg, m, d, flags);
	buf_init(&out, 0);
	while ((rc = stream_next(&s, &out, error_r)) > 0) {
		total += out.len;
		if (cfg->mailbox_size_limit > 0 &&
		    base + total > cfg->mailbox_size_limit) {
			*error_r = err_fmt("mailbox is full: it would exceed "
			    "mailbox_size_limit = %llu",
			    (unsigned long long)cfg->mailbox_size_limit);
			errno = EFBIG;
			rc = -1;
			break;
		}
		if (file_write_full(fd, out.data, out.len) < 0) {
			int saved = errno;

			*error_r = err_fmt("write: %s", strerror(saved));
			errno = saved;
			rc = -1;
			break;
		}
		buf_reset(&out);
	}
	if (rc == 0 && fsync(fd) < 0) {
		int saved = errno;

		*error_r = err_fmt("fsync: %s", strerror(saved));
		errno = saved;
		rc = -1;
	}
	if (rc < 0 && errno == 0)
		errno = EIO;	/* a queue file read error */
	buf_release(&out);
	*size_r = total;
	return rc;
}

/* Maildir. */

struct box_task {
	const struct local_cfg *cfg;
	const struct local_msg *m;
	const struct local_dest *d;
	const char *path;	/* Maildir folder (with or without '/'), mbox */
	const char *home;	/* must exist first, or NULL */
	unsigned flags;		/* COPY_* */
	bool chown_new;		/* spool mbox created as root */
	bool dotlock_may_fail;
	const struct local_user *owner;
};

static unsigned long maildir_counter;

static bool
home_missing(const struct box_task *t, struct local_result *r)
{
	struct stat st;

	if (t->home == NULL || stat(t->home, &st) == 0)
		return false;
	local_result_set(r, errno == ENOENT ? "4.2.0" : errno_dsn(errno),
	    "home folder %s of %s is not available: %s", t->home,
	    t->d->address, strerror(errno));
	return true;
}

static void
maildir_task(void *ctx, struct local_result *r)
{
	struct box_task *t = ctx;
	struct buf folder, name, tmp, dst;
	struct timeval tv;
	const char *error;
	uint64_t size;
	int fd = -1;

	if (home_missing(t, r))
		return;
	buf_init(&folder, 0);
	buf_init(&name, 0);
	buf_init(&tmp, 0);
	buf_init(&dst, 0);
	(void)buf_append_str(&folder, t->path);
	while (folder.len > 1 && folder.data[folder.len - 1] == '/')
		buf_truncate(&folder, folder.len - 1);
	if (maildir_create(folder.data, 0700, &error) < 0) {
		local_result_set(r, errno_dsn(errno), "maildir delivery "
		    "failed: %s", error);
		goto out;
	}
	gettimeofday(&tv, NULL);
	(void)maildir_unique_name(&name, tv.tv_sec, (long)tv.tv_usec,
	    getpid(), ++maildir_counter, t->cfg->myhostname);
	(void)buf_printf(&tmp, "%s/tmp/%s", folder.data, name.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0) {
		local_result_set(r, errno_dsn(errno), "maildir delivery "
		    "failed: create %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	if (copy_message(fd, t->cfg, t->m, t->d, t->flags, 0, &size,
	    &error) < 0) {
		local_result_set(r, errno_dsn(errno), "maildir delivery "
		    "failed: %s: %s", tmp.data, error);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		local_result_set(r, errno_dsn(errno), "maildir delivery "
		    "failed: close %s: %s", tmp.data, strerror(errno));
		goto fail;
	}
	fd = -1;
	(void)buf_printf(&dst, "%s/new/%s", folder.data, name.data);
	(void)maildir_size_suffix(&dst, size);
	if (rename(tmp.data, dst.data) < 0) {
		local_result_set(r, errno_dsn(errno), "maildir delivery "
		    "failed: rename to %s: %s", dst.data, strerror(errno));
		goto fail;
	}
	buf_reset(&tmp);
	(void)buf_printf(&tmp, "%s/new", folder.data);
	if (file_fsync_dir(tmp.data, &error) < 0) {
		/* Not durable: take it back so that a retry is not a copy. */
		(void)unlink(dst.data);
		local_result_set(r, "4.3.0", "maildir delivery failed: %s",
		    error);
		goto out;
	}
	local_result_set(r, "2.0.0", "delivered to maildir");
	goto out;
fail:
	if (fd >= 0)
		(void)close(fd);
	buf_reset(&tmp);
	(void)buf_printf(&tmp, "%s/tmp/%s", folder.data, name.data);
	(void)unlink(tmp.data);
out:
	buf_release(&folder);
	buf_release(&name);
	buf_release(&tmp);
	buf_release(&dst);
}

/* mbox. */

static int
mbox_open(const struct box_task *t, struct local_result *r)
{
	struct stat st;
	int fd;

	if (t->chown_new) {
		fd = open(t->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			if (fchown(fd, t->owner->uid, t->owner->gid) < 0) {
				local_result_set(r, "4.2.0", "mailbox %s: "
				    "chown: %s", t->path, strerror(errno));
				(void)close(fd);
				(void)unlink(t->path);
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST) {
			local_result_set(r, errno_dsn(errno), "cannot open "
			    "mailbox %s: %s", t->path, strerror(errno));
			return -1;
		}
	}
	fd = open(t->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		local_result_set(r, errno_dsn(errno), "cannot open mailbox "
		    "%s: %s", t->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1) {
		local_result_set(r, "4.2.0", "mailbox %s is not a regular "
		    "file with one link", t->path);
		(void)close(fd);
		return -1;
	}
	if (t->chown_new && st.st_uid != t->owner->uid) {
		local_result_set(r, "4.2.0", "mailbox %s is not owned by %s",
		    t->path, t->owner->name);
		(void)close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	return fd;
}

static void
mbox_task(void *ctx, struct local_result *r)
{
	struct box_task *t = ctx;
	const char *error;
	bool dotlocked = false;
	uint64_t size;
	off_t old;
	int fd;

	if (home_missing(t, r))
		return;
	if (strcmp(t->path, "/dev/null") == 0) {
		local_result_set(r, "2.0.0", "delivered to file: /dev/null");
		return;
	}
	if (t->cfg->lock_dotlock) {
		if (mbox_dotlock_acquire(t->path, LOCAL_LOCK_STALE,
		    LOCAL_LOCK_TIMEOUT, &error) == 0)
			dotlocked = true;
		else if (errno == EEXIST || !t->dotlock_may_fail) {
			local_result_set(r, errno == EEXIST ? "4.2.0" :
			    errno_dsn(errno), "cannot lock mailbox %s: %s",
			    t->path, error);
			return;
		}
	}
	fd = mbox_open(t, r);
	if (fd < 0)
		goto out;
	if (t->cfg->lock_fcntl &&
	    mbox_fcntl_lock(fd, LOCAL_LOCK_TIMEOUT, &error) < 0) {
		local_result_set(r, "4.2.0", "cannot lock mailbox %s: %s",
		    t->path, error);
		(void)close(fd);
		goto out;
	}
	old = lseek(fd, 0, SEEK_END);
	if (old < 0) {
		local_result_set(r, "4.2.0", "mailbox %s: seek: %s", t->path,
		    strerror(errno));
		(void)close(fd);
		goto out;
	}
	if (copy_message(fd, t->cfg, t->m, t->d, t->flags, (uint64_t)old,
	    &size, &error) < 0) {
		int saved = errno;

		/* Never leave half a message: cut back to the old end. */
		if (ftruncate(fd, old) < 0 || fsync(fd) < 0)
			log_warning("mailbox %s: cannot truncate to %lld "
			    "bytes after an error: %m", t->path,
			    (long long)old);
		local_result_set(r, errno_dsn(saved), "cannot append "
		    "message to %s: %s", t->path, error);
		(void)close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		local_result_set(r, errno_dsn(errno), "mailbox %s: close: %s",
		    t->path, strerror(errno));
		goto out;
	}
	local_result_set(r, "2.0.0", t->d->kind == LOCAL_DEST_FILE ?
	    "delivered to file: %s" : "delivered to mailbox%s", t->d->kind ==
	    LOCAL_DEST_FILE ? t->path : "");
out:
	if (dotlocked)
		mbox_dotlock_release(t->path);
}

/* Commands. */

static void
printable(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		(void)buf_append_char(out, c < ' ' || c == 0x7f ? ' ' :
		    (char)c);
	}
}

static void
env_add(struct strlist *env, const char *name, const char *value)
{
	struct buf e;

	buf_init(&e, 0);
	(void)buf_printf(&e, "%s=", name);
	for (const char *p = value ? value : ""; *p; p++)
		(void)buf_append_char(&e, *p == '\n' || *p == '\r' ? ' ' :
		    *p);
	strlist_add_owned(env, buf_detach(&e, NULL));
	buf_release(&e);
}

static void
close_from(int lowfd)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowfd; fd < max; fd++)
		(void)close(fd);
}

static void
deliver_command(const struct local_cfg *cfg, const struct local_msg *m,
    const struct local_dest *d, const char *cmd, const struct local_user *as,
    unsigned flags, struct local_result *r)
{
	const char *shell = *cfg->local_command_shell ?
	    cfg->local_command_shell : "/bin/sh";
	struct strlist env;
	struct msg_stream s;
	struct buf pending, output;
	struct timespec start, now;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, status = 0;
	bool done_input = false, timed_out = false, out_open = true;
	size_t sent = 0;
	const char *error;
	pid_t pid;

	if (cfg->root && as->uid == 0) {
		local_result_set(r, "4.3.0", "refusing to run command \"%s\" "
		    "as root", cmd);
		return;
	}
	strlist_init(&env);
	env_add(&env, "PATH", "/usr/bin:/bin");
	env_add(&env, "HOME", as->home ? as->home : "/");
	env_add(&env, "USER", as->name);
	env_add(&env, "LOGNAME", as->name);
	env_add(&env, "SHELL", as->shell ? as->shell : "/bin/sh");
	env_add(&env, "SENDER", m->sender);
	env_add(&env, "RECIPIENT", d->address);
	env_add(&env, "ORIGINAL_RECIPIENT", m->orig_rcpt);
	env_add(&env, "LOCAL", d->local);
	env_add(&env, "EXTENSION", d->extension);
	env_add(&env, "DOMAIN", d->domain);
	if (getenv("TZ") != NULL)
		env_add(&env, "TZ", getenv("TZ"));
	buf_init(&pending, 0);
	buf_init(&output, 0);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		local_result_set(r, "4.3.0", "cannot create a pipe: %s",
		    strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		local_result_set(r, "4.3.0", "cannot fork: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		char *argv[] = { (char *)shell, (char *)"-c", (char *)cmd,
			NULL };

		(void)setsid();
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(out[1], 2) < 0)
			child_exit(71);
		close_from(3);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		if (cfg->root && become(as, false, &error) < 0) {
			dprintf(2, "%s\n", error);
			child_exit(75);
		}
		if ((as->home == NULL || chdir(as->home) < 0) &&
		    chdir("/") < 0)
			_exit(75);
		execve(shell, argv, env.v);
		dprintf(2, "cannot run %s: %s\n", shell, strerror(errno));
		child_exit(75);
	}
	(void)close(in[0]);
	(void)close(out[1]);
	in[0] = out[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	stream_init(&s, cfg, m, d, flags);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!done_input || out_open) {
		struct pollfd pfd[2];
		int n = 0, wait_ms;
		long long elapsed;

		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (long long)(now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= (long long)cfg->command_time_limit * 1000) {
			timed_out = true;
			break;
		}
		wait_ms = (int)((long long)cfg->command_time_limit * 1000 -
		    elapsed);
		if (!done_input) {
			pfd[n].fd = in[1];
			pfd[n++].events = POLLOUT;
		}
		if (out_open) {
			pfd[n].fd = out[0];
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == out[0]) {
				char chunk[4096];
				ssize_t got = read(out[0], chunk,
				    sizeof(chunk));

				if (got > 0 && output.len < LOCAL_OUTPUT_MAX)
					printable(&output, chunk,
					    (size_t)got < LOCAL_OUTPUT_MAX -
					    output.len ? (size_t)got :
					    LOCAL_OUTPUT_MAX - output.len);
				if (got == 0 || (got < 0 && errno != EINTR &&
				    errno != EAGAIN))
					out_open = false;
				continue;
			}
			/* stdin of the command */
			if (sent == pending.len) {
				buf_reset(&pending);
				sent = 0;
				int rc = stream_next(&s, &pending, &error);

				if (rc <= 0) {
					if (rc < 0)
						log_warning("%s: %s",
						    m->queue_id, error);
					done_input = true;
					(void)close(in[1]);
					in[1] = -1;
					continue;
				}
			}
			ssize_t w = write(in[1], pending.data + sent,
			    pending.len - sent);

			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* The command does not read its input: its
				 * exit status decides. */
				done_input = true;
				(void)close(in[1]);
				in[1] = -1;
			}
		}
	}
	if (timed_out) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		local_result_set(r, "4.3.0", "Command time limit exceeded: "
		    "\"%s\"", cmd);
	else if (WIFSIGNALED(status))
		local_result_set(r, "4.3.0", "Command died with signal %d: "
		    "\"%s\"", WTERMSIG(status), cmd);
	else if (WEXITSTATUS(status) == 0)
		local_result_set(r, "2.0.0", "delivered to command: %s", cmd);
	else {
		const struct sys_exits_detail *e =
		    sys_exits_detail(WEXITSTATUS(status));

		local_result_set(r, e->dsn, "Command died with status %d: "
		    "\"%s\"%s%s", WEXITSTATUS(status), cmd,
		    output.len ? ". Command output: " : "",
		    str_trim(output.data));
	}
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			(void)close(in[i]);
		if (out[i] >= 0)
			(void)close(out[i]);
	}
	buf_release(&pending);
	buf_release(&output);
	strlist_release(&env);
}

/* Dispatch. */

static bool
prepend_delivered(const struct local_cfg *cfg, const char *what)
{
	return strlist_find_nocase(&cfg->prepend_delivered_header, what) >= 0;
}

static void
deliver_mailbox(const struct local_cfg *cfg, const struct local_msg *m,
    const struct local_dest *d, struct local_result *r)
{
	const struct local_user *u = &d->user;
	struct box_task t;
	struct buf path;
	bool maildir;

	if (*cfg->mailbox_command) {
		deliver_command(cfg, m, d, cfg->mailbox_command,
		    cfg->root && u->uid == 0 ? &cfg->default_privs : u,
		    COPY_FROM_LINE | COPY_DELIVERED, r);
		return;
	}
	memset(&t, 0, sizeof(t));
	t.cfg = cfg;
	t.m = m;
	t.d = d;
	t.owner = u;
	t.flags = COPY_DELIVERED;
	buf_init(&path, 0);
	if (*cfg->home_mailbox) {
		(void)buf_printf(&path, "%s/%s", u->home, cfg->home_mailbox);
		maildir = cfg->home_mailbox[strlen(cfg->home_mailbox) - 1] ==
		    '/';
		t.home = u->home;
		t.dotlock_may_fail = true;
	} else {
		(void)buf_printf(&path, "%s/%s", cfg->mail_spool_directory,
		    u->name);
		maildir = cfg->mail_spool_directory[0] &&
		    cfg->mail_spool_directory[strlen(
		    cfg->mail_spool_directory) - 1] == '/';
		if (cfg->require_home_directory)
			t.home = u->home;
		/* The spool folder belongs to root: create and lock as root,
		 * then the mailbox belongs to its user. */
		t.chown_new = cfg->root && !maildir;
	}
	t.path = path.data;
	if (maildir) {
		run_as(cfg, u, false, maildir_task, &t, r);
	} else {
		t.flags |= COPY_MBOX;
		run_as(cfg, u, t.chown_new, mbox_task, &t, r);
	}
	buf_release(&path);
}

void
local_deliver_dest(const struct local_cfg *cfg, const struct local_msg *m,
    const struct local_dest *d, struct local_result *r)
{
	const struct local_user *as = cfg->root ? &d->user : NULL;

	switch (d->kind) {
	case LOCAL_DEST_MAILBOX:
		deliver_mailbox(cfg, m, d, r);
		return;
	case LOCAL_DEST_COMMAND:
		deliver_command(cfg, m, d, d->target, d->user.name != NULL ?
		    &d->user : &cfg->default_privs, prepend_delivered(cfg, "command") ? COPY_DELIVERED : 0, r);
		return;
	case LOCAL_DEST_FILE: {
		struct box_task t;
		size_t len = strlen(d->target);

		memset(&t, 0, sizeof(t));
		t.cfg = cfg;
		t.m = m;
		t.d = d;
		t.path = d->target;
		t.owner = &d->user;
		t.dotlock_may_fail = true;
		t.flags = prepend_delivered(cfg, "file") ? COPY_DELIVERED : 0;
		if (cfg->root && d->user.uid == 0) {
			local_result_set(r, "4.3.0", "refusing to write file "
			    "%s as root", d->target);
			return;
		}
		if (len > 1 && d->target[len - 1] == '/') {
			run_as(cfg, as, false, maildir_task, &t, r);
		} else {
			t.flags |= COPY_MBOX;
			run_as(cfg, as, false, mbox_task, &t, r);
		}
		if (strcmp(r->dsn, "2.0.0") == 0 && len > 1 &&
		    d->target[len - 1] == '/')
			local_result_set(r, "2.0.0", "delivered to maildir "
			    "%s", d->target);
		return;
	}
	case LOCAL_DEST_REMOTE:
		break;
	}
	log_panic("local_deliver_dest: remote destination");
}
