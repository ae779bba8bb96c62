/*
 * cidr - network patterns and address matching; see cidr.h.
 *
 * Input: configuration text (patterns) and addresses from the kernel or
 * from text; all lengths are checked before copying.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "err.h"
#include "parse.h"
#include "str.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int
addr_parse(const char *s, size_t len, bool map, int *family_r,
    unsigned char addr_r[16])
{
	char tmp[INET6_ADDRSTRLEN + 8];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	/* The RFC 5321 4.1.3 address literal form [IPv6:...]. */
	if (len > 5 && str_ncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
		if (memchr(s, ':', len) == NULL)
			return -1;
	}
	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(addr_r, 0, 16);
	if (strchr(tmp, ':') == NULL) {
		if (inet_pton(AF_INET, tmp, addr_r) != 1)
			return -1;
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, addr_r) != 1)
		return -1;
	*family_r = AF_INET6;
	if (map && memcmp(addr_r, v4mapped, 12) == 0) {
		memmove(addr_r, addr_r + 12, 4);
		memset(addr_r + 4, 0, 12);
		*family_r = AF_INET;
	}
	return 0;
}

int
cidr_addr_parse(const char *s, int *family_r, unsigned char addr_r[16])
{
	return addr_parse(s, strlen(s), true, family_r, addr_r);
}

int
cidr_parse(const char *s, struct cidr *cidr_r, const char **error_r)
{
	const char *slash = strrchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned max, bits;

	memset(cidr_r, 0, sizeof(*cidr_r));
	if (addr_parse(s, len, false, &cidr_r->family, cidr_r->addr) < 0) {
		*error_r = err_fmt("%s: bad network address", s);
		return -1;
	}
	max = cidr_r->family == AF_INET ? 32 : 128;
	cidr_r->prefix = max;
	if (slash != NULL) {
		uint64_t n;
		const char *perr;

		if (parse_uint(slash + 1, 0, max, &n, &perr) < 0) {
			*error_r = err_fmt("%s: bad prefix length", s);
			return -1;
		}
		cidr_r->prefix = (unsigned)n;
	}
	/* Host bits must be zero, as Postfix insists. */
	for (bits = 0; bits < max; bits++) {
		if (bits < cidr_r->prefix)
			continue;
		if (cidr_r->addr[bits / 8] & (0x80u >> (bits % 8))) {
			*error_r = err_fmt("%s: non-null host address bits", s);
			return -1;
		}
	}
	return 0;
}

bool
cidr_match(const struct cidr *c, int family, const unsigned char *addr)
{
	unsigned full, rest;

	if (family != c->family)
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest != 0) {
		unsigned char mask = (unsigned char)(0xffu << (8 - rest));

		if ((c->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

int
cidr_addr_from_sockaddr(const struct sockaddr *sa, int *family_r,
    unsigned char addr_r[16])
{
	memset(addr_r, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(addr_r, &sin->sin_addr, 4);
		*family_r = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		memcpy(addr_r, &sin6->sin6_addr, 16);
		*family_r = AF_INET6;
		if (memcmp(addr_r, v4mapped, 12) == 0) {
			memmove(addr_r, addr_r + 12, 4);
			memset(addr_r + 4, 0, 12);
			*family_r = AF_INET;
		}
		return 0;
	}
	return -1;
}
