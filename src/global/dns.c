/*
 * dns - asynchronous DNS lookups on libunbound from a libevent loop.
 *
 * libunbound runs its resolver in a thread (ub_ctx_async(ctx, 1)) and
 * writes finished queries to a pipe (ub_fd); a persistent read event on
 * that descriptor calls ub_process, which runs our per-query callbacks.
 * Each query has a timer of its own; when it fires first the query is
 * cancelled and answered with a temporary failure.
 *
 * Distrusts the record data of answers (names, lengths); see dns.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>

#include "buf.h"
#include "config.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

struct dns_query {
	struct dns_resolver *r;
	struct dns_query *prev, *next;
	int async_id;
	bool submitted;		/* libunbound knows it (async_id valid) */
	struct event *timer;
	dns_callback *cb;
	void *arg;
	char *name;
	enum dns_type type;
	/* When set, answer with this status at once (the timer is 0). */
	bool early;
	enum dns_status early_status;
	char *early_error;
};

struct dns_resolver {
	struct ub_ctx *ctx;
	struct event_base *base;
	struct event *ev;
	struct timeval timeout;
	struct dns_query *queries;
	int processing;		/* inside ub_process */
	bool dead;		/* freed from a callback: free after ub_process */
};

/*
 * The special-use zones libunbound answers itself (RFC 6761 and its
 * defaults); with dns_servers they go to those servers, so tests can
 * serve names under .test and reverse names of 127.0.0.0/8.
 */
static const char *const nodefault_zones[] = {
	"test.", "invalid.", "example.", "onion.", "home.arpa.",
	"resolver.arpa.", "service.arpa.", "local.",
	"127.in-addr.arpa.", "10.in-addr.arpa.", "168.192.in-addr.arpa.",
	/* documentation networks (RFC 5737, RFC 3849), used by test zones */
	"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
};

const char *
dns_type_name(enum dns_type type)
{
	switch (type) {
	case DNS_T_A: return "A";
	case DNS_T_CNAME: return "CNAME";
	case DNS_T_PTR: return "PTR";
	case DNS_T_MX: return "MX";
	case DNS_T_TXT: return "TXT";
	case DNS_T_AAAA: return "AAAA";
	case DNS_T_TLSA: return "TLSA";
	}
	return "?";
}

const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "NXDOMAIN";
	case DNS_NODATA: return "no data";
	case DNS_TEMPFAIL: return "temporary failure";
	}
	return "?";
}

/*
 * Read the uncompressed wire name at P[0..LEN) into OUT as text; *USED_R
 * gets its wire length.  RFC 1035 3.1: labels of 1..63 octets, 255 in all.
 */
static int
name_from_wire(const unsigned char *p, size_t len, struct buf *out,
    size_t *used_r)
{
	size_t i = 0;

	buf_reset(out);
	for (;;) {
		size_t l;

		if (i >= len)
			return -1;
		l = p[i++];
		if (l == 0)
			break;
		if (l > 63 || l > len - i || i + l > 255)
			return -1;
		if (out->len > 0)
			buf_append_char(out, '.');
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_')
				buf_append_char(out, (char)c);
			else
				buf_printf(out, "\\%03u", c);
		}
		i += l;
	}
	*used_r = i;
	return 0;
}

void
dns_rr_release(struct dns_rr *rr)
{
	free(rr->host);
	free(rr->data);
	rr->host = NULL;
	rr->data = NULL;
}

int
dns_rr_parse(enum dns_type type, const unsigned char *rdata, size_t len,
    struct dns_rr *rr, const char **error_r)
{
	struct buf name;
	size_t used, off;

