/* libFuzzer target: the address-list scanner of pochta-sendmail -t.
 * Every address it returns must be NUL-terminated inside the output and no
 * longer than the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfc822addr.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  stralloc out = STRALLOC_ZERO;
  int n = rfc822_addrs((char const *)data, size, &out);
  if (n < 0) abort();
  size_t i = 0;
  for (int k = 0; k < n; k++) {
    char const *z = memchr(out.s + i, 0, out.len - i);
    if (!z || (size_t)(z - (out.s + i)) > size) abort();
    i = z - out.s + 1;
  }
  if (i != out.len) abort();
  stralloc_free(&out);
  return 0;
}
