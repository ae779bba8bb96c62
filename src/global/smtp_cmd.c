/*
 * smtp_cmd - parser of SMTP command lines and assembler of SMTP replies;
 * see smtp_cmd.h.
 *
 * Command lines come from any client on the network, replies from any
 * server we deliver to: both may hold any byte, NUL included, and are
 * read only within the length given.  The command parser makes one
 * allocation, sized from the line before anything is stored in it, so no
 * pointer into it moves.
 */
#include "smtp_cmd.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hex.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

#define ST(name, code, enh, text) \
	static const struct smtp_status name = SMTP_STATUS_INIT(code, enh, text)

ST(st_bad_syntax, 500, "5.5.2", "Error: bad syntax");
ST(st_unknown, 502, "5.5.2", "Error: command not recognized");
ST(st_helo, 501, "5.5.2", "Syntax: HELO hostname");
ST(st_ehlo, 501, "5.5.2", "Syntax: EHLO hostname");
ST(st_mail, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
ST(st_rcpt, 501, "5.5.4", "Syntax: RCPT TO:<address>");
ST(st_data, 501, "5.5.4", "Syntax: DATA");
ST(st_rset, 501, "5.5.4", "Syntax: RSET");
ST(st_quit, 501, "5.5.4", "Syntax: QUIT");
ST(st_starttls, 501, "5.5.4", "Syntax: STARTTLS");
ST(st_vrfy, 501, "5.5.4", "Syntax: VRFY address");
ST(st_expn, 501, "5.5.4", "Syntax: EXPN address");
ST(st_auth, 501, "5.5.4", "Syntax: AUTH mechanism");
ST(st_bdat, 501, "5.5.4", "Syntax: BDAT count [LAST]");
/* RFC 5321 4.1.1.11: unrecognised MAIL/RCPT parameters get 555. */
ST(st_unsupported, 555, "5.5.4", "Unsupported option");
ST(st_param_syntax, 501, "5.5.4", "Bad ESMTP parameter syntax");
ST(st_duplicate, 501, "5.5.4", "Duplicate ESMTP parameter");
ST(st_size, 501, "5.5.4", "Bad message size syntax");
ST(st_body, 501, "5.5.4", "Bad BODY keyword value");
ST(st_ret, 501, "5.5.4", "Bad RET parameter syntax");
ST(st_envid, 501, "5.5.4", "Bad ENVID parameter syntax");
ST(st_auth_param, 501, "5.5.4", "Bad AUTH parameter syntax");
ST(st_notify, 501, "5.5.4", "Error: Bad NOTIFY parameter syntax");
ST(st_orcpt, 501, "5.5.4", "Error: Bad ORCPT parameter syntax");

enum arg_rule {
	ARG_NONE,	/* DATA, RSET, QUIT, STARTTLS */
	ARG_REQUIRED,	/* HELO, EHLO, VRFY, EXPN, AUTH */
	ARG_OPTIONAL,	/* NOOP, HELP */
	ARG_SPECIAL,	/* MAIL, RCPT, BDAT */
};

static const struct verb_info {
	const char *name;
	enum smtp_verb verb;
	enum arg_rule rule;
	const struct smtp_status *syntax;
} verbs[] = {
	{ "EHLO", SMTP_VERB_EHLO, ARG_REQUIRED, &st_ehlo },
	{ "HELO", SMTP_VERB_HELO, ARG_REQUIRED, &st_helo },
	{ "MAIL", SMTP_VERB_MAIL, ARG_SPECIAL, &st_mail },
	{ "RCPT", SMTP_VERB_RCPT, ARG_SPECIAL, &st_rcpt },
	{ "DATA", SMTP_VERB_DATA, ARG_NONE, &st_data },
	{ "BDAT", SMTP_VERB_BDAT, ARG_SPECIAL, &st_bdat },
	{ "RSET", SMTP_VERB_RSET, ARG_NONE, &st_rset },
	{ "NOOP", SMTP_VERB_NOOP, ARG_OPTIONAL, &st_bad_syntax },
	{ "QUIT", SMTP_VERB_QUIT, ARG_NONE, &st_quit },
	{ "VRFY", SMTP_VERB_VRFY, ARG_REQUIRED, &st_vrfy },
	{ "EXPN", SMTP_VERB_EXPN, ARG_REQUIRED, &st_expn },
	{ "HELP", SMTP_VERB_HELP, ARG_OPTIONAL, &st_bad_syntax },
	{ "STARTTLS", SMTP_VERB_STARTTLS, ARG_NONE, &st_starttls },
	{ "AUTH", SMTP_VERB_AUTH, ARG_REQUIRED, &st_auth },
};

const char *
smtp_verb_name(enum smtp_verb verb)
{
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (verbs[k].verb == verb)
			return verbs[k].name;
	return "";
}

static bool
is_ws(char c)
{
	/* Postfix tolerates tabs and runs of spaces between words. */
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Case-insensitive equality of S[0..N) and the NUL-terminated WORD. */
static bool
eq_nocase(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && str_ncasecmp(s, word, n) == 0;
}

/* Keep a copy of S[0..N) in the command's storage. */
static char *
store(struct smtp_cmd *cmd, size_t *pos, const char *s, size_t n)
{
	char *p = cmd->storage_ + *pos;

	memcpy(p, s, n);
	p[n] = '\0';
	*pos += n + 1;
	return p;
}

int
smtp_xtext_decode(const char *s, size_t len, struct buf *out)
{
	size_t start = out->len, i;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '+') {
			/* hexchar = ASCII "+" immediately followed by two HEX */
			if (len - i < 3)
				goto fail;
			hi = hex_digit_value(s[i + 1]);
			lo = hex_digit_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto fail;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			/* RFC 3461 4: decoded values are printable US-ASCII. */
			if (c < 32 || c > 126)
				goto fail;
		} else if (c < 33 || c > 126 || c == '=') {
			/* xchar = "!" through "~" except "+" and "=" */
			goto fail;
		}
		if (buf_append_char(out, (char)c) < 0)
			goto fail;
	}
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

int
smtp_xtext_encode(const char *s, size_t len, struct buf *out)
{
	size_t start = out->len;
	unsigned char c;

	for (size_t i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 33 && c <= 126 && c != '+' && c != '=') {
			if (buf_append_char(out, (char)c) < 0)
				goto fail;
		} else if (buf_printf(out, "+%02X", c) < 0) {
			goto fail;
		}
	}
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}