	memset(rr, 0, sizeof(*rr));
	rr->type = type;
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (len != (type == DNS_T_A ? 4u : 16u))
			goto bad;
		rr->family = type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(rr->addr, rdata, len);
		if (inet_ntop(rr->family, rr->addr, rr->addr_str,
		    sizeof(rr->addr_str)) == NULL)
			goto bad;
		return 0;
	case DNS_T_MX:
	case DNS_T_PTR:
	case DNS_T_CNAME:
		off = type == DNS_T_MX ? 2 : 0;
		if (len < off + 1)
			goto bad;
		if (type == DNS_T_MX)
			rr->pref = (unsigned)rdata[0] << 8 | rdata[1];
		buf_init(&name, 1024);
		if (name_from_wire(rdata + off, len - off, &name, &used) < 0 ||
		    used != len - off) {
			buf_release(&name);
			goto bad;
		}
		rr->host = buf_detach(&name, NULL);
		buf_release(&name);
		return 0;
	case DNS_T_TXT:
		/* RFC 1035 3.3.14: one or more <character-string>s. */
		if (len == 0)
			goto bad;
		rr->data = xmalloc(len);
		for (off = 0; off < len;) {
			size_t l = rdata[off++];

			if (l > len - off) {
				dns_rr_release(rr);
				goto bad;
			}
			memcpy(rr->data + rr->data_len, rdata + off, l);
			rr->data_len += l;
			off += l;
		}
		rr->data[rr->data_len] = '\0';	/* room: data_len < len */
		return 0;
	case DNS_T_TLSA:
		if (len < 3)
			goto bad;
		rr->usage = rdata[0];
		rr->selector = rdata[1];
		rr->mtype = rdata[2];
		rr->data_len = len - 3;
		rr->data = (unsigned char *)xmemdup0(rdata + 3, len - 3);
		return 0;
	}
bad:
	*error_r = err_fmt("malformed %s record", dns_type_name(type));
	return -1;
}

int
dns_server_to_unbound(const char *item, char *out, size_t size,
    const char **error_r)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	unsigned char bin[16];
	uint64_t pnum;
	size_t alen;
	const char *perr;

	if (item[0] == '[') {
		end = strchr(item, ']');
		if (end == NULL)
			goto bad;
		alen = (size_t)(end - item - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
		item++;
	} else if ((end = strchr(item, '@')) != NULL) {
		alen = (size_t)(end - item);
		port = end + 1;
	} else if ((end = strchr(item, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		/* One colon: IPv4 address and port; more: an IPv6 address. */
		alen = (size_t)(end - item);
		port = end + 1;
	} else {
		alen = strlen(item);
	}
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, item, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 &&
	    inet_pton(AF_INET6, addr, bin) != 1)
		goto bad;
	if (port != NULL) {
		if (parse_uint(port, 1, 65535, &pnum, &perr) < 0) {
			*error_r = err_fmt("DNS server \"%s\": bad port: %s",
			    item, perr);
			return -1;
		}
		if ((size_t)snprintf(out, size, "%s@%u", addr,
		    (unsigned)pnum) >= size)
			goto small;
	} else if (str_copy(out, size, addr) < 0)
		goto small;
	return 0;
bad:
	*error_r = err_fmt("DNS server \"%s\": not a numeric IP address "
	    "(with an optional port: 192.0.2.1:53, [2001:db8::1]:53)", item);
	return -1;
small:
	*error_r = err_fmt("DNS server \"%s\": too long", item);
	return -1;
}

bool
dns_query_name_ok(const char *name, bool space_ok)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (ch < 0x20 || (ch == 0x20 && !space_ok) || ch > 0x7e ||
		    ch == '\\')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

int
dns_ptr_name(const char *addr, char *out, size_t size, const char **error_r)
{
	unsigned char b[16];
	struct buf n;
	int ret = 0;

	buf_init(&n, 0);
	if (inet_pton(AF_INET, addr, b) == 1) {
		buf_printf(&n, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1],
		    b[0]);
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		static const char hex[] = "0123456789abcdef";

		for (int i = 15; i >= 0; i--)
			buf_printf(&n, "%c.%c.", hex[b[i] & 15], hex[b[i] >> 4]);
		buf_append_str(&n, "ip6.arpa");
	} else {
		*error_r = err_fmt("\"%s\" is not an IP address", addr);
		ret = -1;
	}
	if (ret == 0 && str_copy(out, size, n.data) < 0) {
		*error_r = "reverse name too long for its buffer";
		ret = -1;
	}
	buf_release(&n);
	return ret;
}

static void
query_unlink(struct dns_query *q)
{
	struct dns_resolver *r = q->r;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void
query_free(struct dns_query *q)
{
	if (q->timer != NULL)
		event_free(q->timer);
	free(q->name);
	free(q->early_error);
	free(q);
}

static void
answer_release(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n_rr; i++)
		dns_rr_release(&a->rr[i]);
	free(a->rr);
	free(a->qname);
	free(a->canonname);
	free(a->error);
}

