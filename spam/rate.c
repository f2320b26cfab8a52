/* spam/rate.c — per-client rate limits: messages per period, counted in two fixed
 * windows and read as a sliding one (the previous window's count weighted by how
 * much of it the sliding window still covers), so a client cannot send twice the
 * limit across a window boundary. A message over the limit is not counted: a
 * client that keeps to the rate gets through. The slot is kept through the hooks,
 * under a lock. */
#include <string.h>

#include "spam-int.h"

int spam_rate_take(spam_rate_rec *r, int64_t now, unsigned max, unsigned period)
{
  int64_t start = now - now % period;
  if (r->start != start) {
    /* the window moved on: the current one becomes the previous one, if adjacent */
    r->prev = r->start == start - (int64_t)period ? r->cur : 0;
    r->cur = 0;
    r->start = start;
  }
  double past = (double)(period - (now - start)) / period;
  double used = r->prev * past + r->cur;
  if (used + 1 > max) return 0;
  r->cur++;
  return 1;
}

uint64_t spam_rate_key(char const *prefix)
{
  uint64_t k = spam_hash2("rate", 4, prefix, strlen(prefix));
  return k ? k : 1;
}
