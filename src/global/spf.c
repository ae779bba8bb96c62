/*
 * spf - check_host() of RFC 7208, evaluated asynchronously on a libevent
 * loop with the DNS resolver of dns.h; also the header texts a receiver
 * writes.  The record parser and the macro expander are in spf_parse.c.
 *
 * The evaluation is a small machine: a stack of frames (one per record
 * being evaluated; include pushes, redirect replaces), and at most one
 * DNS query in flight.  Each DNS answer resumes the machine.  Every term
 * that queries DNS counts against SPF_MAX_DNS_TERMS across the whole
 * evaluation, so include/redirect loops end in a permerror after a fixed
 * number of queries (RFC 7208 4.6.4).
 *
 * Distrusts the DNS answers (records are parsed strictly by spf_parse.c;
 * names from MX and PTR records are only looked up, never expanded) and
 * the SMTP client's identities (a malformed sender or HELO name gives
 * "none", never a query).
 */
#include "spf.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "cidr.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* Default explanation of a fail without exp= (RFC 7208 6.2: local policy). */
#define SPF_DEFAULT_EXPLANATION \
	"%{i} is not allowed to send mail for %{o} (SPF: %{d})"

struct spf_frame {
	char *domain;			/* <domain> of this check_host() */
	struct spf_record *rec;		/* NULL until its record is known */
	size_t next;			/* next term to evaluate */
};

/* What the query in flight is for. */
enum spf_op {
	OP_NONE,
	OP_RECORD,	/* TXT of the top frame's domain */
	OP_A,		/* "a": A/AAAA of the target */
	OP_MX,		/* "mx": MX of the target */
	OP_MX_ADDR,	/* "mx": A/AAAA of names[name_i] */
	OP_PTR,		/* "ptr": PTR of the client */
	OP_PTR_ADDR,	/* "ptr": A/AAAA of names[name_i] */
	OP_EXISTS,	/* "exists": A of the target */
	OP_P_PTR,	/* %{p}: PTR of the client */
	OP_P_ADDR,	/* %{p}: A/AAAA of names[name_i] */
	OP_EXP,		/* exp=: TXT of the explanation name */
};

struct spf_check {
	struct event_base *base;
	struct dns_resolver *dns;
	spf_callback *cb;
	void *arg;
	struct event *kick;		/* runs the machine from the loop */

	struct spf_macro_vars vars;	/* points into the strings below */
	char *local;
	char *sender_domain;
	char *default_exp;
	bool finished;

	struct spf_frame *frames;
	size_t depth, cap;

	enum spf_op op;
	struct dns_query *query;
	const struct spf_term *term;	/* the term waiting for DNS */
	char *target;			/* its expanded target name */
	struct strlist names;		/* MX or PTR names being checked */
	size_t name_i;

	/* %{p} (RFC 7208 7.3): computed once, on first use */
	bool p_done;
	char *p_name;

	/* exp= of the record that gave the final fail, then its text */
	char *exp_spec;
	char *exp_domain;
	char *exp_text;
	char *p_domain;			/* <domain> when %{p} was asked for */

	struct spf_outcome out;
};

static void spf_run(struct spf_check *c);

void
spf_outcome_release(struct spf_outcome *o)
{
	if (o == NULL)
		return;
	free(o->identity);
	free(o->sender);
	free(o->domain);
	free(o->client_ip);
	free(o->helo);
	free(o->receiver);
	free(o->mechanism);
	free(o->explanation);
	free(o->problem);
	memset(o, 0, sizeof(*o));
}

