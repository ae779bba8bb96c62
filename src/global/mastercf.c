/*
 * mastercf - master.cf parsing and the built-in service table; see
 * mastercf.h.
 *
 * Distrusts the file: every field is checked (numbers through parse_uint,
 * names against a small character set, inet addresses for shape), and
 * any problem is a "FILE, line N: ..." error.  The command column may not
 * hold a '/', so a service can only name a program in daemon_directory.
 */
#include "mastercf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cfline.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"

#define MASTERCF_FILE_MAX (1024 * 1024)
#define MASTERCF_WAKEUP_MAX (365L * 86400)
#define MASTERCF_MAXPROC_MAX 100000

static const char mastercf_default[] =
    "# master.cf - the services of ulak: which daemons master starts, where\n"
    "# they listen and how many may run.  This is the built-in table, used\n"
    "# when the file is absent.  The columns are Postfix's:\n"
    "#\n"
    "#   private  the socket is in $queue_directory/private, reachable only\n"
    "#            by ulak's own processes (inet: always n)\n"
    "#   unpriv   the daemon runs as $mail_owner rather than root\n"
    "#   chroot   the daemon runs chrooted to $queue_directory\n"
    "#   wakeup   master wakes the daemon every N seconds (\"-\" or 0: "
    "never)\n"
    "#   maxproc  at most N processes (\"-\": $default_process_limit, "
    "0: no limit)\n"
    "#\n"
    "# \"-\" means the default, shown in brackets; a line starting with "
    "white\n"
    "# space continues the previous one; \"-o name=value\" overrides "
    "main.cf\n"
    "# for one service.  An inet service is \"port\", \"host:port\" or\n"
    "# \"[ipv6]:port\".\n"
    "# "
    "=======================================================================\n"
    "# service   type  private unpriv  chroot  wakeup  maxproc command + "
    "args\n"
    "#                 (yes)   (yes)   (no)    (never) (100)\n"
    "# "
    "=======================================================================\n"
    "smtp        inet  n       -       n       -       -       smtpd\n"
    "submission  inet  n       -       n       -       -       smtpd\n"
    "  -o smtpd_tls_security_level=encrypt\n"
    "  -o smtpd_sasl_auth_enable=yes\n"
    "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
    "submissions inet  n       -       n       -       -       smtpd\n"
    "  -o smtpd_tls_wrappermode=yes\n"
    "  -o smtpd_sasl_auth_enable=yes\n"
    "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n"
    "pop3        inet  n       -       n       -       -       pop3d\n"
    "pop3s       inet  n       -       n       -       -       pop3d\n"
    "  -o pop3d_tls_wrappermode=yes\n"
    "imap        inet  n       -       n       -       -       imapd\n"
    "imaps       inet  n       -       n       -       -       imapd\n"
    "  -o imapd_tls_wrappermode=yes\n"
    "pickup      unix  -       -       n       60      1       pickup\n"
    "cleanup     unix  -       -       n       -       0       cleanup\n"
    "qmgr        unix  -       -       n       300     1       qmgr\n"
    "bounce      unix  -       -       n       -       0       bounce\n"
    "local       unix  -       n       n       -       -       local\n"
    "mailuser    unix  -       n       n       -       -       mailuser\n"
    "smtp        unix  -       -       n       -       -       smtp\n"
    "relay       unix  -       -       n       -       -       smtp\n"
    "#\n"
    "# Delivery to an external command, e.g. a content filter or a\n"
    "# mailing list manager (not enabled by default):\n"
    "#pipe       unix  -       n       n       -       -       pipe\n"
    "#  user=nobody argv=/usr/local/bin/filter ${sender} ${recipient}\n";

static const char *const mastercf_types[] = {
	[MASTERCF_INET] = "inet",
	[MASTERCF_UNIX] = "unix",
	[MASTERCF_UNIX_DGRAM] = "unix-dgram",
	[MASTERCF_FIFO] = "fifo",
	[MASTERCF_PASS] = "pass",
};

const char *
mastercf_default_text(void)
{
	return mastercf_default;
}

