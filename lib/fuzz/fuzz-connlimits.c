/* libFuzzer target: the connlimits parser (lib/connlimit_config.c). Whatever
 * the file holds: no crash, no read outside it, limits in range, a reason
 * whenever it is refused. */
#include <stdint.h>
#include <stdlib.h>

#include "connlimit.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  unsigned t = 7, p = 3;
  char const *why = 0;
  int r = connlimit_parse((char const *)data, size, "smtp", &t, &p, &why);
  if (r < 0 && !why) abort();
  if (!r && (t > CONNLIMIT_TOTAL_MAX || p > CONNLIMIT_SOURCE_MAX)) abort();
  return 0;
}
