/*
 * psl - the Public Suffix List matcher (rules, wildcards, exceptions) and
 * the organizational domain of RFC 7489 3.2; see psl.h.
 *
 * Rules live in one hash map keyed by the rule as written ("co.uk",
 * "*.ck", "!www.ck"), in lower case and A-label form, so a lookup is one
 * probe per label of the name and kind of rule.
 */
#include "psl.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "mem.h"
#include "str.h"
#include "strmap.h"

#define PSL_FILE_MAX (16u * 1024 * 1024)
#define PSL_NAME_MAX 256

struct psl {
	struct strmap *rules;
};

/* ---- Punycode (RFC 3492 6.3) ---- */

enum {
	PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700,
	PC_BIAS = 72, PC_N = 128,
};

static uint32_t
pc_adapt(uint32_t delta, uint32_t points, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static char
pc_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* Decode UTF-8 IN[0..LEN) into CP (at most MAX); count, or -1. */
static long
utf8_decode(const unsigned char *in, size_t len, uint32_t *cp, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		uint32_t c = in[i];
		int more;

		if (c < 0x80)
			more = 0;
		else if ((c & 0xe0) == 0xc0) {
			more = 1;
			c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2;
			c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3;
			c &= 0x07;
		} else
			return -1;
		if (len - i - 1 < (size_t)more || n == max)
			return -1;
		for (int j = 1; j <= more; j++) {
			if ((in[i + (size_t)j] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (in[i + (size_t)j] & 0x3f);
		}
		if ((more == 1 && c < 0x80) || (more == 2 && c < 0x800) ||
		    (more == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			return -1;
		cp[n++] = c;
		i += (size_t)more + 1;
	}
	return (long)n;
}

int
psl_punycode_label(const char *in, size_t len, char *out, size_t size)
{
	uint32_t cp[PSL_NAME_MAX], n = PC_N, delta = 0, bias = PC_BIAS, h, b;
	size_t o = 0;
	long count;
	bool ascii = true;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			ascii = false;
	if (ascii) {
		if (len + 1 > size)
			return -1;
		memcpy(out, in, len);
		out[len] = '\0';
		return 0;
	}
	count = utf8_decode((const unsigned char *)in, len, cp, PSL_NAME_MAX);
	if (count <= 0)
		return -1;
#define PUT(ch) do { if (o + 1 >= size) return -1; out[o++] = (ch); } while (0)
	PUT('x'); PUT('n'); PUT('-'); PUT('-');
	for (long i = 0; i < count; i++)
		if (cp[i] < 0x80)
			PUT((char)cp[i]);
	h = b = (uint32_t)(o - 4);
	if (b > 0)
		PUT('-');
	while (h < (uint32_t)count) {
		uint32_t m = UINT32_MAX;

		for (long i = 0; i < count; i++)
			if (cp[i] >= n && cp[i] < m)
				m = cp[i];
		if ((m - n) > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - n) * (h + 1);
		n = m;
		for (long i = 0; i < count; i++) {
			if (cp[i] < n && ++delta == 0)
				return -1;
			if (cp[i] == n) {
				uint32_t q = delta;

				for (uint32_t k = PC_BASE;; k += PC_BASE) {
					uint32_t t = k <= bias ? PC_TMIN :
					    k >= bias + PC_TMAX ? PC_TMAX :
					    k - bias;

					if (q < t)
						break;
					PUT(pc_digit(t + (q - t) %
					    (PC_BASE - t)));
					q = (q - t) / (PC_BASE - t);
				}
				PUT(pc_digit(q));
				bias = pc_adapt(delta, h + 1, h == b);
				delta = 0;
				h++;
			}
		}
		delta++;
		n++;
	}
#undef PUT
	out[o] = '\0';
	return 0;
}

/* ---- the list ---- */

/* RULE (one token of the file) in lower-case A-label form into OUT. */
static int
rule_normalise(const char *rule, struct buf *out)
{
	char label[PSL_NAME_MAX];

	buf_reset(out);
	for (const char *p = rule; *p;) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n >= PSL_NAME_MAX ||
		    psl_punycode_label(p, n, label, sizeof(label)) < 0)
			return -1;
		if (out->len > 0)
			buf_append_char(out, '.');
		buf_append_str(out, label);
		p += n;
		if (*p == '.')
			p++;
	}
	str_lower(out->data);
	return out->len > 0 && out->len < PSL_NAME_MAX ? 0 : -1;
}

struct psl *
psl_parse(const char *text, size_t len)
{
	struct psl *l = xcalloc(1, sizeof(*l));
	struct buf line, norm;
	size_t i = 0;

	l->rules = strmap_new();
	buf_init(&line, 0);
	buf_init(&norm, 0);
	while (i < len) {
		size_t end = i, start;
		const char *tok;
		size_t tlen;

		while (end < len && text[end] != '\n')
			end++;
		start = i;
		i = end + 1;
		/* the rule is the line's first white-space-delimited token */
		while (start < end && (text[start] == ' ' ||
		    text[start] == '\t' || text[start] == '\r'))
			start++;
		tok = text + start;
		tlen = 0;
		while (start + tlen < end && tok[tlen] != ' ' &&
		    tok[tlen] != '\t' && tok[tlen] != '\r')
			tlen++;
		if (tlen == 0 || tlen >= PSL_NAME_MAX ||
		    (tlen >= 2 && tok[0] == '/' && tok[1] == '/') ||
		    memchr(tok, '\0', tlen) != NULL)
			continue;
		buf_reset(&line);
		buf_append(&line, tok, tlen);
		{
			const char *body = line.data;
			const char *prefix = "";

			if (body[0] == '!') {
				prefix = "!";
				body++;
			} else if (body[0] == '*' && body[1] == '.') {
				prefix = "*.";
				body += 2;
			}
			if (rule_normalise(body, &norm) < 0 ||
			    strchr(norm.data, '*') != NULL ||
			    strchr(norm.data, '!') != NULL)
				continue;
			buf_reset(&line);
			buf_append_str(&line, prefix);
			buf_append_str(&line, norm.data);
			strmap_add(l->rules, line.data, "");
		}
	}
	buf_release(&line);
	buf_release(&norm);
	return l;
}

struct psl *
psl_load(const char *path, const char **error_r)
{
	struct buf text;
	struct psl *l;

	if (path == NULL)
		path = PSL_DEFAULT_FILE;
	buf_init(&text, 0);
	if (file_read_all(path, &text, PSL_FILE_MAX, error_r) < 0) {
		buf_release(&text);
		return NULL;
	}
	l = psl_parse(text.data, text.len);
	buf_release(&text);
	if (strmap_count(l->rules) == 0) {
		*error_r = err_fmt("%s: no public suffix rules", path);
		psl_free(l);
		return NULL;
	}
	return l;
}

void
psl_free(struct psl *l)
{
	if (l == NULL)
		return;
	strmap_free(l->rules);
	free(l);
}

size_t
psl_count(const struct psl *l)
{
	return strmap_count(l->rules);
}

static bool
rule_has(const struct psl *l, const char *prefix, const char *name,
    size_t len)
{
	char key[PSL_NAME_MAX + 4];
	size_t pl = strlen(prefix);

	if (pl + len + 1 > sizeof(key))
		return false;
	memcpy(key, prefix, pl);
	for (size_t i = 0; i < len; i++)
		key[pl + i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ?
		    name[i] + 32 : name[i]);
	key[pl + len] = '\0';
	return strmap_get(l->rules, key) != NULL;
}

/*
 * The offsets where the labels of DOMAIN[0..LEN) start, into STARTS
 * (at most MAX); the count.
 */
static size_t
label_starts(const char *domain, size_t len, size_t *starts, size_t max)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	starts[n++] = 0;
	for (size_t i = 0; i < len && n < max; i++)
		if (domain[i] == '.' && i + 1 < len)
			starts[n++] = i + 1;
	return n;
}

/* Offset into DOMAIN where its public suffix starts. */
static size_t
suffix_start(const struct psl *l, const char *domain, size_t len)
{
	size_t starts[PSL_NAME_MAX], n;

	n = label_starts(domain, len, starts, PSL_NAME_MAX);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = domain + starts[i];
		size_t sl = len - starts[i];

		/* an exception: the suffix is the rule minus its first label */
		if (rule_has(l, "!", s, sl))
			return i + 1 < n ? starts[i + 1] : starts[i];
		if (rule_has(l, "", s, sl))
			return starts[i];
		if (i + 1 < n && rule_has(l, "*.", domain + starts[i + 1],
		    len - starts[i + 1]))
			return starts[i];
	}
	return starts[n - 1];	/* the implicit rule "*" */
}

static size_t
name_len(const char *domain)
{
	size_t len = strlen(domain);

	if (len > 1 && domain[len - 1] == '.')
		len--;
	return len;
}

const char *
psl_public_suffix(const struct psl *l, const char *domain)
{
	return domain + suffix_start(l, domain, name_len(domain));
}

const char *
psl_org_domain(const struct psl *l, const char *domain)
{
	size_t len = name_len(domain), s = suffix_start(l, domain, len);

	if (s < 2)
		return domain;	/* the name is itself a public suffix */
	/* one more label to the left: back over the dot, then its label */
	for (size_t i = s - 1; i > 0; i--)
		if (domain[i - 1] == '.')
			return domain + i;
	return domain;
}
