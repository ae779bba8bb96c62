/*
 * dict_regexp - regexp: and pcre: table rules on PCRE2; see dict_regexp.h.
 *
 * The rule file is trusted as much as any table an administrator writes,
 * but its syntax is checked completely at load time; the keys matched at
 * lookup time come from the network (addresses, header lines), so matching
 * runs with PCRE2 match and depth limits: a pathological pattern costs a
 * warning, never an unbounded loop.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "dict_regexp.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "mapsrc.h"
#include "mem.h"
#include "str.h"

#define REGEXP_MATCH_LIMIT 1000000
#define REGEXP_DEPTH_LIMIT 10000
#define REGEXP_GROUP_MAX 65535

enum rule_op {
	RULE_MATCH,
	RULE_IF,
	RULE_ENDIF,
};

struct rule {
	enum rule_op op;
	bool negate;
	pcre2_code *code;
	char *result;		/* RULE_MATCH only; validated */
	unsigned long lineno;
	unsigned endif;		/* RULE_IF: index of its endif */
};

struct dict_regexp {
	char *name;
	struct rule *v;
	unsigned n, cap;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	uint32_t maxgroups;
	int last_rc;		/* pcre2_match() result of the last match */
};

static bool
re_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static bool
re_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static bool
re_keyword(const char *p, const char *kw)
{
	size_t n = strlen(kw);

	return str_ncasecmp(p, kw, n) == 0 && !re_alnum((unsigned char)p[n]);
}

/*
 * Parse "[!]<d>pattern<d>flags" at *PP and compile it; *PP moves past the
 * flags.  Returns the compiled pattern, or NULL with *error_r (without the
 * "NAME, line N: " prefix).
 */
static pcre2_code *
re_parse_pattern(char **pp, bool pcre, bool *negate_r, const char **error_r)
{
	char *p = *pp, *start;
	uint32_t opts = PCRE2_CASELESS;
	pcre2_code *code;
	PCRE2_SIZE erroff;
	size_t len;
	char delim;
	int errcode;

	*negate_r = false;
	if (*p == '!') {
		*negate_r = true;
		p++;
		while (re_blank((unsigned char)*p))
			p++;
	}
	delim = *p;
	if (delim == '\0') {
		*error_r = "missing pattern";
		return NULL;
	}
	if (delim == '\\') {
		*error_r = "a backslash cannot delimit a pattern";
		return NULL;
	}
	start = ++p;
	while (*p != '\0' && *p != delim) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		p++;
	}
	if (*p == '\0') {
		*error_r = err_fmt("missing closing delimiter '%c' of the "
		    "pattern", delim);
		return NULL;
	}
	len = (size_t)(p - start);
	for (p++; *p != '\0' && !re_blank((unsigned char)*p); p++) {
		switch (*p) {
		case 'i':
			opts ^= PCRE2_CASELESS;
			break;
		case 'm':
			opts ^= PCRE2_MULTILINE;
			break;
		case 's':
			opts ^= PCRE2_DOTALL;
			break;
		case 'x':
			opts ^= PCRE2_EXTENDED;
			break;
		case 'A':
			if (!pcre)
				goto bad_flag;
			opts ^= PCRE2_ANCHORED;
			break;
		case 'E':
			if (!pcre)
				goto bad_flag;
			opts ^= PCRE2_DOLLAR_ENDONLY;
			break;
		case 'U':
			if (!pcre)
				goto bad_flag;
			opts ^= PCRE2_UNGREEDY;
			break;
		default:
			goto bad_flag;
		}
	}
	code = pcre2_compile((PCRE2_SPTR)start, len, opts, &errcode, &erroff,
	    NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			str_copy((char *)msg, sizeof(msg), "unknown error");
		*error_r = err_fmt("bad pattern: %s at offset %zu", (char *)msg,
		    (size_t)erroff);
		return NULL;
	}
	*pp = p;
	return code;
bad_flag:
	*error_r = err_fmt("unknown pattern flag '%c'", *p);
	return NULL;
}