const char *
mastercf_type_name(enum mastercf_type type)
{
	if ((size_t)type >= sizeof(mastercf_types) / sizeof(mastercf_types[0]))
		log_panic("mastercf: bad type %d", (int)type);
	return mastercf_types[type];
}

/* One field of an entry: its text and the line it started on. */
struct mastercf_tok {
	char *s;
	int line;
};

/* One logical entry: the joined text and where each physical line begins. */
struct mastercf_entry {
	struct buf text;
	size_t *offs;		/* offset in text of each physical line */
	int *lines;
	size_t n;
	size_t cap;
};

static void
mastercf_service_release(struct mastercf_service *s)
{
	free(s->name);
	free(s->host);
	free(s->port);
	free(s->command);
	strlist_release(&s->args);
	for (size_t i = 0; i < s->n_overrides; i++) {
		free(s->overrides[i].name);
		free(s->overrides[i].value);
	}
	free(s->overrides);
}

void
mastercf_free(struct mastercf *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		mastercf_service_release(&m->services[i]);
	free(m->services);
	free(m->file);
	free(m);
}

/* Quote at most 60 bytes of S for an error text, escaped. */
static const char *
mastercf_quote(const char *s)
{
	return cfline_quote(s, strlen(s));
}

static int
mastercf_entry_line(const struct mastercf_entry *e, size_t off)
{
	size_t i = 0;

	while (i + 1 < e->n && e->offs[i + 1] <= off)
		i++;
	return e->lines[i];
}

/*
 * Split entry E into fields at white space; "{ ... }" (nested braces
 * allowed) is one field without its braces and outer white space.
 */
static int
mastercf_tokenize(const struct mastercf_entry *e, const char *file,
    struct mastercf_tok **toks_r, size_t *n_r, const char **error_r)
{
	const char *s = e->text.data;
	size_t len = e->text.len, i = 0, n = 0, cap = 0;
	struct mastercf_tok *t = NULL;

	while (i < len) {
		size_t start, end;

		while (i < len && cfline_space(s[i]))
			i++;
		if (i == len)
			break;
		start = i;
		if (s[i] == '{') {
			size_t level = 1, j = i + 1;

			for (; j < len; j++) {
				if (s[j] == '{')
					level++;
				else if (s[j] == '}' && --level == 0)
					break;
			}
			if (j >= len) {
				*error_r = err_fmt("%s, line %d: missing '}'",
				    file, mastercf_entry_line(e, start));
				goto fail;
			}
			i = j + 1;
			start++;
			end = j;
			while (start < end && cfline_space(s[start]))
				start++;
			while (end > start && cfline_space(s[end - 1]))
				end--;
		} else {
			while (i < len && !cfline_space(s[i]))
				i++;
			end = i;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			t = xreallocarray(t, cap, sizeof(*t));
		}
		t[n].s = xstrndup(s + start, end - start);
		t[n].line = mastercf_entry_line(e, start);
		n++;
	}
	*toks_r = t;
	*n_r = n;
	return 0;
fail:
	for (size_t k = 0; k < n; k++)
		free(t[k].s);
	free(t);
	return -1;
}

static bool
mastercf_chars(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	return true;
}

/* Split an inet service "port", "host:port", "[v6]:port" into S. */
static const char *
mastercf_inet_name(struct mastercf_service *s)
{
	const char *name = s->name, *colon;
	uint64_t port;
	const char *error;

	if (name[0] == '[') {
		const char *close = strchr(name, ']');

		if (close == NULL || close[1] != ':')
			return "bad inet service: \"[address]\" must be "
			    "followed by \":port\"";
		s->host = xstrndup(name + 1, (size_t)(close - name - 1));
		s->port = xstrdup(close + 2);
		if (s->host[0] == '\0')
			return "bad inet service: empty address in brackets";
	} else if ((colon = strrchr(name, ':')) != NULL) {
		s->host = xstrndup(name, (size_t)(colon - name));
		s->port = xstrdup(colon + 1);
		if (strchr(s->host, ':') != NULL)
			return "bad inet service: write an IPv6 address in "
			    "brackets, \"[::1]:port\"";
	} else {
		s->host = xstrdup("");
		s->port = xstrdup(name);
	}
	if (strcmp(s->host, "*") == 0)
		s->host[0] = '\0';
	if (!mastercf_chars(s->host, ".-_:%"))
		return "bad inet service: bad character in the address";
	if (s->port[0] == '\0')
		return "bad inet service: missing port";
	if (s->port[strspn(s->port, "0123456789")] == '\0') {
		if (parse_uint(s->port, 1, 65535, &port, &error) < 0)
			return err_fmt("bad inet service port: %s", error);
	} else if (!mastercf_chars(s->port, "-_"))
		return "bad inet service: the port must be a number or a "
		    "service name";
	return NULL;
}

