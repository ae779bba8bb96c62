/*
 * cmd_passwd - `ulak passwd USER`: set the password of a mail user in the
 * passwd-file that smtpd_sasl_password_maps names (the users file of an
 * instance written by `ulak init`), adding the user when it is new.  The
 * hash is yescrypt (libcrypt); the other lines of the file are kept as
 * they are and the file is replaced atomically with its mode and owner.
 *
 * Distrusts its input: the user name is checked (it becomes a key of the
 * table and part of a path), the password may not be empty or hold a
 * line break; it is never printed or logged and is wiped after use.
 * Runs with the invoking user's privileges.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "mem.h"
#include "str.h"
#include "ulak.h"

#define PASSWD_MAX 1024		/* longest password accepted */
#define PASSWD_FILE_MAX (64u * 1024 * 1024)

/* A user name safe as a passwd-file key, a path part and a local part. */
static bool
passwd_user_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > 64 || u[0] == '-' || u[0] == '.')
		return false;
	for (const char *p = u; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-' || *p == '.' || *p == '@' ||
		    *p == '+'))
			return false;
	return true;
}

/*
 * One line from F into BUF (without the line end).  With PROMPT (a
 * terminal) echo is off while it is typed.  0, or -1 with *error_r.
 */
static int
passwd_read_line(FILE *f, const char *prompt, char *buf, size_t size,
    const char **error_r)
{
	struct termios old, quiet;
	bool tty = prompt != NULL && tcgetattr(fileno(f), &old) == 0;
	size_t len;
	int rc = 0;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		(void)tcsetattr(fileno(f), TCSAFLUSH, &quiet);
	}
	if (fgets(buf, (int)size, f) == NULL) {
		*error_r = "no password given";
		rc = -1;
	} else {
		len = strlen(buf);
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		else if (len == size - 1) {
			*error_r = err_fmt("the password is longer than %d "
			    "characters", PASSWD_MAX);
			rc = -1;
		}
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (rc == 0 && len == 0) {
			*error_r = "the password is empty";
			rc = -1;
		}
	}
	if (tty) {
		(void)tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* The file of the first passwd-file: table in SPEC, or NULL. */
static char *
passwd_file_of(const char *spec)
{
	struct strlist items;
	char *path = NULL;

	strlist_init(&items);
	strlist_split(&items, spec, ", \t\r\n");
	for (size_t i = 0; i < items.n && path == NULL; i++)
		if (strncmp(items.v[i], "passwd-file:", 12) == 0 &&
		    items.v[i][12] == '/')
			path = xstrdup(items.v[i] + 12);
	strlist_release(&items);
	return path;
}

/*
 * The new file: OLD with USER's hash replaced, or with a new line for
 * USER appended (a system account's own uid, gid, home and shell; else
 * uid, gid and the home's folder copied from the first entry, as `ulak
 * init` lays them out).  *ADDED_R tells which.
 */
static void
passwd_edit(const struct buf *old, const char *user, const char *hash,
    struct buf *out, bool *added_r)
{
	const char *p = old->data, *end = old->data + old->len;
	const char *first = NULL;
	size_t first_len = 0, ul = strlen(user);
	struct passwd *pw;

	*added_r = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len > ul && p[ul] == ':' && memcmp(p, user, ul) == 0) {
			const char *rest = memchr(p + ul + 1, ':',
			    len - ul - 1);

			buf_printf(out, "%s:%s", user, hash);
			if (rest != NULL)
				buf_append(out, rest, (size_t)(p + len - rest));
			buf_append_char(out, '\n');
			*added_r = false;
		} else {
			if (first == NULL && len > 0 && p[0] != '#' &&
			    memchr(p, ':', len) != NULL) {
				first = p;
				first_len = len;
			}
			buf_append(out, p, len);
			buf_append_char(out, '\n');
		}
		p += len + (nl != NULL ? 1 : 0);
	}
	if (!*added_r)
		return;
	/*
	 * A system account (not root) keeps its own uid, gid, home and
	 * shell: its mail is its own, read through a worker of its uid
	 * (docs/security.md, "mailuser"), delivered by local as it.
	 */
	if ((pw = getpwnam(user)) != NULL && pw->pw_uid != 0 &&
	    pw->pw_dir != NULL && pw->pw_dir[0] == '/' &&
	    strchr(pw->pw_dir, ':') == NULL && pw->pw_shell != NULL &&
	    strchr(pw->pw_shell, ':') == NULL) {
		buf_printf(out, "%s:%s:%lu:%lu::%s:%s\n", user, hash,
		    (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid,
		    pw->pw_dir, pw->pw_shell);
		return;
	}
	/* name:hash:uid:gid:gecos:home:shell */
	{
		struct strlist f;
		struct buf line;

		strlist_init(&f);
		buf_init(&line, 0);
		if (first != NULL) {
			buf_append(&line, first, first_len);
			/* Split at every ':', keeping empty fields. */
			for (char *s = line.data;;) {
				char *c = strchr(s, ':');

				if (c != NULL)
					*c = '\0';
				strlist_add(&f, s);
				if (c == NULL)
					break;
				s = c + 1;
			}
		}
		if (f.n >= 7) {
			const char *home = f.v[5];
			const char *slash = strrchr(home, '/');
			const char *name = f.v[0];
			size_t hl = strlen(home), nl = strlen(name);

			buf_printf(out, "%s:%s:%s:%s::", user, hash, f.v[2],
			    f.v[3]);
			/* ".../home/demo" for demo: ".../home/USER". */
			if (slash != NULL && hl > nl &&
			    strcmp(home + hl - nl, name) == 0 &&
			    home + hl - nl == slash + 1)
				buf_printf(out, "%.*s%s", (int)(slash + 1 - home),
				    home, user);
			buf_printf(out, ":%s\n", f.v[6]);
		} else {
			buf_printf(out, "%s:%s:%lu:%lu:::/bin/false\n", user,
			    hash, (unsigned long)getuid(),
			    (unsigned long)getgid());
		}
		buf_release(&line);
		strlist_release(&f);
	}
}

