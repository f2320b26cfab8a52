/* tlsnames: printable names for BearSSL values, for logs and SSL_* variables.
 * Plain libc + BearSSL: shared by pochta-tlsd and tlsclient. */
#ifndef POCHTA_TLSNAMES_H
#define POCHTA_TLSNAMES_H

#include <stdint.h>

/* The cipher suites pochta allows, in the server's order of preference:
 * ECDHE key exchange, AEAD ciphers only (AES-GCM, ChaCha20-Poly1305). */
extern uint16_t const tls_suites[];
extern unsigned int const tls_nsuites;

/* OpenSSL-style name of a suite ("ECDHE-RSA-AES128-GCM-SHA256"), "unknown" else. */
char const *tls_suite_name(uint16_t suite);
/* "TLSv1.2" etc. from BR_TLS12... */
char const *tls_version_name(unsigned int version);
/* BearSSL error code as text: "BR_ERR_BAD_VERSION", "BR_ERR_X509_EXPIRED",
 * "alert_received:<n>", "alert_sent:<n>" ... Returns a static buffer for unknown
 * codes and alerts, so copy it before the next call. */
char const *tls_error_name(int err);

#endif
