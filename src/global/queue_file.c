/*
 * queue_file - writer and reader of queue files; see queue_file.h and
 * docs/queue-format.md.
 *
 * The reader distrusts the file: it may be truncated by a crash, damaged
 * on disk, or edited by hand.  Every line is checked against a fixed
 * grammar with length limits, numbers go through parse_uint, and the file
 * size must match the content length exactly before anything is used.
 */
#include "queue_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "parse.h"

#define MAGIC "ulak-queue-file "
/* content_length= and the end line carry exactly this many digits. */
#define LENGTH_DIGITS 20
#define END_PREFIX "end="
#define END_LEN (sizeof(END_PREFIX) - 1 + LENGTH_DIGITS + 1)
#define WRITE_CHUNK 65536

static const char *const field_names[QUEUE_FIELD_COUNT] = {
	[QUEUE_SENDER] = "sender",
	[QUEUE_ENVID] = "envid",
	[QUEUE_CLIENT_NAME] = "client_name",
	[QUEUE_CLIENT_ADDRESS] = "client_address",
	[QUEUE_CLIENT_PORT] = "client_port",
	[QUEUE_HELO_NAME] = "helo_name",
	[QUEUE_PROTOCOL] = "protocol",
	[QUEUE_SASL_USERNAME] = "sasl_username",
};

static const char *const notify_strs[16] = {
	"", "never", "success", NULL, "failure", NULL, "success,failure", NULL,
	"delay", NULL, "success,delay", NULL, "failure,delay", NULL,
	"success,failure,delay", NULL,
};

const char *
queue_notify_str(unsigned notify)
{
	if (notify >= 16 || notify_strs[notify] == NULL)
		return "invalid";
	return notify_strs[notify];
}

static bool
notify_valid(unsigned notify)
{
	return notify < 16 && notify_strs[notify] != NULL;
}

static bool
status_valid(int c)
{
	return c == QUEUE_RCPT_OPEN || c == QUEUE_RCPT_DELIVERED ||
	    c == QUEUE_RCPT_BOUNCED;
}

/* Writer. */

struct queue_writer {
	char *tmp_path;
	char *final_path;
	char *incoming;
	char *queue_dir;
	char *final_dir;	/* incoming/ or hold/ */
	char *filter;		/* content_filter, or NULL */
	bool rewrite;		/* the envelope changed after it was written */
	char *old_tmp_path;	/* after a rewrite: the first file */
	char id[QUEUE_ID_SIZE];
	int fd;
	time_t arrival;
	enum queue_ret ret;
	unsigned flags;
	char *fields[QUEUE_FIELD_COUNT];
	struct buf rcpts;	/* encoded recipient groups */
	size_t rcpt_count;
	struct buf out;		/* bytes not yet written to fd */
	uint64_t written;	/* bytes written to fd */
	uint64_t length_offset;	/* file offset of the content_length digits */
	uint64_t content_len;
	bool envelope_done;
	bool failed;
	char error[ERR_MAX];
};

static int
writer_fail(struct queue_writer *w, const char **error_r, const char *what)
{
	if (!w->failed) {
		w->failed = true;
		(void)snprintf(w->error, sizeof(w->error), "%s", what);
	}
	*error_r = w->error;
	return -1;
}

