/*
 * dsn - RFC 3464 delivery status notifications; see dsn.h.
 *
 * Distrusts every string it is given (addresses and ENVID from a remote
 * client, reasons quoting a remote server) and the original message
 * itself: control characters never reach a header line or status field
 * we write, texts are capped so no line we write exceeds RFC 5322's 998
 * octets, and the MIME boundary is checked against every part.
 */
#include "dsn.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"
#include "rfc822_build.h"
#include "smtp_addr.h"
#include "str.h"

/* Longest text (reason, address, ENVID) we put into one field. */
#define DSN_TEXT_MAX 900
/* Where we fold text lines and status fields. */
#define DSN_WIDTH 76
/* Header bytes returned when there is no size limit. */
#define DSN_HEADERS_MAX (4u * 1024 * 1024)
#define DSN_CHUNK 65536

static const char *const actions[] = { "failed", "delayed", "delivered",
	"relayed", "expanded" };

int
dsn_action_kind(const char *action)
{
	if (action == NULL)
		return -1;
	if (strcmp(action, "failed") == 0)
		return DSN_KIND_FAILURE;
	if (strcmp(action, "delayed") == 0)
		return DSN_KIND_DELAY;
	for (size_t i = 2; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(action, actions[i]) == 0)
			return DSN_KIND_SUCCESS;
	return -1;
}

bool
dsn_notify_wants(unsigned notify, const char *action)
{
	int kind = dsn_action_kind(action);

	if (kind < 0 || (notify & QUEUE_NOTIFY_NEVER) != 0)
		return false;
	switch (kind) {
	case DSN_KIND_FAILURE:
		return notify == 0 || (notify & QUEUE_NOTIFY_FAILURE) != 0;
	case DSN_KIND_DELAY:
		return notify == 0 || (notify & QUEUE_NOTIFY_DELAY) != 0;
	default:
		/* RFC 3461 4.1: no success notice unless asked for. */
		return (notify & QUEUE_NOTIFY_SUCCESS) != 0;
	}
}

bool
dsn_remote_reply(const char *reason, struct buf *mta, struct buf *diag)
{
	const char *name, *lb, *said, *text, *end, *tail;

	if (reason == NULL || !str_has_prefix(reason, "host "))
		return false;
	name = reason + 5;
	lb = strchr(name, '[');
	if (lb == NULL || lb == name)
		return false;
	for (const char *p = name; p < lb; p++)
		if (*p == ' ')
			return false;
	said = strstr(lb, "] said: ");
	if (said == NULL)
		return false;
	text = said + 8;
	/* A reply starts with its three-digit code (RFC 5321 4.2). */
	if (!(text[0] >= '2' && text[0] <= '5' && text[1] >= '0' &&
	    text[1] <= '9' && text[2] >= '0' && text[2] <= '9' &&
	    (text[3] == ' ' || text[3] == '-' || text[3] == '\0')))
		return false;
	end = text + strlen(text);
	tail = strstr(text, " (in reply to ");
	if (tail != NULL && end[-1] == ')')
		end = tail;
	buf_append(mta, name, (size_t)(lb - name));
	buf_append(diag, text, (size_t)(end - text));
	return true;
}

int
dsn_queue_file_reader(void *ctx, uint64_t offset, void *data, size_t len,
    size_t *got_r, const char **error_r)
{
	return queue_file_read_content(ctx, offset, data, len, got_r,
	    error_r);
}

/*
 * Append S with control characters and DEL as '?', at most DSN_TEXT_MAX
 * bytes (cut text ends in "...").  CR LF sequences (multi-line replies
 * kept in a reason) become one space.
 */
static void
append_clean(struct buf *out, const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n >= DSN_TEXT_MAX) {
			buf_append_str(out, "...");
			return;
		}
		if (c == '\r' && s[1] == '\n') {
			s++;
			c = ' ';
		} else if (c < 0x20 || c == 0x7f) {
			c = c == '\n' || c == '\t' ? ' ' : '?';
		}
		buf_append_char(out, (char)c);
	}
}

