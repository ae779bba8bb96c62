/*
 * cmd_sendmail - `ulak sendmail`, the sendmail-compatible way for local
 * programs to submit mail: it reads a message from standard input (or an
 * SMTP dialogue with -bs), writes it durably as a maildrop file into
 * $queue_directory/maildrop/ (docs/queue-format.md, "Maildrop files"),
 * and leaves the rest to pickup and cleanup.
 *
 * Runs as the invoking user, with no privileges of its own.  The input
 * is the user's own, but it is still parsed with care: lines of any
 * length, NUL bytes, header address lists of any syntax.  The file is
 * written under a hidden temporary name, fsync'ed, then renamed into
 * place, so pickup never sees a half-written file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "cmd_sendmail.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "maildrop.h"
#include "mem.h"
#include "queue.h"
#include "queue_id.h"
#include "rfc822_build.h"
#include "smtp_addr.h"
#include "str.h"
#include "ulak.h"

/* The header block kept in memory while -t reads the recipients. */
#define SENDMAIL_HEADER_MAX (4u * 1024 * 1024)
/* Longest SMTP command line with -bs (RFC 5321 4.5.3.1.4 says 512). */
#define SENDMAIL_SMTP_LINE_MAX 4096

enum sendmail_dot {
	DOT_NONE,	/* -i: only EOF ends the message */
	DOT_ENDS,	/* a line with a lone "." ends it */
	DOT_SMTP,	/* -bs DATA: "." ends it, leading dots are unstuffed */
};

struct sendmail_opts {
	char *sender;		/* NULL: the user's login name */
	char *full_name;
	bool extract;		/* -t */
	bool dot_ends;		/* not -i */
	bool verbose;
	const char *ret;	/* "full"/"hdrs" or NULL */
	const char *envid;
	char *notify;		/* normalised "success,failure"... or NULL */
	struct strlist rcpts;
	const char *queue_dir;
	const char *myhostname;
};

static const char *cmd = "sendmail";

/* The maildrop file being written. */
struct maildrop {
	char *dir;
	char *tmp_path;
	int fd;
	struct buf out;		/* write buffer */
};

static void
maildrop_abort(struct maildrop *md)
{
	if (md->fd >= 0)
		(void)close(md->fd);
	if (md->tmp_path != NULL)
		(void)unlink(md->tmp_path);
	free(md->tmp_path);
	free(md->dir);
	md->tmp_path = md->dir = NULL;
	md->fd = -1;
	buf_reset(&md->out);
}

static int
maildrop_open(struct maildrop *md, const char *queue_dir,
    const char **error_r)
{
	struct buf path;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", queue_dir, QUEUE_MAILDROP);
	md->dir = xstrdup(path.data);
	buf_append_str(&path, "/.tmp-XXXXXX");
	md->fd = mkostemp(path.data, O_CLOEXEC);
	if (md->fd < 0) {
		*error_r = err_fmt("cannot create a file in %s: %s", md->dir,
		    strerror(errno));
		buf_release(&path);
		md->fd = -1;
		maildrop_abort(md);
		return -1;
	}
	md->tmp_path = buf_detach(&path, NULL);
	buf_release(&path);
	/*
	 * pickup reads the file as mail_owner: without a set-group-ID
	 * helper the file must be readable by others (the folder is not
	 * listable by them, and names are not guessable in advance).
	 */
	(void)fchmod(md->fd, 0644);
	return 0;
}

static int
maildrop_flush(struct maildrop *md, const char **error_r)
{
	if (md->out.len == 0)
		return 0;
	if (file_write_full(md->fd, md->out.data, md->out.len) < 0) {
		*error_r = err_fmt("write %s: %s", md->tmp_path,
		    strerror(errno));
		return -1;
	}
	buf_reset(&md->out);
	return 0;
}

static int
maildrop_write(struct maildrop *md, const void *p, size_t n,
    const char **error_r)
{
	buf_append(&md->out, p, n);
	if (md->out.len >= 65536)
		return maildrop_flush(md, error_r);
	return 0;
}

