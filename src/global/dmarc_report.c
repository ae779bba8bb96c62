/*
 * dmarc_report - DMARC aggregate reports (RFC 7489 7.2, appendix C):
 * recorded-line parser, grouping, rua= URIs, XML, gzip and the report
 * message; see dmarc_report.h.
 *
 * Distrusts the recorded lines (peer text, half-written tails): every
 * field is decoded and checked with explicit bounds, and everything
 * written into XML or a header is escaped or replaced.
 */
#include "dmarc_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "hex.h"
#include "mem.h"
#include "parse.h"
#include "spf.h"
#include "str.h"

#define SECONDS_PER_DAY 86400

/* The fields of a line, in the order dmarc_report_append writes them. */
enum field {
	F_TIME, F_IP, F_HEADER_FROM, F_POLICY_DOMAIN, F_P, F_SP, F_PCT,
	F_ADKIM, F_ASPF, F_RESULT, F_DISPOSITION, F_SAMPLED_OUT, F_DKIM,
	F_DKIM_DOMAINS, F_DKIM_ALIGNED, F_SPF, F_SPF_DOMAIN, F_SPF_ALIGNED,
	F_RUA, F_FO, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"time", "ip", "header_from", "policy_domain", "p", "sp", "pct",
	"adkim", "aspf", "result", "disposition", "sampled_out", "dkim",
	"dkim_domains", "dkim_aligned", "spf", "spf_domain", "spf_aligned",
	"rua", "fo",
};

/* Fields a line must have (the others have defaults). */
static const bool field_required[F_COUNT] = {
	[F_TIME] = true, [F_IP] = true, [F_HEADER_FROM] = true,
	[F_POLICY_DOMAIN] = true, [F_P] = true, [F_RESULT] = true,
	[F_DISPOSITION] = true,
};

/*
 * Decode a recorded value V[0..LEN): %XX escapes; "-" means absent
 * (NULL).  -1 for a bad escape or an escaped NUL.
 */
