/*
 * spf_parse - the SPF record parser and the macro expander of RFC 7208
 * (sections 4.5, 4.6, 5, 6, 7 and the ABNF of section 12).  No DNS here:
 * spf.c evaluates what this file parses.
 *
 * Distrusts its input completely (records come from DNS, macro values
 * from the SMTP client): every byte is checked against the ABNF, numbers
 * are range-checked, and expansions are bounded by SPF_MAX_EXPANSION.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "buf.h"
#include "err.h"
#include "mem.h"
#include "str.h"

static const char *const spf_result_names[] = {
	[SPF_NONE] = "none",
	[SPF_NEUTRAL] = "neutral",
	[SPF_PASS] = "pass",
	[SPF_FAIL] = "fail",
	[SPF_SOFTFAIL] = "softfail",
	[SPF_TEMPERROR] = "temperror",
	[SPF_PERMERROR] = "permerror",
};

const char *
spf_result_name(enum spf_result result)
{
	if ((unsigned)result < sizeof(spf_result_names) /
	    sizeof(spf_result_names[0]))
		return spf_result_names[result];
	return "?";
}

int
spf_result_parse(const char *name, enum spf_result *result_r)
{
	for (size_t i = 0; i < sizeof(spf_result_names) /
	    sizeof(spf_result_names[0]); i++)
		if (str_casecmp(name, spf_result_names[i]) == 0) {
			*result_r = (enum spf_result)i;
			return 0;
		}
	return -1;
}

int
spf_reject_mode_parse(const char *value, enum spf_reject_mode *mode_r,
    const char **error_r)
{
	if (str_casecmp(value, "fail") == 0)
		*mode_r = SPF_REJECT_FAIL;
	else if (str_casecmp(value, "softfail") == 0)
		*mode_r = SPF_REJECT_SOFTFAIL;
	else if (str_casecmp(value, "never") == 0)
		*mode_r = SPF_REJECT_NEVER;
	else {
		*error_r = err_fmt("bad spf_reject_on value \"%.40s\" "
		    "(fail, softfail or never)", value);
		return -1;
	}
	return 0;
}

bool
spf_rejects(enum spf_reject_mode mode, enum spf_result result)
{
	switch (mode) {
	case SPF_REJECT_FAIL:
		return result == SPF_FAIL;
	case SPF_REJECT_SOFTFAIL:
		return result == SPF_FAIL || result == SPF_SOFTFAIL;
	case SPF_REJECT_NEVER:
		break;
	}
	return false;
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

bool
spf_record_is_spf(const void *text, size_t len)
{
	const char *t = text;

	/* RFC 7208 4.5: "v=spf1" then SP or the end; case-insensitive. */
	if (len < 6 || str_ncasecmp(t, "v=spf1", 6) != 0)
		return false;
	return len == 6 || t[6] == ' ';
}

/* ---- macros ---- */

static bool
macro_letter_ok(int c, enum spf_macro_ctx ctx)
{
	switch (c | 0x20) {
	case 's': case 'l': case 'o': case 'd': case 'i': case 'p':
	case 'h': case 'v':
		return true;
	case 'c': case 'r': case 't':
		/* RFC 7208 7.2: only in exp text. */
		return ctx == SPF_MACRO_EXPLAIN;
	default:
		return false;
	}
}

