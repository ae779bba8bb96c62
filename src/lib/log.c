/*
 * log - Postfix-style log lines to syslog, a file or stderr; see log.h.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

enum log_dest { LOG_DEST_STDERR, LOG_DEST_SYSLOG, LOG_DEST_FILE };

static char log_svc[64] = "ulak";
static char log_ident[80] = "ulak";
static enum log_dest log_dest = LOG_DEST_STDERR;
static int log_fd = -1;
static struct buf *log_cap;
static bool log_tee;

void
log_init(const char *service, const char *target)
{
	if (snprintf(log_svc, sizeof(log_svc), "%s", service) >=
	    (int)sizeof(log_svc))
		log_svc[sizeof(log_svc) - 1] = '\0';
	if (strcmp(log_svc, "ulak") == 0)
		(void)snprintf(log_ident, sizeof(log_ident), "ulak");
	else
		(void)snprintf(log_ident, sizeof(log_ident), "ulak/%s", log_svc);
	if (log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	}
	if (log_dest == LOG_DEST_SYSLOG)
		closelog();
	if (target == NULL || strcmp(target, "stderr") == 0 || *target == '\0') {
		log_dest = LOG_DEST_STDERR;
	} else if (strcmp(target, "syslog") == 0) {
		log_dest = LOG_DEST_SYSLOG;
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	} else {
		log_fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		if (log_fd < 0) {
			int e = errno;

			log_dest = LOG_DEST_STDERR;
			log_warning("cannot open log file %s: %s; logging to "
			    "stderr", target, strerror(e));
			return;
		}
		log_dest = LOG_DEST_FILE;
	}
}

const char *
log_service(void)
{
	return log_svc;
}

void
log_capture(struct buf *capture)
{
	log_cap = capture;
}

const char *
log_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			(void)buf_append_str(out, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			(void)buf_append_char(out, (char)c);
		else
			(void)buf_printf(out, "\\%03o", c);
	}
	return out->data;
}

static void log_emit(int prio, const char *prefix, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_emit(int prio, const char *prefix, const char *fmt, va_list ap)
{
	int saved = errno;
	char text[4096];
	char line[4352];
	int n;

	errno = saved;	/* %m in FMT sees the caller's errno */
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		(void)snprintf(text, sizeof(text), "(bad log format: %s)", fmt);
	/* Keep one line per event: a newline inside the text is escaped. */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_cap != NULL)
		(void)buf_printf(log_cap, "%s%s\n", prefix, text);
	switch (log_dest) {
	case LOG_DEST_SYSLOG:
		syslog(prio, "%s%s", prefix, text);
		break;
	case LOG_DEST_FILE:
	case LOG_DEST_STDERR: {
		char stamp[64], host[256];
		struct tm tm;
		time_t now = time(NULL);
		int fd = log_dest == LOG_DEST_FILE ? log_fd : STDERR_FILENO;

		if (localtime_r(&now, &tm) == NULL ||
		    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm) == 0)
			stamp[0] = '\0';
		if (gethostname(host, sizeof(host)) != 0)
			(void)snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n", stamp,
		    host, log_ident, (long)getpid(), prefix, text);
		if (n < 0)
			break;
		if ((size_t)n >= sizeof(line)) {
			n = (int)sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		if (write(fd, line, (size_t)n) < 0) {
			/* Nothing sensible to do: logging must not fail the caller. */
		}
		break;
	}
	}
	if (log_tee && log_dest != LOG_DEST_STDERR && prio <= LOG_WARNING) {
		n = snprintf(line, sizeof(line), "%s: %s%s\n", log_ident, prefix,
		    text);
		if (n > 0 && (size_t)n < sizeof(line) &&
		    write(STDERR_FILENO, line, (size_t)n) < 0) {
			/* As above. */
		}
	}
	errno = saved;
}

void
log_tee_stderr(bool on)
{
	log_tee = on;
}

#define LOG_BODY(prio, prefix)            \
	do {                              \
		va_list ap;               \
		va_start(ap, fmt);        \
		log_emit(prio, prefix, fmt, ap); \
		va_end(ap);               \
	} while (0)

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "");
}

void
log_warning(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ");
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, "error: ");
}

void
log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ");
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "panic: ");
	abort();
}
