/*
 * cmd_check - `ulak check`: read everything an instance consists of and
 * report each problem with its file and line: main.cf (syntax, types,
 * expansion, unknown names), master.cf, every lookup table named by a
 * *_maps or *_checks parameter or a check_*_access restriction (it must
 * open; a built table must not be older than its source), the folders
 * and TLS files the daemons will need.
 *
 * Reads only; changes nothing.  Trusts none of what it reads.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dict.h"
#include "log.h"
#include "mastercf.h"
#include "queue.h"
#include "str.h"
#include "ulak.h"

struct check {
	struct config *cfg;
	int errors;
	int warnings;
	struct strlist tables;	/* specs already checked */
};

static void
check_error(struct check *ck, const char *text)
{
	fprintf(stderr, "ulak check: error: %s\n", text);
	ck->errors++;
}

static void
check_warning(struct check *ck, const char *text)
{
	fprintf(stderr, "ulak check: warning: %s\n", text);
	ck->warnings++;
}

/* "FILE, line N: " of parameter NAME, or "default of NAME: " */
static void
check_where(struct check *ck, const char *name, struct buf *out)
{
	const char *file;
	int line;

	buf_reset(out);
	config_origin(ck->cfg, name, &file, &line);
	if (file != NULL)
		(void)buf_printf(out, "%s, line %d: %s", file, line, name);
	else if (config_is_set(ck->cfg, name))
		(void)buf_printf(out, "%s (set on the command line)", name);
	else
		(void)buf_printf(out, "%s (default value)", name);
}

/* Open table SPEC named by parameter NAME; report failure and staleness. */
static void
check_table(struct check *ck, const char *name, const char *spec)
{
	struct buf where, msg;
	const char *error, *why;
	struct dict *d;
	bool is_alias;

	if (strlist_find(&ck->tables, spec) >= 0)
		return;
	strlist_add(&ck->tables, spec);
	buf_init(&where, 0);
	buf_init(&msg, 0);
	check_where(ck, name, &where);
	ulak_quiet_begin();
	d = dict_open(spec, &error);
	(void)ulak_quiet_end("check");
	if (d == NULL) {
		(void)buf_printf(&msg, "%s: cannot open table %s: %s",
		    where.data, spec, error);
		check_error(ck, msg.data);
		goto out;
	}
	if (dict_is_stale(d, &why)) {
		is_alias = strcmp(name, "alias_maps") == 0 ||
		    strcmp(name, "alias_database") == 0;
		(void)buf_printf(&msg, "%s: table %s is older than its source: "
		    "run ulak %s %s", where.data, spec,
		    is_alias ? "aliases" : "map", spec);
		check_warning(ck, msg.data);
	}
	dict_close(d);
out:
	buf_release(&where);
	buf_release(&msg);
}

static bool
check_name_ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Every table in a *_maps / *_checks parameter, every check_*_access. */
static void
check_param_tables(struct check *ck, const char *name)
{
	bool maps = check_name_ends(name, "_maps") ||
	    check_name_ends(name, "_checks") ||
	    strcmp(name, "alias_database") == 0;
	bool restr = check_name_ends(name, "_restrictions");
	struct strlist items;
	struct buf value, msg, where;
	const char *error;

	if (!maps && !restr)
		return;
	buf_init(&value, 0);
	buf_init(&msg, 0);
	buf_init(&where, 0);
	strlist_init(&items);
	if (ulak_config_value(ck->cfg, name, &value, &error) < 0) {
		/* config_check has reported the expansion problem. */
		goto out;
	}
	config_list_split(value.data, &items);
	for (size_t i = 0; i < items.n; i++) {
		const char *it = items.v[i];

		if (maps) {
			if (ulak_is_table_spec(it)) {
				check_table(ck, name, it);
			} else {
				check_where(ck, name, &where);
				buf_reset(&msg);
				(void)buf_printf(&msg, "%s: \"%s\" is not a "
				    "table (expected type:name)", where.data,
				    it);
				check_error(ck, msg.data);
			}
		} else if (str_has_prefix(it, "check_") &&
		    check_name_ends(it, "_access")) {
			if (i + 1 < items.n && ulak_is_table_spec(items.v[i + 1])) {
				check_table(ck, name, items.v[++i]);
			} else {
				check_where(ck, name, &where);
				buf_reset(&msg);
				(void)buf_printf(&msg, "%s: %s needs a table "
				    "(type:name) after it", where.data, it);
				check_error(ck, msg.data);
			}
		}
	}
out:
	strlist_release(&items);
	buf_release(&value);
	buf_release(&msg);
	buf_release(&where);
}

static void
check_tables(struct check *ck)
{
	const struct config_param_def *defs;
	struct strlist set;
	size_t n;

	defs = config_param_defs(&n);
	for (size_t i = 0; i < n; i++)
		check_param_tables(ck, defs[i].name);
	strlist_init(&set);
	config_set_names(ck->cfg, &set);
	for (size_t i = 0; i < set.n; i++)
		if (config_param_find(set.v[i]) == NULL)
			check_param_tables(ck, set.v[i]);
	strlist_release(&set);
}