static int
value_decode(const char *v, size_t len, char **out_r)
{
	char *out, *o;

	*out_r = NULL;
	if (len == 1 && v[0] == '-')
		return 0;
	out = o = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (v[i] != '%') {
			*o++ = v[i];
			continue;
		}
		if (len - i < 3 || (hi = hex_digit_value(v[i + 1])) < 0 ||
		    (lo = hex_digit_value(v[i + 2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			free(out);
			return -1;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	*out_r = out;
	return 0;
}

static int
policy_parse(const char *s, enum dmarc_policy *p_r)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "none") == 0)
		*p_r = DMARC_POLICY_NONE;
	else if (strcmp(s, "quarantine") == 0)
		*p_r = DMARC_POLICY_QUARANTINE;
	else if (strcmp(s, "reject") == 0)
		*p_r = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static int
result_parse(const char *s, enum dmarc_result *r_r)
{
	static const enum dmarc_result all[] = { DMARC_RESULT_NONE,
	    DMARC_RESULT_PASS, DMARC_RESULT_FAIL, DMARC_RESULT_TEMPERROR,
	    DMARC_RESULT_PERMERROR };

	for (size_t i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, dmarc_result_name(all[i])) == 0) {
			*r_r = all[i];
			return 0;
		}
	return -1;
}

/* yes/no; absent: DEF. */
static int
yesno_parse(const char *s, bool def, bool *b_r)
{
	if (s == NULL)
		*b_r = def;
	else if (strcmp(s, "yes") == 0)
		*b_r = true;
	else if (strcmp(s, "no") == 0)
		*b_r = false;
	else
		return -1;
	return 0;
}

/* r/s; absent: relaxed. */
static int
align_parse(const char *s, bool *strict_r)
{
	if (s == NULL || strcmp(s, "r") == 0)
		*strict_r = false;
	else if (strcmp(s, "s") == 0)
		*strict_r = true;
	else
		return -1;
	return 0;
}

/*
 * No controls, no space: what names may hold.  Bytes over 0x7f pass (a
 * UTF-8 name is still a message to count); the XML shows them as '?'.
 */
static bool
token_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

void
dmarc_report_entry_release(struct dmarc_report_entry *e)
{
	free(e->ip);
	free(e->header_from);
	free(e->policy_domain);
	free(e->dkim_domains);
	free(e->spf_domain);
	free(e->rua);
	free(e->fo);
	memset(e, 0, sizeof(*e));
}

static int
entry_fill(struct dmarc_report_entry *e, char **v, const char **error_r)
{
	uint64_t n;
	enum spf_result spf = SPF_NONE;
	const char *err;

	if (parse_uint(v[F_TIME], 0, INT64_MAX / 2, &n, &err) < 0) {
		*error_r = "bad time= value";
		return -1;
	}
	e->time = (int64_t)n;
	if (!token_ok(v[F_IP]) || strlen(v[F_IP]) > 64) {
		*error_r = "bad ip= value";
		return -1;
	}
	if (!token_ok(v[F_HEADER_FROM]) || strlen(v[F_HEADER_FROM]) > 255) {
		*error_r = "bad header_from= value";
		return -1;
	}
	if (!token_ok(v[F_POLICY_DOMAIN]) ||
	    strlen(v[F_POLICY_DOMAIN]) > 255) {
		*error_r = "bad policy_domain= value";
		return -1;
	}
	if (policy_parse(v[F_P], &e->p) < 0) {
		*error_r = "bad p= value";
		return -1;
	}
	e->sp = e->p;
	if (v[F_SP] != NULL && policy_parse(v[F_SP], &e->sp) < 0) {
		*error_r = "bad sp= value";
		return -1;
	}
	e->pct = 100;
	if (v[F_PCT] != NULL) {
		if (parse_uint(v[F_PCT], 0, 100, &n, &err) < 0) {
			*error_r = "bad pct= value";
			return -1;
		}
		e->pct = (unsigned)n;
	}
	if (align_parse(v[F_ADKIM], &e->adkim_strict) < 0 ||
	    align_parse(v[F_ASPF], &e->aspf_strict) < 0) {
		*error_r = "bad adkim= or aspf= value";
		return -1;
	}
	if (result_parse(v[F_RESULT], &e->result) < 0) {
		*error_r = "bad result= value";
		return -1;
	}
	if (policy_parse(v[F_DISPOSITION], &e->disposition) < 0) {
		*error_r = "bad disposition= value";
		return -1;
	}
	if (yesno_parse(v[F_SAMPLED_OUT], false, &e->sampled_out) < 0 ||
	    yesno_parse(v[F_DKIM_ALIGNED], false, &e->dkim_aligned) < 0 ||
	    yesno_parse(v[F_SPF_ALIGNED], false, &e->spf_aligned) < 0) {
		*error_r = "bad yes/no value";
		return -1;
	}
	if (v[F_DKIM] == NULL || strcmp(v[F_DKIM], "none") == 0)
		e->dkim_pass = false;
	else if (strcmp(v[F_DKIM], "pass") == 0)
		e->dkim_pass = true;
	else {
		*error_r = "bad dkim= value";
		return -1;
	}
	if (v[F_DKIM_DOMAINS] != NULL && (!token_ok(v[F_DKIM_DOMAINS]) ||
	    strlen(v[F_DKIM_DOMAINS]) > 4096)) {
		*error_r = "bad dkim_domains= value";
		return -1;
	}
	if (v[F_SPF] != NULL && (spf_result_parse(v[F_SPF], &spf) < 0 ||
	    strcmp(v[F_SPF], spf_result_name(spf)) != 0)) {
		*error_r = "bad spf= value";
		return -1;
	}
	e->spf = spf_result_name(spf);
	if (v[F_SPF_DOMAIN] != NULL && (!token_ok(v[F_SPF_DOMAIN]) ||
	    strlen(v[F_SPF_DOMAIN]) > 255)) {
		*error_r = "bad spf_domain= value";
		return -1;
	}
	if (v[F_FO] != NULL && (!token_ok(v[F_FO]) || strlen(v[F_FO]) > 32)) {
		*error_r = "bad fo= value";
		return -1;
	}
	/* rua may hold anything a DNS record held; it is parsed later. */
	e->ip = v[F_IP];
	e->header_from = str_lower(v[F_HEADER_FROM]);
	e->policy_domain = str_lower(v[F_POLICY_DOMAIN]);
	e->dkim_domains = v[F_DKIM_DOMAINS] != NULL ?
	    str_lower(v[F_DKIM_DOMAINS]) : NULL;
	e->spf_domain = v[F_SPF_DOMAIN] != NULL ?
	    str_lower(v[F_SPF_DOMAIN]) : NULL;
	e->rua = v[F_RUA];
	e->fo = v[F_FO] != NULL ? v[F_FO] : xstrdup("0");
	v[F_IP] = v[F_HEADER_FROM] = v[F_POLICY_DOMAIN] = NULL;
	v[F_DKIM_DOMAINS] = v[F_SPF_DOMAIN] = v[F_RUA] = v[F_FO] = NULL;
	return 0;
}

int
dmarc_report_line_parse(const char *line, size_t len,
    struct dmarc_report_entry *e, const char **error_r)
{
	char *v[F_COUNT];
	bool seen[F_COUNT];
	size_t pos = 0;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	memset(v, 0, sizeof(v));
	memset(seen, 0, sizeof(seen));
	if (len > DMARC_REPORT_LINE_MAX) {
		*error_r = "line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in line";
		return -1;
	}
	while (pos < len) {
		const char *f = line + pos, *tab, *eq;
		size_t flen;
		int k = -1;

		tab = memchr(f, '\t', len - pos);
		flen = tab != NULL ? (size_t)(tab - f) : len - pos;
		pos += flen + (tab != NULL ? 1 : 0);
		eq = memchr(f, '=', flen);
		if (eq == NULL) {
			*error_r = "field without '='";
			goto out;
		}
		for (int i = 0; i < F_COUNT; i++)
			if (strlen(field_names[i]) == (size_t)(eq - f) &&
			    memcmp(field_names[i], f, (size_t)(eq - f)) == 0)
				k = i;
		if (k < 0)
			continue;	/* a field of a later version */
		if (seen[k]) {
			*error_r = err_fmt("%s= given twice", field_names[k]);
			goto out;
		}
		seen[k] = true;
		if (value_decode(eq + 1, flen - (size_t)(eq + 1 - f),
		    &v[k]) < 0) {
			*error_r = err_fmt("bad %%-escape in %s=",
			    field_names[k]);
			goto out;
		}
	}
	for (int i = 0; i < F_COUNT; i++)
		if (field_required[i] && v[i] == NULL) {
			*error_r = err_fmt("no %s= value", field_names[i]);
			goto out;
		}
	if (entry_fill(e, v, error_r) < 0) {
		dmarc_report_entry_release(e);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < F_COUNT; i++)
		free(v[i]);
	return rc;
}

/* ---- grouping ---- */

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static char *
str_dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
dmarc_report_set_init(struct dmarc_report_set *s)
{
	memset(s, 0, sizeof(*s));
}

void
dmarc_report_set_release(struct dmarc_report_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct dmarc_report *r = &s->reports[i];

		for (size_t j = 0; j < r->n_rows; j++) {
			free(r->rows[j].source_ip);
			free(r->rows[j].header_from);
			free(r->rows[j].dkim_domains);
			free(r->rows[j].spf_domain);
		}
		free(r->rows);
		free(r->policy_domain);
		free(r->fo);
		free(r->rua);
	}
	free(s->reports);
	memset(s, 0, sizeof(*s));
}

