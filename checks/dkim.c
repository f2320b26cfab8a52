/* DKIM: verifying the DKIM-Signature fields of a message (RFC 6376 6) and signing
 * one (RFC 6376 5), RSA-SHA256 and Ed25519-SHA256 (RFC 8463). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "int.h"

#define FUTURE_SLACK 300   /* seconds a t= may lie ahead of our clock */

static void why(dkim_sigres *r, int result, char const *w)
{
  r->result = result;
  snprintf(r->why, sizeof r->why, "%s", w);
}

static void verify_one(chk_msg const *m, sig const *s, chk_dns *dns, time_t now,
                       unsigned *lookups, dkim_sigres *r)
{
  bodyhash const *bh;
  pubkey pk;
  unsigned char hh[32];
  int kr;
  memset(r, 0, sizeof *r);
  r->alg = s->alg;
  snprintf(r->d, sizeof r->d, "%s", s->d);
  snprintf(r->s, sizeof r->s, "%s", s->s);
  snprintf(r->i, sizeof r->i, "%s", s->i);
  {
    /* header.b: the first 8 characters of b= as written (RFC 6008) */
    chk_field const *f = &m->fields[s->field];
    size_t from, to, k = 0;
    if (canon_find_b(f->raw, f->rawlen, &from, &to))
      for (size_t j = from; j < to && k < 8; j++) if (!chk_is_wsp((unsigned char)f->raw[j])) r->b[k++] = f->raw[j];
    r->b[k] = 0;
  }
  if (!s->ok) { why(r, CHK_PERMERROR, s->why); return; }
  if (s->x >= 0 && s->x < (int64_t)now) { why(r, CHK_PERMERROR, "signature expired (x=)"); return; }
  if (s->t > (int64_t)now + FUTURE_SLACK) { why(r, CHK_PERMERROR, "signature from the future (t=)"); return; }
  bh = &m->hashers[s->hasher];
  if (s->l >= 0 && (uint64_t)s->l > m->canon[s->brelaxed].total) { why(r, CHK_PERMERROR, "l= longer than the body"); return; }
  if (memcmp(bh->digest, s->bh, 32)) { r->bodyfail = 1; why(r, CHK_FAIL, "body hash did not verify"); return; }
  if (++*lookups > DKIM_VERIFY_MAX) { why(r, CHK_POLICY, "too many signatures to verify"); return; }
  kr = key_fetch(dns, s->d, s->s, s->alg, &pk, r->why, sizeof r->why);
  if (kr != CHK_PASS) { r->result = kr; return; }
  r->keybits = pk.bits;
  if (pk.strict && s->i[0]) {
    char const *at = strchr(s->i, '@');
    if (!at || strcmp(at + 1, s->d)) { why(r, CHK_PERMERROR, "key t=s and i= is a subdomain"); return; }
  }
  sig_header_hash(m, s, hh);
  if (!key_verify(&pk, hh, s->b, s->blen)) { r->headerfail = 1; why(r, CHK_FAIL, "signature did not verify"); return; }
  if (s->l >= 0 && (uint64_t)s->l < m->canon[s->brelaxed].total) {
    /* content after the signed part could be anything: not a pass (RFC 6376 8.2) */
    snprintf(r->why, sizeof r->why, "l= leaves %llu body octets unsigned",
             (unsigned long long)(m->canon[s->brelaxed].total - (uint64_t)s->l));
    r->result = CHK_POLICY;
    return;
  }
  r->result = CHK_PASS;
}

/* The best of results, for the summary: pass, then temperror, fail, policy, permerror. */
static int rank(int r)
{
  switch (r) {
  case CHK_PASS: return 6;
  case CHK_TEMPERROR: return 5;
  case CHK_FAIL: return 4;
  case CHK_POLICY: return 3;
  case CHK_PERMERROR: return 2;
  case CHK_NEUTRAL: return 1;
  default: return 0;
  }
}

int dkim_verify(chk_msg const *m, chk_dns *dns, time_t now, dkim_results *out)
{
  unsigned lookups = 0;
  int best = CHK_NONE;
  out->n = 0;
  out->ignored = m->ignored;
  if (m->overflow) {
    memset(&out->sig[0], 0, sizeof out->sig[0]);
    why(&out->sig[0], CHK_PERMERROR, "header too large to verify");
    out->n = 1;
    return CHK_PERMERROR;
  }
  for (unsigned k = 0; k < m->nsigs; k++) {
    dkim_sigres *r = &out->sig[out->n++];
    verify_one(m, &m->sigs[k], dns, now, &lookups, r);
    if (rank(r->result) > rank(best)) best = r->result;
  }
  return best;
}

/* ---------------------------------------------------------------- signing */

