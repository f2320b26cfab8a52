/* spam/fuzz-spamreply.c — libFuzzer target fuzz-spamreply: what comes from
 * outside spam/'s processes: clamd's answer, a greylisting record file. The first
 * octet chooses (DNS answers are dns/'s, fuzzed by fuzz-dnsparse). */
#include <stddef.h>
#include <stdint.h>

#include "spam-int.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len);
int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len)
{
  if (!len) return 0;
  char const *s = (char const *)data + 1;
  size_t n = len - 1;
  switch (data[0] % 2) {
  case 0: {
    spam_clamd r;
    spam_clamd_reply(&r, s, n);
    break;
  }
  default: {
    spam_grey_rec g;
    spam_grey_parse(&g, s, n);
    break;
  }
  }
  return 0;
}