static void
report_policy_set(struct dmarc_report *r, const struct dmarc_report_entry *e)
{
	r->p = e->p;
	r->sp = e->sp;
	r->pct = e->pct;
	r->adkim_strict = e->adkim_strict;
	r->aspf_strict = e->aspf_strict;
	free(r->fo);
	r->fo = xstrdup(e->fo);
	free(r->rua);
	r->rua = str_dup_or_null(e->rua);
	r->rua_time = e->time;
}

void
dmarc_report_set_add(struct dmarc_report_set *s,
    const struct dmarc_report_entry *e)
{
	struct dmarc_report *r = NULL;
	struct dmarc_report_row *row = NULL;
	int64_t day = e->time / SECONDS_PER_DAY;

	for (size_t i = 0; i < s->n && r == NULL; i++)
		if (s->reports[i].day == day &&
		    strcmp(s->reports[i].policy_domain, e->policy_domain) == 0)
			r = &s->reports[i];
	if (r == NULL) {
		s->reports = xreallocarray(s->reports, s->n + 1,
		    sizeof(*s->reports));
		r = &s->reports[s->n++];
		memset(r, 0, sizeof(*r));
		r->policy_domain = xstrdup(e->policy_domain);
		r->day = day;
		r->begin = r->end = e->time;
		report_policy_set(r, e);
	}
	/* The policy published: the latest line's (the record may change). */
	if (e->time >= r->rua_time)
		report_policy_set(r, e);
	if (e->time < r->begin)
		r->begin = e->time;
	if (e->time > r->end)
		r->end = e->time;
	for (size_t j = 0; j < r->n_rows && row == NULL; j++) {
		struct dmarc_report_row *w = &r->rows[j];

		if (strcmp(w->source_ip, e->ip) == 0 &&
		    w->disposition == e->disposition &&
		    w->dkim_aligned == e->dkim_aligned &&
		    w->spf_aligned == e->spf_aligned &&
		    w->sampled_out == e->sampled_out &&
		    strcmp(w->header_from, e->header_from) == 0 &&
		    str_eq(w->dkim_domains, e->dkim_domains) &&
		    w->spf == e->spf && str_eq(w->spf_domain, e->spf_domain))
			row = w;
	}
	if (row == NULL) {
		r->rows = xreallocarray(r->rows, r->n_rows + 1,
		    sizeof(*r->rows));
		row = &r->rows[r->n_rows++];
		memset(row, 0, sizeof(*row));
		row->source_ip = xstrdup(e->ip);
		row->disposition = e->disposition;
		row->dkim_aligned = e->dkim_aligned;
		row->spf_aligned = e->spf_aligned;
		row->sampled_out = e->sampled_out;
		row->header_from = xstrdup(e->header_from);
		row->dkim_domains = str_dup_or_null(e->dkim_domains);
		row->spf = e->spf;
		row->spf_domain = str_dup_or_null(e->spf_domain);
	}
	row->count++;
	r->messages++;
}

