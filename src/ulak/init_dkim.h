/*
 * init_dkim - the DKIM signing key `ulak init` gives a new instance.
 */
#ifndef ULAK_INIT_DKIM_H
#define ULAK_INIT_DKIM_H

#include <stdbool.h>

#include "dkim.h"

struct buf;

#define INIT_DKIM_SELECTOR "ulak"

/*
 * Make DIR/dkim/ (mode 0700) with a new key of TYPE for DOMAIN (RSA:
 * 2048 bits) in DIR/dkim/DOMAIN.ulak.key (PEM, mode 0600), the signing
 * table DIR/dkim/signing_keys ("DOMAIN  ulak:/path", for
 * dkim_signing_key_maps = texthash:DIR/dkim/signing_keys) and
 * DIR/dkim/DOMAIN.txt, the TXT record to publish in zone-file form
 * (one line, also appended to ZONE_LINE without its newline).  -1 with
 * *error_r when a file cannot be written or the key not made.
 */
int ulak_init_dkim(const char *dir, const char *domain, enum dkim_key_type type,
    struct buf *zone_line, const char **error_r);

#endif
