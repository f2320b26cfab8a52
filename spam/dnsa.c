/* spam/dnsa.c — the two packets of a DNS list question (RFC 1035): the question
 * for the A records of a name, and the parse of its answer, every length and
 * offset checked, compression pointers followed at most 64 times. The answer is
 * OK with the A records of its answer section, NX for NXDOMAIN, TEMP for anything
 * else (another error code, truncation, a packet that does not answer our
 * question): a DNS list we cannot read says nothing.
 * This and dnsnet.c are the small resolver spam/ uses until pochta's dns/ module
 * is on main; the hooks' dns_a is the one place to change then. */
#include <string.h>
#include <strings.h>

#include "spam-int.h"

size_t spam_dns_query(unsigned char *buf, size_t max, uint16_t id, char const *name)
{
  size_t n = strlen(name), k = 12;
  if (n && name[n - 1] == '.') n--;
  if (!n || n > 253 || max < 12 + n + 2 + 4) return 0;
  memset(buf, 0, 12);
  buf[0] = id >> 8; buf[1] = id;
  buf[2] = 0x01;            /* RD */
  buf[5] = 1;               /* one question */
  for (size_t i = 0; i < n;) {
    size_t e = i;
    while (e < n && name[e] != '.') e++;
    if (e == i || e - i > 63) return 0;
    buf[k++] = e - i;
    memcpy(buf + k, name + i, e - i);
    k += e - i;
    i = e + 1;
    if (e + 1 == n) return 0;   /* "a..": an empty label */
  }
  buf[k++] = 0;
  buf[k++] = 0; buf[k++] = 1;   /* A */
  buf[k++] = 0; buf[k++] = 1;   /* IN */
  return k;
}

/* Decode the name at *pos into out (dotted, lowercase); *pos moves past it in the
 * packet. 1 ok, 0 malformed. */
static int get_name(unsigned char const *p, size_t len, size_t *pos, char *out, size_t outlen)
{
  size_t at = *pos, k = 0, next = 0;
  unsigned hops = 0;
  for (;;) {
    if (at >= len) return 0;
    unsigned c = p[at];
    if (c >= 0xc0) {
      if (at + 1 >= len || ++hops > 64) return 0;
      if (!next) next = at + 2;
      at = (c & 0x3f) << 8 | p[at + 1];
      continue;
    }
    if (c >= 0x40) return 0;
    at++;
    if (!c) break;
    if (at + c > len || k + c + 2 > outlen) return 0;
    if (k) out[k++] = '.';
    for (unsigned i = 0; i < c; i++) {
      unsigned char ch = p[at + i];
      out[k++] = ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
    }
    at += c;
  }
  out[k] = 0;
  *pos = next ? next : at;
  return 1;
}

int spam_dns_answer(unsigned char const *p, size_t len, uint16_t id, char const *name,
                    unsigned char ip[][4], unsigned max, unsigned *n)
{
  char q[260], want[260];
  size_t pos = 12, nl = strlen(name);
  *n = 0;
  if (len < 12 || (p[0] << 8 | p[1]) != id || !(p[2] & 0x80) || (p[2] & 0x78)) return SPAM_DNS_TEMP;
  if (p[2] & 0x02) return SPAM_DNS_TEMP;   /* truncated */
  unsigned rcode = p[3] & 15, qd = p[4] << 8 | p[5], an = p[6] << 8 | p[7];
  if (qd != 1) return SPAM_DNS_TEMP;
  if (nl && name[nl - 1] == '.') nl--;
  if (nl >= sizeof want) return SPAM_DNS_TEMP;
  for (size_t i = 0; i < nl; i++) want[i] = name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i];
  want[nl] = 0;
  if (!get_name(p, len, &pos, q, sizeof q) || strcmp(q, want) || pos + 4 > len) return SPAM_DNS_TEMP;
  if ((p[pos] << 8 | p[pos + 1]) != 1 || (p[pos + 2] << 8 | p[pos + 3]) != 1) return SPAM_DNS_TEMP;
  pos += 4;
  if (rcode == 3) return SPAM_DNS_NX;
  if (rcode) return SPAM_DNS_TEMP;
  for (unsigned i = 0; i < an; i++) {
    char owner[260];
    if (!get_name(p, len, &pos, owner, sizeof owner) || pos + 10 > len) return SPAM_DNS_TEMP;
    unsigned type = p[pos] << 8 | p[pos + 1], cls = p[pos + 2] << 8 | p[pos + 3];
    size_t rdlen = p[pos + 8] << 8 | p[pos + 9];
    pos += 10;
    if (pos + rdlen > len) return SPAM_DNS_TEMP;
    if (type == 1 && cls == 1 && rdlen == 4 && *n < max) memcpy(ip[(*n)++], p + pos, 4);
    pos += rdlen;
  }
  return SPAM_DNS_OK;
}