/* fsync, rename to its queue-ID name, make the rename durable. */
static int
maildrop_commit(struct maildrop *md, char name_r[QUEUE_ID_SIZE],
    const char **error_r)
{
	struct stat st;
	struct buf final;
	const char *error;

	if (maildrop_flush(md, error_r) < 0)
		goto fail;
	if (fsync(md->fd) < 0 || fstat(md->fd, &st) < 0) {
		*error_r = err_fmt("fsync %s: %s", md->tmp_path,
		    strerror(errno));
		goto fail;
	}
	queue_id_new(name_r, (uint64_t)st.st_ino);
	buf_init(&final, 0);
	buf_printf(&final, "%s/%s", md->dir, name_r);
	if (rename(md->tmp_path, final.data) < 0) {
		*error_r = err_fmt("rename %s: %s", md->tmp_path,
		    strerror(errno));
		buf_release(&final);
		goto fail;
	}
	free(md->tmp_path);
	md->tmp_path = NULL;
	/*
	 * The folder is not readable for other users (Postfix-like mode
	 * 1733/0730), so it cannot be opened for fsync; syncfs then makes
	 * the rename durable instead.
	 */
	if (file_fsync_dir(md->dir, &error) < 0 && syncfs(md->fd) < 0) {
		*error_r = err_fmt("%s; syncfs: %s", error, strerror(errno));
		(void)unlink(final.data);
		buf_release(&final);
		goto fail;
	}
	buf_release(&final);
	(void)close(md->fd);
	md->fd = -1;
	maildrop_abort(md);
	return 0;
fail:
	maildrop_abort(md);
	return -1;
}

/* Tell pickup to look now (best effort: it also watches the folder). */
static void
wake_pickup(const char *queue_dir)
{
	static const char req[] = "request=wakeup\n\n";
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/pickup",
	    queue_dir, QUEUE_PRIVATE) >= (int)sizeof(sun.sun_path))
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		(void)send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	(void)close(fd);
}

/*
 * Read one line of input (with its LF, if any) into *LINE; returns its
 * length, or -1 at EOF.
 */
static ssize_t
read_line(FILE *in, char **line, size_t *cap)
{
	return getline(line, cap, in);
}

/* Strip the line end of LINE[0..*LEN): LF, or CR LF. */
static void
strip_eol(const char *line, size_t *len)
{
	if (*len > 0 && line[*len - 1] == '\n') {
		(*len)--;
		if (*len > 0 && line[*len - 1] == '\r')
			(*len)--;
	}
}

/* Add the addresses of a To/Cc/Bcc value to RCPTS. */
static void
extract_rcpts(const char *value, size_t len, struct strlist *rcpts)
{
	struct smtp_addr_list list;
	const char *error;

	smtp_addr_list_init(&list);
	if (smtp_addr_list_parse(value, len, &list, &error) < 0)
		ulak_warn(cmd, "skipping a bad address in a header: %s", error);
	for (size_t i = 0; i < list.n; i++)
		if (list.v[i].addr[0] != '\0')
			strlist_add(rcpts, list.v[i].addr);
	smtp_addr_list_release(&list);
}

/* A header field gathered while reading the header block. */
struct hdr_state {
	struct buf field;	/* current field, CRLF line ends */
	bool drop;		/* Bcc with -t: not written */
	bool is_rcpt;		/* To/Cc/Bcc: read recipients with -t */
};

static void
field_done(struct hdr_state *h, bool extract, struct strlist *rcpts,
    struct buf *headers)
{
	const char *colon;

	if (h->field.len == 0)
		return;
	colon = memchr(h->field.data, ':', h->field.len);
	if (extract && h->is_rcpt && colon != NULL)
		extract_rcpts(colon + 1, h->field.len -
		    (size_t)(colon + 1 - h->field.data), rcpts);
	if (!h->drop)
		buf_append(headers, h->field.data, h->field.len);
	buf_reset(&h->field);
	h->drop = h->is_rcpt = false;
}

static void
field_start(struct hdr_state *h, const char *line, size_t name_len)
{
	h->is_rcpt = (name_len == 2 && (str_ncasecmp(line, "To", 2) == 0 ||
	    str_ncasecmp(line, "Cc", 2) == 0)) ||
	    (name_len == 3 && str_ncasecmp(line, "Bcc", 3) == 0);
	h->drop = name_len == 3 && str_ncasecmp(line, "Bcc", 3) == 0;
}

