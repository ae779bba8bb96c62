/*
 * init_tls - the self-signed certificate `ulak init` gives a new instance,
 * so that STARTTLS, SMTPS, IMAPS and POP3S work from the first start.
 * An EC P-256 key and an X.509 v3 certificate for the host name (subject
 * CN and subjectAltName DNS), valid ten years, made with OpenSSL 3's
 * EVP/X509 APIs.  The key file is written with mode 0600.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "ulak.h"

#define TLS_DAYS (10 * 365 + 3)

/* The last OpenSSL error as text. */
static const char *
tls_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char text[256];

	if (e == 0)
		return err_fmt("%s failed", what);
	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return err_fmt("%s: %s", what, text);
}

/* Add extension NID with VALUE (config syntax) to CERT, self-issued. */
static int
tls_add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* Write the PEM text of BIO to PATH with MODE. */
static int
tls_write_bio(BIO *bio, const char *path, mode_t mode, const char **error_r)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0) {
		*error_r = err_fmt("%s: nothing to write", path);
		return -1;
	}
	return file_write_atomic(path, data, (size_t)n, mode, error_r);
}

int
ulak_tls_selfsigned(const char *cert_path, const char *key_path,
    const char *hostname, const char **error_r)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	BIO *kbio = NULL, *cbio = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	struct buf san;
	int rc = -1;

	buf_init(&san, 0);
	(void)buf_printf(&san, "DNS:%s", hostname);
	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		*error_r = tls_error("generating the EC P-256 key");
		goto out;
	}
	cert = X509_new();
	if (cert == NULL || !X509_set_version(cert, 2)) {
		*error_r = tls_error("making the certificate");
		goto out;
	}
	/* A random positive 127-bit serial, as RFC 5280 4.1.2.2 allows. */
	if (RAND_bytes(serial, sizeof(serial)) != 1) {
		*error_r = tls_error("random serial");
		goto out;
	}
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL) {
		*error_r = tls_error("setting the serial");
		goto out;
	}
	if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert),
	    (long)TLS_DAYS * 86400) == NULL) {
		*error_r = tls_error("setting the validity");
		goto out;
	}
	name = X509_get_subject_name(cert);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"ulak self-signed", -1, -1, 0) ||
	    !X509_set_issuer_name(cert, name) ||
	    !X509_set_pubkey(cert, key)) {
		*error_r = tls_error("setting the names");
		goto out;
	}
	if (tls_add_ext(cert, NID_subject_alt_name, san.data) < 0 ||
	    tls_add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    tls_add_ext(cert, NID_key_usage,
	    "critical,digitalSignature,keyAgreement") < 0 ||
	    tls_add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    tls_add_ext(cert, NID_subject_key_identifier, "hash") < 0) {
		*error_r = tls_error("adding the extensions");
		goto out;
	}
	if (X509_sign(cert, key, EVP_sha256()) <= 0) {
		*error_r = tls_error("signing the certificate");
		goto out;
	}
	kbio = BIO_new(BIO_s_mem());
	cbio = BIO_new(BIO_s_mem());
	if (kbio == NULL || cbio == NULL ||
	    !PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cbio, cert)) {
		*error_r = tls_error("writing PEM");
		goto out;
	}
	if (tls_write_bio(kbio, key_path, 0600, error_r) < 0 ||
	    tls_write_bio(cbio, cert_path, 0644, error_r) < 0)
		goto out;
	rc = 0;
out:
	BIO_free(kbio);
	BIO_free(cbio);
	BN_free(bn);
	X509_free(cert);
	EVP_PKEY_free(key);
	buf_release(&san);
	return rc;
}
