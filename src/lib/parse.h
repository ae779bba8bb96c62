/*
 * parse - the one strict, range-checked parser for numbers from outside,
 * and the time, size and boolean value syntax of main.cf.
 *
 * All functions accept the whole string or nothing: no leading/trailing
 * space, no sign, no trailing garbage.  They return 0, or -1 with *error_r.
 */
#ifndef ULAK_PARSE_H
#define ULAK_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal unsigned integer in [MIN, MAX]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out_r,
    const char **error_r);
/*
 * Time value: a number with an optional unit s (seconds), m (minutes),
 * h (hours), d (days), w (weeks); without a unit DEFAULT_UNIT applies
 * ('s', 'm', 'h', 'd' or 'w').  Result in seconds.
 */
int parse_time(const char *s, char default_unit, uint64_t *secs_r,
    const char **error_r);
/*
 * Size value in bytes: a number with an optional k, m or g (1024-based,
 * either case) suffix.  Postfix itself takes plain numbers only.
 */
int parse_size(const char *s, uint64_t *bytes_r, const char **error_r);
/* yes/no, true/false, on/off, 1/0 (any case). */
int parse_bool(const char *s, bool *out_r, const char **error_r);

#endif
