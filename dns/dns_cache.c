/* The per-process cache: raw answers keyed by (name, type), kept for their TTL
 * (capped). A hit is parsed again, which costs microseconds and keeps one parser.
 * Replacement: the oldest entry goes (a ring). Temporary failures are not kept. */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_int.h"

struct dns_cache_s {
  unsigned n, next;
  uint32_t maxttl;
  struct centry {
    char name[DNS_NAMEMAX + 1];
    uint16_t type, id;
    int64_t expires;
    unsigned char *pkt;
    size_t len;
  } *e;
};

int dns_cache_on(dns_resolver *r, unsigned entries, uint32_t maxttl)
{
  dns_cache *c;
  if (r->cache) return 1;
  if (!entries) entries = 1;
  c = calloc(1, sizeof *c);
  if (!c) return 0;
  c->e = calloc(entries, sizeof *c->e);
  if (!c->e) { free(c); return 0; }
  c->n = entries;
  c->maxttl = maxttl;
  r->cache = c;
  return 1;
}

void dns_cache_off(dns_resolver *r)
{
  dns_cache *c = r->cache;
  if (!c) return;
  for (unsigned i = 0; i < c->n; i++) free(c->e[i].pkt);
  free(c->e);
  free(c);
  r->cache = 0;
}

static void lowname(char *out, char const *in)
{
  size_t l = strlen(in), i;
  if (l && in[l - 1] == '.') l--;
  for (i = 0; i < l && i < DNS_NAMEMAX; i++) {
    unsigned ch = (unsigned char)in[i];
    out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  }
  out[i] = 0;
}

size_t dns_cache_get(dns_cache *c, char const *name, uint16_t type, unsigned char *pkt, uint16_t *id)
{
  char k[DNS_NAMEMAX + 1];
  int64_t now;
  if (!c) return 0;
  lowname(k, name);
  now = dns_now_ms();
  for (unsigned i = 0; i < c->n; i++) {
    struct centry *e = &c->e[i];
    if (!e->pkt || e->type != type || strcmp(e->name, k)) continue;
    if (e->expires <= now) { free(e->pkt); e->pkt = 0; return 0; }
    memcpy(pkt, e->pkt, e->len);
    *id = e->id;
    return e->len;
  }
  return 0;
}

void dns_cache_put(dns_cache *c, char const *name, uint16_t type, unsigned char const *pkt,
                   size_t len, uint16_t id, uint32_t ttl)
{
  struct centry *e;
  unsigned char *copy;
  if (!c || !ttl) return;
  if (ttl > c->maxttl) ttl = c->maxttl;
  if (!(copy = malloc(len))) return;     /* no room: simply not cached */
  memcpy(copy, pkt, len);
  e = &c->e[c->next];
  c->next = (c->next + 1) % c->n;
  free(e->pkt);
  lowname(e->name, name);
  e->type = type;
  e->id = id;
  e->pkt = copy;
  e->len = len;
  e->expires = dns_now_ms() + (int64_t)ttl * 1000;
}