struct queue_writer *
queue_writer_open(const char *queue_dir, const char **error_r)
{
	struct queue_writer *w;
	struct buf path;
	struct stat st;
	int fd;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/incoming/.tmp-XXXXXX", queue_dir);
	fd = mkostemp(path.data, O_CLOEXEC);
	if (fd < 0) {
		*error_r = err_fmt("create queue file in %s/incoming: %s",
		    queue_dir, strerror(errno));
		buf_release(&path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = err_fmt("fstat %s: %s", path.data, strerror(errno));
		(void)unlink(path.data);
		close(fd);
		buf_release(&path);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->tmp_path = buf_detach(&path, NULL);
	buf_release(&path);
	w->incoming = xstrndup(w->tmp_path, strlen(queue_dir) + 9);
	w->queue_dir = xstrdup(queue_dir);
	w->final_dir = xstrdup(w->incoming);
	/* The inode is unique among the live files of the queue file system. */
	queue_id_new(w->id, (uint64_t)st.st_ino);
	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/%s", w->incoming, w->id);
	w->final_path = buf_detach(&path, NULL);
	buf_release(&path);
	w->arrival = time(NULL);
	buf_init(&w->rcpts, QUEUE_ENVELOPE_MAX / 2);
	buf_init(&w->out, 0);
	return w;
}

const char *
queue_writer_id(const struct queue_writer *w)
{
	return w->id;
}

static void
writer_check_open(const struct queue_writer *w, const char *what)
{
	if (w->envelope_done)
		log_panic("%s after the queue file content was started", what);
}

int
queue_writer_set(struct queue_writer *w, enum queue_field field,
    const char *value, const char **error_r)
{
	struct buf tmp;
	const char *err;

	writer_check_open(w, "queue_writer_set");
	if ((unsigned)field >= QUEUE_FIELD_COUNT)
		log_panic("queue_writer_set: bad field %d", (int)field);
	buf_init(&tmp, 0);
	if (attr_encode(&tmp, field_names[field], value, &err) < 0 ||
	    tmp.len > QUEUE_LINE_MAX + 1) {
		buf_release(&tmp);
		*error_r = err_fmt("%s too long", field_names[field]);
		return -1;
	}
	buf_release(&tmp);
	free(w->fields[field]);
	w->fields[field] = xstrdup(value);
	return 0;
}

void
queue_writer_set_arrival(struct queue_writer *w, time_t arrival)
{
	writer_check_open(w, "queue_writer_set_arrival");
	w->arrival = arrival < 0 ? 0 : arrival;
}

void
queue_writer_set_ret(struct queue_writer *w, enum queue_ret ret)
{
	writer_check_open(w, "queue_writer_set_ret");
	if (ret != QUEUE_RET_NONE && ret != QUEUE_RET_FULL &&
	    ret != QUEUE_RET_HDRS)
		log_panic("queue_writer_set_ret: bad value %d", (int)ret);
	w->ret = ret;
}

void
queue_writer_set_flags(struct queue_writer *w, unsigned flags)
{
	writer_check_open(w, "queue_writer_set_flags");
	if ((flags & ~(QUEUE_FLAG_8BITMIME | QUEUE_FLAG_SMTPUTF8)) != 0)
		log_panic("queue_writer_set_flags: bad flags %#x", flags);
	w->flags = flags;
}

int
queue_writer_add_rcpt(struct queue_writer *w, const char *address,
    const char *orcpt, unsigned notify, const char **error_r)
{
	size_t start = w->rcpts.len;
	const char *err = "envelope too large";

	if (*address == '\0') {
		*error_r = err_fmt("empty recipient address");
		return -1;
	}
	if (!notify_valid(notify)) {
		*error_r = err_fmt("bad NOTIFY combination %#x", notify);
		return -1;
	}
	if (orcpt == NULL)
		orcpt = "";
	if (attr_encode(&w->rcpts, "rcpt", address, &err) < 0 ||
	    attr_encode(&w->rcpts, "orcpt", orcpt, &err) < 0 ||
	    attr_encode(&w->rcpts, "notify", notify_strs[notify], &err) < 0 ||
	    buf_append_str(&w->rcpts, "done=-\n") < 0) {
		buf_truncate(&w->rcpts, start);
		*error_r = err_fmt("recipient: %s", err);
		return -1;
	}
	w->rcpt_count++;
	if (w->envelope_done)
		w->rewrite = true;
	return 0;
}

void
queue_writer_clear_rcpts(struct queue_writer *w)
{
	buf_reset(&w->rcpts);
	w->rcpt_count = 0;
	if (w->envelope_done)
		w->rewrite = true;
}

size_t
queue_writer_rcpt_count(const struct queue_writer *w)
{
	return w->rcpt_count;
}

int
queue_writer_set_filter(struct queue_writer *w, const char *filter,
    const char **error_r)
{
	struct buf tmp;
	const char *err;

	buf_init(&tmp, 0);
	if (filter == NULL || *filter == '\0' || strchr(filter, ':') == NULL ||
	    attr_encode(&tmp, "content_filter", filter, &err) < 0 ||
	    tmp.len > QUEUE_LINE_MAX + 1) {
		buf_release(&tmp);
		*error_r = "content_filter must be transport:nexthop and fit "
		    "one line";
		return -1;
	}
	buf_release(&tmp);
	free(w->filter);
	w->filter = xstrdup(filter);
	if (w->envelope_done)
		w->rewrite = true;
	return 0;
}

void
queue_writer_set_folder(struct queue_writer *w, const char *folder)
{
	struct buf path;

	if (strcmp(folder, "incoming") != 0 && strcmp(folder, "hold") != 0)
		log_panic("queue_writer_set_folder: bad folder %s", folder);
	free(w->final_dir);
	free(w->final_path);
	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/%s", w->queue_dir, folder);
	w->final_dir = buf_detach(&path, NULL);
	(void)buf_printf(&path, "%s/%s", w->final_dir, w->id);
	w->final_path = buf_detach(&path, NULL);
	buf_release(&path);
}

static int
writer_flush(struct queue_writer *w, const char **error_r)
{
	if (w->out.len == 0)
		return 0;
	if (file_write_full(w->fd, w->out.data, w->out.len) < 0)
		return writer_fail(w, error_r, err_fmt("write %s: %s",
		    w->tmp_path, strerror(errno)));
	w->written += w->out.len;
	buf_reset(&w->out);
	return 0;
}

/*
 * Append the envelope, up to and with the empty line, to OUT with
 * content length LEN; *DIGITS_R gets the offset in OUT of the length's
 * digits.  A file with a content_filter is version 2 (version 1 readers
 * would not know the field); all others stay version 1.
 */
static int
envelope_build(struct queue_writer *w, struct buf *out, uint64_t len,
    size_t *digits_r, const char **error_r)
{
	const char *err;

	(void)buf_printf(out, MAGIC "%d\narrival_time=%lld\n",
	    w->filter != NULL ? QUEUE_FILE_VERSION_FILTER : QUEUE_FILE_VERSION,
	    (long long)w->arrival);
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++) {
		const char *v = w->fields[f];

		if (v == NULL && f == QUEUE_SENDER)
			v = "";	/* checked at commit */
		if (v != NULL &&
		    attr_encode(out, field_names[f], v, &err) < 0) {
			*error_r = err;
			return -1;
		}
	}
	if (w->ret != QUEUE_RET_NONE)
		(void)buf_printf(out, "ret=%s\n",
		    w->ret == QUEUE_RET_FULL ? "full" : "hdrs");
	if (w->flags != 0)
		(void)buf_printf(out, "flags=%s%s%s\n",
		    (w->flags & QUEUE_FLAG_8BITMIME) ? "8bitmime" : "",
		    w->flags == (QUEUE_FLAG_8BITMIME | QUEUE_FLAG_SMTPUTF8) ?
		    "," : "",
		    (w->flags & QUEUE_FLAG_SMTPUTF8) ? "smtputf8" : "");
	if (w->filter != NULL &&
	    attr_encode(out, "content_filter", w->filter, &err) < 0) {
		*error_r = err;
		return -1;
	}
	(void)buf_append(out, w->rcpts.data, w->rcpts.len);
	(void)buf_append_str(out, "content_length=");
	*digits_r = out->len;
	(void)buf_printf(out, "%0*llu\n\n", LENGTH_DIGITS,
	    (unsigned long long)len);
	return 0;
}

static int
writer_envelope(struct queue_writer *w, const char **error_r)
{
	size_t digits;
	size_t start = w->out.len;

	if (w->envelope_done)
		return 0;
	w->envelope_done = true;
	/* The recipients stay in memory, for a rewrite (writer_rewrite). */
	if (envelope_build(w, &w->out, 0, &digits, error_r) < 0)
		return writer_fail(w, error_r, *error_r);
	/* A placeholder of the right width; the real length is written at commit. */
	w->length_offset = w->written + start + (digits - start);
	return 0;
}

int
queue_writer_write_content(struct queue_writer *w, const void *data,
    size_t len, const char **error_r)
{
	if (w->failed)
		return writer_fail(w, error_r, NULL);
	if (writer_envelope(w, error_r) < 0)
		return -1;
	w->content_len += len;
	if (w->out.len + len < WRITE_CHUNK) {
		(void)buf_append(&w->out, data, len);
		return 0;
	}
	if (writer_flush(w, error_r) < 0)
		return -1;
	if (file_write_full(w->fd, data, len) < 0)
		return writer_fail(w, error_r, err_fmt("write %s: %s",
		    w->tmp_path, strerror(errno)));
	w->written += len;
	return 0;
}

static void
writer_free(struct queue_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++)
		free(w->fields[f]);
	buf_release(&w->rcpts);
	buf_release(&w->out);
	free(w->tmp_path);
	free(w->final_path);
	free(w->incoming);
	free(w->queue_dir);
	free(w->final_dir);
	free(w->filter);
	if (w->old_tmp_path != NULL) {
		(void)unlink(w->old_tmp_path);
		free(w->old_tmp_path);
	}
	free(w);
}