size_t
dmarc_report_set_read(struct dmarc_report_set *s, const char *text,
    size_t len, dmarc_report_bad_line *bad, void *arg)
{
	size_t pos = 0;
	unsigned long lineno = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen;
		struct dmarc_report_entry e;
		const char *err;

		if (nl == NULL)
			break;		/* a half-written tail */
		llen = (size_t)(nl - (text + pos));
		lineno++;
		if (llen > 0) {
			s->lines++;
			if (dmarc_report_line_parse(text + pos, llen, &e,
			    &err) < 0) {
				s->bad++;
				if (bad != NULL)
					bad(lineno, err, arg);
			} else {
				dmarc_report_set_add(s, &e);
				dmarc_report_entry_release(&e);
			}
		}
		pos += llen + 1;
	}
	return pos;
}

/* ---- rua= ---- */

static void
warn_add(struct buf *w, const char *text)
{
	if (w == NULL)
		return;
	if (w->len > 0)
		buf_append_str(w, "; ");
	buf_append_str(w, text);
}

/* A plain address local@domain, printable, no specials that mislead. */
static bool
address_ok(const char *a)
{
	const char *at = strrchr(a, '@');

	if (at == NULL || at != strchr(a, '@') || at == a || at[1] == '\0' ||
	    strlen(a) > 254)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[]\\,;:\"", *p) != NULL)
			return false;
	return at[1] != '.' && strstr(at + 1, "..") == NULL;
}

/* One dmarc-uri (RFC 7489 6.2): URI [ "!" 1*DIGIT [ k / m / g / t ] ]. */
static int
uri_parse(const char *u, size_t len, struct dmarc_report_uri *out,
    struct buf *warnings)
{
	const char *bang = memchr(u, '!', len);
	size_t ulen = bang != NULL ? (size_t)(bang - u) : len;
	char *addr, *q;
	uint64_t size = 0;

	if (ulen < 7 || str_ncasecmp(u, "mailto:", 7) != 0) {
		char *t = xmemdup0(u, ulen > 64 ? 64 : ulen);

		for (char *p = t; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		warn_add(warnings, err_fmt("not a mailto: URI: %s", t));
		free(t);
		return -1;
	}
	if (bang != NULL) {
		const char *d = bang + 1, *end = u + len;
		uint64_t mult = 1;
		char num[24];
		size_t nlen;
		const char *err;

		if (end > d && strchr("kmgtKMGT", end[-1]) != NULL) {
			switch (end[-1] | 0x20) {
			case 'k': mult = 1ULL << 10; break;
			case 'm': mult = 1ULL << 20; break;
			case 'g': mult = 1ULL << 30; break;
			default: mult = 1ULL << 40; break;
			}
			end--;
		}
		nlen = (size_t)(end - d);
		if (nlen == 0 || nlen >= sizeof(num)) {
			warn_add(warnings, "bad size limit in a rua URI");
			return -1;
		}
		memcpy(num, d, nlen);
		num[nlen] = '\0';
		if (parse_uint(num, 1, UINT64_MAX >> 40, &size, &err) < 0) {
			warn_add(warnings, "bad size limit in a rua URI");
			return -1;
		}
		size *= mult;
	}
	/* mailto: addr-spec, %-encoded (RFC 6068); "?" starts hfields. */
	q = memchr(u + 7, '?', ulen - 7);
	if (q != NULL)
		ulen = (size_t)(q - u);
	if (value_decode(u + 7, ulen - 7, &addr) < 0 || addr == NULL ||
	    !address_ok(addr)) {
		free(addr);
		warn_add(warnings, "bad address in a mailto: URI");
		return -1;
	}
	out->address = addr;
	out->max_size = size;
	return 0;
}

void
dmarc_report_rua_parse(const char *rua, struct dmarc_report_uri *uris,
    size_t max, size_t *n_r, struct buf *warnings)
{
	const char *p = rua;

	*n_r = 0;
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > p) {
			if (*n_r >= max) {
				warn_add(warnings, err_fmt("more than %zu rua "
				    "URIs: the others are ignored", max));
				return;
			}
			if (uri_parse(p, (size_t)(end - p), &uris[*n_r],
			    warnings) == 0)
				(*n_r)++;
		}
		p = comma != NULL ? comma + 1 : NULL;
	}
}

