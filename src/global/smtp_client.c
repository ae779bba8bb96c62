/*
 * smtp_client - pure helpers of the SMTP client: next-hop syntax, MX
 * order, reply-to-DSN mapping, the DATA encoder, TLS policy words.
 *
 * Distrusts next hops (configuration), replies and MX data (remote
 * servers) and content (queue file): every length is checked.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "err.h"
#include "mem.h"
#include "parse.h"
#include "smtp_client.h"
#include "smtp_cmd.h"
#include "str.h"

int
smtp_nexthop_parse(const char *nexthop, unsigned default_port,
    struct smtp_nexthop *nh, const char **error_r)
{
	const char *host = nexthop, *end, *port = NULL;
	unsigned char bin[16];
	size_t len;
	uint64_t p;
	const char *perr;

	memset(nh, 0, sizeof(*nh));
	nh->port = default_port;
	nh->mx = true;
	if (*host == '[') {
		end = strchr(host, ']');
		if (end == NULL) {
			*error_r = err_fmt("next hop \"%s\": missing ']'",
			    nexthop);
			return -1;
		}
		host++;
		len = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			*error_r = err_fmt("next hop \"%s\": garbage after "
			    "']'", nexthop);
			return -1;
		}
		nh->mx = false;
		if (len > 5 && str_ncasecmp(host, "IPv6:", 5) == 0) {
			host += 5;
			len -= 5;
		}
	} else {
		end = strrchr(host, ':');
		if (end != NULL) {
			port = end + 1;
			len = (size_t)(end - host);
		} else {
			len = strlen(host);
		}
	}
	if (len == 0) {
		*error_r = err_fmt("next hop \"%s\": empty host", nexthop);
		return -1;
	}
	if (len >= sizeof(nh->host)) {
		*error_r = err_fmt("next hop \"%.40s...\": host name too long",
		    nexthop);
		return -1;
	}
	memcpy(nh->host, host, len);
	nh->host[len] = '\0';
	if (port != NULL) {
		if (parse_uint(port, 1, 65535, &p, &perr) < 0) {
			*error_r = err_fmt("next hop \"%s\": bad port: %s",
			    nexthop, perr);
			return -1;
		}
		nh->port = (unsigned)p;
	}
	if (inet_pton(AF_INET, nh->host, bin) == 1 ||
	    inet_pton(AF_INET6, nh->host, bin) == 1) {
		nh->literal = true;
		nh->mx = false;
	}
	return 0;
}

static size_t
default_rnd(size_t n)
{
	return (size_t)random() % n;
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

void
smtp_mx_sort(struct dns_rr *rr, size_t n, size_t (*rnd)(size_t n))
{
	if (rnd == NULL)
		rnd = default_rnd;
	qsort(rr, n, sizeof(*rr), mx_cmp);
	/* Fisher-Yates within each run of equal preference. */
	for (size_t start = 0; start < n;) {
		size_t end = start + 1;

		while (end < n && rr[end].pref == rr[start].pref)
			end++;
		for (size_t i = end - start; i > 1; i--) {
			size_t j = rnd(i);
			struct dns_rr t;

			if (j >= i)
				j = i - 1;
			t = rr[start + i - 1];
			rr[start + i - 1] = rr[start + j];
			rr[start + j] = t;
		}
		start = end;
	}
}

void
smtp_reply_dsn(const struct smtp_reply *reply, char dsn[16])
{
	int cls = reply->code / 100;

	if (cls != 2 && cls != 4 && cls != 5) {
		str_copy(dsn, 16, "5.5.0");
		return;
	}
	if (reply->enhanced[0] - '0' == cls && reply->enhanced[1] == '.' &&
	    str_copy(dsn, 16, reply->enhanced) == 0)
		return;
	dsn[0] = (char)('0' + cls);
	str_copy(dsn + 1, 15, ".0.0");
}

void
smtp_reply_oneline(const struct smtp_reply *reply, size_t max,
    struct buf *out)
{
	size_t start = out->len;

