/* spam/fuzz-bayesdb.c — libFuzzer target fuzz-bayesdb: arbitrary octets as a
 * user's token database file. A file that parses is searched, loaded for learning,
 * learned into, pruned and written; what is written must parse again with the same
 * message counts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spam-int.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len);
int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len)
{
  bayesdb d, e;
  if (!bayesdb_parse(&d, data, len)) return 0;
  unsigned s, h;
  uint64_t keys[8];
  for (unsigned i = 0; i < 8; i++) keys[i] = SPAM_TOKEN_KEY(spam_hash2("f", 1, (char *)&i, sizeof i));
  for (unsigned i = 0; i < 8; i++) bayesdb_get(&d, keys[i], &s, &h);
  spam_tokens t = { keys, 8, 8, 0 };
  bayes_out o;
  bayes_classify(&d, &t, 0, &o);
  bayes_mem m = BAYES_MEM_ZERO;
  stralloc out = STRALLOC_ZERO;
  if (bayes_mem_load(&m, &d)) {
    bayes_mem_learn(&m, 1, keys, 8, SPAM_LEARN_SPAM, 100);
    bayes_mem_learn(&m, 1, keys, 4, SPAM_LEARN_HAM, 100);
    bayes_mem_learn(&m, 2, keys + 4, 4, SPAM_LEARN_FORGET, 100);
    bayes_mem_prune(&m, 1000);
    uint32_t ns = m.nspam, nh = m.nham;
    if (bayes_mem_write(&m, &out)) {
      if (!bayesdb_parse(&e, (unsigned char *)out.s, out.len) || e.nspam != ns || e.nham != nh) abort();
    }
  }
  bayes_mem_free(&m);
  stralloc_free(&out);
  return 0;
}