static int
passwd_run(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct buf spec, old, out;
	struct stat st;
	char pw[PASSWD_MAX + 2], again[PASSWD_MAX + 2];
	char *path = NULL, *hash = NULL;
	const char *error = NULL, *user;
	bool tty, added;
	mode_t mode = 0640;
	int c, status = ULAK_EXIT_FAIL;

	if ((c = ulak_options_plain(&ulak_cmd_passwd, argc, argv, true)) >= 0)
		return c;
	if (argc - optind != 1)
		return ulak_usage(&ulak_cmd_passwd, argc == optind ?
		    "no user named" : "only one user may be named");
	user = argv[optind];
	if (!passwd_user_ok(user))
		return ulak_usage(&ulak_cmd_passwd, "bad user name \"%s\": "
		    "lower-case letters, digits, '.', '_', '-', '+', '@'",
		    user);

	buf_init(&spec, 0);
	buf_init(&old, 0);
	buf_init(&out, 0);
	cfg = ulak_config_load("passwd", false);
	if (cfg == NULL)
		goto out;
	if (ulak_config_value(cfg, "smtpd_sasl_password_maps", &spec,
	    &error) < 0) {
		ulak_err("passwd", "smtpd_sasl_password_maps: %s", error);
		goto out;
	}
	path = passwd_file_of(spec.data);
	if (path == NULL) {
		ulak_err("passwd", "smtpd_sasl_password_maps (\"%s\") names no "
		    "passwd-file:/path table", spec.data);
		goto out;
	}
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
		if (file_read_all(path, &old, PASSWD_FILE_MAX, &error) < 0) {
			ulak_err("passwd", "%s", error);
			goto out;
		}
	} else if (errno != ENOENT) {
		ulak_err("passwd", "%s: %s", path, strerror(errno));
		goto out;
	}

	tty = isatty(STDIN_FILENO);
	if (passwd_read_line(stdin, tty ? "Password: " : NULL, pw, sizeof(pw),
	    &error) < 0) {
		ulak_err("passwd", "%s", error);
		goto out;
	}
	if (tty) {
		if (passwd_read_line(stdin, "Again: ", again, sizeof(again),
		    &error) < 0) {
			ulak_err("passwd", "%s", error);
			goto out;
		}
		if (strcmp(pw, again) != 0) {
			ulak_err("passwd", "the passwords differ; nothing "
			    "changed");
			goto out;
		}
	}
	hash = ulak_password_hash(pw, &error);
	if (hash == NULL) {
		ulak_err("passwd", "%s", error);
		goto out;
	}
	passwd_edit(&old, user, hash, &out, &added);
	if (file_write_atomic(path, out.data, out.len, mode, &error) < 0) {
		ulak_err("passwd", "%s", error);
		goto out;
	}
	/* Keep the file its owner's (mail_owner's, when root wrote it). */
	if (old.len > 0 && geteuid() == 0 &&
	    chown(path, st.st_uid, st.st_gid) < 0) {
		ulak_err("passwd", "%s: cannot restore its owner: %s", path,
		    strerror(errno));
		goto out;
	}
	printf("ulak: %s user %s in %s\n", added ? "added" : "changed the "
	    "password of", user, path);
	status = ULAK_EXIT_OK;
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	free(hash);
	free(path);
	buf_release(&spec);
	buf_release(&old);
	buf_release(&out);
	if (cfg != NULL)
		config_free(cfg);
	return status;
}

const struct ulak_cmd ulak_cmd_passwd = {
	.name = "passwd",
	.summary = "set a mail user's password (SMTP AUTH, POP3, IMAP)",
	.synopsis = "ulak passwd [-c CONFIG_DIR] USER",
	.help =
	    "DESCRIPTION\n"
	    "    Sets the password of the mail user USER in the passwd-file\n"
	    "    that smtpd_sasl_password_maps names (in an instance written by\n"
	    "    `ulak init`: CONFIG_DIR/users, which SMTP AUTH, POP3, IMAP and\n"
	    "    local delivery share).  A user that is not in the file yet is\n"
	    "    added: a system account (other than root) with its own uid,\n"
	    "    gid, home and shell, so that its ~/Maildir is served as that\n"
	    "    uid; any other name with the uid, gid and shell of the file's\n"
	    "    first user and a home beside its home (.../home/USER).\n"
	    "\n"
	    "    The password is read from the terminal twice without echo, or\n"
	    "    as one line from standard input when that is not a terminal\n"
	    "    (scripts: printf '%s\\n' \"$pw\" | ulak passwd alice).  It is\n"
	    "    stored as a yescrypt hash; the other lines of the file stay as\n"
	    "    they are, and the file is replaced atomically, keeping its\n"
	    "    mode and owner.  Running daemons see the change at once (the\n"
	    "    table is read again when it changes) or after `ulak reload`.\n"
	    "\n"
	    "    USER is lower-case letters, digits and '.', '_', '-', '+',\n"
	    "    '@'; the password may not be empty or hold a line break.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder.\n"
	    ULAK_HELP_OPT_H
	    "\n"
	    "EXAMPLES\n"
	    "    ulak -c ./run passwd demo\n"
	    "    printf '%s\\n' 'n3w secret' | ulak -c ./run passwd alice\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when the password was written; 1 when the table is not a\n"
	    "    passwd-file, the passwords differ or a file could not be\n"
	    "    written; 2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak init, docs/security.md\n",
	.run = passwd_run,
};
