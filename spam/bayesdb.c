/* spam/bayesdb.c — a user's token database, as a file (pochta-bayes(5)) and in
 * memory while it is learned into. The file: a 32-octet header (magic, messages
 * learned as spam and as ham, token and seen counts), the tokens sorted by key
 * (key 6, spam 2, ham 2, day 2 octets), then the messages learned (id 8, day 2,
 * class 1, 0), oldest first; little-endian. A reader maps it and searches it; a
 * learner loads it into an open-addressed table and writes a whole new file. A file
 * that does not add up is refused, never trusted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spam-int.h"

static uint64_t get_le(unsigned char const *p, unsigned n)
{
  uint64_t v = 0;
  while (n--) v = v << 8 | p[n];
  return v;
}

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
  for (unsigned i = 0; i < n; i++) { p[i] = v & 0xff; v >>= 8; }
}

unsigned bayes_day(int64_t t)
{
  int64_t d = (t - 946684800) / 86400;
  return d < 1 ? 1 : d > 65535 ? 65535 : (unsigned)d;
}

int bayesdb_parse(bayesdb *d, unsigned char const *data, size_t len)
{
  memset(d, 0, sizeof *d);
  if (!len) return 1;
  if (len < BAYES_HDR || len > BAYES_FILE_MAX || memcmp(data, BAYES_MAGIC, 8)) return 0;
  d->nspam = get_le(data + 8, 4);
  d->nham = get_le(data + 12, 4);
  d->ntok = get_le(data + 16, 4);
  d->nseen = get_le(data + 20, 4);
  if ((uint64_t)BAYES_HDR + (uint64_t)d->ntok * BAYES_TOKREC + (uint64_t)d->nseen * BAYES_SEENREC != len) return 0;
  d->tok = data + BAYES_HDR;
  d->seen = d->tok + (size_t)d->ntok * BAYES_TOKREC;
  return 1;
}

void bayesdb_get(bayesdb const *d, uint64_t key, unsigned *spam, unsigned *ham)
{
  size_t lo = 0, hi = d->ntok;
  *spam = *ham = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    unsigned char const *r = d->tok + mid * BAYES_TOKREC;
    uint64_t k = get_le(r, 6);
    if (k == key) { *spam = get_le(r + 6, 2); *ham = get_le(r + 8, 2); return; }
    if (k < key) lo = mid + 1; else hi = mid;
  }
}

/* ---- in memory */

static btok *slot(bayes_mem const *m, uint64_t key)
{
  size_t i = (size_t)(key >> 1) & (m->cap - 1);
  while (m->t[i].key && m->t[i].key != key) i = (i + 1) & (m->cap - 1);
  return &m->t[i];
}

static int grow(bayes_mem *m, size_t need)
{
  size_t cap = m->cap ? m->cap : 1024;
  while (cap < 2 * need) cap *= 2;
  if (cap == m->cap) return 1;
  btok *old = m->t;
  size_t oldcap = m->cap;
  m->t = calloc(cap, sizeof *m->t);
  if (!m->t) { m->t = old; errno = ENOMEM; return 0; }
  m->cap = cap;
  for (size_t i = 0; i < oldcap; i++) if (old[i].key) *slot(m, old[i].key) = old[i];
  free(old);
  return 1;
}

static int seen_add(bayes_mem *m, uint64_t id, unsigned day, int cls)
{
  if (m->nseen >= BAYES_SEEN_MAX) {
    /* forget the oldest tenth at once, not one at a time */
    size_t drop = BAYES_SEEN_MAX / 10;
    memmove(m->seen, m->seen + drop, (m->nseen - drop) * sizeof *m->seen);
    m->nseen -= drop;
  }
  if (m->nseen == m->seencap) {
    size_t cap = m->seencap ? m->seencap * 2 : 256;
    bseen *s = realloc(m->seen, cap * sizeof *s);
    if (!s) return 0;
    m->seen = s;
    m->seencap = cap;
  }
  m->seen[m->nseen].id = id;
  m->seen[m->nseen].day = day;
  m->seen[m->nseen].cls = cls;
  m->nseen++;
  return 1;
}

int bayes_mem_load(bayes_mem *m, bayesdb const *d)
{
  memset(m, 0, sizeof *m);
  m->nspam = d->nspam;
  m->nham = d->nham;
  if (!grow(m, d->ntok + 1024)) return 0;
  for (size_t i = 0; i < d->ntok; i++) {
    unsigned char const *r = d->tok + i * BAYES_TOKREC;
    uint64_t key = get_le(r, 6);
    if (!key) continue;   /* never written by us */
    btok *b = slot(m, key);
    if (!b->key) m->n++;
    b->key = key;
    b->spam = get_le(r + 6, 2);
    b->ham = get_le(r + 8, 2);
    b->day = get_le(r + 10, 2);
  }
  for (size_t i = 0; i < d->nseen; i++) {
    unsigned char const *r = d->seen + i * BAYES_SEENREC;
    int cls = r[10];
    if (cls != SPAM_LEARN_SPAM && cls != SPAM_LEARN_HAM) continue;
    if (!seen_add(m, get_le(r, 8), get_le(r + 8, 2), cls)) return 0;
  }
  return 1;
}