/* Decode xtext into the command's storage (never longer than the input). */
static char *
store_xtext(struct smtp_cmd *cmd, size_t *pos, const char *s, size_t n)
{
	struct buf b;
	char *p;

	buf_init(&b, n);
	if (smtp_xtext_decode(s, n, &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	p = store(cmd, pos, b.data, b.len);
	buf_release(&b);
	return p;
}

/* NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 4.1) */
static int
parse_notify(const char *v, size_t n, unsigned *notify_r)
{
	unsigned bits = 0, bit;
	size_t i = 0, j;

	for (;;) {
		for (j = i; j < n && v[j] != ','; j++)
			;
		if (eq_nocase(v + i, j - i, "NEVER"))
			bit = SMTP_NOTIFY_NEVER;
		else if (eq_nocase(v + i, j - i, "SUCCESS"))
			bit = SMTP_NOTIFY_SUCCESS;
		else if (eq_nocase(v + i, j - i, "FAILURE"))
			bit = SMTP_NOTIFY_FAILURE;
		else if (eq_nocase(v + i, j - i, "DELAY"))
			bit = SMTP_NOTIFY_DELAY;
		else
			return -1;
		if (bits & bit)
			return -1;
		bits |= bit;
		if (j >= n)
			break;
		i = j + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return -1;
	*notify_r = bits;
	return 0;
}

/*
 * One esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2) of
 * MAIL or RCPT.  Sets *STATUS_R and *REASON_R on failure.
 */
static int
parse_param(struct smtp_cmd *cmd, size_t *pos, const char *p, size_t n,
    const struct smtp_status **status_r, const char **reason_r)
{
	const char *key = p, *val = NULL;
	size_t klen, vlen = 0, i;
	bool mail = cmd->verb == SMTP_VERB_MAIL;

	for (klen = 0; klen < n && p[klen] != '='; klen++)
		;
	if (klen < n) {
		val = p + klen + 1;
		vlen = n - klen - 1;
	}
	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	for (i = 0; i < klen; i++)
		if (!is_alnum(key[i]) && (i == 0 || key[i] != '-'))
			break;
	if (klen == 0 || i < klen || (val != NULL && vlen == 0)) {
		*status_r = &st_param_syntax;
		*reason_r = err_fmt("bad parameter syntax: %.*s", (int)n, p);
		return -1;
	}
	/* esmtp-value = 1*(%d33-60 / %d62-126) */
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c < 33 || c > 126 || c == '=') {
			*status_r = &st_param_syntax;
			*reason_r = err_fmt("bad parameter value: %.*s",
			    (int)klen, key);
			return -1;
		}
	}

#define DUPLICATE(cond) do { if (cond) { \
	*status_r = &st_duplicate; \
	*reason_r = err_fmt("duplicate %.*s parameter", (int)klen, key); \
	return -1; } } while (0)