/* Hand answer A to Q's callback and forget Q. */
static void
query_finish(struct dns_query *q, struct dns_answer *a)
{
	dns_callback *cb = q->cb;
	void *arg = q->arg;

	query_unlink(q);
	query_free(q);
	cb(a, arg);
	answer_release(a);
}

static void
answer_init(struct dns_answer *a, const struct dns_query *q)
{
	memset(a, 0, sizeof(*a));
	a->type = q->type;
	a->qname = xstrdup(q->name);
	a->canonname = xstrdup(q->name);
	a->rcode = -1;
}

static void
ub_done(void *mydata, int err, struct ub_result *res)
{
	struct dns_query *q = mydata;
	struct dns_answer a;
	const char *perr;

	answer_init(&a, q);
	if (err != 0) {
		a.status = DNS_TEMPFAIL;
		a.error = xstrdup(ub_strerror(err));
		query_finish(q, &a);
		return;
	}
	a.rcode = res->rcode;
	if (res->canonname != NULL) {
		size_t l = strlen(res->canonname);

		free(a.canonname);
		a.canonname = xstrndup(res->canonname,
		    l > 1 && res->canonname[l - 1] == '.' ? l - 1 : l);
	}
	a.security = res->secure ? DNS_SECURE :
	    res->bogus ? DNS_BOGUS : DNS_INSECURE;
	if (res->bogus) {
		a.status = DNS_TEMPFAIL;
		a.error = xstrdup(err_fmt("DNSSEC validation failed: %s",
		    res->why_bogus != NULL ? res->why_bogus : "bogus"));
	} else if (res->nxdomain || res->rcode == 3) {
		a.status = DNS_NXDOMAIN;
		a.error = xstrdup("Host not found");
	} else if (res->rcode != 0) {
		a.status = DNS_TEMPFAIL;
		a.error = xstrdup(res->rcode == 2 ?
		    "Host not found, try again" :
		    err_fmt("server failure (rcode %d)", res->rcode));
	} else if (!res->havedata) {
		a.status = DNS_NODATA;
		a.error = xstrdup(err_fmt("No %s record",
		    dns_type_name(q->type)));
	} else {
		size_t n = 0;

		while (res->data[n] != NULL)
			n++;
		a.rr = xcalloc(n, sizeof(*a.rr));
		a.status = DNS_OK;
		for (size_t i = 0; i < n; i++) {
			if (dns_rr_parse(q->type,
			    (const unsigned char *)res->data[i],
			    (size_t)res->len[i], &a.rr[a.n_rr], &perr) < 0) {
				a.status = DNS_TEMPFAIL;
				a.error = xstrdup(perr);
				break;
			}
			a.rr[a.n_rr++].ttl = (uint32_t)res->ttl;
		}
	}
	ub_resolve_free(res);
	query_finish(q, &a);
}

static void
resolver_destroy(struct dns_resolver *r)
{
	while (r->queries != NULL) {
		struct dns_query *q = r->queries;

		if (q->submitted)
			ub_cancel(r->ctx, q->async_id);
		query_unlink(q);
		query_free(q);
	}
	if (r->ev != NULL)
		event_free(r->ev);
	ub_ctx_delete(r->ctx);
	free(r);
}

static void
ub_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;
	int rc;

	r->processing++;
	rc = ub_process(r->ctx);
	r->processing--;
	if (r->dead && r->processing == 0) {
		resolver_destroy(r);
		return;
	}
	if (rc != 0)
		log_warning("dns: ub_process: %s", ub_strerror(rc));
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct dns_answer a;

	answer_init(&a, q);
	a.status = q->early ? q->early_status : DNS_TEMPFAIL;
	if (q->early) {
		a.error = q->early_error;
		q->early_error = NULL;
	} else {
		/* The server never answered: a temporary failure. */
		ub_cancel(q->r->ctx, q->async_id);
		q->submitted = false;
		a.error = xstrdup("DNS query timed out");
	}
	query_finish(q, &a);
}

