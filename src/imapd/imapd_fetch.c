/*
 * imapd_fetch - FETCH (RFC 3501 6.4.5, 7.4.2), STORE (6.4.6) and SEARCH
 * (6.4.4, RFC 4731 ESEARCH) on the selected folder.
 *
 * Messages are files anyone could have written: they are read whole,
 * given CRLF line ends (what clients see; the sizes the store reports
 * count the same way), parsed by mime, and every piece of them goes out
 * as an IMAP literal or a properly quoted string.  A large FETCH is
 * answered in steps, pausing while the client has more than a megabyte
 * unread, so a session's memory stays bounded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "header.h"
#include "log.h"
#include "mailstore.h"
#include "mem.h"
#include "mime.h"
#include "mime_stream.h"
#include "str.h"

#include "imap_render.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "imapd_hcache.h"

struct imapd_fetch_job {
	char *tag;
	bool uid;
	char *dir;		/* the folder (imapd_hcache key) */
	struct imap_fetch f;
	size_t *idx;
	size_t n, pos;
};

/* A message as clients see it. */
struct loaded {
	struct buf text;	/* CRLF line ends */
	struct mime_part *mime;
	/* Only the header was read (text is the header with its empty
	 * line): MIME is then HDR_PART, made up here, not parsed. */
	bool hdr_only;
	struct mime_part hdr_part;
};

/* Largest header read on its own; a longer one loads the message. */
#define HEADER_READ_MAX (256 * 1024)

/* Append RAW[0..LEN) to OUT with every bare LF made CRLF. */
static void
append_crlf(struct buf *out, const char *raw, size_t len)
{
	buf_reserve(out, len + len / 32 + 16);
	for (size_t k = 0; k < len;) {
		const char *lf = memchr(raw + k, '\n', len - k);
		size_t e = lf != NULL ? (size_t)(lf - raw) : len;

		buf_append(out, raw + k, e - k);
		if (lf == NULL)
			break;
		if (e == 0 || raw[e - 1] != '\r')
			buf_append_char(out, '\r');
		buf_append_char(out, '\n');
		k = e + 1;
	}
}

/* Read message I with every bare LF made CRLF.  0, 1 (gone), -1. */
static int
load(struct imapd_session *s, size_t i, struct loaded *l)
{
	struct buf raw;
	const char *error;
	int r;

	buf_init(&l->text, 0);
	l->mime = NULL;
	l->hdr_only = false;
	buf_init(&raw, 0);
	r = mailstore_msg_read(s->folder, i, &raw, &error);
	if (r < 0)
		log_warning("user=%s: read message: %s", s->user, error);
	if (r != 0) {
		buf_release(&raw);
		buf_release(&l->text);
		return r;
	}
	append_crlf(&l->text, raw.data, raw.len);
	buf_release(&raw);
	return 0;
}

/* End of the header in P[0..N): the offset after its empty line, or 0
 * when there is none yet. */
static size_t
header_end(const char *p, size_t n)
{
	if (n >= 1 && p[0] == '\n')
		return 1;
	if (n >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p)))
	    != NULL; q++) {
		size_t k = (size_t)(q - p) + 1;

		if (k < n && p[k] == '\n')
			return k + 1;
		if (k + 1 < n && p[k] == '\r' && p[k + 1] == '\n')
			return k + 2;
	}
	return 0;
}

/*
 * Read only the header of message I (up to and with its empty line),
 * CRLF line ends: for ENVELOPE, header SEARCH keys and header sections,
 * which need nothing else.  A message whose header does not end with an
 * empty line within HEADER_READ_MAX is loaded whole instead (the header
 * parser then finds where it ends).  With EXACT (the header's bytes are
 * sent) also one whose header ends earlier, at a line that is not a
 * header field (header.h), so the bytes are those mime would give.
 * 0, 1 (gone), -1.
 */
static int
hdr_noop_cb(void *ctx, const struct header_field *f)
{
	return 0;
}

static int
load_header(struct imapd_session *s, size_t i, struct loaded *l,
    bool exact)
{
	char chunk[8192];
	struct buf raw;
	const char *error;
	size_t end = 0;
	int fd, r;

	r = mailstore_msg_open(s->folder, i, &fd, &error);
	if (r < 0)
		log_warning("user=%s: open message: %s", s->user, error);
	if (r != 0)
		return r;
	buf_init(&raw, 0);
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		buf_append(&raw, chunk, (size_t)got);
		/* From the start again: the empty line may straddle two
		 * reads (headers above 8 KiB are rare). */
		end = header_end(raw.data, raw.len);
		if (end > 0)
			break;
		if (raw.len > HEADER_READ_MAX)
			break;
	}
	close(fd);
	if (end > 0 && exact) {
		size_t body = end;

		if (header_parse_message(raw.data, end, 0, hdr_noop_cb, NULL,
		    &body, &error) != 0 || body != end)
			end = 0;
	}
	if (end == 0) {
		buf_release(&raw);
		return load(s, i, l);
	}
	buf_init(&l->text, 0);
	append_crlf(&l->text, raw.data, end);
	buf_release(&raw);
	l->mime = NULL;
	l->hdr_only = true;
	memset(&l->hdr_part, 0, sizeof(l->hdr_part));
	l->hdr_part.hdr_len = l->text.len;
	l->hdr_part.body_off = l->text.len;
	return 0;
}

