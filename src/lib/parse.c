/*
 * parse - strict number, time, size and boolean parsing; see parse.h.
 */
#include "parse.h"

#include <string.h>

#include "err.h"
#include "str.h"

/* Parse leading digits of S into *v; return the number of digits, -1 on overflow. */
static int
parse_digits(const char *s, uint64_t *v)
{
	int n = 0;

	*v = 0;
	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		unsigned d = (unsigned)(s[n] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return n;
}

int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out_r,
    const char **error_r)
{
	uint64_t v;
	int n = parse_digits(s, &v);

	if (n < 0) {
		*error_r = err_fmt("number too large: \"%.40s\"", s);
		return -1;
	}
	if (n == 0 || s[n] != '\0') {
		*error_r = err_fmt("not a number: \"%.40s\"", s);
		return -1;
	}
	if (v < min || v > max) {
		*error_r = err_fmt("number %llu out of range %llu..%llu",
		    (unsigned long long)v, (unsigned long long)min,
		    (unsigned long long)max);
		return -1;
	}
	*out_r = v;
	return 0;
}

static int
time_unit(char u, uint64_t *mult)
{
	switch (u) {
	case 's': *mult = 1; return 0;
	case 'm': *mult = 60; return 0;
	case 'h': *mult = 3600; return 0;
	case 'd': *mult = 86400; return 0;
	case 'w': *mult = 7 * 86400; return 0;
	default: return -1;
	}
}

int
parse_time(const char *s, char default_unit, uint64_t *secs_r,
    const char **error_r)
{
	uint64_t v, mult;
	int n = parse_digits(s, &v);
	char u;

	if (n <= 0) {
		*error_r = err_fmt(n < 0 ? "time value too large: \"%.40s\"" :
		    "bad time value: \"%.40s\"", s);
		return -1;
	}
	u = s[n];
	if (u == '\0')
		u = default_unit;
	else if (s[n + 1] != '\0') {
		*error_r = err_fmt("bad time value: \"%.40s\"", s);
		return -1;
	}
	if (u >= 'A' && u <= 'Z')
		u = (char)(u - 'A' + 'a');
	if (time_unit(u, &mult) < 0) {
		*error_r = err_fmt("bad time unit in \"%.40s\" (use s, m, h, d "
		    "or w)", s);
		return -1;
	}
	if (v > UINT64_MAX / mult) {
		*error_r = err_fmt("time value too large: \"%.40s\"", s);
		return -1;
	}
	*secs_r = v * mult;
	return 0;
}

int
parse_size(const char *s, uint64_t *bytes_r, const char **error_r)
{
	uint64_t v, mult = 1;
	int n = parse_digits(s, &v);

	if (n <= 0) {
		*error_r = err_fmt(n < 0 ? "size value too large: \"%.40s\"" :
		    "bad size value: \"%.40s\"", s);
		return -1;
	}
	if (s[n] != '\0') {
		switch (s[n]) {
		case 'k': case 'K': mult = 1024; break;
		case 'm': case 'M': mult = 1024 * 1024; break;
		case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
		default:
			*error_r = err_fmt("bad size value: \"%.40s\"", s);
			return -1;
		}
		if (s[n + 1] != '\0') {
			*error_r = err_fmt("bad size value: \"%.40s\"", s);
			return -1;
		}
	}
	if (v > UINT64_MAX / mult) {
		*error_r = err_fmt("size value too large: \"%.40s\"", s);
		return -1;
	}
	*bytes_r = v * mult;
	return 0;
}

int
parse_bool(const char *s, bool *out_r, const char **error_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (str_casecmp(s, yes[i]) == 0) {
			*out_r = true;
			return 0;
		}
		if (str_casecmp(s, no[i]) == 0) {
			*out_r = false;
			return 0;
		}
	}
	*error_r = err_fmt("bad boolean value: \"%.40s\" (use yes or no)", s);
	return -1;
}
