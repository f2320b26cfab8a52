/* DKIM keys: private keys read from PEM (BearSSL for RSA, libsodium for Ed25519),
 * new keys made, public key records (RFC 6376 3.6.1, RFC 8463 4) written, fetched
 * and parsed, and the signature primitives. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "int.h"
#include "pemfile.h"

#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 4096   /* BearSSL's limit (BR_MAX_RSA_SIZE) */

struct dkim_key_s {
  int alg;
  char domain[CHK_DOMAIN_MAX + 1];
  char selector[64];
  br_rsa_private_key sk;
  unsigned char skbuf[BR_RSA_KBUF_PRIV_SIZE(RSA_MAX_BITS)];
  unsigned char n[RSA_MAX_BITS / 8];
  size_t nlen;
  uint32_t e;
  unsigned char edsk[crypto_sign_SECRETKEYBYTES], edpk[crypto_sign_PUBLICKEYBYTES];
};

/* PKCS#8 of an Ed25519 key (RFC 8410): this prefix, then the 32-octet seed */
static unsigned char const ed_pkcs8[16] = {
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
};
static unsigned char const rsa_oid[11] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };

char const *dkim_key_domain(dkim_key const *k) { return k->domain; }
char const *dkim_key_selector(dkim_key const *k) { return k->selector; }
int dkim_key_alg(dkim_key const *k) { return k->alg; }

void dkim_key_free(dkim_key *k)
{
  if (!k) return;
  sodium_memzero(k, sizeof *k);
  free(k);
}

static int ed_from_seed(dkim_key *k, unsigned char const *seed)
{
  if (sodium_init() < 0) return 0;
  k->alg = DKIM_ED25519;
  return !crypto_sign_seed_keypair(k->edpk, k->edsk, seed);
}

static int copy_rsa(dkim_key *k, br_rsa_private_key const *src)
{
  unsigned char *p = k->skbuf;
  size_t need = src->plen + src->qlen + src->dplen + src->dqlen + src->iqlen;
  if (src->n_bitlen < RSA_MIN_BITS || src->n_bitlen > RSA_MAX_BITS || need > sizeof k->skbuf) return 0;
  k->sk.n_bitlen = src->n_bitlen;
#define CP(f, l) do { memcpy(p, src->f, src->l); k->sk.f = p; k->sk.l = src->l; p += src->l; } while (0)
  CP(p, plen); CP(q, qlen); CP(dp, dplen); CP(dq, dqlen); CP(iq, iqlen);
#undef CP
  k->alg = DKIM_RSA;
  return 1;    /* n and e are computed when the record is asked for (they cost time) */
}

static int pem_cb(void *ctx, char const *name, unsigned char const *der, size_t len)
{
  dkim_key *k = ctx;
  br_skey_decoder_context dc;
  if (k->alg) return 0;                         /* the first key in the file counts */
  if (strcmp(name, "PRIVATE KEY") && strcmp(name, "RSA PRIVATE KEY")) return 0;
  if (len == 48 && !memcmp(der, ed_pkcs8, 16)) return ed_from_seed(k, der + 16) ? 0 : -1;
  br_skey_decoder_init(&dc);
  br_skey_decoder_push(&dc, der, len);
  if (br_skey_decoder_last_error(&dc) || br_skey_decoder_key_type(&dc) != BR_KEYTYPE_RSA) return -1;
  if (!copy_rsa(k, br_skey_decoder_get_rsa(&dc))) { sodium_memzero(&dc, sizeof dc); return -1; }
  sodium_memzero(&dc, sizeof dc);
  return 0;
}

dkim_key *dkim_key_parse(unsigned char const *pem, size_t len, char const *domain, char const *selector)
{
  dkim_key *k = calloc(1, sizeof *k);
  if (!k) return 0;
  if (!chk_copy_lower(k->domain, sizeof k->domain, domain, strlen(domain)) ||
      !chk_copy_lower(k->selector, sizeof k->selector, selector, strlen(selector)) ||
      pemfile_parse(pem, len, pem_cb, k) < 0 || !k->alg) {
    dkim_key_free(k);
    errno = EINVAL;
    return 0;
  }
  return k;
}

dkim_key *dkim_key_load(char const *path, char const *domain, char const *selector)
{
  unsigned char buf[16384];
  size_t got = 0;
  dkim_key *k;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof buf - got);
    if (n < 0) { if (errno == EINTR) continue; close(fd); sodium_memzero(buf, sizeof buf); return 0; }
    if (!n) break;
    if ((got += (size_t)n) == sizeof buf) { close(fd); sodium_memzero(buf, sizeof buf); errno = EFBIG; return 0; }
  }
  close(fd);
  k = dkim_key_parse(buf, got, domain, selector);
  sodium_memzero(buf, sizeof buf);
  return k;
}

