/*
 * smtp_addr - parsers for envelope paths (RFC 5321 4.1.2) and header
 * address-lists (RFC 5322 3.4); see smtp_addr.h.
 *
 * Input comes straight from SMTP clients and message headers: any bytes,
 * any length, NUL included.  Every index is checked against the length
 * given; no code here relies on NUL termination of the input.  The path
 * parser writes only into the fixed arrays of struct smtp_addr, through
 * bounded appends whose overflow is a syntax error.
 */
#include "smtp_addr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "str.h"

static const struct smtp_status status_sender =
    SMTP_STATUS_INIT(501, "5.1.7", "Bad sender address syntax");
static const struct smtp_status status_rcpt =
    SMTP_STATUS_INIT(501, "5.1.3", "Bad recipient address syntax");
/* RFC 6531 3.7.4.1; the text is Postfix's. */
static const struct smtp_status status_utf8 =
    SMTP_STATUS_INIT(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address");

/* RFC 5322 3.2.3 atext (RFC 5321 uses the same set). */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * Length of the well-formed UTF-8 sequence at S[0..LEN) (RFC 3629 4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xe0 && s[1] < 0xa0)
		return 0;
	if (c == 0xed && s[1] > 0x9f)
		return 0;
	if (c == 0xf0 && s[1] < 0x90)
		return 0;
	if (c == 0xf4 && s[1] > 0x8f)
		return 0;
	return n;
}

/* Check S[0..LEN) as UTF-8; *EIGHTBIT_R tells whether any byte is >= 0x80. */
static bool
utf8_valid(const char *s, size_t len, bool *eightbit_r)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	*eightbit_r = false;
	while (i < len) {
		if (u[i] >= 0x80)
			*eightbit_r = true;
		if ((n = utf8_seq_len(u + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* A bounded output string inside a fixed array. */
struct out {
	char *p;
	size_t len;
	size_t size;
};

static int
out_add(struct out *o, const char *s, size_t n)
{
	if (n >= o->size - o->len)
		return -1;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
	return 0;
}

/*
 * Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), each label at most 63 octets (RFC 1035 2.3.4).  An
 * underscore is tolerated (real host names carry it; Postfix allows it
 * too) and, with UTF8, a non-ASCII byte (U-label, RFC 6531 3.3; the caller
 * checked that the UTF-8 is well formed).
 */
static bool
domain_valid(const char *s, size_t len, bool utf8, const char **reason_r)
{
	size_t i, label = 0;
	unsigned char c, prev = '.';

	if (len == 0) {
		*reason_r = "empty domain";
		return false;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (prev == '.' || prev == '-') {
				*reason_r = "empty domain label or label ends in '-'";
				return false;
			}
			label = 0;
		} else if (is_alnum(c) || c == '_' || (c >= 0x80 && utf8)) {
			label++;
		} else if (c == '-') {
			if (prev == '.') {
				*reason_r = "domain label starts with '-'";
				return false;
			}
			label++;
		} else {
			*reason_r = "bad character in domain";
			return false;
		}
		if (label > 63) {
			*reason_r = "domain label longer than 63 octets";
			return false;
		}
		prev = c;
	}
	if (prev == '.' || prev == '-') {
		*reason_r = "domain ends in '.' or '-'";
		return false;
	}
	return true;
}

/*
 * address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]" (RFC 5321 4.1.3).  S includes the
 * brackets.  General literals (tag ":" dcontent) name no transport we
 * know, so they are refused.
 */
static bool
literal_valid(const char *s, size_t len, const char **reason_r)
{
	char tmp[64];
	unsigned char a6[16];
	size_t n = len - 2;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']' || n >= sizeof(tmp)) {
		*reason_r = "bad address literal";
		return false;
	}
	memcpy(tmp, s + 1, n);
	tmp[n] = '\0';
	if (memchr(tmp, '\0', n) != NULL) {
		*reason_r = "bad address literal";
		return false;
	}
	if (str_has_prefix_nocase(tmp, "IPv6:")) {
		if (inet_pton(AF_INET6, tmp + 5, a6) == 1)
			return true;
		*reason_r = "bad IPv6 address literal";
		return false;
	}
	/* glibc's inet_pton takes dotted quads only, without leading zeros. */
	if (inet_pton(AF_INET, tmp, a6) == 1)
		return true;
	*reason_r = strchr(tmp, ':') != NULL ?
	    "unsupported address literal" : "bad IPv4 address literal";
	return false;
}

/*
 * Parse the local part at S[*I..LEN) (RFC 5321 4.1.2: Dot-string /
 * Quoted-string, extended by UTF8-non-ascii in RFC 6531 3.3) and append
 * its unquoted form to O.  Stops at the first byte after it.
 */
static int
parse_local(const char *s, size_t len, size_t *ip, bool utf8,
    struct out *o, bool *quoted_r, const char **reason_r)
{
	size_t i = *ip, start = i;
	unsigned char c;

	*quoted_r = false;
	if (i < len && s[i] == '"') {
		*quoted_r = true;
		for (i++; i < len && s[i] != '"'; i++) {
			c = (unsigned char)s[i];
			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (++i >= len || s[i] < 32 || s[i] > 126) {
					*reason_r = "bad quoted pair in local part";
					return -1;
				}
			} else if ((c < 32 || c > 126) && !(c >= 0x80 && utf8)) {
				/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 */
				*reason_r = "bad character in quoted local part";
				return -1;
			}
			if (out_add(o, s + i, 1) < 0) {
				*reason_r = "local part longer than 64 octets";
				return -1;
			}
		}
		if (i >= len) {
			*reason_r = "unterminated quoted local part";
			return -1;
		}
		i++;
	} else {
		unsigned char prev = '.';

		for (; i < len; i++) {
			c = (unsigned char)s[i];
			if (c == '.') {
				if (prev == '.') {
					*reason_r = "empty atom in local part";
					return -1;
				}
			} else if (!is_atext(c) && !(c >= 0x80 && utf8)) {
				break;
			}
			prev = c;
		}
		if (i == start) {
			*reason_r = "empty local part";
			return -1;
		}
		if (prev == '.') {
			*reason_r = "local part ends in '.'";
			return -1;
		}
		if (out_add(o, s + start, i - start) < 0) {
			*reason_r = "local part longer than 64 octets";
			return -1;
		}
	}
	if (i - start > SMTP_ADDR_LOCAL_MAX) {
		*reason_r = "local part longer than 64 octets";
		return -1;
	}
	*ip = i;
	return 0;
}

/*
 * A-d-l = At-domain *( "," At-domain ) ":" (RFC 5321 4.1.2).  The route
 * is checked and dropped (RFC 5321 4.1.2 and appendix C: "SHOULD ignore").
 */
static int
skip_route(const char *s, size_t len, size_t *ip, bool utf8,
    const char **reason_r)
{
	size_t i = *ip, start;

	for (;;) {
		if (i >= len || s[i] != '@') {
			*reason_r = "bad source route";
			return -1;
		}
		start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= len) {
			*reason_r = "bad source route";
			return -1;
		}
		if (!domain_valid(s + start, i - start, utf8, reason_r))
			return -1;
		if (s[i++] == ':')
			break;
	}
	*ip = i;
	return 0;
}

