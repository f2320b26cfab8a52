/* ARC (RFC 8617): validating the chain of a received message (5.2) and sealing a
 * message we forward (5.1): ARC-Authentication-Results, ARC-Message-Signature,
 * ARC-Seal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "int.h"

static int why(arc_out *o, int cv, char const *w)
{
  o->cv = cv;
  snprintf(o->why, sizeof o->why, "%s", w);
  return cv;
}

/* The hash the ARC-Seal of instance n signs: every set 1..n (AAR, AMS, AS), relaxed,
 * the seal itself last without its b= value. */
static void seal_hash(chk_msg const *m, unsigned n, unsigned char out[32])
{
  br_sha256_context sha;
  br_sha256_init(&sha);
  for (unsigned i = 1; i <= n; i++) {
    chk_field const *f = &m->fields[m->aar[i - 1] - 1];
    canon_header(&sha, f->raw, f->rawlen, 1, 0, 0, 0);
    f = &m->fields[m->ams[i - 1].field];
    canon_header(&sha, f->raw, f->rawlen, 1, 0, 0, 0);
    f = &m->fields[m->as[i - 1].field];
    if (i < n) canon_header(&sha, f->raw, f->rawlen, 1, 0, 0, 0);
    else {
      size_t from = 0, to = 0;
      canon_find_b(f->raw, f->rawlen, &from, &to);
      canon_header(&sha, f->raw, f->rawlen, 1, 1, from, to);
    }
  }
  br_sha256_out(&sha, out);
}

/* Verify one signature (AMS or AS) given its hash. CHK_PASS, CHK_FAIL, CHK_TEMPERROR. */
static int verify_sig(chk_dns *dns, sig const *s, unsigned char const *hash, char *w, size_t wl)
{
  pubkey pk;
  int kr = key_fetch(dns, s->d, s->s, s->alg, &pk, w, wl);
  if (kr != CHK_PASS) return kr == CHK_TEMPERROR ? CHK_TEMPERROR : CHK_FAIL;
  if (!key_verify(&pk, hash, s->b, s->blen)) { snprintf(w, wl, "signature did not verify"); return CHK_FAIL; }
  return CHK_PASS;
}

static int set_present(chk_msg const *m, unsigned i)
{
  return m->aar[i] || (m->ams && m->ams[i].inst) || (m->as && m->as[i].inst);
}

unsigned arc_count(chk_msg const *m)
{
  unsigned n = 0;
  for (unsigned i = 0; i < ARC_MAX; i++) if (set_present(m, i)) n = i + 1;
  return n;
}

int arc_verify(chk_msg const *m, chk_dns *dns, time_t now, arc_out *o)
{
  unsigned n;
  unsigned char h[32];
  char w[96];
  int r;
  (void)now;
  memset(o, 0, sizeof *o);
  n = o->n = arc_count(m);
  if (!n && !m->arc_bad) return why(o, CHK_NONE, "no ARC sets");
  if (m->overflow) return why(o, CHK_FAIL, "header too large");
  if (m->arc_bad) return why(o, CHK_FAIL, "ARC fields with a bad or repeated i=");
  for (unsigned i = 0; i < n; i++) {
    if (!m->aar[i] || !m->ams || !m->ams[i].inst || !m->as || !m->as[i].inst)
      return why(o, CHK_FAIL, "an ARC set is incomplete");
    if (!m->as[i].ok) return why(o, CHK_FAIL, m->as[i].why);
    if (m->as[i].cv != (i ? CHK_PASS : CHK_NONE)) return why(o, CHK_FAIL, "cv= breaks the chain");
  }
  /* the newest AMS must verify (body and header) */
  {
    sig const *s = &m->ams[n - 1];
    if (!s->ok) return why(o, CHK_FAIL, s->why);
    if (memcmp(m->hashers[s->hasher].digest, s->bh, 32)) return why(o, CHK_FAIL, "newest ARC-Message-Signature: body hash did not verify");
    sig_header_hash(m, s, h);
    if ((r = verify_sig(dns, s, h, w, sizeof w)) != CHK_PASS) return why(o, r, w);
  }
  /* every seal, newest first */
  for (unsigned i = n; i >= 1; i--) {
    sig const *s = &m->as[i - 1];
    seal_hash(m, i, h);
    if ((r = verify_sig(dns, s, h, w, sizeof w)) != CHK_PASS) {
      char w2[96];
      snprintf(w2, sizeof w2, "ARC-Seal i=%u: %s", i, w);
      return why(o, r, w2);
    }
  }
  snprintf(o->sealer, sizeof o->sealer, "%s", m->as[n - 1].d);
  return why(o, CHK_PASS, "");
}

