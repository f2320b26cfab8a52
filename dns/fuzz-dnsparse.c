/* libFuzzer target: dns_parse over arbitrary answers. The first octets choose the
 * question type; the rest is the packet, whose id and question are patched to match
 * half of the time so the answer section is reached. Checks that every record the
 * parser keeps points inside the result's arena and is NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static uint16_t const qtypes[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_PTR, DNS_T_TLSA, DNS_T_CNAME, DNS_T_NS };

static void inside(dns_result const *res, void const *p, size_t len)
{
  unsigned char const *c = p;
  if (c < res->arena || c + len + 1 > res->arena + res->used) abort();
  if (c[len]) abort();
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static dns_result res;
  static unsigned char pkt[DNS_PKT_MAX];
  static char const qname[] = "a.example.test";
  char next[DNS_NAMEMAX + 1];
  uint32_t ttl;
  int tc;
  uint16_t qtype;
  if (size < 2 || size - 1 > sizeof pkt) return 0;
  qtype = qtypes[data[0] & 7];
  memcpy(pkt, data + 1, size - 1);
  size--;
  if ((data[0] & 8) && size >= 12 + 16 + 4) {
    /* a matching header and question */
    pkt[0] = 0x12; pkt[1] = 0x34; pkt[2] |= 0x80; pkt[2] &= ~0x7a; pkt[4] = 0; pkt[5] = 1;
    memcpy(pkt + 12, "\1a\7example\4test\0", 16);
    pkt[28] = qtype >> 8; pkt[29] = qtype & 255; pkt[30] = 0; pkt[31] = 1;
  }
  dns_parse(pkt, size, 0x1234, qname, qtype, &res, next, &ttl, &tc);
  if (res.n > DNS_RR_MAX || res.used > DNS_ARENA) abort();
  if (strlen(next) > DNS_NAMEMAX || strlen(res.qname) > DNS_NAMEMAX) abort();
  for (unsigned i = 0; i < res.n; i++) {
    dns_rr const *rr = &res.rr[i];
    if (rr->type != qtype) abort();
    if (rr->name) { if (strlen(rr->name) > DNS_NAMEMAX) abort(); inside(&res, rr->name, strlen(rr->name)); }
    if (rr->data) inside(&res, rr->data, rr->len);
  }
  return 0;
}
