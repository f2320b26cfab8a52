/* libFuzzer target: the incoming envelope parser and the state-file parser
 * (with a round trip: what qenv_format writes, qenv_parse must read back). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qfmt.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  qenv e = QENV_ZERO;
  stralloc out = STRALLOC_ZERO;
  if (qenv_from_qmail(&e, (char const *)data, size, 1700000000) == 0) {
    if (!qenv_format(&out, &e)) abort();
    qenv_free(&e);
    if (!stralloc_copyb(&e.buf, out.s, out.len)) abort();
    if (!qenv_parse(&e)) abort();
  }
  qenv_free(&e);
  if (stralloc_copyb(&e.buf, (char const *)data, size) && qenv_parse(&e)) {
    if (!qenv_format(&out, &e)) abort();
    if (out.len > size + 64 * (e.n + 1)) abort();
  }
  qenv_free(&e);
  stralloc_free(&out);
  return 0;
}
