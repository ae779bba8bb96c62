/*
 * rfc822_build - the headers cleanup adds and the $myorigin completion of
 * addresses; see rfc822_build.h.
 *
 * Distrusts every string it is given: HELO names, client names and full
 * names may hold any byte, and header values may be any syntax.  Control
 * characters never reach a header we build; a header value we cannot
 * parse is left as it was.
 */
#include "rfc822_build.h"

#include <string.h>

#include "base64.h"
#include "buf.h"
#include "smtp_addr.h"
#include "str.h"

/* Append S with control characters (and DEL) replaced by '?'. */
static int
append_clean(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (buf_append_char(out, c < 0x20 || c == 0x7f ? '?' :
		    (char)c) < 0)
			return -1;
	}
	return 0;
}

/*
 * Append S for use inside a Received: comment: also '(' ')' '\' become
 * '?', so a peer's HELO cannot close our comment early.
 */
static int
append_comment_safe(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '(' || c == ')' || c == '\\')
			c = '?';
		if (buf_append_char(out, (char)c) < 0)
			return -1;
	}
	return 0;
}

int
rfc822_build_date(struct buf *out, time_t when)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;
	char sign = '+';

	if (localtime_r(&when, &tm) == NULL) {
		if (gmtime_r(&when, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		tm.tm_gmtoff = 0;
		tm.tm_zone = "UTC";
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	if (buf_printf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[(unsigned)tm.tm_wday % 7], tm.tm_mday,
	    months[(unsigned)tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, sign, off / 60, off % 60) < 0)
		return -1;
	if (tm.tm_zone != NULL && tm.tm_zone[0] != '\0') {
		if (buf_append_str(out, " (") < 0 ||
		    append_comment_safe(out, tm.tm_zone) < 0 ||
		    buf_append_char(out, ')') < 0)
			return -1;
	}
	return 0;
}

int
rfc822_build_received(struct buf *out, const struct rfc822_received *r)
{
	size_t start = out->len;

	if (buf_append_str(out, "Received: ") < 0)
		goto fail;
	if (r->local) {
		if (buf_append_str(out, "by ") < 0 ||
		    append_clean(out, r->hostname) < 0 ||
		    buf_append_str(out, " (ulak") < 0)
			goto fail;
		if (r->uid >= 0 &&
		    buf_printf(out, ", from userid %ld", r->uid) < 0)
			goto fail;
		if (buf_append_str(out, ")\r\n\tid ") < 0 ||
		    append_clean(out, r->queue_id) < 0)
			goto fail;
	} else {
		const char *name = r->client_name != NULL &&
		    r->client_name[0] != '\0' ? r->client_name : "unknown";
		const char *helo = r->helo != NULL && r->helo[0] != '\0' ?
		    r->helo : name;
		const char *addr = r->client_addr != NULL ? r->client_addr : "";

		if (buf_append_str(out, "from ") < 0 ||
		    append_comment_safe(out, helo) < 0 ||
		    buf_append_str(out, " (") < 0 ||
		    append_comment_safe(out, name) < 0 ||
		    buf_append_str(out, " [") < 0)
			goto fail;
		if (strchr(addr, ':') != NULL &&
		    !str_has_prefix_nocase(addr, "IPv6:") &&
		    buf_append_str(out, "IPv6:") < 0)
			goto fail;
		if (append_comment_safe(out, addr) < 0 ||
		    buf_append_str(out, "])\r\n\tby ") < 0 ||
		    append_clean(out, r->hostname) < 0 ||
		    buf_append_str(out, " (ulak) with ") < 0 ||
		    append_clean(out, r->protocol != NULL ? r->protocol :
		    "SMTP") < 0 ||
		    buf_append_str(out, " id ") < 0 ||
		    append_clean(out, r->queue_id) < 0)
			goto fail;
	}
	/* Postfix writes "for" only into the Received: of SMTP mail. */
	if (r->rcpt != NULL && !r->local) {
		if (buf_append_str(out, "\r\n\tfor <") < 0 ||
		    append_clean(out, r->rcpt) < 0 ||
		    buf_append_char(out, '>') < 0)
			goto fail;
	}
	if (buf_append_str(out, "; ") < 0 || rfc822_build_date(out,
	    r->when) < 0 || buf_append_str(out, "\r\n") < 0)
		goto fail;
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

/* RFC 5322 3.2.3 atext. */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Append NAME as an RFC 5322 phrase (see rfc822_build_from). */
static int
append_phrase(struct buf *out, const char *name)
{
	bool plain = true, ascii = true;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p >= 0x80)
			ascii = false;
		else if (!is_atext(*p) && *p != ' ')
			plain = false;
	}
	if (!ascii) {
		/* RFC 2047 4.1: encoded-words of at most 75 characters. */
		size_t n = strlen(name);

		for (size_t i = 0; i < n; i += 42) {
			size_t k = n - i < 42 ? n - i : 42;

			/* Do not cut a UTF-8 sequence in two. */
			while (i + k < n && k > 1 &&
			    ((unsigned char)name[i + k] & 0xc0) == 0x80)
				k--;
			if ((i > 0 && buf_append_char(out, ' ') < 0) ||
			    buf_append_str(out, "=?UTF-8?B?") < 0 ||
			    base64_encode(name + i, k, out) < 0 ||
			    buf_append_str(out, "?=") < 0)
				return -1;
			i -= 42 - k;
		}
		return 0;
	}
	if (plain)
		return append_clean(out, name);
	if (buf_append_char(out, '"') < 0)
		return -1;
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		char c = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;

		if ((c == '"' || c == '\\') && buf_append_char(out, '\\') < 0)
			return -1;
		if (buf_append_char(out, c) < 0)
			return -1;
	}
	return buf_append_char(out, '"');
}