static bool
is_delimiter(int c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* One parsed %{...}: letter, digits (0 = all), reverse, delimiters. */
struct macro_item {
	char letter;
	unsigned keep;
	bool reverse;
	char delims[8];
};

/*
 * Parse the macro at S (pointing at '%'); *USED_R gets its length.  For
 * "%%", "%_", "%-" ITEM->letter is that second character.
 */
static int
macro_parse_one(const char *s, enum spf_macro_ctx ctx, struct macro_item *item,
    size_t *used_r, const char **error_r)
{
	const char *p = s + 1;
	size_t nd = 0;

	memset(item, 0, sizeof(*item));
	if (*p == '%' || *p == '_' || *p == '-') {
		item->letter = *p;
		*used_r = 2;
		return 0;
	}
	if (*p != '{')
		goto bad;
	p++;
	if (!macro_letter_ok((unsigned char)*p, ctx))
		goto bad;
	item->letter = *p++;
	if (is_digit((unsigned char)*p)) {
		unsigned long n = 0;

		while (is_digit((unsigned char)*p)) {
			if (n < 1000)
				n = n * 10 + (unsigned long)(*p - '0');
			p++;
		}
		/* RFC 7208 7.3: the value MUST be nonzero. */
		if (n == 0)
			goto bad;
		item->keep = n > 255 ? 255 : (unsigned)n;
	}
	if (*p == 'r' || *p == 'R') {
		item->reverse = true;
		p++;
	}
	while (is_delimiter((unsigned char)*p)) {
		if (nd + 1 < sizeof(item->delims) &&
		    strchr(item->delims, *p) == NULL)
			item->delims[nd++] = *p;
		p++;
	}
	if (*p != '}')
		goto bad;
	*used_r = (size_t)(p + 1 - s);
	return 0;
bad:
	{
		size_t n = strcspn(s + 1, "% ");

		*error_r = err_fmt("bad macro \"%%%.*s\"", (int)(n > 20 ? 20 : n),
		    s + 1);
	}
	return -1;
}

/* A literal byte allowed in CTX (RFC 7208 7.1 macro-literal). */
static bool
macro_literal_ok(int c, enum spf_macro_ctx ctx)
{
	if (c == ' ')
		return ctx == SPF_MACRO_EXPLAIN;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/* RFC 7208 12: toplabel. */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_alpha((unsigned char)s[i]))
			alpha = true;
		else if (s[i] == '-')
			dash = true;
		else if (!is_digit((unsigned char)s[i]))
			return false;
	}
	if (!dash)
		return alpha;
	/* 1*alphanum "-" *( alphanum / "-" ) alphanum */
	return is_alnum((unsigned char)s[0]) && is_alnum((unsigned char)s[n - 1]);
}

int
spf_macro_check(const char *s, enum spf_macro_ctx ctx, const char **error_r)
{
	struct macro_item item;
	bool ends_with_macro = false;
	size_t used, len;

	for (const char *p = s; *p;) {
		if (*p == '%') {
			if (macro_parse_one(p, ctx, &item, &used, error_r) < 0)
				return -1;
			p += used;
			ends_with_macro = true;
			continue;
		}
		if (!macro_literal_ok((unsigned char)*p, ctx)) {
			*error_r = err_fmt("bad character 0x%02x in \"%.40s\"",
			    (unsigned char)*p, s);
			return -1;
		}
		ends_with_macro = false;
		p++;
	}
	if (ctx != SPF_MACRO_DOMAIN)
		return 0;
	/* domain-spec = macro-string domain-end (RFC 7208 7.1) */
	if (*s == '\0') {
		*error_r = "empty domain-spec";
		return -1;
	}
	if (ends_with_macro)
		return 0;
	len = strlen(s);
	if (s[len - 1] == '.')
		len--;
	{
		const char *dot = NULL;

		for (size_t i = len; i > 0; i--)
			if (s[i - 1] == '.') {
				dot = s + i - 1;
				break;
			}
		if (dot == NULL || !toplabel_ok(dot + 1,
		    (size_t)(s + len - dot - 1))) {
			*error_r = err_fmt("bad domain-spec \"%.80s\"", s);
			return -1;
		}
	}
	return 0;
}

bool
spf_macro_uses_p(const char *s)
{
	for (const char *p = s; (p = strchr(p, '%')) != NULL;) {
		if (p[1] == '{' && (p[2] == 'p' || p[2] == 'P'))
			return true;
		p += p[1] != '\0' ? 2 : 1;
	}
	return false;
}

/* The raw value of macro letter L (lower case) into OUT. */
static void
macro_value(int l, const struct spf_macro_vars *v, struct buf *out)
{
	char ip[INET6_ADDRSTRLEN];

	switch (l) {
	case 's':
		buf_append_str(out, v->sender != NULL ? v->sender : "");
		break;
	case 'l':
		buf_append_str(out, v->local != NULL ? v->local : "");
		break;
	case 'o':
		buf_append_str(out, v->sender_domain != NULL ?
		    v->sender_domain : "");
		break;
	case 'd':
		buf_append_str(out, v->domain != NULL ? v->domain : "");
		break;
	case 'i':
		if (v->family == AF_INET6) {
			static const char hex[] = "0123456789ABCDEF";

			for (int i = 0; i < 16; i++) {
				if (i > 0)
					buf_append_char(out, '.');
				buf_append_char(out, hex[v->addr[i] >> 4]);
				buf_append_char(out, '.');
				buf_append_char(out, hex[v->addr[i] & 15]);
			}
		} else
			buf_printf(out, "%u.%u.%u.%u", v->addr[0], v->addr[1],
			    v->addr[2], v->addr[3]);
		break;
	case 'c':
		if (inet_ntop(v->family == AF_INET6 ? AF_INET6 : AF_INET,
		    v->addr, ip, sizeof(ip)) != NULL)
			buf_append_str(out, ip);
		break;
	case 'p':
		buf_append_str(out, v->validated != NULL ? v->validated :
		    "unknown");
		break;
	case 'h':
		buf_append_str(out, v->helo != NULL ? v->helo : "");
		break;
	case 'v':
		buf_append_str(out, v->family == AF_INET6 ? "ip6" : "in-addr");
		break;
	case 'r':
		buf_append_str(out, v->receiver != NULL && *v->receiver ?
		    v->receiver : "unknown");
		break;
	case 't':
		buf_printf(out, "%lld", (long long)v->now);
		break;
	}
}