#define BAD(st, what) do { \
	*status_r = &(st); \
	*reason_r = (what); \
	return -1; } while (0)

	if (mail && eq_nocase(key, klen, "SIZE")) {
		/* RFC 1870 6: size-value = 1*20DIGIT */
		DUPLICATE(cmd->has_size);
		if (val == NULL || vlen > 20)
			BAD(st_size, "bad SIZE value");
		cmd->size = 0;
		for (i = 0; i < vlen; i++) {
			unsigned d = (unsigned)(val[i] - '0');

			if (!is_digit(val[i]))
				BAD(st_size, "bad SIZE value");
			/* Saturate: a size this large exceeds any limit. */
			if (cmd->size > (UINT64_MAX - d) / 10)
				cmd->size = UINT64_MAX;
			else
				cmd->size = cmd->size * 10 + d;
		}
		cmd->has_size = true;
	} else if (mail && eq_nocase(key, klen, "BODY")) {
		/* RFC 6152 2 (8BITMIME), RFC 3030 3 (BINARYMIME) */
		DUPLICATE(cmd->body != SMTP_BODY_NONE);
		if (val != NULL && eq_nocase(val, vlen, "7BIT"))
			cmd->body = SMTP_BODY_7BIT;
		else if (val != NULL && eq_nocase(val, vlen, "8BITMIME"))
			cmd->body = SMTP_BODY_8BITMIME;
		else if (val != NULL && eq_nocase(val, vlen, "BINARYMIME"))
			cmd->body = SMTP_BODY_BINARYMIME;
		else
			BAD(st_body, "bad BODY value");
	} else if (mail && eq_nocase(key, klen, "SMTPUTF8")) {
		/* RFC 6531 3.4: the parameter has no value. */
		DUPLICATE(cmd->smtputf8);
		if (val != NULL)
			BAD(st_param_syntax, "SMTPUTF8 takes no value");
		cmd->smtputf8 = true;
	} else if (mail && eq_nocase(key, klen, "RET")) {
		/* RFC 3461 4.3 */
		DUPLICATE(cmd->ret != SMTP_RET_NONE);
		if (val != NULL && eq_nocase(val, vlen, "FULL"))
			cmd->ret = SMTP_RET_FULL;
		else if (val != NULL && eq_nocase(val, vlen, "HDRS"))
			cmd->ret = SMTP_RET_HDRS;
		else
			BAD(st_ret, "bad RET value");
	} else if (mail && eq_nocase(key, klen, "ENVID")) {
		/* RFC 3461 4.4: xtext, at most 100 characters */
		DUPLICATE(cmd->envid != NULL);
		if (val == NULL || vlen > SMTP_CMD_ENVID_MAX ||
		    (cmd->envid = store_xtext(cmd, pos, val, vlen)) == NULL)
			BAD(st_envid, "bad ENVID value");
	} else if (mail && eq_nocase(key, klen, "AUTH")) {
		/* RFC 4954 5: AUTH=xtext(addr-spec) / "<>" */
		DUPLICATE(cmd->auth != NULL);
		if (val != NULL && vlen == 2 && memcmp(val, "<>", 2) == 0)
			cmd->auth = store(cmd, pos, val, vlen);
		else if (val == NULL ||
		    (cmd->auth = store_xtext(cmd, pos, val, vlen)) == NULL)
			BAD(st_auth_param, "bad AUTH value");
	} else if (!mail && eq_nocase(key, klen, "NOTIFY")) {
		DUPLICATE(cmd->notify != 0);
		if (val == NULL || parse_notify(val, vlen, &cmd->notify) < 0)
			BAD(st_notify, "bad NOTIFY value");
	} else if (!mail && eq_nocase(key, klen, "ORCPT")) {
		/*
		 * RFC 3461 4.2: addr-type ";" xtext, at most 500 characters;
		 * addr-type is an atom ("rfc822", "utf-8" of RFC 6533, whose
		 * own encoding inside the xtext is left to the caller).
		 */
		size_t semi;

		DUPLICATE(cmd->orcpt != NULL);
		if (val == NULL || vlen > SMTP_CMD_ORCPT_MAX)
			BAD(st_orcpt, "bad ORCPT value");
		for (semi = 0; semi < vlen && val[semi] != ';'; semi++)
			if (!is_alnum(val[semi]) && val[semi] != '-')
				break;
		if (semi == 0 || semi >= vlen - 1 || val[semi] != ';')
			BAD(st_orcpt, "bad ORCPT address type");
		cmd->orcpt_type = store(cmd, pos, val, semi);
		if ((cmd->orcpt = store_xtext(cmd, pos, val + semi + 1,
		    vlen - semi - 1)) == NULL)
			BAD(st_orcpt, "bad ORCPT address");
	} else {
		*status_r = &st_unsupported;
		*reason_r = err_fmt("unsupported option: %.*s", (int)n, p);
		return -1;
	}
	return 0;
