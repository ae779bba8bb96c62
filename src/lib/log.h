/*
 * log - Postfix-style logging.
 *
 * Every line reads "ulak/<service>[<pid>]: <text>", so Postfix log tools
 * (pflogsumm --syslog-name=ulak, fail2ban filters) read it.  Warnings,
 * errors, fatal errors and panics carry the "warning: ", "error: ",
 * "fatal: " and "panic: " prefixes Postfix uses.  Output goes to syslog
 * (facility mail), to a file (with a syslog-like time stamp and host name)
 * or to stderr.  Each line is written with one write(2), so processes
 * sharing one file do not interleave within a line.
 */
#ifndef ULAK_LOG_H
#define ULAK_LOG_H

#include <stdbool.h>

#include <stdarg.h>
#include <stddef.h>

struct buf;

/*
 * Set the service name ("smtpd") and the destination: "syslog", "stderr",
 * or an absolute file name.  May be called again (e.g. after a reload).
 * Before any call, lines go to stderr as "ulak".
 */
void log_init(const char *service, const char *target);
/* The current service name ("ulak" before log_init). */
const char *log_service(void);

/*
 * While ON, warnings, errors and fatal errors also go to stderr as
 * "IDENT: fatal: text" when the destination is syslog or a file: for a
 * daemon's start-up, while the command that started it still waits.
 */
void log_tee_stderr(bool on);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1): the environment makes going on impossible. */
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Log and abort(): a bug of ours (broken contract). */
void log_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * For tests: while CAPTURE is non-NULL, every line (without time stamp,
 * with its level prefix) is appended to it, one per line, in addition to
 * normal output.  Pass NULL to stop.
 */
void log_capture(struct buf *capture);

/*
 * Append S[0..N) to OUT with everything that is not printable ASCII
 * written as \ooo (and backslash as \\): for text that came from a peer.
 * Returns OUT->data.
 */
const char *log_escape(struct buf *out, const char *s, size_t n);

#endif
