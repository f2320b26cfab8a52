/* spam/addr.c — client addresses and networks: parsing, matching a list, and the
 * prefix that greylisting and rate limits key a client by (a /24 or /64 sends as
 * one client: mail farms retry from their neighbours). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "spam-int.h"

int spam_ip_parse(spam_net *n, char const *s)
{
  memset(n, 0, sizeof *n);
  if (inet_pton(AF_INET, s, n->ip) == 1) { n->bits = 32; return 1; }
  if (inet_pton(AF_INET6, s, n->ip) != 1) return 0;
  static unsigned char const mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if (!memcmp(n->ip, mapped, 12)) {   /* ::ffff:a.b.c.d is IPv4 */
    memmove(n->ip, n->ip + 12, 4);
    memset(n->ip + 4, 0, 12);
    n->bits = 32;
    return 1;
  }
  n->v6 = 1;
  n->bits = 128;
  return 1;
}

int spam_net_parse(spam_net *n, char const *s, size_t len)
{
  char buf[64];
  char const *slash = memchr(s, '/', len);
  size_t al = slash ? (size_t)(slash - s) : len;
  if (!al || al >= sizeof buf) return 0;
  memcpy(buf, s, al);
  buf[al] = 0;
  if (!spam_ip_parse(n, buf)) return 0;
  if (slash) {
    unsigned bits = 0;
    size_t i = al + 1;
    if (i >= len || len - i > 3) return 0;
    for (; i < len; i++) {
      if (s[i] < '0' || s[i] > '9') return 0;
      bits = bits * 10 + (s[i] - '0');
    }
    if (bits > (n->v6 ? 128u : 32u)) return 0;
    n->bits = bits;
  }
  return 1;
}

static int prefix_eq(unsigned char const *a, unsigned char const *b, unsigned bits)
{
  unsigned bytes = bits / 8, rest = bits % 8;
  if (memcmp(a, b, bytes)) return 0;
  if (!rest) return 1;
  unsigned char mask = 0xff << (8 - rest);
  return (a[bytes] & mask) == (b[bytes] & mask);
}

int spam_net_match(spam_net const *nets, unsigned n, spam_net const *ip)
{
  for (unsigned i = 0; i < n; i++)
    if (nets[i].v6 == ip->v6 && prefix_eq(nets[i].ip, ip->ip, nets[i].bits)) return 1;
  return 0;
}

void spam_net_prefix(char *out, size_t len, spam_net const *ip, unsigned bits4, unsigned bits6)
{
  unsigned char a[16] = { 0 };
  unsigned bits = ip->v6 ? bits6 : bits4;
  memcpy(a, ip->ip, bits / 8);
  if (bits % 8) a[bits / 8] = ip->ip[bits / 8] & (0xff << (8 - bits % 8));
  char txt[INET6_ADDRSTRLEN];
  inet_ntop(ip->v6 ? AF_INET6 : AF_INET, a, txt, sizeof txt);
  snprintf(out, len, "%s/%u", txt, bits);
}
