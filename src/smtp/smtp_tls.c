/*
 * smtp_tls - the OpenSSL side of the SMTP client: one SSL_CTX for the
 * process (TLS 1.2 or newer), certificate checks after the handshake.
 *
 * The handshake itself never fails on a certificate (SSL_VERIFY_NONE):
 * the security level decides afterwards, from the verification result
 * OpenSSL computed anyway, whether the connection may be used.  That is
 * what lets opportunistic TLS (may, encrypt) use any certificate while
 * verify/secure refuse, and what DANE (RFC 7672) will hook into: a TLSA
 * match replaces the chain check here.
 *
 * Distrusts the peer's certificate; reads CA files named in main.cf.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "smtp.h"

SSL_CTX *
smtp_tls_context(const char *cafile, const char *capath,
    const char *cert_file, const char *key_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		log_fatal("cannot create the TLS client context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if ((cafile && *cafile) || (capath && *capath)) {
		if (SSL_CTX_load_verify_locations(ctx,
		    cafile && *cafile ? cafile : NULL,
		    capath && *capath ? capath : NULL) != 1)
			log_fatal("smtp_tls_CAfile/smtp_tls_CApath: cannot load "
			    "%s: %s", cafile && *cafile ? cafile : capath,
			    ERR_reason_error_string(ERR_get_error()));
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		log_warning("cannot load the system's trusted CA certificates");
	}
	if (cert_file && *cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key_file && *key_file ?
		    key_file : cert_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)
			log_fatal("smtp_tls_cert_file %s: %s", cert_file,
			    ERR_reason_error_string(ERR_get_error()));
	}
	return ctx;
}

void
smtp_tls_check(SSL *ssl, const char *names, bool *trusted_r, bool *matched_r)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	struct strlist l;

	*trusted_r = false;
	*matched_r = false;
	if (cert == NULL)
		return;
	*trusted_r = SSL_get_verify_result(ssl) == X509_V_OK;
	strlist_init(&l);
	strlist_split(&l, names, ":");
	for (size_t i = 0; i < l.n && !*matched_r; i++) {
		const char *n = l.v[i];

		if (X509_check_ip_asc(cert, n, 0) == 1 ||
		    X509_check_host(cert, n, strlen(n), 0, NULL) == 1)
			*matched_r = true;
	}
	strlist_release(&l);
	X509_free(cert);
}
