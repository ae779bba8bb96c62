/*
 * file - safe file helpers; see file.h.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

int
file_write_full(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
file_fsync_dir(const char *dir, const char **error_r)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		*error_r = err_fmt("open folder %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0 && errno != EINVAL) {
		*error_r = err_fmt("fsync folder %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
file_fsync_parent(const char *path, const char **error_r)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r;

	if (slash == NULL)
		return file_fsync_dir(".", error_r);
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	r = file_fsync_dir(dir, error_r);
	free(dir);
	return r;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    const char **error_r)
{
	struct buf tmp;
	int fd;

	buf_init(&tmp, 0);
	(void)buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		*error_r = err_fmt("create %s: %s", tmp.data, strerror(errno));
		buf_release(&tmp);
		return -1;
	}
	if (fchmod(fd, mode) < 0 || file_write_full(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		*error_r = err_fmt("write %s: %s", tmp.data, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = err_fmt("close %s: %s", tmp.data, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0) {
		*error_r = err_fmt("rename %s to %s: %s", tmp.data, path,
		    strerror(errno));
		goto fail;
	}
	buf_release(&tmp);
	return file_fsync_parent(path, error_r);
fail:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp.data);
	buf_release(&tmp);
	return -1;
}

int
file_read_all(const char *path, struct buf *out, size_t max,
    const char **error_r)
{
	char chunk[65536];
	size_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*error_r = err_fmt("open %s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			*error_r = err_fmt("read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		total += (size_t)r;
		if ((max != 0 && total > max) ||
		    buf_append(out, chunk, (size_t)r) < 0) {
			*error_r = err_fmt("%s: file too large", path);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

int
file_mkdirs(const char *path, mode_t mode, const char **error_r)
{
	char *p;
	int r = 0;

	if (*path == '\0') {
		*error_r = err_fmt("mkdir: empty folder name");
		return -1;
	}
	p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char save = *s;

			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				*error_r = err_fmt("mkdir %s: %s", p, strerror(errno));
				r = -1;
				break;
			}
			*s = save;
			if (save == '\0')
				break;
		}
	}
	if (r == 0) {
		struct stat st;

		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			*error_r = err_fmt("%s: not a folder", path);
			r = -1;
		}
	}
	free(p);
	return r;
}

int
file_mtime(const char *path, time_t *mtime_r)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	*mtime_r = st.st_mtime;
	return 0;
}

void
file_sanitize_stdio(void)
{
	for (;;) {
		int fd = open("/dev/null", O_RDWR);

		if (fd < 0)
			_exit(71);	/* EX_OSERR: no logging is possible yet */
		if (fd > 2) {
			close(fd);
			return;
		}
	}
}