void
spf_outcome_move(struct spf_outcome *dst, struct spf_outcome *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* ---- names ---- */

/* The initial <domain>: a usable name with at least two labels (4.3). */
static bool
domain_ok(const char *d)
{
	return dns_query_name_ok(d, true) && d[0] != '[' &&
	    strchr(d, '.') != NULL && strchr(d, ' ') == NULL;
}

/*
 * A target name after macro expansion (RFC 7208 4.8, 5): without the final
 * dot, and cut from the left label by label to at most 253 bytes.
 */
static void
target_fix(struct buf *b)
{
	while (b->len > 0 && b->data[b->len - 1] == '.')
		buf_truncate(b, b->len - 1);
	while (b->len > 253) {
		char *dot = memchr(b->data, '.', b->len);

		if (dot == NULL)
			break;
		buf_consume(b, (size_t)(dot + 1 - b->data));
	}
}

/*
 * A host name from an MX or PTR record as dns.h writes it (bytes other
 * than letters, digits, '-' and '_' as \DDD) back in plain text, for a
 * new query; NULL when it holds a byte no query name may (a dot inside a
 * label, a control byte, a backslash).
 */
static char *
host_plain(const char *host)
{
	struct buf b;

	buf_init(&b, 1024);
	for (const char *p = host; *p; p++) {
		int ch = (unsigned char)*p;

		if (*p == '\\') {
			if (p[1] < '0' || p[1] > '9' || p[2] < '0' ||
			    p[2] > '9' || p[3] < '0' || p[3] > '9')
				goto bad;
			ch = (p[1] - '0') * 100 + (p[2] - '0') * 10 +
			    (p[3] - '0');
			p += 3;
			if (ch == '.' || ch == '\\' || ch < 0x20 || ch > 0x7e)
				goto bad;
		}
		if (buf_append_char(&b, (char)ch) < 0)
			goto bad;
	}
	if (b.len > 0) {
		char *plain = buf_detach(&b, NULL);

		buf_release(&b);
		return plain;
	}
bad:
	buf_release(&b);
	return NULL;
}

/* Add the plain form of HOST to L (when it has one). */
static void
names_add(struct strlist *l, const char *host)
{
	char *h = host_plain(host);

	if (h != NULL)
		strlist_add_owned(l, h);
}

/* NAME equals DOMAIN or ends in ".DOMAIN", ignoring case. */
static bool
name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == d)
		return str_ncasecmp(name, domain, d) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    str_ncasecmp(name + n - d, domain, d) == 0;
}

/* ---- ending ---- */

static void
spf_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct spf_check *c = arg;
	spf_callback *cb = c->cb;
	void *cb_arg = c->arg;

	(void)fd;
	(void)what;
	if (!c->finished) {
		spf_run(c);
		return;
	}
	cb(&c->out, cb_arg);
	spf_check_cancel(c);
}

/* Make the default explanation, once the final result is fail. */
static void
default_explanation(struct spf_check *c)
{
	struct buf out;
	const char *err;

	buf_init(&out, 0);
	c->vars.domain = c->exp_domain != NULL ? c->exp_domain :
	    c->sender_domain;
	if (spf_macro_expand(c->default_exp, SPF_MACRO_EXPLAIN, &c->vars,
	    &out, &err) == 0)
		c->out.explanation = buf_detach(&out, NULL);
	buf_release(&out);
}

