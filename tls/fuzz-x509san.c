/* libFuzzer target: x509_san_has_ip over any octets (first octet: 4 or 16
 * octets of address follow, then the "certificate"). No read outside the
 * buffer, an answer of -1, 0 or 1. */
#include <stdint.h>
#include <stdlib.h>

#include "x509san.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  size_t iplen;
  int r;
  if (size < 1) return 0;
  iplen = data[0] & 1 ? 16 : 4;
  if (size < 1 + iplen) return 0;
  r = x509_san_has_ip(data + 1 + iplen, size - 1 - iplen, data + 1, iplen);
  if (r < -1 || r > 1) abort();
  return 0;
}
