/* pochta-imapd: the command tokenizer (see parse.h). Every function returns 1 on
 * success, 0 when the input does not match (position unchanged). */
#include <string.h>
#include <strings.h>

#include "parse.h"

int is_atom_char(unsigned char c)
{
  if (c <= 0x20 || c >= 0x7f) return 0;
  return !strchr("(){%*\"\\]", c);
}

int strcase_eq(char const *a, size_t alen, char const *b)
{
  size_t bl = strlen(b);
  return alen == bl && !strncasecmp(a, b, bl);
}

int p_sp(pcur *p)
{
  if (p->pos < p->len && p->s[p->pos] == ' ') { p->pos++; return 1; }
  return 0;
}

int p_eol(pcur *p) { return p->pos == p->len; }
int p_peek(pcur *p, char c) { return p->pos < p->len && p->s[p->pos] == c; }
int p_char(pcur *p, char c) { if (p_peek(p, c)) { p->pos++; return 1; } return 0; }

int p_atom(pcur *p, pstr *out)
{
  size_t i = p->pos;
  while (i < p->len && is_atom_char((unsigned char)p->s[i])) i++;
  if (i == p->pos) return 0;
  out->s = p->s + p->pos; out->len = i - p->pos;
  p->pos = i;
  return 1;
}

/* tag: ASTRING-CHAR except '+' */
int p_tag(pcur *p, pstr *out)
{
  size_t i = p->pos;
  while (i < p->len && (is_atom_char((unsigned char)p->s[i]) || p->s[i] == ']') && p->s[i] != '+') i++;
  if (i == p->pos) return 0;
  out->s = p->s + p->pos; out->len = i - p->pos;
  p->pos = i;
  return 1;
}

int p_quoted(pcur *p, pstr *out)
{
  size_t i = p->pos, o;
  if (i >= p->len || p->s[i] != '"') return 0;
  i++; o = i;
  char *start = p->s + i;
  size_t w = 0;
  for (;;) {
    if (i >= p->len) return 0;
    char c = p->s[i];
    if (c == '"') break;
    if (c == '\r' || c == '\n' || !c) return 0;
    if (c == '\\') {
      i++;
      if (i >= p->len || (p->s[i] != '"' && p->s[i] != '\\')) return 0;
      c = p->s[i];
    }
    start[w++] = c;   /* unescape in place: never longer than the source */
    i++;
  }
  (void)o;
  out->s = start; out->len = w;
  p->pos = i + 1;
  return 1;
}

int p_literal(pcur *p, pstr *out, int *spooled)
{
  size_t i = p->pos;
  uint64_t n = 0;
  if (i >= p->len || p->s[i] != '{') return 0;
  i++;
  if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') return 0;
  while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') {
    n = n * 10 + (uint64_t)(p->s[i] - '0');
    if (n > 0xffffffffu) return 0;
    i++;
  }
  if (i < p->len && p->s[i] == '+') i++;
  if (i >= p->len || p->s[i] != '}') return 0;
  i++;
  if (i >= p->len) return 0;
  if (p->s[i] == '\r') {           /* spooled */
    if (!spooled) return 0;
    *spooled = 1;
    p->spool_next++;
    out->s = 0; out->len = (size_t)n;
    p->pos = i + 1;
    return 1;
  }
  if (p->s[i] != '\n') return 0;
  i++;
  if (p->len - i < n) return 0;
  if (spooled) *spooled = 0;
  out->s = p->s + i; out->len = (size_t)n;
  p->pos = i + (size_t)n;
  return 1;
}

int p_string(pcur *p, pstr *out)
{
  return p_quoted(p, out) || p_literal(p, out, 0);
}

int p_astring(pcur *p, pstr *out)
{
  if (p_string(p, out)) return 1;
  size_t i = p->pos;
  while (i < p->len && (is_atom_char((unsigned char)p->s[i]) || p->s[i] == ']')) i++;
  if (i == p->pos) return 0;
  out->s = p->s + p->pos; out->len = i - p->pos;
  p->pos = i;
  return 1;
}

int p_word(pcur *p, char const *w)
{
  size_t n = strlen(w);
  if (p->len - p->pos < n || strncasecmp(p->s + p->pos, w, n)) return 0;
  if (p->pos + n < p->len && is_atom_char((unsigned char)p->s[p->pos + n])
      && is_atom_char((unsigned char)w[n - 1])) return 0;
  p->pos += n;
  return 1;
}

int p_nstring(pcur *p, pstr *out)
{
  if (p_word(p, "NIL")) { out->s = 0; out->len = 0; return 1; }
  return p_string(p, out);
}

int p_number64(pcur *p, uint64_t *n)
{
  size_t i = p->pos;
  uint64_t v = 0;
  while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(p->s[i] - '0');
    i++;
  }
  if (i == p->pos) return 0;
  *n = v; p->pos = i;
  return 1;
}

int p_number(pcur *p, uint32_t *n)
{
  size_t save = p->pos;
  uint64_t v;
  if (!p_number64(p, &v) || v > 0xffffffffu) { p->pos = save; return 0; }
  *n = (uint32_t)v;
  return 1;
}

int p_nz_number(pcur *p, uint32_t *n)
{
  size_t save = p->pos;
  if (!p_number(p, n) || !*n) { p->pos = save; return 0; }
  return 1;
}

int p_flag(pcur *p, pstr *out)
{
  size_t save = p->pos;
  if (p_char(p, '\\')) {
    pstr a;
    if (p_char(p, '*')) { out->s = p->s + save; out->len = 2; return 1; }
    if (!p_atom(p, &a)) { p->pos = save; return 0; }
    out->s = p->s + save; out->len = a.len + 1;
    return 1;
  }
  return p_atom(p, out);
}

static int seqnum(pcur *p, uint32_t *n)
{
  if (p_char(p, '*')) { *n = 0; return 1; }   /* 0 is never a number: it means '*' */
  return p_nz_number(p, n);
}

int p_seqset(pcur *p, seqset *ss)
{
  size_t save = p->pos;
  ss->n = 0;
  for (;;) {
    uint32_t a, b;
    if (!seqnum(p, &a)) { p->pos = save; return 0; }
    b = a;
    if (p_char(p, ':') && !seqnum(p, &b)) { p->pos = save; return 0; }
    if (ss->n >= SEQSET_MAX) { p->pos = save; return 0; }
    ss->r[ss->n].lo = a;
    ss->r[ss->n].hi = b;
    ss->n++;
    if (!p_char(p, ',')) break;
  }
  return 1;
}

int seqset_has(seqset const *ss, uint32_t x, uint32_t max)
{
  for (size_t i = 0; i < ss->n; i++) {
    uint32_t lo = ss->r[i].lo, hi = ss->r[i].hi;
    if (!lo) lo = max;
    if (!hi) hi = max;
    if (lo > hi) { uint32_t t = lo; lo = hi; hi = t; }
    if (x >= lo && x <= hi) return 1;
  }
  return 0;
}
