/* libFuzzer target: the POP3 command parser, message numbers, TOP counts,
 * base64 and AUTH PLAIN splitting, fed one input split into lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cmd.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char const *s = (char const *)data;
  size_t i = 0;
  while (i < size) {
    char const *lf = memchr(s + i, '\n', size - i);
    size_t n = lf ? (size_t)(lf - (s + i)) : size - i;
    char *line = malloc(n + 1);
    if (!line) return 0;
    memcpy(line, s + i, n);
    line[n] = 0;
    pop3_cmd c;
    if (cmd_parse(line, n, &c)) {
      unsigned long m;
      unsigned long long k;
      for (int a = 0; a < c.argc && a < 2; a++) {
        if (c.arg[a] < line || c.arg[a] + c.arglen[a] > line + n) abort();
        if (cmd_msgnum(c.arg[a], c.arglen[a], 1000, &m) && (m < 1 || m > 1000)) abort();
        cmd_count(c.arg[a], c.arglen[a], &k);
        char dec[1024];
        long d = base64_decode(dec, sizeof dec - 1, c.arg[a], c.arglen[a]);
        if (d > (long)sizeof dec - 1) abort();
        if (d >= 0) {
          char const *u, *p;
          if (plain_split(dec, (size_t)d, &u, &p) && (!*u || !*p)) abort();
        }
      }
      (void)cmd_name(c.verb);
    }
    free(line);
    i += n + 1;
  }
  return 0;
}