/*
 * Hand the special-use zones to the forwarders.  ub_ctx_set_option does
 * not take local-zone, so this goes through ub_ctx_config, fed from a
 * pipe (/dev/fd/N): no temporary file.  Also: a test server that ignores
 * one name must stay usable for the others (infra-keep-probing).
 */
static int
config_special_zones(struct ub_ctx *ctx, const char **error_r)
{
	struct buf text;
	char path[32];
	int fds[2], rc;

	buf_init(&text, 0);
	buf_append_str(&text, "server:\n  infra-keep-probing: yes\n");
	for (size_t i = 0; i < sizeof(nodefault_zones) /
	    sizeof(nodefault_zones[0]); i++)
		buf_printf(&text, "  local-zone: \"%s\" nodefault\n",
		    nodefault_zones[i]);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		*error_r = err_fmt("dns: pipe: %s", strerror(errno));
		buf_release(&text);
		return -1;
	}
	/* A pipe holds 64 KiB: far more than this text. */
	if (write(fds[1], text.data, text.len) != (ssize_t)text.len) {
		*error_r = "dns: cannot write the resolver settings";
		close(fds[0]);
		close(fds[1]);
		buf_release(&text);
		return -1;
	}
	close(fds[1]);
	buf_release(&text);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	rc = ub_ctx_config(ctx, path);
	close(fds[0]);
	if (rc != 0) {
		*error_r = err_fmt("libunbound refuses its settings: %s",
		    ub_strerror(rc));
		return -1;
	}
	return 0;
}

static int
set_option(struct ub_ctx *ctx, const char *opt, const char *val,
    const char **error_r)
{
	int rc = ub_ctx_set_option(ctx, opt, val);

	if (rc != 0) {
		*error_r = err_fmt("libunbound refuses \"%s %s\": %s", opt, val,
		    ub_strerror(rc));
		return -1;
	}
	return 0;
}

struct dns_resolver *
dns_resolver_new(struct event_base *base, const struct dns_config *cfg,
    const char **error_r)
{
	struct dns_resolver *r;
	struct ub_ctx *ctx;
	struct strlist servers;
	char fwd[INET6_ADDRSTRLEN + 8];
	int rc;

	ctx = ub_ctx_create();
	if (ctx == NULL) {
		*error_r = "libunbound: cannot create a context";
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->ctx = ctx;
	r->base = base;
	r->timeout.tv_sec = (cfg->timeout_ms ? cfg->timeout_ms : 30000) / 1000;
	r->timeout.tv_usec = (cfg->timeout_ms % 1000) * 1000;
	strlist_init(&servers);
	/* Loopback forwarders (systemd-resolved, tests) must be asked. */
	if (set_option(ctx, "do-not-query-localhost:", "no", error_r) < 0)
		goto fail;
	if (cfg->trust_anchor_file != NULL && cfg->trust_anchor_file[0]) {
		/* libunbound reads the file only at the first query. */
		if (access(cfg->trust_anchor_file, R_OK) != 0) {
			*error_r = err_fmt("dnssec_trust_anchor_file %s: %s",
			    cfg->trust_anchor_file, strerror(errno));
			goto fail;
		}
		rc = ub_ctx_add_ta_file(ctx, cfg->trust_anchor_file);
		if (rc != 0) {
			*error_r = err_fmt("dnssec_trust_anchor_file %s: %s",
			    cfg->trust_anchor_file, ub_strerror(rc));
			goto fail;
		}
	} else if (set_option(ctx, "module-config:", "iterator",
	    error_r) < 0) {
		goto fail;
	}
	if (cfg->servers != NULL)
		strlist_split(&servers, cfg->servers, ", \t\r\n");
	if (servers.n > 0) {
		for (size_t i = 0; i < servers.n; i++) {
			if (dns_server_to_unbound(servers.v[i], fwd,
			    sizeof(fwd), error_r) < 0)
				goto fail;
			rc = ub_ctx_set_fwd(ctx, fwd);
			if (rc != 0) {
				*error_r = err_fmt("DNS server %s: %s", fwd,
				    ub_strerror(rc));
				goto fail;
			}
		}
		if (config_special_zones(ctx, error_r) < 0)
			goto fail;
	} else {
		rc = ub_ctx_resolvconf(ctx, cfg->resolv_conf);
		if (rc != 0) {
			*error_r = err_fmt("%s: %s", cfg->resolv_conf ?
			    cfg->resolv_conf : "/etc/resolv.conf",
			    rc == UB_READFILE ? strerror(errno) :
			    ub_strerror(rc));
			goto fail;
		}
	}
	rc = ub_ctx_async(ctx, 1);
	if (rc != 0) {
		*error_r = err_fmt("libunbound: %s", ub_strerror(rc));
		goto fail;
	}
	r->ev = event_new(base, ub_fd(ctx), EV_READ | EV_PERSIST, ub_fd_cb,
	    r);
	if (r->ev == NULL || event_add(r->ev, NULL) < 0) {
		*error_r = "dns: cannot watch libunbound's descriptor";
		goto fail;
	}
	strlist_release(&servers);
	return r;
fail:
	strlist_release(&servers);
	resolver_destroy(r);
	return NULL;
}

struct dns_resolver *
dns_resolver_from_config(struct event_base *base, struct config *cfg,
    const char **error_r)
{
	struct dns_config dc;
	struct strlist servers;
	struct buf list;
	struct dns_resolver *r;

	memset(&dc, 0, sizeof(dc));
	strlist_init(&servers);
	buf_init(&list, 0);
	config_list(cfg, "dns_servers", &servers);
	for (size_t i = 0; i < servers.n; i++)
		buf_printf(&list, "%s%s", i ? " " : "", servers.v[i]);
	dc.servers = list.data;
	dc.trust_anchor_file = config_str(cfg, "dnssec_trust_anchor_file");
	dc.timeout_ms = (unsigned)config_time(cfg, "dns_timeout") * 1000;
	if (dc.timeout_ms == 0)
		dc.timeout_ms = 1000;
	r = dns_resolver_new(base, &dc, error_r);
	strlist_release(&servers);
	buf_release(&list);
	return r;
}

void
dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	if (r->processing > 0) {
		/* Called from a callback inside ub_process: finish later. */
		while (r->queries != NULL) {
			struct dns_query *q = r->queries;

			if (q->submitted)
				ub_cancel(r->ctx, q->async_id);
			query_unlink(q);
			query_free(q);
		}
		r->dead = true;
		return;
	}
	resolver_destroy(r);
}