/* Bytes that are not printable ASCII become '?' (text for SMTP replies). */
static void
text_safe(char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* The outcome is known: hand it over from the loop. */
static void
spf_finish(struct spf_check *c, enum spf_result result, const char *problem)
{
	c->out.result = result;
	free(c->out.problem);
	c->out.problem = problem != NULL ? xstrdup(problem) : NULL;
	text_safe(c->out.problem);
	if (result != SPF_FAIL) {
		free(c->out.explanation);
		c->out.explanation = NULL;
	} else if (c->out.explanation == NULL)
		default_explanation(c);
	text_safe(c->out.explanation);
	c->finished = true;
	c->op = OP_NONE;
	event_active(c->kick, 0, 0);
}

static void
frame_push(struct spf_check *c, const char *domain)
{
	if (c->depth == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->frames = xreallocarray(c->frames, c->cap,
		    sizeof(*c->frames));
	}
	c->frames[c->depth].domain = xstrdup(domain);
	c->frames[c->depth].rec = NULL;
	c->frames[c->depth].next = 0;
	c->depth++;
}

static void
frame_pop(struct spf_check *c)
{
	struct spf_frame *f = &c->frames[--c->depth];

	free(f->domain);
	spf_record_free(f->rec);
}

/* Count one DNS-querying term; false (and permerror) past the limit. */
static bool
count_term(struct spf_check *c)
{
	if (++c->out.dns_terms > SPF_MAX_DNS_TERMS) {
		spf_finish(c, SPF_PERMERROR, err_fmt("more than %d DNS-querying"
		    " terms (RFC 7208 4.6.4)", SPF_MAX_DNS_TERMS));
		return false;
	}
	return true;
}

/* Count one void lookup; false (and permerror) past the limit. */
static bool
count_void(struct spf_check *c)
{
	if (++c->out.void_lookups > SPF_MAX_VOID_LOOKUPS) {
		spf_finish(c, SPF_PERMERROR, err_fmt("more than %d void DNS "
		    "lookups (RFC 7208 4.6.4)", SPF_MAX_VOID_LOOKUPS));
		return false;
	}
	return true;
}

static void spf_dns_cb(const struct dns_answer *a, void *arg);

static void
spf_query(struct spf_check *c, enum spf_op op, const char *name,
    enum dns_type type)
{
	c->op = op;
	c->query = dns_lookup(c->dns, name, type, spf_dns_cb, c);
}

static enum dns_type
addr_type(const struct spf_check *c)
{
	return c->vars.family == AF_INET6 ? DNS_T_AAAA : DNS_T_A;
}

/*
 * The frame on top ended with RESULT (a match with qualifier RESULT, or
 * neutral when nothing matched).  MECH is the deciding term's text.
 */
static void
frame_done(struct spf_check *c, enum spf_result result, const char *mech)
{
	struct spf_frame *f = &c->frames[c->depth - 1];

	if (c->depth == 1) {
		free(c->out.mechanism);
		c->out.mechanism = xstrdup(mech != NULL ? mech : "default");
		if (result == SPF_FAIL && f->rec != NULL &&
		    f->rec->exp != NULL) {
			c->exp_spec = xstrdup(f->rec->exp);
			c->exp_domain = xstrdup(f->domain);
		}
		c->out.result = result;
		frame_pop(c);
		if (result == SPF_FAIL) {
			/* the explanation is made by spf_run (OP_EXP) */
			c->out.result = SPF_FAIL;
			return;
		}
		spf_finish(c, result, NULL);
		return;
	}
	frame_pop(c);
	/* RFC 7208 5.2: what an included result means to the includer. */
	f = &c->frames[c->depth - 1];
	switch (result) {
	case SPF_PASS: {
		const struct spf_term *t = &f->rec->terms[f->next - 1];

		frame_done(c, t->qualifier, t->text);
		return;
	}
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return;		/* no match: go on with the next term */
	default:
		spf_finish(c, SPF_PERMERROR, "include: unexpected result");
		return;
	}
}

/* ---- expansion helpers ---- */

/*
 * Expand the domain-spec SPEC (or the current domain when NULL) into
 * OUT as a target name.  -1 after finishing with permerror.
 */
static int
expand_target(struct spf_check *c, const char *spec, struct buf *out)
{
	const char *err;

	buf_reset(out);
	c->vars.domain = c->frames[c->depth - 1].domain;
	if (spec == NULL) {
		buf_append_str(out, c->vars.domain);
		return 0;
	}
	if (spf_macro_expand(spec, SPF_MACRO_DOMAIN, &c->vars, out, &err) < 0) {
		spf_finish(c, SPF_PERMERROR, err);
		return -1;
	}
	target_fix(out);
	return 0;
}

/* Start the %{p} computation when SPEC needs it; true when started. */
static bool
need_p(struct spf_check *c, const char *spec)
{
	char name[128];
	const char *err;

	if (c->p_done || spec == NULL || !spf_macro_uses_p(spec))
		return false;
	free(c->p_domain);
	c->p_domain = xstrdup(c->depth > 0 ? c->frames[c->depth - 1].domain :
	    c->exp_domain);
	if (dns_ptr_name(c->out.client_ip, name, sizeof(name), &err) < 0) {
		c->p_done = true;
		return false;
	}
	spf_query(c, OP_P_PTR, name, DNS_T_PTR);
	return true;
}

/* ---- terms ---- */

static bool
addr_match(const struct spf_check *c, const struct dns_rr *rr,
    unsigned cidr4, unsigned cidr6)
{
	struct cidr net;

	if (rr->family != c->vars.family)
		return false;
	net.family = rr->family;
	memcpy(net.addr, rr->addr, sizeof(net.addr));
	net.prefix = rr->family == AF_INET6 ? cidr6 : cidr4;
	return cidr_match(&net, c->vars.family, c->vars.addr);
}

/*
 * Evaluate term T of the top frame.  Returns 1 on a match, 0 on no match,
 * -1 when the machine waits (a query in flight) or has finished.
 */
static int
term_eval(struct spf_check *c, const struct spf_term *t)
{
	struct buf target;
	struct cidr net;
	char ptr[128];
	const char *err;
	int rc = -1;

	switch (t->mech) {
	case SPF_MECH_ALL:
		return 1;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		net.family = t->mech == SPF_MECH_IP6 ? AF_INET6 : AF_INET;
		memcpy(net.addr, t->net, sizeof(net.addr));
		net.prefix = t->mech == SPF_MECH_IP6 ? t->cidr6 : t->cidr4;
		return cidr_match(&net, c->vars.family, c->vars.addr) ? 1 : 0;
	default:
		break;
	}
	if (need_p(c, t->domain_spec)) {
		c->frames[c->depth - 1].next--;	/* again once p is known */
		return -1;
	}
	if (!count_term(c))
		return -1;
	buf_init(&target, 0);
	if (expand_target(c, t->domain_spec, &target) < 0)
		goto out;
	free(c->target);
	c->target = xstrdup(target.data);
	c->term = t;
	if (t->mech == SPF_MECH_INCLUDE) {
		/* RFC 7208 5.2: a recursive check_host(); checked in spf_run */
		frame_push(c, target.data);
		event_active(c->kick, 0, 0);
		goto out;
	}
	if (!dns_query_name_ok(target.data, true)) {
		/* a name no query can be made for: it does not exist */
		rc = count_void(c) ? 0 : -1;
		goto out;
	}
	switch (t->mech) {
	case SPF_MECH_A:
		spf_query(c, OP_A, target.data, addr_type(c));
		break;
	case SPF_MECH_MX:
		spf_query(c, OP_MX, target.data, DNS_T_MX);
		break;
	case SPF_MECH_EXISTS:
		spf_query(c, OP_EXISTS, target.data, DNS_T_A);
		break;
	case SPF_MECH_PTR:
		if (dns_ptr_name(c->out.client_ip, ptr, sizeof(ptr), &err) < 0) {
			rc = 0;
			break;
		}
		spf_query(c, OP_PTR, ptr, DNS_T_PTR);
		break;
	default:
		break;
	}
out:
	buf_release(&target);
	return rc;
}

/* A term matched or not; go on. */
static void
term_result(struct spf_check *c, bool match)
{
	c->op = OP_NONE;
	if (match)
		frame_done(c, c->term->qualifier, c->term->text);
	if (!c->finished)
		event_active(c->kick, 0, 0);
}

/* Look up the next name of c->names for OP; false when none is left. */
static bool
next_name(struct spf_check *c, enum spf_op op)
{
	if (c->name_i >= c->names.n)
		return false;
	spf_query(c, op, c->names.v[c->name_i], addr_type(c));
	return true;
}

static void
names_from(struct spf_check *c, const struct dns_answer *a)
{
	strlist_release(&c->names);
	strlist_init(&c->names);
	c->name_i = 0;
	for (size_t i = 0; i < a->n_rr; i++)
		if (a->rr[i].host != NULL && a->rr[i].host[0] != '\0')
			names_add(&c->names, a->rr[i].host);
}

/* The record lookup for the top frame answered (RFC 7208 4.4, 4.5). */
static void
record_answer(struct spf_check *c, const struct dns_answer *a)
{
	struct spf_frame *f = &c->frames[c->depth - 1];
	const struct dns_rr *found = NULL;
	struct spf_record *rec;
	const char *err;
	size_t n = 0;

	c->op = OP_NONE;
	if (a->status == DNS_TEMPFAIL) {
		spf_finish(c, SPF_TEMPERROR, err_fmt("%s: %s", f->domain,
		    a->error != NULL ? a->error : "DNS failure"));
		return;
	}
	if (a->status == DNS_OK)
		for (size_t i = 0; i < a->n_rr; i++)
			if (spf_record_is_spf(a->rr[i].data,
			    a->rr[i].data_len)) {
				found = &a->rr[i];
				n++;
			}
	if (n > 1) {
		spf_finish(c, SPF_PERMERROR, err_fmt("%s: more than one SPF "
		    "record", f->domain));
		return;
	}
	if (n == 0) {
		/* none; for include and redirect that is a permerror */
		if (c->depth > 1 || c->frames[0].next > 0 ||
		    c->out.dns_terms > 0)
			spf_finish(c, SPF_PERMERROR, err_fmt("%s: no SPF "
			    "record to include or redirect to", f->domain));
		else
			spf_finish(c, SPF_NONE, err_fmt("%s: no SPF record",
			    f->domain));
		return;
	}
	if (spf_record_parse(found->data, found->data_len, &rec, &err) < 0) {
		spf_finish(c, SPF_PERMERROR, err_fmt("%s: %s", f->domain, err));
		return;
	}
	f->rec = rec;
	f->next = 0;
	event_active(c->kick, 0, 0);
}

/*
 * The explanation TXT answered (RFC 7208 6.2): keep its text for
 * spf_run, or use the default when there is not exactly one usable record.
 */
static void
exp_answer(struct spf_check *c, const struct dns_answer *a)
{
	const struct dns_rr *rr;

	c->op = OP_NONE;
	if (a->status != DNS_OK || a->n_rr != 1) {
		spf_finish(c, SPF_FAIL, NULL);
		return;
	}
	rr = &a->rr[0];
	for (size_t i = 0; i < rr->data_len; i++)
		if (rr->data[i] < 0x20 || rr->data[i] > 0x7e) {
			spf_finish(c, SPF_FAIL, NULL);
			return;
		}
	c->exp_text = xmemdup0(rr->data, rr->data_len);
	event_active(c->kick, 0, 0);
}

static void
spf_dns_cb(const struct dns_answer *a, void *arg)
{
	struct spf_check *c = arg;
	enum spf_op op = c->op;
	bool match = false;

	c->query = NULL;
	switch (op) {
	case OP_NONE:
		return;
	case OP_RECORD:
		record_answer(c, a);
		return;
	case OP_EXP:
		exp_answer(c, a);
		return;
	case OP_A:
	case OP_EXISTS:
		if (a->status == DNS_TEMPFAIL) {
			spf_finish(c, SPF_TEMPERROR, err_fmt("%s: %s",
			    c->target, a->error != NULL ? a->error :
			    "DNS failure"));
			return;
		}
		if (a->status != DNS_OK) {
			if (count_void(c))
				term_result(c, false);
			return;
		}
		for (size_t i = 0; i < a->n_rr && !match; i++)
			match = op == OP_EXISTS || addr_match(c, &a->rr[i],
			    c->term->cidr4, c->term->cidr6);
		term_result(c, match);
		return;
	case OP_MX:
		if (a->status == DNS_TEMPFAIL) {
			spf_finish(c, SPF_TEMPERROR, err_fmt("%s: %s",
			    c->target, a->error != NULL ? a->error :
			    "DNS failure"));
			return;
		}
		if (a->status != DNS_OK) {
			if (count_void(c))
				term_result(c, false);
			return;
		}
		if (a->n_rr > SPF_MAX_NAMES) {
			spf_finish(c, SPF_PERMERROR, err_fmt("%s: more than %d "
			    "MX records (RFC 7208 4.6.4)", c->target,
			    SPF_MAX_NAMES));
			return;
		}
		names_from(c, a);
		if (!next_name(c, OP_MX_ADDR))
			term_result(c, false);
		return;
	case OP_MX_ADDR:
		if (a->status == DNS_TEMPFAIL) {
			spf_finish(c, SPF_TEMPERROR, err_fmt("%s: %s",
			    c->names.v[c->name_i], a->error != NULL ?
			    a->error : "DNS failure"));
			return;
		}
		for (size_t i = 0; a->status == DNS_OK && i < a->n_rr &&
		    !match; i++)
			match = addr_match(c, &a->rr[i], c->term->cidr4,
			    c->term->cidr6);
		c->name_i++;
		if (match || !next_name(c, OP_MX_ADDR))
			term_result(c, match);
		return;
	case OP_PTR:
		/* RFC 7208 5.5: a DNS error makes ptr not match. */
		if (a->status != DNS_OK) {
			if (a->status == DNS_TEMPFAIL || count_void(c))
				term_result(c, false);
			return;
		}
		strlist_release(&c->names);
		strlist_init(&c->names);
		c->name_i = 0;
		/* only the first 10 names; only those that could match */
		for (size_t i = 0; i < a->n_rr && i < SPF_MAX_NAMES; i++)
			if (a->rr[i].host != NULL && a->rr[i].host[0] &&
			    name_within(a->rr[i].host, c->target))
				names_add(&c->names, a->rr[i].host);
		if (!next_name(c, OP_PTR_ADDR))
			term_result(c, false);
		return;
	case OP_PTR_ADDR:
		for (size_t i = 0; a->status == DNS_OK && i < a->n_rr &&
		    !match; i++)
			match = addr_match(c, &a->rr[i], 32, 128);
		c->name_i++;
		if (match || !next_name(c, OP_PTR_ADDR))
			term_result(c, match);
		return;
	case OP_P_PTR:
		c->op = OP_NONE;
		if (a->status != DNS_OK) {
			c->p_done = true;
			event_active(c->kick, 0, 0);
			return;
		}
		strlist_release(&c->names);
		strlist_init(&c->names);
		c->name_i = 0;
		/* names within <domain> first (RFC 7208 7.3), then others */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < a->n_rr && i < SPF_MAX_NAMES;
			    i++)
				if (a->rr[i].host != NULL &&
				    a->rr[i].host[0] && name_within(
				    a->rr[i].host, c->p_domain) ==
				    (pass == 0))
					names_add(&c->names, a->rr[i].host);
		if (!next_name(c, OP_P_ADDR)) {
			c->p_done = true;
			event_active(c->kick, 0, 0);
		}
		return;
	case OP_P_ADDR:
		for (size_t i = 0; a->status == DNS_OK && i < a->n_rr &&
		    !match; i++)
			match = addr_match(c, &a->rr[i], 32, 128);
		if (match) {
			c->p_name = xstrdup(c->names.v[c->name_i]);
			c->vars.validated = c->p_name;
		}
		c->name_i++;
		if (match || !next_name(c, OP_P_ADDR)) {
			c->op = OP_NONE;
			c->p_done = true;
			event_active(c->kick, 0, 0);
		}
		return;
	}
}

