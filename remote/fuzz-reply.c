/* libFuzzer target: the SMTP reply parser, fed the input in chunks whose
 * sizes come from the first octet (so splits inside CRLF, inside the code,
 * and across replies are all tried), reply after reply as conn_reply does. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "reply.h"

static struct reply r;

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char line[600], par[128];
  size_t chunk, off;
  if (!size) return 0;
  chunk = (data[0] % 17) + 1;
  data++; size--;
  reply_init(&r);
  for (off = 0; off < size;) {
    size_t n = size - off < chunk ? size - off : chunk, used = 0;
    while (n) {
      int k = reply_feed(&r, (char const *)data + off, n, &used);
      if (used > n) __builtin_trap();
      off += used; n -= used;
      if (k) {
        if (k > 0 && (r.code < 100 || r.code > 599 || r.textlen > REPLY_TEXTMAX)) __builtin_trap();
        if (k > 0) {
          reply_oneline(&r, line, sizeof line);
          if (strlen(line) >= sizeof line) __builtin_trap();
          reply_ehlo_has(&r, "SIZE", par, sizeof par);
          reply_ehlo_has(&r, "PIPELINING", 0, 0);
        }
        reply_init(&r);
      }
      if (!used) break;
    }
  }
  return 0;
}