int
rfc822_build_from(struct buf *out, const char *addr, const char *fullname)
{
	size_t start = out->len;
	struct buf ext;
	int rc = -1;

	buf_init(&ext, 0);
	if (addr[0] == '\0')
		buf_append_str(&ext, "MAILER-DAEMON");
	else
		smtp_addr_externalize(addr, &ext);
	if (buf_append_str(out, "From: ") < 0)
		goto done;
	if (fullname != NULL && fullname[0] != '\0') {
		if (append_phrase(out, fullname) < 0 ||
		    buf_append_str(out, " <") < 0 ||
		    append_clean(out, ext.data) < 0 ||
		    buf_append_char(out, '>') < 0)
			goto done;
	} else if (append_clean(out, ext.data) < 0)
		goto done;
	rc = buf_append_str(out, "\r\n");
done:
	if (rc < 0)
		buf_truncate(out, start);
	buf_release(&ext);
	return rc;
}

bool
rfc822_qualify_addr(struct buf *out, const char *addr, const char *origin)
{
	buf_append_str(out, addr);
	if (addr[0] == '\0' || strchr(addr, '@') != NULL || origin == NULL ||
	    origin[0] == '\0')
		return false;
	buf_append_char(out, '@');
	buf_append_str(out, origin);
	return true;
}

bool
rfc822_is_address_header(const char *name, size_t len)
{
	static const char *const names[] = { "from", "sender", "reply-to",
		"to", "cc", "bcc", "resent-from", "resent-sender",
		"resent-reply-to", "resent-to", "resent-cc", "resent-bcc",
		"return-receipt-to", "errors-to", NULL };

	for (size_t i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == len &&
		    str_ncasecmp(names[i], name, len) == 0)
			return true;
	return false;
}

size_t
rfc822_header_name_len(const char *line, size_t len)
{
	size_t i = 0, name_len;

	/* RFC 5322 3.6.8 ftext: printable US-ASCII except ':'. */
	while (i < len && (unsigned char)line[i] > 32 &&
	    (unsigned char)line[i] < 127 && line[i] != ':')
		i++;
	name_len = i;
	if (name_len == 0)
		return 0;
	/* RFC 5322 4.5: obsolete white space before the colon. */
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':' ? name_len : 0;
}

/* State of one list element while rfc822_qualify_header scans it. */
struct qual_elem {
	size_t content_end;	/* OUT offset just after the last content */
	bool content;		/* some word seen */
	bool at;		/* an '@' seen outside quotes/literals */
	bool multiword;		/* words separated by white space */
	bool pending_ws;	/* white space/comment after content */
	char last;		/* last content character */
	bool had_angle;		/* the element held <...> */
};

