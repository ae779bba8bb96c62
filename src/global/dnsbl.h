/*
 * dnsbl - DNS blocklist helpers for smtpd's reject_rbl_client,
 * reject_rhsbl_* and check_dnsbl_score restrictions: the list entry
 * syntax of Postfix ("zone", "zone=127.0.0.2", "zone=127.0.0.[2..11]",
 * "zone=127.0.0.[2;4]", and for postscreen_dnsbl_sites "zone*weight",
 * "zone=filter*weight", weights may be negative for allowlists), the
 * query names, the filter match against the A records of an answer, and
 * the weighted score.
 *
 * Pure functions, no DNS: smtpd does the lookups.  Distrusts the entry
 * text (configuration) and the answers' addresses (DNS).
 */
#ifndef ULAK_DNSBL_H
#define ULAK_DNSBL_H

#include <stdbool.h>
#include <stddef.h>

/* One octet of a filter: a set of allowed values 0..255. */
struct dnsbl_site {
	char *zone;		/* lower case, no final dot */
	bool has_filter;
	unsigned char allow[4][32];	/* bit sets per octet */
	char *filter_text;	/* as written, or NULL */
	long weight;		/* 1 when not given */
};

/*
 * Parse ENTRY into *SITE (release with dnsbl_site_release).  WEIGHTED:
 * "*weight" is allowed (postscreen_dnsbl_sites).  -1 with *error_r ("bad
 * DNSBL filter \"127.0.0.x\"") on a syntax error; SITE needs no release
 * then.
 */
int dnsbl_site_parse(const char *entry, bool weighted, struct dnsbl_site *site,
    const char **error_r);
void dnsbl_site_release(struct dnsbl_site *site);

/* True when the IPv4 address ADDR (text) is one the filter accepts. */
bool dnsbl_site_match(const struct dnsbl_site *site, const char *addr);

/*
 * The name to query for client address ADDR (text, IPv4 or IPv6) under
 * ZONE ("2.0.0.127.zone"; IPv6 as reversed nibbles) into OUT[SIZE].  -1
 * when ADDR is not an address or OUT is too small.
 */
int dnsbl_query_name(const char *addr, const char *zone, char *out,
    size_t size);

/*
 * The weighted score (check_dnsbl_score): for each site I, LISTED[I]
 * tells whether its answer held an address its filter accepts; the sum
 * of the weights of the listed sites.
 */
long dnsbl_score(const struct dnsbl_site *sites, const bool *listed, size_t n);

#endif