/*
 * Append TEXT (clean, no line ends) wrapped at spaces so that lines stay
 * within DSN_WIDTH where words allow; COL is the column TEXT starts at,
 * continuation lines start with INDENT.  Ends without a line end.
 */
static void
append_wrapped(struct buf *out, size_t col, const char *text,
    const char *indent)
{
	const char *p = text;
	bool first = true;

	while (*p != '\0') {
		const char *w = p, *we;
		size_t sp = 0;

		while (*w == ' ') {
			w++;
			sp++;
		}
		if (*w == '\0')
			break;
		we = strchr(w, ' ');
		if (we == NULL)
			we = w + strlen(w);
		if (!first && col + sp + (size_t)(we - w) > DSN_WIDTH) {
			buf_append_str(out, "\r\n");
			buf_append_str(out, indent);
			col = strlen(indent);
		} else {
			/* Keep the spacing of the text on one line. */
			buf_append(out, p, sp);
			col += sp;
		}
		buf_append(out, w, (size_t)(we - w));
		col += (size_t)(we - w);
		first = false;
		p = we;
	}
}

/* One status field "NAME: VALUE" (VALUE clean), folded, with CRLF. */
static void
field(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, "%s: ", name);
	append_wrapped(out, strlen(name) + 2, value, "    ");
	buf_append_str(out, "\r\n");
}

/* The same with VALUE cleaned first. */
static void
field_clean(struct buf *out, const char *name, const char *prefix,
    const char *value)
{
	struct buf v;

	buf_init(&v, 0);
	buf_append_str(&v, prefix);
	append_clean(&v, value);
	field(out, name, v.data);
	buf_release(&v);
}

static void
field_date(struct buf *out, const char *name, time_t when)
{
	buf_printf(out, "%s: ", name);
	rfc822_build_date(out, when);
	buf_append_str(out, "\r\n");
}

static bool
has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80 || p[i] == '\0')
			return true;
	return false;
}

/* "3 days", "5 hours", ... for the delay text. */
static void
append_duration(struct buf *out, time_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 2 * 86400)
		buf_printf(out, "%lld days", (long long)(secs / 86400));
	else if (secs >= 2 * 3600)
		buf_printf(out, "%lld hours", (long long)(secs / 3600));
	else if (secs >= 120)
		buf_printf(out, "%lld minutes", (long long)(secs / 60));
	else
		buf_printf(out, "%lld seconds", (long long)secs);
}

/* Append paragraph TEXT (clean) wrapped, followed by an empty line. */
static void
paragraph(struct buf *out, const char *text)
{
	append_wrapped(out, 0, text, "");
	buf_append_str(out, "\r\n\r\n");
}

static const char *
subject(const struct dsn_notice *n)
{
	switch (n->kind) {
	case DSN_KIND_FAILURE:
		return n->postmaster ? "Postmaster Copy: Undelivered Mail" :
		    "Undelivered Mail Returned to Sender";
	case DSN_KIND_DELAY:
		return n->postmaster ? "Postmaster Warning: Delayed Mail" :
		    "Delayed Mail (still being retried)";
	default:
		return "Successful Mail Delivery Report";
	}
}

/* The human-readable first part. */
static void
build_text(const struct dsn_notice *n, const struct dsn_result *res,
    struct buf *out)
{
	struct buf t;