int arc_seal(chk_msg const *m, dkim_key *key, arc_out const *in, char const *authres,
             time_t now, char const *eol, chk_buf *out)
{
  sig s;
  char store[DKIM_H_MAX + 12][80], inst[24], cv[24], a[40], t[40], d[CHK_DOMAIN_MAX + 8], sl[80];
  char const *tok[DKIM_H_MAX + 12];
  unsigned ntok, n;
  chk_buf aar = CHK_BUF_ZERO, ams = CHK_BUF_ZERO, as = CHK_BUF_ZERO;
  br_sha256_context sha;
  int ok = 0;
  if (!m->ended || m->sign_hasher < 0 || m->overflow || !in ||
      (in->cv != CHK_NONE && in->cv != CHK_PASS) || in->n >= ARC_MAX ||
      dkim_key_alg(key) != DKIM_RSA) { errno = EINVAL; return 0; }   /* 8617 defines rsa-sha256 only */
  n = in->cv == CHK_NONE ? 1 : in->n + 1;
  if ((in->cv == CHK_NONE) != !in->n) { errno = EINVAL; return 0; }
  /* the sets below ours must all be there, and none above: the chain hashed below
   * reads each of them (a caller's cv may not match the message it gives) */
  if (m->arc_bad) { errno = EINVAL; return 0; }
  for (unsigned i = 0; i < ARC_MAX; i++) {
    int whole = m->aar[i] && m->ams && m->ams[i].inst && m->as && m->as[i].inst;
    if (i + 1 < n ? !whole : set_present(m, i)) { errno = EINVAL; return 0; }
  }
  snprintf(inst, sizeof inst, "i=%u;", n);
  /* ARC-Authentication-Results: i=n; <authres> */
  {
    chk_buf pl = CHK_BUF_ZERO;
    int k = chk_buf_puts(&pl, inst) && chk_buf_puts(&pl, " ") && chk_buf_puts(&pl, authres) &&
            chk_fold(&aar, "ARC-Authentication-Results", pl.s, eol);
    chk_buf_free(&pl);
    if (!k) goto end;
    aar.len -= strlen(eol);
  }
  /* ARC-Message-Signature: as DKIM, with i= for v=, DKIM-Signature fields signed too */
  memset(&s, 0, sizeof s);
  s.hrelaxed = 1;
  if (!sign_fields(m, &s, "dkim-signature")) { errno = EINVAL; goto end; }
  if (!sign_tokens(m, key, &s, inst, now, store, tok, &ntok)) goto end;
  br_sha256_init(&sha);
  sig_hash_fields(m, &s, &sha);
  if (!sig_emit(&sha, key, "ARC-Message-Signature", tok, ntok, eol, &ams)) goto end;
  ams.len -= strlen(eol);                     /* raw field without its line end */
  /* ARC-Seal over the sets */
  snprintf(cv, sizeof cv, "cv=%s;", n == 1 ? "none" : "pass");
  snprintf(a, sizeof a, "a=%s;", dkim_key_alg(key) == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256");
  snprintf(t, sizeof t, "t=%lld;", (long long)now);
  snprintf(d, sizeof d, "d=%s;", dkim_key_domain(key));
  snprintf(sl, sizeof sl, "s=%s;", dkim_key_selector(key));
  {
    char const *st[] = { inst, a, t, cv, d, sl, "b=" };
    /* the seal's own text first (without b= value), to hash the chain with it */
    br_sha256_init(&sha);
    for (unsigned i = 1; i < n; i++) {
      chk_field const *f = &m->fields[m->aar[i - 1] - 1];
      canon_header(&sha, f->raw, f->rawlen, 1, 0, 0, 0);
      f = &m->fields[m->ams[i - 1].field];
      canon_header(&sha, f->raw, f->rawlen, 1, 0, 0, 0);
      f = &m->fields[m->as[i - 1].field];
      canon_header(&sha, f->raw, f->rawlen, 1, 0, 0, 0);
    }
    canon_header(&sha, aar.s, aar.len, 1, 0, 0, 0);
    canon_header(&sha, ams.s, ams.len, 1, 0, 0, 0);
    if (!sig_emit(&sha, key, "ARC-Seal", st, 7, eol, &as)) goto end;
  }
  if (!chk_buf_put(out, as.s, as.len) || !chk_buf_put(out, ams.s, ams.len) || !chk_buf_puts(out, eol) ||
      !chk_buf_put(out, aar.s, aar.len) || !chk_buf_puts(out, eol)) goto end;
  ok = 1;
end:
  chk_buf_free(&aar);
  chk_buf_free(&ams);
  chk_buf_free(&as);
  return ok;
}
