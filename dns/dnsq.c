/* dnsq TYPE NAME...: ask through dns/ and print what came back, one line per record.
 * A test and diagnosis tool (build/check/dnsq), not installed. Exit 0 answered (records
 * or none), 1 NXDOMAIN, 111 temporary failure, 100 usage or bad name. With -c the same
 * questions are asked twice through the cache (the second time must not need the
 * network). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

static struct { char const *name; uint16_t type; } const types[] = {
  { "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX }, { "TXT", DNS_T_TXT },
  { "PTR", DNS_T_PTR }, { "TLSA", DNS_T_TLSA }, { "CNAME", DNS_T_CNAME }, { "NS", DNS_T_NS },
  { 0, 0 }
};

static void show(dns_result const *res)
{
  static char const *st[] = { "ok", "nxdomain", "temp", "badname" };
  printf("status=%s ad=%d n=%u name=%s%s\n", st[res->status], res->ad, res->n, res->qname,
         res->truncated ? " truncated" : "");
  for (unsigned i = 0; i < res->n; i++) {
    dns_rr const *rr = &res->rr[i];
    char ip[64];
    switch (rr->type) {
    case DNS_T_A: printf("A %s\n", inet_ntop(AF_INET, rr->ip, ip, sizeof ip)); break;
    case DNS_T_AAAA: printf("AAAA %s\n", inet_ntop(AF_INET6, rr->ip, ip, sizeof ip)); break;
    case DNS_T_MX: printf("MX %u %s\n", rr->pref, rr->name); break;
    case DNS_T_PTR: case DNS_T_CNAME: case DNS_T_NS: printf("NAME %s\n", rr->name); break;
    case DNS_T_TXT: printf("TXT %zu %s\n", rr->len, (char const *)rr->data); break;
    case DNS_T_TLSA:
      printf("TLSA %u %u %u ", rr->usage, rr->selector, rr->mtype);
      for (size_t k = 0; k < rr->len; k++) printf("%02x", rr->data[k]);
      printf("\n");
      break;
    }
  }
}

int main(int argc, char **argv)
{
  dns_resolver r;
  dns_result *res = malloc(sizeof *res);
  int cache = 0, rc = 0, i = 1, rounds;
  uint16_t type = 0;
  if (argc > 1 && !strcmp(argv[1], "-c")) { cache = 1; i++; }
  if (argc - i < 2 || !res) { fprintf(stderr, "usage: dnsq [-c] TYPE NAME...\n"); return 100; }
  for (int t = 0; types[t].name; t++) if (!strcasecmp(argv[i], types[t].name)) type = types[t].type;
  if (!type) { fprintf(stderr, "dnsq: unknown type %s\n", argv[i]); return 100; }
  if (dns_conf_load(&r) != DNS_OK) { fprintf(stderr, "dnsq: cannot read the resolver configuration\n"); return 111; }
  if (cache && !dns_cache_on(&r, 64, 3600)) return 111;
  for (rounds = 0; rounds < (cache ? 2 : 1); rounds++) {
    unsigned before = r.queries;
    for (int k = i + 1; k < argc; k++) {
      int st = dns_lookup(&r, argv[k], type, res);
      show(res);
      rc = st == DNS_OK ? rc : st == DNS_NXDOMAIN ? 1 : st == DNS_TEMP ? 111 : 100;
    }
    if (cache) printf("queries=%u\n", r.queries - before);
  }
  dns_cache_off(&r);
  free(res);
  return rc;
}