/* Column 3-5: y, n or - (DEF). */
static const char *
mastercf_yn(const char *field, const char *what, bool def, bool *out)
{
	if (strcmp(field, "-") == 0)
		*out = def;
	else if (strcmp(field, "y") == 0)
		*out = true;
	else if (strcmp(field, "n") == 0)
		*out = false;
	else
		return err_fmt("bad %s field %s (use y, n or -)", what,
		    mastercf_quote(field));
	return NULL;
}

static const char *
mastercf_number(const char *field, const char *what, uint64_t max,
    long *out, bool *if_used)
{
	char tmp[32];
	size_t n = strlen(field);
	const char *error;
	uint64_t v;

	if (if_used != NULL)
		*if_used = false;
	if (strcmp(field, "-") == 0) {
		*out = MASTERCF_DEFAULT;
		return NULL;
	}
	if (if_used != NULL && n > 1 && field[n - 1] == '?') {
		*if_used = true;
		n--;
	}
	if (n >= sizeof(tmp))
		return err_fmt("bad %s field %s", what, mastercf_quote(field));
	memcpy(tmp, field, n);
	tmp[n] = '\0';
	if (parse_uint(tmp, 0, max, &v, &error) < 0)
		return err_fmt("bad %s field %s: %s", what,
		    mastercf_quote(field), error);
	*out = (long)v;
	return NULL;
}

static void
mastercf_add_override(struct mastercf_service *s, const char *name,
    size_t nlen, const char *value, int line)
{
	s->overrides = xreallocarray(s->overrides, s->n_overrides + 1,
	    sizeof(*s->overrides));
	s->overrides[s->n_overrides].name = xstrndup(name, nlen);
	s->overrides[s->n_overrides].value = xstrdup(value);
	s->overrides[s->n_overrides].line = line;
	s->n_overrides++;
}

/* "name=value" or "name = value" (from braces) of an -o argument. */
static const char *
mastercf_override_arg(struct mastercf_service *s, const char *arg, int line)
{
	const char *eq = strchr(arg, '='), *v;
	size_t nlen;
	char *name;
	bool ok;

	if (eq == NULL)
		return err_fmt("-o %s: expected name=value",
		    mastercf_quote(arg));
	nlen = (size_t)(eq - arg);
	while (nlen > 0 && cfline_space(arg[nlen - 1]))
		nlen--;
	name = xstrndup(arg, nlen);
	ok = config_name_valid(name);
	free(name);
	if (!ok)
		return err_fmt("-o %s: bad parameter name",
		    mastercf_quote(arg));
	for (v = eq + 1; cfline_space(*v); v++)
		;
	mastercf_add_override(s, arg, nlen, v, line);
	return NULL;
}