/* Apply the transformers of ITEM to VAL and append to OUT (RFC 7208 7.3). */
static int
macro_transform(const struct macro_item *item, const struct buf *val,
    struct buf *out)
{
	const char *delims = item->delims[0] ? item->delims : ".";
	size_t n_parts = 1, first, i, start;
	size_t *pos;
	int rc = 0;

	for (i = 0; i < val->len; i++)
		if (strchr(delims, val->data[i]) != NULL)
			n_parts++;
	/* part k spans pos[2k] .. pos[2k+1] */
	pos = xreallocarray(NULL, n_parts * 2, sizeof(*pos));
	start = 0;
	for (i = 0, n_parts = 0; i <= val->len; i++)
		if (i == val->len || strchr(delims, val->data[i]) != NULL) {
			pos[2 * n_parts] = start;
			pos[2 * n_parts + 1] = i;
			n_parts++;
			start = i + 1;
		}
	if (item->reverse)
		for (i = 0; i < n_parts / 2; i++) {
			size_t a0 = pos[2 * i], a1 = pos[2 * i + 1];
			size_t j = n_parts - 1 - i;

			pos[2 * i] = pos[2 * j];
			pos[2 * i + 1] = pos[2 * j + 1];
			pos[2 * j] = a0;
			pos[2 * j + 1] = a1;
		}
	first = item->keep != 0 && item->keep < n_parts ?
	    n_parts - item->keep : 0;
	for (i = first; i < n_parts && rc == 0; i++) {
		if (i > first)
			rc = buf_append_char(out, '.');
		if (rc == 0)
			rc = buf_append(out, val->data + pos[2 * i],
			    pos[2 * i + 1] - pos[2 * i]);
	}
	free(pos);
	return rc;
}

/* RFC 3986 2.3 unreserved characters stay; all else becomes %XX. */
static int
url_escape(const struct buf *in, struct buf *out)
{
	for (size_t i = 0; i < in->len; i++) {
		unsigned char c = (unsigned char)in->data[i];

		if (is_alnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			if (buf_append_char(out, (char)c) < 0)
				return -1;
		} else if (buf_printf(out, "%%%02X", c) < 0)
			return -1;
	}
	return 0;
}

int
spf_macro_expand(const char *s, enum spf_macro_ctx ctx,
    const struct spf_macro_vars *vars, struct buf *out, const char **error_r)
{
	struct macro_item item;
	struct buf val, tr;
	size_t used, start = out->len;
	int rc = 0;

	if (spf_macro_check(s, ctx, error_r) < 0)
		return -1;
	buf_init(&val, SPF_MAX_EXPANSION);
	buf_init(&tr, SPF_MAX_EXPANSION);
	for (const char *p = s; *p && rc == 0;) {
		if (*p != '%') {
			size_t n = strcspn(p, "%");

			rc = buf_append(out, p, n);
			p += n;
			continue;
		}
		(void)macro_parse_one(p, ctx, &item, &used, error_r);
		p += used;
		switch (item.letter) {
		case '%':
			rc = buf_append_char(out, '%');
			continue;
		case '_':
			rc = buf_append_char(out, ' ');
			continue;
		case '-':
			rc = buf_append_str(out, "%20");
			continue;
		}
		buf_reset(&val);
		buf_reset(&tr);
		macro_value(item.letter | 0x20, vars, &val);
		if (macro_transform(&item, &val, &tr) < 0) {
			rc = -1;
			break;
		}
		if (is_alpha(item.letter) && item.letter < 'a')
			rc = url_escape(&tr, out);
		else
			rc = buf_append(out, tr.data, tr.len);
		if (rc == 0 && out->len - start > SPF_MAX_EXPANSION)
			rc = -1;
	}
	buf_release(&val);
	buf_release(&tr);
	if (rc < 0) {
		buf_truncate(out, start);
		*error_r = "macro expansion too long";
		return -1;
	}
	return 0;
}

