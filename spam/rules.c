/* spam/rules.c — the rules that look at the message itself: header patterns (a
 * glob, or a POSIX extended regular expression between slashes, on the decoded
 * value), missing fields, body phrases (in the decoded, case-folded text), URL
 * hosts (the host or any name below it), the built-in structural rules, and GTUBE.
 * Every rule counts once. Also the DNS list return codes and the score sum. */
#include <string.h>
#include <strings.h>

#include "spam-int.h"

/* The Generic Test for Unsolicited Bulk Email (SpamAssassin's), folded as the
 * view's text is. */
static char const gtube[] = "xjs*c4jdbqadn1.nsbn3*2idnen*gtube-standard-anti-ube-test-email*c.34x";

void spam_score_add(spam_score *s, char const *name, double w)
{
  if (w == 0) return;   /* a rule weighted 0 is off */
  s->total += w;
  if (s->n < SPAM_HITS_MAX) {
    size_t n = strlen(name);
    if (n > SPAM_NAME_MAX) n = SPAM_NAME_MAX;
    memcpy(s->hit[s->n].name, name, n);
    s->hit[s->n].name[n] = 0;
    s->hit[s->n].w = w;
    s->n++;
  } else s->more++;
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Iterative glob with one backtrack point: O(plen * slen) at worst. */
int spam_glob(char const *p, size_t pl, char const *s, size_t sl)
{
  size_t i = 0, j = 0, star = (size_t)-1, mark = 0;
  while (j < sl) {
    if (i < pl && (p[i] == '?' || lower(p[i]) == lower(s[j]))) { i++; j++; continue; }
    if (i < pl && p[i] == '*') { star = i++; mark = j; continue; }
    if (star != (size_t)-1) { i = star + 1; j = ++mark; continue; }
    return 0;
  }
  while (i < pl && p[i] == '*') i++;
  return i == pl;
}

/* ---- DNS list return codes */

static int octet(char const *s, size_t len, unsigned char *lo, unsigned char *hi, unsigned char *mask)
{
  unsigned a = 0, b = 0;
  size_t i = 0;
  *mask = 0;
  if (len == 1 && *s == '*') { *lo = 0; *hi = 255; return 1; }
  if (len > 1 && *s == '&') {
    for (i = 1; i < len; i++) { if (s[i] < '0' || s[i] > '9' || (a = a * 10 + (s[i] - '0')) > 255) return 0; }
    if (!a) return 0;
    *lo = 0; *hi = 255; *mask = a;
    return 1;
  }
  for (; i < len && s[i] != '-'; i++) if (s[i] < '0' || s[i] > '9' || (a = a * 10 + (s[i] - '0')) > 255 || i > 2) return 0;
  if (!i) return 0;
  if (i == len) { *lo = *hi = a; return 1; }
  size_t k = ++i;
  for (; i < len; i++) if (s[i] < '0' || s[i] > '9' || (b = b * 10 + (s[i] - '0')) > 255 || i - k > 2) return 0;
  if (i == k || b < a) return 0;
  *lo = a; *hi = b;
  return 1;
}

int spam_codes_parse(spam_code *codes, unsigned *n, char const *s, size_t len)
{
  size_t i = 0;
  *n = 0;
  while (i < len) {
    size_t e = i;
    while (e < len && s[e] != ',') e++;
    if (*n >= SPAM_CODES_MAX) return 0;
    spam_code *c = &codes[*n];
    size_t k = i;
    for (unsigned o = 0; o < 4; o++) {
      size_t d = k;
      while (d < e && s[d] != '.') d++;
      if ((o < 3) != (d < e)) return 0;
      if (!octet(s + k, d - k, &c->lo[o], &c->hi[o], &c->mask[o])) return 0;
      k = d + 1;
    }
    ++*n;
    i = e + 1;
    if (e + 1 == len) return 0;   /* a trailing comma */
  }
  return *n > 0;
}

int spam_codes_match(spam_code const *codes, unsigned n, unsigned char const ip[4])
{
  if (!n) {
    /* by default any 127.0.0.0/8 answer but 127.255.255.0/24, which the big lists
       use to say that the question itself was refused */
    return ip[0] == 127 && !(ip[1] == 255 && ip[2] == 255);
  }
  for (unsigned k = 0; k < n; k++) {
    unsigned o;
    for (o = 0; o < 4; o++) {
      spam_code const *c = &codes[k];
      if (c->mask[o] ? !(ip[o] & c->mask[o]) : (ip[o] < c->lo[o] || ip[o] > c->hi[o])) break;
    }
    if (o == 4) return 1;
  }
  return 0;
}

/* ---- the rules */

static int host_under(char const *host, char const *pat, size_t pl)
{
  size_t hl = strlen(host);
  if (hl == pl) return !memcmp(host, pat, pl);
  return hl > pl && host[hl - pl - 1] == '.' && !memcmp(host + hl - pl, pat, pl);
}

static int header_rule(spam_rule const *r, spam_view const *v, stralloc *val)
{
  mime_field f;
  size_t pos = 0;
  int found = 0;
  for (unsigned n = 0; n < SPAM_FIELDS_MAX && mime_field_next(&f, v->msg, v->hdr_len, &pos); n++) {
    if (!mime_name_is(&f, r->field)) continue;
    found = 1;
    if (r->kind == R_MISSING) return 0;
    val->len = 0;
    if (!mime_header_decode(val, f.value, f.valuelen < SPAM_VALUE_MAX ? f.valuelen : SPAM_VALUE_MAX)) return 0;
    if (val->len > SPAM_VALUE_MAX) val->len = SPAM_VALUE_MAX;
    if (!stralloc_0(val)) return 0;
    val->len--;
    /* a NUL inside the value ends what regexec sees: the rest cannot match */
    if (r->isregex ? !regexec(&r->re, val->s, 0, 0, 0) : spam_glob(r->pat, r->patlen, val->s, val->len)) return 1;
  }
  return r->kind == R_MISSING && !found;
}

static int field_present(spam_view const *v, char const *name)
{
  mime_field f;
  size_t pos = 0;
  for (unsigned n = 0; n < SPAM_FIELDS_MAX && mime_field_next(&f, v->msg, v->hdr_len, &pos); n++)
    if (mime_name_is(&f, name)) return 1;
  return 0;
}

void spam_rules_run(spam_conf const *c, spam_view const *v, spam_score *s)
{
  static struct { char const *rule, *field; } const missing[] = {
    { "MISSING_FROM", "From" }, { "MISSING_DATE", "Date" }, { "MISSING_MESSAGEID", "Message-ID" },
    { "MISSING_SUBJECT", "Subject" },
  };
  stralloc val = STRALLOC_ZERO;
  char const *text = v->text.s ? v->text.s : "";
  /* GTUBE in the decoded text, or as written anywhere in the body */
  if (memmem(text, v->text.len, gtube, sizeof gtube - 1)) spam_score_add(s, RULE_GTUBE, spam_builtin_weight(c, RULE_GTUBE));
  else {
    size_t i = v->body_start < v->len ? v->body_start : v->len;
    char const *x;
    while (i + sizeof gtube - 1 <= v->len && (x = memchr(v->msg + i, 'X', v->len - i))) {
      i = x - v->msg;
      if (i + sizeof gtube - 1 <= v->len && !strncasecmp(x, gtube, sizeof gtube - 1)) {
        spam_score_add(s, RULE_GTUBE, spam_builtin_weight(c, RULE_GTUBE));
        break;
      }
      i++;
    }
  }
  for (size_t k = 0; k < sizeof missing / sizeof *missing; k++)
    if (!field_present(v, missing[k].field)) spam_score_add(s, missing[k].rule, spam_builtin_weight(c, missing[k].rule));
  for (unsigned i = 0; i < c->nrules; i++) {
    spam_rule const *r = &c->rules[i];
    int hit = 0;
    switch (r->kind) {
    case R_HEADER: case R_MISSING: hit = header_rule(r, v, &val); break;
    case R_BODY: hit = r->patlen && memmem(text, v->text.len, r->pat, r->patlen) != 0; break;
    case R_URI:
      for (size_t off = 0; !hit && off < v->hosts.len; off += strlen(v->hosts.s + off) + 1)
        hit = host_under(v->hosts.s + off, r->pat, r->patlen);
      break;
    default: break;
    }
    if (hit) spam_score_add(s, r->name, r->weight);
  }
  stralloc_free(&val);
}