/* Build service S from the fields of one entry; an error text or NULL. */
static const char *
mastercf_service_fill(struct mastercf_service *s, struct mastercf_tok *t,
    size_t n, int *line_r)
{
	const char *error;
	size_t i;
	int type;

	*line_r = t[0].line;
	if (n < 8)
		return "too few fields (service type private unpriv chroot "
		    "wakeup maxproc command)";
	s->name = xstrdup(t[0].s);
	for (type = 0; type < (int)(sizeof(mastercf_types) /
	    sizeof(mastercf_types[0])); type++)
		if (strcmp(t[1].s, mastercf_types[type]) == 0)
			break;
	if (type == (int)(sizeof(mastercf_types) / sizeof(mastercf_types[0])))
		return err_fmt("bad service type %s (use inet, unix, "
		    "unix-dgram, fifo or pass)", mastercf_quote(t[1].s));
	s->type = (enum mastercf_type)type;
	if (s->type == MASTERCF_INET) {
		if ((error = mastercf_inet_name(s)) != NULL)
			return error;
	} else if (s->name[0] == '.' || s->name[0] == '-' ||
	    !mastercf_chars(s->name, "._-"))
		return err_fmt("bad service name %s (use letters, digits, "
		    "'.', '-' and '_')", mastercf_quote(s->name));
	if ((error = mastercf_yn(t[2].s, "private", s->type != MASTERCF_INET,
	    &s->private_service)) != NULL ||
	    (error = mastercf_yn(t[3].s, "unpriv", true,
	    &s->unprivileged)) != NULL ||
	    (error = mastercf_yn(t[4].s, "chroot", false, &s->chroot)) != NULL)
		return error;
	if (s->type == MASTERCF_INET && s->private_service)
		return "an inet service cannot be private (use n or -)";
	if ((error = mastercf_number(t[5].s, "wakeup", MASTERCF_WAKEUP_MAX,
	    &s->wakeup, &s->wakeup_if_used)) != NULL ||
	    (error = mastercf_number(t[6].s, "maxproc", MASTERCF_MAXPROC_MAX,
	    &s->maxproc, NULL)) != NULL)
		return error;
	if (t[7].s[0] == '\0' || t[7].s[0] == '.' || t[7].s[0] == '-' ||
	    !mastercf_chars(t[7].s, "._-"))
		return err_fmt("bad command name %s (a program in "
		    "daemon_directory)", mastercf_quote(t[7].s));
	s->command = xstrdup(t[7].s);
	for (i = 8; i < n; i++) {
		*line_r = t[i].line;
		if (strcmp(t[i].s, "-o") == 0) {
			if (i + 1 == n)
				return "-o without name=value";
			i++;
			*line_r = t[i].line;
			if ((error = mastercf_override_arg(s, t[i].s,
			    t[i].line)) != NULL)
				return error;
		} else if (str_has_prefix(t[i].s, "-o") && t[i].s[2] != '\0') {
			if ((error = mastercf_override_arg(s, t[i].s + 2,
			    t[i].line)) != NULL)
				return error;
		} else
			strlist_add(&s->args, t[i].s);
	}
	*line_r = t[0].line;
	return NULL;
}

static void
mastercf_entry_reset(struct mastercf_entry *e)
{
	buf_reset(&e->text);
	e->n = 0;
}

static void
mastercf_entry_add(struct mastercf_entry *e, const char *s, size_t l,
    int line)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->offs = xreallocarray(e->offs, e->cap, sizeof(*e->offs));
		e->lines = xreallocarray(e->lines, e->cap, sizeof(*e->lines));
	}
	if (e->text.len > 0)
		(void)buf_append_char(&e->text, ' ');
	e->offs[e->n] = e->text.len;
	e->lines[e->n] = line;
	e->n++;
	(void)buf_append(&e->text, s, l);
}

