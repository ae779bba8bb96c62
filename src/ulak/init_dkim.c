/*
 * init_dkim - the DKIM signing key `ulak init` writes for a new
 * instance's domain (docs/dkim.md, "Signing outgoing mail"): the key, the
 * signing table that dkim_signing_key_maps names, and the DNS record to
 * publish.  Runs with the invoking user's privileges; the key file is
 * mode 0600 (cmd_init gives the folder to mail_owner when run as root).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "init_dkim.h"

#define INIT_DKIM_RSA_BITS 2048

int
ulak_init_dkim(const char *dir, const char *domain, enum dkim_key_type type,
    struct buf *zone_line, const char **error_r)
{
	struct buf pem, record, path, text, zone;
	int rc = -1;

	buf_init(&pem, 0);
	buf_init(&record, 0);
	buf_init(&path, 0);
	buf_init(&text, 0);
	buf_init(&zone, 0);
	(void)buf_printf(&path, "%s/dkim", dir);
	if (mkdir(path.data, 0700) < 0 && errno != EEXIST) {
		*error_r = err_fmt("mkdir %s: %s", path.data, strerror(errno));
		goto out;
	}
	if (dkim_keygen(type, INIT_DKIM_RSA_BITS, &pem, &record, error_r) < 0)
		goto out;
	buf_reset(&path);
	(void)buf_printf(&path, "%s/dkim/%s.%s.key", dir, domain,
	    INIT_DKIM_SELECTOR);
	if (file_write_atomic(path.data, pem.data, pem.len, 0600, error_r) < 0)
		goto out;
	(void)buf_printf(&text,
	    "# dkim_signing_key_maps (texthash:): sender domain, then\n"
	    "# selector:/path/to/key items; see docs/dkim.md.\n"
	    "%s  %s:%s\n", domain, INIT_DKIM_SELECTOR, path.data);
	buf_reset(&path);
	(void)buf_printf(&path, "%s/dkim/signing_keys", dir);
	if (file_write_atomic(path.data, text.data, text.len, 0644,
	    error_r) < 0)
		goto out;
	/* One TXT record of strings of at most 255 octets (RFC 1035). */
	(void)buf_printf(&zone, "%s._domainkey.%s. IN TXT", INIT_DKIM_SELECTOR,
	    domain);
	for (size_t pos = 0; pos < record.len; pos += 255)
		(void)buf_printf(&zone, " \"%.*s\"", (int)(record.len - pos <
		    255 ? record.len - pos : 255), record.data + pos);
	(void)buf_append(zone_line, zone.data, zone.len);
	(void)buf_append_char(&zone, '\n');
	buf_reset(&path);
	(void)buf_printf(&path, "%s/dkim/%s.txt", dir, domain);
	if (file_write_atomic(path.data, zone.data, zone.len, 0644,
	    error_r) < 0)
		goto out;
	rc = 0;
out:
	if (pem.len > 0)
		explicit_bzero(pem.data, pem.len);
	buf_release(&pem);
	buf_release(&record);
	buf_release(&path);
	buf_release(&text);
	buf_release(&zone);
	return rc;
}
