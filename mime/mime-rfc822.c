/* mime/mime-rfc822.c — the RFC 822/2045 lexical layer: atoms, quoted strings,
 * comments, phrases, domains, MIME tokens, content parameters (RFC 2231 merged).
 * The rules follow what Dovecot accepts, so that ENVELOPE and BODYSTRUCTURE match
 * its answers on broken input too. Return values: 1 more input follows, 0 input
 * ended, -1 syntax error, -2 out of memory (errno set). */
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <errno.h>
#include "mime-int.h"

/* 2: letters, digits and 8-bit; 1: other atext; 4: atext that is a MIME tspecial. */
unsigned char const rfc_chars[256] = {
  ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
  ['+'] = 1, ['-'] = 1, ['/'] = 4, ['='] = 4, ['?'] = 4, ['^'] = 1, ['_'] = 1,
  ['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
  ['0' ... '9'] = 2, ['A' ... 'Z'] = 2, ['a' ... 'z'] = 2, [0x80 ... 0xff] = 2,
};

#define CAT(sa, s, n) do { if (!stralloc_catb((sa), (char const *)(s), (n))) return -2; } while (0)

void rfcp_init(rfcp *r, char const *s, size_t len, stralloc *comment)
{
  r->p = (unsigned char const *)s;
  r->end = r->p + len;
  r->comment = comment;
}

static int skip_comment(rfcp *r)
{
  unsigned char const *start;
  int level = 1;
  if (r->comment) r->comment->len = 0;
  start = ++r->p;
  for (; r->p < r->end; r->p++) {
    if (*r->p == '(') level++;
    else if (*r->p == ')') {
      if (--level == 0) {
        if (r->comment) CAT(r->comment, start, r->p - start);
        r->p++;
        return r->p < r->end;
      }
    } else if (*r->p == '\\') {
      /* an escaped character: keep it, drop the backslash */
      if (r->comment) CAT(r->comment, start, r->p - start);
      start = r->p + 1;
      if (++r->p >= r->end) return -1;
    }
  }
  return -1;  /* no closing parenthesis */
}

int rfcp_skip_lwsp(rfcp *r)
{
  while (r->p < r->end) {
    if (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n') { r->p++; continue; }
    if (*r->p != '(') break;
    int e = skip_comment(r);
    if (e < 0) return e;
  }
  return r->p < r->end;
}

int rfcp_atom(rfcp *r, stralloc *out)
{
  unsigned char const *start;
  if (r->p >= r->end || !RFC_ATEXT(*r->p)) return -1;
  for (start = r->p++; r->p < r->end; r->p++) {
    if (RFC_ATEXT(*r->p)) continue;
    CAT(out, start, r->p - start);
    return rfcp_skip_lwsp(r);
  }
  CAT(out, start, r->p - start);
  return 0;
}

/* dot-atom; white space and comments around the dots are allowed (RFC 822). */
int rfcp_dot_atom(rfcp *r, stralloc *out)
{
  unsigned char const *start;
  int e;
  if (r->p >= r->end || !RFC_ATEXT(*r->p)) return -1;
  for (start = r->p++; r->p < r->end;) {
    if (RFC_ATEXT(*r->p)) { r->p++; continue; }
    CAT(out, start, r->p - start);
    if ((e = rfcp_skip_lwsp(r)) <= 0) return e;
    if (*r->p != '.') return 1;
    r->p++;
    CAT(out, ".", 1);
    if ((e = rfcp_skip_lwsp(r)) <= 0) return e;
    start = r->p;
  }
  CAT(out, start, r->p - start);
  return 0;
}

int rfcp_mime_token(rfcp *r, stralloc *out)
{
  unsigned char const *start = r->p;
  for (; r->p < r->end; r->p++) {
    if (RFC_TOKEN(*r->p) || *r->p == '.') continue;
    CAT(out, start, r->p - start);
    return rfcp_skip_lwsp(r);
  }
  CAT(out, start, r->p - start);
  return 0;
}

/* "..." with quoted-pairs resolved and folding line ends removed. */
int rfcp_quoted(rfcp *r, stralloc *out)
{
  unsigned char const *start;
  size_t n;
  r->p++;
  for (start = r->p; r->p < r->end; r->p++) {
    if (*r->p == '"') {
      CAT(out, start, r->p - start);
      r->p++;
      return rfcp_skip_lwsp(r);
    } else if (*r->p == '\n') {
      n = r->p - start;
      if (n && start[n - 1] == '\r') n--;
      CAT(out, start, n);
      start = r->p + 1;
    } else if (*r->p == '\\') {
      if (++r->p >= r->end) return -1;
      CAT(out, start, r->p - start - 1);
      start = r->p;
    }
  }
  return -1;  /* no closing quote */
}

static int atom_or_dot(rfcp *r, stralloc *out)
{
  unsigned char const *start = r->p;
  for (; r->p < r->end; r->p++) {
    if (RFC_ATEXT(*r->p) || *r->p == '.') continue;
    CAT(out, start, r->p - start);
    return rfcp_skip_lwsp(r);
  }
  CAT(out, start, r->p - start);
  return 0;
}

/* phrase = 1*word / obs-phrase; words joined by one space. */
int rfcp_phrase(rfcp *r, stralloc *out)
{
  int e;
  if (r->p >= r->end) return 0;
  if (*r->p == '.') return -1;
  for (;;) {
    e = *r->p == '"' ? rfcp_quoted(r, out) : atom_or_dot(r, out);
    if (e <= 0) return e;
    if (!RFC_ATEXT(*r->p) && *r->p != '"' && *r->p != '.') break;
    CAT(out, " ", 1);
  }
  return rfcp_skip_lwsp(r);
}

static int domain_literal(rfcp *r, stralloc *out)
{
  unsigned char const *start = r->p;
  for (; r->p < r->end; r->p++) {
    if (*r->p == '\\') {
      if (++r->p >= r->end) break;
    } else if (*r->p == ']') {
      r->p++;
      CAT(out, start, r->p - start);
      return rfcp_skip_lwsp(r);
    }
  }
  return -1;
}

/* at '@': the domain after it */
int rfcp_domain(rfcp *r, stralloc *out)
{
  int e;
  r->p++;
  if ((e = rfcp_skip_lwsp(r)) <= 0) return e < -1 ? e : -1;
  if (*r->p == '[') return domain_literal(r, out);
  return rfcp_dot_atom(r, out);
}

int rfcp_content_type(rfcp *r, stralloc *out)
{
  int e;
  if ((e = rfcp_skip_lwsp(r)) <= 0) return e < -1 ? e : -1;
  size_t mark = out->len;
  if ((e = rfcp_mime_token(r, out)) < 0) return e;
  if (out->len == mark) return -1;
  /* no subtype: Dovecot 2.3 keeps the type with an empty subtype */
  if (!e || *r->p != '/') return e;
  r->p++;
  if ((e = rfcp_skip_lwsp(r)) <= 0) return e < -1 ? e : -1;
  CAT(out, "/", 1);
  return rfcp_mime_token(r, out);
}

/* One "; name=value"; the pair goes to out as name\0value\0. */
static int content_param(rfcp *r, stralloc *out)
{
  int e;
  if (r->p >= r->end) return 0;
  if (*r->p != ';') return -1;
  r->p++;
  if ((e = rfcp_skip_lwsp(r)) <= 0) return e < -1 ? e : -1;
  size_t mark = out->len;
  if ((e = rfcp_mime_token(r, out)) <= 0) { out->len = mark; return e < -1 ? e : -1; }
  if (*r->p != '=') { out->len = mark; return -1; }
  CAT(out, "", 1);
  r->p++;
  if ((e = rfcp_skip_lwsp(r)) <= 0) {
    if (e < -1) return e;   /* no value: an empty one */
  } else if (*r->p == '"') {
    e = rfcp_quoted(r, out);
  } else if (*r->p == '=') {
    /* broken senders write name==?utf-8?b?...?=: take it up to blank or ';' */
    unsigned char const *s = r->p;
    while (r->p < r->end && *r->p != ';' && *r->p != ' ' && *r->p != '\t' && *r->p != '\r' && *r->p != '\n') r->p++;
    CAT(out, s, r->p - s);
  } else {
    e = rfcp_mime_token(r, out);
  }
  if (e < -1) return e;
  if (e < 0) { out->len = mark; return -1; }   /* a broken pair is dropped */
  {
    /* a NUL inside the value becomes U+FFFD (as Dovecot answers); the list stays a
     * clean sequence of NUL-terminated name/value pairs */
    char const *key0 = memchr(out->s + mark, 0, out->len - mark);
    size_t vstart = (key0 - out->s) + 1, vend = out->len;
    if (vstart < vend && memchr(out->s + vstart, 0, vend - vstart)) {
      stralloc v = STRALLOC_ZERO;
      for (size_t i = vstart; i < vend; i++) {
        int ok = out->s[i] ? stralloc_catb(&v, out->s + i, 1) : stralloc_catb(&v, "\xef\xbf\xbd", 3);
        if (!ok) { stralloc_free(&v); return -2; }
      }
      out->len = vstart;
      if (!stralloc_catb(out, v.s, v.len)) { stralloc_free(&v); return -2; }
      stralloc_free(&v);
    }
  }
  CAT(out, "", 1);
  return 1;
}

struct cont { char const *key; size_t keylen; char const *value; unsigned idx; int ext; size_t order; };

static int cont_cmp(void const *a, void const *b)
{
  struct cont const *x = a, *y = b;
  size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
  int c = memcmp(x->key, y->key, n);
  if (c) return c;
  if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
  if (x->idx != y->idx) return x->idx < y->idx ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int cat_num(stralloc *sa, unsigned v)
{
  char b[16]; int n = 0;
  do b[n++] = '0' + v % 10; while ((v /= 10) && n < 15);
  while (n) if (!stralloc_catb(sa, &b[--n], 1)) return 0;
  return 1;
}

/* All parameters; key*N[*] continuations merged into key or key* (RFC 2231), placed
 * after the plain ones, as Dovecot does. */
int rfcp_params(rfcp *r, stralloc *out, unsigned *n)
{
  stralloc raw = STRALLOC_ZERO;
  int broken = 0, e, ret = 0;
  unsigned ncont = 0, i, j;
  struct cont *c = 0;
  *n = 0;
  for (;;) {
    e = content_param(r, &raw);
    if (e == 0) break;
    if (e < -1) { ret = -2; goto done; }
    if (e < 0) {
      broken = 1;
      if (r->p >= r->end) break;
      r->p++;   /* skip a character and try again */
      continue;
    }
  }
  /* first pass: plain parameters out, count continuations */
  for (size_t k = 0; k < raw.len;) {
    char const *key = raw.s + k, *val = key + strlen(key) + 1;
    size_t next = (val - raw.s) + strlen(val) + 1;
    char const *star = strchr(key, '*');
    int iscont = 0;
    if (star) {
      char const *q = star;
      if (q[1]) { q++; while (*q >= '0' && *q <= '9') q++; }
      if (*q == '*') q++;
      iscont = *q == 0;
    }
    if (iscont) ncont++;
    else {
      if (!stralloc_catb(out, key, next - k)) { ret = -2; goto done; }
      (*n)++;
    }
    k = next;
  }
  if (ncont) {
    c = malloc(ncont * sizeof *c);
    if (!c) { ret = -2; goto done; }
    i = 0;
    for (size_t k = 0; k < raw.len;) {
      char const *key = raw.s + k, *val = key + strlen(key) + 1;
      size_t next = (val - raw.s) + strlen(val) + 1;
      char const *star = strchr(key, '*');
      if (star) {
        char const *q = star;
        unsigned idx = 0;
        if (q[1]) { q++; while (*q >= '0' && *q <= '9') { idx = idx * 10 + (*q - '0'); if (idx > 100000) idx = 100000; q++; } }
        int ext = *q == '*';
        if (ext) q++;
        if (!*q) {
          c[i].key = key; c[i].keylen = star - key; c[i].value = val;
          c[i].idx = idx; c[i].ext = ext; c[i].order = i; i++;
        }
      }
      k = next;
    }
    qsort(c, ncont, sizeof *c, cont_cmp);
    for (i = 0; i < ncont; i = j) {
      int ok = 1, have_ext = 0;
      unsigned want = 0;
      for (j = i; j < ncont; j++) {
        if (c[j].keylen != c[i].keylen || strncasecmp(c[j].key, c[i].key, c[i].keylen)) break;
        if (c[j].idx != want) ok = 0;
        if (c[j].ext) have_ext = 1;
        want++;
      }
      if (!ok) {
        /* a gap in the numbers: keep them as they were */
        for (unsigned m = i; m < j; m++) {
          if (!stralloc_catb(out, c[m].key, c[m].keylen) || !stralloc_catb(out, "*", 1)
              || !cat_num(out, c[m].idx) || (c[m].ext && !stralloc_catb(out, "*", 1))
              || !stralloc_catb(out, "", 1) || !stralloc_catb(out, c[m].value, strlen(c[m].value) + 1)) { ret = -2; goto done; }
          (*n)++;
        }
        continue;
      }
      if (!stralloc_catb(out, c[i].key, c[i].keylen) || (have_ext && !stralloc_catb(out, "*", 1))
          || !stralloc_catb(out, "", 1)) { ret = -2; goto done; }
      if (!c[i].ext && have_ext && !stralloc_catb(out, "''", 2)) { ret = -2; goto done; }
      for (unsigned m = i; m < j; m++) {
        char const *v = c[m].value;
        if (!c[m].ext && have_ext) {
          /* a plain piece inside an encoded value: its % must stay literal */
          for (; *v; v++)
            if (!(*v == '%' ? stralloc_catb(out, "%25", 3) : stralloc_catb(out, v, 1))) { ret = -2; goto done; }
        } else if (!stralloc_catb(out, v, strlen(v))) { ret = -2; goto done; }
      }
      if (!stralloc_catb(out, "", 1)) { ret = -2; goto done; }
      (*n)++;
    }
  }
  ret = broken ? -1 : 0;
done:
  free(c);
  stralloc_free(&raw);
  if (ret == -2) errno = ENOMEM;
  return ret;
}