/* ---- the record ---- */

static const struct {
	const char *name;
	enum spf_mech mech;
} spf_mechs[] = {
	{ "all", SPF_MECH_ALL },
	{ "include", SPF_MECH_INCLUDE },
	{ "a", SPF_MECH_A },
	{ "mx", SPF_MECH_MX },
	{ "ptr", SPF_MECH_PTR },
	{ "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 },
	{ "exists", SPF_MECH_EXISTS },
};

static void
term_release(struct spf_term *t)
{
	free(t->domain_spec);
	free(t->text);
}

void
spf_record_free(struct spf_record *rec)
{
	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->n_terms; i++)
		term_release(&rec->terms[i]);
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	free(rec);
}

/*
 * "/" prefix length at S (no leading zeros, at most MAX); *used_r gets
 * the bytes read.  -1 when malformed.
 */
static int
parse_cidr(const char *s, unsigned max, unsigned *len_r, size_t *used_r)
{
	unsigned v = 0;
	size_t i = 1;

	if (s[0] != '/' || !is_digit((unsigned char)s[1]))
		return -1;
	if (s[1] == '0' && is_digit((unsigned char)s[2]))
		return -1;
	while (is_digit((unsigned char)s[i])) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return -1;
		i++;
	}
	*len_r = v;
	*used_r = i;
	return 0;
}

/*
 * If ARG ends in "/" 1*DIGIT (the digits after a last '/'), the offset of
 * that '/', else -1.  A domain-spec may itself hold '/' (RFC 7208 7.1),
 * so cidr lengths are taken from the end.
 */
static long
cidr_suffix(const char *arg, size_t len)
{
	size_t i = len;

	while (i > 0 && is_digit((unsigned char)arg[i - 1]))
		i--;
	if (i == len || i == 0 || arg[i - 1] != '/')
		return -1;
	return (long)i - 1;
}

/*
 * The dual-cidr-length at the end of ARG (a or mx): strips it from ARG
 * and fills the term.  -1 when it is malformed.
 */
static int
parse_dual_cidr(char *arg, struct spf_term *t)
{
	size_t len = strlen(arg), used;
	long at;

	t->cidr4 = 32;
	t->cidr6 = 128;
	at = cidr_suffix(arg, len);
	if (at > 0 && arg[at - 1] == '/') {
		/* ip6-cidr-length: "//64" */
		if (parse_cidr(arg + at, 128, &t->cidr6, &used) < 0)
			return -1;
		len = (size_t)at - 1;
		arg[len] = '\0';
		at = cidr_suffix(arg, len);
	}
	if (at >= 0) {
		if (parse_cidr(arg + at, 32, &t->cidr4, &used) < 0)
			return -1;
		arg[at] = '\0';
	}
	return 0;
}

/* Parse one directive TERM (qualifier included) into T. */
static int
parse_directive(const char *term, struct spf_term *t, const char **error_r)
{
	const char *p = term, *name;
	size_t nlen;
	char *arg = NULL;
	int mech = -1;

	memset(t, 0, sizeof(*t));
	t->qualifier = SPF_PASS;
	switch (*p) {
	case '+': t->qualifier = SPF_PASS; p++; break;
	case '-': t->qualifier = SPF_FAIL; p++; break;
	case '~': t->qualifier = SPF_SOFTFAIL; p++; break;
	case '?': t->qualifier = SPF_NEUTRAL; p++; break;
	}
	name = p;
	nlen = strcspn(p, ":/");
	for (size_t i = 0; i < sizeof(spf_mechs) / sizeof(spf_mechs[0]); i++)
		if (strlen(spf_mechs[i].name) == nlen &&
		    str_ncasecmp(name, spf_mechs[i].name, nlen) == 0)
			mech = (int)spf_mechs[i].mech;
	if (mech < 0) {
		*error_r = err_fmt("unknown mechanism \"%.*s\"",
		    (int)(nlen > 40 ? 40 : nlen), name);
		return -1;
	}
	t->mech = (enum spf_mech)mech;
	t->text = xstrdup(term);
	p += nlen;
	switch (t->mech) {
	case SPF_MECH_ALL:
		if (*p != '\0')
			goto bad;
		return 0;
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		if (*p != ':')
			goto bad;
		if (spf_macro_check(p + 1, SPF_MACRO_DOMAIN, error_r) < 0)
			goto bad_why;
		t->domain_spec = xstrdup(p + 1);
		return 0;
	case SPF_MECH_PTR:
		if (*p == '\0')
			return 0;
		if (*p != ':')
			goto bad;
		if (spf_macro_check(p + 1, SPF_MACRO_DOMAIN, error_r) < 0)
			goto bad_why;
		t->domain_spec = xstrdup(p + 1);
		return 0;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (*p != '\0' && *p != ':' && *p != '/')
			goto bad;
		arg = xstrdup(p);
		if (parse_dual_cidr(arg, t) < 0)
			goto bad;
		if (arg[0] == ':') {
			if (spf_macro_check(arg + 1, SPF_MACRO_DOMAIN,
			    error_r) < 0)
				goto bad_why;
			t->domain_spec = xstrdup(arg + 1);
		} else if (arg[0] != '\0')
			goto bad;
		free(arg);
		return 0;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6: {
		bool v6 = t->mech == SPF_MECH_IP6;
		char *slash;
		size_t used;

		if (*p != ':')
			goto bad;
		arg = xstrdup(p + 1);
		t->cidr4 = 32;
		t->cidr6 = 128;
		slash = strchr(arg, '/');
		if (slash != NULL) {
			if (parse_cidr(slash, v6 ? 128 : 32, v6 ? &t->cidr6 :
			    &t->cidr4, &used) < 0 || slash[used] != '\0')
				goto bad;
			*slash = '\0';
		}
		if (inet_pton(v6 ? AF_INET6 : AF_INET, arg, t->net) != 1)
			goto bad;
		free(arg);
		return 0;
	}
	}
bad:
	*error_r = err_fmt("bad mechanism \"%.60s\"", term);
bad_why:
	free(arg);
	term_release(t);
	return -1;
}

