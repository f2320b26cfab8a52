/* The message as the checks read it: the header kept and indexed, the body streamed
 * through the canonicalizations (RFC 6376 3.4.3, 3.4.4) into the body hashes that
 * the header's signatures ask for, each (canonicalization, l=) hashed once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "int.h"

chk_msg *chk_msg_new(int flags)
{
  chk_msg *m = calloc(1, sizeof *m);
  if (!m) return 0;
  m->flags = flags;
  m->eol_state = 1;          /* the message starts at a line start */
  m->sign_hasher = -1;
  m->canon[1].relaxed = 1;
  return m;
}

void chk_msg_free(chk_msg *m)
{
  if (!m) return;
  free(m->hdr);
  free(m->fields);
  free(m->sigs);
  free(m->ams);
  free(m->as);
  free(m->hashers);
  free(m);
}

int chk_field_is(chk_field const *f, char const *name)
{
  return !chk_casecmpn(f->name, f->namelen, name, strlen(name));
}

char const *chk_field_value(chk_field const *f, size_t *len)
{
  char const *c = memchr(f->raw, ':', f->rawlen);
  if (!c) { *len = 0; return f->raw + f->rawlen; }
  *len = f->rawlen - (size_t)(c + 1 - f->raw);
  return c + 1;
}

chk_field const *chk_msg_fields(chk_msg const *m, unsigned *n) { *n = m->nfields; return m->fields; }
int chk_msg_header_overflow(chk_msg const *m) { return m->overflow; }

/* A body hash for (relaxed, limit): the index of an existing one or a new one. */
static int hasher(chk_msg *m, int relaxed, int64_t limit)
{
  for (unsigned i = 0; i < m->nhashers; i++)
    if (m->hashers[i].relaxed == relaxed && m->hashers[i].limit == limit) return (int)i;
  if (m->nhashers >= HASHERS_MAX) return -1;
  bodyhash *h = &m->hashers[m->nhashers];
  memset(h, 0, sizeof *h);
  h->relaxed = relaxed;
  h->limit = limit;
  br_sha256_init(&h->sha);
  m->canon[relaxed].on = 1;
  return (int)m->nhashers++;
}

/* Split the header into fields. */
static int index_fields(chk_msg *m)
{
  size_t i = 0, cap = 64;
  if (!(m->fields = malloc(cap * sizeof *m->fields))) return 0;
  while (i < m->hlen && m->nfields < CHK_FIELDS_MAX) {
    size_t s = i, e, c;
    /* a field runs until a line end followed by something other than WSP */
    for (e = i; e < m->hlen; e++)
      if (m->hdr[e] == '\n' && (e + 1 >= m->hlen || (m->hdr[e + 1] != ' ' && m->hdr[e + 1] != '\t'))) break;
    i = e < m->hlen ? e + 1 : e;
    if (e > s && m->hdr[e - 1] == '\r' && e < m->hlen) e--;
    if (m->nfields == cap) {
      chk_field *p = realloc(m->fields, (cap *= 2) * sizeof *p);
      if (!p) return 0;
      m->fields = p;
    }
    chk_field *f = &m->fields[m->nfields];
    f->raw = m->hdr + s;
    f->rawlen = e - s;
    for (c = s; c < e && m->hdr[c] != ':'; c++) ;
    f->name = m->hdr + s;
    f->namelen = 0;
    if (c < e) {
      size_t ne = c;
      while (ne > s && (m->hdr[ne - 1] == ' ' || m->hdr[ne - 1] == '\t')) ne--;
      f->namelen = ne - s;
    }
    if (!f->namelen) continue;           /* not a field (no name): ignored */
    m->nfields++;
  }
  return 1;
}