static const struct mime_part *
mime_of(struct loaded *l)
{
	if (l->hdr_only)
		return &l->hdr_part;
	if (l->mime == NULL)
		l->mime = mime_parse(l->text.data, l->text.len, NULL);
	return l->mime;
}

static void
unload(struct loaded *l)
{
	buf_release(&l->text);
	mime_free(l->mime);
	l->mime = NULL;
	l->hdr_only = false;
}

static void
literal(struct buf *out, const char *p, size_t n)
{
	buf_printf(out, "{%zu}\r\n", n);
	buf_append(out, p, n);
}

static void
internaldate(struct buf *out, time_t t)
{
	struct tm tm;
	char text[64];

	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%d-%b-%Y %H:%M:%S +0000", &tm);
	buf_printf(out, "\"%s\"", text);
}

/* The text of section B of message L (pointer into L or into TMP). */
static void
section_text(struct loaded *l, const struct imap_fetch_body *b,
    struct buf *tmp, const char **p_r, size_t *n_r)
{
	const struct imap_section *sec = &b->section;
	const struct mime_part *top = mime_of(l), *p, *m;
	const char *msg = l->text.data;

	*p_r = "";
	*n_r = 0;
	p = mime_part_find(top, sec->part, sec->n_part);
	if (p == NULL)
		return;
	switch (sec->kind) {
	case IMAP_SECTION_ALL:
		if (sec->n_part == 0) {
			*p_r = msg;
			*n_r = l->text.len;
		} else {
			*p_r = msg + p->body_off;
			*n_r = p->body_len;
		}
		return;
	case IMAP_SECTION_MIME:
		*p_r = msg + p->hdr_off;
		*n_r = p->hdr_len;
		return;
	default:
		break;
	}
	m = mime_part_message(p, sec->n_part == 0);
	if (m == NULL)
		return;
	if (sec->kind == IMAP_SECTION_HEADER) {
		*p_r = msg + m->hdr_off;
		*n_r = m->hdr_len;
	} else if (sec->kind == IMAP_SECTION_TEXT) {
		*p_r = msg + m->body_off;
		*n_r = m->body_len;
	} else {
		buf_reset(tmp);
		mime_header_filter(msg + m->hdr_off, m->hdr_len,
		    sec->fields->v, sec->fields->n,
		    sec->kind == IMAP_SECTION_HEADER_FIELDS, tmp);
		*p_r = tmp->data;
		*n_r = tmp->len;
	}
}

/*
 * The imapd_hcache key of the selected folder (malloc'ed), or NULL: its
 * directory and the inode and birth time of its cur/, so that a folder
 * deleted and made again (by any process) is another folder even when
 * its UIDVALIDITY comes out the same (mailstore takes it from the clock)
 * and the file system hands out the same inode again.
 */
static char *
folder_dir(struct imapd_session *s)
{
	struct buf b;
	struct statx stx;
	char *dir = NULL;
	size_t len;

	buf_init(&b, 0);
	if (imapd_folder_path(s, &b) == 0) {
		len = b.len;
		buf_append_str(&b, "/cur");
		if (statx(AT_FDCWD, b.data, 0, STATX_INO | STATX_BTIME,
		    &stx) == 0) {
			buf_truncate(&b, len);
			buf_printf(&b, "\n%llu:%llu:%lld.%u",
			    (unsigned long long)stx.stx_dev_major << 32 |
			    stx.stx_dev_minor, (unsigned long long)stx.stx_ino,
			    (stx.stx_mask & STATX_BTIME) ?
			    (long long)stx.stx_btime.tv_sec : 0LL,
			    (stx.stx_mask & STATX_BTIME) ?
			    stx.stx_btime.tv_nsec : 0u);
			dir = buf_detach(&b, NULL);
		}
	}
	buf_release(&b);
	return dir;
}

