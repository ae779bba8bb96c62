/*
 * dnsbl - DNS blocklist entry syntax, query names and scores; see
 * dnsbl.h.  Distrusts the configuration text and DNS answer addresses.
 */
#include "dnsbl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "err.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

static void
bit_set(unsigned char *set, unsigned v)
{
	set[v / 8] |= (unsigned char)(1u << (v % 8));
}

static bool
bit_get(const unsigned char *set, unsigned v)
{
	return (set[v / 8] >> (v % 8)) & 1u;
}

static int
octet_value(const char *s, size_t n, unsigned *v_r)
{
	char tmp[8];
	uint64_t v;
	const char *e;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (parse_uint(tmp, 0, 255, &v, &e) < 0)
		return -1;
	*v_r = (unsigned)v;
	return 0;
}

/* One octet pattern S[0..N): "2", "[2..11]", "[2;4;6]", "[2..4;9]". */
static int
octet_parse(const char *s, size_t n, unsigned char *set)
{
	const char *p, *end;

	if (n == 0)
		return -1;
	if (s[0] != '[') {
		unsigned v;

		if (octet_value(s, n, &v) < 0)
			return -1;
		bit_set(set, v);
		return 0;
	}
	if (n < 3 || s[n - 1] != ']')
		return -1;
	p = s + 1;
	end = s + n - 1;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *item_end = semi != NULL ? semi : end;
		const char *dots = NULL;
		unsigned lo, hi;

		for (const char *q = p; q + 1 < item_end; q++)
			if (q[0] == '.' && q[1] == '.') {
				dots = q;
				break;
			}
		if (dots != NULL) {
			if (octet_value(p, (size_t)(dots - p), &lo) < 0 ||
			    octet_value(dots + 2, (size_t)(item_end - dots - 2),
			    &hi) < 0 || lo > hi)
				return -1;
		} else {
			if (octet_value(p, (size_t)(item_end - p), &lo) < 0)
				return -1;
			hi = lo;
		}
		for (unsigned v = lo; v <= hi; v++)
			bit_set(set, v);
		p = semi != NULL ? semi + 1 : end;
		if (semi != NULL && p == end)
			return -1;
	}
	return 0;
}

static int
filter_parse(struct dnsbl_site *site, const char *f)
{
	const char *p = f;

	memset(site->allow, 0, sizeof(site->allow));
	for (int i = 0; i < 4; i++) {
		size_t n = 0;
		bool in_bracket = false;

		/* An octet ends at a '.' outside brackets. */
		while (p[n] != '\0' && (in_bracket || p[n] != '.')) {
			if (p[n] == '[')
				in_bracket = true;
			else if (p[n] == ']')
				in_bracket = false;
			n++;
		}
		if (octet_parse(p, n, site->allow[i]) < 0)
			return -1;
		p += n;
		if (i < 3) {
			if (*p != '.')
				return -1;
			p++;
		}
	}
	return *p == '\0' ? 0 : -1;
}

int
dnsbl_site_parse(const char *entry, bool weighted, struct dnsbl_site *site,
    const char **error_r)
{
	char *text = xstrdup(entry), *star, *eq;

	memset(site, 0, sizeof(*site));
	site->weight = 1;
	star = strrchr(text, '*');
	if (star != NULL) {
		const char *w = star + 1, *e;
		uint64_t v;
		bool neg = *w == '-';

		if (!weighted) {
			*error_r = err_fmt("\"%s\": a weight is allowed only "
			    "in postscreen_dnsbl_sites", entry);
			free(text);
			return -1;
		}
		if (neg)
			w++;
		if (parse_uint(w, 0, 1000000, &v, &e) < 0) {
			*error_r = err_fmt("bad DNSBL weight in \"%s\"", entry);
			free(text);
			return -1;
		}
		site->weight = neg ? -(long)v : (long)v;
		*star = '\0';
	}
	eq = strchr(text, '=');
	if (eq != NULL) {
		*eq = '\0';
		if (filter_parse(site, eq + 1) < 0) {
			*error_r = err_fmt("bad DNSBL filter \"%s\"", eq + 1);
			free(text);
			return -1;
		}
		site->has_filter = true;
		site->filter_text = xstrdup(eq + 1);
	}
	str_lower(text);
	while (text[0] != '\0' && text[strlen(text) - 1] == '.')
		text[strlen(text) - 1] = '\0';
	if (text[0] == '\0' || strspn(text, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789-_.") != strlen(text) || text[0] == '.' ||
	    strstr(text, "..") != NULL) {
		*error_r = err_fmt("bad DNSBL zone in \"%s\"", entry);
		free(site->filter_text);
		site->filter_text = NULL;
		free(text);
		return -1;
	}
	site->zone = text;
	return 0;
}

void
dnsbl_site_release(struct dnsbl_site *site)
{
	if (site == NULL)
		return;
	free(site->zone);
	free(site->filter_text);
	memset(site, 0, sizeof(*site));
}

bool
dnsbl_site_match(const struct dnsbl_site *site, const char *addr)
{
	struct in_addr a;
	const unsigned char *b = (const unsigned char *)&a;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return false;
	/* Lists answer in 127.0.0.0/8; anything else is not a listing. */
	if (b[0] != 127)
		return false;
	if (!site->has_filter)
		return true;
	for (int i = 0; i < 4; i++)
		if (!bit_get(site->allow[i], b[i]))
			return false;
	return true;
}

int
dnsbl_query_name(const char *addr, const char *zone, char *out, size_t size)
{
	char ptr[128];
	const char *error;
	size_t len;
	int n;

	if (dns_ptr_name(addr, ptr, sizeof(ptr), &error) < 0)
		return -1;
	len = strlen(ptr);
	if (len > 13 && strcmp(ptr + len - 13, ".in-addr.arpa") == 0)
		ptr[len - 13] = '\0';
	else if (len > 9 && strcmp(ptr + len - 9, ".ip6.arpa") == 0)
		ptr[len - 9] = '\0';
	else
		return -1;
	n = snprintf(out, size, "%s.%s", ptr, zone);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

long
dnsbl_score(const struct dnsbl_site *sites, const bool *listed, size_t n)
{
	long sum = 0;

	for (size_t i = 0; i < n; i++)
		if (listed[i])
			sum += sites[i].weight;
	return sum;
}