#undef DUPLICATE
#undef BAD
}

/*
 * End of the path that starts at S[I], before END: after the first '>'
 * outside a quoted string when it starts with '<', else at the first
 * white space outside a quoted string.
 */
static size_t
path_end(const char *s, size_t i, size_t end)
{
	bool bracket = s[i] == '<', quoted = false;

	for (; i < end; i++) {
		if (quoted) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				quoted = false;
		} else if (s[i] == '"') {
			quoted = true;
		} else if (bracket && s[i] == '>') {
			return i + 1;
		} else if (!bracket && is_ws(s[i])) {
			return i;
		}
	}
	return end;
}

/* MAIL FROM:<path> [params] / RCPT TO:<path> [params] (RFC 5321 4.1.1.2-3) */
static int
parse_mail_rcpt(struct smtp_cmd *cmd, size_t *pos, const char *s,
    size_t i, size_t end, unsigned flags,
    const struct smtp_status **status_r, const char **reason_r)
{
	bool mail = cmd->verb == SMTP_VERB_MAIL;
	const char *kw = mail ? "FROM:" : "TO:";
	size_t kwlen = strlen(kw), pstart, pend, j;
	unsigned aflags = 0;

	*status_r = mail ? &st_mail : &st_rcpt;
	if (end - i < kwlen || str_ncasecmp(s + i, kw, kwlen) != 0) {
		*reason_r = mail ? "missing FROM:" : "missing TO:";
		return -1;
	}
	/* "MAIL FROM: <a@b>": the space is tolerated, as Postfix does. */
	for (i += kwlen; i < end && is_ws(s[i]); i++)
		;
	if (i >= end) {
		*reason_r = "missing address";
		return -1;
	}
	pstart = i;
	pend = path_end(s, i, end);
	if (pend < end && !is_ws(s[pend])) {
		*reason_r = "garbage after address";
		return -1;
	}
	for (i = pend; i < end;) {
		while (i < end && is_ws(s[i]))
			i++;
		for (j = i; j < end && !is_ws(s[j]); j++)
			;
		if (j > i && parse_param(cmd, pos, s + i, j - i, status_r,
		    reason_r) < 0)
			return -1;
		i = j;
	}
	if (mail)
		aflags |= SMTP_ADDR_SENDER;
	if ((mail && cmd->smtputf8) || (!mail && (flags & SMTP_CMD_SMTPUTF8)))
		aflags |= SMTP_ADDR_SMTPUTF8;
	if (flags & SMTP_CMD_LENIENT)
		aflags |= SMTP_ADDR_LENIENT;
	if (flags & SMTP_CMD_NODOMAIN)
		aflags |= SMTP_ADDR_NODOMAIN;
	return smtp_addr_parse_path(s + pstart, pend - pstart, aflags,
	    &cmd->path, status_r, reason_r);
}

