/*
 * imapd_auth - logins for imapd: passwords checked against the
 * passwd-file tables of imapd_password_maps (crypt(3) hashes), SASL
 * PLAIN (RFC 4616) decoding, and the server TLS context, on top of the
 * shared passdb, sasl and tls_server modules.
 *
 * User names, passwords and SASL responses come from the client and are
 * distrusted: bounded, checked for NUL and control bytes, never logged.
 * Runs unprivileged (mail_owner); the tables and the key were opened
 * before privileges were dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "mem.h"
#include "passdb.h"
#include "sasl.h"
#include "str.h"
#include "tls_server.h"

#include "imapd.h"

int
imapd_auth_login(struct imapd_server *srv, const char *user,
    const char *password, char **maildir_r, const char **error_r)
{
	struct passdb_user u;
	enum passdb_result r;
	struct buf path;

	*maildir_r = NULL;
	r = passdb_verify(srv->passwords, user, password, &u, error_r);
	if (r != PASSDB_OK)
		return r == PASSDB_FAIL ? 0 : -1;
	buf_init(&path, 4096);
	if (passdb_mailbox_path(config_raw(srv->cfg, "imap_mailbox"), &u,
	    &path, error_r) < 0) {
		buf_release(&path);
		passdb_user_release(&u);
		return -1;
	}
	*maildir_r = buf_detach(&path, NULL);
	buf_release(&path);
	passdb_user_release(&u);
	return 1;
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
