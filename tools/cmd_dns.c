/* pochta dns DOMAIN [--ip4 ADDR] [--ip6 ADDR]: every record the domain needs, as
 * zone lines ready to paste: MX, the MX name's A/AAAA, their PTR, SPF, each DKIM
 * selector, DMARC with rua. The MX name is the instance's me. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "dns.h"
#include "pochta.h"

#define DNS_USAGE "pochta dns DOMAIN [--ip4 ADDR] [--ip6 ADDR]"

/* An address other hosts can reach: not loopback, link-local, private, CGNAT or ULA. */
static int global(int family, unsigned char const *ip)
{
  if (family == AF_INET)
    return !(ip[0] == 127 || ip[0] == 10 || ip[0] == 0 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
             (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254) ||
             (ip[0] == 100 && (ip[1] & 0xc0) == 64));
  static unsigned char const lo[16] = { [15] = 1 };
  return memcmp(ip, lo, 16) && !(ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) && (ip[0] & 0xfe) != 0xfc &&
         !(ip[0] == 0 && ip[1] == 0);
}

unsigned host_addrs(struct hostaddr *a, unsigned max, char const *ip4, char const *ip6)
{
  unsigned n = 0;
  struct ifaddrs *ifs, *i;
  if (ip4 && n < max) {
    if (inet_pton(AF_INET, ip4, a[n].ip) != 1) strerr_dief(USAGE_EXIT, "not an IPv4 address: ", ip4);
    a[n++].family = AF_INET;
  }
  if (ip6 && n < max) {
    if (inet_pton(AF_INET6, ip6, a[n].ip) != 1) strerr_dief(USAGE_EXIT, "not an IPv6 address: ", ip6);
    a[n++].family = AF_INET6;
  }
  if (n) return n;
  if (getifaddrs(&ifs) < 0) return 0;
  for (i = ifs; i && n < max; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET)
      memcpy(a[n].ip, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
    else if (i->ifa_addr->sa_family == AF_INET6)
      memcpy(a[n].ip, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
    else continue;
    a[n].family = i->ifa_addr->sa_family;
    if (global(a[n].family, a[n].ip)) n++;
  }
  freeifaddrs(ifs);
  return n;
}

static void put(char const *s)
{
  if (buffer_puts(buffer_1, s) < 0) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

int cmd_dns(int argc, char const *const *argv)
{
  stralloc d = STRALLOC_ZERO, me = STRALLOC_ZERO;
  char const *ip4 = 0, *ip6 = 0, *domain = 0;
  struct hostaddr a[8];
  unsigned n;
  char line[600], ip[64], rev[80];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--ip4") && i + 1 < argc) ip4 = argv[++i];
    else if (!strcmp(argv[i], "--ip6") && i + 1 < argc) ip6 = argv[++i];
    else if (!domain) domain = argv[i];
    else strerr_dieusage(USAGE_EXIT, DNS_USAGE);
  }
  if (!domain) strerr_dieusage(USAGE_EXIT, DNS_USAGE);
  if (!addr_domain(&d, domain)) strerr_dief(USAGE_EXIT, "not a domain name: ", domain);
  if (!tf_line(&me, "me") || !me.len) strerr_dief(USAGE_EXIT, "no host name: the file me is missing");
  n = host_addrs(a, 8, ip4, ip6);
  snprintf(line, sizeof line, "; DNS records for %s (mail host %s)\n", d.s, me.s); put(line);
  snprintf(line, sizeof line, "%s. IN MX 10 %s.\n", d.s, me.s); put(line);
  if (!n) put("; no global address found on this host: give --ip4 and/or --ip6\n");
  for (unsigned i = 0; i < n; i++) {
    inet_ntop(a[i].family, a[i].ip, ip, sizeof ip);
    snprintf(line, sizeof line, "%s. IN %s %s\n", me.s, a[i].family == AF_INET ? "A" : "AAAA", ip); put(line);
  }
  if (n) put("; the reverse (PTR) records are set where the addresses come from (the hosting provider):\n");
  for (unsigned i = 0; i < n; i++) {
    dns_revname(rev, a[i].family, a[i].ip);
    snprintf(line, sizeof line, "%s. IN PTR %s.\n", rev, me.s); put(line);
  }
  snprintf(line, sizeof line, "%s. IN TXT \"v=spf1 mx -all\"\n", d.s); put(line);
  dkim_print_records(d.s);
  snprintf(line, sizeof line, "_dmarc.%s. IN TXT \"v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@%s\"\n", d.s, d.s);
  put(line);
  put("; once the reports show only your own mail passing, p=reject protects the domain fully\n");
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
  stralloc_free(&d);
  stralloc_free(&me);
  return 0;
}
