/* spam/fuzz-spamreply.c — libFuzzer target fuzz-spamreply: what comes from
 * outside spam/'s processes: clamd's answer, a DNS answer (to a question for
 * 2.0.0.127.zen.test with id 0x1234), a greylisting record file. The first octet
 * chooses. */
#include <stddef.h>
#include <stdint.h>

#include "spam-int.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len);
int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len)
{
  if (!len) return 0;
  char const *s = (char const *)data + 1;
  size_t n = len - 1;
  switch (data[0] % 3) {
  case 0: {
    spam_clamd r;
    spam_clamd_reply(&r, s, n);
    break;
  }
  case 1: {
    unsigned char ip[SPAM_DNS_MAXA][4];
    unsigned k;
    spam_dns_answer(data + 1, n, 0x1234, "2.0.0.127.zen.test", ip, SPAM_DNS_MAXA, &k);
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
