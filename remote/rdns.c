/* pochta-remote's questions through dns/ (one resolver and its cache per run). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "rdns.h"

static dns_resolver *resolver(void)
{
  static dns_resolver r;
  static int ready;
  if (!ready) {
    if (dns_conf_load(&r) != DNS_OK) return 0;
    dns_cache_on(&r, 64, 3600);   /* the same MX host for several domains: asked once */
    ready = 1;
  }
  return &r;
}

/* A result is 100 KB: one, reused, never on the stack. */
static dns_result *result(void)
{
  static dns_result *res;
  if (!res) res = malloc(sizeof *res);
  return res;
}

int rdns_mx(char const *domain, struct rdns_mx *out, unsigned max, unsigned *n)
{
  dns_resolver *r = resolver();
  dns_result *res = result();
  int st;
  *n = 0;
  if (!r || !res) { errno = ENOMEM; return -1; }
  st = dns_get_mx(r, domain, res);
  if (st == DNS_NXDOMAIN) return 1;
  if (st != DNS_OK) { errno = st == DNS_BADNAME ? EINVAL : EAGAIN; return -1; }
  for (unsigned i = 0; i < res->n && *n < max; i++) {
    char const *name = res->rr[i].name;
    size_t nl = strlen(name);
    if (nl > RDNS_NAMEMAX) continue;
    out[*n].pref = res->rr[i].pref;
    if (!nl) memcpy(out[*n].name, ".", 2);   /* the root: a null MX */
    else memcpy(out[*n].name, name, nl + 1);
    (*n)++;
  }
  return 1;
}

int rdns_addrs(char const *name, unsigned families, struct rdns_addr *out, unsigned max, unsigned *n)
{
  dns_resolver *r = resolver();
  dns_result *res = result();
  *n = 0;
  if (!r || !res) { errno = ENOMEM; return -1; }
  for (int pass = 0; pass < 2; pass++) {
    int v6 = pass == 0, st;
    if (!(families & (v6 ? RDNS_V6 : RDNS_V4))) continue;
    st = v6 ? dns_get_aaaa(r, name, res) : dns_get_a(r, name, res);
    if (st == DNS_NXDOMAIN) return 1;
    if (st != DNS_OK) { errno = st == DNS_BADNAME ? EINVAL : EAGAIN; return -1; }
    for (unsigned i = 0; i < res->n && *n < max; i++) {
      out[*n].family = v6 ? AF_INET6 : AF_INET;
      memset(out[*n].ip, 0, 16);
      memcpy(out[*n].ip, res->rr[i].ip, v6 ? 16 : 4);
      (*n)++;
    }
  }
  return 1;
}