/* BDAT chunk-size [ SP end-marker ] (RFC 3030 2) */
static int
parse_bdat(struct smtp_cmd *cmd, const char *s, size_t i, size_t end,
    const char **reason_r)
{
	char num[21];
	size_t j;
	const char *error;

	for (j = i; j < end && is_digit(s[j]); j++)
		;
	if (j == i || j - i >= sizeof(num) || (j < end && !is_ws(s[j]))) {
		*reason_r = "bad chunk size";
		return -1;
	}
	memcpy(num, s + i, j - i);
	num[j - i] = '\0';
	if (parse_uint(num, 0, UINT64_MAX, &cmd->chunk_size, &error) < 0) {
		*reason_r = "chunk size too large";
		return -1;
	}
	while (j < end && is_ws(s[j]))
		j++;
	if (j < end) {
		if (!eq_nocase(s + j, end - j, "LAST")) {
			*reason_r = "garbage after chunk size";
			return -1;
		}
		cmd->last = true;
	}
	return 0;
}

/* AUTH mechanism [initial-response] (RFC 4954 4) */
static int
parse_auth(struct smtp_cmd *cmd, size_t *pos, const char *s, size_t i,
    size_t end, const char **reason_r)
{
	size_t j, k;

	/* sasl-mech = 1*20(UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE) */
	for (j = i; j < end && !is_ws(s[j]); j++)
		if (!is_alnum(s[j]) && s[j] != '-' && s[j] != '_')
			break;
	if (j == i || j - i > 20 || (j < end && !is_ws(s[j]))) {
		*reason_r = "bad mechanism name";
		return -1;
	}
	cmd->auth_mech = store(cmd, pos, s + i, j - i);
	for (char *p = cmd->auth_mech; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	while (j < end && is_ws(s[j]))
		j++;
	if (j == end)
		return 0;
	/* initial-response = base64 / "=" */
	for (k = j; k < end; k++)
		if (!is_alnum(s[k]) && s[k] != '+' && s[k] != '/' && s[k] != '=')
			break;
	if (k < end) {
		*reason_r = "bad initial response";
		return -1;
	}
	cmd->auth_initial = store(cmd, pos, s + j, end - j);
	return 0;
}

int
smtp_cmd_parse(const char *line, size_t len, unsigned flags,
    struct smtp_cmd *cmd_r, const struct smtp_status **status_r,
    const char **reason_r)
{
	const struct verb_info *v = NULL;
	size_t i = 0, j, end = len, pos = 0;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->name = "";
	*status_r = &st_bad_syntax;
	if (len > 0 && line[len - 1] == '\r')
		end = --len;
	while (i < end && is_ws(line[i]))
		i++;
	while (end > i && is_ws(line[end - 1]))
		end--;
	if (i == end) {
		*reason_r = "empty command";
		return -1;
	}
	for (j = i; j < end && !is_ws(line[j]); j++)
		;
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (eq_nocase(line + i, j - i, verbs[k].name))
			v = &verbs[k];
	if (v == NULL) {
		*status_r = &st_unknown;
		*reason_r = "unknown command";
		return -1;
	}
	cmd_r->verb = v->verb;
	cmd_r->name = v->name;
	if (memchr(line, '\0', len) != NULL) {
		*reason_r = "NUL byte in command";
		return -1;
	}
	while (j < end && is_ws(line[j]))
		j++;
	/* Every string stored is a part of the line, and the arg the rest. */
	cmd_r->storage_ = xmalloc(2 * len + 16);
	if (j < end)
		cmd_r->arg = store(cmd_r, &pos, line + j, end - j);
	*status_r = v->syntax;
	switch (v->rule) {
	case ARG_NONE:
		if (j < end) {
			*reason_r = "unexpected argument";
			return -1;
		}
		return 0;
	case ARG_REQUIRED:
		if (j == end) {
			*reason_r = "missing argument";
			return -1;
		}
		if (v->verb == SMTP_VERB_AUTH)
			return parse_auth(cmd_r, &pos, line, j, end, reason_r);
		return 0;
	case ARG_OPTIONAL:
		return 0;
	case ARG_SPECIAL:
		break;
	}
	if (v->verb == SMTP_VERB_BDAT)
		return parse_bdat(cmd_r, line, j, end, reason_r);
	return parse_mail_rcpt(cmd_r, &pos, line, j, end, flags, status_r,
	    reason_r);
}

void
smtp_cmd_release(struct smtp_cmd *cmd)
{
	free(cmd->storage_);
	memset(cmd, 0, sizeof(*cmd));
	cmd->name = "";
}

void
smtp_reply_init(struct smtp_reply *r, size_t max_line, size_t max_text)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line ? max_line : SMTP_REPLY_LINE_MAX;
	buf_init(&r->text, max_text ? max_text : SMTP_REPLY_TEXT_MAX);
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	buf_reset(&r->text);
	r->lines = 0;
	r->complete = false;
}

