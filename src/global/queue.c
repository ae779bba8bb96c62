/*
 * queue - $queue_directory layout helpers; see queue.h.
 *
 * Folder and ID arguments may come from an administrator's command line
 * (ulak queue), so both are checked before a path is built: no "../".
 */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "queue_id.h"
#include "str.h"

static const struct {
	const char *name;
	mode_t mode;
	bool holds_queue_files;
} folders[] = {
	/*
	 * Submission folder: `ulak sendmail`, run by any local user, drops
	 * files here.  Sticky and write-only for others (1733, like Postfix's
	 * world-writable maildrop without postdrop): a user can add files but
	 * neither list the folder nor remove another user's files; pickup
	 * trusts only a file's owner, never its contents, for who sent it.
	 */
	{ QUEUE_MAILDROP, 01733, false },
	{ QUEUE_INCOMING, 0700, true },
	{ QUEUE_ACTIVE, 0700, true },
	{ QUEUE_DEFERRED, 0700, true },
	{ QUEUE_HOLD, 0700, true },
	{ QUEUE_CORRUPT, 0700, true },
	{ QUEUE_BOUNCE, 0700, false },
	{ QUEUE_DEFER, 0700, false },
	{ QUEUE_PRIVATE, 0700, false },
	{ QUEUE_PID, 0755, false },
};

bool
queue_folder_valid(const char *name)
{
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++)
		if (folders[i].holds_queue_files &&
		    strcmp(folders[i].name, name) == 0)
			return true;
	return false;
}

int
queue_dirs_create(const char *queue_dir, const char **error_r)
{
	struct buf path;
	int r = 0;

	if (file_mkdirs(queue_dir, 0755, error_r) < 0)
		return -1;
	buf_init(&path, 0);
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		buf_reset(&path);
		(void)buf_printf(&path, "%s/%s", queue_dir, folders[i].name);
		if (mkdir(path.data, folders[i].mode) == 0) {
			/* mkdir's mode is filtered by the umask; set it exactly. */
			if (chmod(path.data, folders[i].mode) < 0) {
				*error_r = err_fmt("chmod %s: %s", path.data,
				    strerror(errno));
				r = -1;
				break;
			}
		} else if (errno != EEXIST) {
			*error_r = err_fmt("mkdir %s: %s", path.data,
			    strerror(errno));
			r = -1;
			break;
		} else {
			struct stat st;

			if (stat(path.data, &st) < 0 || !S_ISDIR(st.st_mode)) {
				*error_r = err_fmt("%s: not a folder", path.data);
				r = -1;
				break;
			}
		}
	}
	buf_release(&path);
	if (r == 0)
		r = file_fsync_dir(queue_dir, error_r);
	return r;
}

int
queue_path(struct buf *out, const char *queue_dir, const char *folder,
    const char *id, const char **error_r)
{
	buf_reset(out);
	if (!queue_folder_valid(folder)) {
		*error_r = err_fmt("not a queue folder: %.64s", folder);
		return -1;
	}
	if (!queue_id_valid(id)) {
		*error_r = err_fmt("not a queue ID: %.64s", id);
		return -1;
	}
	if (buf_printf(out, "%s/%s/%s", queue_dir, folder, id) < 0) {
		*error_r = err_fmt("queue path too long");
		return -1;
	}
	return 0;
}

int
queue_move(const char *queue_dir, const char *id, const char *from,
    const char *to, bool sync, const char **error_r)
{
	struct buf src, dst;
	int r = -1;

	buf_init(&src, 0);
	buf_init(&dst, 0);
	if (queue_path(&src, queue_dir, from, id, error_r) < 0 ||
	    queue_path(&dst, queue_dir, to, id, error_r) < 0)
		goto out;
	if (rename(src.data, dst.data) < 0) {
		*error_r = err_fmt("rename %s to %s: %s", src.data, dst.data,
		    strerror(errno));
		goto out;
	}
	if (sync) {
		/* Destination first: then a crash leaves the file in one place. */
		if (file_fsync_parent(dst.data, error_r) < 0 ||
		    file_fsync_parent(src.data, error_r) < 0)
			goto out;
	}
	r = 0;
out:
	buf_release(&src);
	buf_release(&dst);
	return r;
}

int
queue_clean_tmp(const char *queue_dir, time_t max_age, const char **error_r)
{
	struct buf path;
	struct dirent *de;
	DIR *dir;
	time_t now = time(NULL);
	int removed = 0;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/%s", queue_dir, QUEUE_INCOMING);
	dir = opendir(path.data);
	if (dir == NULL) {
		*error_r = err_fmt("open %s: %s", path.data, strerror(errno));
		buf_release(&path);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		struct stat st;

		if (!str_has_prefix(de->d_name, ".tmp-"))
			continue;
		buf_reset(&path);
		(void)buf_printf(&path, "%s/%s/%s", queue_dir, QUEUE_INCOMING,
		    de->d_name);
		if (lstat(path.data, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (now - st.st_mtime < max_age)
			continue;
		if (unlink(path.data) == 0)
			removed++;
	}
	closedir(dir);
	buf_release(&path);
	return removed;
}