static void
encode_attr(struct buf *out, const char *name, const char *value)
{
	const char *error;

	if (attr_encode(out, name, value, &error) < 0)
		/* Only an over-long value: cut it rather than fail. */
		(void)attr_encode_bin(out, name, value, 2048, &error);
}

/*
 * Read one message from IN (up to EOF, or the end DOT says), and write it
 * as a maildrop file.  SENDER and RCPTS are the envelope (RCPTS may gain
 * -t recipients).  Returns 0 with the file name in NAME_R, or an exit
 * status (EX_NOUSER, EX_TEMPFAIL, EX_DATAERR) with a message printed.
 * *EOF_R tells whether the input ended.
 */
static int
submit(const struct sendmail_opts *o, const char *sender,
    struct strlist *rcpts, FILE *in, enum sendmail_dot dot,
    char name_r[QUEUE_ID_SIZE])
{
	struct hdr_state h;
	struct buf headers, env;
	struct maildrop md;
	char *line = NULL;
	size_t cap = 0, body_len = 0;
	bool in_headers = true, first = true, saw_end = false;
	const char *error;
	int rc = SENDMAIL_EX_TEMPFAIL;
	ssize_t got;

	buf_init(&h.field, 0);
	h.drop = h.is_rcpt = false;
	buf_init(&headers, 0);
	buf_init(&env, 0);
	memset(&md, 0, sizeof(md));
	md.fd = -1;
	buf_init(&md.out, 0);

	/* The header block, in memory (needed for -t and to drop Bcc). */
	while (in_headers && (got = read_line(in, &line, &cap)) >= 0) {
		size_t len = (size_t)got, name_len;
		char *p = line;

		strip_eol(line, &len);
		if (dot != DOT_NONE && len == 1 && line[0] == '.') {
			saw_end = true;
			break;
		}
		if (dot == DOT_SMTP && len > 0 && line[0] == '.') {
			p++;
			len--;
		}
		/* An mbox "From " line at the top is not part of the mail. */
		if (first && dot != DOT_SMTP && len >= 5 &&
		    memcmp(p, "From ", 5) == 0) {
			first = false;
			continue;
		}
		first = false;
		if ((len > 0 && (p[0] == ' ' || p[0] == '\t')) &&
		    h.field.len > 0) {
			buf_append(&h.field, p, len);
			buf_append_str(&h.field, "\r\n");
		} else if ((name_len = rfc822_header_name_len(p, len)) > 0) {
			field_done(&h, o->extract, rcpts, &headers);
			field_start(&h, p, name_len);
			buf_append(&h.field, p, len);
			buf_append_str(&h.field, "\r\n");
		} else {
			/* The empty line, or the first body line. */
			field_done(&h, o->extract, rcpts, &headers);
			if (len > 0)
				buf_append_str(&headers, "\r\n");
			buf_append(&headers, p, len);
			buf_append_str(&headers, "\r\n");
			in_headers = false;
		}
		if (headers.len + h.field.len > SENDMAIL_HEADER_MAX) {
			/* Keep going: the rest is body. */
			field_done(&h, o->extract, rcpts, &headers);
			in_headers = false;
		}
	}
	field_done(&h, o->extract, rcpts, &headers);

	if (rcpts->n == 0) {
		ulak_err(cmd, "no recipients specified");
		rc = SENDMAIL_EX_NOUSER;
		/* Drain the message so a pipe writer does not get SIGPIPE. */
		while (!saw_end && dot != DOT_SMTP &&
		    read_line(in, &line, &cap) >= 0)
			;
		goto done;
	}

	/* The envelope (docs/queue-format.md, "Maildrop files"). */
	buf_append_str(&env, MAILDROP_MAGIC);
	encode_attr(&env, "sender", sender);
	if (o->full_name != NULL && o->full_name[0] != '\0')
		encode_attr(&env, "full_name", o->full_name);
	if (o->ret != NULL)
		encode_attr(&env, "ret", o->ret);
	if (o->envid != NULL)
		encode_attr(&env, "envid", o->envid);
	if (o->notify != NULL)
		encode_attr(&env, "notify", o->notify);
	for (size_t i = 0; i < rcpts->n; i++)
		encode_attr(&env, "rcpt", rcpts->v[i]);
	buf_append_str(&env, "\n");

	if (maildrop_open(&md, o->queue_dir, &error) < 0) {
		ulak_err(cmd, "%s", error);
		goto done;
	}
	if (maildrop_write(&md, env.data, env.len, &error) < 0 ||
	    maildrop_write(&md, headers.data, headers.len, &error) < 0)
		goto write_error;
	body_len = headers.len;
	while (!saw_end && (got = read_line(in, &line, &cap)) >= 0) {
		size_t len = (size_t)got;
		char *p = line;

		strip_eol(line, &len);
		if (dot != DOT_NONE && len == 1 && line[0] == '.') {
			saw_end = true;
			break;
		}
		if (dot == DOT_SMTP && len > 0 && line[0] == '.') {
			p++;
			len--;
		}
		if (maildrop_write(&md, p, len, &error) < 0 ||
		    maildrop_write(&md, "\r\n", 2, &error) < 0)
			goto write_error;
		body_len += len + 2;
	}
	if (dot == DOT_SMTP && !saw_end) {
		ulak_err(cmd, "unexpected end of input in the SMTP DATA");
		rc = SENDMAIL_EX_DATAERR;
		maildrop_abort(&md);
		goto done;
	}
	if (ferror(in)) {
		ulak_err(cmd, "error reading the message: %s",
		    strerror(errno));
		rc = SENDMAIL_EX_TEMPFAIL;
		maildrop_abort(&md);
		goto done;
	}
	if (maildrop_commit(&md, name_r, &error) < 0) {
		ulak_err(cmd, "%s", error);
		goto done;
	}
	if (o->verbose)
		fprintf(stderr, "ulak sendmail: queued as %s (%zu bytes, %zu "
		    "recipients)\n", name_r, body_len, rcpts->n);
	wake_pickup(o->queue_dir);
	rc = 0;
	goto done;
write_error:
	ulak_err(cmd, "%s", error);
	maildrop_abort(&md);
done:
	free(line);
	buf_release(&h.field);
	buf_release(&headers);
	buf_release(&env);
	buf_release(&md.out);
	return rc;
}

