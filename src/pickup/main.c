/*
 * pickup - moves each complete maildrop file (written by `ulak sendmail`)
 * into the queue by handing it to cleanup, and deletes it only once
 * cleanup has answered that the queue file is durable.
 *
 * It looks at $queue_directory/maildrop/ at start-up, whenever inotify
 * reports a file renamed into it, every PICKUP_SCAN_INTERVAL seconds, and
 * when a client connects to its socket (private/pickup) with
 * request=wakeup.  Files are taken in name (= time) order, one at a time.
 *
 * Runs as mail_owner.  Distrusts the maildrop files completely: any local
 * user may write one, so it opens them without following links, takes only
 * regular files with one link, checks the envelope line by line
 * (docs/queue-format.md, "Maildrop files"), and takes the submitting uid
 * from the file's owner, never from its contents.  A file it cannot use
 * is moved to corrupt/ with a log line saying why: never lost silently.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "maildrop.h"
#include "mem.h"
#include "parse.h"
#include "queue.h"
#include "queue_id.h"
#include "selfpipe.h"
#include "str.h"

#define PICKUP_SCAN_INTERVAL 60
/* Largest maildrop envelope (all lines up to the empty line). */
#define PICKUP_CHUNK 65536

static char *queue_dir;
static int ipc_timeout_ms;

/* What became of one file. */
enum pickup_result {
	PICKUP_DONE,		/* queued (or gone): next file */
	PICKUP_RETRY,		/* cleanup unavailable: stop this scan */
};

/* SIGTERM or SIGUSR1 (master): no new scan, no next file. */
static bool
stopping(void)
{
	return selfpipe_caught(SIGTERM) || selfpipe_caught(SIGUSR1);
}

static void
log_escaped(const char *prefix, const char *name, const char *text)
{
	struct buf esc;

	buf_init(&esc, 0);
	log_warning("%s%s: %s", prefix, name, log_escape(&esc, text,
	    strlen(text)));
	buf_release(&esc);
}

/* Move a file we cannot use to corrupt/maildrop.NAME, saying why. */
static void
move_aside(const char *name, const char *why)
{
	struct buf from, to;
	const char *error;

	buf_init(&from, 0);
	buf_init(&to, 0);
	buf_printf(&from, "%s/%s/%s", queue_dir, QUEUE_MAILDROP, name);
	buf_printf(&to, "%s/%s/maildrop.%s", queue_dir, QUEUE_CORRUPT, name);
	if (rename(from.data, to.data) < 0) {
		log_error("maildrop file %s: %s; and it cannot be moved to "
		    "%s: %m", name, why, to.data);
	} else {
		log_escaped("maildrop file ", name, why);
		log_warning("maildrop file %s moved to %s", name, to.data);
		buf_reset(&to);
		buf_printf(&to, "%s/%s", queue_dir, QUEUE_CORRUPT);
		if (file_fsync_dir(to.data, &error) < 0)
			log_warning("%s", error);
	}
	buf_release(&from);
	buf_release(&to);
}

static int
cleanup_connect(const char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/cleanup",
	    queue_dir, QUEUE_PRIVATE) >= (int)sizeof(sun.sun_path)) {
		*error_r = "socket path too long";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = err_fmt("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = err_fmt("connect to %s: %s", sun.sun_path,
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int
send_buf(int fd, struct buf *b, const char **error_r)
{
	int rc = attr_send(fd, b->data, b->len, ipc_timeout_ms, error_r);

	buf_reset(b);
	return rc;
}

/*
 * Read cleanup's reply: 0 with *STATUS_R, -1 (connection trouble: retry
 * later) with error_r.
 */
static int
get_reply(int fd, struct attr_list *reply, uint64_t *status_r,
    const char **error_r)
{
	int rc = attr_recv(fd, ipc_timeout_ms, reply, error_r);

	if (rc == 0)
		*error_r = "cleanup closed the connection";
	if (rc <= 0)
		return -1;
	return attr_get_uint(reply, "status", 0, 5, status_r, error_r);
}

/* Append content bytes to OUT with bare LF made CRLF (PREV: last byte). */
static void
append_crlf(struct buf *out, const char *p, size_t n, char *prev)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && *prev != '\r')
			buf_append_char(out, '\r');
		buf_append_char(out, p[i]);
		*prev = p[i];
	}
}

/* Hand the open maildrop file FD (envelope ENV) to cleanup. */
static enum pickup_result
pickup_send(const char *name, int fd, const struct stat *st,
    struct maildrop_env *env)
{
	struct attr_list reply;
	struct buf out, data;
	const char *error, *qid = NULL;
	char *chunk = NULL, prev = '\0';
	uint64_t status, total = 0;
	enum pickup_result res = PICKUP_RETRY;
	int cfd;