/*
 * Walk the $ sequences of RESULT.  With OUT NULL, only check them (group
 * numbers up to NGROUPS; none at all when NEGATE); otherwise append the
 * expansion using OVECTOR (RCOUNT pairs set).  Returns 0 or -1 with
 * *error_r.
 */
static int
re_expand(const char *s, uint32_t ngroups, bool negate, struct buf *out,
    const char *subject, const PCRE2_SIZE *ovector, int rcount,
    const char **error_r)
{
	while (*s != '\0') {
		const char *dollar = strchr(s, '$');
		unsigned long n = 0;
		char close = '\0';
		int digits = 0;

		if (dollar == NULL) {
			if (out != NULL)
				(void)buf_append_str(out, s);
			break;
		}
		if (out != NULL)
			(void)buf_append(out, s, (size_t)(dollar - s));
		s = dollar + 1;
		if (*s == '$') {
			if (out != NULL)
				(void)buf_append_char(out, '$');
			s++;
			continue;
		}
		if (*s == '{' || *s == '(') {
			close = *s == '{' ? '}' : ')';
			s++;
		}
		while (*s >= '0' && *s <= '9') {
			if (n <= REGEXP_GROUP_MAX)
				n = n * 10 + (unsigned long)(*s - '0');
			digits++;
			s++;
		}
		if (digits == 0 || (close != '\0' && *s != close)) {
			*error_r = "bad $ in result (write $$ for a dollar)";
			return -1;
		}
		if (close != '\0')
			s++;
		if (negate) {
			*error_r = "$number in the result of a negated pattern";
			return -1;
		}
		if (n > ngroups) {
			*error_r = err_fmt("$%lu: out of range (the pattern has "
			    "%u groups)", n, ngroups);
			return -1;
		}
		if (out != NULL && (int)n < rcount &&
		    ovector[2 * n] != PCRE2_UNSET)
			(void)buf_append(out, subject + ovector[2 * n],
			    ovector[2 * n + 1] - ovector[2 * n]);
	}
	return 0;
}