	buf_init(&t, 0);
	buf_append_str(out, "This is the mail system at host ");
	append_clean(out, n->hostname);
	buf_append_str(out, ".\r\n\r\n");
	if (n->postmaster && n->sender[0] == '\0') {
		paragraph(out, "A notice that this mail system sent (a message "
		    "with the null sender) could not be delivered to the "
		    "recipients listed below. Since a notice about a notice "
		    "is never sent back, it comes to the postmaster instead; "
		    "its headers are attached.");
	} else if (n->postmaster) {
		paragraph(out, n->kind == DSN_KIND_DELAY ?
		    "This is a copy, for the postmaster, of a delay warning "
		    "sent to the sender of the message whose headers are "
		    "attached." :
		    "This is a copy, for the postmaster, of a delivery report "
		    "sent to the sender of the message whose headers are "
		    "attached.");
	} else if (n->kind == DSN_KIND_FAILURE) {
		paragraph(out, res->returned_full ?
		    "Your message could not be delivered to one or more of "
		    "its recipients. Each of them is listed below with the "
		    "reason; the message itself is attached." :
		    "Your message could not be delivered to one or more of "
		    "its recipients. Each of them is listed below with the "
		    "reason; the headers of the message are attached.");
		paragraph(out, "If you need help, write to postmaster at this "
		    "site and include this report. You may remove your own "
		    "text from the returned message first.");
		if (res->headers_cut) {
			buf_printf(&t, "The message was larger than %llu bytes, "
			    "so only its headers are returned.",
			    (unsigned long long)n->size_limit);
			paragraph(out, t.data);
		}
	} else if (n->kind == DSN_KIND_DELAY) {
		paragraph(out, "THIS IS A WARNING ONLY. You do not need to "
		    "send your message again.");
		buf_append_str(&t, "Your message has not yet been delivered "
		    "to the recipients listed below; it has been in the "
		    "queue for ");
		append_duration(&t, n->now - n->arrival);
		buf_append_str(&t, ".");
		if (n->retry_until > 0) {
			buf_append_str(&t, " The mail system will go on trying "
			    "for another ");
			append_duration(&t, n->retry_until - n->now);
			buf_append_str(&t, "; if it has still not succeeded by "
			    "then, you will get a failure notice.");
		}
		paragraph(out, t.data);
	} else {
		paragraph(out, "Your message was delivered to the recipients "
		    "listed below, as you asked to be told.");
		paragraph(out, "Where the message went into a mailbox, no "
		    "further notice follows. Where it was passed on to a "
		    "system that does not send delivery notices, you may "
		    "still hear about a failure from elsewhere.");
	}
	buf_append_str(out, "                   The mail system\r\n");
	for (size_t i = 0; i < n->n_rcpts; i++) {
		const struct dsn_rcpt *r = &n->rcpts[i];

		buf_reset(&t);
		buf_append_char(&t, '<');
		append_clean(&t, r->address);
		buf_append_str(&t, ">: ");
		append_clean(&t, r->reason != NULL && r->reason[0] != '\0' ?
		    r->reason : r->action);
		buf_append_str(out, "\r\n");
		append_wrapped(out, 0, t.data, "    ");
		buf_append_str(out, "\r\n");
	}
	buf_release(&t);
}

/* The message/delivery-status part (RFC 3464 2.2, 2.3). */
static void
build_status(const struct dsn_notice *n, struct buf *out)
{
	struct buf mta, diag;

	buf_init(&mta, 0);
	buf_init(&diag, 0);
	field_clean(out, "Reporting-MTA", "dns; ", n->hostname);
	field_clean(out, "X-Ulak-Queue-ID", "", n->queue_id);
	field_clean(out, "X-Ulak-Sender", "rfc822; ", n->sender);
	if (n->envid != NULL && n->envid[0] != '\0')
		field_clean(out, "Original-Envelope-Id", "", n->envid);
	if (n->arrival > 0)
		field_date(out, "Arrival-Date", n->arrival);
	for (size_t i = 0; i < n->n_rcpts; i++) {
		const struct dsn_rcpt *r = &n->rcpts[i];
		bool remote;

		buf_append_str(out, "\r\n");
		field_clean(out, "Final-Recipient", "rfc822; ", r->address);
		if (r->orcpt != NULL && r->orcpt[0] != '\0' &&
		    strchr(r->orcpt, ';') != NULL)
			field_clean(out, "Original-Recipient", "", r->orcpt);
		field_clean(out, "Action", "", r->action);
		field_clean(out, "Status", "", r->status);
		buf_reset(&mta);
		buf_reset(&diag);
		remote = dsn_remote_reply(r->reason, &mta, &diag);
		if (remote) {
			field_clean(out, "Remote-MTA", "dns; ", mta.data);
			field_clean(out, "Diagnostic-Code", "smtp; ",
			    diag.data);
		} else if (r->reason != NULL && r->reason[0] != '\0') {
			field_clean(out, "Diagnostic-Code", "X-Ulak; ",
			    r->reason);
		}
		if (r->last_attempt > 0)
			field_date(out, "Last-Attempt-Date", r->last_attempt);
		if (n->kind == DSN_KIND_DELAY && n->retry_until > 0)
			field_date(out, "Will-Retry-Until", n->retry_until);
	}
	buf_release(&mta);
	buf_release(&diag);
}