static void
fetch_one(struct imapd_session *s, struct imapd_fetch_job *job, size_t i)
{
	const struct imap_fetch *f = &job->f;
	const struct mailstore_msg *m = mailstore_folder_msg(s->folder, i);
	unsigned items = f->items;
	bool need_text = (items & (IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY |
	    IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_RFC822 |
	    IMAP_FETCH_RFC822_HEADER | IMAP_FETCH_RFC822_TEXT)) ||
	    f->n_bodies > 0;
	bool set_seen = false, flags_out = (items & IMAP_FETCH_FLAGS) != 0;
	struct loaded l = { .mime = NULL };
	struct imapd_hcache_env cenv;
	struct imap_envelope penv;
	bool have_cenv = false, have_penv = false;
	const char *error;
	struct buf out, tmp;

	if (m->expunged)
		return;
	if (!s->readonly && !(m->flags & MAILSTORE_SEEN)) {
		if (items & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT))
			set_seen = true;
		for (size_t k = 0; k < f->n_bodies; k++)
			if (!f->bodies[k].peek)
				set_seen = true;
	}
	/* ENVELOPE alone needs no message file once it is cached. */
	if (need_text && (items & (IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE |
	    IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_HEADER |
	    IMAP_FETCH_RFC822_TEXT)) == 0 && f->n_bodies == 0 &&
	    job->dir != NULL) {
		uint32_t uv = mailstore_folder_uidvalidity(s->folder);

		need_text = false;
		if (imapd_hcache_get(job->dir, uv, m->uid, &cenv))
			have_cenv = true;
		else {
			if (load_header(s, i, &l, false) != 0)
				return;
			imap_envelope_parse(l.text.data, mime_of(&l)->hdr_len,
			    &penv);
			have_penv = true;
			imapd_hcache_put(job->dir, uv, m->uid, &penv);
		}
	}
	if (need_text) {
		bool hdr_only = !(items & (IMAP_FETCH_BODY |
		    IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_RFC822 |
		    IMAP_FETCH_RFC822_TEXT));
		bool exact = (items & IMAP_FETCH_RFC822_HEADER) != 0;

		for (size_t k = 0; hdr_only && k < f->n_bodies; k++) {
			const struct imap_section *sec = &f->bodies[k].section;

			if (sec->n_part != 0 || (sec->kind !=
			    IMAP_SECTION_HEADER && sec->kind !=
			    IMAP_SECTION_HEADER_FIELDS && sec->kind !=
			    IMAP_SECTION_HEADER_FIELDS_NOT))
				hdr_only = false;
			exact = true;
		}
		if ((hdr_only ? load_header(s, i, &l, exact) :
		    load(s, i, &l)) != 0)
			return;
	}
	if (set_seen) {
		if (mailstore_msg_set_flags(s->folder, i,
		    m->flags | MAILSTORE_SEEN, m->keywords, &error) < 0)
			log_warning("user=%s: set \\Seen: %s", s->user, error);
		m = mailstore_folder_msg(s->folder, i);
		flags_out = true;
	}
	buf_init(&out, 0);
	buf_init(&tmp, 0);
	buf_printf(&out, "* %zu FETCH (", i + 1);
#define SEP() do { if (out.data[out.len - 1] != '(') \
	buf_append_char(&out, ' '); } while (0)
	if (items & IMAP_FETCH_UID)
		buf_printf(&out, "UID %u", m->uid);
	if (flags_out) {
		SEP();
		buf_append_str(&out, "FLAGS ");
		imapd_render_flags(s, i, &out);
	}
	if (items & IMAP_FETCH_INTERNALDATE) {
		time_t t = 0;

		(void)mailstore_msg_date(s->folder, i, &t, &error);
		SEP();
		buf_append_str(&out, "INTERNALDATE ");
		internaldate(&out, t);
	}
	if (items & IMAP_FETCH_RFC822_SIZE) {
		uint64_t size = 0;

		(void)mailstore_msg_vsize(s->folder, i, &size, &error);
		SEP();
		buf_printf(&out, "RFC822.SIZE %llu", (unsigned long long)size);
	}
	if (items & IMAP_FETCH_ENVELOPE) {
		SEP();
		buf_append_str(&out, "ENVELOPE ");
		if (have_cenv)
			imap_render_envelope_fields(&out, cenv.v);
		else if (have_penv)
			imap_render_envelope_fields(&out,
			    (const char *const *)penv.v);
		else
			imap_render_envelope(&out, l.text.data, mime_of(&l));
	}
	if (items & IMAP_FETCH_BODY) {
		SEP();
		buf_append_str(&out, "BODY ");
		imap_render_body(&out, l.text.data, mime_of(&l), false);
	}
	if (items & IMAP_FETCH_BODYSTRUCTURE) {
		SEP();
		buf_append_str(&out, "BODYSTRUCTURE ");
		imap_render_body(&out, l.text.data, mime_of(&l), true);
	}
	if (items & IMAP_FETCH_RFC822) {
		SEP();
		buf_append_str(&out, "RFC822 ");
		literal(&out, l.text.data, l.text.len);
	}
	if (items & IMAP_FETCH_RFC822_HEADER) {
		const struct mime_part *top = mime_of(&l);

		SEP();
		buf_append_str(&out, "RFC822.HEADER ");
		literal(&out, l.text.data + top->hdr_off, top->hdr_len);
	}
	if (items & IMAP_FETCH_RFC822_TEXT) {
		const struct mime_part *top = mime_of(&l);

		SEP();
		buf_append_str(&out, "RFC822.TEXT ");
		literal(&out, l.text.data + top->body_off, top->body_len);
	}
	for (size_t k = 0; k < f->n_bodies; k++) {
		const struct imap_fetch_body *b = &f->bodies[k];
		const char *p;
		size_t n;

		section_text(&l, b, &tmp, &p, &n);
		SEP();
		buf_printf(&out, "BODY[%s]", b->spec);
		if (b->partial) {
			size_t off = b->offset < n ? b->offset : n;
			size_t cnt = n - off < b->count ? n - off : b->count;

			buf_printf(&out, "<%u> ", b->offset);
			literal(&out, p + off, cnt);
		} else {
			buf_append_char(&out, ' ');
			literal(&out, p, n);
		}
	}