	attr_list_init(&reply);
	buf_init(&out, 0);
	buf_init(&data, 0);
	cfd = cleanup_connect(&error);
	if (cfd < 0)
		goto fail;
	attr_encode(&out, "request", "open", &error);
	attr_encode(&out, "origin", "pickup", &error);
	attr_encode(&out, "sender", env->sender, &error);
	if (env->full_name != NULL)
		attr_encode(&out, "full_name", env->full_name, &error);
	if (env->ret != NULL)
		attr_encode(&out, "ret", env->ret, &error);
	if (env->envid != NULL)
		attr_encode(&out, "envid", env->envid, &error);
	attr_encode_uint(&out, "uid", (uint64_t)st->st_uid, &error);
	if (st->st_mtime > 0)
		attr_encode_uint(&out, "arrival_time",
		    (uint64_t)st->st_mtime, &error);
	attr_encode(&out, "protocol", "local", &error);
	attr_encode_end(&out);
	if (send_buf(cfd, &out, &error) < 0 ||
	    get_reply(cfd, &reply, &status, &error) < 0)
		goto fail;
	if (status != 0)
		goto refused;
	for (size_t i = 0; i < env->attrs.n; i++) {
		if (strcmp(env->attrs.v[i].name, "rcpt") != 0)
			continue;
		attr_encode(&out, "request", "rcpt", &error);
		if (attr_encode(&out, "address", env->attrs.v[i].value,
		    &error) < 0) {
			move_aside(name, "recipient address too long");
			res = PICKUP_DONE;
			goto out;
		}
		if (env->notify != NULL)
			attr_encode(&out, "notify", env->notify, &error);
		attr_encode_end(&out);
	}
	if (send_buf(cfd, &out, &error) < 0)
		goto fail;
	chunk = xmalloc(PICKUP_CHUNK);
	if (lseek(fd, (off_t)env->content_offset, SEEK_SET) < 0) {
		error = err_fmt("lseek: %s", strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t got = read(fd, chunk, PICKUP_CHUNK / 2);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			error = err_fmt("read %s: %s", name, strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		buf_reset(&data);
		append_crlf(&data, chunk, (size_t)got, &prev);
		buf_printf(&out, "request=data\nlength=%zu\n\n", data.len);
		buf_append(&out, data.data, data.len);
		total += data.len;
		if (send_buf(cfd, &out, &error) < 0)
			goto fail;
	}
	buf_printf(&out, "request=end\ncontent_length=%llu\n\n",
	    (unsigned long long)total);
	if (send_buf(cfd, &out, &error) < 0 ||
	    get_reply(cfd, &reply, &status, &error) < 0)
		goto fail;
	if (status != 0)
		goto refused;
	qid = attr_get(&reply, "queue_id");
	{
		struct buf path, esc;

		buf_init(&path, 0);
		buf_init(&esc, 0);
		buf_printf(&path, "%s/%s/%s", queue_dir, QUEUE_MAILDROP, name);
		log_info("%s: uid=%lu from=<%s>", qid != NULL ? qid : "?",
		    (unsigned long)st->st_uid, log_escape(&esc, env->sender,
		    strlen(env->sender)));
		/* Only now: the queue file is durable (cleanup said so). */
		if (unlink(path.data) < 0 && errno != ENOENT)
			log_error("cannot remove %s after queueing it as %s: "
			    "%m (it will be queued again)", path.data,
			    qid != NULL ? qid : "?");
		buf_release(&path);
		buf_release(&esc);
	}
	res = PICKUP_DONE;
	goto out;
refused:
	{
		const char *dsn = attr_get(&reply, "dsn");
		const char *reason = attr_get(&reply, "reason");
		const char *why = err_fmt("cleanup says %s %s",
		    dsn != NULL ? dsn : "?", reason != NULL ? reason : "?");

		if (status == 5) {
			/* No bounce service yet: keep it where a person looks. */
			move_aside(name, why);
			res = PICKUP_DONE;
		} else {
			log_escaped("maildrop file ", name, err_fmt("%s; will "
			    "try again", why));
		}
	}
	goto out;
fail:
	log_warning("maildrop file %s: cannot hand it to cleanup: %s; will "
	    "try again", name, error);
out:
	if (cfd >= 0)
		(void)close(cfd);
	free(chunk);
	attr_list_release(&reply);
	buf_release(&out);
	buf_release(&data);
	return res;
}

static enum pickup_result
pickup_file(const char *name)
{
	struct maildrop_env env;
	struct stat st;
	struct buf path;
	const char *error;
	enum pickup_result res = PICKUP_DONE;
	int fd;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s/%s", queue_dir, QUEUE_MAILDROP, name);
	/* O_NONBLOCK: a FIFO planted here must not hang us. */
	fd = open(path.data, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			move_aside(name, err_fmt("cannot open: %s",
			    strerror(errno)));
		buf_release(&path);
		return PICKUP_DONE;
	}
	memset(&env, 0, sizeof(env));
	attr_list_init(&env.attrs);
	if (fstat(fd, &st) < 0) {
		move_aside(name, err_fmt("fstat: %s", strerror(errno)));
	} else if (!S_ISREG(st.st_mode)) {
		move_aside(name, "not a regular file");
	} else if (st.st_nlink != 1) {
		/* A hard link to someone else's file: not a submission. */
		move_aside(name, "file has more than one link");
	} else {
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		if (maildrop_read_envelope(fd, &env, &error) < 0)
			move_aside(name, error);
		else
			res = pickup_send(name, fd, &st, &env);
	}
	(void)close(fd);
	attr_list_release(&env.attrs);
	buf_release(&path);
	return res;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Take every complete file now in maildrop/, oldest first. */
static void
scan(void)
{
	struct strlist names;
	struct buf dir;
	struct dirent *de;
	DIR *dp;

	buf_init(&dir, 0);
	buf_printf(&dir, "%s/%s", queue_dir, QUEUE_MAILDROP);
	dp = opendir(dir.data);
	if (dp == NULL) {
		log_warning("cannot read %s: %m", dir.data);
		buf_release(&dir);
		return;
	}
	strlist_init(&names);
	while ((de = readdir(dp)) != NULL)
		/* ".tmp-*" files are still being written by sendmail. */
		if (queue_id_valid(de->d_name))
			strlist_add(&names, de->d_name);
	closedir(dp);
	qsort(names.v, names.n, sizeof(*names.v), name_cmp);
	for (size_t i = 0; i < names.n && !stopping(); i++)
		if (pickup_file(names.v[i]) == PICKUP_RETRY)
			break;
	strlist_release(&names);
	buf_release(&dir);
}

/* A wakeup client: read its request (briefly), then close. */
static void
serve_wakeup(int lfd)
{
	struct attr_list req;
	const char *error, *what;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	attr_list_init(&req);
	if (attr_recv(fd, 2000, &req, &error) > 0) {
		what = attr_get(&req, "request");
		if (what == NULL || strcmp(what, "wakeup") != 0)
			log_warning("unexpected request on the pickup socket");
	}
	attr_list_release(&req);
	(void)close(fd);
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGTERM, SIGUSR1 };
	struct daemon d;
	struct sigaction sa;
	struct pollfd pfds[DAEMON_LISTEN_MAX + 2];
	struct buf dir;
	uint64_t t;
	int ino = -1;

	daemon_init(&d, "pickup", argc, argv);
	queue_dir = xstrdup(config_str(d.cfg, "queue_directory"));
	t = config_time(d.cfg, "ipc_timeout");
	ipc_timeout_ms = (int)((t == 0 || t > 24 * 3600 ? 3600 : t) * 1000);

	selfpipe_catch(sigs, sizeof(sigs) / sizeof(sigs[0]));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	daemon_drop_privileges(&d);

	buf_init(&dir, 0);
	buf_printf(&dir, "%s/%s", queue_dir, QUEUE_MAILDROP);
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, dir.data, IN_MOVED_TO |
	    IN_CLOSE_WRITE) < 0) {
		log_warning("inotify on %s: %m; looking every %d seconds only",
		    dir.data, PICKUP_SCAN_INTERVAL);
		if (ino >= 0)
			(void)close(ino);
		ino = -1;
	}
	buf_release(&dir);

