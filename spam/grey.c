/* spam/grey.c — greylisting (RFC 6647): the first message of a (client network,
 * sender, recipient) triplet is deferred; a retry after greylist-delay and within
 * greylist-window passes, and the triplet then passes at once until it has been
 * unseen for greylist-expire. A client network that has passed greylist-clients
 * triplets is no longer greylisted (real servers retry; spam software mostly does
 * not). The decisions are pure; records are kept through the hooks. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <skalibs/sha256.h>

#include "spam-int.h"

/* The sender as greylisting sees it: lowercase, a BATV tag taken off
 * (prvs=tag=user@, btv1==tag==user@), every run of digits in the local part one
 * '#' (VERP and sequence numbers change with every message). */
static size_t sender_norm(char *out, size_t outlen, char const *s)
{
  size_t n = strlen(s), k = 0;
  char const *at = strrchr(s, '@'), *local = s;
  if (!at) at = s + n;
  if ((size_t)(at - s) > 5 && !strncasecmp(s, "prvs=", 5)) {
    char const *eq = memchr(s + 5, '=', at - s - 5);
    if (eq) local = eq + 1;
  } else if ((size_t)(at - s) > 6 && !strncasecmp(s, "btv1==", 6)) {
    char const *eq = memmem(s + 6, at - s - 6, "==", 2);
    if (eq) local = eq + 2;
  }
  for (char const *p = local; *p && k + 1 < outlen; p++) {
    char c = (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p;
    if (p < at && c >= '0' && c <= '9') {
      if (k && out[k - 1] == '#') continue;
      c = '#';
    }
    out[k++] = c;
  }
  out[k] = 0;
  return k;
}

static void hexkey(char out[34], char tag, SHA256Schedule *h)
{
  static char const hex[] = "0123456789abcdef";
  char d[32];
  sha256_final(h, d);
  out[0] = tag;
  for (int i = 0; i < 16; i++) { out[1 + 2 * i] = hex[(unsigned char)d[i] >> 4]; out[2 + 2 * i] = hex[d[i] & 15]; }
  out[33] = 0;
}

void spam_grey_key(char out[34], char const *prefix, char const *sender, char const *rcpt)
{
  SHA256Schedule h = SHA256_INIT();
  char s[600], r[300];
  size_t sl = sender_norm(s, sizeof s, sender), rl = 0;
  for (char const *p = rcpt; *p && rl + 1 < sizeof r; p++) r[rl++] = (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p;
  sha256_update(&h, prefix, strlen(prefix) + 1);
  sha256_update(&h, s, sl + 1);
  sha256_update(&h, r, rl);
  hexkey(out, 't', &h);
}

void spam_grey_client_key(char out[34], char const *prefix)
{
  SHA256Schedule h = SHA256_INIT();
  sha256_update(&h, prefix, strlen(prefix));
  hexkey(out, 'c', &h);
}

int spam_grey_decide(spam_conf const *c, spam_grey_rec *r, int found, int64_t now, int *store)
{
  *store = 0;
  if (!found || now < r->first
      || (r->passed && now - r->last > (int64_t)c->grey_expire)
      || (!r->passed && now - r->first > (int64_t)c->grey_window)) {
    r->first = r->last = now;
    r->passed = 0;
    *store = 1;
    return GREY_WAIT;
  }
  if (r->passed) {
    /* seen again: keep it alive, but write at most once an hour */
    if (now - r->last >= 3600) { r->last = now; *store = 1; }
    return GREY_PASS;
  }
  if (now - r->first < (int64_t)c->grey_delay) return GREY_WAIT;
  r->passed = 1;
  r->last = now;
  *store = 1;
  return GREY_PASS;
}

int spam_grey_parse(spam_grey_rec *r, char const *s, size_t len)
{
  char buf[80];
  long long f, l;
  unsigned long p;
  char end;
  if (!len || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = 0;
  if (sscanf(buf, "%lld %lld %lu%c", &f, &l, &p, &end) != 4 || end != '\n') return 0;
  if (f < 0 || l < f || p > 1000000000) return 0;
  r->first = f;
  r->last = l;
  r->passed = p;
  return 1;
}

size_t spam_grey_fmt(char *buf, size_t len, spam_grey_rec const *r)
{
  int n = snprintf(buf, len, "%lld %lld %lu\n", (long long)r->first, (long long)r->last, (unsigned long)r->passed);
  return n > 0 && (size_t)n < len ? (size_t)n : 0;
}
