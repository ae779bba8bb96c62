/*
 * smtpd_tls - smtpd's server TLS context; see smtpd_tls.h.
 *
 * Reads the certificate and key files named by main.cf (trusted: the
 * administrator's) while smtpd may still be root.  Everything after the
 * handshake starts comes from the network and is OpenSSL's to check.
 */
#include "smtpd_tls.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct smtpd_tls {
	SSL_CTX *ctx;
};

/* TLS 1.2 suites: forward secrecy and AEAD first; the server chooses. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
	"DHE+CHACHA20:ECDHE+AES:DHE+AES:!aNULL:!eNULL:!MD5:!RC4:!3DES:!SHA1"

const char *
smtpd_tls_error(void)
{
	unsigned long e = ERR_get_error();
	char text[256];

	ERR_clear_error();
	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, text, sizeof(text));
	return err_fmt("%s", text);
}

const char *
smtpd_tls_describe_error(unsigned long e)
{
	char text[256];

	ERR_error_string_n(e, text, sizeof(text));
	return err_fmt("%s", text);
}

static int
load_chain_file(SSL_CTX *ctx, const char *file, const char **error_r)
{
	bool cert, key;

	ERR_clear_error();
	cert = SSL_CTX_use_certificate_chain_file(ctx, file) == 1;
	ERR_clear_error();
	key = SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM) == 1;
	if (!cert && !key) {
		*error_r = err_fmt("smtpd_tls_chain_files: %s: %s", file,
		    smtpd_tls_error());
		return -1;
	}
	ERR_clear_error();
	return 0;
}

struct smtpd_tls *
smtpd_tls_new(const char *cert, const char *key, const struct strlist *chain,
    const char **error_r)
{
	static const unsigned char sid_ctx[] = "ulak-smtpd";
	struct smtpd_tls *t = xcalloc(1, sizeof(*t));

	t->ctx = SSL_CTX_new(TLS_server_method());
	if (t->ctx == NULL) {
		*error_r = err_fmt("SSL_CTX_new: %s", smtpd_tls_error());
		free(t);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(t->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_set_cipher_list(t->ctx, TLS12_CIPHERS) != 1) {
		*error_r = err_fmt("cipher list: %s", smtpd_tls_error());
		goto fail;
	}
	/* Resumption: one process serves every client of its service. */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(t->ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_timeout(t->ctx, 3600);
	/* Writes may be retried from a moved buffer (libevent does). */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE);

	if (chain != NULL && chain->n > 0) {
		for (size_t i = 0; i < chain->n; i++)
			if (load_chain_file(t->ctx, chain->v[i], error_r) < 0)
				goto fail;
	} else {
		if (cert == NULL || *cert == '\0') {
			*error_r = "no certificate: set smtpd_tls_cert_file "
			    "and smtpd_tls_key_file (or smtpd_tls_chain_files)";
			goto fail;
		}
		ERR_clear_error();
		if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
			*error_r = err_fmt("smtpd_tls_cert_file %s: %s", cert,
			    smtpd_tls_error());
			goto fail;
		}
		if (key == NULL || *key == '\0')
			key = cert;
		if (SSL_CTX_use_PrivateKey_file(t->ctx, key,
		    SSL_FILETYPE_PEM) != 1) {
			*error_r = err_fmt("smtpd_tls_key_file %s: %s", key,
			    smtpd_tls_error());
			goto fail;
		}
	}
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		*error_r = err_fmt("the private key does not match the "
		    "certificate: %s", smtpd_tls_error());
		goto fail;
	}
	return t;
fail:
	smtpd_tls_free(t);
	return NULL;
}

void
smtpd_tls_free(struct smtpd_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL *
smtpd_tls_ssl_new(struct smtpd_tls *t)
{
	SSL *ssl = SSL_new(t->ctx);

	if (ssl == NULL)
		log_fatal("SSL_new: %s", smtpd_tls_error());
	return ssl;
}

void
smtpd_tls_describe(SSL *ssl, struct buf *out)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits = c != NULL ? SSL_CIPHER_get_bits(c, &alg) : 0;

	buf_reset(out);
	buf_printf(out, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    c != NULL ? SSL_CIPHER_get_name(c) : "unknown", bits, alg);
}