/* The header is complete: find the signatures and set up the body hashes. */
static int header_done(chk_msg *m)
{
  m->inbody = 1;
  if (!index_fields(m)) return 0;
  if (!(m->hashers = calloc(HASHERS_MAX, sizeof *m->hashers))) return 0;
  if (m->flags & CHK_MSG_SIGN) m->sign_hasher = hasher(m, 1, -1);
  if (m->overflow) return 1;                 /* nothing can be verified */
  for (unsigned k = 0; k < m->nfields; k++) {
    chk_field const *f = &m->fields[k];
    int kind = chk_field_is(f, "DKIM-Signature") ? SIG_DKIM
             : chk_field_is(f, "ARC-Message-Signature") ? SIG_AMS
             : chk_field_is(f, "ARC-Seal") ? SIG_AS : -1;
    size_t vl;
    char const *v = chk_field_value(f, &vl);
    sig *s;
    if (kind < 0) {
      if (chk_field_is(f, "ARC-Authentication-Results")) {
        /* i= comes first: "i=N; authserv-id; ..." */
        unsigned inst = 0;
        size_t j = 0;
        while (j < vl && chk_is_wsp((unsigned char)v[j])) j++;
        if (j + 2 <= vl && v[j] == 'i') {
          j++;
          while (j < vl && chk_is_wsp((unsigned char)v[j])) j++;
          if (j < vl && v[j] == '=') {
            j++;
            while (j < vl && chk_is_wsp((unsigned char)v[j])) j++;
            while (j < vl && v[j] >= '0' && v[j] <= '9' && inst <= ARC_MAX) inst = inst * 10 + (unsigned)(v[j++] - '0');
          }
        }
        if (!inst || inst > ARC_MAX || m->aar[inst - 1]) m->arc_bad = 1;
        else { m->aar[inst - 1] = k + 1; m->naar++; }
      }
      continue;
    }
    if (kind == SIG_DKIM) {
      if (m->nsigs >= DKIM_SIG_MAX) { m->ignored++; continue; }
      if (!m->sigs && !(m->sigs = calloc(DKIM_SIG_MAX, sizeof *m->sigs))) return 0;
      s = &m->sigs[m->nsigs++];
    } else {
      sig tmp;
      sig **arr = kind == SIG_AMS ? &m->ams : &m->as;
      sig_parse(&tmp, kind, v, vl);
      if (!tmp.inst || tmp.inst > ARC_MAX) { m->arc_bad = 1; continue; }
      if (!*arr && !(*arr = calloc(ARC_MAX, sizeof **arr))) return 0;
      s = &(*arr)[tmp.inst - 1];
      if (s->inst) { m->arc_bad = 1; continue; }   /* two of one instance */
      if (kind == SIG_AMS) m->nams++; else m->nas++;
      *s = tmp;
      s->field = k;
      s->hasher = -1;
      if (s->ok && kind == SIG_AMS) s->hasher = hasher(m, s->brelaxed, s->l);
      continue;
    }
    sig_parse(s, kind, v, vl);
    s->field = k;
    s->hasher = -1;
    if (s->ok) s->hasher = hasher(m, s->brelaxed, s->l);
  }
  return 1;
}

/* Hand canonical body octets to the hashes of one canonicalization. */
static void emit(chk_msg *m, int relaxed, char const *p, size_t n)
{
  for (unsigned i = 0; i < m->nhashers; i++) {
    bodyhash *h = &m->hashers[i];
    size_t k = n;
    if (h->relaxed != relaxed) continue;
    if (h->limit >= 0) {
      uint64_t room = (uint64_t)h->limit > h->hashed ? (uint64_t)h->limit - h->hashed : 0;
      if (k > room) k = (size_t)room;
    }
    if (k) br_sha256_update(&h->sha, p, k);
    h->hashed += k;
  }
  m->canon[relaxed].total += n;
}

#define OUTBUF 4096
typedef struct { chk_msg *m; int relaxed; size_t n; char b[OUTBUF]; } out_t;
static void out1(out_t *o, char c)
{
  if (o->n == OUTBUF) { emit(o->m, o->relaxed, o->b, o->n); o->n = 0; }
  o->b[o->n++] = c;
}
static void out_crlfs(out_t *o, uint64_t k) { while (k--) { out1(o, '\r'); out1(o, '\n'); } }

/* Body octets through one canonicalization, as a state machine over lines. */
static void canon_body(chk_msg *m, bcanon *c, char const *p, size_t n, int end)
{
  out_t o;
  o.m = m; o.relaxed = c->relaxed; o.n = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    if (ch == '\n') {                     /* line end: LF or CRLF */
      c->cr = 0;
      c->wsp = 0;
      if (c->content) out_crlfs(&o, 1); else c->pending++;
      c->content = 0;
      continue;
    }
    if (c->cr) {                          /* a CR not before LF is content */
      c->cr = 0;
      if (!c->content) { out_crlfs(&o, c->pending); c->pending = 0; c->content = 1; }
      if (c->relaxed && c->wsp) { out1(&o, ' '); c->wsp = 0; }
      out1(&o, '\r');
    }
    if (ch == '\r') { c->cr = 1; continue; }
    if (c->relaxed && (ch == ' ' || ch == '\t')) { c->wsp = 1; continue; }
    if (!c->content) { out_crlfs(&o, c->pending); c->pending = 0; c->content = 1; }
    if (c->wsp) { out1(&o, ' '); c->wsp = 0; }
    out1(&o, ch);
  }
  if (end) {
    if (c->cr) {
      if (!c->content) { out_crlfs(&o, c->pending); c->pending = 0; c->content = 1; }
      if (c->relaxed && c->wsp) out1(&o, ' ');
      out1(&o, '\r');
    }
    if (c->content) out_crlfs(&o, 1);    /* a last line without its line end gets one */
    else if (!c->relaxed && !c->total && !o.n) out_crlfs(&o, 1);   /* simple: empty body is CRLF */
  }
  if (o.n) emit(m, c->relaxed, o.b, o.n);
}

