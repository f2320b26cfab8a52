/* Small things every engine uses: names of results, the DNS hook, an output buffer,
 * case-insensitive text, base64, tag lists (RFC 6376 3.2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "int.h"

char const *chk_result_name(int r)
{
  static char const *const names[] = { "none", "pass", "fail", "softfail", "neutral",
                                       "temperror", "permerror", "policy" };
  return r >= 0 && r <= CHK_POLICY ? names[r] : "none";
}

int chk_query(chk_dns *d, char const *name, uint16_t type, dns_result *res)
{
  memset(res, 0, offsetof(dns_result, rr));
  if (d->max_queries && d->queries >= d->max_queries) return res->status = DNS_TEMP;
  d->queries++;
  return d->query(d, name, type, res);
}

static int real_query(chk_dns *d, char const *name, uint16_t type, dns_result *res)
{
  return dns_lookup(d->ctx, name, type, res);
}

void chk_dns_real(chk_dns *d, dns_resolver *r)
{
  memset(d, 0, sizeof *d);
  d->query = real_query;
  d->ctx = r;
}

int chk_buf_put(chk_buf *b, char const *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    while (cap < b->len + n + 1) {
      if (cap > ((size_t)1 << 30)) { errno = E2BIG; return 0; }
      cap *= 2;
    }
    if (!(p = realloc(b->s, cap))) return 0;
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
  return 1;
}

int chk_buf_puts(chk_buf *b, char const *s) { return chk_buf_put(b, s, strlen(s)); }

void chk_buf_free(chk_buf *b)
{
  free(b->s);
  b->s = 0;
  b->len = b->cap = 0;
}

int chk_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
int chk_is_wsp(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int chk_casecmpn(char const *a, size_t al, char const *b, size_t bl)
{
  if (al != bl) return 1;
  for (size_t i = 0; i < al; i++)
    if (chk_lower((unsigned char)a[i]) != chk_lower((unsigned char)b[i])) return 1;
  return 0;
}

int chk_copy_lower(char *out, size_t outmax, char const *s, size_t len)
{
  if (len >= outmax) return 0;
  for (size_t i = 0; i < len; i++) out[i] = (char)chk_lower((unsigned char)s[i]);
  out[len] = 0;
  return 1;
}

int chk_domain_under(char const *d, char const *parent)
{
  size_t dl = strlen(d), pl = strlen(parent);
  if (dl < pl || chk_casecmpn(d + dl - pl, pl, parent, pl)) return 0;
  return dl == pl || d[dl - pl - 1] == '.';
}

int chk_domain_ok(char const *s, int allow_single)
{
  size_t len = strlen(s), lab = 0, dots = 0;
  if (!len || len > CHK_DOMAIN_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (!lab) return 0;
      lab = 0; dots++;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c >= 0x80)) return 0;
    if (++lab > 63) return 0;
  }
  return lab && (dots || allow_single);
}

int chk_b64_decode(unsigned char *out, size_t outmax, size_t *outlen, char const *in, size_t len)
{
  unsigned acc = 0, bits = 0, pad = 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int c = (unsigned char)in[i], v;
    if (chk_is_wsp(c)) continue;
    if (c == '=') { pad++; continue; }
    if (pad || (v = base64_value((unsigned char)c)) < 0) return 0;   /* data after padding, or junk */
    acc = acc << 6 | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= outmax) return 0;
      out[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (pad > 2) return 0;
  *outlen = o;
  return 1;
}

int chk_b64_encode(chk_buf *out, unsigned char const *in, size_t len)
{
  static char const tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char q[4];
  size_t i;
  for (i = 0; i + 2 < len; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    q[0] = tab[v >> 18]; q[1] = tab[(v >> 12) & 63]; q[2] = tab[(v >> 6) & 63]; q[3] = tab[v & 63];
    if (!chk_buf_put(out, q, 4)) return 0;
  }
  if (i < len) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
    q[0] = tab[v >> 18]; q[1] = tab[(v >> 12) & 63];
    q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
    q[3] = '=';
    if (!chk_buf_put(out, q, 4)) return 0;
  }
  return 1;
}

int tags_parse(tags *t, char const *s, size_t len)
{
  size_t i = 0;
  t->n = 0;
  while (i < len) {
    size_t ns, ne, vs, ve, e;
    while (i < len && chk_is_wsp((unsigned char)s[i])) i++;
    if (i == len) break;                   /* a trailing ';' is allowed */
    ns = i;
    while (i < len && s[i] != '=' && s[i] != ';' && !chk_is_wsp((unsigned char)s[i])) i++;
    ne = i;
    while (i < len && chk_is_wsp((unsigned char)s[i])) i++;
    if (ne == ns || i == len || s[i] != '=') return 0;
    for (size_t k = ns; k < ne; k++) {     /* tag-name = ALPHA *ALNUMPUNC */
      unsigned char c = (unsigned char)s[k];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (k > ns && ((c >= '0' && c <= '9') || c == '_')))) return 0;
    }
    i++;
    e = i;
    while (e < len && s[e] != ';') e++;
    vs = i; ve = e;
    while (vs < ve && chk_is_wsp((unsigned char)s[vs])) vs++;
    while (ve > vs && chk_is_wsp((unsigned char)s[ve - 1])) ve--;
    for (unsigned k = 0; k < t->n; k++)
      if (t->t[k].nlen == ne - ns && !memcmp(t->t[k].name, s + ns, ne - ns)) return 0;   /* duplicate */
    if (t->n >= TAGS_MAX) return 0;
    t->t[t->n].name = s + ns; t->t[t->n].nlen = ne - ns;
    t->t[t->n].val = s + vs; t->t[t->n].vlen = ve - vs;
    t->n++;
    i = e < len ? e + 1 : e;
  }
  return 1;
}

tag const *tags_get(tags const *t, char const *name)
{
  size_t nl = strlen(name);
  for (unsigned k = 0; k < t->n; k++)
    if (t->t[k].nlen == nl && !memcmp(t->t[k].name, name, nl)) return &t->t[k];
  return 0;
}