/*
 * Run the machine until it must wait for DNS or has finished.  Called
 * from the loop only (through c->kick).
 */
static void
spf_run(struct spf_check *c)
{
	while (!c->finished && c->op == OP_NONE && c->query == NULL) {
		struct spf_frame *f;

		if (c->depth == 0) {
			/* the top level ended with fail: the explanation */
			if (c->exp_text != NULL) {
				struct buf text;
				const char *err;

				if (need_p(c, c->exp_text))
					return;
				buf_init(&text, 0);
				c->vars.domain = c->exp_domain;
				if (spf_macro_expand(c->exp_text,
				    SPF_MACRO_EXPLAIN, &c->vars, &text,
				    &err) == 0) {
					free(c->out.explanation);
					c->out.explanation = buf_detach(&text,
					    NULL);
				}
				buf_release(&text);
				spf_finish(c, SPF_FAIL, NULL);
				return;
			}
			if (c->exp_spec != NULL && need_p(c, c->exp_spec))
				return;
			if (c->exp_spec != NULL) {
				struct buf name;
				const char *err;

				buf_init(&name, 0);
				c->vars.domain = c->exp_domain;
				if (spf_macro_expand(c->exp_spec,
				    SPF_MACRO_DOMAIN, &c->vars, &name,
				    &err) == 0) {
					target_fix(&name);
					if (dns_query_name_ok(name.data,
					    true)) {
						free(c->exp_spec);
						c->exp_spec = NULL;
						spf_query(c, OP_EXP, name.data,
						    DNS_T_TXT);
						buf_release(&name);
						return;
					}
				}
				buf_release(&name);
			}
			spf_finish(c, SPF_FAIL, NULL);
			return;
		}
		f = &c->frames[c->depth - 1];
		if (f->rec == NULL) {
			if (!domain_ok(f->domain)) {
				if (c->depth == 1 && c->out.dns_terms == 0)
					spf_finish(c, SPF_NONE, err_fmt("bad "
					    "domain name \"%.80s\"",
					    f->domain));
				else
					spf_finish(c, SPF_PERMERROR, err_fmt(
					    "bad domain name \"%.80s\"",
					    f->domain));
				return;
			}
			spf_query(c, OP_RECORD, f->domain, DNS_T_TXT);
			return;
		}
		if (f->next < f->rec->n_terms) {
			const struct spf_term *t = &f->rec->terms[f->next++];
			int m = term_eval(c, t);

			if (m == 1)
				frame_done(c, t->qualifier, t->text);
			else if (m < 0)
				return;
			continue;
		}
		if (f->rec->redirect != NULL) {
			/* RFC 7208 6.1: the redirect target's result */
			struct buf target;

			if (need_p(c, f->rec->redirect))
				return;
			if (!count_term(c))
				return;
			buf_init(&target, 0);
			if (expand_target(c, f->rec->redirect, &target) < 0) {
				buf_release(&target);
				return;
			}
			free(f->domain);
			f->domain = buf_detach(&target, NULL);
			buf_release(&target);
			spf_record_free(f->rec);
			f->rec = NULL;
			f->next = 0;
			if (!domain_ok(f->domain)) {
				spf_finish(c, SPF_PERMERROR, err_fmt("redirect "
				    "to a bad domain name \"%.80s\"",
				    f->domain));
				return;
			}
			continue;
		}
		frame_done(c, SPF_NEUTRAL, NULL);	/* 4.7: default */
	}
}

