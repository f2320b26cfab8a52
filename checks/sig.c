/* Signature fields: DKIM-Signature (RFC 6376 3.5), ARC-Message-Signature and
 * ARC-Seal (RFC 8617 4.1): parsing, the header hash they cover, and writing one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int.h"

static void bad(sig *s, char const *why)
{
  s->ok = 0;
  s->result = CHK_PERMERROR;
  snprintf(s->why, sizeof s->why, "%s", why);
}

/* A decimal of at most 18 digits (RFC 6376 allows 12 for t/x and 76 for l: larger
 * values are refused rather than wrapped). -1 if not a number. */
static int64_t num(tag const *t)
{
  int64_t v = 0;
  if (!t->vlen || t->vlen > 18) return -1;
  for (size_t i = 0; i < t->vlen; i++) {
    if (t->val[i] < '0' || t->val[i] > '9') return -1;
    v = v * 10 + (t->val[i] - '0');
  }
  return v;
}

static int is(tag const *t, char const *v) { return !chk_casecmpn(t->val, t->vlen, v, strlen(v)); }

void sig_parse(sig *s, int kind, char const *value, size_t len)
{
  tags tl;
  tag const *t;
  size_t n;
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->l = s->t = s->x = -1;
  s->hasher = -1;
  s->result = CHK_PERMERROR;
  if (!tags_parse(&tl, value, len)) { bad(s, "signature tag list malformed"); return; }
  for (unsigned k = 0; k < tl.n; k++)
    if (tl.t[k].vlen > DKIM_TAG_MAX) { bad(s, "signature tag too long"); return; }
  if (kind == SIG_DKIM) {
    if (!(t = tags_get(&tl, "v")) || !is(t, "1")) { bad(s, "v= missing or not 1"); return; }
  } else {
    int64_t i = (t = tags_get(&tl, "i")) ? num(t) : -1;
    if (i < 1 || i > ARC_MAX) { bad(s, "i= missing or out of range"); return; }
    s->inst = (unsigned)i;
  }
  if (!(t = tags_get(&tl, "d")) || !chk_copy_lower(s->d, sizeof s->d, t->val, t->vlen) || !chk_domain_ok(s->d, 0)) {
    bad(s, "d= missing or not a domain"); return;
  }
  if (!(t = tags_get(&tl, "s")) || !chk_copy_lower(s->s, sizeof s->s, t->val, t->vlen) || !chk_domain_ok(s->s, 1)) {
    bad(s, "s= missing or not a selector"); return;
  }
  if (!(t = tags_get(&tl, "a"))) { bad(s, "a= missing"); return; }
  if (is(t, "rsa-sha256")) s->alg = DKIM_RSA;
  else if (is(t, "ed25519-sha256")) s->alg = DKIM_ED25519;
  else if (is(t, "rsa-sha1")) { bad(s, "rsa-sha1 is not accepted (RFC 8301)"); return; }
  else { bad(s, "unknown algorithm"); return; }
  if (!(t = tags_get(&tl, "b")) || !chk_b64_decode(s->b, sizeof s->b, &s->blen, t->val, t->vlen) || !s->blen) {
    bad(s, "b= missing or not base64"); return;
  }
  if ((t = tags_get(&tl, "t"))) { if ((s->t = num(t)) < 0) { bad(s, "t= not a number"); return; } }
  if (kind == SIG_AS) {
    if (tags_get(&tl, "h") || tags_get(&tl, "bh") || tags_get(&tl, "l")) { bad(s, "ARC-Seal with h=, bh= or l="); return; }
    if (!(t = tags_get(&tl, "cv"))) { bad(s, "cv= missing"); return; }
    if (is(t, "none")) s->cv = CHK_NONE;
    else if (is(t, "pass")) s->cv = CHK_PASS;
    else if (is(t, "fail")) s->cv = CHK_FAIL;
    else { bad(s, "cv= unknown"); return; }
    s->hrelaxed = 1;
    s->ok = 1;
    s->result = CHK_NONE;
    return;
  }
  if (!(t = tags_get(&tl, "bh")) || !chk_b64_decode(s->bh, sizeof s->bh, &n, t->val, t->vlen) || n != 32) {
    bad(s, "bh= missing or not a SHA-256 hash"); return;
  }
  if ((t = tags_get(&tl, "c"))) {
    char const *sl = memchr(t->val, '/', t->vlen);
    size_t hl = sl ? (size_t)(sl - t->val) : t->vlen;
    if (!chk_casecmpn(t->val, hl, "relaxed", 7)) s->hrelaxed = 1;
    else if (chk_casecmpn(t->val, hl, "simple", 6)) { bad(s, "c= unknown"); return; }
    if (sl) {
      size_t bl = t->vlen - hl - 1;
      if (!chk_casecmpn(sl + 1, bl, "relaxed", 7)) s->brelaxed = 1;
      else if (chk_casecmpn(sl + 1, bl, "simple", 6)) { bad(s, "c= unknown"); return; }
    }
  }
  if (!(t = tags_get(&tl, "h")) || !t->vlen) { bad(s, "h= missing"); return; }
  {
    size_t i = 0;
    int from = 0;
    while (i < t->vlen) {
      size_t a = i, e;
      while (a < t->vlen && chk_is_wsp((unsigned char)t->val[a])) a++;
      e = a;
      while (e < t->vlen && t->val[e] != ':') e++;
      i = e + 1;
      while (e > a && chk_is_wsp((unsigned char)t->val[e - 1])) e--;
      if (e == a) { bad(s, "h= has an empty name"); return; }
      if (s->nh >= DKIM_H_MAX) { bad(s, "h= names too many fields"); return; }
      s->h[s->nh].p = t->val + a;
      s->h[s->nh].len = e - a;
      if (!chk_casecmpn(t->val + a, e - a, "from", 4)) from = 1;
      if (kind == SIG_AMS && !chk_casecmpn(t->val + a, e - a, "arc-seal", 8)) { bad(s, "AMS signs ARC-Seal"); return; }
      s->nh++;
    }
    if (kind == SIG_DKIM && !from) { bad(s, "h= does not sign From"); return; }
  }
  if ((t = tags_get(&tl, "l"))) { if ((s->l = num(t)) < 0) { bad(s, "l= not a number"); return; } }
  if ((t = tags_get(&tl, "x"))) { if ((s->x = num(t)) < 0) { bad(s, "x= not a number"); return; } }
  if (s->t >= 0 && s->x >= 0 && s->x < s->t) { bad(s, "x= before t="); return; }
  if ((t = tags_get(&tl, "q"))) {
    /* q= lists methods; dns/txt must be among them */
    int ok = 0;
    for (size_t i = 0; i + 7 <= t->vlen; i++) if (!chk_casecmpn(t->val + i, 7, "dns/txt", 7)) ok = 1;
    if (!ok) { bad(s, "q= without dns/txt"); return; }
  }
  if (kind == SIG_DKIM && (t = tags_get(&tl, "i"))) {
    char const *at = memchr(t->val, '@', t->vlen);
    if (!at || !chk_copy_lower(s->i, sizeof s->i, t->val, t->vlen)) { bad(s, "i= malformed"); return; }
    if (!chk_domain_under(s->i + (at - t->val) + 1, s->d)) { bad(s, "i= not within d="); return; }
  }
  s->ok = 1;
  s->result = CHK_NONE;
}