/* Normalise a -N value ("never", or a list of success/failure/delay). */
static char *
parse_notify(const char *s)
{
	struct strlist l;
	struct buf out;
	bool bad = false, never = false;

	strlist_init(&l);
	buf_init(&out, 0);
	strlist_split(&l, s, ", \t");
	for (size_t i = 0; i < l.n; i++) {
		str_lower(l.v[i]);
		if (strcmp(l.v[i], "never") == 0)
			never = true;
		else if (strcmp(l.v[i], "success") != 0 &&
		    strcmp(l.v[i], "failure") != 0 &&
		    strcmp(l.v[i], "delay") != 0)
			bad = true;
	}
	if (l.n == 0 || (never && l.n > 1))
		bad = true;
	/* The order of queue files: success, failure, delay. */
	if (!bad) {
		static const char *const words[] = { "never", "success",
			"failure", "delay" };

		for (size_t w = 0; w < 4; w++)
			if (strlist_find(&l, words[w]) >= 0)
				buf_printf(&out, "%s%s", out.len ? "," : "",
				    words[w]);
	}
	strlist_release(&l);
	if (bad) {
		buf_release(&out);
		return NULL;
	}
	{
		char *r = buf_detach(&out, NULL);

		buf_release(&out);
		return r;
	}
}

/* Strip <> around an address given on the command line. */
static char *
bare_address(const char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return xstrndup(s + 1, n - 2);
	return xstrdup(s);
}

/* -bs: reply on stdout. */
static void
smtp_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
smtp_reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* The address in "FROM:<addr> params"; -1 when it does not parse. */
static int
smtp_path(const char *arg, bool sender, struct smtp_addr *addr)
{
	const struct smtp_status *status;
	const char *reason;
	size_t n;

	while (*arg == ' ')
		arg++;
	n = strcspn(arg, " ");
	return smtp_addr_parse_path(arg, n, (sender ? SMTP_ADDR_SENDER : 0) |
	    SMTP_ADDR_LENIENT | SMTP_ADDR_NODOMAIN | SMTP_ADDR_SMTPUTF8, addr,
	    &status, &reason);
}

