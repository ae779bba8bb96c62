/*
 * smtp_tls - the OpenSSL side of the SMTP client: one SSL_CTX for the
 * process (TLS 1.2 or newer), certificate checks after the handshake.
 *
 * The handshake itself never fails on a certificate (SSL_VERIFY_NONE):
 * the security level decides afterwards, from the verification result
 * OpenSSL computed anyway, whether the connection may be used.  That is
 * what lets opportunistic TLS (may, encrypt) use any certificate while
 * verify/secure refuse.  DANE (RFC 7672) uses OpenSSL's own DANE
 * verifier (SSL_dane_enable, SSL_dane_tlsa_add): with TLSA records on
 * the session, the verification result OpenSSL computes is the TLSA
 * match (DANE-EE(3): the server's certificate or key, no name or expiry
 * checks, RFC 7672 3.1.1; DANE-TA(2): a chain to the named trust anchor
 * that names the host, RFC 7672 3.1.2), and the CA store plays no part.
 *
 * Distrusts the peer's certificate; reads CA files named in main.cf; the
 * TLSA records come from DNSSEC-validated answers (smtp_deliver.c).
 */
#include <stdio.h>
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
	/* The digests of TLSA matching types 1 and 2 (RFC 6698 2.1.3). */
	if (SSL_CTX_dane_enable(ctx) <= 0)
		log_fatal("cannot enable DANE in the TLS client context: %s",
		    ERR_reason_error_string(ERR_get_error()));
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

bool
smtp_tls_tlsa_usable(unsigned usage, unsigned selector, unsigned mtype,
    size_t len)
{
	/* RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP. */
	if (usage != 2 && usage != 3)
		return false;
	if (selector > 1)
		return false;
	switch (mtype) {
	case 0:
		return len > 0;
	case 1:
		return len == 32;
	case 2:
		return len == 64;
	}
	return false;
}

int
smtp_tls_dane_enable(SSL *ssl, const struct smtp_dane *dane,
    const char *match, const char **error_r)
{
	size_t added = 0;

	/*
	 * RFC 7672 3.2.2: the TLSA base domain is the reference identifier
	 * (also the SNI name when none is set yet); sub-domain wildcards
	 * are not accepted.
	 */
	if (SSL_dane_enable(ssl, dane->base) <= 0) {
		*error_r = "OpenSSL refuses DANE for this session";
		return -1;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* RFC 7672 3.1.1: DANE-EE(3) ignores the names in the certificate. */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	if (match != NULL && *match) {
		struct strlist l;

		strlist_init(&l);
		strlist_split(&l, match, ":");
		for (size_t i = 0; i < l.n; i++)
			SSL_add1_host(ssl, l.v[i]);
		strlist_release(&l);
	}
	for (size_t i = 0; i < dane->n; i++) {
		const struct smtp_tlsa *t = &dane->rr[i];

		if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype,
		    t->data, t->len) > 0)
			added++;
	}
	ERR_clear_error();
	if (added == 0) {
		*error_r = "none of the TLSA records is usable";
		return -1;
	}
	return 0;
}

bool
smtp_tls_dane_check(SSL *ssl, char *note, size_t size)
{
	long rc = SSL_get_verify_result(ssl);
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	size_t len;
	int depth;

	depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data,
	    &len);
	if (rc != X509_V_OK || depth < 0) {
		snprintf(note, size, "%s", rc != X509_V_OK ?
		    X509_verify_cert_error_string(rc) :
		    "no matching DANE TLSA records");
		return false;
	}
	snprintf(note, size, "TLSA %u %u %u matched %s at depth %d",
	    usage, selector, mtype, usage == 3 ? "the server's certificate" :
	    "its trust anchor", depth);
	return true;
}
