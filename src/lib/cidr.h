/*
 * cidr - IPv4 and IPv6 network patterns ("192.0.2.0/24", "[2001:db8::]/32",
 * "::1", "127.0.0.1") and matching an address against them, as Postfix's
 * mynetworks and cidr: tables write them.
 *
 * The parser distrusts its input (configuration text): every field is
 * checked, and a pattern with bits set beyond its prefix length is an
 * error, as in Postfix ("non-null host address bits").  Nothing allocates.
 */
#ifndef ULAK_CIDR_H
#define ULAK_CIDR_H

#include <stdbool.h>
#include <sys/socket.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];	/* network address (4 bytes used for IPv4) */
	unsigned prefix;	/* 0..32 or 0..128 */
};

/*
 * Parse pattern S: an address, optionally in [brackets] (IPv6 always may
 * be), optionally followed by "/prefix".  Returns 0, or -1 with *error_r
 * ("192.0.2.1/33: bad prefix length").
 */
int cidr_parse(const char *s, struct cidr *cidr_r, const char **error_r);

/*
 * Parse the textual address S ("192.0.2.1", "2001:db8::1", "[::1]") into
 * FAMILY_R and ADDR_R (4 or 16 bytes).  An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) is returned as IPv4.  -1 when S is no address.
 */
int cidr_addr_parse(const char *s, int *family_r, unsigned char addr_r[16]);

/* True when FAMILY/ADDR (as cidr_addr_parse gives them) is inside C. */
bool cidr_match(const struct cidr *c, int family, const unsigned char *addr);

/*
 * The address of SA (AF_INET or AF_INET6; IPv4-mapped IPv6 becomes IPv4)
 * in FAMILY_R/ADDR_R.  -1 for any other family.
 */
int cidr_addr_from_sockaddr(const struct sockaddr *sa, int *family_r,
    unsigned char addr_r[16]);

#endif