#undef SEP
	buf_append_str(&out, ")\r\n");
	imapd_write(s, out.data, out.len);
	buf_release(&out);
	buf_release(&tmp);
	if (have_penv)
		imap_envelope_release(&penv);
	unload(&l);
}

void
imapd_fetch_release(struct imapd_session *s)
{
	struct imapd_fetch_job *job = s->job;

	if (job == NULL)
		return;
	imap_fetch_free(&job->f);
	free(job->idx);
	free(job->tag);
	free(job->dir);
	free(job);
	s->job = NULL;
	s->job_active = false;
}

void
imapd_fetch_resume(struct imapd_session *s)
{
	struct imapd_fetch_job *job = s->job;

	if (job == NULL)
		return;
	while (job->pos < job->n && !imapd_output_full(s))
		fetch_one(s, job, job->idx[job->pos++]);
	if (job->pos < job->n)
		return;		/* write_cb calls again */
	/*
	 * No look at the disk after FETCH and SEARCH (as Dovecot's "fast"
	 * sync after them): a rescan of a large folder whose directories
	 * changed in the last seconds costs more than the command, and the
	 * news comes with the next NOOP, IDLE or other command.
	 */
	imapd_printf(s, "%s OK Fetch completed.\r\n", job->tag);
	imapd_fetch_release(s);
}

