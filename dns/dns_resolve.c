/* One question answered: cache, exchange, parse, and CNAME hops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "dns_int.h"

/* Negative and empty answers without an SOA are still kept this long: a burst of
 * identical questions (SPF of one sender) should not each reach the network. */
#define NEG_TTL_MIN 5

int dns_lookup(dns_resolver *r, char const *qname, uint16_t qtype, dns_result *res)
{
  char name[DNS_NAMEMAX + 1], next[DNS_NAMEMAX + 1];
  unsigned char *pkt;
  unsigned hop;
  int ad = 1;       /* authenticated only if every answer of the chain was */
  size_t l = strlen(qname);
  memset(res, 0, offsetof(dns_result, rr));
  res->status = DNS_TEMP;
  if (!dns_name_ok(qname)) return res->status = DNS_BADNAME;
  if (l && qname[l - 1] == '.') l--;
  memcpy(name, qname, l);
  name[l] = 0;
  if (!(pkt = malloc(DNS_PKT_MAX))) return DNS_TEMP;
  for (hop = 0; hop <= DNS_CNAME_MAX; hop++) {
    uint16_t id;
    uint32_t ttl;
    int tc, st;
    size_t n = dns_cache_get(r->cache, name, qtype, pkt, &id);
    int cached = n > 0;
    if (!n && !(n = dns_exchange(r, name, qtype, pkt, &id))) { st = DNS_TEMP; res->status = st; break; }
    st = dns_parse(pkt, n, id, name, qtype, res, next, &ttl, &tc);
    ad &= res->ad;
    if (!cached && st != DNS_TEMP) {
      if ((st == DNS_NXDOMAIN || !res->n) && ttl < NEG_TTL_MIN) ttl = NEG_TTL_MIN;
      dns_cache_put(r->cache, name, qtype, pkt, n, id, ttl);
    }
    if (st != DNS_OK || res->n || !next[0]) break;
    memcpy(name, next, strlen(next) + 1);
    if (hop == DNS_CNAME_MAX) { res->status = DNS_TEMP; res->n = 0; }
  }
  free(pkt);
  res->ad = ad && res->status == DNS_OK;
  return res->status;
}

int dns_get_a(dns_resolver *r, char const *name, dns_result *res) { return dns_lookup(r, name, DNS_T_A, res); }
int dns_get_aaaa(dns_resolver *r, char const *name, dns_result *res) { return dns_lookup(r, name, DNS_T_AAAA, res); }
int dns_get_mx(dns_resolver *r, char const *name, dns_result *res) { return dns_lookup(r, name, DNS_T_MX, res); }
int dns_get_txt(dns_resolver *r, char const *name, dns_result *res) { return dns_lookup(r, name, DNS_T_TXT, res); }
int dns_get_tlsa(dns_resolver *r, char const *name, dns_result *res) { return dns_lookup(r, name, DNS_T_TLSA, res); }

void dns_revname(char *buf, int family, unsigned char const *ip)
{
  static char const hex[] = "0123456789abcdef";
  size_t o = 0;
  if (family == AF_INET) {
    sprintf(buf, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
    return;
  }
  for (int i = 15; i >= 0; i--) {
    buf[o++] = hex[ip[i] & 15]; buf[o++] = '.';
    buf[o++] = hex[ip[i] >> 4]; buf[o++] = '.';
  }
  memcpy(buf + o, "ip6.arpa", 9);
}

int dns_get_ptr(dns_resolver *r, int family, unsigned char const *ip, dns_result *res)
{
  char name[80];
  dns_revname(name, family, ip);
  return dns_lookup(r, name, DNS_T_PTR, res);
}
