/*
 * maildir - unique names and folder creation of a Maildir; see maildir.h.
 * Runs with the caller's privileges (the recipient's, in local); it
 * creates only the folders it is asked for and never follows into other
 * places (mkdir(2) does not follow a symbolic link at the last component).
 */
#include "maildir.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"

int
maildir_unique_name(struct buf *out, time_t sec, long usec, pid_t pid,
    unsigned long counter, const char *host)
{
	size_t start = out->len;

	if (buf_printf(out, "%lld.M%06ldP%ldQ%lu.", (long long)sec, usec,
	    (long)pid, counter) < 0)
		goto fail;
	if (*host == '\0')
		host = "localhost";
	for (; *host; host++) {
		int rc;

		if (*host == '/')
			rc = buf_append_str(out, "\\057");
		else if (*host == ':')
			rc = buf_append_str(out, "\\072");
		else
			rc = buf_append_char(out, *host);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

int
maildir_size_suffix(struct buf *out, uint64_t size)
{
	return buf_printf(out, ",S=%llu", (unsigned long long)size);
}

static int
make_dir(const char *path, mode_t mode, const char **error_r)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	int saved = errno;

	*error_r = err_fmt("create maildir folder %s: %s", path,
	    strerror(saved));
	errno = saved;
	return -1;
}

int
maildir_create(const char *path, mode_t mode, const char **error_r)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	struct buf p;
	int rc = 0;

	if (make_dir(path, mode, error_r) < 0)
		return -1;
	buf_init(&p, 0);
	for (size_t i = 0; i < 3 && rc == 0; i++) {
		buf_reset(&p);
		(void)buf_printf(&p, "%s/%s", path, sub[i]);
		rc = make_dir(p.data, mode, error_r);
	}
	buf_release(&p);
	return rc;
}
