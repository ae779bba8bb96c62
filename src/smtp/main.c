/*
 * smtp - deliver queued mail to other mail servers over SMTP.
 *
 * qmgr connects to private/smtp (or private/relay) and sends
 * request=deliver (docs/protocols.md, "Delivery agents"); the agent reads
 * the queue file itself, finds and talks to the servers (smtp_deliver.c,
 * smtp_session.c), marks delivered recipients 'D' in the queue file
 * durably and only then answers with one result per recipient.  One
 * process serves many deliveries at once on libevent; DNS goes through
 * the asynchronous resolver (dns.h), so nothing blocks the loop but the
 * short local reads and fsyncs of the queue file.
 *
 * Runs as mail_owner; distrusts the remote servers (smtp_session.c) and
 * checks every attribute of qmgr's requests.
 *
 * Signals: SIGTERM exits at once (a recipient whose done-mark was not
 * yet written is simply delivered again later); SIGUSR1 stops accepting
 * and exits when the last request is answered.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "attr.h"
#include "config.h"
#include "daemon.h"
#include "dict.h"
#include "dkim_signer.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "mastercf.h"
#include "mem.h"
#include "parse.h"
#include "queue.h"
#include "queue_id.h"
#include "smtp.h"

struct client {
	struct smtp_agent *a;
	struct bufferevent *bev;
	struct attr_decoder *dec;
	struct attr_list req;
	struct delivery *d;
	bool gone;		/* qmgr hung up while a delivery ran */
	bool closing;		/* draining: close once the reply is out */
	struct client *prev, *next;
};

static struct evconnlistener *listeners[DAEMON_LISTEN_MAX];
static int n_listeners;
static unsigned long n_clients;
static bool draining;
static struct event_base *main_base;
static unsigned ipc_timeout;
static struct client *clients;

static void
client_free(struct client *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	attr_decoder_free(c->dec);
	attr_list_release(&c->req);
	free(c);
	n_clients--;
	if (draining && n_clients == 0)
		event_base_loopbreak(main_base);
}

static void
reply_error(struct client *c, const char *reason)
{
	struct buf out;
	const char *err;

	buf_init(&out, 0);
	attr_encode(&out, "status", "4", &err);
	attr_encode(&out, "dsn", "4.3.0", &err);
	attr_encode(&out, "reason", reason, &err);
	attr_encode_end(&out);
	bufferevent_write(c->bev, out.data, out.len);
	buf_release(&out);
}

static void
delivery_done(struct delivery *d, void *arg)
{
	struct client *c = arg;
	struct buf out, line;
	const char *err;

	c->d = NULL;
	if (c->gone) {
		delivery_free(d);
		client_free(c);
		return;
	}
	buf_init(&out, 0);
	buf_init(&line, 0);
	attr_encode(&out, "status", "0", &err);
	for (size_t i = 0; i < d->n_rcpt; i++) {
		buf_reset(&line);
		buf_printf(&line, "%zu %s ", d->rcpt[i].index, d->rcpt[i].dsn);
		buf_append(&line, d->rcpt[i].text.data, d->rcpt[i].text.len);
		/* Keep inside one attribute line whatever the server said. */
		if (line.len > ATTR_LINE_MAX / 2)
			buf_truncate(&line, ATTR_LINE_MAX / 2);
		attr_encode(&out, "result", line.data, &err);
	}
	attr_encode_end(&out);
	bufferevent_write(c->bev, out.data, out.len);
	buf_release(&out);
	buf_release(&line);
	delivery_free(d);
	if (draining) {
		/* Reload: no next request here; go once the reply is out. */
		c->closing = true;
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
}

static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (c->closing)
		client_free(c);
}