static char const *const signed_fields[] = {
  "from", "to", "cc", "subject", "date", "reply-to", "message-id", "mime-version",
  "content-type", "content-transfer-encoding", "in-reply-to", "references", 0
};

/* Fill s->h with the fields to sign: each present name as many times as it occurs,
 * and From, Subject, Date once more (over-signing: no field of that name can be
 * added later without breaking the signature). extra: also every field of that name
 * (ARC: DKIM-Signature). Returns 0 without From. */
int sign_fields(chk_msg const *m, sig *s, char const *extra)
{
  int from = 0;
  s->nh = 0;
  for (int k = 0; signed_fields[k] || extra; k++) {
    char const *name = signed_fields[k] ? signed_fields[k] : extra;
    unsigned count = 0;
    for (unsigned f = 0; f < m->nfields; f++) if (chk_field_is(&m->fields[f], name)) count++;
    if (!strcmp(name, "from")) from = count > 0;
    if (!strcmp(name, "from") || !strcmp(name, "subject") || !strcmp(name, "date")) count++;
    while (count-- && s->nh < DKIM_H_MAX) {
      s->h[s->nh].p = name;
      s->h[s->nh].len = strlen(name);
      s->nh++;
    }
    if (!signed_fields[k]) break;
  }
  return from;
}

/* The common tokens of a DKIM-Signature or an ARC-Message-Signature into tok (with
 * their text in store): first, a=, c=, d=, s=, t=, h= names, bh=, b=. */
int sign_tokens(chk_msg const *m, dkim_key *key, sig const *s, char const *first, time_t now,
                char store[][80], char const **tok, unsigned *ntok)
{
  chk_buf bh = CHK_BUF_ZERO;
  unsigned n = 0;
  if (!chk_b64_encode(&bh, m->hashers[m->sign_hasher].digest, 32) || bh.len > 60) { chk_buf_free(&bh); return 0; }
  for (unsigned j = 0; j < s->nh; j++) if (s->h[j].len > 60) { chk_buf_free(&bh); return 0; }
  snprintf(store[n], 80, "%s", first); tok[n] = store[n]; n++;
  snprintf(store[n], 80, "a=%s;", dkim_key_alg(key) == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256"); tok[n] = store[n]; n++;
  snprintf(store[n], 80, "c=relaxed/relaxed;"); tok[n] = store[n]; n++;
  if (snprintf(store[n], 80, "d=%s;", dkim_key_domain(key)) >= 80) { chk_buf_free(&bh); return 0; }
  tok[n] = store[n]; n++;
  snprintf(store[n], 80, "s=%s;", dkim_key_selector(key)); tok[n] = store[n]; n++;
  snprintf(store[n], 80, "t=%lld;", (long long)now); tok[n] = store[n]; n++;
  /* h= names grouped into tokens of at most 72 octets: folds fall between them */
  for (unsigned j = 0; j < s->nh;) {
    size_t o = (size_t)snprintf(store[n], 80, "%s", j ? "" : "h=");
    while (j < s->nh && o + s->h[j].len + 1 <= 72) {
      o += (size_t)snprintf(store[n] + o, 80 - o, "%.*s%s", (int)s->h[j].len, s->h[j].p, j + 1 < s->nh ? ":" : ";");
      j++;
    }
    if (o <= 2) return 0;                 /* a name longer than a line: not ours */
    tok[n] = store[n]; n++;
  }
  snprintf(store[n], 80, "bh=%s;", bh.s); tok[n] = store[n]; n++;
  tok[n++] = "b=";
  chk_buf_free(&bh);
  *ntok = n;
  return 1;
}

int dkim_sign(chk_msg const *m, dkim_key *const *keys, unsigned nkeys, time_t now,
              char const *eol, chk_buf *out)
{
  sig s;           /* about 3 KB: h= names and a b= buffer */
  char store[DKIM_H_MAX + 12][80];
  char const *tok[DKIM_H_MAX + 12];
  unsigned ntok;
  if (!m->ended || m->sign_hasher < 0 || m->overflow) { errno = EINVAL; return 0; }
  memset(&s, 0, sizeof s);
  s.hrelaxed = 1;
  if (!sign_fields(m, &s, 0)) { errno = EINVAL; return 0; }
  for (unsigned k = 0; k < nkeys; k++) {
    br_sha256_context sha;
    if (!sign_tokens(m, keys[k], &s, "v=1;", now, store, tok, &ntok)) return 0;
    br_sha256_init(&sha);
    sig_hash_fields(m, &s, &sha);
    if (!sig_emit(&sha, keys[k], "DKIM-Signature", tok, ntok, eol, out)) return 0;
  }
  return 1;
}