static void count(uint32_t *n, int sign)
{
  if (sign > 0) { if (*n < UINT32_MAX) ++*n; }
  else if (*n) --*n;
}

static int apply(bayes_mem *m, uint64_t const *key, size_t n, int cls, int sign, unsigned day)
{
  if (sign > 0 && !grow(m, m->n + n)) return 0;
  for (size_t i = 0; i < n; i++) {
    btok *b = slot(m, key[i]);
    if (!b->key) {
      if (sign < 0) continue;   /* pruned since: nothing to take back */
      b->key = key[i];
      m->n++;
    }
    uint16_t *c = cls == SPAM_LEARN_SPAM ? &b->spam : &b->ham;
    if (sign > 0) { if (*c < BAYES_COUNT_MAX) ++*c; b->day = day; }
    else if (*c) --*c;
  }
  count(cls == SPAM_LEARN_SPAM ? &m->nspam : &m->nham, sign);
  return 1;
}

int bayes_mem_learn(bayes_mem *m, uint64_t id, uint64_t const *key, size_t n, int cls, unsigned day)
{
  size_t i;
  for (i = m->nseen; i > 0 && m->seen[i - 1].id != id; i--) ;
  int old = i ? m->seen[i - 1].cls : 0;
  if (cls == SPAM_LEARN_FORGET) {
    if (!old) return 0;
    apply(m, key, n, old, -1, day);
    memmove(m->seen + i - 1, m->seen + i, (m->nseen - i) * sizeof *m->seen);
    m->nseen--;
    return 1;
  }
  if (old == cls) return 0;
  if (!apply(m, key, n, cls, 1, day)) return -1;
  if (old) {
    apply(m, key, n, old, -1, day);
    m->seen[i - 1].cls = cls;
    m->seen[i - 1].day = day;
  } else if (!seen_add(m, id, day, cls)) return -1;
  return 1;
}

size_t bayes_mem_live(bayes_mem const *m)
{
  size_t n = 0;
  for (size_t i = 0; i < m->cap; i++) n += m->t[i].key && (m->t[i].spam || m->t[i].ham);
  return n;
}

static int cmp_age(void const *a, void const *b)
{
  btok const *x = *(btok *const *)a, *y = *(btok *const *)b;
  if (x->day != y->day) return x->day < y->day ? -1 : 1;
  unsigned cx = x->spam + x->ham, cy = y->spam + y->ham;
  return cx < cy ? -1 : cx > cy;
}

int bayes_mem_prune(bayes_mem *m, size_t max)
{
  size_t live = bayes_mem_live(m), keep = max - max / 10, k = 0;
  if (live <= max) return 1;
  btok **v = malloc(live * sizeof *v);
  if (!v) return 0;
  for (size_t i = 0; i < m->cap; i++) if (m->t[i].key && (m->t[i].spam || m->t[i].ham)) v[k++] = &m->t[i];
  qsort(v, k, sizeof *v, cmp_age);
  for (size_t i = 0; i + keep < k; i++) v[i]->spam = v[i]->ham = 0;
  free(v);
  return 1;
}

static int cmp_tok(void const *a, void const *b)
{
  uint64_t x = ((btok const *)a)->key, y = ((btok const *)b)->key;
  return x < y ? -1 : x > y;
}

int bayes_mem_write(bayes_mem const *m, stralloc *out)
{
  size_t live = bayes_mem_live(m), k = 0;
  btok *v = malloc((live ? live : 1) * sizeof *v);
  if (!v) return 0;
  for (size_t i = 0; i < m->cap; i++) if (m->t[i].key && (m->t[i].spam || m->t[i].ham)) v[k++] = m->t[i];
  qsort(v, k, sizeof *v, cmp_tok);
  size_t len = BAYES_HDR + k * BAYES_TOKREC + m->nseen * BAYES_SEENREC;
  out->len = 0;
  if (!stralloc_ready(out, len)) { free(v); return 0; }
  unsigned char *p = (unsigned char *)out->s;
  memset(p, 0, BAYES_HDR);
  memcpy(p, BAYES_MAGIC, 8);
  put_le(p + 8, m->nspam, 4);
  put_le(p + 12, m->nham, 4);
  put_le(p + 16, k, 4);
  put_le(p + 20, m->nseen, 4);
  p += BAYES_HDR;
  for (size_t i = 0; i < k; i++, p += BAYES_TOKREC) {
    put_le(p, v[i].key, 6);
    put_le(p + 6, v[i].spam, 2);
    put_le(p + 8, v[i].ham, 2);
    put_le(p + 10, v[i].day, 2);
  }
  for (size_t i = 0; i < m->nseen; i++, p += BAYES_SEENREC) {
    put_le(p, m->seen[i].id, 8);
    put_le(p + 8, m->seen[i].day, 2);
    p[10] = m->seen[i].cls;
    p[11] = 0;
  }
  out->len = len;
  free(v);
  return 1;
}

void bayes_mem_free(bayes_mem *m)
{
  free(m->t);
  free(m->seen);
  memset(m, 0, sizeof *m);
}