/* Check and start one request=deliver. */
static void
handle_request(struct client *c)
{
	const struct attr_list *r = &c->req;
	const char *request, *queue_id, *queue_file, *transport, *nexthop;
	const char *err;
	size_t *rcpts = NULL, n = 0;

	if (attr_require(r, "request", &request, &err) < 0 ||
	    strcmp(request, "deliver") != 0) {
		reply_error(c, "unknown request");
		return;
	}
	if (attr_require(r, "queue_id", &queue_id, &err) < 0 ||
	    attr_require(r, "queue_file", &queue_file, &err) < 0 ||
	    attr_require(r, "transport", &transport, &err) < 0 ||
	    attr_require(r, "nexthop", &nexthop, &err) < 0) {
		log_warning("bad request from qmgr: %s", err);
		reply_error(c, err);
		return;
	}
	if (!queue_id_valid(queue_id) || queue_file[0] == '/' ||
	    strstr(queue_file, "..") != NULL) {
		log_warning("bad request from qmgr: queue_id %s, queue_file %s",
		    queue_id, queue_file);
		reply_error(c, "bad queue_id or queue_file");
		return;
	}
	rcpts = xcalloc(r->n, sizeof(*rcpts));
	for (size_t i = 0; i < r->n; i++) {
		uint64_t v;

		if (strcmp(r->v[i].name, "rcpt") != 0)
			continue;
		if (parse_uint(r->v[i].value, 0, 1000000, &v, &err) < 0) {
			free(rcpts);
			reply_error(c, err_fmt("bad rcpt: %s", err));
			return;
		}
		rcpts[n++] = (size_t)v;
	}
	if (n == 0) {
		free(rcpts);
		reply_error(c, "no rcpt in request");
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	c->d = delivery_start(c->a, queue_id, queue_file, nexthop, rcpts, n,
	    delivery_done, c, &err);
	free(rcpts);
	if (c->d == NULL) {
		log_warning("%s: %s", queue_id, err);
		reply_error(c, err);
		bufferevent_enable(c->bev, EV_READ);
	}
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (c->d == NULL && evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		const unsigned char *data = evbuffer_pullup(in, -1);
		const char *err;
		int rc = attr_decoder_feed(c->dec, data, len, &used, &c->req,
		    &err);

		evbuffer_drain(in, used);
		if (rc < 0) {
			log_warning("bad request from qmgr: %s", err);
			client_free(c);
			return;
		}
		if (rc == 0)
			return;
		handle_request(c);
	}
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if (c->d != NULL) {
		/* Finish the delivery (its marks matter), then go. */
		c->gone = true;
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	client_free(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct smtp_agent *a = arg;
	struct client *c;
	struct timeval tv = { (time_t)ipc_timeout, 0 };

	if (draining) {
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->dec = attr_decoder_new();
	attr_list_init(&c->req);
	c->bev = bufferevent_socket_new(a->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		log_fatal("cannot create a bufferevent");
	n_clients++;
	c->next = clients;
	if (clients != NULL)
		clients->prev = c;
	clients = c;
	bufferevent_setcb(c->bev, client_read_cb, client_write_cb,
	    client_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	_exit(0);
}

static void
sigusr1_cb(evutil_socket_t sig, short what, void *arg)
{
	if (draining)
		return;
	draining = true;
	for (int i = 0; i < n_listeners; i++)
		evconnlistener_disable(listeners[i]);
	/*
	 * qmgr may keep idle connections open for the next request: close
	 * those now, so that the next request reaches an agent with the new
	 * configuration.  Busy ones close after their reply.
	 */
	smtp_session_flush_idle(arg);
	for (struct client *c = clients, *next; c != NULL; c = next) {
		next = c->next;
		if (c->d == NULL)
			client_free(c);
	}
	if (n_clients == 0)
		event_base_loopbreak(main_base);
}

/* The addresses of this host, for the "loops back to myself" check. */
static void
local_addresses(struct smtp_agent *a, struct config *cfg)
{
	struct ifaddrs *ifa, *i;
	struct strlist ifs;
	char text[INET6_ADDRSTRLEN];

	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next) {
			const void *p;

			if (i->ifa_addr == NULL)
				continue;
			if (i->ifa_addr->sa_family == AF_INET)
				p = &((struct sockaddr_in *)(void *)
				    i->ifa_addr)->sin_addr;
			else if (i->ifa_addr->sa_family == AF_INET6)
				p = &((struct sockaddr_in6 *)(void *)
				    i->ifa_addr)->sin6_addr;
			else
				continue;
			if (inet_ntop(i->ifa_addr->sa_family, p, text,
			    sizeof(text)) != NULL)
				strlist_add(&a->local_addrs, text);
		}
		freeifaddrs(ifa);
	}
	strlist_init(&ifs);
	config_list(cfg, "inet_interfaces", &ifs);
	for (size_t k = 0; k < ifs.n; k++) {
		unsigned char bin[16];

		if (inet_pton(AF_INET, ifs.v[k], bin) == 1 ||
		    inet_pton(AF_INET6, ifs.v[k], bin) == 1)
			strlist_add(&a->local_addrs, ifs.v[k]);
	}
	strlist_release(&ifs);
}

/* The ports our own smtpd listens on (master.cf inet services). */
static void
smtpd_ports(struct smtp_agent *a, const char *config_dir)
{
	struct mastercf *m;
	const char *err;
	bool def;

	m = mastercf_load(config_dir, &def, &err);
	if (m == NULL) {
		strlist_add(&a->smtpd_ports, "25");
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct mastercf_service *s = &m->services[i];
		uint64_t p;
		char num[16];

		if (s->type != MASTERCF_INET || s->command == NULL ||
		    strcmp(s->command, "smtpd") != 0 || s->port == NULL)
			continue;
		if (parse_uint(s->port, 1, 65535, &p, &err) < 0) {
			struct servent *se = getservbyname(s->port, "tcp");

			if (se == NULL)
				continue;
			p = ntohs((uint16_t)se->s_port);
		}
		snprintf(num, sizeof(num), "%u", (unsigned)p);
		strlist_add(&a->smtpd_ports, num);
	}
	mastercf_free(m);
}

static unsigned
secs(struct config *cfg, const char *name)
{
	uint64_t v = config_time(cfg, name);

	return v > 86400 ? 86400 : (unsigned)v;
}

static void
read_settings(struct smtp_agent *a, struct daemon *d)
{
	struct config *cfg = d->cfg;
	const char *err, *level, *maps;
	struct strlist l;

	a->service = xstrdup(d->service ? d->service : "smtp");
	a->queue_dir = xstrdup(config_str(cfg, "queue_directory"));
	a->myhostname = xstrdup(config_str(cfg, "myhostname"));
	a->helo_name = xstrdup(config_str(cfg, "smtp_helo_name"));
	a->tcp_port = (unsigned)config_int(cfg, "smtp_tcp_port");
	if (a->tcp_port == 0 || a->tcp_port > 65535)
		log_fatal("smtp_tcp_port = %u: expected 1..65535",
		    a->tcp_port);
	a->connect_timeout = secs(cfg, "smtp_connect_timeout");
	a->helo_timeout = secs(cfg, "smtp_helo_timeout");
	a->mail_timeout = secs(cfg, "smtp_mail_timeout");
	a->rcpt_timeout = secs(cfg, "smtp_rcpt_timeout");
	a->data_init_timeout = secs(cfg, "smtp_data_init_timeout");
	a->data_xfer_timeout = secs(cfg, "smtp_data_xfer_timeout");
	a->data_done_timeout = secs(cfg, "smtp_data_done_timeout");
	a->quit_timeout = secs(cfg, "smtp_quit_timeout");
	a->starttls_timeout = secs(cfg, "smtp_starttls_timeout");
	a->mx_address_limit = (unsigned)config_int(cfg,
	    "smtp_mx_address_limit");
	if (a->mx_address_limit == 0)
		a->mx_address_limit = 1000;
	ipc_timeout = secs(cfg, "ipc_timeout");
	a->cache_time = secs(cfg, "smtp_connection_cache_time_limit");
	level = config_str(cfg, "smtp_tls_security_level");
	if (smtp_tls_level_parse(level, &a->tls_level, &err) < 0)
		log_fatal("smtp_tls_security_level: %s", err);
	a->dnssec = config_str(cfg, "dnssec_trust_anchor_file")[0] != '\0';
	if (a->tls_level == SMTP_TLS_DANE && !a->dnssec) {
		/*
		 * No DNSSEC validation, no secure answer, no DANE: Postfix
		 * falls back to "may" the same way.
		 */
		log_warning("smtp_tls_security_level = dane needs DNSSEC "
		    "validation, but dnssec_trust_anchor_file is empty: "
		    "using \"may\"");
		a->tls_level = SMTP_TLS_MAY;
	}
	strlist_init(&l);
	config_list(cfg, "smtp_tls_policy_maps", &l);
	if (l.n > 0) {
		maps = config_str(cfg, "smtp_tls_policy_maps");
		a->tls_policy = maps_open(maps, &err);
		if (a->tls_policy == NULL)
			log_fatal("smtp_tls_policy_maps: %s", err);
	}
	strlist_release(&l);
	a->ssl_ctx = smtp_tls_context(config_str(cfg, "smtp_tls_CAfile"),
	    config_str(cfg, "smtp_tls_CApath"),
	    config_str(cfg, "smtp_tls_cert_file"),
	    config_str(cfg, "smtp_tls_key_file"));
	strlist_init(&a->local_addrs);
	strlist_init(&a->smtpd_ports);
	local_addresses(a, cfg);
	smtpd_ports(a, d->config_dir);
	/*
	 * DKIM keys are read now, before privileges are dropped (key files
	 * are often root's, mode 0600); a reload restarts this process.
	 */
	a->dkim = dkim_signer_new(cfg, &err);
	if (a->dkim == NULL)
		log_fatal("%s", err);
	if (dkim_signer_enabled(a->dkim))
		log_info("DKIM signing of outgoing mail: %zu key%s loaded",
		    dkim_signer_key_count(a->dkim),
		    dkim_signer_key_count(a->dkim) == 1 ? "" : "s");
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct smtp_agent a;
	struct event *ev_term, *ev_usr1;
	const char *err;

	memset(&a, 0, sizeof(a));
	daemon_init(&d, "smtp", argc, argv);
	if (d.n_listen == 0)
		log_fatal("no listening socket: smtp is started by master "
		    "(or by hand with ULAK_LISTEN_FDS)");
	read_settings(&a, &d);
	daemon_drop_privileges(&d);

	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	a.base = main_base = event_base_new();
	if (a.base == NULL)
		log_fatal("event_base_new failed");
	a.dns = dns_resolver_from_config(a.base, d.cfg, &err);
	if (a.dns == NULL)
		log_fatal("DNS resolver: %s", err);
	for (int i = 0; i < d.n_listen; i++) {
		evutil_make_socket_nonblocking(d.listen_fds[i]);
		listeners[i] = evconnlistener_new(a.base, accept_cb, &a,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
		    d.listen_fds[i]);
		if (listeners[i] == NULL)
			log_fatal("cannot listen on descriptor %d",
			    d.listen_fds[i]);
		n_listeners++;
	}
	ev_term = evsignal_new(a.base, SIGTERM, sigterm_cb, &a);
	ev_usr1 = evsignal_new(a.base, SIGUSR1, sigusr1_cb, &a);
	event_add(ev_term, NULL);
	event_add(ev_usr1, NULL);

	event_base_dispatch(a.base);

	log_info("exiting: drained");
	smtp_session_free_all();
	for (int i = 0; i < n_listeners; i++)
		evconnlistener_free(listeners[i]);
	event_free(ev_term);
	event_free(ev_usr1);
	dns_resolver_free(a.dns);
	event_base_free(a.base);
	if (a.tls_policy != NULL)
		maps_close(a.tls_policy);
	SSL_CTX_free(a.ssl_ctx);
	dkim_signer_free(a.dkim);
	strlist_release(&a.local_addrs);
	strlist_release(&a.smtpd_ports);
	free(a.service);
	free(a.queue_dir);
	free(a.myhostname);
	free(a.helo_name);
	daemon_release(&d);
	return 0;
}