	scan();
	while (!stopping()) {
		int n = 0, rc;
		bool work = false;

		pfds[n].fd = selfpipe_fd();
		pfds[n++].events = POLLIN;
		if (ino >= 0) {
			pfds[n].fd = ino;
			pfds[n++].events = POLLIN;
		}
		for (int i = 0; i < d.n_listen; i++) {
			pfds[n].fd = d.listen_fds[i];
			pfds[n++].events = POLLIN;
		}
		rc = poll(pfds, (nfds_t)n, PICKUP_SCAN_INTERVAL * 1000);
		if (rc < 0 && errno != EINTR)
			log_fatal("poll: %m");
		if (rc == 0)
			work = true;
		for (int i = 0; rc > 0 && i < n; i++) {
			char junk[4096];

			if (pfds[i].revents == 0)
				continue;
			if (pfds[i].fd == selfpipe_fd())
				selfpipe_drain();
			else if (pfds[i].fd == ino) {
				while (read(ino, junk, sizeof(junk)) > 0)
					;
				work = true;
			} else {
				serve_wakeup(pfds[i].fd);
				work = true;
			}
		}
		if (work && !selfpipe_caught(SIGTERM))
			scan();
	}
	log_info("stopping");
	if (ino >= 0)
		(void)close(ino);
	free(queue_dir);
	daemon_release(&d);
	return 0;
}
