/*
 * tls_server - shared server TLS context; see tls_server.h.
 *
 * Reads the certificate and key files named by main.cf (the
 * administrator's, trusted) while the daemon may still be root.
 * Everything after the handshake starts comes from the network and is
 * OpenSSL's to check; renegotiation is off.
 */
#include "tls_server.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "buf.h"
#include "err.h"
#include "mem.h"
#include "str.h"

struct tls_server {
	SSL_CTX *ctx;
};

/* TLS 1.2 suites: forward secrecy and AEAD only; the server chooses. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
	"DHE+CHACHA20:!aNULL:!eNULL:!MD5:!RC4:!3DES"

const char *
tls_server_error(void)
{
	unsigned long e = ERR_get_error();
	char text[256];

	ERR_clear_error();
	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, text, sizeof(text));
	return err_fmt("%s", text);
}

struct tls_server *
tls_server_new(const char *who, const char *cert_file, const char *key_file,
    const struct strlist *chain_files, const char **error_r)
{
	static const unsigned char sid_ctx[] = "ulak";
	struct tls_server *t;
	SSL_CTX *ctx;
	bool have_cert = false;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = err_fmt("%s: cannot make a TLS context: %s", who,
		    tls_server_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		*error_r = err_fmt("%s: cipher list: %s", who,
		    tls_server_error());
		goto fail;
	}
	/* Resumption: a session cache in the process, and tickets. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_timeout(ctx, 3600);

	if (chain_files != NULL) {
		for (size_t i = 0; i < chain_files->n; i++) {
			const char *f = chain_files->v[i];

			ERR_clear_error();
			if (SSL_CTX_use_PrivateKey_file(ctx, f,
			    SSL_FILETYPE_PEM) != 1 ||
			    SSL_CTX_use_certificate_chain_file(ctx, f) != 1) {
				*error_r = err_fmt("%s_tls_chain_files %s: %s",
				    who, f, tls_server_error());
				goto fail;
			}
			have_cert = true;
		}
	}
	if (!have_cert && cert_file != NULL && *cert_file != '\0') {
		const char *kf = key_file != NULL && *key_file != '\0' ?
		    key_file : cert_file;

		ERR_clear_error();
		if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
			*error_r = err_fmt("%s_tls_cert_file %s: %s", who,
			    cert_file, tls_server_error());
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, kf, SSL_FILETYPE_PEM) !=
		    1) {
			*error_r = err_fmt("%s_tls_key_file %s: %s", who, kf,
			    tls_server_error());
			goto fail;
		}
		have_cert = true;
	}
	if (!have_cert) {
		*error_r = err_fmt("%s: no TLS certificate configured (%s_tls_"
		    "cert_file or %s_tls_chain_files)", who, who, who);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = err_fmt("%s: the TLS key does not match the "
		    "certificate: %s", who, tls_server_error());
		goto fail;
	}
	t = xcalloc(1, sizeof(*t));
	t->ctx = ctx;
	return t;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_server_free(struct tls_server *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL_CTX *
tls_server_ctx(struct tls_server *t)
{
	return t->ctx;
}

SSL *
tls_server_ssl_new(struct tls_server *t)
{
	return SSL_new(t->ctx);
}

void
tls_server_describe(SSL *ssl, struct buf *out)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int alg = 0, bits = 0;

	if (c != NULL)
		bits = SSL_CIPHER_get_bits(c, &alg);
	(void)buf_printf(out, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), c ? SSL_CIPHER_get_name(c) : "none", bits,
	    alg);
}