/* PATH (from parameter NAME) must be an existing folder. */
static void
check_folder(struct check *ck, const char *name, const char *path)
{
	struct buf where, msg;
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return;
	buf_init(&where, 0);
	buf_init(&msg, 0);
	check_where(ck, name, &where);
	(void)buf_printf(&msg, "%s: folder %s %s", where.data, path,
	    errno == ENOENT ? "is missing" : "is not a usable folder");
	check_error(ck, msg.data);
	buf_release(&where);
	buf_release(&msg);
}

/* PATH (from parameter NAME) must be a readable file. */
static void
check_file(struct check *ck, const char *name, const char *path)
{
	struct buf where, msg;

	if (access(path, R_OK) == 0)
		return;
	buf_init(&where, 0);
	buf_init(&msg, 0);
	check_where(ck, name, &where);
	(void)buf_printf(&msg, "%s: cannot read %s: %s", where.data, path,
	    strerror(errno));
	check_error(ck, msg.data);
	buf_release(&where);
	buf_release(&msg);
}

static void
check_folders(struct check *ck)
{
	static const char *const qdirs[] = { QUEUE_MAILDROP, QUEUE_INCOMING,
		QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_CORRUPT,
		QUEUE_BOUNCE, QUEUE_DEFER, QUEUE_PRIVATE };
	static const char *const tls_files[] = { "smtpd_tls_cert_file",
		"smtpd_tls_key_file", "smtp_tls_cert_file", "smtp_tls_key_file",
		"imapd_tls_cert_file", "imapd_tls_key_file",
		"pop3d_tls_cert_file", "pop3d_tls_key_file" };
	struct buf v, p;
	const char *error;

	buf_init(&v, 0);
	buf_init(&p, 0);
	if (ulak_config_value(ck->cfg, "queue_directory", &v, &error) == 0) {
		check_folder(ck, "queue_directory", v.data);
		for (size_t i = 0; i < sizeof(qdirs) / sizeof(qdirs[0]); i++) {
			buf_reset(&p);
			(void)buf_printf(&p, "%s/%s", v.data, qdirs[i]);
			check_folder(ck, "queue_directory", p.data);
		}
		if (ulak_config_value(ck->cfg, "process_id_directory", &p,
		    &error) == 0 && *p.data != '\0') {
			struct buf pid;

			buf_init(&pid, 0);
			if (p.data[0] == '/')
				(void)buf_append_str(&pid, p.data);
			else
				(void)buf_printf(&pid, "%s/%s", v.data, p.data);
			check_folder(ck, "process_id_directory", pid.data);
			buf_release(&pid);
		}
	}
	if (ulak_config_value(ck->cfg, "data_directory", &v, &error) == 0 &&
	    *v.data != '\0')
		check_folder(ck, "data_directory", v.data);
	if (ulak_config_value(ck->cfg, "maillog_file", &v, &error) == 0 &&
	    v.data[0] == '/') {
		char *slash = strrchr(v.data, '/');

		*slash = '\0';
		check_folder(ck, "maillog_file", *v.data != '\0' ? v.data : "/");
	}
	for (size_t i = 0; i < sizeof(tls_files) / sizeof(tls_files[0]); i++)
		if (config_param_find(tls_files[i]) != NULL &&
		    ulak_config_value(ck->cfg, tls_files[i], &v, &error) == 0 &&
		    *v.data != '\0')
			check_file(ck, tls_files[i], v.data);
	buf_release(&v);
	buf_release(&p);
}

/*
 * Run as root, master makes the daemons run as mail_owner: that user must
 * exist and must not be root.  Unprivileged, no user change happens.
 */
static void
check_mail_owner(struct check *ck)
{
	struct buf v, where, msg;
	const char *error;
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	buf_init(&v, 0);
	buf_init(&where, 0);
	buf_init(&msg, 0);
	if (ulak_config_value(ck->cfg, "mail_owner", &v, &error) == 0) {
		pw = getpwnam(v.data);
		check_where(ck, "mail_owner", &where);
		if (pw == NULL)
			(void)buf_printf(&msg, "%s: user \"%s\" does not exist "
			    "(create it: useradd --system %s)", where.data,
			    v.data, v.data);
		else if (pw->pw_uid == 0)
			(void)buf_printf(&msg, "%s: \"%s\" is root; the "
			    "daemons need an unprivileged user", where.data,
			    v.data);
		if (msg.len > 0)
			check_error(ck, msg.data);
	}
	buf_release(&v);
	buf_release(&where);
	buf_release(&msg);
}

/*
 * smtp_tls_security_level = dane needs DNSSEC: without a trust anchor
 * the smtp agent warns and uses "may" (docs/smtp.md, DANE).
 */