/*
 * -bs: a minimal SMTP server on stdin/stdout (RFC 5321) that writes each
 * message into maildrop/.  Returns the exit status.
 */
static int
run_smtp(struct sendmail_opts *o)
{
	char *line = NULL, *sender = NULL;
	size_t cap = 0;
	struct strlist rcpts;
	ssize_t got;
	int rc = 0;

	strlist_init(&rcpts);
	smtp_reply("220 %s ESMTP ulak", o->myhostname);
	while ((got = read_line(stdin, &line, &cap)) >= 0) {
		size_t len = (size_t)got;
		char *arg;

		strip_eol(line, &len);
		line[len] = '\0';
		if (len > SENDMAIL_SMTP_LINE_MAX) {
			smtp_reply("500 5.5.2 Error: line too long");
			continue;
		}
		arg = strchr(line, ' ');
		arg = arg != NULL ? arg + 1 : line + len;
		if (str_ncasecmp(line, "EHLO", 4) == 0 && (len == 4 ||
		    line[4] == ' ')) {
			fprintf(stdout, "250-%s\r\n250-8BITMIME\r\n"
			    "250-ENHANCEDSTATUSCODES\r\n", o->myhostname);
			smtp_reply("250 PIPELINING");
		} else if (str_ncasecmp(line, "HELO", 4) == 0 && (len == 4 ||
		    line[4] == ' ')) {
			smtp_reply("250 %s", o->myhostname);
		} else if (str_ncasecmp(line, "MAIL FROM:", 10) == 0) {
			struct smtp_addr a;

			if (sender != NULL)
				smtp_reply("503 5.5.1 Error: nested MAIL "
				    "command");
			else if (smtp_path(line + 10, true, &a) < 0)
				smtp_reply("501 5.1.7 Bad sender address "
				    "syntax");
			else {
				sender = xstrdup(a.addr);
				smtp_reply("250 2.1.0 Ok");
			}
		} else if (str_ncasecmp(line, "RCPT TO:", 8) == 0) {
			struct smtp_addr a;

			if (sender == NULL)
				smtp_reply("503 5.5.1 Error: need MAIL "
				    "command");
			else if (smtp_path(line + 8, false, &a) < 0 ||
			    a.addr[0] == '\0')
				smtp_reply("501 5.1.3 Bad recipient address "
				    "syntax");
			else {
				strlist_add(&rcpts, a.addr);
				smtp_reply("250 2.1.5 Ok");
			}
		} else if (str_casecmp(line, "DATA") == 0) {
			char name[QUEUE_ID_SIZE];
			int r;

			if (sender == NULL || rcpts.n == 0) {
				smtp_reply("503 5.5.1 Error: need %s command",
				    sender == NULL ? "MAIL" : "RCPT");
				continue;
			}
			smtp_reply("354 End data with <CR><LF>.<CR><LF>");
			fflush(stderr);
			r = submit(o, sender, &rcpts, stdin, DOT_SMTP, name);
			if (r == 0)
				smtp_reply("250 2.0.0 Ok: queued as %s", name);
			else if (r == SENDMAIL_EX_DATAERR) {
				rc = r;
				break;
			} else
				smtp_reply("451 4.3.0 Error: queue file write "
				    "error");
			free(sender);
			sender = NULL;
			strlist_release(&rcpts);
			strlist_init(&rcpts);
		} else if (str_casecmp(line, "RSET") == 0) {
			free(sender);
			sender = NULL;
			strlist_release(&rcpts);
			strlist_init(&rcpts);
			smtp_reply("250 2.0.0 Ok");
		} else if (str_ncasecmp(line, "NOOP", 4) == 0) {
			smtp_reply("250 2.0.0 Ok");
		} else if (str_ncasecmp(line, "VRFY", 4) == 0) {
			smtp_reply("252 2.0.0 Send some mail, I'll try my "
			    "best");
		} else if (str_ncasecmp(line, "HELP", 4) == 0) {
			smtp_reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT "
			    "DATA RSET NOOP VRFY QUIT");
		} else if (str_casecmp(line, "QUIT") == 0) {
			smtp_reply("221 2.0.0 Bye");
			break;
		} else {
			smtp_reply("502 5.5.2 Error: command not recognized");
		}
	}
	free(line);
	free(sender);
	strlist_release(&rcpts);
	return rc;
}

