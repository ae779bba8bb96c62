/*
 * trigger - a one-way request to a daemon's local socket (trigger.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "str.h"
#include "trigger.h"

int
trigger_send(const char *path, const char *request)
{
	struct sockaddr_un sun;
	struct buf req;
	ssize_t n;
	size_t len;
	int fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* The attribute syntax (docs/protocols.md) forbids these. */
	if (strpbrk(request, "\n=") != NULL || *request == '\0') {
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	buf_init(&req, 0);
	buf_printf(&req, "request=%s\n\n", request);
	len = req.len;
	n = send(fd, req.data, len, MSG_NOSIGNAL);
	saved = errno;
	buf_release(&req);
	(void)close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}