void
smtp_reply_release(struct smtp_reply *r)
{
	buf_release(&r->text);
	memset(r, 0, sizeof(*r));
}

/*
 * Length of the enhanced status code at S[0..LEN) (RFC 3463 2: class "."
 * subject "." detail, subject and detail of 1-3 digits) followed by SP or
 * the end, or 0.  CLASS is the first digit of the reply code; RFC 2034 2
 * wants them equal, a mismatch is taken for plain text.
 */
static size_t
enhanced_len(const char *s, size_t len, char class)
{
	size_t i = 2, start, part;

	if (len < 5 || s[0] != class || s[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (start = i; i < len && is_digit(s[i]); i++)
			;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

int
smtp_reply_parse(struct smtp_reply *r, const char *line, size_t len,
    const char **error_r)
{
	int code;
	size_t i, elen;
	char sep;

	if (r->complete) {
		*error_r = "reply already complete";
		return -1;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > r->max_line) {
		*error_r = "reply line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in reply";
		return -1;
	}
	/*
	 * Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2); the
	 * separator is "-" on all but the last line, SP or nothing on it.
	 */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || !is_digit(line[2])) {
		*error_r = "malformed reply code";
		return -1;
	}
	sep = len > 3 ? line[3] : ' ';
	if (sep != ' ' && sep != '-') {
		*error_r = "malformed reply: bad separator after code";
		return -1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines > 0 && code != r->code) {
		*error_r = "inconsistent reply codes in multi-line reply";
		return -1;
	}
	i = len > 3 ? 4 : 3;
	elen = enhanced_len(line + i, len - i, line[0]);
	if (r->lines == 0) {
		r->code = code;
		if (elen > 0 && elen < sizeof(r->enhanced)) {
			memcpy(r->enhanced, line + i, elen);
			r->enhanced[elen] = '\0';
		}
	}
	/* RFC 2034 2: every line carries the code; only the text is kept. */
	if (elen > 0 && r->enhanced[0] != '\0') {
		i += elen;
		if (i < len)
			i++;
	}
	if ((r->lines > 0 && buf_append_char(&r->text, '\n') < 0) ||
	    buf_append(&r->text, line + i, len - i) < 0) {
		*error_r = "reply text too long";
		return -1;
	}
	r->lines++;
	if (sep == '-')
		return 0;
	r->complete = true;
	return 1;
}
