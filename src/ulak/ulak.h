/*
 * ulak.h - what the subcommands of the `ulak` admin command share: the
 * command table entry, the instance folder (-c / ULAK_CONFIG_DIR), message
 * printing in the "ulak CMD: ..." style and configuration loading.
 *
 * Internal to src/ulak; nothing outside this folder includes it.
 */
#ifndef ULAK_ULAK_H
#define ULAK_ULAK_H

#include <stdbool.h>
#include <stdio.h>

struct buf;
struct config;

/* Exit statuses shared by every subcommand (documented in `ulak --help`). */
#define ULAK_EXIT_OK 0
#define ULAK_EXIT_FAIL 1
#define ULAK_EXIT_USAGE 2
#define ULAK_EXIT_TEMPFAIL 75	/* EX_TEMPFAIL, as sendmail uses it */

#define ULAK_DEFAULT_CONFIG_DIR "/etc/ulak"

struct ulak_cmd {
	const char *name;
	const char *summary;	/* one line, for the list in `ulak --help` */
	const char *synopsis;	/* usage lines, each starting "ulak NAME" */
	const char *help;	/* the rest of the manual page: DESCRIPTION... */
	/* Run with ARGV[0] == name; returns the exit status. */
	int (*run)(int argc, char **argv);
};

extern const struct ulak_cmd ulak_cmd_init;
extern const struct ulak_cmd ulak_cmd_conf;
extern const struct ulak_cmd ulak_cmd_map;
extern const struct ulak_cmd ulak_cmd_aliases;
extern const struct ulak_cmd ulak_cmd_check;
extern const struct ulak_cmd ulak_cmd_start;
extern const struct ulak_cmd ulak_cmd_stop;
extern const struct ulak_cmd ulak_cmd_reload;
extern const struct ulak_cmd ulak_cmd_status;
extern const struct ulak_cmd ulak_cmd_sendmail;
extern const struct ulak_cmd ulak_cmd_queue;
extern const struct ulak_cmd ulak_cmd_passwd;
extern const struct ulak_cmd ulak_cmd_dkim;
extern const struct ulak_cmd ulak_cmd_spf;
extern const struct ulak_cmd ulak_cmd_dmarc;

/* The -c and -h options as the subcommands' help pages describe them. */
#define ULAK_HELP_OPT_C \
	"    -c CONFIG_DIR\n" \
	"        The instance folder (default $ULAK_CONFIG_DIR, else\n" \
	"        " ULAK_DEFAULT_CONFIG_DIR ").\n"
#define ULAK_HELP_OPT_H \
	"    -h, --help\n" \
	"        Print this page and exit.\n"

/* The subcommands in the order `ulak --help` lists them; NULL-terminated. */
extern const struct ulak_cmd *const ulak_cmds[];

/* The subcommand called NAME, or NULL. */
const struct ulak_cmd *ulak_cmd_find(const char *name);

/* Print CMD's whole manual page to F. */
void ulak_help_print(const struct ulak_cmd *cmd, FILE *f);
/*
 * A usage error of CMD: print "ulak NAME: TEXT" (when TEXT is not NULL),
 * the synopsis and a pointer to `ulak help NAME` on stderr; returns
 * ULAK_EXIT_USAGE for the caller to return.
 */
int ulak_usage(const struct ulak_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parse the options of CMD when it has only -c DIR and -h/--help (given
 * ARGC/ARGV from after the subcommand name).  -1 when the caller goes on
 * with its operands at argv[optind]; else the status for the caller to
 * return: ULAK_EXIT_OK after printing the help, ULAK_EXIT_USAGE after a
 * usage error (an unknown option, -c without a folder, or any operand
 * unless OPERANDS).
 */
int ulak_options_plain(const struct ulak_cmd *cmd, int argc, char **argv,
    bool operands);

/* Print "ulak CMD: TEXT" on stderr (errors; the caller picks the status). */
void ulak_err(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print "ulak CMD: warning: TEXT" on stderr. */
void ulak_warn(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The instance folder: set by -c (before or after the subcommand), else
 * $ULAK_CONFIG_DIR, else /etc/ulak.  Made absolute when it exists, since
 * the daemons started from it may change folders.
 */
void ulak_config_dir_set(const char *dir);
const char *ulak_config_dir(void);

/*
 * Library code logs its warnings (unknown main.cf names, ...) through
 * log.h, whose stderr lines carry time stamps meant for daemons.  Between
 * ulak_quiet_begin and ulak_quiet_end such lines are collected instead and
 * then printed as "ulak CMD: warning: ..." (warnings/errors only).
 * Returns the number of lines printed.  Not nestable.
 */
void ulak_quiet_begin(void);
int ulak_quiet_end(const char *cmd);
/* Forget the lines collected so far (they will not be printed). */
void ulak_quiet_discard(void);

/*
 * Read main.cf of the instance folder.  On failure print the reason as
 * "ulak CMD: fatal: ..." and return NULL.  Warnings are printed as
 * "ulak CMD: warning: ..." unless QUIET.  The caller frees with
 * config_free.
 */
struct config *ulak_config_load(const char *cmd, bool quiet);

/*
 * The expanded value of NAME (unknown and unset names give "") into OUT,
 * replacing its contents.  -1 with *error_r on an expansion error.
 * Never logs or exits (unlike the typed accessors of config.h).
 */
int ulak_config_value(struct config *cfg, const char *name, struct buf *out,
    const char **error_r);

/* True when S is a plausible table spec "type:name" (type in [a-z0-9_-]). */
bool ulak_is_table_spec(const char *s);

/* Read a pid file; 0 with *pid_r, -1 when missing or not a number. */
int ulak_pid_read(const char *path, long *pid_r);
/* True when process PID exists (kill 0 succeeds or says EPERM). */
bool ulak_pid_alive(long pid);
/*
 * The pid of the running master of CFG's instance: 1 with *pid_r when the
 * master pid file names a live process, 0 when the system is not running
 * (PATH_R gets the pid file's name, owned by the caller via buf).
 */
int ulak_master_pid(struct config *cfg, struct buf *pidfile, long *pid_r);

/*
 * Write a new EC P-256 key (mode 0600) to KEY_PATH and a self-signed
 * certificate for HOSTNAME (CN and subjectAltName DNS:HOSTNAME, valid ten
 * years) to CERT_PATH, both PEM.  -1 with *error_r on failure.
 */
int ulak_tls_selfsigned(const char *cert_path, const char *key_path,
    const char *hostname, const char **error_r);

/*
 * A yescrypt hash of PASSWORD (libcrypt, fresh random salt) as a
 * malloc'ed string for the caller to free; NULL with *error_r on failure.
 */
char *ulak_password_hash(const char *password, const char **error_r);

#endif
