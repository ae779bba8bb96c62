/*
 * tls_server - the server side TLS context that smtpd, pop3d and imapd
 * share: certificate, key and chain files from main.cf, TLS 1.2 or newer,
 * the server's cipher preference, session resumption (cache and tickets).
 *
 * Build it while the daemon may still be root (the key file is usually
 * readable by root only), then drop privileges; each connection gets an
 * SSL object from tls_server_ssl_new for bufferevent_openssl_filter_new
 * (STARTTLS/STLS) or bufferevent_openssl_socket_new (implicit TLS).
 */
#ifndef ULAK_TLS_SERVER_H
#define ULAK_TLS_SERVER_H

#include <openssl/ssl.h>

struct buf;
struct strlist;
struct tls_server;

/*
 * A context from CERT_FILE and KEY_FILE (PEM; KEY_FILE empty: the key is
 * in CERT_FILE) and/or CHAIN_FILES (each holding a key and its
 * certificate chain, Postfix's smtpd_tls_chain_files; may be NULL).
 * WHO names the daemon in error texts ("pop3d").  NULL with *error_r
 * ("pop3d_tls_cert_file /x: ...") when a file cannot be used, the key
 * does not match, or no certificate is given at all.
 */
struct tls_server *tls_server_new(const char *who, const char *cert_file,
    const char *key_file, const struct strlist *chain_files,
    const char **error_r);
void tls_server_free(struct tls_server *t);
/* The OpenSSL context (owned by T). */
SSL_CTX *tls_server_ctx(struct tls_server *t);
/* A new server SSL object for one connection; NULL on failure. */
SSL *tls_server_ssl_new(struct tls_server *t);
/* OpenSSL's last error as text (clears the error queue).  Never NULL. */
const char *tls_server_error(void);
/*
 * Append "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" (the
 * Postfix log wording) for an established connection to OUT.
 */
void tls_server_describe(SSL *ssl, struct buf *out);

#endif
