/*
 * imapd_auth - logins for imapd: passwords checked against the
 * passwd-file tables of imapd_password_maps (crypt(3) hashes) on a few
 * worker threads so that a slow hash never stalls the event loop, SASL
 * PLAIN (RFC 4616) decoding, and the server TLS context, on top of the
 * shared passdb, sasl and tls_server modules.
 *
 * User names, passwords and SASL responses come from the client and are
 * distrusted: bounded, checked for NUL and control bytes, never logged;
 * a password lives only in its job and is wiped after the check.
 * Runs unprivileged (mail_owner); the tables and the key were opened
 * before privileges were dropped.  Threads: the workers only ever call
 * passdb_check_hash on their job's own copies and event_active; the
 * table lookup, the job's results and the sessions stay on the event
 * loop's thread.
 */
#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "passdb.h"
#include "sasl.h"
#include "str.h"
#include "tls_server.h"

#include "imapd.h"

struct imapd_login {
	struct imapd_login *next;	/* in the pool's queue */
	struct event *done_ev;
	imapd_login_done_fn *done;
	void *ctx;		/* NULL once cancelled */
	struct imapd_server *srv;
	struct passdb_user user;
	char *password;
	char *hash;
	int lookup;		/* PASSDB_OK, _FAIL (dummy), _TEMPFAIL */
	char *error;		/* of a failed lookup, or NULL */
	bool ok;		/* the hash matched (set by the worker) */
};

struct imapd_login_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct imapd_login *head, **tail;
	bool stop;
	unsigned n;
	pthread_t *threads;
};

/* One pool per process: the callers are all on the event loop. */
static struct imapd_login_pool *the_pool;

static void
wipe_free(char *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static void
login_free(struct imapd_login *l)
{
	wipe_free(l->password);
	free(l->hash);
	free(l->error);
	passdb_user_release(&l->user);
	if (l->done_ev != NULL)
		event_free(l->done_ev);
	free(l);
}

static void
check(struct imapd_login *l)
{
	if (l->lookup != PASSDB_TEMPFAIL)
		l->ok = passdb_check_hash(l->password, l->hash);
	explicit_bzero(l->password, strlen(l->password));
}

static void *
worker(void *arg)
{
	struct imapd_login_pool *p = arg;

	for (;;) {
		struct imapd_login *l;

		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		l = p->head;
		p->head = l->next;
		if (p->head == NULL)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->lock);
		check(l);
		/* Back to the loop's thread (evthread makes it safe). */
		event_active(l->done_ev, 0, 0);
	}
}

struct imapd_login_pool *
imapd_login_pool_start(unsigned n)
{
	struct imapd_login_pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->tail = &p->head;
	p->threads = xcalloc(n > 0 ? n : 1, sizeof(*p->threads));
	for (unsigned i = 0; i < n; i++) {
		if (pthread_create(&p->threads[p->n], NULL, worker, p) != 0) {
			log_warning("cannot start a password-check thread");
			continue;
		}
		p->n++;
	}
	if (p->n == 0)
		log_fatal("no password-check thread could be started");
	the_pool = p;
	return p;
}

void
imapd_login_pool_stop(struct imapd_login_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	/* Jobs never taken: their sessions are gone with the loop. */
	while (p->head != NULL) {
		struct imapd_login *l = p->head;

		p->head = l->next;
		login_free(l);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->threads);
	free(p);
	if (the_pool == p)
		the_pool = NULL;
}

static void
login_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imapd_login *l = arg;
	struct buf path;
	const char *error = l->error != NULL ? l->error : "";
	char *maildir = NULL;
	int r;

	if (l->ctx == NULL) {
		login_free(l);
		return;
	}
	if (l->lookup == PASSDB_TEMPFAIL)
		r = -1;
	else if (l->lookup != PASSDB_OK || !l->ok)
		r = 0;
	else {
		buf_init(&path, 4096);
		if (passdb_mailbox_path(config_raw(l->srv->cfg,
		    "imap_mailbox"), &l->user, &path, &error) < 0)
			r = -1;
		else {
			maildir = buf_detach(&path, NULL);
			r = 1;
		}
		buf_release(&path);
	}
	l->done(l->ctx, r, maildir, l->user.uid, error);
	login_free(l);
}

struct imapd_login *
imapd_login_start(struct imapd_server *srv, const char *user,
    const char *password, imapd_login_done_fn *done, void *ctx)
{
	struct imapd_login *l = xcalloc(1, sizeof(*l));
	struct imapd_login_pool *p = the_pool;
	const char *error = "";

	l->srv = srv;
	l->done = done;
	l->ctx = ctx;
	l->password = xstrdup(password);
	l->lookup = passdb_lookup(srv->passwords, user, &l->user, &l->hash,
	    &error);
	/* err_fmt text does not live until the answer: copy it. */
	if (l->lookup == PASSDB_TEMPFAIL)
		l->error = xstrdup(error);
	l->done_ev = event_new(srv->base, -1, 0, login_done_cb, l);
	if (l->done_ev == NULL)
		log_fatal("event_new failed");
	if (l->lookup == PASSDB_TEMPFAIL || p == NULL) {
		/* Nothing slow to do, or no pool (tests): answer from the
		 * loop, never from inside the caller. */
		check(l);
		event_active(l->done_ev, 0, 0);
		return l;
	}
	pthread_mutex_lock(&p->lock);
	*p->tail = l;
	p->tail = &l->next;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return l;
}

void
imapd_login_cancel(struct imapd_login *l)
{
	/* A worker may still hold L; login_done_cb frees it. */
	if (l != NULL)
		l->ctx = NULL;
}

const char *
imapd_auth_crypt_method(void)
{
	/*
	 * A libcrypt function that AddressSanitizer does not intercept:
	 * with -Wl,--as-needed a binary whose only libcrypt call is
	 * crypt_r (which ASan intercepts) loses its libcrypt dependency,
	 * and the interceptor then calls a NULL crypt_r at the first login.
	 */
	const char *m = crypt_preferred_method();

	return m != NULL ? m : "?";
}

int
imapd_sasl_plain(const char *b64, char **user_r, char **password_r)
{
	struct sasl_plain sp;
	const char *error;

	*user_r = *password_r = NULL;
	if (sasl_plain_decode(b64, strlen(b64), &sp, &error) < 0)
		return -1;
	/* Acting for another user (authzid) is not offered. */
	if (sp.authzid[0] != '\0' && strcmp(sp.authzid, sp.authcid) != 0) {
		sasl_plain_release(&sp);
		return -1;
	}
	*user_r = xstrdup(sp.authcid);
	*password_r = xstrdup(sp.passwd);
	sasl_plain_release(&sp);
	return 0;
}

struct tls_server *
imapd_tls_context(struct config *cfg, const char **error_r)
{
	struct strlist chain;
	struct tls_server *t;

	strlist_init(&chain);
	config_list(cfg, "imapd_tls_chain_files", &chain);
	t = tls_server_new("imapd", config_str(cfg, "imapd_tls_cert_file"),
	    config_str(cfg, "imapd_tls_key_file"), &chain, error_r);
	strlist_release(&chain);
	return t;
}
