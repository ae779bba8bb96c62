/*
 * hex - hexadecimal digit values; see hex.h.  Any byte may be passed:
 * what is not a digit gives -1.
 */
#include "hex.h"

int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}
