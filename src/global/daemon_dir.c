/*
 * daemon_dir - find the folder of the daemon executables; see daemon_dir.h.
 *
 * Trusts the file system layout only as far as "an executable named
 * master is there"; it never runs anything itself.
 */
#include "daemon_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

/* True when DIR/DAEMON_DIR_PROBE is an executable file. */
static int
holds_probe(const char *dir)
{
	struct buf p;
	int ok;

	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", dir, DAEMON_DIR_PROBE);
	ok = access(p.data, X_OK) == 0;
	buf_release(&p);
	return ok;
}

/* Replace OUT with PATH made canonical when it exists, else PATH as is. */
static void
set_canonical(struct buf *out, const char *path)
{
	char *real = realpath(path, NULL);

	(void)buf_set_str(out, real != NULL ? real : path);
	free(real);
}

int
daemon_dir_find_from(const char *exe_path, const char *configured,
    struct buf *out, const char **error_r)
{
	struct buf dir, libexec;
	const char *slash, *base;

	if (configured != NULL && *configured != '\0') {
		(void)buf_set_str(out, configured);
		return 0;
	}
	slash = strrchr(exe_path, '/');
	if (slash == NULL) {
		*error_r = err_fmt("cannot tell the folder of executable %s",
		    exe_path);
		return -1;
	}
	buf_init(&dir, 0);
	buf_init(&libexec, 0);
	if (slash == exe_path)
		(void)buf_set_str(&dir, "/");
	else
		(void)buf_append(&dir, exe_path, (size_t)(slash - exe_path));
	(void)buf_printf(&libexec, "%s/../libexec/ulak",
	    strcmp(dir.data, "/") == 0 ? "" : dir.data);

	base = strrchr(dir.data, '/');
	base = base != NULL ? base + 1 : dir.data;
	if (holds_probe(libexec.data))
		set_canonical(out, libexec.data);
	else if (holds_probe(dir.data))
		set_canonical(out, dir.data);
	else if (strcmp(base, "bin") == 0)
		set_canonical(out, libexec.data);
	else
		set_canonical(out, dir.data);
	buf_release(&dir);
	buf_release(&libexec);
	return 0;
}

int
daemon_dir_find(const char *configured, struct buf *out,
    const char **error_r)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (configured != NULL && *configured != '\0') {
		(void)buf_set_str(out, configured);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		*error_r = err_fmt("cannot read /proc/self/exe: %s",
		    strerror(errno));
		return -1;
	}
	if ((size_t)n >= sizeof(exe) - 1) {
		*error_r = err_fmt("executable path too long");
		return -1;
	}
	exe[n] = '\0';
	return daemon_dir_find_from(exe, configured, out, error_r);
}