static void
check_dane(struct check *ck)
{
	struct buf level, anchor, where, msg;
	const char *error;

	buf_init(&level, 0);
	buf_init(&anchor, 0);
	buf_init(&where, 0);
	buf_init(&msg, 0);
	if (ulak_config_value(ck->cfg, "smtp_tls_security_level", &level,
	    &error) == 0 && str_casecmp(level.data, "dane") == 0 &&
	    ulak_config_value(ck->cfg, "dnssec_trust_anchor_file", &anchor,
	    &error) == 0 && anchor.len == 0) {
		check_where(ck, "smtp_tls_security_level", &where);
		(void)buf_printf(&msg, "%s: dane needs DNSSEC validation, but "
		    "dnssec_trust_anchor_file is empty: the smtp agent will "
		    "use \"may\"", where.data);
		check_warning(ck, msg.data);
	}
	buf_release(&level);
	buf_release(&anchor);
	buf_release(&where);
	buf_release(&msg);
}

static void
check_master(struct check *ck)
{
	struct strlist problems;
	int errors;

	strlist_init(&problems);
	ulak_quiet_begin();
	errors = mastercf_check(ck->cfg, &problems);
	(void)ulak_quiet_end("check");
	for (size_t i = 0; i < problems.n; i++)
		if (str_has_prefix(problems.v[i], "warning: "))
			check_warning(ck, problems.v[i] + 9);
		else
			check_error(ck, problems.v[i]);
	(void)errors;
	strlist_release(&problems);
}

static int
check_run(int argc, char **argv)
{
	struct check ck = { 0 };
	struct strlist problems;
	const char *error;
	int c, rc;

	if ((c = ulak_options_plain(&ulak_cmd_check, argc, argv, false)) >= 0)
		return c;

	ck.cfg = config_new(ulak_config_dir());
	ulak_quiet_begin();
	rc = config_load(ck.cfg, &error);
	/* config_check repeats the load warnings as problems: drop these. */
	ulak_quiet_discard();
	(void)ulak_quiet_end("check");
	if (rc < 0) {
		check_error(&ck, error);
		goto done;
	}
	strlist_init(&problems);
	ulak_quiet_begin();
	(void)config_check(ck.cfg, &problems);
	(void)ulak_quiet_end("check");
	for (size_t i = 0; i < problems.n; i++)
		if (str_has_prefix(problems.v[i], "warning: "))
			check_warning(&ck, problems.v[i] + 9);
		else
			check_error(&ck, problems.v[i]);
	strlist_release(&problems);

	strlist_init(&ck.tables);
	check_master(&ck);
	check_tables(&ck);
	check_folders(&ck);
	check_mail_owner(&ck);
	check_dane(&ck);
	strlist_release(&ck.tables);
done:
	config_free(ck.cfg);
	if (ck.errors > 0 || ck.warnings > 0)
		fprintf(stderr, "ulak check: %d error%s, %d warning%s\n",
		    ck.errors, ck.errors == 1 ? "" : "s", ck.warnings,
		    ck.warnings == 1 ? "" : "s");
	return ck.errors > 0 ? ULAK_EXIT_FAIL : ULAK_EXIT_OK;
}

const struct ulak_cmd ulak_cmd_check = {
	.name = "check",
	.summary = "check an instance's configuration, tables and folders",
	.synopsis = "ulak check [-c CONFIG_DIR]",
	.help =
	    "DESCRIPTION\n"
	    "    Reads everything the daemons of the instance will read and\n"
	    "    reports each problem on stderr, with the file and line it\n"
	    "    comes from where there is one:\n"
	    "\n"
	    "    - main.cf: syntax, values of the wrong type (a size that is\n"
	    "      not a number, ...), $name references that loop or do not\n"
	    "      close, unknown parameter names (a warning);\n"
	    "    - master.cf: its columns and options (when it is absent the\n"
	    "      built-in table is used, which is fine);\n"
	    "    - every lookup table named by a parameter ending in _maps or\n"
	    "      _checks, by alias_database, or after a check_*_access\n"
	    "      restriction in a *_restrictions parameter: it must open\n"
	    "      (files exist, sources parse); a hash: or lmdb: table whose\n"
	    "      source is newer than its built file gets the warning\n"
	    "      \"table X is older than its source: run ulak map X\";\n"
	    "    - the queue folders, data_directory, the folder of\n"
	    "      maillog_file, and the TLS certificate and key files;\n"
	    "    - when run as root: that mail_owner exists and is not root.\n"
	    "\n"
	    "    Nothing is printed when all is well.  Otherwise each line\n"
	    "    starts \"ulak check: error:\" or \"ulak check: warning:\" and a\n"
	    "    last line counts them.\n"
	    "\n"
	    "OPTIONS\n"
	    ULAK_HELP_OPT_C
	    ULAK_HELP_OPT_H
	    "\n"
	    "EXAMPLES\n"
	    "    ulak -c ./run check && ulak -c ./run reload\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when there are no errors (warnings alone do not fail),\n"
	    "    1 when there is at least one error, 2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak conf, ulak map, ulak aliases\n",
	.run = check_run,
};
