/* x509san.h: a walk over just enough DER (X.690) to reach the extensions
 * of the TBSCertificate (RFC 5280 4.1). Every length is checked against
 * what encloses it; nothing is read outside the buffer. */
#include <string.h>

#include "x509san.h"

struct der { unsigned char const *p; size_t n; };

/* The next element of d: its tag and contents; d moves past it. 1 ok, 0 malformed. */
static int next(struct der *d, unsigned *tag, struct der *in)
{
  size_t len, k;
  if (d->n < 2) return 0;
  *tag = d->p[0];
  if ((*tag & 0x1f) == 0x1f) return 0;   /* multi-octet tags: none in what we read */
  len = d->p[1];
  k = 2;
  if (len & 0x80) {
    size_t nb = len & 0x7f;
    if (!nb || nb > 4 || d->n < 2 + nb) return 0;
    len = 0;
    for (size_t i = 0; i < nb; i++) len = len << 8 | d->p[2 + i];
    k += nb;
  }
  if (len > d->n - k) return 0;
  in->p = d->p + k;
  in->n = len;
  d->p += k + len;
  d->n -= k + len;
  return 1;
}

/* Inside SEQUENCE (tag 0x30) at d: 1 ok, 0 not one. */
static int enter_seq(struct der *d, struct der *in)
{
  unsigned tag;
  return next(d, &tag, in) && tag == 0x30;
}

/* GeneralNames in the extension's value: 1 ip found, 0 not, -1 malformed. */
static int names_have(struct der v, unsigned char const *ip, size_t iplen)
{
  struct der names, gn;
  unsigned tag;
  if (!enter_seq(&v, &names) || v.n) return -1;
  while (names.n) {
    if (!next(&names, &tag, &gn)) return -1;
    if (tag == 0x87 && gn.n == iplen && !memcmp(gn.p, ip, iplen)) return 1;   /* [7] iPAddress */
  }
  return 0;
}

int x509_san_has_ip(unsigned char const *der, size_t len, unsigned char const *ip, size_t iplen)
{
  static unsigned char const san_oid[] = { 0x55, 0x1d, 0x11 };   /* 2.5.29.17 */
  struct der d = { der, len }, cert, tbs, el, exts, ext, f;
  unsigned tag;
  if (!enter_seq(&d, &cert) || !enter_seq(&cert, &tbs)) return -1;
  /* version [0], serial, signature, issuer, validity, subject, key; then
   * perhaps issuerUniqueID [1], subjectUniqueID [2]; extensions are [3] */
  for (;;) {
    if (!tbs.n) return 0;
    if (!next(&tbs, &tag, &el)) return -1;
    if (tag == 0xa3) break;
  }
  if (!enter_seq(&el, &exts) || el.n) return -1;
  while (exts.n) {
    if (!enter_seq(&exts, &ext) || !next(&ext, &tag, &f) || tag != 0x06) return -1;
    if (f.n != sizeof san_oid || memcmp(f.p, san_oid, sizeof san_oid)) continue;
    if (!next(&ext, &tag, &f)) return -1;
    if (tag == 0x01 && !next(&ext, &tag, &f)) return -1;   /* critical BOOLEAN */
    if (tag != 0x04) return -1;                            /* extnValue OCTET STRING */
    return names_have(f, ip, iplen);
  }
  return 0;
}