int
smtp_addr_parse_path(const char *s, size_t len, unsigned flags,
    struct smtp_addr *addr_r, const struct smtp_status **status_r,
    const char **reason_r)
{
	const struct smtp_status *syntax = (flags & SMTP_ADDR_SENDER) ?
	    &status_sender : &status_rcpt;
	bool utf8 = (flags & SMTP_ADDR_SMTPUTF8) != 0, eightbit;
	struct out lo, ao;
	size_t i, end, dstart;
	const char *dom;
	size_t dlen;

	memset(addr_r, 0, sizeof(*addr_r));
	*status_r = syntax;
	/* RFC 5321 4.5.3.1.3: the path, punctuation included. */
	if (len > SMTP_ADDR_PATH_MAX) {
		*reason_r = "path longer than 256 octets";
		return -1;
	}
	if (!utf8_valid(s, len, &eightbit)) {
		*reason_r = "malformed UTF-8 or 8-bit byte";
		return -1;
	}
	if (eightbit && !utf8) {
		*status_r = &status_utf8;
		*reason_r = "non-ASCII address without SMTPUTF8";
		return -1;
	}
	addr_r->utf8 = eightbit;

	if (len > 0 && s[0] == '<') {
		if (len < 2 || s[len - 1] != '>') {
			*reason_r = "missing '>'";
			return -1;
		}
		i = 1;
		end = len - 1;
	} else {
		if (!(flags & SMTP_ADDR_LENIENT)) {
			*reason_r = "missing '<'";
			return -1;
		}
		addr_r->no_brackets = true;
		i = 0;
		end = len;
	}
	if (i == end) {
		/* Reverse-path = Path / "<>" */
		if (!(flags & SMTP_ADDR_SENDER) || addr_r->no_brackets) {
			*reason_r = "empty address";
			return -1;
		}
		addr_r->is_null = true;
		return 0;
	}
	if (s[i] == '@') {
		if (skip_route(s, end, &i, utf8, reason_r) < 0)
			return -1;
		addr_r->had_route = true;
	}
	lo = (struct out){ addr_r->localpart, 0, sizeof(addr_r->localpart) };
	if (parse_local(s, end, &i, utf8, &lo, &addr_r->quoted, reason_r) < 0)
		return -1;
	if (i == end) {
		/* RFC 5321 4.1.1.3: "Postmaster" without a domain, any case. */
		bool postmaster = !(flags & SMTP_ADDR_SENDER) &&
		    str_casecmp(addr_r->localpart, "postmaster") == 0;

		if (addr_r->had_route ||
		    (!(flags & SMTP_ADDR_NODOMAIN) && !postmaster)) {
			*reason_r = "missing domain";
			return -1;
		}
		/*
		 * <"a@b"> would read as a@b in the internal form: refuse the
		 * ambiguity (found by fuzz_smtp_cmd).
		 */
		if (strchr(addr_r->localpart, '@') != NULL) {
			*reason_r = "'@' in local part of an address without domain";
			return -1;
		}
	} else {
		if (s[i] != '@') {
			*reason_r = "bad character in local part";
			return -1;
		}
		dstart = ++i;
		dom = s + dstart;
		dlen = end - dstart;
		if (dlen > SMTP_ADDR_DOMAIN_MAX) {
			*reason_r = "domain longer than 255 octets";
			return -1;
		}
		if (dlen > 0 && dom[0] == '[') {
			if (!literal_valid(dom, dlen, reason_r))
				return -1;
			addr_r->is_literal = true;
		} else if (!domain_valid(dom, dlen, utf8, reason_r)) {
			return -1;
		}
		memcpy(addr_r->domain, dom, dlen);
		addr_r->domain[dlen] = '\0';
		memcpy(addr_r->domain_lower, addr_r->domain, dlen + 1);
		str_lower(addr_r->domain_lower);
	}
	/* Cannot fail: both parts fit, see the array sizes. */
	ao = (struct out){ addr_r->addr, 0, sizeof(addr_r->addr) };
	(void)out_add(&ao, addr_r->localpart, lo.len);
	if (addr_r->domain[0] != '\0') {
		(void)out_add(&ao, "@", 1);
		(void)out_add(&ao, addr_r->domain, strlen(addr_r->domain));
	}
	return 0;
}