struct spf_check *
spf_check_start(struct event_base *base, struct dns_resolver *resolver,
    const struct spf_request *req, spf_callback *cb, void *arg,
    const char **error_r)
{
	struct spf_check *c;
	char ip[INET6_ADDRSTRLEN];
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *helo = req->helo != NULL ? req->helo : "";
	const char *at;
	int family;
	unsigned char addr[16];

	if (req->client_ip == NULL ||
	    cidr_addr_parse(req->client_ip, &family, addr) < 0) {
		*error_r = err_fmt("bad client address \"%.60s\"",
		    req->client_ip != NULL ? req->client_ip : "");
		return NULL;
	}
	if (inet_ntop(family, addr, ip, sizeof(ip)) == NULL) {
		*error_r = "bad client address";
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->dns = resolver;
	c->cb = cb;
	c->arg = arg;
	c->kick = event_new(base, -1, 0, spf_deliver, c);
	if (c->kick == NULL)
		log_fatal("spf: cannot create an event");
	strlist_init(&c->names);
	c->out.client_ip = xstrdup(ip);
	c->out.helo = xstrdup(helo);
	c->out.receiver = req->receiver != NULL ? xstrdup(req->receiver) :
	    NULL;
	c->default_exp = xstrdup(req->default_explanation != NULL ?
	    req->default_explanation : SPF_DEFAULT_EXPLANATION);

	/* RFC 7208 2.3, 2.4, 4.3: the identity and its <sender> */
	c->out.helo_identity = req->helo_identity || *sender == '\0';
	if (c->out.helo_identity) {
		c->out.identity = xstrdup("helo");
		c->local = xstrdup("postmaster");
		c->sender_domain = xstrdup(helo);
	} else {
		c->out.identity = xstrdup("mailfrom");
		at = strrchr(sender, '@');
		if (at == NULL) {
			c->local = xstrdup("postmaster");
			c->sender_domain = xstrdup(sender);
		} else {
			c->local = at == sender ? xstrdup("postmaster") :
			    xstrndup(sender, (size_t)(at - sender));
			c->sender_domain = xstrdup(at + 1);
		}
	}
	{
		struct buf s;

		buf_init(&s, 0);
		buf_printf(&s, "%s@%s", c->local, c->sender_domain);
		c->out.sender = buf_detach(&s, NULL);
		buf_release(&s);
	}
	/* the domain checked, without a final dot */
	{
		size_t n = strlen(c->sender_domain);

		if (n > 1 && c->sender_domain[n - 1] == '.')
			c->sender_domain[n - 1] = '\0';
	}
	c->out.domain = xstrdup(c->sender_domain);

	c->vars.sender = c->out.sender;
	c->vars.local = c->local;
	c->vars.sender_domain = c->sender_domain;
	c->vars.family = family;
	memcpy(c->vars.addr, addr, sizeof(c->vars.addr));
	c->vars.helo = c->out.helo;
	c->vars.receiver = c->out.receiver;
	c->vars.now = time(NULL);

	frame_push(c, c->sender_domain);
	event_active(c->kick, 0, 0);
	return c;
}

void
spf_check_cancel(struct spf_check *c)
{
	if (c == NULL)
		return;
	if (c->query != NULL)
		dns_cancel(c->query);
	while (c->depth > 0)
		frame_pop(c);
	free(c->frames);
	if (c->kick != NULL)
		event_free(c->kick);
	strlist_release(&c->names);
	free(c->target);
	free(c->local);
	free(c->sender_domain);
	free(c->default_exp);
	free(c->p_name);
	free(c->exp_spec);
	free(c->exp_domain);
	free(c->exp_text);
	free(c->p_domain);
	spf_outcome_release(&c->out);
	free(c);
}

/* ---- synchronous wrapper ---- */

static void
sync_done(struct spf_outcome *o, void *arg)
{
	struct spf_outcome *dst = arg;

	spf_outcome_move(dst, o);
}

int
spf_check_sync(const struct dns_config *dns_cfg, const struct spf_request *req,
    struct spf_outcome *out_r, const char **error_r)
{
	struct event_base *base;
	struct dns_resolver *r;
	struct spf_check *c;

	memset(out_r, 0, sizeof(*out_r));
	base = event_base_new();
	if (base == NULL) {
		*error_r = "spf: cannot create an event base";
		return -1;
	}
	r = dns_resolver_new(base, dns_cfg, error_r);
	if (r == NULL) {
		event_base_free(base);
		return -1;
	}
	c = spf_check_start(base, r, req, sync_done, out_r, error_r);
	if (c == NULL) {
		dns_resolver_free(r);
		event_base_free(base);
		return -1;
	}
	while (out_r->identity == NULL)
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			log_panic("spf: event loop failed");
	dns_resolver_free(r);
	event_base_free(base);
	return 0;
}

/* ---- headers ---- */

/*
 * VALUE as a header parameter value: a dot-atom (with AT, also an
 * address: RFC 8601 pvalue), else a quoted-string.
 */
static void
append_value_at(struct buf *out, const char *value, bool at)
{
	bool atom = *value != '\0';

	for (const char *p = value; *p && atom; p++)
		if (!((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL ||
		    (at && *p == '@')))
			atom = false;
	if (atom && value[0] != '.' && strstr(value, "..") == NULL &&
	    value[strlen(value) - 1] != '.') {
		buf_append_str(out, value);
		return;
	}
	buf_append_char(out, '"');
	for (const char *p = value; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"' || ch == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
	buf_append_char(out, '"');
}

static void
append_value(struct buf *out, const char *value)
{
	append_value_at(out, value, false);
}

/* Text for a comment: no parentheses, backslashes or control bytes. */
static void
append_comment_text(struct buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		buf_append_char(out, ch < 0x20 || ch == 0x7f || ch == '(' ||
		    ch == ')' || ch == '\\' ? '?' : (char)ch);
	}
}

void
spf_received_spf(const struct spf_outcome *o, struct buf *out)
{
	const char *who = o->receiver != NULL && *o->receiver ? o->receiver :
	    "unknown";
	const char *what = o->helo_identity ? "helo name" : "domain of";

	buf_append_str(out, spf_result_name(o->result));
	buf_append_str(out, " (");
	append_comment_text(out, who);
	buf_append_str(out, ": ");
	switch (o->result) {
	case SPF_PASS:
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		buf_printf(out, "%s ", what);
		append_comment_text(out, o->helo_identity ? o->domain :
		    o->sender);
		buf_printf(out, " %s %s as permitted sender",
		    o->result == SPF_PASS ? "designates" :
		    o->result == SPF_NEUTRAL ? "neither permits nor denies" :
		    o->result == SPF_SOFTFAIL ? "discourages use of" :
		    "does not designate", o->client_ip);
		break;
	case SPF_NONE:
		buf_append_str(out, "no SPF record for ");
		append_comment_text(out, o->domain);
		break;
	default:
		buf_append_str(out, "error in processing the SPF record of ");
		append_comment_text(out, o->domain);
		if (o->problem != NULL) {
			buf_append_str(out, ": ");
			append_comment_text(out, o->problem);
		}
		break;
	}
	buf_append_str(out, ") client-ip=");
	buf_append_str(out, o->client_ip);
	buf_append_str(out, "; envelope-from=");
	append_value(out, o->sender);
	if (o->helo != NULL && *o->helo) {
		buf_append_str(out, "; helo=");
		append_value(out, o->helo);
	}
	if (o->receiver != NULL && *o->receiver) {
		buf_append_str(out, "; receiver=");
		append_value(out, o->receiver);
	}
	if (o->mechanism != NULL) {
		buf_append_str(out, "; mechanism=");
		append_value(out, o->mechanism);
	}
	if (o->problem != NULL && (o->result == SPF_PERMERROR ||
	    o->result == SPF_TEMPERROR)) {
		buf_append_str(out, "; problem=");
		append_value(out, o->problem);
	}
	buf_append_str(out, "; identity=");
	buf_append_str(out, o->identity);
}

void
spf_auth_results(const struct spf_outcome *o, struct buf *out)
{
	buf_append_str(out, "spf=");
	buf_append_str(out, spf_result_name(o->result));
	if (o->problem != NULL && (o->result == SPF_PERMERROR ||
	    o->result == SPF_TEMPERROR)) {
		buf_append_str(out, " reason=");
		append_value(out, o->problem);
	}
	if (o->helo_identity) {
		buf_append_str(out, " smtp.helo=");
		append_value(out, o->helo != NULL && *o->helo ? o->helo :
		    o->domain);
	} else {
		buf_append_str(out, " smtp.mailfrom=");
		append_value_at(out, o->sender, true);
	}
}
