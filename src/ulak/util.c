/*
 * util - what the ulak subcommands share: help and usage printing,
 * "ulak CMD: ..." messages, the instance folder, configuration loading,
 * list splitting and pid files.  See ulak.h.
 *
 * Pid files are read from the instance's queue folder; their contents are
 * checked (a decimal number in range) before any signal is sent.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "str.h"
#include "ulak.h"

static char *ulak_cfgdir;

void
ulak_help_print(const struct ulak_cmd *cmd, FILE *f)
{
	const char *p = cmd->synopsis;

	fprintf(f, "NAME\n    ulak %s - %s\n\nSYNOPSIS\n", cmd->name,
	    cmd->summary);
	/* Indent each synopsis line. */
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		fprintf(f, "    %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
	fprintf(f, "\n%s", cmd->help);
}

int
ulak_usage(const struct ulak_cmd *cmd, const char *fmt, ...)
{
	const char *p = cmd->synopsis;
	bool first = true;

	if (fmt != NULL) {
		va_list ap;

		fprintf(stderr, "ulak %s: ", cmd->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		fprintf(stderr, "%s%.*s\n", first ? "usage: " : "       ",
		    (int)n, p);
		first = false;
		p += n;
		if (*p == '\n')
			p++;
	}
	fprintf(stderr, "Run `ulak help %s` for details.\n", cmd->name);
	return ULAK_EXIT_USAGE;
}

int
ulak_options_plain(const struct ulak_cmd *cmd, int argc, char **argv,
    bool operands)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'h':
			ulak_help_print(cmd, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(cmd, "option %s needs an argument",
			    argv[optind - 1]);
		default:
			return ulak_usage(cmd, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (!operands && optind < argc)
		return ulak_usage(cmd, "unexpected argument %s", argv[optind]);
	return -1;
}

void
ulak_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ulak %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ulak_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ulak %s: warning: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ulak_config_dir_set(const char *dir)
{
	char *real = realpath(dir, NULL);

	free(ulak_cfgdir);
	ulak_cfgdir = real != NULL ? real : xstrdup(dir);
}

const char *
ulak_config_dir(void)
{
	if (ulak_cfgdir == NULL) {
		const char *env = getenv("ULAK_CONFIG_DIR");

		ulak_config_dir_set(env != NULL && *env != '\0' ? env :
		    ULAK_DEFAULT_CONFIG_DIR);
	}
	return ulak_cfgdir;
}

static struct buf quiet_lines;
static bool quiet_on;

void
ulak_quiet_begin(void)
{
	if (quiet_on)
		log_panic("ulak_quiet_begin: nested");
	quiet_on = true;
	buf_init(&quiet_lines, 0);
	log_capture(&quiet_lines);
	log_init("ulak", "/dev/null");
}

void
ulak_quiet_discard(void)
{
	buf_reset(&quiet_lines);
}

int
ulak_quiet_end(const char *cmd)
{
	char *p, *nl;
	int n = 0;

	log_capture(NULL);
	log_init("ulak", "stderr");
	quiet_on = false;
	for (p = quiet_lines.data; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		/* Informational lines are for daemons' logs, not for people. */
		if (str_has_prefix(p, "warning: ") ||
		    str_has_prefix(p, "error: ") ||
		    str_has_prefix(p, "fatal: ")) {
			fprintf(stderr, "ulak %s: %s\n", cmd, p);
			n++;
		}
	}
	buf_release(&quiet_lines);
	return n;
}

struct config *
ulak_config_load(const char *cmd, bool quiet)
{
	struct config *cfg = config_new(ulak_config_dir());
	const char *error;
	int rc;

	ulak_quiet_begin();
	rc = config_load(cfg, &error);
	if (quiet)
		ulak_quiet_discard();
	(void)ulak_quiet_end(cmd);
	if (rc < 0) {
		ulak_err(cmd, "fatal: %s", error);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

int
ulak_config_value(struct config *cfg, const char *name, struct buf *out,
    const char **error_r)
{
	const char *raw = config_raw(cfg, name);

	buf_reset(out);
	if (raw == NULL)
		return 0;
	return config_expand(cfg, raw, out, error_r);
}

bool
ulak_is_table_spec(const char *s)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL || colon == s || colon[1] == '\0')
		return false;
	for (const char *p = s; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-'))
			return false;
	return true;
}

int
ulak_pid_read(const char *path, long *pid_r)
{
	struct buf text;
	const char *error;
	uint64_t v;
	int rc = -1;

	buf_init(&text, 64);
	if (file_read_all(path, &text, 64, &error) == 0 &&
	    parse_uint(str_trim(text.data), 2, 4194304, &v, &error) == 0) {
		*pid_r = (long)v;
		rc = 0;
	}
	buf_release(&text);
	return rc;
}

bool
ulak_pid_alive(long pid)
{
	struct buf path, stat;
	const char *error, *paren;
	bool alive;

	if (pid <= 1)
		return false;
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return false;
	/*
	 * A zombie (a master that has exited but whose parent has not
	 * collected it yet) still answers kill 0: it counts as gone.
	 */
	buf_init(&path, 0);
	buf_init(&stat, 4096);
	(void)buf_printf(&path, "/proc/%ld/stat", pid);
	alive = true;
	if (file_read_all(path.data, &stat, 4096, &error) == 0) {
		paren = strrchr(stat.data, ')');
		if (paren != NULL && paren[1] == ' ' &&
		    (paren[2] == 'Z' || paren[2] == 'X'))
			alive = false;
	}
	buf_release(&path);
	buf_release(&stat);
	return alive;
}

int
ulak_master_pid(struct config *cfg, struct buf *pidfile, long *pid_r)
{
	const char *error;

	struct buf piddir;

	buf_init(&piddir, 0);
	if (ulak_config_value(cfg, "queue_directory", pidfile, &error) < 0 ||
	    ulak_config_value(cfg, "process_id_directory", &piddir,
	    &error) < 0) {
		buf_release(&piddir);
		return 0;
	}
	/* process_id_directory is relative to queue_directory. */
	if (piddir.data[0] == '/')
		(void)buf_set_str(pidfile, piddir.data);
	else if (piddir.data[0] != '\0')
		(void)buf_printf(pidfile, "/%s", piddir.data);
	(void)buf_append_str(pidfile, "/master.pid");
	buf_release(&piddir);
	if (ulak_pid_read(pidfile->data, pid_r) < 0)
		return 0;
	return ulak_pid_alive(*pid_r) ? 1 : 0;
}
