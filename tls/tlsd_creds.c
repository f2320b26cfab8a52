/* tlsd_creds: see tlsd_creds.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <bearssl.h>

#include "pemfile.h"
#include "tlsd_creds.h"
#include "tlsnames.h"

static int cert_cb(void *ctx, char const *name, unsigned char const *der, size_t len)
{
  tlsd_creds *c = ctx;
  if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE")) return 0;
  if (c->chain_len >= TLSD_MAXCHAIN) { errno = E2BIG; return -1; }
  unsigned char *p = malloc(len ? len : 1);
  if (!p) return -1;
  memcpy(p, der, len);
  c->chain[c->chain_len].data = p;
  c->chain[c->chain_len].data_len = len;
  c->chain_len++;
  return 0;
}

static int key_cb(void *ctx, char const *name, unsigned char const *der, size_t len)
{
  tlsd_creds *c = ctx;
  if (strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY")
      && strcmp(name, "PRIVATE KEY")) return 0; /* e.g. "EC PARAMETERS" */
  if (c->nkeys++) return 0; /* the first key counts */
  br_skey_decoder_init(&c->key);
  br_skey_decoder_push(&c->key, der, len);
  return 0;
}

int tlsd_creds_load(tlsd_creds *c, char const *certfile, char const *keyfile, char const **why)
{
  static char reason[160];
  memset(c, 0, sizeof *c);
  if (pemfile_read(certfile, cert_cb, c) < 0) {
    snprintf(reason, sizeof reason, "cert.pem: %s", strerror(errno));
    goto err;
  }
  if (!c->chain_len) { snprintf(reason, sizeof reason, "cert.pem: no certificate"); goto err; }
  if (pemfile_read(keyfile, key_cb, c) < 0) {
    snprintf(reason, sizeof reason, "key.pem: %s", strerror(errno));
    goto err;
  }
  if (!c->nkeys) { snprintf(reason, sizeof reason, "key.pem: no private key"); goto err; }
  int e = br_skey_decoder_last_error(&c->key);
  if (e) {
    snprintf(reason, sizeof reason, "key.pem: undecodable key (%s)", tls_error_name(e));
    goto err;
  }
  return 0;
err:
  tlsd_creds_free(c);
  *why = reason;
  return -1;
}

void tlsd_creds_free(tlsd_creds *c)
{
  explicit_bzero(&c->key, sizeof c->key);
  for (size_t i = 0; i < c->chain_len; i++) free(c->chain[i].data);
  c->chain_len = 0;
  c->nkeys = 0;
}

int tlsd_server_init(br_ssl_server_context *sc, tlsd_creds const *c,
                     unsigned char *iobuf, size_t iolen, char const **why)
{
  switch (br_skey_decoder_key_type(&c->key)) {
    case BR_KEYTYPE_RSA:
      br_ssl_server_init_full_rsa(sc, c->chain, c->chain_len, br_skey_decoder_get_rsa(&c->key));
      break;
    case BR_KEYTYPE_EC:
      /* the issuer's key type matters only for static ECDH, which we never offer */
      br_ssl_server_init_full_ec(sc, c->chain, c->chain_len, BR_KEYTYPE_EC,
                                 br_skey_decoder_get_ec(&c->key));
      break;
    default:
      *why = "key.pem: neither RSA nor EC";
      return -1;
  }
  br_ssl_engine_context *eng = &sc->eng;
  br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
  br_ssl_engine_set_suites(eng, tls_suites, tls_nsuites);
  br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
  br_ssl_engine_set_buffer(eng, iobuf, iolen, 1);
  /* BearSSL would seed itself from the system seeder; give it kernel entropy
   * explicitly too, so a build without a seeder still works and we know it did. */
  unsigned char seed[32];
  if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
    if (!br_prng_seeder_system(NULL)) { *why = "no entropy source"; return -1; }
  } else {
    br_ssl_engine_inject_entropy(eng, seed, sizeof seed);
    explicit_bzero(seed, sizeof seed);
  }
  if (!br_ssl_server_reset(sc)) {
    *why = tls_error_name(br_ssl_engine_last_error(eng));
    return -1;
  }
  return 0;
}