static bool
local_has_routing(const char *local, size_t len)
{
	return memchr(local, '@', len) != NULL || memchr(local, '%', len) !=
	    NULL || memchr(local, '!', len) != NULL;
}

bool
smtp_addr_has_routing(const struct smtp_addr *addr)
{
	return addr->had_route ||
	    local_has_routing(addr->localpart, strlen(addr->localpart));
}

bool
smtp_addr_internal_has_routing(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return local_has_routing(addr, at != NULL ? (size_t)(at - addr) :
	    strlen(addr));
}

bool
smtp_addr_local_needs_quotes(const char *local)
{
	const unsigned char *p = (const unsigned char *)local;
	unsigned char prev = '.';

	if (*p == '\0')
		return true;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (prev == '.')
				return true;
		} else if (!is_atext(*p) && *p < 0x80) {
			return true;
		}
		prev = *p;
	}
	return prev == '.';
}

int
smtp_addr_quote_local(const char *local, struct buf *out)
{
	size_t start = out->len;
	const char *p;

	if (!smtp_addr_local_needs_quotes(local))
		return buf_append_str(out, local);
	if (buf_append_char(out, '"') < 0)
		return -1;
	for (p = local; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\') && buf_append_char(out, '\\') < 0)
			goto fail;
		if (buf_append_char(out, *p) < 0)
			goto fail;
	}
	if (buf_append_char(out, '"') < 0)
		goto fail;
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

int
smtp_addr_externalize(const char *internal, struct buf *out)
{
	const char *at = strrchr(internal, '@');
	size_t start = out->len;
	char *local;
	int ret;

	if (at == NULL)
		return smtp_addr_quote_local(internal, out);
	local = xstrndup(internal, (size_t)(at - internal));
	ret = smtp_addr_quote_local(local, out);
	free(local);
	if (ret == 0 && buf_append_str(out, at) < 0)
		ret = -1;
	if (ret < 0)
		buf_truncate(out, start);
	return ret;
}

/*
 * RFC 5322 address-lists.  A tokenizer first turns the text into atoms,
 * quoted strings, domain literals and specials, dropping white space,
 * folding and comments (RFC 5322 3.2.2); a small recursive-descent parser
 * then reads the grammar of RFC 5322 3.4 over the tokens.
 */
enum tok_type {
	TOK_ATOM = 'a',		/* run of atext (and 8-bit bytes) */
	TOK_QSTRING = 'q',	/* quoted-string, unquoted, folding removed */
	TOK_LITERAL = 'l',	/* domain-literal with its brackets */
	TOK_ERROR = 'e',	/* a byte that fits nowhere */
	/* The specials used by the grammar stand for themselves: < > , : ; @ . */
};

struct tok {
	int type;
	bool space_before;	/* white space or a comment came before it */
	const char *s;		/* into the scratch copy, NUL-terminated */
	size_t len;
};

struct lparse {
	struct tok *t;
	size_t n;
	size_t cap;
	size_t i;
	struct smtp_addr_list *list;
	const char *error;
};

static void
tok_add(struct lparse *p, int type, const char *s, size_t len, bool *space)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->t = xreallocarray(p->t, p->cap, sizeof(*p->t));
	}
	p->t[p->n++] = (struct tok){ type, *space, s, len };
	*space = false;
}

