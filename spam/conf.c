/* spam/conf.c — the configuration: defaults, the built-in rules, and the parsers
 * of <confdir>/spam (settings), <confdir>/spamrules (rules) and <confdir>/greylist
 * (pochta-spam(5)). Pure: text in, a spam_conf out; a bad line is an error that
 * names it, never a guess. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spam-int.h"

/* ---- the built-in rules and their default weights */

static struct { char const *name; double w; } const builtin[] = {
  { RULE_GTUBE, 1000 },
  { "MISSING_FROM", 2.0 }, { "MISSING_DATE", 1.0 }, { "MISSING_MESSAGEID", 0.5 }, { "MISSING_SUBJECT", 0.5 },
  { "HELO_MISSING", 1.0 }, { "HELO_BARE_IP", 1.0 }, { "HELO_LITERAL_MISMATCH", 1.0 }, { "HELO_NO_DOT", 1.0 },
  { "HELO_LOCALHOST", 2.0 }, { "HELO_IS_ME", 3.0 }, { "HELO_BAD_CHARS", 1.0 },
  { "SPF_PASS", 0 }, { "SPF_FAIL", 2.0 }, { "SPF_SOFTFAIL", 1.0 }, { "SPF_PERMERROR", 0.5 },
  { "DKIM_PASS", -0.5 }, { "DKIM_FAIL", 1.0 },
  { "DMARC_PASS", -1.0 }, { "DMARC_FAIL", 3.0 },
  { "IPREV_FAIL", 1.5 }, { "ARC_FAIL", 0.5 },
};

static spam_rule *find_rule(spam_conf const *c, char const *name)
{
  for (unsigned i = 0; i < c->nrules; i++) if (!strcmp(c->rules[i].name, name)) return &c->rules[i];
  return 0;
}

double spam_builtin_weight(spam_conf const *c, char const *name)
{
  spam_rule const *r = find_rule(c, name);
  return r ? r->weight : 0;
}

static spam_rule *new_rule(spam_conf *c, char const *name, int kind, double w)
{
  if (c->nrules == c->rulecap) {
    unsigned cap = c->rulecap ? c->rulecap * 2 : 64;
    spam_rule *r = realloc(c->rules, cap * sizeof *r);
    if (!r) return 0;
    c->rules = r;
    c->rulecap = cap;
  }
  spam_rule *r = &c->rules[c->nrules++];
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", name);
  r->kind = kind;
  r->weight = w;
  return r;
}

int spam_conf_init(spam_conf *c)
{
  memset(c, 0, sizeof *c);
  c->score = 1;
  c->reject = 15;
  c->junk = 5;
  c->bayes = 1;
  c->bayes_min = 10;
  c->bayes_spam = 6;
  c->bayes_ham = 3;
  c->bayes_tokens = 150000;
  c->dns_timeout = 2000;
  c->dns_budget = 6000;
  c->dns_urls = 10;
  c->clamd_strict = 1;
  c->clamd_timeout = 60;
  c->grey_delay = 300;
  c->grey_window = 172800;
  c->grey_expire = 3024000;
  c->grey_clients = 5;
  c->grey_net4 = 24;
  c->grey_net6 = 64;
  c->rate_period = 3600;
  c->rate_net4 = 32;
  c->rate_net6 = 64;
  for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
    if (!new_rule(c, builtin[i].name, R_BUILTIN, builtin[i].w)) { spam_conf_free(c); return 0; }
  return 1;
}

void spam_conf_free(spam_conf *c)
{
  for (unsigned i = 0; i < c->nrules; i++) {
    free(c->rules[i].field);
    free(c->rules[i].pat);
    if (c->rules[i].isregex) regfree(&c->rules[i].re);
  }
  free(c->rules);
  stralloc_free(&c->grey_domains);
  free(c->grey_exempt);
  free(c->rate_exempt);
  memset(c, 0, sizeof *c);
}

/* ---- lines and words */

typedef struct { char const *s; size_t len, pos; unsigned no; char const *file; char *err; size_t errlen; } lines;

static int bad(lines *l, char const *fmt, ...)
{
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (l->errlen) snprintf(l->err, l->errlen, "%s line %u: %s", l->file, l->no, what);
  errno = EINVAL;
  return 0;
}