void sig_hash_fields(chk_msg const *m, sig const *s, br_sha256_context *sha)
{
  for (unsigned j = 0; j < s->nh; j++) {
    unsigned skip = 0;
    /* the k-th occurrence of a name in h= takes the k-th field from the bottom;
     * a name without (more) fields contributes nothing (RFC 6376 5.4.2) */
    for (unsigned p = 0; p < j; p++)
      if (!chk_casecmpn(s->h[p].p, s->h[p].len, s->h[j].p, s->h[j].len)) skip++;
    for (unsigned k = m->nfields; k-- > 0;) {
      chk_field const *f = &m->fields[k];
      if (chk_casecmpn(f->name, f->namelen, s->h[j].p, s->h[j].len)) continue;
      if (skip) { skip--; continue; }
      canon_header(sha, f->raw, f->rawlen, s->hrelaxed, 0, 0, 0);
      break;
    }
  }
}

void sig_header_hash(chk_msg const *m, sig const *s, unsigned char out[32])
{
  br_sha256_context sha;
  size_t from = 0, to = 0;
  chk_field const *self = &m->fields[s->field];
  br_sha256_init(&sha);
  sig_hash_fields(m, s, &sha);
  canon_find_b(self->raw, self->rawlen, &from, &to);
  canon_header(&sha, self->raw, self->rawlen, s->hrelaxed, 1, from, to);
  br_sha256_out(&sha, out);
}

int sig_emit(br_sha256_context *sha, dkim_key *key, char const *name,
             char const *const *tokens, unsigned ntokens, char const *eol, chk_buf *out)
{
  chk_buf f = CHK_BUF_ZERO, b = CHK_BUF_ZERO;
  unsigned char hash[32], sg[512];
  size_t col, sglen, start = out->len, from, to;
  int ok = 0;
  if (!chk_buf_puts(&f, name) || !chk_buf_puts(&f, ":")) goto end;
  col = f.len;
  for (unsigned k = 0; k < ntokens; k++) {
    size_t tl = strlen(tokens[k]);
    if (col + 1 + tl > 78 && col > 1) {
      if (!chk_buf_puts(&f, eol) || !chk_buf_puts(&f, "\t")) goto end;
      col = 1;
    } else {
      if (!chk_buf_puts(&f, " ")) goto end;
      col++;
    }
    if (!chk_buf_put(&f, tokens[k], tl)) goto end;
    col += tl;
  }
  /* the field as it will be, without the b= value: hash it */
  from = to = f.len;
  canon_header(sha, f.s, f.len, 1, 1, from, to);
  br_sha256_out(sha, hash);
  if (!key_sign(key, hash, sg, &sglen) || !chk_b64_encode(&b, sg, sglen)) goto end;
  for (size_t i = 0; i < b.len;) {
    size_t room = col < 76 ? 76 - col : 0, k = b.len - i < room ? b.len - i : room;
    if (!k) {
      if (!chk_buf_puts(&f, eol) || !chk_buf_puts(&f, "\t")) goto end;
      col = 1;
      continue;
    }
    if (!chk_buf_put(&f, b.s + i, k)) goto end;
    i += k;
    col += k;
  }
  if (!chk_buf_put(out, f.s, f.len) || !chk_buf_puts(out, eol)) { out->len = start; goto end; }
  ok = 1;
end:
  chk_buf_free(&f);
  chk_buf_free(&b);
  return ok;
}