static struct rule *
re_add(struct dict_regexp *re, enum rule_op op, unsigned long lineno)
{
	struct rule *r;

	if (re->n == re->cap) {
		re->cap = re->cap == 0 ? 16 : re->cap * 2;
		re->v = xreallocarray(re->v, re->cap, sizeof(*re->v));
	}
	r = &re->v[re->n++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->lineno = lineno;
	return r;
}

struct dict_regexp *
dict_regexp_parse(struct mapsrc *src, bool pcre, const char **error_r)
{
	struct dict_regexp *re = xcalloc(1, sizeof(*re));
	unsigned *stack = NULL;
	size_t depth = 0, stack_cap = 0;
	const char *name = mapsrc_name(src), *why = NULL;
	unsigned long lineno = 0;
	char *line;
	size_t len;
	int r;

	re->name = xstrdup(name);
	while ((r = mapsrc_read_line(src, &line, &len, &lineno, error_r)) > 0) {
		char *p = line;
		struct rule *rule;
		pcre2_code *code;
		bool negate;
		uint32_t ngroups;

		if (re_keyword(p, "endif")) {
			for (p += 5; re_blank((unsigned char)*p); p++)
				;
			if (*p != '\0')
				log_warning("%s, line %lu: ignoring text after "
				    "endif", name, lineno);
			if (depth == 0) {
				why = "endif without if";
				goto syntax;
			}
			re->v[stack[--depth]].endif = re->n;
			(void)re_add(re, RULE_ENDIF, lineno);
			continue;
		}
		if (re_keyword(p, "if")) {
			for (p += 2; re_blank((unsigned char)*p); p++)
				;
			if ((code = re_parse_pattern(&p, pcre, &negate,
			    &why)) == NULL)
				goto syntax;
			rule = re_add(re, RULE_IF, lineno);
			rule->code = code;
			rule->negate = negate;
			while (re_blank((unsigned char)*p))
				p++;
			if (*p != '\0') {
				why = "text after the pattern of if";
				goto syntax;
			}
			if (depth == stack_cap) {
				stack_cap = stack_cap == 0 ? 8 : stack_cap * 2;
				stack = xreallocarray(stack, stack_cap,
				    sizeof(*stack));
			}
			stack[depth++] = re->n - 1;
			continue;
		}
		if ((code = re_parse_pattern(&p, pcre, &negate, &why)) == NULL)
			goto syntax;
		rule = re_add(re, RULE_MATCH, lineno);
		rule->code = code;
		rule->negate = negate;
		while (re_blank((unsigned char)*p))
			p++;
		if (*p == '\0')
			log_warning("%s, line %lu: no result after the pattern: "
			    "using an empty one", name, lineno);
		(void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT,
		    &ngroups);
		if (ngroups > re->maxgroups)
			re->maxgroups = ngroups;
		if (re_expand(p, ngroups, negate, NULL, NULL, NULL, 0,
		    &why) < 0)
			goto syntax;
		rule->result = xstrdup(p);
	}
	if (r < 0)
		goto fail;
	if (depth > 0) {
		*error_r = err_fmt("%s, line %lu: if without endif", name,
		    re->v[stack[depth - 1]].lineno);
		goto fail;
	}
	free(stack);
	re->md = pcre2_match_data_create(re->maxgroups + 1, NULL);
	re->mctx = pcre2_match_context_create(NULL);
	if (re->md == NULL || re->mctx == NULL)
		log_panic("dict_regexp: out of memory");
	(void)pcre2_set_match_limit(re->mctx, REGEXP_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(re->mctx, REGEXP_DEPTH_LIMIT);
	return re;
syntax:
	*error_r = err_fmt("%s, line %lu: %s", name, lineno, why);
fail:
	free(stack);
	dict_regexp_free(re);
	return NULL;
}

/* 1 when RULE's pattern matches KEY (before negation), else 0. */
static int
re_match(struct dict_regexp *re, const struct rule *rule, const char *key,
    size_t klen)
{
	int rc = pcre2_match(rule->code, (PCRE2_SPTR)key, klen, 0, 0, re->md,
	    re->mctx);

	re->last_rc = rc;
	if (rc >= 0)
		return 1;
	if (rc != PCRE2_ERROR_NOMATCH) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			str_copy((char *)msg, sizeof(msg), "unknown error");
		log_warning("%s, line %lu: matching failed: %s; treating as "
		    "no match", re->name, rule->lineno, (char *)msg);
	}
	return 0;
}

int
dict_regexp_lookup(struct dict_regexp *re, const char *key,
    struct buf *result)
{
	size_t klen = strlen(key);
	unsigned i = 0;

	while (i < re->n) {
		const struct rule *rule = &re->v[i];
		bool hit;

		if (rule->op == RULE_ENDIF) {
			i++;
			continue;
		}
		hit = re_match(re, rule, key, klen) != rule->negate;
		if (rule->op == RULE_IF) {
			i = hit ? i + 1 : rule->endif + 1;
			continue;
		}
		if (hit) {
			const char *unused;
			uint32_t ngroups = 0;

			(void)pcre2_pattern_info(rule->code,
			    PCRE2_INFO_CAPTURECOUNT, &ngroups);
			buf_reset(result);
			(void)re_expand(rule->result, ngroups, rule->negate,
			    result, key, pcre2_get_ovector_pointer(re->md),
			    rule->negate ? 0 : re->last_rc, &unused);
			return 1;
		}
		i++;
	}
	return 0;
}

unsigned
dict_regexp_count(const struct dict_regexp *re)
{
	return re->n;
}

void
dict_regexp_free(struct dict_regexp *re)
{
	if (re == NULL)
		return;
	for (unsigned i = 0; i < re->n; i++) {
		pcre2_code_free(re->v[i].code);
		free(re->v[i].result);
	}
	free(re->v);
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mctx);
	free(re->name);
	free(re);
}