/* The next line that is not empty or a comment, blanks trimmed. */
static int next_line(lines *l, char const **p, size_t *n)
{
  while (l->pos < l->len) {
    char const *b = l->s + l->pos, *nl = memchr(b, '\n', l->len - l->pos);
    size_t e = nl ? (size_t)(nl - b) : l->len - l->pos;
    l->pos += e + (nl != 0);
    l->no++;
    while (e && (b[e - 1] == ' ' || b[e - 1] == '\t' || b[e - 1] == '\r')) e--;
    while (e && (*b == ' ' || *b == '\t')) { b++; e--; }
    if (!e || *b == '#') continue;
    *p = b;
    *n = e;
    return 1;
  }
  return 0;
}

/* The next blank-separated word of [*p, end): 1 found. */
static int next_word(char const **p, char const *end, char const **w, size_t *n)
{
  char const *s = *p;
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  if (s >= end) return 0;
  char const *b = s;
  while (s < end && *s != ' ' && *s != '\t') s++;
  *w = b;
  *n = s - b;
  *p = s;
  return 1;
}

static char const *rest(char const *p, char const *end)
{
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  return p;
}

static int word_is(char const *w, size_t n, char const *s) { return strlen(s) == n && !strncasecmp(w, s, n); }

static int parse_num(char const *w, size_t n, double *x)
{
  char buf[32], *e;
  if (!n || n >= sizeof buf) return 0;
  memcpy(buf, w, n);
  buf[n] = 0;
  double v = strtod(buf, &e);
  if (*e || !isfinite(v) || fabs(v) > 10000) return 0;
  *x = v;
  return 1;
}

static int parse_uint(char const *w, size_t n, unsigned long lo, unsigned long hi, unsigned *x)
{
  unsigned long v = 0;
  if (!n || n > 10) return 0;
  for (size_t i = 0; i < n; i++) {
    if (w[i] < '0' || w[i] > '9') return 0;
    v = v * 10 + (w[i] - '0');
  }
  if (v < lo || v > hi) return 0;
  *x = v;
  return 1;
}

static int add_net(spam_net **nets, unsigned *n, spam_net const *x)
{
  spam_net *v = realloc(*nets, (*n + 1) * sizeof *v);
  if (!v) return 0;
  v[(*n)++] = *x;
  *nets = v;
  return 1;
}

/* ---- <confdir>/spam */

enum { T_SCORE, T_NUM, T_UINT, T_BOOL, T_CLAMD, T_FAIL, T_BITS, T_RATE, T_EXEMPT };
#define OFF(f) offsetof(spam_conf, f)
static struct { char const *key; int type; size_t off, off2; unsigned long lo, hi; } const keys[] = {
  { "score", T_BOOL, OFF(score), 0, 0, 0 },
  { "reject", T_SCORE, OFF(reject), 0, 0, 0 },
  { "junk", T_SCORE, OFF(junk), 0, 0, 0 },
  { "bayes", T_BOOL, OFF(bayes), 0, 0, 0 },
  { "bayes-min", T_UINT, OFF(bayes_min), 0, 1, 100000 },
  { "bayes-spam", T_NUM, OFF(bayes_spam), 0, 0, 0 },
  { "bayes-ham", T_NUM, OFF(bayes_ham), 0, 0, 0 },
  { "bayes-tokens", T_UINT, OFF(bayes_tokens), 0, 1000, 10000000 },
  { "dns-timeout", T_UINT, OFF(dns_timeout), 0, 100, 60000 },
  { "dns-budget", T_UINT, OFF(dns_budget), 0, 100, 120000 },
  { "dns-urls", T_UINT, OFF(dns_urls), 0, 0, SPAM_HOSTS_MAX },
  { "clamd", T_CLAMD, OFF(clamd), 0, 0, 0 },
  { "clamd-failure", T_FAIL, OFF(clamd_strict), 0, 0, 0 },
  { "clamd-timeout", T_UINT, OFF(clamd_timeout), 0, 1, 3600 },
  { "greylist-delay", T_UINT, OFF(grey_delay), 0, 0, 86400 },
  { "greylist-window", T_UINT, OFF(grey_window), 0, 60, 30 * 86400 },
  { "greylist-expire", T_UINT, OFF(grey_expire), 0, 3600, 400 * 86400 },
  { "greylist-clients", T_UINT, OFF(grey_clients), 0, 0, 1000000 },
  { "greylist-network", T_BITS, OFF(grey_net4), OFF(grey_net6), 0, 0 },
  { "ratelimit", T_RATE, OFF(rate_max), OFF(rate_period), 0, 0 },
  { "ratelimit-network", T_BITS, OFF(rate_net4), OFF(rate_net6), 0, 0 },
  { "ratelimit-exempt", T_EXEMPT, 0, 0, 0, 0 },
};