/* ---------------------------------------------------------------- making keys */

static int pem_out(chk_buf *out, unsigned char const *der, size_t len, char const *banner)
{
  size_t n = br_pem_encode(0, der, len, banner, BR_PEM_LINE64);
  char *p = malloc(n + 1);
  int ok;
  if (!p) return 0;
  br_pem_encode(p, der, len, banner, BR_PEM_LINE64);
  ok = chk_buf_put(out, p, strlen(p));
  sodium_memzero(p, n + 1);
  free(p);
  return ok;
}

int dkim_key_generate(int alg, unsigned bits, chk_buf *pem)
{
  if (sodium_init() < 0) return 0;
  if (alg == DKIM_ED25519) {
    unsigned char der[48];
    int ok;
    memcpy(der, ed_pkcs8, 16);
    randombytes_buf(der + 16, 32);
    ok = pem_out(pem, der, sizeof der, "PRIVATE KEY");
    sodium_memzero(der, sizeof der);
    return ok;
  }
  if (alg != DKIM_RSA) { errno = EINVAL; return 0; }
  if (!bits) bits = 2048;
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) { errno = EINVAL; return 0; }
  {
    unsigned char kpriv[BR_RSA_KBUF_PRIV_SIZE(RSA_MAX_BITS)], kpub[BR_RSA_KBUF_PUB_SIZE(RSA_MAX_BITS)];
    unsigned char seed[32], d[RSA_MAX_BITS / 8], *der = 0;
    br_hmac_drbg_context rng;
    br_rsa_private_key sk;
    br_rsa_public_key pk;
    size_t dlen, len;
    int ok = 0;
    randombytes_buf(seed, sizeof seed);
    br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, sizeof seed);
    if (!br_rsa_keygen_get_default()(&rng.vtable, &sk, kpriv, &pk, kpub, bits, 65537)) goto end;
    if (!(dlen = br_rsa_compute_privexp_get_default()(d, &sk, 65537))) goto end;
    len = br_encode_rsa_pkcs8_der(0, &sk, &pk, d, dlen);
    if (!len || !(der = malloc(len))) goto end;
    br_encode_rsa_pkcs8_der(der, &sk, &pk, d, dlen);
    ok = pem_out(pem, der, len, "PRIVATE KEY");
    sodium_memzero(der, len);
  end:
    free(der);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(d, sizeof d);
    sodium_memzero(kpriv, sizeof kpriv);
    sodium_memzero(&rng, sizeof rng);
    return ok;
  }
}

/* DER: a tag and length header into p; returns its size. */
static size_t der_hdr(unsigned char *p, unsigned tag, size_t len)
{
  p[0] = (unsigned char)tag;
  if (len < 128) { p[1] = (unsigned char)len; return 2; }
  if (len < 256) { p[1] = 0x81; p[2] = (unsigned char)len; return 3; }
  p[1] = 0x82; p[2] = (unsigned char)(len >> 8); p[3] = len & 255;
  return 4;
}

static size_t der_int(unsigned char *p, unsigned char const *v, size_t len)
{
  size_t h, lead;
  while (len > 1 && !v[0]) { v++; len--; }
  lead = v[0] & 0x80 ? 1 : 0;
  h = der_hdr(p, 0x02, len + lead);
  if (lead) p[h] = 0;
  memcpy(p + h + lead, v, len);
  return h + lead + len;
}