	buf_printf(out, "%d", reply->code);
	if (reply->enhanced[0])
		buf_printf(out, " %s", reply->enhanced);
	if (reply->text.len > 0)
		buf_append_char(out, ' ');
	for (size_t i = 0; i < reply->text.len; i++) {
		unsigned char c = (unsigned char)reply->text.data[i];

		if (out->len - start >= max) {
			buf_truncate(out, start + (max > 3 ? max - 3 : 0));
			buf_append_str(out, "...");
			return;
		}
		if (c == '\n')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		buf_append_char(out, (char)c);
	}
}

void
smtp_dot_init(struct smtp_dot *d)
{
	d->bol = true;
	d->cr = false;
}

int
smtp_dot_encode(struct smtp_dot *d, const void *in, size_t len,
    struct buf *out)
{
	const unsigned char *p = in;
	size_t run = 0;		/* bytes of P[i-run..i) still to copy */

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (d->cr && c != '\n') {
			/* A bare CR: end the line properly first. */
			if (buf_append(out, p + i - run, run) < 0 ||
			    buf_append(out, "\n", 1) < 0)
				return -1;
			run = 0;
			d->cr = false;
			d->bol = true;
		}
		if (d->bol && c == '.') {
			if (buf_append(out, p + i - run, run) < 0 ||
			    buf_append_char(out, '.') < 0)
				return -1;
			run = 0;
		}
		if (c == '\n' && !d->cr) {
			/* A bare LF: send CR LF. */
			if (buf_append(out, p + i - run, run) < 0 ||
			    buf_append(out, "\r", 1) < 0)
				return -1;
			run = 0;
		}
		run++;
		d->cr = c == '\r';
		d->bol = c == '\n';
	}
	return buf_append(out, p + len - run, run);
}

int
smtp_dot_finish(struct smtp_dot *d, struct buf *out)
{
	if (d->cr) {
		if (buf_append_char(out, '\n') < 0)
			return -1;
	} else if (!d->bol) {
		if (buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	d->bol = true;
	d->cr = false;
	return buf_append(out, ".\r\n", 3);
}

static const char *const level_names[] = {
	[SMTP_TLS_NONE] = "none",
	[SMTP_TLS_MAY] = "may",
	[SMTP_TLS_ENCRYPT] = "encrypt",
	[SMTP_TLS_VERIFY] = "verify",
	[SMTP_TLS_SECURE] = "secure",
	[SMTP_TLS_DANE] = "dane",
};

int
smtp_tls_level_parse(const char *word, enum smtp_tls_level *level_r,
    const char **error_r)
{
	if (word[0] == '\0') {
		*level_r = SMTP_TLS_NONE;
		return 0;
	}
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	    i++) {
		if (str_casecmp(word, level_names[i]) == 0) {
			*level_r = (enum smtp_tls_level)i;
			return 0;
		}
	}
	/* Postfix's dane-only and fingerprint are not built (yet). */
	*error_r = err_fmt("unknown TLS security level \"%s\" (expected "
	    "none, may, encrypt, dane, verify or secure)", word);
	return -1;
}

const char *
smtp_tls_level_name(enum smtp_tls_level level)
{
	if ((size_t)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

int
smtp_tls_policy_parse(const char *value, enum smtp_tls_level *level_r,
    struct buf *match, const char **error_r)
{
	struct strlist words;
	int ret = 0;

	strlist_init(&words);
	strlist_split(&words, value, " \t\r\n");
	if (words.n == 0) {
		*error_r = "empty TLS policy";
		ret = -1;
	} else if (smtp_tls_level_parse(words.v[0], level_r, error_r) < 0) {
		ret = -1;
	}
	for (size_t i = 1; ret == 0 && i < words.n; i++) {
		const char *eq = strchr(words.v[i], '=');

		if (eq == NULL || eq == words.v[i]) {
			*error_r = err_fmt("TLS policy attribute \"%s\": "
			    "expected name=value", words.v[i]);
			ret = -1;
		} else if (str_has_prefix(words.v[i], "match=") &&
		    match != NULL) {
			buf_reset(match);
			buf_append_str(match, eq + 1);
		}
	}
	strlist_release(&words);
	return ret;
}

bool
smtp_is_utf8(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}
