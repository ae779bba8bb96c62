/*
 * smtpd_dnsfact - DNS answers and SPF outcomes of one smtpd session; see
 * smtpd_dnsfact.h.  Runs in smtpd's event loop, unprivileged; distrusts
 * record data (text is cut at NUL bytes and at a length limit).
 */
#include "smtpd_dnsfact.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "cidr.h"
#include "log.h"
#include "mem.h"

#define VALUE_MAX 1024		/* bytes of one record kept as text */
#define NAMES_MAX 5		/* PTR names tried for forward confirmation */

enum fact_kind { FACT_DNS, FACT_SPF };

struct fact {
	enum fact_kind kind;
	char *key;
	enum dns_type type;
	bool known;
	bool started;
	struct smtpd_dnsfact_answer answer;
	struct spf_request req;		/* FACT_SPF: copies of the strings */
	struct spf_outcome spf;
	struct dns_query *q;
	struct spf_check *check;
	struct smtpd_dnsfact *owner;
};

struct smtpd_dnsfact {
	struct event_base *base;
	struct dns_resolver *resolver;
	struct fact **v;
	size_t n;
	unsigned outstanding;
	smtpd_dnsfact_cb *cb;
	void *arg;
};

struct smtpd_dnsfact *
smtpd_dnsfact_new(struct event_base *base, struct dns_resolver *resolver)
{
	struct smtpd_dnsfact *f = xcalloc(1, sizeof(*f));

	f->base = base;
	f->resolver = resolver;
	f->v = xcalloc(SMTPD_DNSFACT_MAX, sizeof(*f->v));
	return f;
}

static void
fact_free(struct fact *e)
{
	if (e->q != NULL)
		dns_cancel(e->q);
	if (e->check != NULL)
		spf_check_cancel(e->check);
	free(e->key);
	strlist_release(&e->answer.values);
	free(e->answer.error);
	free((char *)e->req.client_ip);
	free((char *)e->req.sender);
	free((char *)e->req.helo);
	free((char *)e->req.receiver);
	spf_outcome_release(&e->spf);
	free(e);
}

void
smtpd_dnsfact_free(struct smtpd_dnsfact *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		fact_free(f->v[i]);
	free(f->v);
	free(f);
}

