/* base64 (RFC 4648) decoding, libc only (pochta-remote and checks/ may link it).
 * One alphabet lookup for every decoder; one strict decoder for SASL responses
 * (pochta-smtpd, pochta-pop3d, pochta-imapd). Decoders with other rules (MIME
 * bodies skip blanks, DKIM tags skip folding) loop over base64_value. */
#ifndef POCHTA_BASE64_H
#define POCHTA_BASE64_H

#include <stddef.h>

/* The value of c in the base64 alphabet, or -1. */
int base64_value(unsigned char c);

/* Strict decoding: a multiple of 4 octets, '=' only as the last one or two.
 * The length written to out (at most outmax), or -1 (not base64, or too long). */
long base64_decode(char *out, size_t outmax, char const *in, size_t len);

#endif