/*
 * Tokenize S[0..LEN) into P; SCRATCH has 2*LEN+1 bytes and receives the
 * token texts (each NUL-terminated).
 * Returns -1 with P->error for an unterminated comment, quoted string or
 * literal; the tokens before it are kept, followed by a TOK_ERROR so that
 * the element it cut short fails.
 */
static int
tokenize(struct lparse *p, const char *s, size_t len, char *scratch)
{
	size_t i = 0, o = 0, start;
	unsigned char c;
	bool space = false;
	int depth;

	while (i < len) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = true;
			i++;
		} else if (c == '(') {
			/* comment, nested, with quoted-pair (RFC 5322 3.2.2) */
			for (depth = 0; i < len; i++) {
				if (s[i] == '\\')
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			if (i >= len) {
				p->error = "unterminated comment";
				tok_add(p, TOK_ERROR, s + len - 1, 1, &space);
				return -1;
			}
			space = true;
			i++;
		} else if (c == '"' || c == '[') {
			char close = c == '"' ? '"' : ']';

			start = o;
			if (c == '[')
				scratch[o++] = '[';
			for (i++; i < len && s[i] != close; i++) {
				if (s[i] == '\r' || s[i] == '\n')
					continue;	/* unfold */
				if (s[i] == '\\' && i + 1 < len)
					i++;
				scratch[o++] = s[i];
			}
			if (i >= len) {
				p->error = c == '"' ? "unterminated quoted string" :
				    "unterminated domain literal";
				tok_add(p, TOK_ERROR, s + len - 1, 1, &space);
				return -1;
			}
			i++;
			if (c == '[')
				scratch[o++] = ']';
			scratch[o++] = '\0';
			tok_add(p, c == '"' ? TOK_QSTRING : TOK_LITERAL,
			    scratch + start, o - start - 1, &space);
		} else if (strchr("<>,:;@.", c) != NULL && c != '\0') {
			tok_add(p, c, s + i, 1, &space);
			i++;
		} else if (is_atext(c) || c >= 0x80) {
			start = o;
			while (i < len && (is_atext((unsigned char)s[i]) ||
			    (unsigned char)s[i] >= 0x80))
				scratch[o++] = s[i++];
			scratch[o++] = '\0';
			tok_add(p, TOK_ATOM, scratch + start, o - start - 1, &space);
		} else {
			tok_add(p, TOK_ERROR, s + i, 1, &space);
			i++;
		}
	}
	return 0;
}

static int
cur(const struct lparse *p)
{
	return p->i < p->n ? p->t[p->i].type : 0;
}

static bool
is_word(int type)
{
	return type == TOK_ATOM || type == TOK_QSTRING;
}

/*
 * Join the phrase tokens [FROM, TO) into a display name: one space where
 * the text had white space, folding or a comment, and between two words
 * (quoted strings written together); '.' and '@' (obs-phrase, and the
 * common unquoted '@') as they are.  NULL when the range is empty.
 */