void
imapd_cmd_fetch(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n)
{
	struct imapd_fetch_job *job;
	struct imap_seqset set;
	const char *error;

	if (n != 2 || args[0].type != IMAP_ARG_ATOM) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (imap_seqset_parse(args[0].s, &set, &error) < 0) {
		imapd_printf(s, "%s BAD %s.\r\n", tag, error);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	if (imap_fetch_parse(&args[1], &job->f, &error) < 0) {
		imapd_printf(s, "%s BAD %s.\r\n", tag, error);
		imap_seqset_free(&set);
		free(job);
		return;
	}
	if (uid)
		job->f.items |= IMAP_FETCH_UID;
	job->uid = uid;
	job->tag = xstrdup(tag);
	job->dir = folder_dir(s);
	job->n = imapd_resolve_set(s, &set, uid, &job->idx);
	imap_seqset_free(&set);
	s->job = job;
	s->job_active = true;
	imapd_fetch_resume(s);
}

/*
 * STORE
 */
void
imapd_cmd_store(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n)
{
	struct imap_seqset set;
	struct strlist kw;
	const char *error, *item;
	unsigned flags, mode;	/* 0 replace, 1 add, 2 remove */
	bool silent;
	uint32_t kwbits = 0;
	size_t *idx, count;
	struct imap_arg list;
	struct buf b;

	if (n < 3 || args[0].type != IMAP_ARG_ATOM ||
	    args[1].type != IMAP_ARG_ATOM) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	item = args[1].s;
	mode = item[0] == '+' ? 1 : item[0] == '-' ? 2 : 0;
	if (mode != 0)
		item++;
	if (str_casecmp(item, "FLAGS") == 0)
		silent = false;
	else if (str_casecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else {
		imapd_printf(s, "%s BAD Invalid STORE item.\r\n", tag);
		return;
	}
	/* The flags: one list, or (RFC 3501 9 store-att-flags) atoms. */
	if (n == 3 && args[2].type == IMAP_ARG_LIST)
		list = args[2];
	else {
		list.type = IMAP_ARG_LIST;
		list.list = (struct imap_arg *)&args[2];
		list.n = n - 2;
	}
	strlist_init(&kw);
	if (imapd_parse_flags(&list, &flags, &kw) < 0) {
		strlist_release(&kw);
		imapd_printf(s, "%s BAD Invalid flags.\r\n", tag);
		return;
	}
	if (s->readonly) {
		strlist_release(&kw);
		imapd_printf(s, "%s NO [READ-ONLY] Mailbox is read-only.\r\n",
		    tag);
		return;
	}
	for (size_t k = 0; k < kw.n; k++) {
		int bit = mode == 2 ?
		    mailstore_folder_keyword_find(s->folder, kw.v[k]) :
		    mailstore_folder_keyword_add(s->folder, kw.v[k], &error);

		if (bit < 0 && mode != 2) {
			strlist_release(&kw);
			imapd_printf(s, "%s NO [LIMIT] Too many keywords.\r\n",
			    tag);
			return;
		}
		if (bit >= 0)
			kwbits |= 1u << bit;
	}
	strlist_release(&kw);
	if (imap_seqset_parse(args[0].s, &set, &error) < 0) {
		imapd_printf(s, "%s BAD %s.\r\n", tag, error);
		return;
	}
	count = imapd_resolve_set(s, &set, uid, &idx);
	imap_seqset_free(&set);
	buf_init(&b, 0);
	for (size_t k = 0; k < count; k++) {
		size_t i = idx[k];
		const struct mailstore_msg *m = mailstore_folder_msg(s->folder,
		    i);
		unsigned nf = m->flags & MAILSTORE_FLAGS_STORED;
		uint32_t nk = m->keywords;

		if (m->expunged)
			continue;
		if (mode == 0) {
			nf = flags;
			nk = kwbits;
		} else if (mode == 1) {
			nf |= flags;
			nk |= kwbits;
		} else {
			nf &= ~flags;
			nk &= ~kwbits;
		}
		if (mailstore_msg_set_flags(s->folder, i, nf, nk, &error) < 0) {
			log_warning("user=%s: store: %s", s->user, error);
			continue;
		}
		if (silent)
			continue;
		buf_reset(&b);
		imapd_render_flags(s, i, &b);
		if (uid)
			imapd_printf(s, "* %zu FETCH (UID %u FLAGS %s)\r\n",
			    i + 1, mailstore_folder_msg(s->folder, i)->uid,
			    b.data);
		else
			imapd_printf(s, "* %zu FETCH (FLAGS %s)\r\n", i + 1,
			    b.data);
	}
	buf_release(&b);
	free(idx);
	imapd_report_updates(s, uid ? 0 : MAILSTORE_SYNC_KEEP_EXPUNGED);
	imapd_printf(s, "%s OK Store completed.\r\n", tag);
}

/*
 * SEARCH
 */
struct sctx {
	struct imapd_session *s;
	size_t i, count;
	uint32_t max_uid;
	char *dir;		/* the folder's directory (imapd_hcache) */
	uint32_t uidvalidity;
	int level;		/* of L: 0 nothing, 1 header only, 2 whole */
	int status;		/* of the last load: 0, 1 gone, -1 */
	struct loaded l;
};

static bool
ci_contains(const char *h, size_t hn, const char *needle)
{
	size_t nn = strlen(needle);

	if (nn == 0)
		return true;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t k = 0;

		while (k < nn) {
			unsigned char a = (unsigned char)h[i + k];
			unsigned char b = (unsigned char)needle[k];

			if (a >= 'A' && a <= 'Z')
				a = (unsigned char)(a - 'A' + 'a');
			if (b >= 'A' && b <= 'Z')
				b = (unsigned char)(b - 'A' + 'a');
			if (a != b)
				break;
			k++;
		}
		if (k == nn)
			return true;
	}
	return false;
}

/* Message C->i whole (BODY, TEXT). */
static struct loaded *
sload(struct sctx *c)
{
	if (c->level == 1 && c->status == 0)
		unload(&c->l);
	if (c->level < 2) {
		c->level = 2;
		c->status = load(c->s, c->i, &c->l);
	}
	return c->status == 0 ? &c->l : NULL;
}

/* At least the header of message C->i (header keys, SENT*). */
static struct loaded *
sload_hdr(struct sctx *c)
{
	if (c->level == 0) {
		c->level = 1;
		c->status = load_header(c->s, c->i, &c->l, false);
	}
	return c->status == 0 ? &c->l : NULL;
}

struct hsearch {
	const char *field;	/* NULL: any field */
	const char *needle;
	bool found;
};

static int
hsearch_cb(void *ctx, const struct header_field *f)
{
	struct hsearch *h = ctx;
	struct buf un, dec;

	if (h->field != NULL && !header_field_is(f, h->field))
		return 0;
	if (h->needle[0] == '\0') {
		h->found = true;
		return 1;
	}
	buf_init(&un, 0);
	buf_init(&dec, 0);
	header_unfold(f->value, f->value_len, true, &un);
	header_decode_2047(un.data, un.len, &dec);
	if (ci_contains(dec.data, dec.len, h->needle) ||
	    (h->field == NULL && ci_contains(f->name, f->name_len,
	    h->needle)))
		h->found = true;
	buf_release(&un);
	buf_release(&dec);
	return h->found ? 1 : 0;
}

/*
 * The ENVELOPE fields of message C->i from imapd_hcache (read from the
 * header and stored there first when missing).  False when the message
 * is gone.
 */
static bool
cached_env(struct sctx *c, struct imapd_hcache_env *env)
{
	uint32_t uid = mailstore_folder_msg(c->s->folder, c->i)->uid;
	struct imap_envelope e;
	struct loaded *l;

	if (c->dir == NULL)
		return false;
	if (imapd_hcache_get(c->dir, c->uidvalidity, uid, env))
		return true;
	if ((l = sload_hdr(c)) == NULL)
		return false;
	imap_envelope_parse(l->text.data, mime_of(l)->hdr_len, &e);
	imapd_hcache_put(c->dir, c->uidvalidity, uid, &e);
	imap_envelope_release(&e);
	return imapd_hcache_get(c->dir, c->uidvalidity, uid, env);
}

static bool
header_has(struct sctx *c, const char *field, const char *needle)
{
	struct loaded *l;
	struct hsearch h = { field, needle, false };
	const struct mime_part *top;
	size_t body;
	const char *error;
	int k = field != NULL ? imap_envelope_field(field) : -1;
	struct imapd_hcache_env env;

	/* An ENVELOPE field that occurs once: its cached value will do. */
	if (k >= 0 && cached_env(c, &env) && !(env.dup & (1u << k))) {
		const char *v = env.v[k];
		struct buf dec;
		bool hit;

		if (v == NULL)
			return false;
		if (needle[0] == '\0')
			return true;
		buf_init(&dec, 0);
		header_decode_2047(v, strlen(v), &dec);
		hit = ci_contains(dec.data, dec.len, needle);
		buf_release(&dec);
		return hit;
	}
	if ((l = sload_hdr(c)) == NULL)
		return false;
	top = mime_of(l);
	(void)header_parse_message(l->text.data, top->hdr_len, 0, hsearch_cb,
	    &h, &body, &error);
	return h.found;
}

/* A leaf text part in base64 or quoted-printable below P? */
static bool
has_encoded_text(const struct mime_part *p)
{
	if (p->n_kids > 0) {
		for (size_t i = 0; i < p->n_kids; i++)
			if (has_encoded_text(&p->kids[i]))
				return true;
		return false;
	}
	return p->type != NULL && strcmp(p->type, "text") == 0 &&
	    p->encoding != NULL && (strcmp(p->encoding, "base64") == 0 ||
	    strcmp(p->encoding, "quoted-printable") == 0);
}

static void
text_cb(void *ctx, const char *text, size_t len)
{
	struct buf *b = ctx;

	buf_append(b, text, len);
	buf_append_char(b, '\n');
}

static void
nop_header_cb(void *ctx, enum mime_stream_class cls, const char *hdr,
    size_t len, unsigned flags)
{
}

static void
nop_header_end_cb(void *ctx, enum mime_stream_class cls,
    enum mime_stream_end how)
{
}

static void
nop_line_cb(void *ctx, enum mime_stream_line kind, const char *line,
    size_t len, size_t eol_len, bool check)
{
}

/*
 * BODY (and the body half of TEXT): the raw body, then - when that does
 * not match - the decoded text of the text parts in base64 or
 * quoted-printable (as the client sees them once decoded; the charset
 * is not converted).  Lines of decoded text are joined by LF.
 */
static bool
body_has(struct sctx *c, const char *needle)
{
	struct loaded *l = sload(c);
	const struct mime_part *top;
	struct mime_stream_opts o;
	struct mime_stream_callbacks cb = { nop_header_cb, nop_header_end_cb,
		nop_line_cb, text_cb };
	struct mime_stream *ms;
	struct buf text;
	bool hit;

	if (l == NULL)
		return false;
	top = mime_of(l);
	if (ci_contains(l->text.data + top->body_off, top->body_len, needle))
		return true;
	if (!has_encoded_text(top))
		return false;
	mime_stream_opts_default(&o);
	o.body_limit = 0;	/* the whole of every part */
	buf_init(&text, 0);
	ms = mime_stream_new(&o, &cb, &text);
	mime_stream_feed(ms, l->text.data, l->text.len);
	mime_stream_finish(ms);
	mime_stream_free(ms);
	hit = ci_contains(text.data, text.len, needle);
	buf_release(&text);
	return hit;
}

struct dsearch {
	char *date;
};

static int
date_cb(void *ctx, const struct header_field *f)
{
	struct dsearch *d = ctx;
	struct buf b;

	if (!header_field_is(f, "Date"))
		return 0;
	buf_init(&b, 1024);
	header_unfold(f->value, f->value_len, true, &b);
	d->date = buf_detach(&b, NULL);
	buf_release(&b);
	return 1;
}

/* Days since 1970 of the Date: header (RFC 5322 3.3), or -1. */
static int64_t
sent_days(struct sctx *c)
{
	struct loaded *l = sload_hdr(c);
	struct dsearch d = { NULL };
	size_t body;
	const char *error, *p;
	char day[3], mon[4], year[5], text[32];
	int64_t days = -1;
	int n = 0;

	if (l == NULL)
		return -1;
	(void)header_parse_message(l->text.data, mime_of(l)->hdr_len, 0,
	    date_cb, &d, &body, &error);
	if (d.date == NULL)
		return -1;
	p = d.date;
	if (strchr(p, ',') != NULL)
		p = strchr(p, ',') + 1;
	while (*p == ' ')
		p++;
	if (sscanf(p, "%2[0-9] %3[A-Za-z] %4[0-9]%n", day, mon, year, &n) == 3) {
		if (strlen(year) == 2) {
			int y = (year[0] - '0') * 10 + (year[1] - '0');

			snprintf(text, sizeof(text), "%s-%s-%d", day, mon,
			    y < 50 ? 2000 + y : 1900 + y);
		} else
			snprintf(text, sizeof(text), "%s-%s-%s", day, mon,
			    year);
		if (imap_date_parse(text, &days, &error) < 0)
			days = -1;
	}
	free(d.date);
	return days;
}

static bool
has_flag(struct sctx *c, const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} sys[] = {
		{ "\\Seen", MAILSTORE_SEEN },
		{ "\\Answered", MAILSTORE_ANSWERED },
		{ "\\Flagged", MAILSTORE_FLAGGED },
		{ "\\Deleted", MAILSTORE_DELETED },
		{ "\\Draft", MAILSTORE_DRAFT },
		{ "\\Recent", MAILSTORE_RECENT },
		{ "$Forwarded", MAILSTORE_PASSED },
	};
	const struct mailstore_msg *m = mailstore_folder_msg(c->s->folder,
	    c->i);
	int k;

	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (str_casecmp(name, sys[i].name) == 0)
			return (m->flags & sys[i].bit) != 0;
	k = mailstore_folder_keyword_find(c->s->folder, name);
	return k >= 0 && (m->keywords & (1u << k)) != 0;
}