int dkim_key_record(dkim_key *k, chk_buf *out)
{
  if (k->alg == DKIM_ED25519)
    return chk_buf_puts(out, "v=DKIM1; k=ed25519; p=") && chk_b64_encode(out, k->edpk, 32);
  if (!k->nlen) {   /* n and e are computed once, here: signing never needs them */
    k->nlen = br_rsa_compute_modulus_get_default()(k->n, &k->sk);
    k->e = br_rsa_compute_pubexp_get_default()(&k->sk);
    if (!k->nlen || !k->e) { errno = EINVAL; return 0; }
  }
  {
    /* SubjectPublicKeyInfo { rsaEncryption, BIT STRING { RSAPublicKey { n, e } } } */
    unsigned char rsapub[600], bits[620], algid[20], spki[700], e[4];
    size_t rl, bl, al, sl, h;
    e[0] = (unsigned char)(k->e >> 24); e[1] = (unsigned char)(k->e >> 16);
    e[2] = (unsigned char)(k->e >> 8); e[3] = (unsigned char)k->e;
    {
      unsigned char body[590];
      size_t b = der_int(body, k->n, k->nlen);
      b += der_int(body + b, e, 4);
      h = der_hdr(rsapub, 0x30, b);
      memcpy(rsapub + h, body, b);
      rl = h + b;
    }
    h = der_hdr(bits, 0x03, rl + 1);
    bits[h] = 0;
    memcpy(bits + h + 1, rsapub, rl);
    bl = h + 1 + rl;
    memcpy(algid + 2, rsa_oid, sizeof rsa_oid);
    algid[2 + sizeof rsa_oid] = 0x05; algid[3 + sizeof rsa_oid] = 0;
    al = der_hdr(algid, 0x30, sizeof rsa_oid + 2) + sizeof rsa_oid + 2;
    h = der_hdr(spki, 0x30, al + bl);
    memcpy(spki + h, algid, al);
    memcpy(spki + h + al, bits, bl);
    sl = h + al + bl;
    return chk_buf_puts(out, "v=DKIM1; k=rsa; p=") && chk_b64_encode(out, spki, sl);
  }
}

int key_sign(dkim_key *k, unsigned char const *hash, unsigned char *out, size_t *outlen)
{
  if (k->alg == DKIM_ED25519) {
    unsigned long long l;
    if (crypto_sign_detached(out, &l, hash, 32, k->edsk)) return 0;
    *outlen = (size_t)l;
    return 1;
  }
  if (!br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hash, 32, &k->sk, out)) return 0;
  *outlen = (k->sk.n_bitlen + 7) / 8;
  return 1;
}

/* ---------------------------------------------------------------- public keys */

/* Read one DER element at *p (within end): tag and content span. 1 ok. */
static int der_get(unsigned char const **p, unsigned char const *end, unsigned tag,
                   unsigned char const **c, size_t *clen)
{
  unsigned char const *q = *p;
  size_t len;
  if (end - q < 2 || q[0] != tag) return 0;
  len = q[1];
  q += 2;
  if (len & 0x80) {
    unsigned nb = len & 0x7f;
    if (!nb || nb > 3 || (size_t)(end - q) < nb) return 0;
    len = 0;
    while (nb--) len = len << 8 | *q++;
  }
  if ((size_t)(end - q) < len) return 0;
  *c = q;
  *clen = len;
  *p = q + len;
  return 1;
}

static int rsa_pub(unsigned char const *d, size_t len, pubkey *pk)
{
  unsigned char const *p = d, *end = d + len, *c, *n, *e;
  size_t cl, nl, el;
  if (!der_get(&p, end, 0x30, &c, &cl)) return 0;
  /* SubjectPublicKeyInfo, or a bare RSAPublicKey (some publish that) */
  {
    unsigned char const *q = c, *qe = c + cl, *a, *bs;
    size_t alen, bslen;
    if (der_get(&q, qe, 0x30, &a, &alen)) {
      if (alen < sizeof rsa_oid || memcmp(a, rsa_oid, sizeof rsa_oid)) return 0;
      if (!der_get(&q, qe, 0x03, &bs, &bslen) || bslen < 1 || bs[0]) return 0;
      p = bs + 1; end = bs + bslen;
      if (!der_get(&p, end, 0x30, &c, &cl)) return 0;
    }
  }
  p = c; end = c + cl;
  if (!der_get(&p, end, 0x02, &n, &nl) || !der_get(&p, end, 0x02, &e, &el)) return 0;
  while (nl && !n[0]) { n++; nl--; }
  while (el && !e[0]) { e++; el--; }
  if (!nl || !el || nl > sizeof pk->n || el > sizeof pk->e) return 0;
  memcpy(pk->n, n, nl); pk->nlen = nl;
  memcpy(pk->e, e, el); pk->elen = el;
  pk->bits = (unsigned)nl * 8;
  for (unsigned char top = n[0]; !(top & 0x80); top <<= 1) pk->bits--;
  return 1;
}

