/* DNS messages: the question we send and the parse of the answer (RFC 1035 4).
 * Pure: no I/O. Everything an answer says is untrusted: each offset is checked
 * against the length, compression pointers may only point backwards and are
 * counted, record counts are capped by what the octets can hold. */
#include <string.h>

#include "dns.h"

#define HDR 12
#define PTR_MAX 64    /* compression pointers followed in one name */

static unsigned lower(unsigned c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int dns_name_ok(char const *s)
{
  size_t len = strlen(s), lab = 0, i;
  if (len && s[len - 1] == '.') len--;
  if (!len || len > DNS_NAMEMAX) return 0;
  for (i = 0; i < len; i++) {
    if (s[i] == '.') { if (!lab) return 0; lab = 0; continue; }
    if (++lab > 63) return 0;
  }
  return lab > 0;
}

size_t dns_query_encode(unsigned char *buf, size_t max, uint16_t id,
                        char const *qname, uint16_t qtype)
{
  size_t len = strlen(qname), o = HDR, i = 0;
  if (!dns_name_ok(qname) || max < HDR + len + 2 + 4 + 11) return 0;
  if (len && qname[len - 1] == '.') len--;
  memset(buf, 0, HDR);
  buf[0] = id >> 8; buf[1] = id & 255;
  buf[2] = 0x01;          /* RD */
  buf[3] = 0x20;          /* AD: ask for the AD bit (RFC 6840 5.7) */
  buf[5] = 1;             /* QDCOUNT */
  buf[11] = 1;            /* ARCOUNT: the OPT record */
  while (i < len) {
    size_t j = i;
    while (j < len && qname[j] != '.') j++;
    buf[o++] = (unsigned char)(j - i);
    memcpy(buf + o, qname + i, j - i);
    o += j - i;
    i = j + 1;
  }
  buf[o++] = 0;
  buf[o++] = qtype >> 8; buf[o++] = qtype & 255;
  buf[o++] = 0; buf[o++] = 1;          /* IN */
  /* OPT: root name, type 41, UDP size 1232, no extended rcode, version 0, no DO */
  buf[o++] = 0;
  buf[o++] = 0; buf[o++] = DNS_T_OPT;
  buf[o++] = 1232 >> 8; buf[o++] = 1232 & 255;
  buf[o++] = 0; buf[o++] = 0; buf[o++] = 0; buf[o++] = 0;
  buf[o++] = 0; buf[o++] = 0;
  return o;
}

/* Decode the name at *pos into out (lowercase, dots, no trailing dot); *pos moves past
 * it in the message. 1 ok, 0 malformed (out of bounds, forward or looping pointer,
 * too long). */
static int getname(unsigned char const *p, size_t len, size_t *pos, char out[DNS_NAMEMAX + 1])
{
  size_t i = *pos, o = 0, end = 0;
  unsigned ptrs = 0;
  int jumped = 0;
  for (;;) {
    unsigned c;
    if (i >= len) return 0;
    c = p[i];
    if ((c & 0xc0) == 0xc0) {
      size_t t;
      if (i + 1 >= len || ++ptrs > PTR_MAX) return 0;
      t = ((c & 0x3f) << 8) | p[i + 1];
      if (!jumped) { end = i + 2; jumped = 1; }
      if (t >= i) return 0;        /* only backwards: no loops */
      i = t;
      continue;
    }
    if (c & 0xc0) return 0;        /* 0x40/0x80: obsolete label types */
    if (!c) { if (!jumped) end = i + 1; break; }
    if (i + 1 + c > len) return 0;
    if (o + (o ? 1 : 0) + c > DNS_NAMEMAX) return 0;
    if (o) out[o++] = '.';
    for (unsigned k = 0; k < c; k++) {
      unsigned ch = p[i + 1 + k];
      if (!ch || ch == '.') return 0;   /* would not survive as text */
      out[o++] = (char)lower(ch);
    }
    i += 1 + c;
  }
  out[o] = 0;
  *pos = end;
  return 1;
}

static int name_eq(char const *a, char const *b)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la && a[la - 1] == '.') la--;
  if (lb && b[lb - 1] == '.') lb--;
  if (la != lb) return 0;
  for (size_t i = 0; i < la; i++) if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