/* RFC 7208 12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static bool
modifier_name_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

int
spf_record_parse(const void *text, size_t len, struct spf_record **rec_r,
    const char **error_r)
{
	const unsigned char *t = text;
	struct spf_record *rec;
	char *copy, *p;
	size_t cap = 0;

	if (!spf_record_is_spf(text, len)) {
		*error_r = "not an SPF record (no \"v=spf1\")";
		return -1;
	}
	/* RFC 7208 3.1, 4.6.1: printable US-ASCII terms separated by SP. */
	for (size_t i = 0; i < len; i++)
		if (t[i] < 0x20 || t[i] > 0x7e) {
			*error_r = err_fmt("bad character 0x%02x in the record",
			    t[i]);
			return -1;
		}
	rec = xcalloc(1, sizeof(*rec));
	copy = xmemdup0(t + 6, len - 6);
	for (p = copy; *p;) {
		char *term, *eq, *name_end;
		size_t nlen;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		term = p;
		p += strcspn(p, " ");
		if (*p == ' ')
			*p++ = '\0';
		/* A modifier: a valid name followed at once by '='. */
		name_end = term + strcspn(term, "=:/");
		eq = *name_end == '=' ? name_end : NULL;
		if (eq != NULL) {
			nlen = (size_t)(eq - term);
			if (!modifier_name_ok(term, nlen)) {
				*error_r = err_fmt("bad modifier \"%.60s\"",
				    term);
				goto fail;
			}
			if (nlen == 8 && str_ncasecmp(term, "redirect", 8) == 0) {
				if (rec->redirect != NULL) {
					*error_r = "two redirect= modifiers";
					goto fail;
				}
				if (spf_macro_check(eq + 1, SPF_MACRO_DOMAIN,
				    error_r) < 0)
					goto fail;
				rec->redirect = xstrdup(eq + 1);
			} else if (nlen == 3 && str_ncasecmp(term, "exp", 3) == 0) {
				if (rec->exp != NULL) {
					*error_r = "two exp= modifiers";
					goto fail;
				}
				if (spf_macro_check(eq + 1, SPF_MACRO_DOMAIN,
				    error_r) < 0)
					goto fail;
				rec->exp = xstrdup(eq + 1);
			} else if (spf_macro_check(eq + 1, SPF_MACRO_STRING,
			    error_r) < 0)
				goto fail;
			/* other modifiers: checked, then ignored (6) */
			continue;
		}
		if (rec->n_terms == cap) {
			cap = cap ? cap * 2 : 8;
			rec->terms = xreallocarray(rec->terms, cap,
			    sizeof(*rec->terms));
		}
		if (parse_directive(term, &rec->terms[rec->n_terms],
		    error_r) < 0)
			goto fail;
		rec->n_terms++;
	}
	free(copy);
	*rec_r = rec;
	return 0;
fail:
	free(copy);
	spf_record_free(rec);
	return -1;
}