/* ---- XML ---- */

/* Text content: &<>"' escaped, bytes outside printable ASCII as '?'. */
static void
xml_text(struct buf *out, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '&')
			buf_append_str(out, "&amp;");
		else if (c == '<')
			buf_append_str(out, "&lt;");
		else if (c == '>')
			buf_append_str(out, "&gt;");
		else if (c == '"')
			buf_append_str(out, "&quot;");
		else if (c == '\'')
			buf_append_str(out, "&apos;");
		else if (c < 0x20 || c > 0x7e)
			buf_append_char(out, '?');
		else
			buf_append_char(out, (char)c);
	}
}

static void
xml_elem(struct buf *out, const char *indent, const char *name,
    const char *text)
{
	buf_printf(out, "%s<%s>", indent, name);
	xml_text(out, text);
	buf_printf(out, "</%s>\n", name);
}

void
dmarc_report_xml(const struct dmarc_report *r,
    const struct dmarc_report_meta *meta, struct buf *out)
{
	char num[32];

	buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback>\n  <report_metadata>\n");
	xml_elem(out, "    ", "org_name", meta->org_name);
	xml_elem(out, "    ", "email", meta->email);
	xml_elem(out, "    ", "report_id", meta->report_id);
	buf_printf(out, "    <date_range>\n      <begin>%lld</begin>\n"
	    "      <end>%lld</end>\n    </date_range>\n"
	    "  </report_metadata>\n  <policy_published>\n",
	    (long long)r->begin, (long long)r->end);
	xml_elem(out, "    ", "domain", r->policy_domain);
	buf_printf(out, "    <adkim>%s</adkim>\n    <aspf>%s</aspf>\n"
	    "    <p>%s</p>\n    <sp>%s</sp>\n    <pct>%u</pct>\n",
	    r->adkim_strict ? "s" : "r", r->aspf_strict ? "s" : "r",
	    dmarc_policy_name(r->p), dmarc_policy_name(r->sp), r->pct);
	xml_elem(out, "    ", "fo", r->fo);
	buf_append_str(out, "  </policy_published>\n");
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct dmarc_report_row *w = &r->rows[i];

		buf_append_str(out, "  <record>\n    <row>\n");
		xml_elem(out, "      ", "source_ip", w->source_ip);
		snprintf(num, sizeof(num), "%lu", w->count);
		xml_elem(out, "      ", "count", num);
		buf_printf(out, "      <policy_evaluated>\n"
		    "        <disposition>%s</disposition>\n"
		    "        <dkim>%s</dkim>\n        <spf>%s</spf>\n",
		    dmarc_policy_name(w->disposition),
		    w->dkim_aligned ? "pass" : "fail",
		    w->spf_aligned ? "pass" : "fail");
		if (w->sampled_out)
			buf_append_str(out, "        <reason>\n"
			    "          <type>sampled_out</type>\n"
			    "        </reason>\n");
		buf_append_str(out, "      </policy_evaluated>\n    </row>\n"
		    "    <identifiers>\n");
		xml_elem(out, "      ", "header_from", w->header_from);
		buf_append_str(out, "    </identifiers>\n    <auth_results>\n");
		for (const char *d = w->dkim_domains; d != NULL && *d;) {
			const char *c = strchr(d, ',');
			size_t dl = c != NULL ? (size_t)(c - d) : strlen(d);
			char *one = xmemdup0(d, dl);

			if (dl > 0) {
				buf_append_str(out, "      <dkim>\n");
				xml_elem(out, "        ", "domain", one);
				buf_append_str(out, "        <result>pass"
				    "</result>\n      </dkim>\n");
			}
			free(one);
			d = c != NULL ? c + 1 : NULL;
		}
		buf_append_str(out, "      <spf>\n");
		xml_elem(out, "        ", "domain", w->spf_domain);
		xml_elem(out, "        ", "result", w->spf);
		buf_append_str(out, "      </spf>\n    </auth_results>\n"
		    "  </record>\n");
	}
	buf_append_str(out, "</feedback>\n");
}