static char *
phrase_join(const struct lparse *p, size_t from, size_t to)
{
	struct buf b;
	char *out;
	size_t k;
	int prev = 0;

	if (from >= to)
		return NULL;
	buf_init(&b, 0);
	for (k = from; k < to; k++) {
		const struct tok *t = &p->t[k];

		if (k > from && (t->space_before ||
		    (is_word(t->type) && is_word(prev))))
			buf_append_char(&b, ' ');
		buf_append(&b, t->s, t->len);
		prev = t->type;
	}
	out = xmemdup0(b.data, b.len);
	buf_release(&b);
	return out;
}

/*
 * addr-spec = local-part "@" domain (RFC 5322 3.4.1), with obs-local-part
 * and obs-domain (words / atoms joined by dots, 4.4).  Repeated or
 * trailing dots are tolerated; two words in a row are not.  A missing
 * "@ domain" is accepted.
 */
static int
parse_addr_spec(struct lparse *p, const char *display, const char *group)
{
	struct buf local, domain;
	struct smtp_addr_entry *e;
	bool saw_word = false;
	int prev = 0;

	buf_init(&local, 0);
	buf_init(&domain, 0);
	while (is_word(cur(p)) || cur(p) == '.') {
		if (is_word(cur(p)) && is_word(prev)) {
			p->error = "two words in a row in local part";
			goto fail;
		}
		prev = cur(p);
		if (is_word(prev))
			saw_word = true;
		buf_append(&local, p->t[p->i].s, p->t[p->i].len);
		p->i++;
	}
	if (!saw_word) {
		p->error = "missing local part";
		goto fail;
	}
	if (cur(p) != '@' && memchr(local.data, '@', local.len) != NULL) {
		/* "a@b" alone would read as a@b: see smtp_addr_parse_path. */
		p->error = "'@' in local part of an address without domain";
		goto fail;
	}
	if (cur(p) == '@') {
		p->i++;
		if (cur(p) == TOK_LITERAL) {
			buf_append(&domain, p->t[p->i].s, p->t[p->i].len);
			p->i++;
		} else {
			prev = 0;
			while (cur(p) == TOK_ATOM || cur(p) == '.') {
				if (cur(p) == TOK_ATOM && prev == TOK_ATOM)
					break;
				prev = cur(p);
				buf_append(&domain, p->t[p->i].s,
				    p->t[p->i].len);
				p->i++;
			}
			if (prev != TOK_ATOM) {
				p->error = "bad or missing domain";
				goto fail;
			}
		}
	}
	if (p->list->n == p->list->cap) {
		p->list->cap = p->list->cap ? p->list->cap * 2 : 4;
		p->list->v = xreallocarray(p->list->v, p->list->cap,
		    sizeof(*p->list->v));
	}
	e = &p->list->v[p->list->n++];
	e->localpart = xmemdup0(local.data, local.len);
	e->domain = xmemdup0(domain.data, domain.len);
	e->domain_lower = str_lower(xmemdup0(domain.data, domain.len));
	if (domain.len > 0)
		buf_printf(&local, "@%s", domain.data);
	e->addr = xmemdup0(local.data, local.len);
	e->display_name = display != NULL ? xstrdup(display) : NULL;
	e->group = group != NULL ? xstrdup(group) : NULL;
	buf_release(&local);
	buf_release(&domain);
	return 0;
fail:
	buf_release(&local);
	buf_release(&domain);
	return -1;
}

static void
add_null(struct lparse *p, const char *display, const char *group)
{
	struct smtp_addr_entry *e;

	if (p->list->n == p->list->cap) {
		p->list->cap = p->list->cap ? p->list->cap * 2 : 4;
		p->list->v = xreallocarray(p->list->v, p->list->cap,
		    sizeof(*p->list->v));
	}
	e = &p->list->v[p->list->n++];
	e->addr = xstrdup("");
	e->localpart = xstrdup("");
	e->domain = xstrdup("");
	e->domain_lower = xstrdup("");
	e->display_name = display != NULL ? xstrdup(display) : NULL;
	e->group = group != NULL ? xstrdup(group) : NULL;
}

/*
 * angle-addr = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr, where
 * obs-angle-addr carries a route "@a,@b:" that is skipped (RFC 5322 4.4).
 * An empty "<>" gives an empty address (Return-Path style).
 */
