/* libFuzzer target for the check of a folder index image (index.c): whatever the
 * octets, index_image_ok says yes only to what a session can use without reading
 * out of bounds, and what it accepts is walked as a session walks it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbox.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  /* a mapping is page-aligned: so is this copy */
  void *p = aligned_alloc(4096, size ? (size + 4095) / 4096 * 4096 : 4096);
  if (!p) return 0;
  memcpy(p, data, size);
  if (index_image_ok(p, size, 0, 0)) {
    mbox mb;
    memset(&mb, 0, sizeof mb);
    uint64_t n;
    memcpy(&n, (char *)p + 40, sizeof n);
    mb.m = (msg *)((char *)p + 184);
    mb.n = (size_t)n;
    mb.bnames = (char const *)(mb.m + mb.n);
    size_t total = 0;
    for (size_t i = 0; i < mb.n; i++) total += strlen(mbox_name(&mb, &mb.m[i]));
    if (mb.n) (void)mbox_find_uid(&mb, mb.m[mb.n - 1].uid);
    (void)total;
  }
  free(p);
  return 0;
}