static unsigned get16(unsigned char const *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t get32(unsigned char const *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Room in the arena: a pointer to n octets, or NULL. */
static void *arena(dns_result *res, size_t n)
{
  void *p;
  if (n > DNS_ARENA - res->used) return 0;
  p = res->arena + res->used;
  res->used += n;
  return p;
}

static char *keepname(dns_result *res, char const *s)
{
  size_t n = strlen(s) + 1;
  char *p = arena(res, n);
  if (p) memcpy(p, s, n);
  return p;
}

/* One record's data of the type asked for. 1 kept, 0 malformed (whole answer bad),
 * 2 skipped (no room). */
static int keep(dns_result *res, unsigned char const *p, size_t len, size_t rd,
                size_t rdlen, uint16_t type, uint32_t ttl)
{
  dns_rr *rr;
  char name[DNS_NAMEMAX + 1];
  size_t pos;
  if (res->n >= DNS_RR_MAX) { res->truncated = 1; return 2; }
  rr = &res->rr[res->n];
  memset(rr, 0, sizeof *rr);
  rr->type = type;
  rr->ttl = ttl;
  switch (type) {
  case DNS_T_A:
    if (rdlen != 4) return 0;
    memcpy(rr->ip, p + rd, 4);
    break;
  case DNS_T_AAAA:
    if (rdlen != 16) return 0;
    memcpy(rr->ip, p + rd, 16);
    break;
  case DNS_T_MX:
    if (rdlen < 3) return 0;
    rr->pref = (uint16_t)get16(p + rd);
    pos = rd + 2;
    if (!getname(p, len, &pos, name) || pos != rd + rdlen) return 0;
    if (!(rr->name = keepname(res, name))) { res->truncated = 1; return 2; }
    break;
  case DNS_T_PTR: case DNS_T_CNAME: case DNS_T_NS:
    pos = rd;
    if (!getname(p, len, &pos, name) || pos != rd + rdlen) return 0;
    if (!(rr->name = keepname(res, name))) { res->truncated = 1; return 2; }
    break;
  case DNS_T_TXT: {
    /* character-strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2) */
    unsigned char *d = arena(res, rdlen + 1);
    size_t i = rd, o = 0;
    if (!d) { res->truncated = 1; return 2; }
    while (i < rd + rdlen) {
      size_t l = p[i];
      if (i + 1 + l > rd + rdlen) return 0;
      memcpy(d + o, p + i + 1, l);
      o += l;
      i += 1 + l;
    }
    d[o] = 0;
    rr->data = d;
    rr->len = o;
    res->used -= rdlen - o;   /* give back what the length octets took */
    break;
  }
  case DNS_T_TLSA: {
    unsigned char *d;
    if (rdlen < 3) return 0;
    rr->usage = p[rd]; rr->selector = p[rd + 1]; rr->mtype = p[rd + 2];
    if (!(d = arena(res, rdlen - 3 + 1))) { res->truncated = 1; return 2; }
    memcpy(d, p + rd + 3, rdlen - 3);
    d[rdlen - 3] = 0;
    rr->data = d;
    rr->len = rdlen - 3;
    break;
  }
  default:
    if (!(rr->data = arena(res, rdlen + 1))) { res->truncated = 1; return 2; }
    memcpy((unsigned char *)rr->data, p + rd, rdlen);
    ((unsigned char *)rr->data)[rdlen] = 0;
    rr->len = rdlen;
  }
  res->n++;
  return 1;
}

int dns_parse(unsigned char const *p, size_t len, uint16_t id, char const *qname,
              uint16_t qtype, dns_result *res, char next[DNS_NAMEMAX + 1],
              uint32_t *ttl, int *tc)
{
  char name[DNS_NAMEMAX + 1], owner[DNS_NAMEMAX + 1];
  unsigned qd, an, ns, rcode, i, hops = 0;
  size_t pos, ansstart;
  uint32_t minttl = UINT32_MAX;

  res->status = DNS_TEMP;
  res->ad = 0;
  res->truncated = 0;
  res->n = 0;
  res->used = 0;
  res->qname[0] = 0;
  next[0] = 0;
  *ttl = 0;
  *tc = 0;
  if (len < HDR || len > DNS_PKT_MAX) return DNS_TEMP;
  if (get16(p) != id || !(p[2] & 0x80)) return DNS_TEMP;   /* not our answer */
  if ((p[2] >> 3) & 15) return DNS_TEMP;                   /* opcode must be QUERY */
  if (p[2] & 0x02) { *tc = 1; return DNS_TEMP; }
  rcode = p[3] & 15;
  qd = get16(p + 4); an = get16(p + 6); ns = get16(p + 8);
  if (qd != 1) return DNS_TEMP;
  pos = HDR;
  if (!getname(p, len, &pos, name) || pos + 4 > len) return DNS_TEMP;
  if (!name_eq(name, qname) || get16(p + pos) != qtype || get16(p + pos + 2) != 1) return DNS_TEMP;
  pos += 4;
  if (rcode == 3) res->status = DNS_NXDOMAIN;
  else if (rcode != 0) return DNS_TEMP;     /* SERVFAIL, REFUSED, FORMERR, ... */
  else res->status = DNS_OK;
  res->ad = !!(p[3] & 0x20);
  /* a record takes at least 11 octets: a count beyond what is left is a lie */
  if ((size_t)an * 11 > len - pos) { res->status = DNS_TEMP; return DNS_TEMP; }

  {
    size_t l = strlen(qname);
    if (l && qname[l - 1] == '.') l--;
    if (l > DNS_NAMEMAX) { res->status = DNS_TEMP; return DNS_TEMP; }
    for (size_t k = 0; k < l; k++) owner[k] = (char)lower((unsigned char)qname[k]);
    owner[l] = 0;
  }
  ansstart = pos;
  /* Walk the answer section once per CNAME hop: records may come in any order. */
  for (;;) {
    int cname = 0;
    pos = ansstart;
    for (i = 0; i < an; i++) {
      unsigned type, cls, rdlen;
      uint32_t t;
      if (!getname(p, len, &pos, name) || pos + 10 > len) goto bad;
      type = get16(p + pos); cls = get16(p + pos + 2); t = get32(p + pos + 4);
      rdlen = get16(p + pos + 8);
      pos += 10;
      if (pos + rdlen > len) goto bad;
      if (t > 0x7fffffff) t = 0;               /* RFC 2181 8 */
      if (cls == 1 && !strcmp(name, owner)) {
        if (type == qtype) {
          if (!keep(res, p, len, pos, rdlen, (uint16_t)type, t)) goto bad;
          if (t < minttl) minttl = t;
        } else if (type == DNS_T_CNAME && !cname && qtype != DNS_T_CNAME) {
          size_t q = pos;
          if (!getname(p, len, &q, next) || q != pos + rdlen) goto bad;
          if (t < minttl) minttl = t;
          cname = 1;
        }
      }
      pos += rdlen;
    }
    if (res->n || !cname) break;
    /* owner is an alias: look for the target's records in the same answer */
    if (++hops > DNS_CNAME_MAX) goto bad;
    memcpy(owner, next, strlen(next) + 1);
  }
  if (res->n) next[0] = 0;
  else if (next[0] && hops) {
    /* the chain's end has no records here: the caller asks for next */
    res->status = DNS_OK;
  }
  memcpy(res->qname, owner, strlen(owner) + 1);
  if (!res->n && !next[0]) {
    /* negative answer: its TTL is the SOA minimum of the authority section (RFC 2308) */
    minttl = 0;
    for (i = 0; i < ns; i++) {
      unsigned type, rdlen;
      if (!getname(p, len, &pos, name) || pos + 10 > len) break;
      type = get16(p + pos); rdlen = get16(p + pos + 8);
      pos += 10;
      if (pos + rdlen > len) break;
      if (type == DNS_T_SOA && rdlen >= 20) {
        uint32_t m = get32(p + pos + rdlen - 4), t = get32(p + pos - 6);
        minttl = m < t ? m : t;
        if (minttl > 0x7fffffff) minttl = 0;
        break;
      }
      pos += rdlen;
    }
  }
  *ttl = minttl == UINT32_MAX ? 0 : minttl;
  return res->status;
bad:
  res->status = DNS_TEMP;
  res->n = 0;
  res->used = 0;
  next[0] = 0;
  return DNS_TEMP;
}