/*
 * Append the original's header block (lines with their CRLF, without the
 * empty line that ends it) to OUT, at most MAX bytes cut at a line end.
 */
static int
read_headers(const struct dsn_notice *n, struct buf *out, size_t max,
    const char **error_r)
{
	char chunk[8192];
	struct buf h;
	uint64_t off = 0;
	bool ended = false;

	buf_init(&h, 0);
	while (!ended && h.len <= max) {
		size_t got, from = h.len >= 3 ? h.len - 3 : 0;
		const char *end;

		if (n->read(n->read_ctx, off, chunk, sizeof(chunk), &got,
		    error_r) < 0) {
			buf_release(&h);
			return -1;
		}
		if (got == 0)
			break;
		buf_append(&h, chunk, got);
		off += got;
		if (h.len >= 2 && memcmp(h.data, "\r\n", 2) == 0) {
			/* No header at all: the content starts with the body. */
			buf_truncate(&h, 0);
			ended = true;
		} else if ((end = memmem(h.data + from, h.len - from,
		    "\r\n\r\n", 4)) != NULL) {
			buf_truncate(&h, (size_t)(end - h.data) + 2);
			ended = true;
		}
	}
	if (h.len > max) {
		size_t cut = 0;

		for (size_t i = 0; i + 2 <= max; i++)
			if (h.data[i] == '\r' && h.data[i + 1] == '\n')
				cut = i + 2;
		buf_truncate(&h, cut);
	}
	buf_append(out, h.data, h.len);
	buf_release(&h);
	return 0;
}

/* Append the whole original content to OUT. */
static int
read_all(const struct dsn_notice *n, struct buf *out, const char **error_r)
{
	char *chunk = xmalloc(DSN_CHUNK);
	uint64_t off = 0;
	int rc = 0;

	for (;;) {
		size_t got;

		if (n->read(n->read_ctx, off, chunk, DSN_CHUNK, &got,
		    error_r) < 0) {
			rc = -1;
			break;
		}
		if (got == 0)
			break;
		buf_append(out, chunk, got);
		off += got;
	}
	free(chunk);
	return rc;
}

/* True when NEEDLE occurs in one of the N parts. */
static bool
occurs(const struct buf *const *parts, size_t np, const struct buf *needle)
{
	for (size_t i = 0; i < np; i++)
		if (memmem(parts[i]->data, parts[i]->len, needle->data,
		    needle->len) != NULL)
			return true;
	return false;
}

/*
 * A boundary (RFC 2046 5.1.1: bchars, at most 70) in the style
 * "QUEUEID.TIME/HOSTNAME" that occurs in none of the parts: a counter is
 * added until it does not.
 */
static void
choose_boundary(const struct dsn_notice *n, const struct buf *const *parts,
    size_t np, struct buf *b)
{
	for (unsigned k = 0;; k++) {
		size_t base;

		buf_reset(b);
		for (const char *p = n->queue_id; p != NULL && *p != '\0' &&
		    b->len < 24; p++)
			buf_append_char(b, ((*p >= '0' && *p <= '9') ||
			    (*p >= 'A' && *p <= 'Z')) ? *p : '_');
		buf_printf(b, ".%lld/", (long long)n->now);
		base = b->len;
		for (const char *p = n->hostname; *p != '\0' && b->len <
		    base + 30; p++) {
			char c = *p;

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-'))
				c = '_';
			buf_append_char(b, c);
		}
		if (k > 0)
			buf_printf(b, "/%u", k);
		if (!occurs(parts, np, b))
			return;
	}
}