static struct fact *
find(struct smtpd_dnsfact *f, enum fact_kind kind, const char *key,
    enum dns_type type)
{
	for (size_t i = 0; i < f->n; i++) {
		struct fact *e = f->v[i];

		if (e->kind == kind && e->type == type &&
		    strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static struct fact *
add(struct smtpd_dnsfact *f, enum fact_kind kind, const char *key,
    enum dns_type type)
{
	struct fact *e;

	if (f->n == SMTPD_DNSFACT_MAX) {
		/* A session that asks this much: forget what is done. */
		size_t k = 0;

		for (size_t i = 0; i < f->n; i++) {
			if (f->v[i]->known)
				fact_free(f->v[i]);
			else
				f->v[k++] = f->v[i];
		}
		f->n = k;
		if (f->n == SMTPD_DNSFACT_MAX)
			log_panic("smtpd_dnsfact: too many pending lookups");
	}
	e = xcalloc(1, sizeof(*e));
	e->kind = kind;
	e->key = xstrdup(key);
	e->type = type;
	e->owner = f;
	strlist_init(&e->answer.values);
	f->v[f->n++] = e;
	return e;
}

int
smtpd_dnsfact_dns(struct smtpd_dnsfact *f, const char *name,
    enum dns_type type, const struct smtpd_dnsfact_answer **a_r)
{
	struct buf k;
	struct fact *e;

	buf_init(&k, 0);
	buf_append_str(&k, name);
	str_lower(k.data);
	while (k.len > 0 && k.data[k.len - 1] == '.')
		buf_truncate(&k, k.len - 1);
	e = find(f, FACT_DNS, k.data, type);
	if (e == NULL)
		e = add(f, FACT_DNS, k.data, type);
	buf_release(&k);
	if (!e->known)
		return 0;
	*a_r = &e->answer;
	return 1;
}

static void
spf_key(const struct spf_request *req, struct buf *k)
{
	buf_printf(k, "%s|%s|%s|%d", req->client_ip, req->sender != NULL ?
	    req->sender : "", req->helo != NULL ? req->helo : "",
	    req->helo_identity ? 1 : 0);
}

int
smtpd_dnsfact_spf(struct smtpd_dnsfact *f, const struct spf_request *req,
    const struct spf_outcome **o_r)
{
	struct buf k;
	struct fact *e;

	buf_init(&k, 0);
	spf_key(req, &k);
	e = find(f, FACT_SPF, k.data, 0);
	if (e == NULL) {
		e = add(f, FACT_SPF, k.data, 0);
		e->req = *req;
		e->req.client_ip = xstrdup(req->client_ip);
		e->req.sender = req->sender != NULL ? xstrdup(req->sender) :
		    NULL;
		e->req.helo = req->helo != NULL ? xstrdup(req->helo) : NULL;
		e->req.receiver = req->receiver != NULL ?
		    xstrdup(req->receiver) : NULL;
		e->req.default_explanation = NULL;
	}
	buf_release(&k);
	if (!e->known)
		return 0;
	*o_r = &e->spf;
	return 1;
}

static void
one_done(struct smtpd_dnsfact *f)
{
	if (--f->outstanding == 0 && f->cb != NULL) {
		smtpd_dnsfact_cb *cb = f->cb;

		f->cb = NULL;
		cb(f->arg);
	}
}

static void
dns_done(const struct dns_answer *a, void *arg)
{
	struct fact *e = arg;

	e->q = NULL;
	e->known = true;
	e->answer.status = a->status;
	if (a->error != NULL)
		e->answer.error = xstrdup(a->error);
	for (size_t i = 0; a->status == DNS_OK && i < a->n_rr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		size_t n;

		if (rr->type != e->type)
			continue;	/* a CNAME on the way */
		switch (rr->type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			strlist_add(&e->answer.values, rr->addr_str);
			break;
		case DNS_T_MX:
		case DNS_T_PTR:
			strlist_add(&e->answer.values, rr->host);
			break;
		case DNS_T_TXT: {
			char *t;

			n = rr->data_len > VALUE_MAX ? VALUE_MAX : rr->data_len;
			t = xmalloc(n + 1);
			memcpy(t, rr->data, n);
			t[n] = '\0';
			strlist_add_owned(&e->answer.values, t);
			break;
		}
		default:
			break;
		}
	}
	if (a->status == DNS_OK && e->answer.values.n == 0)
		e->answer.status = DNS_NODATA;
	one_done(e->owner);
}

static void
spf_done(struct spf_outcome *o, void *arg)
{
	struct fact *e = arg;

	e->check = NULL;
	e->known = true;
	spf_outcome_move(&e->spf, o);
	one_done(e->owner);
}

int
smtpd_dnsfact_resolve(struct smtpd_dnsfact *f, smtpd_dnsfact_cb *cb,
    void *arg)
{
	unsigned started = 0;

	/* Count first: a callback cannot come from within a start call. */
	f->outstanding = 1;
	f->cb = cb;
	f->arg = arg;
	for (size_t i = 0; i < f->n; i++) {
		struct fact *e = f->v[i];
		const char *error;

		if (e->known || e->started)
			continue;
		e->started = true;
		if (e->kind == FACT_DNS) {
			f->outstanding++;
			started++;
			e->q = dns_lookup(f->resolver, e->key, e->type,
			    dns_done, e);
			continue;
		}
		e->check = spf_check_start(f->base, f->resolver, &e->req,
		    spf_done, e, &error);
		if (e->check == NULL) {
			/* Not an address: cannot happen for a real client. */
			e->known = true;
			e->spf.result = SPF_NONE;
			continue;
		}
		f->outstanding++;
		started++;
	}
	f->outstanding--;
	if (started == 0) {
		f->cb = NULL;
		return 0;
	}
	return 1;
}

int
smtpd_dnsfact_client_name(struct smtpd_dnsfact *f, int family,
    const char *addr, struct smtpd_client_name *out)
{
	const struct smtpd_dnsfact_answer *ptr;
	char qname[128];
	const char *error;
	enum dns_type ft = family == AF_INET6 ? DNS_T_AAAA : DNS_T_A;
	bool pending = false, temp = false;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (dns_ptr_name(addr, qname, sizeof(qname), &error) < 0) {
		out->reverse_status = out->name_status = SMTPD_NAME_NONE;
		out->reverse_name = xstrdup("unknown");
		out->name = xstrdup("unknown");
		return 1;
	}
	if (smtpd_dnsfact_dns(f, qname, DNS_T_PTR, &ptr) == 0)
		return 0;
	if (ptr->status != DNS_OK) {
		out->reverse_status = out->name_status =
		    ptr->status == DNS_TEMPFAIL ? SMTPD_NAME_TEMP :
		    SMTPD_NAME_NONE;
		out->reverse_name = xstrdup("unknown");
		out->name = xstrdup("unknown");
		return 1;
	}
	n = ptr->values.n > NAMES_MAX ? NAMES_MAX : ptr->values.n;
	/* Ask for every name at once; then look at the answers in order. */
	for (size_t i = 0; i < n; i++) {
		const struct smtpd_dnsfact_answer *fw;

		if (ptr->values.v[i][0] == '\0' ||
		    smtpd_dnsfact_dns(f, ptr->values.v[i], ft, &fw) == 0)
			pending = true;
	}
	if (pending)
		return 0;
	out->reverse_status = SMTPD_NAME_OK;
	out->reverse_name = xstrdup(ptr->values.v[0]);
	for (size_t i = 0; i < n; i++) {
		const struct smtpd_dnsfact_answer *fw;
		int fam;
		unsigned char want[16], got[16];

		if (ptr->values.v[i][0] == '\0')
			continue;
		(void)smtpd_dnsfact_dns(f, ptr->values.v[i], ft, &fw);
		if (fw->status == DNS_TEMPFAIL)
			temp = true;
		memset(want, 0, sizeof(want));
		if (cidr_addr_parse(addr, &fam, want) < 0)
			break;
		for (size_t k = 0; k < fw->values.n; k++) {
			int gf;

			memset(got, 0, sizeof(got));
			if (cidr_addr_parse(fw->values.v[k], &gf, got) == 0 &&
			    gf == fam && memcmp(got, want, 16) == 0) {
				out->name_status = SMTPD_NAME_OK;
				out->name = xstrdup(ptr->values.v[i]);
				return 1;
			}
		}
	}
	out->name_status = temp ? SMTPD_NAME_TEMP : SMTPD_NAME_NONE;
	out->name = xstrdup("unknown");
	return 1;
}

void
smtpd_client_name_release(struct smtpd_client_name *n)
{
	free(n->reverse_name);
	free(n->name);
	memset(n, 0, sizeof(*n));
}