/* Turn entry E into a service of M; -1 with *error_r. */
static int
mastercf_finish(struct mastercf *m, struct mastercf_entry *e,
    const char **error_r)
{
	struct mastercf_tok *t;
	struct mastercf_service s;
	const struct mastercf_service *dup;
	const char *error;
	size_t n;
	int line;

	if (e->n == 0)
		return 0;
	if (mastercf_tokenize(e, m->file, &t, &n, error_r) < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	strlist_init(&s.args);
	error = mastercf_service_fill(&s, t, n, &line);
	s.line = t[0].line;
	for (size_t k = 0; k < n; k++)
		free(t[k].s);
	free(t);
	if (error == NULL && (dup = mastercf_find(m, s.name, s.type)) != NULL)
		error = err_fmt("duplicate service %s/%s (first at line %d)",
		    mastercf_quote(s.name), mastercf_type_name(s.type),
		    dup->line);
	if (error != NULL) {
		*error_r = err_fmt("%s, line %d: %s", m->file, line, error);
		mastercf_service_release(&s);
		return -1;
	}
	m->services = xreallocarray(m->services, m->n + 1,
	    sizeof(*m->services));
	m->services[m->n++] = s;
	mastercf_entry_reset(e);
	return 0;
}

struct mastercf *
mastercf_parse(const char *text, size_t len, const char *filename,
    const char **error_r)
{
	struct mastercf *m = xcalloc(1, sizeof(*m));
	struct mastercf_entry e;
	struct cfline_reader r;
	struct cfline cl;
	int rc;

	m->file = xstrdup(filename);
	memset(&e, 0, sizeof(e));
	buf_init(&e.text, 0);
	cfline_init(&r, text, len, filename);
	while ((rc = cfline_next(&r, &cl, error_r)) > 0) {
		if (cl.continuation) {
			if (e.n == 0) {
				*error_r = err_fmt("%s, line %d: continuation "
				    "line without a service before it",
				    filename, cl.line);
				goto fail;
			}
		} else if (mastercf_finish(m, &e, error_r) < 0)
			goto fail;
		mastercf_entry_add(&e, cl.s, cl.len, cl.line);
	}
	if (rc < 0 || mastercf_finish(m, &e, error_r) < 0)
		goto fail;
	buf_release(&e.text);
	free(e.offs);
	free(e.lines);
	return m;
fail:
	buf_release(&e.text);
	free(e.offs);
	free(e.lines);
	mastercf_free(m);
	return NULL;
}

struct mastercf *
mastercf_load_file(const char *path, const char **error_r)
{
	struct mastercf *m = NULL;
	struct buf text;

	buf_init(&text, 0);
	if (file_read_all(path, &text, MASTERCF_FILE_MAX, error_r) == 0)
		m = mastercf_parse(text.data, text.len, path, error_r);
	buf_release(&text);
	return m;
}

struct mastercf *
mastercf_load(const char *config_dir, bool *from_default_r,
    const char **error_r)
{
	struct mastercf *m;
	struct buf path;
	struct stat st;

	if (from_default_r != NULL)
		*from_default_r = false;
	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/master.cf", config_dir);
	if (stat(path.data, &st) < 0 && errno == ENOENT) {
		if (from_default_r != NULL)
			*from_default_r = true;
		m = mastercf_parse(mastercf_default, strlen(mastercf_default),
		    "(built-in master.cf)", error_r);
		if (m == NULL)
			log_panic("built-in master.cf: %s", *error_r);
	} else
		m = mastercf_load_file(path.data, error_r);
	buf_release(&path);
	return m;
}

const struct mastercf_service *
mastercf_find(const struct mastercf *m, const char *name,
    enum mastercf_type type)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->services[i].type == type &&
		    strcmp(m->services[i].name, name) == 0)
			return &m->services[i];
	return NULL;
}

const char *
mastercf_override(const struct mastercf_service *service, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < service->n_overrides; i++)
		if (strcmp(service->overrides[i].name, name) == 0)
			v = service->overrides[i].value;
	return v;
}

int
mastercf_check(struct config *cfg, struct strlist *problems)
{
	const char *error;
	struct mastercf *m = mastercf_load(config_dir(cfg), NULL, &error);
	int errors = 0;

	if (m == NULL) {
		strlist_add(problems, error);
		return 1;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct mastercf_service *s = &m->services[i];

		for (size_t k = 0; k < s->n_overrides; k++) {
			const struct mastercf_override *o = &s->overrides[k];

			if (config_param_find(o->name) == NULL)
				strlist_add(problems, err_fmt("warning: %s, "
				    "line %d: service %s/%s: -o %s: unknown "
				    "parameter name", m->file, o->line,
				    s->name, mastercf_type_name(s->type),
				    o->name));
			if (config_check_value(cfg, o->name, o->value,
			    &error) < 0) {
				strlist_add(problems, err_fmt("%s, line %d: "
				    "service %s/%s: -o %s=%s: %s", m->file,
				    o->line, s->name,
				    mastercf_type_name(s->type), o->name,
				    o->value, error));
				errors++;
			}
		}
	}
	mastercf_free(m);
	return errors;
}
