/*
 * mbox - From lines, the CRLF/From-quoting filter and mailbox locks; see
 * mbox.h.  The content comes from the queue (any bytes); nothing in it is
 * interpreted beyond line ends and a leading "From ".  The lock functions
 * run with whatever privileges the caller has (the recipient's, in local).
 */
#include "mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

int
mbox_from_line(struct buf *out, const char *sender, time_t when)
{
	size_t start = out->len;
	char date[64];
	struct tm tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		date[0] = '\0';
	if (buf_append_str(out, "From ") < 0)
		goto fail;
	if (*sender == '\0') {
		if (buf_append_str(out, "MAILER-DAEMON") < 0)
			goto fail;
	} else {
		for (const unsigned char *p = (const unsigned char *)sender;
		    *p; p++)
			if (buf_append_char(out, *p <= ' ' || *p == 0x7f ?
			    '_' : (char)*p) < 0)
				goto fail;
	}
	if (buf_printf(out, " %s\n", date) < 0)
		goto fail;
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

void
mbox_filter_init(struct mbox_filter *f, bool quote_from)
{
	memset(f, 0, sizeof(*f));
	f->quote_from = quote_from;
	f->bol = true;
	f->last_lf = true;
}

static int
filter_out(struct mbox_filter *f, const char *p, size_t n, struct buf *out)
{
	if (n == 0)
		return 0;
	f->any = true;
	f->last_lf = p[n - 1] == '\n';
	return buf_append(out, p, n);
}

/* One byte of content that is not the LF of a line end. */
static int
filter_byte(struct mbox_filter *f, char c, struct buf *out)
{
	static const char from[] = "From ";

	if (c == '\n') {
		if (filter_out(f, f->held, f->n_held, out) < 0)
			return -1;
		f->n_held = 0;
		f->bol = true;
		return filter_out(f, "\n", 1, out);
	}
	if (f->bol && f->quote_from) {
		if (c == from[f->n_held]) {
			f->held[f->n_held++] = c;
			if (f->n_held < 5)
				return 0;
			f->n_held = 0;
			f->bol = false;
			return filter_out(f, ">From ", 6, out);
		}
		f->bol = false;
		if (filter_out(f, f->held, f->n_held, out) < 0)
			return -1;
		f->n_held = 0;
		return filter_out(f, &c, 1, out);
	}
	f->bol = false;
	return filter_out(f, &c, 1, out);
}

int
mbox_filter_feed(struct mbox_filter *f, const void *data, size_t len,
    struct buf *out)
{
	const char *p = data;
	size_t i = 0;

	while (i < len) {
		/* Fast path: copy a run of ordinary bytes in the middle of a line. */
		if (!f->bol && !f->cr) {
			size_t j = i;

			while (j < len && p[j] != '\r' && p[j] != '\n')
				j++;
			if (filter_out(f, p + i, j - i, out) < 0)
				return -1;
			i = j;
			if (i == len)
				break;
		}
		char c = p[i++];

		if (f->cr) {
			f->cr = false;
			if (c == '\n') {
				if (filter_byte(f, '\n', out) < 0)
					return -1;
				continue;
			}
			if (filter_byte(f, '\r', out) < 0)
				return -1;
		}
		if (c == '\r') {
			f->cr = true;
			continue;
		}
		if (filter_byte(f, c, out) < 0)
			return -1;
	}
	return 0;
}

int
mbox_filter_finish(struct mbox_filter *f, bool end_with_newline,
    struct buf *out)
{
	if (f->cr) {
		/* A CR that ends the content ends its last line. */
		f->cr = false;
		if (filter_byte(f, '\n', out) < 0)
			return -1;
	}
	if (filter_out(f, f->held, f->n_held, out) < 0)
		return -1;
	f->n_held = 0;
	if (end_with_newline && f->any && !f->last_lf) {
		if (filter_out(f, "\n", 1, out) < 0)
			return -1;
		f->bol = true;
	}
	return 0;
}

static void
short_sleep(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

int
mbox_dotlock_acquire(const char *path, unsigned stale_secs,
    unsigned timeout_secs, const char **error_r)
{
	struct buf lock;
	struct timespec start, now;
	int fd, saved;

	buf_init(&lock, 0);
	(void)buf_printf(&lock, "%s.lock", path);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct stat st;

		fd = open(lock.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd >= 0) {
			(void)close(fd);
			buf_release(&lock);
			return 0;
		}
		if (errno != EEXIST) {
			saved = errno;
			*error_r = err_fmt("create lock file %s: %s", lock.data,
			    strerror(saved));
			buf_release(&lock);
			errno = saved;
			return -1;
		}
		if (lstat(lock.data, &st) == 0 &&
		    time(NULL) > st.st_mtime + (time_t)stale_secs) {
			/* Left by a process that died: take it over. */
			(void)unlink(lock.data);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_secs)
			break;
		short_sleep();
	}
	*error_r = err_fmt("lock file %s is held by another process",
	    lock.data);
	buf_release(&lock);
	errno = EEXIST;
	return -1;
}

void
mbox_dotlock_release(const char *path)
{
	struct buf lock;

	buf_init(&lock, 0);
	(void)buf_printf(&lock, "%s.lock", path);
	(void)unlink(lock.data);
	buf_release(&lock);
}

int
mbox_fcntl_lock(int fd, unsigned timeout_secs, const char **error_r)
{
	struct timespec start, now;
	struct flock fl;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			int saved = errno;

			*error_r = err_fmt("fcntl lock: %s", strerror(saved));
			errno = saved;
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_secs) {
			*error_r = "mailbox is locked by another process";
			errno = EAGAIN;
			return -1;
		}
		short_sleep();
	}
}