static void body(chk_msg *m, char const *p, size_t n, int end)
{
  for (int k = 0; k < 2; k++) if (m->canon[k].on) canon_body(m, &m->canon[k], p, n, end);
}

static int hdr_put(chk_msg *m, char const *p, size_t n)
{
  if (m->overflow) return 1;
  if (m->hlen + n > CHK_HEADER_MAX) { m->overflow = 1; return 1; }
  if (m->hlen + n > m->hcap) {
    size_t cap = m->hcap ? m->hcap : 8192;
    char *q;
    while (cap < m->hlen + n) cap *= 2;
    if (cap > CHK_HEADER_MAX) cap = CHK_HEADER_MAX;
    if (!(q = realloc(m->hdr, cap))) return 0;
    m->hdr = q;
    m->hcap = cap;
  }
  memcpy(m->hdr + m->hlen, p, n);
  m->hlen += n;
  return 1;
}

int chk_msg_feed(chk_msg *m, char const *p, size_t n)
{
  size_t i = 0;
  if (m->ended) { errno = EINVAL; return 0; }
  if (!m->inbody) {
    /* The header ends at an empty line (LF LF or LF CR LF); the empty line belongs
     * to neither part. eol_state: 1 at a line start, 2 there after a CR, 0 inside. */
    int done = 0;
    for (; i < n && !done; i++) {
      char c = p[i];
      if (m->eol_state >= 1 && c == '\n') { done = 1; continue; }
      if (m->eol_state == 1 && c == '\r') { m->eol_state = 2; continue; }
      if (m->eol_state == 2 && !hdr_put(m, "\r", 1)) return 0;  /* that CR was text */
      if (!hdr_put(m, &c, 1)) return 0;
      m->eol_state = c == '\n' ? 1 : 0;
    }
    if (!done) return 1;
    if (!header_done(m)) return 0;
  }
  if (i < n) body(m, p + i, n - i, 0);
  return 1;
}

int chk_msg_end(chk_msg *m)
{
  if (m->ended) return 1;
  if (!m->inbody) {
    if (m->eol_state == 2 && !hdr_put(m, "\r", 1)) return 0;
    if (!header_done(m)) return 0;
  }
  body(m, "", 0, 1);
  for (unsigned i = 0; i < m->nhashers; i++) br_sha256_out(&m->hashers[i].sha, m->hashers[i].digest);
  m->ended = 1;
  return 1;
}

/* The address in a From value: the last "<...>" if any, else the whole value without
 * comments; then its domain after the last '@'. */
int chk_msg_from_domain(chk_msg const *m, char out[CHK_DOMAIN_MAX + 1])
{
  chk_field const *from = 0;
  char const *v, *at = 0, *e;
  size_t vl, depth = 0, commas = 0;
  int quoted = 0, angle = 0;
  for (unsigned k = 0; k < m->nfields; k++) {
    if (!chk_field_is(&m->fields[k], "From")) continue;
    if (from) return 0;                   /* two From fields (RFC 7489 6.6.1) */
    from = &m->fields[k];
  }
  if (!from) return 0;
  v = chk_field_value(from, &vl);
  e = v + vl;
  char const *as = 0, *ae = 0;           /* the address: inside <> or the whole */
  for (char const *q = v; q < e; q++) {
    char c = *q;
    if (quoted) { if (c == '\\' && q + 1 < e) q++; else if (c == '"') quoted = 0; continue; }
    if (depth) { if (c == '\\' && q + 1 < e) q++; else if (c == '(') depth++; else if (c == ')') depth--; continue; }
    if (c == '"') { quoted = 1; continue; }
    if (c == '(') { depth = 1; continue; }
    if (c == '<') { angle = 1; as = q + 1; continue; }
    if (c == '>' && angle) { angle = 0; ae = q; continue; }
    if (c == ',' && !angle) commas++;
    if (c == '@' && !as) at = q;          /* bare addr-spec */
    if (c == '@' && angle) at = q;
  }
  if (commas || quoted || depth) return 0; /* several addresses, or unbalanced */
  if (as && ae && at && at > as && at < ae) e = ae;
  else if (as) return 0;
  if (!at) return 0;
  char const *d = at + 1;
  while (d < e && chk_is_wsp((unsigned char)*d)) d++;
  char const *de = d;
  while (de < e && !chk_is_wsp((unsigned char)*de) && *de != '>' && *de != '(' && *de != ';') de++;
  if (de > d && de[-1] == '.') de--;
  if (!chk_copy_lower(out, CHK_DOMAIN_MAX + 1, d, (size_t)(de - d))) return 0;
  return chk_domain_ok(out, 0);
}