void
queue_writer_abort(struct queue_writer *w)
{
	if (w == NULL)
		return;
	(void)unlink(w->tmp_path);
	writer_free(w);
}

/* Copy LEN bytes from FROM at offset OFF to the end of TO. */
static int
copy_range(int from, uint64_t off, int to, uint64_t len)
{
	char chunk[WRITE_CHUNK];

	while (len > 0) {
		size_t want = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);
		ssize_t got = pread(from, chunk, want, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EIO;	/* the file shrank */
			return -1;
		}
		if (file_write_full(to, chunk, (size_t)got) < 0)
			return -1;
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/*
 * The envelope changed after the content was started (recipients,
 * content_filter): write a new temporary file with the new envelope and
 * a copy of the content, and let it replace the old one under the same
 * queue ID.  The old file stays linked until the new one has its final
 * name, so no other live file can get the ID's inode meanwhile; after
 * that the ID's time part keeps it unique (docs/queue-format.md).
 */
static int
writer_rewrite(struct queue_writer *w, const char **error_r)
{
	struct buf path, env;
	uint64_t old_off = w->length_offset + LENGTH_DIGITS + 2;
	size_t digits;
	int fd;

	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/.tmp-XXXXXX", w->incoming);
	fd = mkostemp(path.data, O_CLOEXEC);
	if (fd < 0) {
		buf_release(&path);
		return writer_fail(w, error_r, err_fmt("create queue file "
		    "in %s: %s", w->incoming, strerror(errno)));
	}
	buf_init(&env, 0);
	if (envelope_build(w, &env, w->content_len, &digits, error_r) < 0 ||
	    file_write_full(fd, env.data, env.len) < 0 ||
	    copy_range(w->fd, old_off, fd, w->content_len) < 0 ||
	    buf_printf(&w->out, END_PREFIX "%0*llu\n", LENGTH_DIGITS,
	    (unsigned long long)w->content_len) < 0 ||
	    file_write_full(fd, w->out.data, w->out.len) < 0) {
		const char *why = err_fmt("rewrite %s: %s", path.data,
		    strerror(errno));

		buf_reset(&w->out);
		(void)unlink(path.data);
		close(fd);
		buf_release(&path);
		buf_release(&env);
		return writer_fail(w, error_r, why);
	}
	buf_reset(&w->out);
	buf_release(&env);
	/* The old temporary file is unlinked after the rename (commit). */
	close(w->fd);
	w->fd = fd;
	w->old_tmp_path = w->tmp_path;
	w->tmp_path = buf_detach(&path, NULL);
	buf_release(&path);
	return 0;
}

static int
writer_finish(struct queue_writer *w, const char **error_r)
{
	char digits[LENGTH_DIGITS + 1];
	ssize_t n;

	if (w->failed)
		return writer_fail(w, error_r, NULL);
	if (w->fields[QUEUE_SENDER] == NULL)
		return writer_fail(w, error_r, "no sender set");
	if (w->rcpt_count == 0)
		return writer_fail(w, error_r, "no recipients");
	if (writer_envelope(w, error_r) < 0)
		return -1;
	(void)buf_printf(&w->out, END_PREFIX "%0*llu\n", LENGTH_DIGITS,
	    (unsigned long long)w->content_len);
	if (writer_flush(w, error_r) < 0)
		return -1;
	if (w->rewrite) {
		if (writer_rewrite(w, error_r) < 0)
			return -1;
	} else {
		(void)snprintf(digits, sizeof(digits), "%0*llu", LENGTH_DIGITS,
		    (unsigned long long)w->content_len);
		do {
			n = pwrite(w->fd, digits, LENGTH_DIGITS,
			    (off_t)w->length_offset);
		} while (n < 0 && errno == EINTR);
		if (n != LENGTH_DIGITS)
			return writer_fail(w, error_r, err_fmt("write %s: %s",
			    w->tmp_path, n < 0 ? strerror(errno) :
			    "short write"));
	}
	if (fsync(w->fd) < 0)
		return writer_fail(w, error_r, err_fmt("fsync %s: %s",
		    w->tmp_path, strerror(errno)));
	if (close(w->fd) < 0) {
		w->fd = -1;
		return writer_fail(w, error_r, err_fmt("close %s: %s",
		    w->tmp_path, strerror(errno)));
	}
	w->fd = -1;
	if (rename(w->tmp_path, w->final_path) < 0)
		return writer_fail(w, error_r, err_fmt("rename %s to %s: %s",
		    w->tmp_path, w->final_path, strerror(errno)));
	if (file_fsync_dir(w->final_dir, error_r) < 0) {
		/*
		 * Not known to be durable: the client will be told to try
		 * again, so the file must go, or the message would be
		 * delivered twice.
		 */
		(void)writer_fail(w, error_r, *error_r);
		(void)unlink(w->final_path);
		return -1;
	}
	return 0;
}

int
queue_writer_commit(struct queue_writer *w, char id_r[QUEUE_ID_SIZE],
    const char **error_r)
{
	if (writer_finish(w, error_r) < 0) {
		*error_r = err_fmt("%s: %s", w->id, *error_r);
		queue_writer_abort(w);
		return -1;
	}
	memcpy(id_r, w->id, QUEUE_ID_SIZE);
	writer_free(w);
	return 0;
}

/* Reader. */

struct queue_file {
	int fd;
	bool for_update;
	char *name;
	char id[QUEUE_ID_SIZE];
	time_t arrival;
	enum queue_ret ret;
	unsigned flags;
	char *fields[QUEUE_FIELD_COUNT];
	char *filter;		/* content_filter (version 2), or NULL */
	unsigned version;
	struct queue_rcpt *rcpts;
	uint64_t *mark_offsets;
	size_t rcpt_count;
	size_t rcpt_cap;
	uint64_t content_offset;
	uint64_t content_length;
};

/* Line reader over the envelope. */
struct reader {
	int fd;
	struct buf in;		/* unread bytes */
	size_t pos;		/* start of the next line in in */
	uint64_t in_off;	/* file offset of in.data[0] */
	bool eof;
	unsigned lineno;
	/* The current line. */
	const char *line;
	size_t len;
	uint64_t line_off;
};

/* Next line into r->line/len (without LF). 1 = line, 0 = EOF, -1 = error. */
static int
reader_next(struct reader *r, const char **error_r)
{
	for (;;) {
		const char *start = r->in.data + r->pos;
		size_t avail = r->in.len - r->pos;
		const char *nl = memchr(start, '\n', avail);
		char chunk[WRITE_CHUNK];
		ssize_t got;

		if (nl != NULL) {
			r->line = start;
			r->len = (size_t)(nl - start);
			r->line_off = r->in_off + r->pos;
			r->pos += r->len + 1;
			r->lineno++;
			if (r->len > QUEUE_LINE_MAX)
				goto toolong;
			return 1;
		}
		if (avail > QUEUE_LINE_MAX) {
			r->lineno++;
			goto toolong;
		}
		if (r->in_off + r->in.len > QUEUE_ENVELOPE_MAX) {
			*error_r = err_fmt("envelope larger than %u bytes",
			    QUEUE_ENVELOPE_MAX);
			return -1;
		}
		if (r->eof)
			return 0;
		/* Keep only the unread part before reading more. */
		r->in_off += r->pos;
		buf_consume(&r->in, r->pos);
		r->pos = 0;
		do {
			got = read(r->fd, chunk, sizeof(chunk));
		} while (got < 0 && errno == EINTR);
		if (got < 0) {
			*error_r = err_fmt("read: %s", strerror(errno));
			return -1;
		}
		if (got == 0)
			r->eof = true;
		else
			(void)buf_append(&r->in, chunk, (size_t)got);
	}
toolong:
	*error_r = err_fmt("line %u: line too long", r->lineno);
	return -1;
}

/* Decode a value into a new string; NULs are not allowed. */
static char *
decode_value(const char *s, size_t len, const char **error_r)
{
	struct buf b;
	const char *err;

	buf_init(&b, 0);
	if (attr_unescape(&b, s, len, &err) < 0) {
		buf_release(&b);
		*error_r = err;
		return NULL;
	}
	if (buf_has_nul(&b)) {
		buf_release(&b);
		*error_r = "NUL byte in value";
		return NULL;
	}
	{
		char *v = buf_detach(&b, NULL);

		buf_release(&b);
		return v;
	}
}

/* Parse a comma-separated list of WORDS into bits (word i = bit 1<<i). */
static int
parse_words(const char *v, const char *const *words, size_t nwords,
    unsigned *bits_r)
{
	unsigned bits = 0;

	if (*v == '\0')
		return -1;
	for (;;) {
		const char *comma = strchr(v, ',');
		size_t n = comma == NULL ? strlen(v) : (size_t)(comma - v);
		size_t i;

		for (i = 0; i < nwords; i++)
			if (strlen(words[i]) == n && memcmp(words[i], v, n) == 0)
				break;
		if (i == nwords || (bits & (1u << i)) != 0)
			return -1;
		bits |= 1u << i;
		if (comma == NULL)
			break;
		v = comma + 1;
	}
	*bits_r = bits;
	return 0;
}

static int
parse_notify(const char *v, unsigned *notify_r)
{
	static const char *const words[] = {
		"never", "success", "failure", "delay"
	};

	if (*v == '\0') {
		*notify_r = 0;
		return 0;
	}
	if (parse_words(v, words, 4, notify_r) < 0 || !notify_valid(*notify_r))
		return -1;
	return 0;
}

static int
parse_flags(const char *v, unsigned *flags_r)
{
	static const char *const words[] = { "8bitmime", "smtputf8" };

	return parse_words(v, words, 2, flags_r);
}

enum parse_state {
	PS_HEADER,	/* envelope fields */
	PS_ORCPT,	/* after rcpt= */
	PS_NOTIFY,
	PS_DONE,
	PS_AFTER_RCPT,	/* rcpt= or content_length= */
	PS_BLANK,	/* after content_length= */
};

static void
qf_add_rcpt(struct queue_file *qf, char *address)
{
	if (qf->rcpt_count == qf->rcpt_cap) {
		qf->rcpt_cap = qf->rcpt_cap == 0 ? 4 : qf->rcpt_cap * 2;
		qf->rcpts = xreallocarray(qf->rcpts, qf->rcpt_cap,
		    sizeof(*qf->rcpts));
		qf->mark_offsets = xreallocarray(qf->mark_offsets,
		    qf->rcpt_cap, sizeof(*qf->mark_offsets));
	}
	memset(&qf->rcpts[qf->rcpt_count], 0, sizeof(*qf->rcpts));
	qf->rcpts[qf->rcpt_count].address = address;
	qf->rcpt_count++;
}

/* Parse one envelope line (after the magic line). */
static int
parse_line(struct queue_file *qf, struct reader *r, enum parse_state *state,
    bool *have_arrival, const char **error_r)
{
	const char *eq = memchr(r->line, '=', r->len), *err;
	size_t nlen;
	char name[ATTR_NAME_MAX + 1];
	char *value;
	uint64_t num;
	int f;

	if (eq == NULL || (nlen = (size_t)(eq - r->line)) == 0 ||
	    nlen > ATTR_NAME_MAX) {
		*error_r = "not a name=value line";
		return -1;
	}
	memcpy(name, r->line, nlen);
	name[nlen] = '\0';
	value = decode_value(eq + 1, r->len - nlen - 1, &err);
	if (value == NULL) {
		*error_r = err_fmt("%s: %s", name, err);
		return -1;
	}
	switch (*state) {
	case PS_HEADER:
		if (strcmp(name, "rcpt") == 0)
			break;
		if (strcmp(name, "arrival_time") == 0) {
			if (*have_arrival ||
			    parse_uint(value, 0, (uint64_t)1 << 40, &num, &err) < 0) {
				*error_r = *have_arrival ?
				    "duplicate arrival_time" : "bad arrival_time";
				goto fail;
			}
			*have_arrival = true;
			qf->arrival = (time_t)num;
			free(value);
			return 0;
		}
		if (strcmp(name, "ret") == 0) {
			if (qf->ret != QUEUE_RET_NONE) {
				*error_r = "duplicate ret";
				goto fail;
			}
			if (strcmp(value, "full") == 0)
				qf->ret = QUEUE_RET_FULL;
			else if (strcmp(value, "hdrs") == 0)
				qf->ret = QUEUE_RET_HDRS;
			else {
				*error_r = "bad ret value";
				goto fail;
			}
			free(value);
			return 0;
		}
		if (strcmp(name, "content_filter") == 0) {
			if (qf->version < QUEUE_FILE_VERSION_FILTER ||
			    qf->filter != NULL || strchr(value, ':') == NULL) {
				*error_r = qf->version < QUEUE_FILE_VERSION_FILTER ?
				    "content_filter in a version 1 file" :
				    "bad or duplicate content_filter";
				goto fail;
			}
			qf->filter = value;
			return 0;
		}
		if (strcmp(name, "flags") == 0) {
			if (qf->flags != 0 || parse_flags(value, &qf->flags) < 0) {
				*error_r = "bad or duplicate flags";
				goto fail;
			}
			free(value);
			return 0;
		}
		for (f = 0; f < QUEUE_FIELD_COUNT; f++)
			if (strcmp(name, field_names[f]) == 0)
				break;
		if (f == QUEUE_FIELD_COUNT) {
			*error_r = err_fmt("unknown field %s", name);
			goto fail;
		}
		if (qf->fields[f] != NULL) {
			*error_r = err_fmt("duplicate %s", name);
			goto fail;
		}
		qf->fields[f] = value;
		return 0;
	case PS_AFTER_RCPT:
		if (strcmp(name, "rcpt") == 0)
			break;
		if (strcmp(name, "content_length") == 0) {
			if (r->len - nlen - 1 != LENGTH_DIGITS ||
			    parse_uint(value, 0, INT64_MAX, &num, &err) < 0) {
				*error_r = "bad content_length";
				goto fail;
			}
			qf->content_length = num;
			*state = PS_BLANK;
			free(value);
			return 0;
		}
		*error_r = err_fmt("unexpected %s after the recipients", name);
		goto fail;
	case PS_ORCPT:
		if (strcmp(name, "orcpt") != 0) {
			*error_r = "orcpt expected";
			goto fail;
		}
		if (*value != '\0')
			qf->rcpts[qf->rcpt_count - 1].orcpt = value;
		else
			free(value);
		*state = PS_NOTIFY;
		return 0;
	case PS_NOTIFY:
		if (strcmp(name, "notify") != 0) {
			*error_r = "notify expected";
			goto fail;
		}
		if (parse_notify(value,
		    &qf->rcpts[qf->rcpt_count - 1].notify) < 0) {
			*error_r = "bad notify value";
			goto fail;
		}
		free(value);
		*state = PS_DONE;
		return 0;
	case PS_DONE:
		if (strcmp(name, "done") != 0) {
			*error_r = "done expected";
			goto fail;
		}
		/* The mark is one raw byte, so it can be rewritten in place. */
		if (r->len != nlen + 2 || !status_valid(value[0])) {
			*error_r = "bad done mark";
			goto fail;
		}
		qf->rcpts[qf->rcpt_count - 1].status = value[0];
		qf->mark_offsets[qf->rcpt_count - 1] = r->line_off + nlen + 1;
		free(value);
		*state = PS_AFTER_RCPT;
		return 0;
	case PS_BLANK:
		*error_r = "empty line expected after content_length";
		goto fail;
	}
	/* rcpt= starts a recipient group (from PS_HEADER or PS_AFTER_RCPT). */
	if (*value == '\0') {
		*error_r = "empty recipient";
		goto fail;
	}
	qf_add_rcpt(qf, value);
	*state = PS_ORCPT;
	return 0;
fail:
	free(value);
	return -1;
}

static int
parse_envelope(struct queue_file *qf, const char **error_r)
{
	struct reader r;
	enum parse_state state = PS_HEADER;
	bool have_arrival = false;
	const char *err;
	uint64_t version;
	int rc = -1, n;

	memset(&r, 0, sizeof(r));
	r.fd = qf->fd;
	buf_init(&r.in, 0);
	n = reader_next(&r, &err);
	if (n <= 0) {
		*error_r = n == 0 ? "empty file" : err;
		goto out;
	}
	if (r.len < sizeof(MAGIC) - 1 || memcmp(r.line, MAGIC, sizeof(MAGIC) - 1)) {
		*error_r = "not a queue file";
		goto out;
	}
	{
		char v[16];
		size_t vl = r.len - (sizeof(MAGIC) - 1);

		if (vl == 0 || vl >= sizeof(v)) {
			*error_r = "bad version line";
			goto out;
		}
		memcpy(v, r.line + sizeof(MAGIC) - 1, vl);
		v[vl] = '\0';
		if (parse_uint(v, 1, 1000000, &version, &err) < 0) {
			*error_r = "bad version line";
			goto out;
		}
		if (version != QUEUE_FILE_VERSION &&
		    version != QUEUE_FILE_VERSION_FILTER) {
			*error_r = err_fmt("unsupported queue file version %llu",
			    (unsigned long long)version);
			goto out;
		}
		qf->version = (unsigned)version;
	}
	for (;;) {
		n = reader_next(&r, &err);
		if (n < 0) {
			*error_r = err;
			goto out;
		}
		if (n == 0) {
			*error_r = "truncated envelope";
			goto out;
		}
		if (r.len == 0) {
			if (state != PS_BLANK) {
				*error_r = err_fmt("line %u: unexpected end of envelope",
				    r.lineno);
				goto out;
			}
			break;
		}
		if (parse_line(qf, &r, &state, &have_arrival, &err) < 0) {
			*error_r = err_fmt("line %u: %s", r.lineno, err);
			goto out;
		}
	}
	if (!have_arrival) {
		*error_r = "missing arrival_time";
		goto out;
	}
	if (qf->fields[QUEUE_SENDER] == NULL) {
		*error_r = "missing sender";
		goto out;
	}
	qf->content_offset = r.in_off + r.pos;
	rc = 0;
out:
	buf_release(&r.in);
	return rc;
}

/* Check the file size and the end line against content_length. */
static int
check_end(struct queue_file *qf, const char **error_r)
{
	struct stat st;
	char end[END_LEN + 1], want[END_LEN + 1];
	uint64_t size;
	ssize_t n;

	if (fstat(qf->fd, &st) < 0) {
		*error_r = err_fmt("fstat: %s", strerror(errno));
		return -1;
	}
	size = (uint64_t)st.st_size;
	if (qf->content_length > size || size - qf->content_length <
	    qf->content_offset ||
	    size - qf->content_length - qf->content_offset != END_LEN) {
		*error_r = err_fmt("file size %llu does not match content "
		    "length %llu (truncated?)", (unsigned long long)size,
		    (unsigned long long)qf->content_length);
		return -1;
	}
	do {
		n = pread(qf->fd, end, END_LEN, (off_t)(size - END_LEN));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)END_LEN) {
		*error_r = err_fmt("read end line: %s",
		    n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	(void)snprintf(want, sizeof(want), END_PREFIX "%0*llu\n", LENGTH_DIGITS,
	    (unsigned long long)qf->content_length);
	if (memcmp(end, want, END_LEN) != 0) {
		*error_r = "bad end line";
		return -1;
	}
	return 0;
}

struct queue_file *
queue_file_open_fd(int fd, const char *name, bool for_update,
    const char **error_r)
{
	struct queue_file *qf = xcalloc(1, sizeof(*qf));
	const char *base = strrchr(name, '/'), *err;

	qf->fd = fd;
	qf->for_update = for_update;
	qf->name = xstrdup(name);
	base = base == NULL ? name : base + 1;
	if (queue_id_valid(base))
		memcpy(qf->id, base, strlen(base) + 1);
	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) {
		*error_r = err_fmt("%s: seek: %s", name, strerror(errno));
		queue_file_close(qf);
		return NULL;
	}
	if (parse_envelope(qf, &err) < 0 || check_end(qf, &err) < 0) {
		*error_r = err_fmt("%s: %s", name, err);
		queue_file_close(qf);
		return NULL;
	}
	return qf;
}

struct queue_file *
queue_file_open(const char *path, bool for_update, const char **error_r)
{
	int fd = open(path, (for_update ? O_RDWR : O_RDONLY) | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0) {
		*error_r = err_fmt("open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* O_NONBLOCK only so that a FIFO planted in the queue cannot hang us. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*error_r = err_fmt("%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return queue_file_open_fd(fd, path, for_update, error_r);
}

void
queue_file_close(struct queue_file *qf)
{
	if (qf == NULL)
		return;
	if (qf->fd >= 0)
		close(qf->fd);
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++)
		free(qf->fields[f]);
	free(qf->filter);
	for (size_t i = 0; i < qf->rcpt_count; i++) {
		free(qf->rcpts[i].address);
		free(qf->rcpts[i].orcpt);
	}
	free(qf->rcpts);
	free(qf->mark_offsets);
	free(qf->name);
	free(qf);
}

const char *
queue_file_id(const struct queue_file *qf)
{
	return qf->id;
}

const char *
queue_file_get(const struct queue_file *qf, enum queue_field field)
{
	if ((unsigned)field >= QUEUE_FIELD_COUNT)
		log_panic("queue_file_get: bad field %d", (int)field);
	return qf->fields[field];
}

const char *
queue_file_filter(const struct queue_file *qf)
{
	return qf->filter;
}

time_t
queue_file_arrival(const struct queue_file *qf)
{
	return qf->arrival;
}

enum queue_ret
queue_file_ret(const struct queue_file *qf)
{
	return qf->ret;
}

unsigned
queue_file_flags(const struct queue_file *qf)
{
	return qf->flags;
}

size_t
queue_file_rcpt_count(const struct queue_file *qf)
{
	return qf->rcpt_count;
}

const struct queue_rcpt *
queue_file_rcpt(const struct queue_file *qf, size_t index)
{
	if (index >= qf->rcpt_count)
		log_panic("queue_file_rcpt: index %zu out of range", index);
	return &qf->rcpts[index];
}

uint64_t
queue_file_content_length(const struct queue_file *qf)
{
	return qf->content_length;
}

int
queue_file_read_content(struct queue_file *qf, uint64_t offset, void *data,
    size_t len, size_t *got_r, const char **error_r)
{
	ssize_t n;

	*got_r = 0;
	if (offset >= qf->content_length || len == 0)
		return 0;
	if (len > qf->content_length - offset)
		len = (size_t)(qf->content_length - offset);
	do {
		n = pread(qf->fd, data, len, (off_t)(qf->content_offset + offset));
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*error_r = err_fmt("%s: read: %s", qf->name,
		    n < 0 ? strerror(errno) : "file shrank");
		return -1;
	}
	*got_r = (size_t)n;
	return 0;
}

int
queue_file_set_mark(struct queue_file *qf, size_t index,
    enum queue_rcpt_status status, const char **error_r)
{
	char c = (char)status;
	ssize_t n;

	if (index >= qf->rcpt_count || !status_valid(c))
		log_panic("queue_file_set_mark: bad index or status");
	if (!qf->for_update) {
		*error_r = err_fmt("%s: not open for update", qf->name);
		return -1;
	}
	do {
		n = pwrite(qf->fd, &c, 1, (off_t)qf->mark_offsets[index]);
	} while (n < 0 && errno == EINTR);
	if (n != 1) {
		*error_r = err_fmt("%s: write done mark: %s", qf->name,
		    n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	qf->rcpts[index].status = c;
	return 0;
}

int
queue_file_sync(struct queue_file *qf, const char **error_r)
{
	if (fdatasync(qf->fd) < 0) {
		*error_r = err_fmt("%s: fdatasync: %s", qf->name,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
queue_file_mark_recipient(struct queue_file *qf, size_t index,
    enum queue_rcpt_status status, const char **error_r)
{
	if (queue_file_set_mark(qf, index, status, error_r) < 0)
		return -1;
	return queue_file_sync(qf, error_r);
}