int
dmarc_report_gzip(const void *data, size_t len, struct buf *out,
    const char **error_r)
{
	z_stream z;
	unsigned char chunk[16384];
	int zrc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip wrapper (RFC 1952), not zlib's. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		*error_r = "zlib: deflateInit2 failed";
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)data;
	do {
		size_t step = len > UINT32_MAX ? UINT32_MAX : len;

		z.avail_in = (uInt)step;
		len -= step;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof(chunk);
			zrc = deflate(&z, len == 0 ? Z_FINISH : Z_NO_FLUSH);
			if (zrc == Z_STREAM_ERROR) {
				deflateEnd(&z);
				*error_r = "zlib: deflate failed";
				return -1;
			}
			buf_append(out, chunk, sizeof(chunk) - z.avail_out);
		} while (z.avail_out == 0);
	} while (len > 0);
	deflateEnd(&z);
	if (zrc != Z_STREAM_END) {
		*error_r = "zlib: deflate did not finish";
		return -1;
	}
	return 0;
}

/* A name fit for a file name and a header: [A-Za-z0-9.-_] only. */
static void
name_safe(struct buf *out, const char *s)
{
	for (; *s; s++)
		buf_append_char(out, ((*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '.' || *s == '-' || *s == '_') ? *s : '_');
}

void
dmarc_report_filename(const struct dmarc_report *r, const char *receiver,
    struct buf *out)
{
	name_safe(out, receiver);
	buf_append_char(out, '!');
	name_safe(out, r->policy_domain);
	buf_printf(out, "!%lld!%lld.xml.gz", (long long)r->begin,
	    (long long)r->end);
}

void
dmarc_report_message(const struct dmarc_report *r,
    const struct dmarc_report_mail *m, const void *gz, size_t gz_len,
    struct buf *out)
{
	struct buf b64, name;

	buf_init(&b64, 0);
	buf_init(&name, 0);
	dmarc_report_filename(r, m->submitter, &name);
	(void)base64_encode(gz, gz_len, &b64);
	buf_printf(out, "From: <%s>\nTo: <%s>\n", m->from, m->to);
	/* RFC 7489 7.2.1.1 */
	buf_append_str(out, "Subject: Report Domain: ");
	name_safe(out, r->policy_domain);
	buf_append_str(out, " Submitter: ");
	name_safe(out, m->submitter);
	buf_append_str(out, "\n Report-ID: <");
	name_safe(out, m->report_id);
	buf_append_str(out, ">\n");
	if (m->date != NULL)
		buf_printf(out, "Date: %s\n", m->date);
	buf_printf(out, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
	    "This is a DMARC aggregate report in MIME format.\n\n"
	    "--%s\nContent-Type: text/plain; charset=us-ascii\n\n"
	    "DMARC aggregate report (RFC 7489) for ", m->boundary,
	    m->boundary);
	name_safe(out, r->policy_domain);
	buf_append_str(out, " from ");
	name_safe(out, m->submitter);
	buf_printf(out, ":\n%lu message%s from %lld to %lld (seconds since "
	    "1970, UTC).\n\n--%s\nContent-Type: application/gzip\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n filename=\"%s\"\n\n",
	    r->messages, r->messages == 1 ? "" : "s", (long long)r->begin,
	    (long long)r->end, m->boundary, name.data);
	for (size_t i = 0; i < b64.len; i += 76) {
		size_t n = b64.len - i > 76 ? 76 : b64.len - i;

		buf_append(out, b64.data + i, n);
		buf_append_char(out, '\n');
	}
	buf_printf(out, "\n--%s--\n", m->boundary);
	buf_release(&b64);
	buf_release(&name);
}
