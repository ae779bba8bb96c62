/*
 * smtpd_tls - smtpd's server-side TLS: one OpenSSL context per smtpd
 * process built from smtpd_tls_cert_file/smtpd_tls_key_file or
 * smtpd_tls_chain_files, TLS 1.2 or newer, the server's cipher
 * preference, session resumption (server cache and tickets), no
 * renegotiation and no compression.
 *
 * The certificate and key are read by smtpd_tls_new(), which smtpd calls
 * before it drops privileges: the key file may be readable by root alone.
 * A reload restarts smtpd (master drains and replaces it), which reads
 * them again.
 *
 * (Written inside smtpd because the shared server TLS module of
 * src/global had not landed when STARTTLS was built; see docs/security.md.)
 */
#ifndef ULAK_SMTPD_TLS_H
#define ULAK_SMTPD_TLS_H

#include <openssl/ssl.h>

struct buf;
struct strlist;

struct smtpd_tls;

/*
 * A server context from the PEM files CERT and KEY, or, when CHAIN holds
 * any, from those files (each may hold a private key and/or a
 * certificate chain, leaf first; Postfix's smtpd_tls_chain_files).  NULL
 * with *error_r ("smtpd_tls_cert_file /x.pem: ...: No such file") when a
 * file cannot be read or the key does not match the certificate.
 */
struct smtpd_tls *smtpd_tls_new(const char *cert, const char *key,
    const struct strlist *chain, const char **error_r);
void smtpd_tls_free(struct smtpd_tls *t);

/* A new server-side SSL object for one connection (never NULL: fatal). */
SSL *smtpd_tls_ssl_new(struct smtpd_tls *t);

/*
 * Describe the established connection of SSL for the log, as Postfix
 * does: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)".
 * Replaces the contents of OUT.
 */
void smtpd_tls_describe(SSL *ssl, struct buf *out);

/* The last OpenSSL error queued, as text for a log line (cleared). */
const char *smtpd_tls_error(void);

/* OpenSSL error code E as text (an err_fmt buffer). */
const char *smtpd_tls_describe_error(unsigned long e);

#endif