/* -bp: the queue listing, as mailq. */
static int
run_mailq(void)
{
	const struct ulak_cmd *q = ulak_cmd_find("queue");
	char *argv[] = { (char *)"queue", NULL };

	if (q == NULL) {
		ulak_err(cmd, "mailq is not available");
		return SENDMAIL_EX_SOFTWARE;
	}
	return q->run(1, argv);
}

static int
usage(const char *what, const char *arg)
{
	fprintf(stderr, "ulak sendmail: %s%s", what, arg);
	fprintf(stderr, "\nusage: sendmail [-t] [-i] [-f sender] "
	    "[-F full_name] [-bm|-bs|-bp] [-N dsn] [-R ret] [-V envid] "
	    "[recipient...]\n");
	return SENDMAIL_EX_USAGE;
}

int
cmd_sendmail(int argc, char **argv)
{
	struct sendmail_opts o;
	struct config *cfg = NULL;
	struct passwd *pw;
	char mode = 'm';
	int i, rc = 0;

	memset(&o, 0, sizeof(o));
	o.dot_ends = true;
	strlist_init(&o.rcpts);
	/*
	 * sendmail's options, parsed by hand: options may carry their
	 * argument attached (-fjoe) or separate (-f joe), and the -o and -b
	 * families take letters of their own.
	 */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char opt;
		const char *val = NULL;

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ulak_help_print(&ulak_cmd_sendmail, stdout);
			rc = 0;
			goto out;
		}
		opt = a[1];
		if (strchr("fFrNRVCBhLOX", opt) != NULL) {
			if (a[2] != '\0')
				val = a + 2;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				rc = usage("option needs a value: ", a);
				goto out;
			}
		}
		switch (opt) {
		case 'f':
		case 'r':
			free(o.sender);
			o.sender = bare_address(val);
			break;
		case 'F':
			free(o.full_name);
			o.full_name = xstrdup(val);
			break;
		case 't':
			o.extract = true;
			break;
		case 'i':
			o.dot_ends = false;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'N':
			free(o.notify);
			o.notify = parse_notify(val);
			if (o.notify == NULL) {
				rc = usage("bad -N value: ", val);
				goto out;
			}
			break;
		case 'R':
			if (str_casecmp(val, "full") == 0)
				o.ret = "full";
			else if (str_casecmp(val, "hdrs") == 0)
				o.ret = "hdrs";
			else {
				rc = usage("bad -R value: ", val);
				goto out;
			}
			break;
		case 'V':
			o.envid = val;
			break;
		case 'C':
			ulak_config_dir_set(val);
			break;
		case 'o':
			/* -oi as -i; every other -oX is sendmail's and ignored. */
			if (strcmp(a, "-oi") == 0)
				o.dot_ends = false;
			break;
		case 'b':
			if (strcmp(a, "-bm") == 0 || strcmp(a, "-bs") == 0 ||
			    strcmp(a, "-bp") == 0)
				mode = a[2];
			else {
				rc = usage("unsupported mode ", a);
				goto out;
			}
			break;
		case 'B': case 'h': case 'L': case 'O': case 'X':
		case 'U': case 'm': case 'n': case 'e': case 'x':
			/* Accepted and ignored, as Postfix does. */
			break;
		default:
			rc = usage("unknown option ", a);
			goto out;
		}
	}
	for (; i < argc; i++) {
		char *r = bare_address(argv[i]);

		/* "a, b" in one argument is two recipients. */
		struct strlist l;

		strlist_init(&l);
		strlist_split(&l, r, ", \t");
		for (size_t k = 0; k < l.n; k++)
			strlist_add(&o.rcpts, l.v[k]);
		strlist_release(&l);
		free(r);
	}
	if (mode == 'p') {
		rc = run_mailq();
		goto out;
	}

	cfg = ulak_config_load(cmd, true);
	if (cfg == NULL) {
		rc = SENDMAIL_EX_TEMPFAIL;
		goto out;
	}
	o.queue_dir = config_str(cfg, "queue_directory");
	o.myhostname = config_str(cfg, "myhostname");
	pw = getpwuid(getuid());
	if (o.sender == NULL)
		o.sender = xstrdup(pw != NULL ? pw->pw_name : "nobody");
	if (o.full_name == NULL && pw != NULL && pw->pw_gecos != NULL &&
	    pw->pw_gecos[0] != '\0') {
		/* The GECOS field's first part is the full name. */
		o.full_name = xstrndup(pw->pw_gecos,
		    strcspn(pw->pw_gecos, ","));
	}
	if (mode == 's') {
		rc = run_smtp(&o);
	} else {
		char name[QUEUE_ID_SIZE];

		rc = submit(&o, o.sender, &o.rcpts, stdin,
		    o.dot_ends ? DOT_ENDS : DOT_NONE, name);
	}