int key_parse(char const *rec, size_t len, int alg, pubkey *pk, char *why, size_t whylen)
{
  tags tl;
  tag const *t;
  unsigned char raw[1024];
  size_t rl;
  memset(pk, 0, sizeof *pk);
  if (!tags_parse(&tl, rec, len)) { snprintf(why, whylen, "key record malformed"); return CHK_PERMERROR; }
  if ((t = tags_get(&tl, "v")) && (t != &tl.t[0] || chk_casecmpn(t->val, t->vlen, "DKIM1", 5))) {
    snprintf(why, whylen, "key record v= is not DKIM1 first"); return CHK_PERMERROR;
  }
  t = tags_get(&tl, "k");
  pk->alg = !t || !chk_casecmpn(t->val, t->vlen, "rsa", 3) ? DKIM_RSA
          : !chk_casecmpn(t->val, t->vlen, "ed25519", 7) ? DKIM_ED25519 : 0;
  if (pk->alg != alg) { snprintf(why, whylen, "key type does not match a="); return CHK_PERMERROR; }
  if ((t = tags_get(&tl, "h"))) {
    int ok = 0;
    for (size_t i = 0; i + 6 <= t->vlen; i++) if (!chk_casecmpn(t->val + i, 6, "sha256", 6)) ok = 1;
    if (!ok) { snprintf(why, whylen, "key h= does not allow sha256"); return CHK_PERMERROR; }
  }
  if ((t = tags_get(&tl, "s"))) {
    int ok = 0;
    for (size_t i = 0; i < t->vlen; i++)
      if (t->val[i] == '*' || (i + 5 <= t->vlen && !chk_casecmpn(t->val + i, 5, "email", 5))) ok = 1;
    if (!ok) { snprintf(why, whylen, "key not for email (s=)"); return CHK_PERMERROR; }
  }
  if ((t = tags_get(&tl, "t"))) {
    for (size_t i = 0; i < t->vlen; i++) {
      if (t->val[i] == 'y') pk->testing = 1;
      if (t->val[i] == 's') pk->strict = 1;
    }
  }
  if (!(t = tags_get(&tl, "p"))) { snprintf(why, whylen, "key record without p="); return CHK_PERMERROR; }
  if (!t->vlen) { snprintf(why, whylen, "key revoked"); return CHK_PERMERROR; }
  if (!chk_b64_decode(raw, sizeof raw, &rl, t->val, t->vlen)) { snprintf(why, whylen, "key p= not base64"); return CHK_PERMERROR; }
  if (alg == DKIM_ED25519) {
    if (rl != 32) { snprintf(why, whylen, "ed25519 key not 32 octets"); return CHK_PERMERROR; }
    memcpy(pk->ed, raw, 32);
    pk->bits = 256;
    return CHK_PASS;
  }
  if (!rsa_pub(raw, rl, pk)) { snprintf(why, whylen, "RSA key malformed"); return CHK_PERMERROR; }
  if (pk->bits < RSA_MIN_BITS) { snprintf(why, whylen, "RSA key of %u bits (under %u)", pk->bits, RSA_MIN_BITS); return CHK_PERMERROR; }
  if (pk->bits > RSA_MAX_BITS) { snprintf(why, whylen, "RSA key of %u bits (over %u)", pk->bits, RSA_MAX_BITS); return CHK_PERMERROR; }
  return CHK_PASS;
}

int key_fetch(chk_dns *dns, char const *domain, char const *selector, int alg, pubkey *pk,
              char *why, size_t whylen)
{
  char name[CHK_DOMAIN_MAX + 80];
  dns_result *res;
  int r = CHK_PERMERROR, st;
  if (snprintf(name, sizeof name, "%s._domainkey.%s", selector, domain) >= (int)sizeof name || !dns_name_ok(name)) {
    snprintf(why, whylen, "key name too long");
    return CHK_PERMERROR;
  }
  if (!(res = malloc(sizeof *res))) { snprintf(why, whylen, "out of memory"); return CHK_TEMPERROR; }
  st = chk_query(dns, name, DNS_T_TXT, res);
  if (st == DNS_TEMP) { snprintf(why, whylen, "key lookup failed temporarily"); r = CHK_TEMPERROR; }
  else if (st != DNS_OK || !res->n) snprintf(why, whylen, "no key for signature");
  else {
    for (unsigned i = 0; i < res->n && r != CHK_PASS; i++)
      r = key_parse((char const *)res->rr[i].data, res->rr[i].len, alg, pk, why, whylen);
  }
  free(res);
  return r;
}

int key_verify(pubkey const *pk, unsigned char const *hash, unsigned char const *b, size_t blen)
{
  if (pk->alg == DKIM_ED25519) {
    if (sodium_init() < 0 || blen != crypto_sign_BYTES) return 0;
    return !crypto_sign_verify_detached(b, hash, 32, pk->ed);
  }
  {
    br_rsa_public_key k = { (unsigned char *)pk->n, pk->nlen, (unsigned char *)pk->e, pk->elen };
    unsigned char out[32];
    if (blen != pk->nlen) return 0;
    if (!br_rsa_pkcs1_vrfy_get_default()(b, blen, BR_HASH_OID_SHA256, 32, &k, out)) return 0;
    return !memcmp(out, hash, 32);
  }
}
