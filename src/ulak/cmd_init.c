/*
 * cmd_init - `ulak init DIR`: write a complete, ready-to-run instance
 * inside DIR alone: main.cf, master.cf (listeners on 127.0.0.1 at
 * BASE+port), aliases (built), a passwd-file of mail users with yescrypt
 * hashes and their Maildir homes, the queue, log and data folders, a
 * self-signed TLS certificate and a DKIM signing key (init_dkim.c).
 *
 * Distrusts its arguments: the domain, user names and port base are
 * checked before anything is written; DIR must be new or empty, and
 * on failure everything written into it is removed again.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"
#include "err.h"
#include "file.h"
#include "init_dkim.h"
#include "mastercf.h"
#include "mem.h"
#include "parse.h"
#include "queue.h"
#include "str.h"
#include "ulak.h"

#define INIT_DEFAULT_DOMAIN "example.test"
#define INIT_DEFAULT_BASE 2000
#define INIT_DEFAULT_USER "demo"
#define INIT_PASSWORD_LEN 16

struct init_user {
	char *name;
	char *password;
	bool generated;		/* made up here: print it once */
};

struct init {
	const char *dir;	/* absolute */
	const char *domain;
	unsigned base;
	struct init_user *users;
	size_t n_users;
	const char *owner;	/* mail_owner */
	uid_t uid;		/* of the mail users and their files */
	gid_t gid;
	bool chown_owner;	/* root: give the daemons' files to mail_owner */
	int dkim_type;		/* enum dkim_key_type, or -1: no DKIM key */
};

/* The listeners and their offsets from the port base. */
static const struct {
	const char *service;
	unsigned port;
} init_listeners[] = {
	{ "smtp", 25 }, { "submission", 587 }, { "submissions", 465 },
	{ "pop3", 110 }, { "imap", 143 }, { "pop3s", 995 }, { "imaps", 993 },
};

