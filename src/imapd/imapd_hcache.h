/*
 * imapd_hcache - a process-wide, in-memory cache of the ENVELOPE header
 * fields of messages (struct imap_envelope), shared by every session of
 * the imapd process: FETCH ENVELOPE and the SEARCH keys on those fields
 * then read no message file the second time (Dovecot keeps the same in
 * its dovecot.index.cache).
 *
 * Key: the folder's directory, its UIDVALIDITY and the message's UID
 * (RFC 3501 2.3.1.1: a UID never names another message while UIDVALIDITY
 * stays; Maildir message files never change).  A new UIDVALIDITY drops
 * the folder's entries.  Memory is bounded: past IMAPD_HCACHE_MAX bytes
 * the least recently used folders are dropped (entries of expunged
 * messages stay until then).
 */
#ifndef ULAK_IMAPD_HCACHE_H
#define ULAK_IMAPD_HCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_render.h"

#ifndef IMAPD_HCACHE_MAX	/* tests set a smaller one */
#define IMAPD_HCACHE_MAX (64u * 1024 * 1024)
#endif

/* The fields of one cached message: pointers into the cache. */
struct imapd_hcache_env {
	const char *v[IMAP_ENV_FIELDS];
	unsigned dup;
};

/*
 * Look up message UID of folder DIR with UIDVALIDITY.  True with *ENV_R
 * filled (valid until the next imapd_hcache_put or imapd_hcache_clear).
 */
bool imapd_hcache_get(const char *dir, uint32_t uidvalidity, uint32_t uid,
    struct imapd_hcache_env *env_r);
/* Store ENV (copied) for message UID of folder DIR with UIDVALIDITY. */
void imapd_hcache_put(const char *dir, uint32_t uidvalidity, uint32_t uid,
    const struct imap_envelope *env);
/* Drop the entries of every folder whose directory starts with ROOT (a
 * user's Maildir: DELETE, RENAME). */
void imapd_hcache_drop_root(const char *root);
/* Drop everything (tests; at exit). */
void imapd_hcache_clear(void);
/* Bytes held (pools and tables), for tests. */
size_t imapd_hcache_size(void);

#endif