static bool
eval(struct sctx *c, const struct imap_search *q)
{
	const struct mailstore_msg *m = mailstore_folder_msg(c->s->folder,
	    c->i);
	const char *error;
	time_t t = 0;
	uint64_t size = 0;
	int64_t d;

	switch (q->op) {
	case IMAP_SEARCH_AND:
		for (size_t k = 0; k < q->n_kids; k++)
			if (!eval(c, q->kids[k]))
				return false;
		return true;
	case IMAP_SEARCH_OR:
		return eval(c, q->kids[0]) || eval(c, q->kids[1]);
	case IMAP_SEARCH_NOT:
		return !eval(c, q->kids[0]);
	case IMAP_SEARCH_ALL:
		return true;
	case IMAP_SEARCH_SEQSET:
		return imap_seqset_contains(&q->seq, (uint32_t)(c->i + 1),
		    (uint32_t)c->count);
	case IMAP_SEARCH_UID:
		return imap_seqset_contains(&q->seq, m->uid, c->max_uid);
	case IMAP_SEARCH_FLAG:
		return has_flag(c, q->str);
	case IMAP_SEARCH_UNFLAG:
		return !has_flag(c, q->str);
	case IMAP_SEARCH_NEW:
		return (m->flags & MAILSTORE_RECENT) &&
		    !(m->flags & MAILSTORE_SEEN);
	case IMAP_SEARCH_OLD:
		return !(m->flags & MAILSTORE_RECENT);
	case IMAP_SEARCH_RECENT:
		return (m->flags & MAILSTORE_RECENT) != 0;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		(void)mailstore_msg_date(c->s->folder, c->i, &t, &error);
		d = (int64_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
		goto compare;
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		d = sent_days(c);
		if (d < 0) {
			(void)mailstore_msg_date(c->s->folder, c->i, &t,
			    &error);
			d = (int64_t)(t / 86400);
		}
	compare:
		if (q->op == IMAP_SEARCH_BEFORE ||
		    q->op == IMAP_SEARCH_SENTBEFORE)
			return d < q->num;
		if (q->op == IMAP_SEARCH_ON || q->op == IMAP_SEARCH_SENTON)
			return d == q->num;
		return d >= q->num;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		(void)mailstore_msg_vsize(c->s->folder, c->i, &size, &error);
		return q->op == IMAP_SEARCH_LARGER ?
		    size > (uint64_t)q->num : size < (uint64_t)q->num;
	case IMAP_SEARCH_HEADER:
		return header_has(c, q->field, q->str);
	case IMAP_SEARCH_BODY:
		return body_has(c, q->str);
	case IMAP_SEARCH_TEXT:
		return header_has(c, NULL, q->str) || body_has(c, q->str);
	}
	return false;
}

void
imapd_cmd_search(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n)
{
	struct imap_search *q;
	const char *error;
	bool esearch = false;
	unsigned ret_min = 0, ret_max = 0, ret_count = 0, ret_all = 0;
	struct sctx c;
	struct buf b;
	uint32_t *hits;
	size_t nh = 0;

	/* RFC 4731: RETURN (MIN MAX COUNT ALL) */
	if (n >= 2 && args[0].type == IMAP_ARG_ATOM &&
	    str_casecmp(args[0].s, "RETURN") == 0 &&
	    args[1].type == IMAP_ARG_LIST) {
		esearch = true;
		for (size_t k = 0; k < args[1].n; k++) {
			const char *o = args[1].list[k].type == IMAP_ARG_ATOM ?
			    args[1].list[k].s : "";

			if (str_casecmp(o, "MIN") == 0)
				ret_min = 1;
			else if (str_casecmp(o, "MAX") == 0)
				ret_max = 1;
			else if (str_casecmp(o, "COUNT") == 0)
				ret_count = 1;
			else if (str_casecmp(o, "ALL") == 0)
				ret_all = 1;
			else {
				imapd_printf(s, "%s BAD Invalid RETURN option."
				    "\r\n", tag);
				return;
			}
		}
		if (args[1].n == 0)
			ret_all = 1;
		args += 2;
		n -= 2;
	}
	if (n >= 2 && args[0].type == IMAP_ARG_ATOM &&
	    str_casecmp(args[0].s, "CHARSET") == 0) {
		if (!imap_arg_is_cstring(&args[1]) ||
		    (str_casecmp(args[1].s, "UTF-8") != 0 &&
		    str_casecmp(args[1].s, "US-ASCII") != 0)) {
			imapd_printf(s, "%s NO [BADCHARSET (UTF-8 US-ASCII)] "
			    "Unsupported charset.\r\n", tag);
			return;
		}
		args += 2;
		n -= 2;
	}
	q = imap_search_parse(args, n, &error);
	if (q == NULL) {
		imapd_printf(s, "%s BAD %s.\r\n", tag, error);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.dir = folder_dir(s);
	c.uidvalidity = mailstore_folder_uidvalidity(s->folder);
	c.count = mailstore_folder_count(s->folder);
	c.max_uid = c.count > 0 ?
	    mailstore_folder_msg(s->folder, c.count - 1)->uid : 0;
	hits = xcalloc(c.count > 0 ? c.count : 1, sizeof(*hits));
	for (size_t i = 0; i < c.count; i++) {
		const struct mailstore_msg *m = mailstore_folder_msg(s->folder,
		    i);
		bool hit;

		if (m->expunged)
			continue;
		c.i = i;
		c.level = 0;
		hit = eval(&c, q);
		if (c.level > 0 && c.status == 0)
			unload(&c.l);
		if (hit)
			hits[nh++] = uid ? m->uid : (uint32_t)(i + 1);
	}
	imap_search_free(q);
	free(c.dir);
	buf_init(&b, 0);
	if (esearch) {
		buf_printf(&b, "* ESEARCH (TAG \"%s\")%s", tag,
		    uid ? " UID" : "");
		if (nh > 0 && ret_min)
			buf_printf(&b, " MIN %u", hits[0]);
		if (nh > 0 && ret_max)
			buf_printf(&b, " MAX %u", hits[nh - 1]);
		if (ret_count)
			buf_printf(&b, " COUNT %zu", nh);
		if (nh > 0 && ret_all) {
			buf_append_str(&b, " ALL ");
			for (size_t i = 0; i < nh;) {
				size_t j = i;

				while (j + 1 < nh && hits[j + 1] == hits[j] + 1)
					j++;
				buf_printf(&b, "%s%u", i > 0 ? "," : "",
				    hits[i]);
				if (j > i)
					buf_printf(&b, ":%u", hits[j]);
				i = j + 1;
			}
		}
	} else {
		buf_append_str(&b, "* SEARCH");
		for (size_t i = 0; i < nh; i++)
			buf_printf(&b, " %u", hits[i]);
	}
	buf_append_str(&b, "\r\n");
	imapd_write(s, b.data, b.len);
	buf_release(&b);
	free(hits);
	/* No disk sync here: see imapd_fetch_resume. */
	imapd_printf(s, "%s OK Search completed.\r\n", tag);
}
