/* tlsd_creds: the server's certificate chain and private key, read from PEM files
 * per connection (so a renewed certificate needs no restart), and the BearSSL
 * server context built from them with pochta's policy. Only pochta-tlsd's engine
 * process calls this, after the daemon child was forked. */
#ifndef POCHTA_TLSD_CREDS_H
#define POCHTA_TLSD_CREDS_H

#include <bearssl.h>

#define TLSD_MAXCHAIN 10

typedef struct tlsd_creds tlsd_creds;
struct tlsd_creds {
  br_x509_certificate chain[TLSD_MAXCHAIN];
  size_t chain_len;
  int nkeys;
  br_skey_decoder_context key; /* holds the key material itself */
};

/* Read the chain (every CERTIFICATE object of certfile, leaf first) and the key
 * (the first private key of keyfile: PKCS#1 RSA, SEC1 EC or PKCS#8).
 * 0 ok; -1 error with *why set to a static reason ("cert.pem: ...", ...). */
int tlsd_creds_load(tlsd_creds *c, char const *certfile, char const *keyfile, char const **why);

/* Wipe and free everything, the key first. */
void tlsd_creds_free(tlsd_creds *c);

/* Initialise a server context: TLS 1.2 only, ECDHE + AEAD suites in our order,
 * server preference, no renegotiation, kernel entropy, buffer of
 * BR_SSL_BUFSIZE_BIDI octets. 0 ok, -1 error (*why). */
int tlsd_server_init(br_ssl_server_context *sc, tlsd_creds const *c,
                     unsigned char *iobuf, size_t iolen, char const **why);

#endif
