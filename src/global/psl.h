/*
 * psl - the Public Suffix List (https://publicsuffix.org/list/): which
 * part of a domain name is a public suffix ("co.uk", "github.io"), and
 * so which is the organizational domain (RFC 7489 3.2) that DMARC looks
 * at.  The list is read from Debian's `publicsuffix` package
 * (/usr/share/publicsuffix/public_suffix_list.dat) or any file in its
 * format: one rule per line, "//" comments, "*." wildcards and "!"
 * exceptions, Unicode rules (converted to A-labels with Punycode, RFC
 * 3492, so that they match the names mail carries).
 *
 * Distrusts the file only as far as a parser must (long lines and bad
 * UTF-8 are skipped); names to match are any bytes.
 */
#ifndef ULAK_PSL_H
#define ULAK_PSL_H

#include <stddef.h>

#define PSL_DEFAULT_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

struct psl;

/*
 * Read the list from PATH (NULL: PSL_DEFAULT_FILE).  NULL with *error_r
 * when the file cannot be read or holds no rule.  Free with psl_free.
 */
struct psl *psl_load(const char *path, const char **error_r);
/* The same from TEXT[0..LEN) (tests, fuzzing); never NULL. */
struct psl *psl_parse(const char *text, size_t len);
/* Free L; NULL is allowed. */
void psl_free(struct psl *l);
/* Number of rules read. */
size_t psl_count(const struct psl *l);

/*
 * The public suffix of DOMAIN (case-insensitive, final dot ignored) by
 * the list's algorithm: the matching rule with the most labels, an
 * exception rule winning, the implicit rule "*" when none matches.
 * Returns a pointer into DOMAIN (never NULL; "" for an empty name).
 */
const char *psl_public_suffix(const struct psl *l, const char *domain);

/*
 * The organizational domain of DOMAIN (RFC 7489 3.2): its public suffix
 * plus one label, or DOMAIN itself when it is a public suffix.  A
 * pointer into DOMAIN, never NULL.
 */
const char *psl_org_domain(const struct psl *l, const char *domain);

/*
 * The Punycode (RFC 3492) A-label of the UTF-8 label IN[0..LEN) into
 * OUT[SIZE] ("xn--..."), or a copy when it is ASCII.  -1 on bad UTF-8 or
 * when OUT is too small.
 */
int psl_punycode_label(const char *in, size_t len, char *out, size_t size);

#endif