static int setting(spam_conf *c, lines *l, char const *k, size_t kl, char const *v, size_t vl)
{
  size_t i;
  for (i = 0; i < sizeof keys / sizeof *keys && !word_is(k, kl, keys[i].key); i++) ;
  if (i == sizeof keys / sizeof *keys) return bad(l, "unknown setting %.*s", (int)(kl > 40 ? 40 : kl), k);
  char *base = (char *)c;
  char const *end = v + vl, *w;
  size_t wl;
  switch (keys[i].type) {
  case T_SCORE:
    if (word_is(v, vl, "off")) { *(double *)(base + keys[i].off) = SPAM_OFF; return 1; }
    /* fall through */
  case T_NUM:
    if (!parse_num(v, vl, (double *)(base + keys[i].off))) return bad(l, "%s wants a number", keys[i].key);
    return 1;
  case T_UINT:
    if (!parse_uint(v, vl, keys[i].lo, keys[i].hi, (unsigned *)(base + keys[i].off)))
      return bad(l, "%s wants a number from %lu to %lu", keys[i].key, keys[i].lo, keys[i].hi);
    return 1;
  case T_BOOL:
    if (word_is(v, vl, "on")) *(int *)(base + keys[i].off) = 1;
    else if (word_is(v, vl, "off")) *(int *)(base + keys[i].off) = 0;
    else return bad(l, "%s wants on or off", keys[i].key);
    return 1;
  case T_CLAMD:
    if (word_is(v, vl, "off")) { c->clamd[0] = 0; return 1; }
    if (vl >= sizeof c->clamd - 5) return bad(l, "clamd address too long");
    if (*v == '/') { snprintf(c->clamd, sizeof c->clamd, "unix:%.*s", (int)vl, v); return 1; }
    if ((vl > 5 && !strncmp(v, "unix:", 5) && v[5] == '/') || (vl > 4 && !strncmp(v, "tcp:", 4) && memrchr(v + 4, ':', vl - 4))) {
      snprintf(c->clamd, sizeof c->clamd, "%.*s", (int)vl, v);
      return 1;
    }
    return bad(l, "clamd wants off, unix:/path or tcp:host:port");
  case T_FAIL:
    if (word_is(v, vl, "tempfail")) c->clamd_strict = 1;
    else if (word_is(v, vl, "accept")) c->clamd_strict = 0;
    else return bad(l, "clamd-failure wants tempfail or accept");
    return 1;
  case T_BITS: {
    char const *slash = memchr(v, '/', vl);
    unsigned b4, b6;
    if (!slash || !parse_uint(v, slash - v, 8, 32, &b4) || !parse_uint(slash + 1, end - slash - 1, 16, 128, &b6))
      return bad(l, "%s wants IPv4/IPv6 prefix lengths, like 24/64", keys[i].key);
    *(unsigned *)(base + keys[i].off) = b4;
    *(unsigned *)(base + keys[i].off2) = b6;
    return 1;
  }
  case T_RATE: {
    char const *slash = memchr(v, '/', vl);
    if (word_is(v, vl, "off")) { c->rate_max = 0; return 1; }
    if (!slash || !parse_uint(v, slash - v, 1, 10000000, &c->rate_max) || !parse_uint(slash + 1, end - slash - 1, 1, 30 * 86400, &c->rate_period))
      return bad(l, "ratelimit wants messages/seconds, like 100/3600, or off");
    return 1;
  }
  case T_EXEMPT:
    while (next_word(&v, end, &w, &wl)) {
      spam_net n;
      if (!spam_net_parse(&n, w, wl)) return bad(l, "not an address or network: %.*s", (int)(wl > 60 ? 60 : wl), w);
      if (!add_net(&c->rate_exempt, &c->nrate_exempt, &n)) return 0;
    }
    return 1;
  }
  return bad(l, "unknown setting");
}

int spam_conf_settings(spam_conf *c, char const *text, size_t len, char *err, size_t errlen)
{
  lines l = { text, len, 0, 0, "spam", err, errlen };
  char const *p, *k, *end;
  size_t n, kl;
  while (next_line(&l, &p, &n)) {
    end = p + n;
    next_word(&p, end, &k, &kl);
    p = rest(p, end);
    if (p == end) return bad(&l, "%.*s wants a value", (int)(kl > 40 ? 40 : kl), k);
    if (!setting(c, &l, k, kl, p, end - p)) return 0;
  }
  if (c->bayes_tokens < 1000) c->bayes_tokens = 1000;
  return 1;
}

/* ---- <confdir>/spamrules */