int
dsn_build(const struct dsn_notice *n, struct buf *out,
    struct dsn_result *res_r, const char **error_r)
{
	struct buf text, status, orig, bnd, to;
	struct dsn_result res;
	bool want_full, text8, status8, orig8;
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (n->n_rcpts == 0) {
		*error_r = "no recipient to report on";
		return -1;
	}
	buf_init(&text, 0);
	buf_init(&status, 0);
	buf_init(&orig, 0);
	buf_init(&bnd, 0);
	buf_init(&to, 0);
	/* RFC 3461 4.3: RET is about failure notices; Postfix returns only
	 * the headers in delay and success notices and postmaster copies. */
	want_full = n->kind == DSN_KIND_FAILURE && !n->postmaster &&
	    n->ret != QUEUE_RET_HDRS;
	if (want_full && (n->size_limit == 0 || n->length <= n->size_limit)) {
		if (read_all(n, &orig, error_r) < 0)
			goto out;
		res.returned_full = true;
	} else {
		res.headers_cut = want_full;
		if (read_headers(n, &orig, n->size_limit > 0 &&
		    n->size_limit < DSN_HEADERS_MAX ? (size_t)n->size_limit :
		    DSN_HEADERS_MAX, error_r) < 0)
			goto out;
	}
	build_text(n, &res, &text);
	build_status(n, &status);
	text8 = has_8bit(text.data, text.len);
	status8 = has_8bit(status.data, status.len);
	orig8 = has_8bit(orig.data, orig.len);
	res.eight_bit = text8 || status8 || orig8;
	{
		const struct buf *parts[] = { &text, &status, &orig };

		choose_boundary(n, parts, 3, &bnd);
	}

	buf_append_str(out, "From: MAILER-DAEMON@");
	append_clean(out, n->hostname);
	buf_append_str(out, " (Mail Delivery System)\r\n");
	buf_printf(out, "Subject: %s\r\n", subject(n));
	if (n->to == NULL || n->to[0] == '\0')
		buf_append_str(&to, "postmaster");
	else
		smtp_addr_externalize(n->to, &to);
	buf_append_str(out, "To: ");
	append_clean(out, to.data);
	buf_append_str(out, "\r\nAuto-Submitted: auto-replied\r\n");
	buf_append_str(out, "MIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n", bnd.data);
	if (res.eight_bit)
		buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_append_str(out, "Date: ");
	rfc822_build_date(out, n->now);
	buf_append_str(out, "\r\n\r\nThis is a MIME-encapsulated message.\r\n");

	buf_printf(out, "\r\n--%s\r\nContent-Description: Notification\r\n",
	    bnd.data);
	buf_printf(out, "Content-Type: text/plain; charset=%s\r\n",
	    text8 ? "utf-8" : "us-ascii");
	if (text8)
		buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_append_str(out, "\r\n");
	buf_append(out, text.data, text.len);

	buf_printf(out, "\r\n--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n", bnd.data);
	if (status8)
		buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_append_str(out, "\r\n");
	buf_append(out, status.data, status.len);

	buf_printf(out, "\r\n--%s\r\n", bnd.data);
	if (res.returned_full)
		buf_printf(out, "Content-Description: %s\r\n"
		    "Content-Type: message/rfc822\r\n", n->kind ==
		    DSN_KIND_FAILURE ? "Undelivered Message" : "Message");
	else
		buf_printf(out, "Content-Description: %s\r\n"
		    "Content-Type: text/rfc822-headers\r\n", n->kind ==
		    DSN_KIND_FAILURE ? "Undelivered Message Headers" :
		    n->kind == DSN_KIND_DELAY ? "Delayed Message Headers" :
		    "Message Headers");
	if (orig8)
		buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_append_str(out, "\r\n");
	buf_append(out, orig.data, orig.len);
	buf_printf(out, "\r\n--%s--\r\n", bnd.data);
	*res_r = res;
	rc = 0;
out:
	buf_release(&text);
	buf_release(&status);
	buf_release(&orig);
	buf_release(&bnd);
	buf_release(&to);
	return rc;
}