static bool
init_domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-' || d[n - 1] == '.')
		return false;
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* A user name safe in a passwd-file, a path and an address. */
static bool
init_user_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > 32 || u[0] == '-' || u[0] == '.')
		return false;
	for (const char *p = u; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* A random password of letters and digits (no bias: rejection sampling). */
static char *
init_random_password(const char **error_r)
{
	static const char set[] =
	    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
	const size_t n = sizeof(set) - 1;
	const unsigned limit = 256 - 256 % (unsigned)n;
	char *pw = xmalloc(INIT_PASSWORD_LEN + 1);
	size_t have = 0;

	while (have < INIT_PASSWORD_LEN) {
		unsigned char r[64];
		ssize_t got = getrandom(r, sizeof(r), 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			*error_r = err_fmt("getrandom: %s", strerror(errno));
			free(pw);
			return NULL;
		}
		for (ssize_t i = 0; i < got && have < INIT_PASSWORD_LEN; i++)
			if (r[i] < limit)
				pw[have++] = set[r[i] % n];
	}
	pw[have] = '\0';
	return pw;
}

static int
init_mkdir(const char *path, mode_t mode, const char **error_r)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		*error_r = err_fmt("cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
init_write(const char *dir, const char *name, const struct buf *text,
    mode_t mode, const char **error_r)
{
	struct buf path;
	int rc;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/%s", dir, name);
	rc = file_write_atomic(path.data, text->data, text->len, mode, error_r);
	buf_release(&path);
	return rc;
}

static int
init_folders(const struct init *in, const char **error_r)
{
	static const char *const top[] = { "queue", "log", "data", "tls",
		"home" };
	struct buf p;
	int rc = -1;

	buf_init(&p, 0);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		buf_reset(&p);
		(void)buf_printf(&p, "%s/%s", in->dir, top[i]);
		if (init_mkdir(p.data, strcmp(top[i], "tls") == 0 ? 0700 :
		    0755, error_r) < 0)
			goto out;
	}
	buf_reset(&p);
	(void)buf_printf(&p, "%s/queue", in->dir);
	if (queue_dirs_create(p.data, error_r) < 0)
		goto out;
	for (size_t u = 0; u < in->n_users; u++) {
		static const char *const sub[] = { "", "/Maildir",
			"/Maildir/cur", "/Maildir/new", "/Maildir/tmp" };

		for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
			buf_reset(&p);
			(void)buf_printf(&p, "%s/home/%s%s", in->dir,
			    in->users[u].name, sub[i]);
			if (init_mkdir(p.data, 0700, error_r) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

static int
init_main_cf(const struct init *in, const char **error_r)
{
	struct buf t;
	int rc;

	buf_init(&t, 0);
	(void)buf_printf(&t,
	    "# main.cf - ulak configuration, written by `ulak init`.\n"
	    "# Syntax and names as in Postfix's main.cf; `ulak conf -d` lists\n"
	    "# every parameter with its default, docs/parameters.md explains\n"
	    "# them.  Change a value with `ulak conf -c %s -e name=value`,\n"
	    "# check with `ulak -c %s check`, apply with `ulak -c %s reload`.\n"
	    "\n"
	    "# Where this instance lives: everything is inside this folder.\n"
	    "config_directory = %s\n"
	    "queue_directory = %s/queue\n"
	    "data_directory = %s/data\n"
	    "maillog_file = %s/log/ulak.log\n"
	    "mail_owner = %s\n"
	    "\n"
	    "# Who we are.\n"
	    "myhostname = mail.%s\n"
	    "mydomain = %s\n"
	    "myorigin = $mydomain\n"
	    "mydestination = $myhostname, localhost.$mydomain, localhost, "
	    "$mydomain\n"
	    "\n"
	    "# Listen on loopback only; the ports are in master.cf.\n"
	    "inet_interfaces = 127.0.0.1\n"
	    "mynetworks = 127.0.0.0/8\n"
	    "\n"
	    "# Mail users without system accounts (passwd(5) layout, yescrypt\n"
	    "# hashes): local delivery, SMTP AUTH, POP3 and IMAP all use it.\n"
	    "local_user_maps = passwd-file:%s/users\n"
	    "smtpd_sasl_password_maps = passwd-file:%s/users\n"
	    "alias_maps = hash:%s/aliases\n"
	    "alias_database = hash:%s/aliases\n"
	    "local_recipient_maps = $local_user_maps $alias_maps\n"
	    "home_mailbox = Maildir/\n"
	    "\n"
	    "# TLS with the self-signed certificate made for mail.%s.\n"
	    "smtpd_tls_cert_file = %s/tls/cert.pem\n"
	    "smtpd_tls_key_file = %s/tls/key.pem\n"
	    "smtpd_tls_security_level = may\n"
	    "smtpd_sasl_auth_enable = yes\n"
	    "\n"
	    "# Senders: an authenticated user may send only as its own\n"
	    "# addresses (sender_login: NAME@%s belongs to login NAME);\n"
	    "# nobody outside mynetworks may use our domains without login.\n"
	    "smtpd_sender_login_maps = regexp:%s/sender_login\n"
	    "smtpd_sender_restrictions = "
	    "reject_authenticated_sender_login_mismatch,\n"
	    "    reject_unauth_local_sender\n"
	    "\n"
	    "# Checks of arriving mail (docs/checks.md).  Clients in mynetworks\n"
	    "# and logged-in users are trusted; from anyone else SPF \"fail\" is\n"
	    "# refused, DKIM signatures are verified, the From: domain's DMARC\n"
	    "# policy is applied, and Authentication-Results: says what was found.\n"
	    "smtpd_recipient_restrictions = permit_mynetworks,\n"
	    "    permit_sasl_authenticated, check_spf\n"
	    "spf_reject_on = fail\n"
	    "dkim_verify = yes\n"
	    "dmarc_enforce = yes\n"
	    "# Greylisting: use this line instead to turn it on.\n"
	    "#smtpd_recipient_restrictions = permit_mynetworks, "
	    "permit_sasl_authenticated, check_spf, check_greylist\n"
	    "# Clients without reverse DNS may be refused with\n"
	    "# smtpd_client_restrictions = reject_unknown_reverse_client_hostname\n",
	    in->dir, in->dir, in->dir,
	    in->dir, in->dir, in->dir, in->dir, in->owner,
	    in->domain, in->domain,
	    in->dir, in->dir, in->dir, in->dir,
	    in->domain, in->dir, in->dir, in->domain, in->dir);
	if (in->dkim_type >= 0)
		(void)buf_printf(&t, "\n"
		    "# DKIM: outgoing mail from %s is signed (key and the DNS\n"
		    "# record to publish in %s/dkim/).\n"
		    "dkim_signing_key_maps = texthash:%s/dkim/signing_keys\n",
		    in->domain, in->dir, in->dir);
	rc = init_write(in->dir, "main.cf", &t, 0644, error_r);
	buf_release(&t);
	return rc;
}

/*
 * sender_login, the regexp table of smtpd_sender_login_maps: the address
 * NAME@DOMAIN (also NAME+ext@, and @mail.DOMAIN) belongs to login NAME.
 */
static int
init_sender_login(const struct init *in, const char **error_r)
{
	struct buf t, re;
	int rc;

	buf_init(&t, 0);
	buf_init(&re, 0);
	for (const char *p = in->domain; *p; p++) {
		if (*p == '.')
			buf_append_char(&re, '\\');
		buf_append_char(&re, *p);
	}
	(void)buf_printf(&t,
	    "# sender_login - who may use which envelope sender address\n"
	    "# (smtpd_sender_login_maps, a regexp: table; the first matching\n"
	    "# line wins).  The result is the login, or several separated by\n"
	    "# commas.  Checked for authenticated clients by\n"
	    "# reject_authenticated_sender_login_mismatch (main.cf).\n"
	    "# To let demo send as postmaster, put above the last line:\n"
	    "#   /^postmaster@%s$/  demo\n"
	    "\n"
	    "/^([^+@]+)(\\+[^@]*)?@(mail\\.)?%s$/  ${1}\n",
	    re.data, re.data);
	rc = init_write(in->dir, "sender_login", &t, 0644, error_r);
	buf_release(&t);
	buf_release(&re);
	return rc;
}

static int
init_users(const struct init *in, const char **error_r)
{
	struct buf t;
	int rc = -1;

	buf_init(&t, 0);
	for (size_t i = 0; i < in->n_users; i++) {
		char *hash = ulak_password_hash(in->users[i].password, error_r);

		if (hash == NULL)
			goto out;
		(void)buf_printf(&t, "%s:%s:%lu:%lu::%s/home/%s:/bin/false\n",
		    in->users[i].name, hash, (unsigned long)in->uid,
		    (unsigned long)in->gid, in->dir, in->users[i].name);
		free(hash);
	}
	rc = init_write(in->dir, "users", &t, 0640, error_r);
out:
	buf_release(&t);
	return rc;
}

static int
init_aliases(const struct init *in, const char **error_r)
{
	static const char *const roles[] = { "postmaster", "root", "abuse",
		"hostmaster", "webmaster", "security", "MAILER-DAEMON" };
	const char *to = in->users[0].name;
	struct buf t, spec;
	int rc;

	buf_init(&t, 0);
	buf_init(&spec, 0);
	(void)buf_printf(&t,
	    "# aliases(5) - who receives mail for the role addresses of %s.\n"
	    "# \"name: address, address...\"; also \"|command\", /file and\n"
	    "# :include:/path.  After a change run `ulak aliases -c %s`.\n"
	    "\n", in->domain, in->dir);
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		(void)buf_printf(&t, "%s: %s\n", roles[i], to);
	if (strcmp(in->owner, to) != 0 && init_user_ok(in->owner))
		(void)buf_printf(&t, "%s: %s\n", in->owner, to);
	rc = init_write(in->dir, "aliases", &t, 0644, error_r);
	if (rc == 0) {
		(void)buf_printf(&spec, "%s/aliases", in->dir);
		ulak_quiet_begin();
		rc = aliases_build(spec.data, error_r);
		(void)ulak_quiet_end("init");
	}
	buf_release(&t);
	buf_release(&spec);
	return rc;
}

/* The port offset of a listener service, or 0 when it is not one. */
static unsigned
init_listener_port(const char *service, size_t n)
{
	for (size_t i = 0; i < sizeof(init_listeners) /
	    sizeof(init_listeners[0]); i++)
		if (strlen(init_listeners[i].service) == n &&
		    strncmp(init_listeners[i].service, service, n) == 0)
			return init_listeners[i].port;
	return 0;
}

/*
 * master.cf: the built-in table with each inet listener's service column
 * replaced by 127.0.0.1:PORT.  A listener that the table has only as a
 * comment ("#submission inet ...") is enabled, with its "#  -o" lines.
 */
static int
init_master_cf(const struct init *in, const char **error_r)
{
	const char *p = mastercf_default_text();
	struct buf t;
	bool in_enabled = false;	/* continuing an enabled commented entry */
	int rc;

	buf_init(&t, 0);
	(void)buf_printf(&t,
	    "# Written by `ulak init` from the built-in table below, with its\n"
	    "# listeners moved to 127.0.0.1 at %u + the usual port.\n"
	    "#\n", in->base);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *line = p, *s = p;
		size_t svc_len;
		unsigned port;

		p += len;
		if (*p == '\n')
			p++;
		/* A commented continuation of an entry we enabled. */
		if (in_enabled && len > 1 && line[0] == '#' &&
		    (line[1] == ' ' || line[1] == '\t')) {
			(void)buf_printf(&t, " %.*s\n", (int)(len - 1),
			    line + 1);
			continue;
		}
		in_enabled = false;
		if (*s == '#')
			s++;
		svc_len = strcspn(s, " \t");
		port = init_listener_port(s, svc_len);
		if (port != 0 && s + svc_len < line + len) {
			const char *rest = s + svc_len;
			size_t type_off = strspn(rest, " \t");

			if (strncmp(rest + type_off, "inet", 4) == 0 &&
			    (rest[type_off + 4] == ' ' ||
			    rest[type_off + 4] == '\t')) {
				(void)buf_printf(&t, "127.0.0.1:%u%.*s\n",
				    in->base + port,
				    (int)(line + len - rest), rest);
				in_enabled = line[0] == '#';
				continue;
			}
		}
		(void)buf_printf(&t, "%.*s\n", (int)len, line);
	}
	rc = init_write(in->dir, "master.cf", &t, 0644, error_r);
	buf_release(&t);
	return rc;
}

static uid_t chown_uid;
static gid_t chown_gid;
static const char *chown_error;

static int
init_chown_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	if (lchown(path, chown_uid, chown_gid) < 0) {
		chown_error = err_fmt("cannot give %s to uid %lu: %s", path,
		    (unsigned long)chown_uid, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Running as root: give mail_owner the files its daemons write or read
 * with its privileges (homes, data, log, TLS, the users file).  The
 * queue is master's to set up.
 */
static int
init_chown(const struct init *in, const char **error_r)
{
	static const char *const trees[] = { "home", "data", "log", "tls",
		"users", "dkim" };
	struct buf p;
	int rc = 0;

	if (!in->chown_owner)
		return 0;
	chown_uid = in->uid;
	chown_gid = in->gid;
	buf_init(&p, 0);
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]) && rc == 0;
	    i++) {
		buf_reset(&p);
		(void)buf_printf(&p, "%s/%s", in->dir, trees[i]);
		if (access(p.data, F_OK) < 0)
			continue;	/* dkim/ with --dkim none */
		if (nftw(p.data, init_chown_one, 16, FTW_PHYS) != 0) {
			*error_r = chown_error != NULL ? chown_error :
			    err_fmt("cannot walk %s", p.data);
			rc = -1;
		}
	}
	buf_release(&p);
	return rc;
}

static int
init_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;	/* keep DIR itself: it was there or is empty */
	(void)(flag == FTW_DP ? rmdir(path) : unlink(path));
	return 0;
}

/* Remove everything inside DIR (all of it was written by us). */
static void
init_cleanup(const char *dir)
{
	(void)nftw(dir, init_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* 1 when DIR exists and holds anything, 0 when empty or absent, -1 error. */
static int
init_dir_used(const char *dir, const char **error_r)
{
	struct stat st;
	int n = 0;

	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = err_fmt("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*error_r = err_fmt("%s exists and is not a folder", dir);
		return -1;
	}
	{
		/* nftw would be overkill: any entry but . and .. counts. */
		DIR *d = opendir(dir);
		struct dirent *e;

		if (d == NULL) {
			*error_r = err_fmt("%s: %s", dir, strerror(errno));
			return -1;
		}
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 &&
			    strcmp(e->d_name, "..") != 0)
				n++;
		closedir(d);
	}
	return n > 0 ? 1 : 0;
}

static int
init_add_user(struct init *in, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct init_user *u;
	char *name = colon != NULL ? xstrndup(arg, (size_t)(colon - arg)) :
	    xstrdup(arg);

	if (!init_user_ok(name)) {
		free(name);
		return -1;
	}
	for (size_t i = 0; i < in->n_users; i++)
		if (strcmp(in->users[i].name, name) == 0) {
			free(name);
			return -1;
		}
	in->users = xreallocarray(in->users, in->n_users + 1,
	    sizeof(in->users[0]));
	u = &in->users[in->n_users++];
	u->name = name;
	u->password = colon != NULL ? xstrdup(colon + 1) : NULL;
	u->generated = false;
	return 0;
}

static int
init_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "ports", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "dkim", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct init in = { .domain = INIT_DEFAULT_DOMAIN,
		.base = INIT_DEFAULT_BASE, .dkim_type = DKIM_KEY_ED25519 };
	struct buf dkim_zone;
	struct passwd *pw;
	const char *error = NULL;
	char *dir = NULL;
	uint64_t v;
	bool created = false;
	int c, used, status = ULAK_EXIT_FAIL;

	buf_init(&dkim_zone, 0);
	while ((c = getopt_long(argc, argv, ":d:p:u:h", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'd':
			if (!init_domain_ok(optarg)) {
				status = ulak_usage(&ulak_cmd_init,
				    "bad domain \"%s\"", optarg);
				goto out;
			}
			in.domain = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 65535 - 995, &v, &error) < 0) {
				status = ulak_usage(&ulak_cmd_init,
				    "bad port base \"%s\": a number from 0 "
				    "to %u", optarg, 65535 - 995);
				goto out;
			}
			in.base = (unsigned)v;
			break;
		case 'u':
			if (init_add_user(&in, optarg) < 0) {
				status = ulak_usage(&ulak_cmd_init,
				    "bad or repeated user \"%.*s\": names are "
				    "lower-case letters, digits, '.', '_', "
				    "'-'", (int)strcspn(optarg, ":"), optarg);
				goto out;
			}
			break;
		case 'k':
			if (strcmp(optarg, "ed25519") == 0)
				in.dkim_type = DKIM_KEY_ED25519;
			else if (strcmp(optarg, "rsa") == 0)
				in.dkim_type = DKIM_KEY_RSA;
			else if (strcmp(optarg, "none") == 0)
				in.dkim_type = -1;
			else {
				status = ulak_usage(&ulak_cmd_init,
				    "bad --dkim \"%s\": ed25519, rsa or none",
				    optarg);
				goto out;
			}
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_init, stdout);
			status = ULAK_EXIT_OK;
			goto out;
		case ':':
			status = ulak_usage(&ulak_cmd_init,
			    "option %s needs an argument", argv[optind - 1]);
			goto out;
		default:
			status = ulak_usage(&ulak_cmd_init, "unknown option %s",
			    argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind != 1) {
		status = ulak_usage(&ulak_cmd_init, argc - optind == 0 ?
		    "no folder named" : "only one folder may be named");
		goto out;
	}
	if (in.n_users == 0)
		(void)init_add_user(&in, INIT_DEFAULT_USER);
	for (size_t i = 0; i < in.n_users; i++) {
		if (in.users[i].password != NULL)
			continue;
		in.users[i].password = init_random_password(&error);
		if (in.users[i].password == NULL) {
			ulak_err("init", "%s", error);
			goto out;
		}
		in.users[i].generated = true;
	}
	pw = geteuid() == 0 ? NULL : getpwuid(geteuid());
	in.owner = pw != NULL ? pw->pw_name : "ulak";
	in.uid = getuid();
	in.gid = getgid();
	if (geteuid() == 0) {
		/*
		 * As root the daemons run as mail_owner: the mail users share
		 * its uid (as virtual mailboxes do), and what the daemons
		 * read or write becomes its own (init_chown).
		 */
		pw = getpwnam(in.owner);
		if (pw != NULL) {
			in.uid = pw->pw_uid;
			in.gid = pw->pw_gid;
			in.chown_owner = true;
		} else {
			ulak_warn("init", "user %s does not exist: create it "
			    "(useradd --system %s) before `ulak start`",
			    in.owner, in.owner);
		}
	}

	used = init_dir_used(argv[optind], &error);
	if (used < 0) {
		ulak_err("init", "%s", error);
		goto out;
	}
	if (used > 0) {
		ulak_err("init", "%s exists and is not empty: refusing to "
		    "write an instance into it", argv[optind]);
		goto out;
	}
	if (access(argv[optind], F_OK) < 0) {
		if (file_mkdirs(argv[optind], 0755, &error) < 0) {
			ulak_err("init", "%s", error);
			goto out;
		}
		created = true;
	}
	dir = realpath(argv[optind], NULL);
	if (dir == NULL) {
		ulak_err("init", "%s: %s", argv[optind], strerror(errno));
		goto out;
	}
	if (strpbrk(dir, " \t\r\n,$#:{}") != NULL) {
		ulak_err("init", "%s: the folder's path may not hold white "
		    "space or any of , $ # : { } (main.cf could not name it)",
		    dir);
		if (created)
			(void)rmdir(dir);
		goto out;
	}
	in.dir = dir;
	{
		struct buf cert, key, host;

		buf_init(&cert, 0);
		buf_init(&key, 0);
		buf_init(&host, 0);
		(void)buf_printf(&cert, "%s/tls/cert.pem", dir);
		(void)buf_printf(&key, "%s/tls/key.pem", dir);
		(void)buf_printf(&host, "mail.%s", in.domain);
		if (init_folders(&in, &error) < 0 ||
		    init_main_cf(&in, &error) < 0 ||
		    init_master_cf(&in, &error) < 0 ||
		    init_users(&in, &error) < 0 ||
		    init_sender_login(&in, &error) < 0 ||
		    init_aliases(&in, &error) < 0 ||
		    ulak_tls_selfsigned(cert.data, key.data, host.data,
		    &error) < 0 || (in.dkim_type >= 0 && ulak_init_dkim(dir,
		    in.domain, (enum dkim_key_type)in.dkim_type, &dkim_zone,
		    &error) < 0) || init_chown(&in, &error) < 0) {
			ulak_err("init", "%s", error);
			init_cleanup(dir);
			if (created)
				(void)rmdir(dir);
		} else {
			status = ULAK_EXIT_OK;
		}
		buf_release(&cert);
		buf_release(&key);
		buf_release(&host);
	}
	if (status != ULAK_EXIT_OK)
		goto out;

	printf("ulak: wrote a new instance for %s in %s\n", in.domain, dir);
	printf("ulak: listeners on 127.0.0.1: smtp %u, submission %u, "
	    "submissions %u, pop3 %u, imap %u, pop3s %u, imaps %u\n",
	    in.base + 25, in.base + 587, in.base + 465, in.base + 110,
	    in.base + 143, in.base + 995, in.base + 993);
	for (size_t i = 0; i < in.n_users; i++)
		if (in.users[i].generated)
			printf("ulak: user %s@%s, password: %s  (shown only "
			    "this once)\n", in.users[i].name, in.domain,
			    in.users[i].password);
		else
			printf("ulak: user %s@%s\n", in.users[i].name,
			    in.domain);
	if (in.dkim_type >= 0)
		printf("ulak: outgoing mail is DKIM-signed; publish this record "
		    "(also in %s/dkim/%s.txt):\n%s\n", dir, in.domain,
		    dkim_zone.data);
	printf("ulak: start it with: ulak -c %s start -f\n", dir);
out:
	buf_release(&dkim_zone);
	for (size_t i = 0; i < in.n_users; i++) {
		free(in.users[i].name);
		if (in.users[i].password != NULL)
			explicit_bzero(in.users[i].password,
			    strlen(in.users[i].password));
		free(in.users[i].password);
	}
	free(in.users);
	free(dir);
	return status;
}

const struct ulak_cmd ulak_cmd_init = {
	.name = "init",
	.summary = "write a new, ready-to-run instance",
	.synopsis = "ulak init DIR [--domain DOMAIN] [--ports BASE] "
	    "[--user NAME[:PASSWORD]]... [--dkim ed25519|rsa|none]",
	.help =
	    "DESCRIPTION\n"
	    "    Writes a complete instance of the mail system inside the\n"
	    "    folder DIR, which must be new or empty; nothing is written\n"
	    "    outside it, and every path in it is absolute:\n"
	    "\n"
	    "    DIR/main.cf       parameters: myhostname = mail.DOMAIN,\n"
	    "                      mydomain = DOMAIN, inet_interfaces =\n"
	    "                      127.0.0.1, the folders below, the users\n"
	    "                      and aliases tables, TLS files\n"
	    "    DIR/master.cf     the built-in service table with its\n"
	    "                      listeners on 127.0.0.1: BASE+25 smtp,\n"
	    "                      BASE+587 submission, BASE+465 submissions,\n"
	    "                      BASE+110 pop3, BASE+143 imap, BASE+995\n"
	    "                      pop3s, BASE+993 imaps\n"
	    "    DIR/aliases       postmaster, root, abuse, hostmaster,\n"
	    "                      webmaster, security and MAILER-DAEMON go to\n"
	    "                      the first user; built into aliases.db\n"
	    "    DIR/sender_login  which login may use which sender address\n"
	    "                      (smtpd_sender_login_maps): NAME@DOMAIN is\n"
	    "                      NAME's own\n"
	    "    DIR/users         the mail users, passwd(5) layout\n"
	    "                      (name:HASH:uid:gid::DIR/home/name:/bin/false)\n"
	    "                      with yescrypt hashes; named by\n"
	    "                      local_user_maps and smtpd_sasl_password_maps\n"
	    "                      so local delivery, SMTP AUTH, POP3 and IMAP\n"
	    "                      all use it\n"
	    "    DIR/home/NAME/Maildir/   each user's mailbox\n"
	    "    DIR/queue/        the queue (maildrop, incoming, active,\n"
	    "                      deferred, hold, corrupt, private, pid)\n"
	    "    DIR/log/ulak.log  the log (maillog_file)\n"
	    "    DIR/data/         state: greylisting, TLS session cache\n"
	    "    DIR/tls/          cert.pem and key.pem: a self-signed EC P-256\n"
	    "                      certificate for mail.DOMAIN, ten years\n"
	    "    DIR/dkim/         DOMAIN.ulak.key: the DKIM signing key\n"
	    "                      (selector ulak, mode 0600); signing_keys:\n"
	    "                      the table dkim_signing_key_maps names;\n"
	    "                      DOMAIN.txt: the DNS TXT record to publish\n"
	    "                      (also printed)\n"
	    "\n"
	    "    The users' uid and gid and mail_owner are the invoking user's.\n"
	    "    Run as root, mail_owner is \"ulak\" (a system user that must\n"
	    "    exist before `ulak start`); the mail users then get its uid\n"
	    "    and gid, and the homes, data, log, TLS and DKIM files and the\n"
	    "    users file become its own, since the daemons run as that user.\n"
	    "    A user given without a password gets a random one, printed\n"
	    "    once; keep it.\n"
	    "    On failure, whatever was written into DIR is removed again.\n"
	    "\n"
	    "OPTIONS\n"
	    "    --domain DOMAIN\n"
	    "        The mail domain (default " INIT_DEFAULT_DOMAIN "); the\n"
	    "        host name is mail.DOMAIN.\n"
	    "    --ports BASE\n"
	    "        Add BASE to every standard port (default 2000: SMTP on\n"
	    "        2025, IMAP on 2143, ...).  0 gives the standard ports,\n"
	    "        which need root.\n"
	    "    --user NAME[:PASSWORD]\n"
	    "        A mail user (repeatable; the default is one user \"demo\").\n"
	    "        Names are lower-case letters, digits, '.', '_' and '-'.\n"
	    "        The first user receives the role aliases.\n"
	    "    --dkim ed25519|rsa|none\n"
	    "        The DKIM key to make (default ed25519; rsa: 2048 bits,\n"
	    "        verified by every receiver, slower to make; none: no key,\n"
	    "        no signing).\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak init ./run\n"
	    "    ulak init /srv/mail --domain example.org --ports 10000 \\\n"
	    "        --user alice:'s3cret pass' --user bob\n"
	    "    ulak -c ./run start -f\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when the instance was written; 1 when DIR is not empty or a\n"
	    "    file could not be written; 2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak check, ulak start, docs/ulak.md\n",
	.run = init_run,
};
