/*
 * hex - hexadecimal digits, for the decoders of encodings that carry
 * octets as "=XX" or "+XX" (quoted-printable, RFC 2047 "Q", xtext).
 */
#ifndef ULAK_HEX_H
#define ULAK_HEX_H

/* The value 0..15 of the hex digit C (either case), or -1. */
int hex_digit_value(char c);

#endif