out:
	if (cfg != NULL)
		config_free(cfg);
	free(o.sender);
	free(o.full_name);
	free(o.notify);
	strlist_release(&o.rcpts);
	return rc;
}

const struct ulak_cmd ulak_cmd_sendmail = {
	.name = "sendmail",
	.summary = "submit a message (sendmail-compatible)",
	.synopsis = "ulak sendmail [-t] [-i] [-f SENDER] [-F FULL_NAME] "
	    "[-N DSN] [-R RET] [-V ENVID] [RECIPIENT...]\n"
	    "ulak sendmail -bs\n"
	    "ulak sendmail -bp\n"
	    "sendmail [OPTIONS...] [RECIPIENT...]",
	.help =
	    "DESCRIPTION\n"
	    "    The sendmail-compatible way for local programs to submit mail.\n"
	    "    It is run as `ulak sendmail` or when ulak is called by the name\n"
	    "    sendmail (a link made by `make install`).  The message is read\n"
	    "    from standard input, LF line ends become CRLF, and it is written\n"
	    "    durably into $queue_directory/maildrop/, from where pickup hands\n"
	    "    it to cleanup.  A leading mbox \"From \" line is dropped.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -f SENDER, -r SENDER\n"
	    "        The envelope sender (default: the login name; \"<>\" or \"\"\n"
	    "        for the null sender).  Addresses without a domain get\n"
	    "        $myorigin.\n"
	    "    -F FULL_NAME\n"
	    "        The full name for the From: header added when the message\n"
	    "        has none (default: from the password file).\n"
	    "    -t  Take recipients also from the To:, Cc: and Bcc: headers;\n"
	    "        Bcc: headers are removed.\n"
	    "    -i, -oi\n"
	    "        A line with a single dot does not end the message.\n"
	    "    -bm Read a message from standard input (the default).\n"
	    "    -bs Speak SMTP on standard input and output; each message is\n"
	    "        written to maildrop/.\n"
	    "    -bp List the queue (as mailq).\n"
	    "    -N DSN\n"
	    "        RFC 3461 NOTIFY for every recipient: never, or a list of\n"
	    "        success, failure, delay.\n"
	    "    -R RET\n"
	    "        RFC 3461 RET: full or hdrs.\n"
	    "    -V ENVID\n"
	    "        RFC 3461 envelope ID.\n"
	    "    -v  Say where the message went.\n"
	    "    -C CONFIG_DIR\n"
	    "        The instance folder (as ulak -c).\n"
	    "    -oX..., -B, -h, -L, -O, -X, -U, -m, -n, -e, -x\n"
	    "        Accepted and ignored, as other sendmail implementations do.\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when the message is safely in maildrop/; 64 (EX_USAGE) on a\n"
	    "    bad option; 67 (EX_NOUSER) when there is no recipient; 75\n"
	    "    (EX_TEMPFAIL) when the message could not be written (try again).\n"
	    "\n"
	    "SEE ALSO\n"
	    "    docs/sendmail.md\n",
	.run = cmd_sendmail,
};
