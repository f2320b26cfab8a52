/* fuzz-pem: PEM decoding of certificate chains and keys as pochta-tlsd and
 * tlsclient do it: every object goes through the key decoder and the X.509
 * decoder. Input: arbitrary octets (a cert.pem, key.pem or CA bundle). */
#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "pemfile.h"

static int cb(void *ctx, char const *name, unsigned char const *der, size_t len)
{
  (void)ctx; (void)name;
  br_skey_decoder_context sk;
  br_skey_decoder_init(&sk);
  br_skey_decoder_push(&sk, der, len);
  if (!br_skey_decoder_last_error(&sk)) (void)br_skey_decoder_key_type(&sk);
  br_x509_decoder_context xd;
  br_x509_decoder_init(&xd, 0, 0);
  br_x509_decoder_push(&xd, der, len);
  (void)br_x509_decoder_get_pkey(&xd);
  return 0;
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  pemfile_parse(data, size, cb, NULL);
  return 0;
}
