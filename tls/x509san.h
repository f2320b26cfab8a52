/* The subjectAltName extension of a DER certificate, read with plain libc:
 * BearSSL's X.509 engine checks DNS names only, so an address (a smarthost
 * given as [192.0.2.1]) is matched here against the iPAddress entries
 * (RFC 5280 4.2.1.6; RFC 6125 and RFC 8314 for mail). */
#ifndef POCHTA_X509SAN_H
#define POCHTA_X509SAN_H

#include <stddef.h>

/* Does the certificate der (len octets) name the address ip (4 or 16
 * octets, iplen) in an iPAddress of its subjectAltName? 1 yes, 0 no (also
 * when it has no such extension), -1 the DER is malformed. */
int x509_san_has_ip(unsigned char const *der, size_t len, unsigned char const *ip, size_t iplen);

#endif