/* Insert TEXT into OUT at offset POS. */
static int
buf_insert(struct buf *out, size_t pos, const char *text)
{
	struct buf tail;
	int rc;

	buf_init(&tail, 0);
	buf_append(&tail, out->data + pos, out->len - pos);
	buf_truncate(out, pos);
	rc = buf_append_str(out, text) < 0 || buf_append(out, tail.data,
	    tail.len) < 0 ? -1 : 0;
	buf_release(&tail);
	return rc;
}

static void
elem_content(struct qual_elem *e, char c, size_t end)
{
	if (e->pending_ws && e->content && e->last != '.' && c != '.')
		e->multiword = true;
	e->pending_ws = false;
	e->content = true;
	e->last = c;
	e->content_end = end;
}

int
rfc822_qualify_header(struct buf *out, const char *value, size_t len,
    const char *origin)
{
	struct qual_elem e, a;
	bool in_angle = false;
	size_t i = 0, start = out->len;
	int count = 0;
	struct buf at;

	buf_init(&at, 0);
	buf_append_char(&at, '@');
	buf_append_str(&at, origin);
	memset(&e, 0, sizeof(e));
	memset(&a, 0, sizeof(a));
	while (i <= len) {
		char c = i < len ? value[i] : ',';
		bool end = i == len;

		if (c == '"' || c == '[') {
			/* Quoted string or domain literal: copy whole. */
			char close = c == '"' ? '"' : ']';
			size_t j = i + 1;

			while (j < len && value[j] != close) {
				if (value[j] == '\\' && j + 1 < len)
					j++;
				j++;
			}
			if (j < len)
				j++;
			if (buf_append(out, value + i, j - i) < 0)
				goto overflow;
			elem_content(in_angle ? &a : &e, c, out->len);
			if (c == '[') {
				/* A literal only ever follows the '@'. */
				if (in_angle)
					a.at = true;
				else
					e.at = true;
			}
			i = j;
			continue;
		}
		if (c == '(') {
			/* Comment, nested (RFC 5322 3.2.2). */
			size_t j = i, depth = 0;

			while (j < len) {
				if (value[j] == '\\' && j + 1 < len) {
					j += 2;
					continue;
				}
				if (value[j] == '(')
					depth++;
				else if (value[j] == ')' && --depth == 0) {
					j++;
					break;
				}
				j++;
			}
			if (buf_append(out, value + i, j - i) < 0)
				goto overflow;
			(in_angle ? &a : &e)->pending_ws = true;
			i = j;
			continue;
		}
		if (in_angle) {
			if (c == '>' || end) {
				if (a.content && !a.at && !a.multiword &&
				    a.last != ':') {
					if (buf_insert(out, a.content_end,
					    at.data) < 0)
						goto overflow;
					count++;
				}
				in_angle = false;
				if (end)
					break;
			} else if (c == '@') {
				a.at = true;
				elem_content(&a, c, out->len + 1);
			} else if (c == ':' || c == ',') {
				/* Obsolete route "@a,@b:": starts again. */
				memset(&a, 0, sizeof(a));
			} else if (c == ' ' || c == '\t' || c == '\r' ||
			    c == '\n') {
				a.pending_ws = true;
			} else {
				elem_content(&a, c, out->len + 1);
			}
			if (buf_append_char(out, c) < 0)
				goto overflow;
			i++;
			continue;
		}
		if (c == ',' || c == ';' || c == ':' || end) {
			if (c != ':' && !e.had_angle && e.content && !e.at &&
			    !e.multiword) {
				if (buf_insert(out, e.content_end, at.data) < 0)
					goto overflow;
				count++;
			}
			memset(&e, 0, sizeof(e));
			if (end)
				break;
		} else if (c == '<') {
			in_angle = true;
			e.had_angle = true;
			memset(&a, 0, sizeof(a));
		} else if (c == '@') {
			e.at = true;
			elem_content(&e, c, out->len + 1);
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			e.pending_ws = true;
		} else {
			elem_content(&e, c, out->len + 1);
		}
		if (buf_append_char(out, c) < 0)
			goto overflow;
		i++;
	}
	buf_release(&at);
	return count;
overflow:
	buf_truncate(out, start);
	buf_release(&at);
	return -1;
}