struct dns_query *
dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback *cb, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	struct timeval zero = { 0, 0 };
	size_t len = strlen(name);
	int rc;

	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->type = type;
	/* Keep the name as asked, without a final dot (for messages). */
	q->name = xstrndup(name, len > 1 && name[len - 1] == '.' ? len - 1 :
	    len);
	q->timer = evtimer_new(r->base, timer_cb, q);
	if (q->timer == NULL)
		log_fatal("dns: cannot create a timer");
	q->next = r->queries;
	if (r->queries != NULL)
		r->queries->prev = q;
	r->queries = q;
	if (r->dead) {
		q->early = true;
		q->early_status = DNS_TEMPFAIL;
		q->early_error = xstrdup("resolver is shutting down");
	} else if (len == 0 || len > 253 || strchr(name, '\\') != NULL ||
	    strstr(name, "..") != NULL || name[0] == '.') {
		/*
		 * An impossible name never resolves; a backslash would be
		 * read as an escape by libunbound.  Only names we made
		 * from record data carry escapes: those must stay literal.
		 */
		q->early = true;
		q->early_status = DNS_NXDOMAIN;
		q->early_error = xstrdup("malformed domain name");
	} else {
		rc = ub_resolve_async(r->ctx, q->name, (int)type, 1, q, ub_done,
		    &q->async_id);
		if (rc != 0) {
			q->early = true;
			q->early_status = rc == UB_SYNTAX ? DNS_NXDOMAIN :
			    DNS_TEMPFAIL;
			q->early_error = xstrdup(rc == UB_SYNTAX ?
			    "malformed domain name" : ub_strerror(rc));
		} else {
			q->submitted = true;
		}
	}
	evtimer_add(q->timer, q->early ? &zero : &r->timeout);
	return q;
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->submitted)
		ub_cancel(q->r->ctx, q->async_id);
	query_unlink(q);
	query_free(q);
}