static int
parse_angle(struct lparse *p, const char *display, const char *group)
{
	p->i++;		/* '<' */
	if (cur(p) == '@' || cur(p) == ',') {
		while (cur(p) == '@' || cur(p) == ',' || cur(p) == '.' ||
		    cur(p) == TOK_ATOM || cur(p) == TOK_LITERAL)
			p->i++;
		if (cur(p) != ':') {
			p->error = "bad route in angle address";
			return -1;
		}
		p->i++;
	}
	if (cur(p) == '>') {
		p->i++;
		add_null(p, display, group);
		return 0;
	}
	if (parse_addr_spec(p, display, group) < 0)
		return -1;
	if (cur(p) != '>') {
		p->error = "missing '>'";
		return -1;
	}
	p->i++;
	return 0;
}

/*
 * mailbox = name-addr / addr-spec; in a group the stop set includes ';'
 * and a nested group is an error.  IN_GROUP is the group name or NULL.
 */
static int
parse_mailbox(struct lparse *p, const char *group)
{
	size_t j, start = p->i;
	char *display;
	int ret;

	for (j = p->i; j < p->n; j++) {
		int t = p->t[j].type;

		if (t == '<' || t == ',' || t == ';' || t == ':' || t == '>')
			break;
	}
	if (j < p->n && p->t[j].type == '<') {
		display = phrase_join(p, start, j);
		p->i = j;
		ret = parse_angle(p, display, group);
		free(display);
		return ret;
	}
	return parse_addr_spec(p, NULL, group);
}

/* address = mailbox / group (RFC 5322 3.4) */
static int
parse_address(struct lparse *p)
{
	size_t j, start = p->i;
	char *group;
	int ret = 0;

	for (j = p->i; j < p->n; j++) {
		int t = p->t[j].type;

		if (t == '<' || t == ',' || t == ';' || t == ':' || t == '>')
			break;
	}
	if (j >= p->n || p->t[j].type != ':')
		return parse_mailbox(p, NULL);
	/* group = display-name ":" [group-list] ";" [CFWS] */
	if (j == start) {
		p->error = "group without a name";
		return -1;
	}
	group = phrase_join(p, start, j);
	p->i = j + 1;
	for (;;) {
		if (cur(p) == ';') {
			p->i++;
			break;
		}
		if (cur(p) == 0)
			break;	/* tolerated: the ';' is missing */
		if (cur(p) == ',') {
			p->i++;
			continue;
		}
		if ((ret = parse_mailbox(p, group)) < 0)
			break;
		if (cur(p) != ',' && cur(p) != ';' && cur(p) != 0) {
			p->error = "garbage after address in group";
			ret = -1;
			break;
		}
	}
	free(group);
	return ret;
}

void
smtp_addr_list_init(struct smtp_addr_list *list)
{
	list->v = NULL;
	list->n = 0;
	list->cap = 0;
}

/* Free the entries from index N on. */
static void
list_truncate(struct smtp_addr_list *list, size_t n)
{
	while (list->n > n) {
		struct smtp_addr_entry *e = &list->v[--list->n];

		free(e->addr);
		free(e->localpart);
		free(e->domain);
		free(e->domain_lower);
		free(e->display_name);
		free(e->group);
	}
}

void
smtp_addr_list_release(struct smtp_addr_list *list)
{
	list_truncate(list, 0);
	free(list->v);
	smtp_addr_list_init(list);
}

int
smtp_addr_list_parse(const char *s, size_t len,
    struct smtp_addr_list *list, const char **error_r)
{
	struct lparse p = { .list = list };
	/* A token's text (with its NUL) is at most twice its source. */
	char *scratch = xmalloc(2 * len + 1);
	const char *first_error = NULL;
	size_t n0;

	if (tokenize(&p, s, len, scratch) < 0)
		first_error = p.error;
	/* address-list = address *("," address) / obs-addr-list (4.4) */
	while (p.i < p.n) {
		if (cur(&p) == ',') {
			p.i++;
			continue;
		}
		p.error = NULL;
		n0 = list->n;
		if (parse_address(&p) == 0 && cur(&p) != ',' && cur(&p) != 0)
			p.error = "garbage after address";
		if (p.error != NULL) {
			/* The whole element (a whole group) goes. */
			list_truncate(list, n0);
			if (first_error == NULL)
				first_error = p.error;
			/* Resynchronise at the next ',' outside < >. */
			while (p.i < p.n && cur(&p) != ',') {
				if (cur(&p) == '<') {
					while (p.i < p.n && cur(&p) != '>')
						p.i++;
				}
				if (p.i < p.n)
					p.i++;
			}
		}
	}
	free(p.t);
	free(scratch);
	if (first_error != NULL) {
		*error_r = first_error;
		return -1;
	}
	return 0;
}