static int name_ok(char const *w, size_t n)
{
  if (!n || n > SPAM_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_')) return 0;
  return 1;
}

static int host_ok(char const *w, size_t n)
{
  if (!n || n > 253 || *w == '.' || w[n - 1] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = w[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')) return 0;
  }
  return !memmem(w, n, "..", 2);
}

static char *dup_lower(char const *s, size_t n)
{
  char *d = malloc(n + 1);
  if (!d) return 0;
  for (size_t i = 0; i < n; i++) d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i];
  d[n] = 0;
  return d;
}

/* A body phrase as the view's text has it: folded, blanks one space. */
static char *phrase(char const *s, size_t n, size_t *outlen)
{
  stralloc f = STRALLOC_ZERO;
  if (!mime_text_fold(&f, s, n)) return 0;
  char *d = malloc(f.len + 1);
  size_t k = 0;
  if (d) {
    for (size_t i = 0; i < f.len; i++) {
      char c = f.s[i] == '\t' ? ' ' : f.s[i];
      if (c == ' ' && k && d[k - 1] == ' ') continue;
      d[k++] = c;
    }
    d[k] = 0;
    *outlen = k;
  }
  stralloc_free(&f);
  return d;
}

static int field_ok(char const *w, size_t n)
{
  if (!n || n > 76) return 0;
  for (size_t i = 0; i < n; i++) if (w[i] <= ' ' || w[i] == ':' || (unsigned char)w[i] >= 0x7f) return 0;
  return 1;
}

/* One rule: everything is checked before the rule is made. */
static int rule_line(spam_conf *c, lines *l, char const *p, size_t n)
{
  static struct { char const *kw; int kind; } const kinds[] = {
    { "header", R_HEADER }, { "missing", R_MISSING }, { "body", R_BODY }, { "uri", R_URI },
    { "dnsbl", R_DNSBL }, { "dnswl", R_DNSWL }, { "urlbl", R_URIBL }, { "score", R_BUILTIN },
  };
  char const *end = p + n, *kw, *name, *wt, *arg = 0, *more;
  size_t kwl, namel, wtl, argl = 0, morel;
  double weight;
  int kind = -1;
  spam_code codes[SPAM_CODES_MAX];
  unsigned ncodes = 0;
  memset(codes, 0, sizeof codes);
  next_word(&p, end, &kw, &kwl);
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) if (word_is(kw, kwl, kinds[i].kw)) kind = kinds[i].kind;
  if (kind < 0) return bad(l, "unknown kind of rule %.*s", (int)(kwl > 20 ? 20 : kwl), kw);
  if (!next_word(&p, end, &name, &namel) || !name_ok(name, namel)) return bad(l, "a rule name is 1 to 40 letters, digits and _");
  if (!next_word(&p, end, &wt, &wtl) || !parse_num(wt, wtl, &weight)) return bad(l, "a weight is a number from -10000 to 10000");
  char nm[SPAM_NAME_MAX + 1];
  memcpy(nm, name, namel);
  nm[namel] = 0;
  spam_rule *old = find_rule(c, nm);
  if (kind == R_BUILTIN) {
    if (!old) return bad(l, "score: no rule named %s", nm);
    if (next_word(&p, end, &more, &morel)) return bad(l, "score NAME WEIGHT takes nothing more");
    old->weight = weight;
    return 1;
  }
  if (old) return bad(l, "a rule named %s exists already (to change its weight: score %s WEIGHT)", nm, nm);
  if (c->nrules >= SPAM_RULES_MAX + sizeof builtin / sizeof *builtin) return bad(l, "more than %u rules", SPAM_RULES_MAX);
  if (kind == R_HEADER || kind == R_MISSING) {
    if (!next_word(&p, end, &arg, &argl) || !field_ok(arg, argl)) return bad(l, "%.*s wants a header field name", (int)kwl, kw);
    p = rest(p, end);
    if (kind == R_MISSING && p != end) return bad(l, "missing NAME WEIGHT FIELD takes nothing more");
    if (kind == R_HEADER && p == end) return bad(l, "header wants a pattern");
  } else if (kind == R_BODY) {
    p = rest(p, end);
    if (p == end) return bad(l, "body wants a phrase");
  } else {
    if (!next_word(&p, end, &arg, &argl) || !host_ok(arg, argl)) return bad(l, "%.*s wants a host name", (int)kwl, kw);
    if (next_word(&p, end, &more, &morel)) {
      if (kind == R_URI) return bad(l, "uri NAME WEIGHT HOST takes nothing more");
      if (!spam_codes_parse(codes, &ncodes, more, morel)) return bad(l, "bad return codes (like 127.0.0.2,127.0.0.4-11,127.0.*.&8)");
      if (next_word(&p, end, &more, &morel)) return bad(l, "%.*s NAME WEIGHT ZONE [CODES] takes nothing more", (int)kwl, kw);
    }
  }
  regex_t re;
  int isregex = 0;
  if (kind == R_HEADER && end - p >= 2 && *p == '/' && end[-1] == '/') {
    char *src = malloc(end - p - 1);
    if (!src) return 0;
    memcpy(src, p + 1, end - p - 2);
    src[end - p - 2] = 0;
    int e = regcomp(&re, src, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    free(src);
    if (e) return bad(l, "not a regular expression (POSIX extended)");
    isregex = 1;
  }
  spam_rule *r = new_rule(c, nm, kind, weight);
  if (!r) { if (isregex) regfree(&re); return 0; }
  if (isregex) { r->re = re; r->isregex = 1; }
  memcpy(r->codes, codes, sizeof codes);
  r->ncodes = ncodes;
  if (arg && kind != R_HEADER && kind != R_MISSING) { r->pat = dup_lower(arg, argl); r->patlen = argl; }
  else if (arg && !(r->field = dup_lower(arg, argl))) return 0;
  if (kind == R_HEADER && !isregex) { r->pat = dup_lower(p, end - p); r->patlen = end - p; }
  if (kind == R_BODY) r->pat = phrase(p, end - p, &r->patlen);
  if (kind != R_MISSING && !r->pat && !r->isregex) return 0;
  return 1;
}

int spam_conf_rules(spam_conf *c, char const *text, size_t len, char *err, size_t errlen)
{
  lines l = { text, len, 0, 0, "spamrules", err, errlen };
  char const *p;
  size_t n;
  while (next_line(&l, &p, &n)) if (!rule_line(c, &l, p, n)) return 0;
  return 1;
}

/* ---- <confdir>/greylist */

int spam_conf_greylist(spam_conf *c, char const *text, size_t len, char *err, size_t errlen)
{
  lines l = { text, len, 0, 0, "greylist", err, errlen };
  char const *p, *w, *x, *end;
  size_t n, wl, xl;
  while (next_line(&l, &p, &n)) {
    end = p + n;
    next_word(&p, end, &w, &wl);
    if (word_is(w, wl, "exempt")) {
      int any = 0;
      while (next_word(&p, end, &x, &xl)) {
        spam_net net;
        if (!spam_net_parse(&net, x, xl)) return bad(&l, "not an address or network: %.*s", (int)(xl > 60 ? 60 : xl), x);
        if (!add_net(&c->grey_exempt, &c->ngrey_exempt, &net)) return 0;
        any = 1;
      }
      if (!any) return bad(&l, "exempt wants addresses or networks");
      continue;
    }
    if (next_word(&p, end, &x, &xl)) return bad(&l, "one domain per line");
    if (wl == 1 && *w == '*') { c->grey_all = 1; continue; }
    if (!host_ok(w, wl)) return bad(&l, "not a domain: %.*s", (int)(wl > 60 ? 60 : wl), w);
    char *d = dup_lower(w, wl);
    if (!d || !stralloc_catb(&c->grey_domains, d, wl + 1)) { free(d); return 0; }
    free(d);
  }
  return 1;
}

/* ---- a user's own settings */

unsigned spam_user_parse(spam_user *u, spam_conf const *c, char const *text, size_t len)
{
  lines l = { text, len, 0, 0, "pochta-spam", 0, 0 };
  char const *p, *k, *v, *x, *end;
  size_t n, kl, vl, xl;
  unsigned badlines = 0;
  u->junk = c->junk;
  u->bayes = c->bayes;
  while (next_line(&l, &p, &n)) {
    double num;
    end = p + n;
    next_word(&p, end, &k, &kl);
    if (!next_word(&p, end, &v, &vl) || next_word(&p, end, &x, &xl)) { badlines++; continue; }
    if (word_is(k, kl, "junk") && word_is(v, vl, "off")) u->junk = SPAM_OFF;
    else if (word_is(k, kl, "junk") && word_is(v, vl, "default")) u->junk = c->junk;
    else if (word_is(k, kl, "junk") && parse_num(v, vl, &num)) u->junk = num;
    else if (word_is(k, kl, "bayes") && word_is(v, vl, "on")) u->bayes = c->bayes;
    else if (word_is(k, kl, "bayes") && word_is(v, vl, "off")) u->bayes = 0;
    else badlines++;
  }
  return badlines;
}
