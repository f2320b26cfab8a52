/* DNS through libowfat (dns_mx, dns_ip4, dns_ip6). This file alone
 * includes libowfat headers; its stralloc is not skalibs' and must not
 * leave this file. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <dns.h>
#include <stralloc.h>
#include "dns.h"

/* libowfat wants names in a stralloc */
static int name_sa(stralloc *sa, char const *name)
{
  size_t len = strlen(name);
  if (!len || len > RDNS_NAMEMAX) { errno = EINVAL; return 0; }
  return stralloc_copyb(sa, name, len);
}

int rdns_mx(char const *domain, struct rdns_mx *out, unsigned max, unsigned *n)
{
  stralloc q = {0}, res = {0};
  size_t i = 0;
  int r = -1;
  *n = 0;
  if (!name_sa(&q, domain)) goto end;
  if (dns_mx(&res, &q) < 0) goto end;
  /* each record: 2 octets preference, then the name NUL-terminated */
  while (i + 2 < res.len && *n < max) {
    size_t j = i + 2, nl;
    while (j < res.len && res.s[j]) j++;
    if (j >= res.len) break;
    nl = j - (i + 2);
    if (nl <= RDNS_NAMEMAX && nl) {
      out[*n].pref = ((unsigned char)res.s[i] << 8) | (unsigned char)res.s[i + 1];
      memcpy(out[*n].name, res.s + i + 2, nl);
      out[*n].name[nl] = 0;
      (*n)++;
    }
    i = j + 1;
  }
  r = 1;
end:
  stralloc_free(&q);
  stralloc_free(&res);
  return r;
}

/* AAAA records of name into res: dns_ip6 would ask for A as well (as
 * v4-mapped addresses), so the question is put here by hand. */
static int ask_aaaa(stralloc *res, char const *name)
{
  char *q = 0;
  int r = -1;
  if (!dns_domain_fromdot(&q, name, strlen(name))) return -1;
  if (dns_resolve(q, DNS_T_AAAA) >= 0 &&
      dns_ip6_packet(res, dns_resolve_tx.packet, dns_resolve_tx.packetlen) >= 0) r = 0;
  dns_transmit_free(&dns_resolve_tx);
  dns_domain_free(&q);
  return r;
}

static int is_v4mapped(unsigned char const *ip)
{
  static unsigned char const pfx[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
  return !memcmp(ip, pfx, 12);
}

int rdns_addrs(char const *name, unsigned families, struct rdns_addr *out, unsigned max, unsigned *n)
{
  stralloc q = {0}, res = {0};
  size_t i;
  int r = -1;
  *n = 0;
  if (!name_sa(&q, name)) goto end;
  if (families & RDNS_V6) {
    if (ask_aaaa(&res, name) < 0) goto end;
    for (i = 0; i + 16 <= res.len && *n < max; i += 16) {
      unsigned char const *ip = (unsigned char const *)res.s + i;
      if (is_v4mapped(ip)) continue;   /* only from A records, asked below */
      out[*n].family = AF_INET6;
      memcpy(out[*n].ip, ip, 16);
      (*n)++;
    }
  }
  if (families & RDNS_V4) {
    if (dns_ip4(&res, &q) < 0) goto end;
    for (i = 0; i + 4 <= res.len && *n < max; i += 4) {
      out[*n].family = AF_INET;
      memset(out[*n].ip, 0, 16);
      memcpy(out[*n].ip, res.s + i, 4);
      (*n)++;
    }
  }
  r = 1;
end:
  stralloc_free(&q);
  stralloc_free(&res);
  return r;
}
