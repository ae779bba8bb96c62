/*
 * mastercf - master.cf, the service table, in Postfix's column format:
 *
 *   # service type  private unpriv  chroot  wakeup  maxproc command + args
 *   smtp      inet  n       -       n       -       -       smtpd
 *   submission inet n       -       n       -       -       smtpd
 *     -o smtpd_tls_security_level=encrypt
 *
 * '#' starts a comment line, a line starting with white space continues
 * the previous entry, "-" in a column means its default.  type is inet,
 * unix, unix-dgram, fifo or pass.  An inet service is "port", "host:port"
 * or "[ipv6-address]:port" (port a number or a service name).  Arguments
 * "-o name=value" (also "-o { name = value with spaces }") override
 * main.cf for that service.  When master.cf is absent the built-in table
 * (mastercf_default_text) applies.
 *
 * Reads only the file it is given; every problem in it is an error
 * "FILE, line N: ..." (never a crash).
 */
#ifndef ULAK_MASTERCF_H
#define ULAK_MASTERCF_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

struct config;

enum mastercf_type {
	MASTERCF_INET,
	MASTERCF_UNIX,
	MASTERCF_UNIX_DGRAM,
	MASTERCF_FIFO,
	MASTERCF_PASS,
};

/* "-" in the wakeup and maxproc columns. */
#define MASTERCF_DEFAULT (-1)

struct mastercf_override {
	char *name;		/* a valid parameter name */
	char *value;		/* unexpanded */
	int line;		/* where it was written */
};

struct mastercf_service {
	char *name;		/* column 1 as written: "smtp", "127.0.0.1:2525" */
	enum mastercf_type type;
	char *host;		/* inet: host part ("" = every inet_interfaces
				   address); other types: NULL.  Without the
				   brackets of "[::1]:25". */
	char *port;		/* inet: port number or service name;
				   other types: NULL */
	bool private_service;	/* column 3; "-" = yes (no for inet) */
	bool unprivileged;	/* column 4; "-" = yes (run as mail_owner) */
	bool chroot;		/* column 5; "-" = no */
	long wakeup;		/* column 6 seconds, 0 = never; MASTERCF_DEFAULT */
	bool wakeup_if_used;	/* "60?": wake up only after the first use */
	long maxproc;		/* column 7, 0 = no limit; MASTERCF_DEFAULT =
				   default_process_limit */
	char *command;		/* the program: "smtpd" */
	struct strlist args;	/* other arguments, without the -o pairs */
	struct mastercf_override *overrides;
	size_t n_overrides;
	int line;		/* where the entry starts */
};

struct mastercf {
	char *file;		/* file name used in messages */
	struct mastercf_service *services;
	size_t n;
};

/*
 * Parse TEXT[0..LEN) (FILENAME for messages).  Returns a table (free with
 * mastercf_free), or NULL with *error_r "FILE, line N: ..." on the first
 * error.  A NUL byte, an unknown type, a bad y/n column, a bad number, a
 * malformed inet address, "-o" without name=value, or a second entry with
 * the same service name and type are errors.
 */
struct mastercf *mastercf_parse(const char *text, size_t len,
    const char *filename, const char **error_r);
/* Parse the file PATH; NULL with *error_r when unreadable or bad. */
struct mastercf *mastercf_load_file(const char *path, const char **error_r);
/*
 * Read CONFIG_DIR/master.cf, or the built-in table when the file does not
 * exist (then *from_default_r, when not NULL, is set true).
 */
struct mastercf *mastercf_load(const char *config_dir, bool *from_default_r,
    const char **error_r);
void mastercf_free(struct mastercf *m);

/* The built-in table, as master.cf text (`ulak init` writes it). */
const char *mastercf_default_text(void);

/* The service NAME of TYPE, or NULL. */
const struct mastercf_service *mastercf_find(const struct mastercf *m,
    const char *name, enum mastercf_type type);
/* "inet", "unix", ... */
const char *mastercf_type_name(enum mastercf_type type);
/* The value of -o NAME for SERVICE (the last one given), or NULL. */
const char *mastercf_override(const struct mastercf_service *service,
    const char *name);

/*
 * `ulak check` for master.cf: read config_dir(CFG)/master.cf (or the
 * built-in table), and check every -o override against CFG (known name,
 * value of the right type after expansion).  Appends "FILE, line N: ..."
 * texts to PROBLEMS, warnings prefixed "warning: ".  Returns the number
 * of errors (warnings not counted).
 */
int mastercf_check(struct config *cfg, struct strlist *problems);

#endif
