/*
 * dmarc - DMARC (RFC 7489) for a receiver: record parser, alignment,
 * evaluation, asynchronous policy discovery, Authentication-Results text
 * and aggregate-report data; see dmarc.h.
 *
 * Distrusts DNS data and the From domain: the parser reads tags with
 * explicit bounds and ignores what it does not understand (RFC 7489 6.3),
 * and a name no query can be made for is "no policy".
 */
#include "dmarc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "psl.h"
#include "smtp_addr.h"
#include "str.h"

#define DMARC_RECORD_MAX 65536

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE: return "none";
	case DMARC_POLICY_QUARANTINE: return "quarantine";
	case DMARC_POLICY_REJECT: return "reject";
	}
	return "?";
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_NONE: return "none";
	case DMARC_RESULT_PASS: return "pass";
	case DMARC_RESULT_FAIL: return "fail";
	case DMARC_RESULT_TEMPERROR: return "temperror";
	case DMARC_RESULT_PERMERROR: return "permerror";
	}
	return "?";
}

/* ---- the record (RFC 7489 6.3, 6.4) ---- */

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

bool
dmarc_record_is_dmarc(const void *text, size_t len)
{
	const char *t = text;
	size_t i = 0;

	/* dmarc-version = "v" *WSP "=" *WSP "DMARC1" (the value exact) */
	while (i < len && is_wsp((unsigned char)t[i]))
		i++;
	if (i >= len || (t[i] != 'v' && t[i] != 'V'))
		return false;
	i++;
	while (i < len && is_wsp((unsigned char)t[i]))
		i++;
	if (i >= len || t[i] != '=')
		return false;
	i++;
	while (i < len && is_wsp((unsigned char)t[i]))
		i++;
	if (len - i < 6 || memcmp(t + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < len && is_wsp((unsigned char)t[i]))
		i++;
	return i == len || t[i] == ';';
}

static int
policy_parse(const char *v, enum dmarc_policy *p_r)
{
	if (str_casecmp(v, "none") == 0)
		*p_r = DMARC_POLICY_NONE;
	else if (str_casecmp(v, "quarantine") == 0)
		*p_r = DMARC_POLICY_QUARANTINE;
	else if (str_casecmp(v, "reject") == 0)
		*p_r = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* A DMARC URI list (6.4 dmarc-uri): "scheme:rest[!size]", comma-separated. */
static bool
uri_list_ok(const char *v, bool *any_r)
{
	struct strlist l;
	bool ok = true;

	*any_r = false;
	strlist_init(&l);
	strlist_split(&l, v, ",");
	for (size_t i = 0; i < l.n; i++) {
		char *u = str_trim(l.v[i]);
		size_t s = 0;

		if (!((u[0] >= 'a' && u[0] <= 'z') ||
		    (u[0] >= 'A' && u[0] <= 'Z'))) {
			ok = false;
			continue;
		}
		while (u[s] != '\0' && u[s] != ':' && (((u[s] | 0x20) >= 'a' &&
		    (u[s] | 0x20) <= 'z') || (u[s] >= '0' && u[s] <= '9') ||
		    u[s] == '+' || u[s] == '-' || u[s] == '.'))
			s++;
		if (u[s] != ':' || u[s + 1] == '\0' || u[s + 1] == '!') {
			ok = false;
			continue;
		}
		*any_r = true;
	}
	strlist_release(&l);
	return ok;
}

static void
warn(struct buf *w, const char *tag, const char *value)
{
	if (w->len > 0)
		buf_append_str(w, ", ");
	buf_printf(w, "bad %s=%.40s ignored", tag, value);
}

void
dmarc_record_release(struct dmarc_record *rec)
{
	free(rec->rua);
	free(rec->ruf);
	free(rec->fo);
	free(rec->rf);
	free(rec->warnings);
	memset(rec, 0, sizeof(*rec));
}

int
dmarc_record_parse(const void *text, size_t len, struct dmarc_record *rec,
    const char **error_r)
{
	struct strlist parts;
	struct buf w;
	char *copy;
	bool have_p = false, bad_sp = false, rua_ok = false;
	int rc = -1;

	memset(rec, 0, sizeof(*rec));
	if (len > DMARC_RECORD_MAX || memchr(text, '\0', len) != NULL) {
		*error_r = "DMARC record too long or holds NUL bytes";
		return -1;
	}
	if (!dmarc_record_is_dmarc(text, len)) {
		*error_r = "not a DMARC record (no \"v=DMARC1\" first)";
		return -1;
	}
	rec->pct = 100;
	rec->ri = 86400;
	rec->fo = xstrdup("0");
	rec->rf = xstrdup("afrf");
	buf_init(&w, 0);
	copy = xmemdup0(text, len);
	strlist_init(&parts);
	strlist_split(&parts, copy, ";");
	for (size_t i = 1; i < parts.n; i++) {
		char *tag = parts.v[i], *eq, *val;

		/* tag-spec = name *WSP "=" *WSP value; junk is skipped (6.3) */
		eq = strchr(tag, '=');
		if (eq == NULL) {
			if (*str_trim(tag) != '\0')
				warn(&w, "tag", str_trim(tag));
			continue;
		}
		*eq = '\0';
		tag = str_trim(tag);
		val = str_trim(eq + 1);
		str_lower(tag);
		if (strcmp(tag, "p") == 0) {
			if (policy_parse(val, &rec->p) == 0)
				have_p = true;
		} else if (strcmp(tag, "sp") == 0) {
			if (policy_parse(val, &rec->sp) == 0)
				rec->has_sp = true;
			else
				bad_sp = true;
		} else if (strcmp(tag, "pct") == 0) {
			uint64_t n;
			const char *e;

			if (parse_uint(val, 0, 100, &n, &e) == 0)
				rec->pct = (unsigned)n;
			else
				warn(&w, tag, val);
		} else if (strcmp(tag, "adkim") == 0 ||
		    strcmp(tag, "aspf") == 0) {
			bool *strict = tag[1] == 'd' ? &rec->adkim_strict :
			    &rec->aspf_strict;

			if (str_casecmp(val, "s") == 0)
				*strict = true;
			else if (str_casecmp(val, "r") == 0)
				*strict = false;
			else
				warn(&w, tag, val);
		} else if (strcmp(tag, "rua") == 0 || strcmp(tag, "ruf") == 0) {
			bool any;
			bool ok = uri_list_ok(val, &any);

			if (tag[2] == 'a') {
				free(rec->rua);
				rec->rua = xstrdup(val);
				rua_ok = any;
			} else {
				free(rec->ruf);
				rec->ruf = xstrdup(val);
			}
			if (!ok)
				warn(&w, tag, val);
		} else if (strcmp(tag, "fo") == 0) {
			bool ok = *val != '\0';

			for (const char *p = val; *p && ok; p++)
				ok = strchr("01ds:", *p) != NULL &&
				    !(p[0] == ':' && (p[1] == ':' ||
				    p[1] == '\0')) && !(p == val && *p == ':');
			if (ok) {
				free(rec->fo);
				rec->fo = xstrdup(val);
			} else
				warn(&w, tag, val);
		} else if (strcmp(tag, "ri") == 0) {
			uint64_t n;
			const char *e;

			if (parse_uint(val, 0, 4294967295u, &n, &e) == 0)
				rec->ri = (unsigned long)n;
			else
				warn(&w, tag, val);
		} else if (strcmp(tag, "rf") == 0) {
			if (*val != '\0') {
				free(rec->rf);
				rec->rf = xstrdup(val);
			} else
				warn(&w, tag, val);
		} else if (strcmp(tag, "v") == 0) {
			warn(&w, tag, val);	/* v= again: ignored */
		}
		/* unknown tags MUST be ignored (6.3) */
	}
	/* RFC 7489 6.6.3 step 6: no valid p= (or a bad sp=) */
	if (!have_p || bad_sp) {
		if (!rua_ok) {
			*error_r = !have_p ? "DMARC record without a valid p=" :
			    "DMARC record with an invalid sp=";
			goto out;
		}
		rec->p = DMARC_POLICY_NONE;
		rec->has_sp = false;
		rec->p_from_rua = true;
	}
	if (!rec->has_sp)
		rec->sp = rec->p;
	rc = 0;
out:
	strlist_release(&parts);
	free(copy);
	if (w.len > 0 && rc == 0)
		rec->warnings = buf_detach(&w, NULL);
	buf_release(&w);
	if (rc < 0)
		dmarc_record_release(rec);
	return rc;
}

static void
record_copy(struct dmarc_record *dst, const struct dmarc_record *src)
{
	*dst = *src;
	dst->rua = src->rua != NULL ? xstrdup(src->rua) : NULL;
	dst->ruf = src->ruf != NULL ? xstrdup(src->ruf) : NULL;
	dst->fo = src->fo != NULL ? xstrdup(src->fo) : NULL;
	dst->rf = src->rf != NULL ? xstrdup(src->rf) : NULL;
	dst->warnings = src->warnings != NULL ? xstrdup(src->warnings) : NULL;
}

/* ---- the From domain (RFC 7489 6.6.1) ---- */

int
dmarc_from_domain(const char *const *values, size_t n, char **domain_r,
    const char **error_r)
{
	struct smtp_addr_list l;
	const char *err;
	int rc = -1;

	if (n != 1) {
		*error_r = n == 0 ? "no From: header field" :
		    err_fmt("%zu From: header fields", n);
		return -1;
	}
	smtp_addr_list_init(&l);
	if (smtp_addr_list_parse(values[0], strlen(values[0]), &l, &err) < 0)
		*error_r = err_fmt("bad From: address: %s", err);
	else if (l.n != 1)
		*error_r = err_fmt("From: holds %zu addresses", l.n);
	else if (l.v[0].domain == NULL || l.v[0].domain[0] == '\0')
		*error_r = "From: address without a domain";
	else {
		*domain_r = xstrdup(l.v[0].domain);
		str_lower(*domain_r);
		rc = 0;
	}
	smtp_addr_list_release(&l);
	return rc;
}

/* ---- evaluation ---- */

void
dmarc_outcome_release(struct dmarc_outcome *o)
{
	if (o == NULL)
		return;
	free(o->from_domain);
	free(o->org_domain);
	free(o->policy_domain);
	if (o->have_record)
		dmarc_record_release(&o->rec);
	free(o->dkim_domain);
	free(o->problem);
	memset(o, 0, sizeof(*o));
}

void
dmarc_outcome_move(struct dmarc_outcome *dst, struct dmarc_outcome *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* NAME in lower case without a final dot (a new string). */
static char *
name_norm(const char *name)
{
	size_t n = strlen(name);
	char *s;

	if (n > 1 && name[n - 1] == '.')
		n--;
	s = xstrndup(name, n);
	str_lower(s);
	return s;
}

bool
dmarc_aligned(const struct psl *psl, const char *a, const char *b,
    bool strict)
{
	char *na, *nb;
	bool same;

	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return false;
	na = name_norm(a);
	nb = name_norm(b);
	if (strict)
		same = strcmp(na, nb) == 0;
	else
		same = strcmp(psl_org_domain(psl, na),
		    psl_org_domain(psl, nb)) == 0;
	free(na);
	free(nb);
	return same;
}

void
dmarc_evaluate(const struct psl *psl, const struct dmarc_input *in,
    const struct dmarc_record *rec, const char *policy_domain,
    unsigned sample, struct dmarc_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->from_domain = name_norm(in->from_domain != NULL ?
	    in->from_domain : "");
	out->org_domain = xstrdup(psl_org_domain(psl, out->from_domain));
	if (rec == NULL) {
		out->result = DMARC_RESULT_NONE;
		out->problem = xstrdup("no DMARC policy");
		return;
	}
	out->have_record = true;
	record_copy(&out->rec, rec);
	out->policy_domain = policy_domain != NULL ? name_norm(policy_domain) :
	    xstrdup(out->from_domain);
	/* RFC 7489 6.3 sp: for subdomains, when found at the org domain */
	out->policy = strcmp(out->policy_domain, out->from_domain) != 0 ?
	    rec->sp : rec->p;
	out->spf_aligned = in->spf_result == SPF_PASS &&
	    dmarc_aligned(psl, in->spf_domain, out->from_domain,
	    rec->aspf_strict);
	for (size_t i = 0; i < in->n_dkim && !out->dkim_aligned; i++)
		if (dmarc_aligned(psl, in->dkim_domains[i], out->from_domain,
		    rec->adkim_strict)) {
			out->dkim_aligned = true;
			out->dkim_domain = name_norm(in->dkim_domains[i]);
		}
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RESULT_PASS;
		out->disposition = DMARC_POLICY_NONE;
		return;
	}
	out->result = DMARC_RESULT_FAIL;
	out->disposition = out->policy;
	/* RFC 7489 6.6.4: not sampled: the next less strict policy */
	if (sample >= rec->pct && out->policy != DMARC_POLICY_NONE) {
		out->sampled_out = true;
		out->disposition = out->policy == DMARC_POLICY_REJECT ?
		    DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
	}
}

/* ---- policy discovery (RFC 7489 6.6.3) ---- */

struct dmarc_check {
	struct event_base *base;
	struct dns_resolver *dns;
	const struct psl *psl;
	dmarc_callback *cb;
	void *arg;
	struct event *kick;
	struct dns_query *query;

	char *from;
	char *org;			/* organizational domain of from */
	char *spf_domain;
	enum spf_result spf_result;
	struct strlist dkim;
	bool at_org;			/* asking the org domain now */
	bool finished;
	struct dmarc_outcome out;
};

static void
check_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dmarc_check *c = arg;

	(void)fd;
	(void)what;
	c->cb(&c->out, c->arg);
	dmarc_check_cancel(c);
}

static void
check_input(const struct dmarc_check *c, struct dmarc_input *in)
{
	in->from_domain = c->from;
	in->spf_result = c->spf_result;
	in->spf_domain = c->spf_domain;
	in->dkim_domains = (const char *const *)c->dkim.v;
	in->n_dkim = c->dkim.n;
}

/* Evaluate with REC (or none) and hand the outcome over. */
static void
check_finish(struct dmarc_check *c, const struct dmarc_record *rec,
    const char *policy_domain)
{
	struct dmarc_input in;
	unsigned char r;

	check_input(c, &in);
	/* pct sampling needs no cryptographic quality: a fair draw */
	r = (unsigned char)(random() % 100);
	dmarc_evaluate(c->psl, &in, rec, policy_domain, r, &c->out);
	c->finished = true;
	event_active(c->kick, 0, 0);
}

static void
check_error(struct dmarc_check *c, enum dmarc_result result,
    const char *problem)
{
	struct dmarc_input in;

	check_input(c, &in);
	dmarc_evaluate(c->psl, &in, NULL, NULL, 0, &c->out);
	c->out.result = result;
	free(c->out.problem);
	c->out.problem = xstrdup(problem);
	c->finished = true;
	event_active(c->kick, 0, 0);
}

static void check_dns_cb(const struct dns_answer *a, void *arg);

/* Ask for _dmarc.DOMAIN; false when no query can be made for it. */
static bool
check_ask(struct dmarc_check *c, const char *domain)
{
	struct buf name;
	bool ok;

	buf_init(&name, 0);
	buf_printf(&name, "_dmarc.%s", domain);
	ok = dns_query_name_ok(name.data, false);
	if (ok)
		c->query = dns_lookup(c->dns, name.data, DNS_T_TXT,
		    check_dns_cb, c);
	buf_release(&name);
	return ok;
}

static void
check_dns_cb(const struct dns_answer *a, void *arg)
{
	struct dmarc_check *c = arg;
	const char *domain = c->at_org ? c->org : c->from;
	const struct dns_rr *found = NULL;
	struct dmarc_record rec;
	const char *err;
	size_t n = 0;

	c->query = NULL;
	if (a->status == DNS_TEMPFAIL) {
		check_error(c, DMARC_RESULT_TEMPERROR, err_fmt("_dmarc.%s: %s",
		    domain, a->error != NULL ? a->error : "DNS failure"));
		return;
	}
	for (size_t i = 0; a->status == DNS_OK && i < a->n_rr; i++)
		if (dmarc_record_is_dmarc(a->rr[i].data, a->rr[i].data_len)) {
			found = &a->rr[i];
			n++;
		}
	if (n > 1) {
		/* 6.6.3 step 5: several records: no DMARC processing */
		check_error(c, DMARC_RESULT_NONE, err_fmt("_dmarc.%s: more "
		    "than one DMARC record", domain));
		return;
	}
	if (n == 0) {
		if (!c->at_org && strcmp(c->org, c->from) != 0) {
			c->at_org = true;
			if (check_ask(c, c->org))
				return;
		}
		check_finish(c, NULL, NULL);
		return;
	}
	if (dmarc_record_parse(found->data, found->data_len, &rec, &err) < 0) {
		check_error(c, DMARC_RESULT_NONE, err_fmt("_dmarc.%s: %s",
		    domain, err));
		return;
	}
	check_finish(c, &rec, domain);
	dmarc_record_release(&rec);
}

struct dmarc_check *
dmarc_check_start(struct event_base *base, struct dns_resolver *resolver,
    const struct psl *psl, const struct dmarc_input *in, dmarc_callback *cb,
    void *arg)
{
	struct dmarc_check *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->dns = resolver;
	c->psl = psl;
	c->cb = cb;
	c->arg = arg;
	c->kick = event_new(base, -1, 0, check_deliver, c);
	if (c->kick == NULL)
		log_fatal("dmarc: cannot create an event");
	c->from = name_norm(in->from_domain != NULL ? in->from_domain : "");
	c->spf_domain = in->spf_domain != NULL ? xstrdup(in->spf_domain) :
	    NULL;
	c->spf_result = in->spf_result;
	strlist_init(&c->dkim);
	for (size_t i = 0; i < in->n_dkim; i++)
		strlist_add(&c->dkim, in->dkim_domains[i]);
	c->org = xstrdup(psl_org_domain(psl, c->from));
	if (!dns_query_name_ok(c->from, false) ||
	    strchr(c->from, '.') == NULL) {
		check_error(c, DMARC_RESULT_PERMERROR, err_fmt("bad From "
		    "domain \"%.80s\"", c->from));
		return c;
	}
	if (!check_ask(c, c->from))
		check_finish(c, NULL, NULL);
	return c;
}

void
dmarc_check_cancel(struct dmarc_check *c)
{
	if (c == NULL)
		return;
	if (c->query != NULL)
		dns_cancel(c->query);
	if (c->kick != NULL)
		event_free(c->kick);
	free(c->from);
	free(c->org);
	free(c->spf_domain);
	strlist_release(&c->dkim);
	dmarc_outcome_release(&c->out);
	free(c);
}

static void
sync_done(struct dmarc_outcome *o, void *arg)
{
	struct dmarc_outcome *dst = arg;

	dmarc_outcome_move(dst, o);
}

int
dmarc_check_sync(const struct dns_config *dns_cfg, const struct psl *psl,
    const struct dmarc_input *in, struct dmarc_outcome *out_r,
    const char **error_r)
{
	struct event_base *base;
	struct dns_resolver *r;

	memset(out_r, 0, sizeof(*out_r));
	base = event_base_new();
	if (base == NULL) {
		*error_r = "dmarc: cannot create an event base";
		return -1;
	}
	r = dns_resolver_new(base, dns_cfg, error_r);
	if (r == NULL) {
		event_base_free(base);
		return -1;
	}
	(void)dmarc_check_start(base, r, psl, in, sync_done, out_r);
	while (out_r->from_domain == NULL)
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			log_panic("dmarc: event loop failed");
	dns_resolver_free(r);
	event_base_free(base);
	return 0;
}

/* ---- texts ---- */

/* A header pvalue: a dot-atom-ish token, else a quoted-string. */
static void
append_pvalue(struct buf *out, const char *v)
{
	bool plain = *v != '\0';

	for (const char *p = v; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_';
	if (plain) {
		buf_append_str(out, v);
		return;
	}
	buf_append_char(out, '"');
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"' || ch == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, ch < 0x20 || ch >= 0x7f ? '?' : (char)ch);
	}
	buf_append_char(out, '"');
}

void
dmarc_auth_results(const struct dmarc_outcome *o, struct buf *out)
{
	buf_append_str(out, "dmarc=");
	buf_append_str(out, dmarc_result_name(o->result));
	if (o->have_record)
		buf_printf(out, " (p=%s sp=%s pct=%u dis=%s)",
		    dmarc_policy_name(o->rec.p), dmarc_policy_name(o->rec.sp),
		    o->rec.pct, dmarc_policy_name(o->disposition));
	if (o->from_domain != NULL && *o->from_domain) {
		buf_append_str(out, " header.from=");
		append_pvalue(out, o->from_domain);
	}
}

/* A report field value: bytes outside 0x21..0x7e and '%' as %XX. */
static void
report_value(struct buf *out, const char *v)
{
	if (v == NULL || *v == '\0') {
		buf_append_char(out, '-');
		return;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '%')
			buf_printf(out, "%%%02X", *p);
		else
			buf_append_char(out, (char)*p);
}

static void
report_field(struct buf *out, const char *key, const char *v)
{
	if (out->len > 0)
		buf_append_char(out, '\t');
	buf_append_str(out, key);
	buf_append_char(out, '=');
	report_value(out, v);
}

int
dmarc_report_append(const char *dir, const struct dmarc_outcome *o,
    const struct dmarc_input *in, const char *source_ip, time_t now,
    const char **error_r)
{
	struct buf line, path, list;
	char num[32];
	bool dkim_pass = in->n_dkim > 0;
	ssize_t n;
	int fd, rc = -1;

	buf_init(&line, 0);
	buf_init(&path, 0);
	buf_init(&list, 0);
	snprintf(num, sizeof(num), "%lld", (long long)now);
	report_field(&line, "time", num);
	report_field(&line, "ip", source_ip);
	report_field(&line, "header_from", o->from_domain);
	report_field(&line, "policy_domain", o->policy_domain);
	report_field(&line, "p", o->have_record ?
	    dmarc_policy_name(o->rec.p) : NULL);
	report_field(&line, "sp", o->have_record ?
	    dmarc_policy_name(o->rec.sp) : NULL);
	snprintf(num, sizeof(num), "%u", o->have_record ? o->rec.pct : 0);
	report_field(&line, "pct", o->have_record ? num : NULL);
	report_field(&line, "adkim", !o->have_record ? NULL :
	    o->rec.adkim_strict ? "s" : "r");
	report_field(&line, "aspf", !o->have_record ? NULL :
	    o->rec.aspf_strict ? "s" : "r");
	report_field(&line, "result", dmarc_result_name(o->result));
	report_field(&line, "disposition",
	    dmarc_policy_name(o->disposition));
	report_field(&line, "sampled_out", o->sampled_out ? "yes" : "no");
	report_field(&line, "dkim", dkim_pass ? "pass" : "none");
	for (size_t i = 0; i < in->n_dkim; i++)
		buf_printf(&list, "%s%s", i ? "," : "", in->dkim_domains[i]);
	report_field(&line, "dkim_domains", list.data);
	report_field(&line, "dkim_aligned", o->dkim_aligned ? "yes" : "no");
	report_field(&line, "spf", spf_result_name(in->spf_result));
	report_field(&line, "spf_domain", in->spf_domain);
	report_field(&line, "spf_aligned", o->spf_aligned ? "yes" : "no");
	report_field(&line, "rua", o->have_record ? o->rec.rua : NULL);
	/* later fields go at the end: readers of older lines default them */
	report_field(&line, "fo", o->have_record ? o->rec.fo : NULL);
	buf_append_char(&line, '\n');

	buf_printf(&path, "%s/dmarc-reports.log", dir);
	fd = open(path.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		*error_r = err_fmt("%s: %s", path.data, strerror(errno));
		goto out;
	}
	n = write(fd, line.data, line.len);
	if (n != (ssize_t)line.len) {
		*error_r = err_fmt("%s: %s", path.data, n < 0 ?
		    strerror(errno) : "short write");
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		*error_r = err_fmt("%s: %s", path.data, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_release(&line);
	buf_release(&path);
	buf_release(&list);
	return rc;
}
