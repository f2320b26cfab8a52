/* SPF (RFC 7208): check_host() over the hook's DNS, with the lookup limits of 4.6.4
 * (10 DNS-querying terms, 2 void lookups, 10 MX and PTR names), include and
 * redirect recursion bounded by those limits, and the whole record checked for
 * syntax before anything is evaluated (4.6). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "int.h"

enum { M_ALL = 1, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS,
       MOD_REDIRECT, MOD_EXP, MOD_OTHER };

typedef struct term_s {
  int kind;
  int q;                       /* CHK_PASS, CHK_FAIL, CHK_SOFTFAIL, CHK_NEUTRAL */
  char const *arg; size_t alen; /* domain-spec (or network text); alen 0: none */
  int c4, c6;                  /* CIDR lengths, -1 absent */
  unsigned char net[16];
} term;

typedef struct ctx_s {
  chk_dns *dns;
  spf_req const *rq;
  spf_out *out;
} ctx;

#define RECORD_MAX 4096        /* a longer SPF record is refused (permerror) */
#define TERMS_MAX 256

static int is_alnum(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand */
static int domain_spec_ok(char const *s, size_t len, spf_req const *rq)
{
  char tmp[2048];
  if (!len) return 0;
  if (!spf_macro(0, rq, "x", "x@x", s, len, 0, tmp, sizeof tmp)) return 0;
  if (s[len - 1] == '}') return 1;
  if (len >= 2 && s[len - 2] == '%' && (s[len - 1] == '%' || s[len - 1] == '_' || s[len - 1] == '-')) return 1;
  if (s[len - 1] == '.') len--;
  size_t dot = len;
  while (dot > 0 && s[dot - 1] != '.') dot--;
  if (!dot) return 0;                               /* a toplabel alone */
  char const *t = s + dot;
  size_t tl = len - dot;
  int alpha = 0;
  if (!tl || t[0] == '-' || t[tl - 1] == '-') return 0;
  for (size_t i = 0; i < tl; i++) {
    if (!is_alnum(t[i]) && t[i] != '-') return 0;
    if (!(t[i] >= '0' && t[i] <= '9') && t[i] != '-') alpha = 1;
  }
  /* all digits is not a toplabel; digits with a dash are (1*alphanum "-" ...) */
  return alpha || memchr(t, '-', tl);
}

/* "/N" with no leading zero, N <= max. Returns the length consumed, 0 on error. */
static size_t cidr(char const *s, size_t len, int max, int *out)
{
  size_t i = 1;
  int v = 0;
  if (len < 2 || s[0] != '/' || s[1] < '0' || s[1] > '9') return 0;
  if (s[1] == '0' && len > 2 && s[2] >= '0' && s[2] <= '9') return 0;
  while (i < len && s[i] >= '0' && s[i] <= '9') { v = v * 10 + (s[i] - '0'); if (v > max) return 0; i++; }
  *out = v;
  return i;
}

static int ip4_text(char const *s, size_t len, unsigned char *out)
{
  char b[16];
  int dots = 0;
  if (len >= sizeof b) return 0;
  for (size_t i = 0; i < len; i++) { if (s[i] == '.') dots++; else if (s[i] < '0' || s[i] > '9') return 0; }
  memcpy(b, s, len); b[len] = 0;
  return dots == 3 && inet_pton(AF_INET, b, out) == 1;
}

static int parse_term(char const *s, size_t len, term *t, spf_req const *rq)
{
  static struct { char const *name; int kind; } const mechs[] = {
    { "all", M_ALL }, { "include", M_INCLUDE }, { "a", M_A }, { "mx", M_MX }, { "ptr", M_PTR },
    { "ip4", M_IP4 }, { "ip6", M_IP6 }, { "exists", M_EXISTS }, { 0, 0 }
  };
  size_t n = 0, i;
  memset(t, 0, sizeof *t);
  t->q = CHK_PASS;
  t->c4 = t->c6 = -1;
  /* a modifier: name "=" macro-string */
  while (n < len && (is_alnum(s[n]) || (n && (s[n] == '-' || s[n] == '_' || s[n] == '.')))) n++;
  if (n && n < len && s[n] == '=' && !(s[0] >= '0' && s[0] <= '9')) {
    t->arg = s + n + 1;
    t->alen = len - n - 1;
    if (!chk_casecmpn(s, n, "redirect", 8)) t->kind = MOD_REDIRECT;
    else if (!chk_casecmpn(s, n, "exp", 3)) t->kind = MOD_EXP;
    else {
      char tmp[2048];
      t->kind = MOD_OTHER;
      return spf_macro(0, rq, "x", "x@x", t->arg, t->alen, 0, tmp, sizeof tmp);
    }
    return domain_spec_ok(t->arg, t->alen, rq);
  }
  i = 0;
  switch (s[0]) {
  case '+': t->q = CHK_PASS; i = 1; break;
  case '-': t->q = CHK_FAIL; i = 1; break;
  case '~': t->q = CHK_SOFTFAIL; i = 1; break;
  case '?': t->q = CHK_NEUTRAL; i = 1; break;
  }
  n = i;
  while (n < len && is_alnum(s[n])) n++;
  for (int k = 0; mechs[k].name; k++)
    if (!chk_casecmpn(s + i, n - i, mechs[k].name, strlen(mechs[k].name))) t->kind = mechs[k].kind;
  if (!t->kind) return 0;                              /* unknown mechanism */
  s += n; len -= n;
  switch (t->kind) {
  case M_ALL:
    return len == 0;
  case M_INCLUDE: case M_EXISTS:
    if (len < 2 || s[0] != ':') return 0;
    t->arg = s + 1; t->alen = len - 1;
    return domain_spec_ok(t->arg, t->alen, rq);
  case M_PTR:
    if (!len) return 1;
    if (len < 2 || s[0] != ':') return 0;
    t->arg = s + 1; t->alen = len - 1;
    return domain_spec_ok(t->arg, t->alen, rq);
  case M_A: case M_MX: {
    /* the dual-cidr is taken from the end: a domain-spec may contain '/' */
    size_t e = len, k;
    int c4 = -1, c6 = -1;
    size_t d = e;
    while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9') d--;
    if (d < e && d >= 2 && s[d - 1] == '/' && s[d - 2] == '/') {
      if (!(k = cidr(s + d - 1, e - d + 1, 128, &c6))) return 0;
      e = d - 2;
      d = e;
      while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9') d--;
    }
    if (d < e && d >= 1 && s[d - 1] == '/' && !(d >= 2 && s[d - 2] == '/')) {
      if (!(k = cidr(s + d - 1, e - d + 1, 32, &c4))) return 0;
      e = d - 1;
    }
    t->c4 = c4;
    t->c6 = c6;
    if (e && s[0] == ':') {
      t->arg = s + 1; t->alen = e - 1;
      return domain_spec_ok(t->arg, t->alen, rq);
    }
    return e == 0;
  }
  case M_IP4: case M_IP6: {
    size_t e, k = 0;
    if (len < 2 || s[0] != ':') return 0;
    s++; len--;
    for (e = 0; e < len && s[e] != '/'; e++) ;
    if (t->kind == M_IP4) {
      if (!ip4_text(s, e, t->net)) return 0;
      t->c4 = 32;
      if (e < len && !(k = cidr(s + e, len - e, 32, &t->c4))) return 0;
    } else {
      char b[64];
      if (e >= sizeof b) return 0;
      memcpy(b, s, e); b[e] = 0;
      if (inet_pton(AF_INET6, b, t->net) != 1) return 0;
      t->c6 = 128;
      if (e < len && !(k = cidr(s + e, len - e, 128, &t->c6))) return 0;
    }
    return e + k == len;
  }
  }
  return 0;
}

static int in_net(unsigned char const *ip, unsigned char const *net, int bits)
{
  int full = bits / 8, rest = bits % 8;
  if (memcmp(ip, net, (size_t)full)) return 0;
  if (!rest) return 1;
  unsigned char m = (unsigned char)(0xff << (8 - rest));
  return (ip[full] & m) == (net[full] & m);
}

/* Expand a domain-spec and cut it to 253 octets from the left (7.3). 1 ok. */
static int target(ctx *c, term const *t, char const *domain, char const *sender, char *out)
{
  char tmp[2048];
  char *p = tmp;
  if (!t->alen) { snprintf(out, CHK_DOMAIN_MAX + 1, "%s", domain); return 1; }
  if (!spf_macro(c->dns, c->rq, domain, sender, t->arg, t->alen, 0, tmp, sizeof tmp)) return 0;
  size_t l = strlen(p);
  if (l && p[l - 1] == '.') p[--l] = 0;
  while (l > CHK_DOMAIN_MAX) {
    char *d = strchr(p, '.');
    if (!d) return 0;
    l -= (size_t)(d + 1 - p);
    p = d + 1;
  }
  memcpy(out, p, l + 1);
  return 1;
}

static int lookup(ctx *c, char const *name, uint16_t type, dns_result *res, int is_void_counted)
{
  int st = chk_query(c->dns, name, type, res);
  if (st == DNS_TEMP) return -1;
  if (st == DNS_BADNAME) { res->n = 0; return 0; }
  if (is_void_counted && (st == DNS_NXDOMAIN || !res->n)) {
    if (++c->out->voids > SPF_VOID_MAX) return -2;
  }
  return 1;
}

static int count_lookup(ctx *c) { return ++c->out->lookups <= SPF_LOOKUP_MAX; }

/* Does one of name's address records match the client within the CIDR lengths?
 * 1 match, 0 no, -1 temperror, -2 void limit */
static int addr_match(ctx *c, char const *name, term const *t, dns_result *res, int count_void)
{
  int v4 = c->rq->family == AF_INET;
  int r = lookup(c, name, v4 ? DNS_T_A : DNS_T_AAAA, res, count_void);
  if (r < 0) return r;
  for (unsigned i = 0; i < res->n; i++)
    if (in_net(c->rq->ip, res->rr[i].ip, v4 ? (t->c4 < 0 ? 32 : t->c4) : (t->c6 < 0 ? 128 : t->c6))) return 1;
  return 0;
}

static int check(ctx *c, char const *domain, char const *sender, int depth, char *why, size_t whylen);

static void explain(ctx *c, term const *e, char const *domain, char const *sender)
{
  char name[CHK_DOMAIN_MAX + 1];
  dns_result *res = malloc(sizeof *res);
  if (!res) return;
  if (target(c, e, domain, sender, name) && dns_name_ok(name) &&
      chk_query(c->dns, name, DNS_T_TXT, res) == DNS_OK && res->n == 1) {
    if (!spf_macro(c->dns, c->rq, domain, sender, (char const *)res->rr[0].data, res->rr[0].len, 1,
                   c->out->exp, sizeof c->out->exp)) c->out->exp[0] = 0;
  }
  free(res);
}

/* The record of domain: 1 found (into rec), 0 none, -1 temperror, -2 permerror */
static int record(ctx *c, char const *domain, char *rec, size_t max)
{
  dns_result *res = malloc(sizeof *res);
  int st, found = 0;
  if (!res) return -1;
  st = chk_query(c->dns, domain, DNS_T_TXT, res);
  if (st == DNS_TEMP) { free(res); return -1; }
  if (st == DNS_OK) {
    for (unsigned i = 0; i < res->n; i++) {
      char const *d = (char const *)res->rr[i].data;
      size_t l = res->rr[i].len;
      if (l < 6 || chk_casecmpn(d, 6, "v=spf1", 6) || (l > 6 && d[6] != ' ')) continue;
      if (found++) { free(res); return -2; }        /* two records: permerror (4.5) */
      if (l >= max) { free(res); return -2; }
      for (size_t k = 0; k < l; k++)                 /* 3.1: US-ASCII text; NUL, CR, ... */
        if ((unsigned char)d[k] < 0x20 || (unsigned char)d[k] > 0x7e) { free(res); return -2; }
      memcpy(rec, d, l);
      rec[l] = 0;
    }
  }
  free(res);
  return found ? 1 : 0;
}

#define RESULT(r, ...) do { snprintf(why, whylen, __VA_ARGS__); result = (r); goto end; } while (0)

static int check(ctx *c, char const *domain, char const *sender, int depth, char *why, size_t whylen)
{
  char *rec = 0, name[CHK_DOMAIN_MAX + 1];
  term *terms = 0;
  term const *redirect = 0, *exp = 0;
  unsigned nt = 0;
  int result = CHK_NEUTRAL, all = 0;
  dns_result *res = 0, *res2 = 0;
  if (!chk_domain_ok(domain, 0) || !dns_name_ok(domain)) { snprintf(why, whylen, "not a domain"); return CHK_NONE; }
  if (!(rec = malloc(RECORD_MAX)) || !(terms = malloc(TERMS_MAX * sizeof *terms)) ||
      !(res = malloc(sizeof *res)) || !(res2 = malloc(sizeof *res2))) RESULT(CHK_TEMPERROR, "out of memory");
  switch (record(c, domain, rec, RECORD_MAX)) {
  case 0: RESULT(CHK_NONE, "no SPF record for %s", domain);
  case -1: RESULT(CHK_TEMPERROR, "DNS failure for the SPF record of %s", domain);
  case -2: RESULT(CHK_PERMERROR, "several SPF records, or one too long or not ASCII, for %s", domain);
  }
  /* syntax of every term first */
  for (char *p = rec + 6; *p;) {
    char *e;
    while (*p == ' ') p++;
    if (!*p) break;
    for (e = p; *e && *e != ' '; e++) ;
    if (nt >= TERMS_MAX) RESULT(CHK_PERMERROR, "too many terms in the SPF record of %s", domain);
    if (!parse_term(p, (size_t)(e - p), &terms[nt], c->rq))
      RESULT(CHK_PERMERROR, "syntax error in the SPF record of %s: %.*s", domain, (int)(e - p > 40 ? 40 : e - p), p);
    if (terms[nt].kind == MOD_REDIRECT) { if (redirect) RESULT(CHK_PERMERROR, "two redirect= in %s", domain); redirect = &terms[nt]; }
    if (terms[nt].kind == MOD_EXP) { if (exp) RESULT(CHK_PERMERROR, "two exp= in %s", domain); exp = &terms[nt]; }
    if (terms[nt].kind == M_ALL) all = 1;
    nt++;
    p = e;
  }
  for (unsigned k = 0; k < nt; k++) {
    term const *t = &terms[k];
    int m = 0, r;
    switch (t->kind) {
    case M_ALL: m = 1; break;
    case M_IP4: m = c->rq->family == AF_INET && in_net(c->rq->ip, t->net, t->c4); break;
    case M_IP6: m = c->rq->family == AF_INET6 && in_net(c->rq->ip, t->net, t->c6); break;
    case M_A:
      if (!count_lookup(c)) RESULT(CHK_PERMERROR, "more than %d DNS lookups", SPF_LOOKUP_MAX);
      if (!target(c, t, domain, sender, name)) RESULT(CHK_PERMERROR, "bad macro in %s", domain);
      if (!dns_name_ok(name)) break;
      if ((r = addr_match(c, name, t, res, 1)) == -1) RESULT(CHK_TEMPERROR, "DNS failure for %s", name);
      if (r == -2) RESULT(CHK_PERMERROR, "more than %d void lookups", SPF_VOID_MAX);
      m = r;
      break;
    case M_MX:
      if (!count_lookup(c)) RESULT(CHK_PERMERROR, "more than %d DNS lookups", SPF_LOOKUP_MAX);
      if (!target(c, t, domain, sender, name)) RESULT(CHK_PERMERROR, "bad macro in %s", domain);
      if (!dns_name_ok(name)) break;
      r = lookup(c, name, DNS_T_MX, res, 1);
      if (r == -1) RESULT(CHK_TEMPERROR, "DNS failure for the MX of %s", name);
      if (r == -2) RESULT(CHK_PERMERROR, "more than %d void lookups", SPF_VOID_MAX);
      if (res->n > SPF_MX_MAX) RESULT(CHK_PERMERROR, "more than %d MX names for %s", SPF_MX_MAX, name);
      {
        /* names out of res before res2 is reused for each one's addresses */
        char mxn[SPF_MX_MAX][CHK_DOMAIN_MAX + 1];
        unsigned nm = 0;
        for (unsigned i = 0; i < res->n; i++) snprintf(mxn[nm++], sizeof mxn[0], "%s", res->rr[i].name);
        for (unsigned i = 0; i < nm && !m; i++) {
          if (!mxn[i][0] || !dns_name_ok(mxn[i])) continue;
          if ((r = addr_match(c, mxn[i], t, res2, 0)) == -1) RESULT(CHK_TEMPERROR, "DNS failure for %s", mxn[i]);
          m = r > 0;
        }
      }
      break;
    case M_PTR:
      if (!count_lookup(c)) RESULT(CHK_PERMERROR, "more than %d DNS lookups", SPF_LOOKUP_MAX);
      if (!target(c, t, domain, sender, name)) RESULT(CHK_PERMERROR, "bad macro in %s", domain);
      {
        char rev[80];
        dns_revname(rev, c->rq->family, c->rq->ip);
        r = lookup(c, rev, DNS_T_PTR, res, 1);
        if (r == -2) RESULT(CHK_PERMERROR, "more than %d void lookups", SPF_VOID_MAX);
        if (r < 0) break;                           /* 5.5: a DNS error is no match */
        char pn[SPF_PTR_MAX][CHK_DOMAIN_MAX + 1];
        unsigned np = 0;
        for (unsigned i = 0; i < res->n && np < SPF_PTR_MAX; i++) snprintf(pn[np++], sizeof pn[0], "%s", res->rr[i].name);
        term any = *t;
        any.c4 = any.c6 = -1;
        for (unsigned i = 0; i < np && !m; i++) {
          if (!chk_domain_under(pn[i], name) || !dns_name_ok(pn[i])) continue;
          m = addr_match(c, pn[i], &any, res2, 0) > 0;
        }
      }
      break;
    case M_EXISTS:
      if (!count_lookup(c)) RESULT(CHK_PERMERROR, "more than %d DNS lookups", SPF_LOOKUP_MAX);
      if (!target(c, t, domain, sender, name)) RESULT(CHK_PERMERROR, "bad macro in %s", domain);
      if (!dns_name_ok(name)) break;
      r = lookup(c, name, DNS_T_A, res, 1);
      if (r == -1) RESULT(CHK_TEMPERROR, "DNS failure for %s", name);
      if (r == -2) RESULT(CHK_PERMERROR, "more than %d void lookups", SPF_VOID_MAX);
      m = res->n > 0;
      break;
    case M_INCLUDE: {
      char w[128];
      if (!count_lookup(c)) RESULT(CHK_PERMERROR, "more than %d DNS lookups", SPF_LOOKUP_MAX);
      if (!target(c, t, domain, sender, name)) RESULT(CHK_PERMERROR, "bad macro in %s", domain);
      r = check(c, name, sender, depth + 1, w, sizeof w);
      c->out->exp[0] = 0;              /* an included record's explanation is not ours */
      if (r == CHK_TEMPERROR) RESULT(CHK_TEMPERROR, "%s", w);
      if (r == CHK_PERMERROR) RESULT(CHK_PERMERROR, "%s", w);
      if (r == CHK_NONE) RESULT(CHK_PERMERROR, "include:%s has no SPF record", name);
      m = r == CHK_PASS;
      break;
    }
    default: continue;                                /* modifiers */
    }
    if (m) {
      static char const *const mn[] = { "", "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists" };
      result = t->q;
      snprintf(why, whylen, "%s matched %s%s%s%.*s", domain,
               t->q == CHK_PASS ? "" : t->q == CHK_FAIL ? "-" : t->q == CHK_SOFTFAIL ? "~" : "?",
               mn[t->kind], t->alen ? ":" : "", t->alen > 60 ? 60 : (int)t->alen, t->arg ? t->arg : "");
      if (result == CHK_FAIL && exp) explain(c, exp, domain, sender);
      goto end;
    }
  }
  if (redirect && !all) {
    char w[128];
    int r;
    if (!count_lookup(c)) RESULT(CHK_PERMERROR, "more than %d DNS lookups", SPF_LOOKUP_MAX);
    if (!target(c, redirect, domain, sender, name)) RESULT(CHK_PERMERROR, "bad macro in %s", domain);
    r = check(c, name, sender, depth + 1, w, sizeof w);
    if (r == CHK_NONE) RESULT(CHK_PERMERROR, "redirect=%s has no SPF record", name);
    RESULT(r, "%s", w);
  }
  RESULT(CHK_NEUTRAL, "%s: no mechanism matched", domain);
end:
  free(rec);
  free(terms);
  free(res);
  free(res2);
  return result;
}

int spf_check_host(chk_dns *dns, spf_req const *rq, char const *domain, char const *sender, spf_out *out)
{
  ctx c = { dns, rq, out };
  char d[CHK_DOMAIN_MAX + 2];
  size_t l = strlen(domain);
  memset(out, 0, sizeof *out);
  if (l && domain[l - 1] == '.') l--;
  if (l > CHK_DOMAIN_MAX) { out->result = CHK_NONE; snprintf(out->why, sizeof out->why, "domain too long"); return CHK_NONE; }
  chk_copy_lower(d, sizeof d, domain, l);
  snprintf(out->domain, sizeof out->domain, "%s", d);
  snprintf(out->sender, sizeof out->sender, "%s", sender);
  out->result = check(&c, d, sender, 0, out->why, sizeof out->why);
  return out->result;
}

/* A HELO name worth checking: a FQDN, not an address literal. */
static int fqdn(char const *h)
{
  return h && *h && *h != '[' && strchr(h, '.') && chk_domain_ok(h, 0);
}

int spf_check(chk_dns *dns, spf_req const *rq, spf_out *mailfrom, spf_out *helo)
{
  char sender[CHK_DOMAIN_MAX + 80];
  char const *at;
  if (helo) {
    if (fqdn(rq->helo)) {
      snprintf(sender, sizeof sender, "postmaster@%s", rq->helo);
      spf_check_host(dns, rq, rq->helo, sender, helo);
    } else {
      memset(helo, 0, sizeof *helo);
      helo->result = CHK_NONE;
      snprintf(helo->why, sizeof helo->why, "HELO is not a domain");
    }
  }
  if (!rq->sender || !*rq->sender) {
    /* the null sender: the HELO identity stands for it (2.4) */
    if (!fqdn(rq->helo)) {
      memset(mailfrom, 0, sizeof *mailfrom);
      mailfrom->result = CHK_NONE;
      snprintf(mailfrom->why, sizeof mailfrom->why, "null sender and no HELO domain");
      return CHK_NONE;
    }
    snprintf(sender, sizeof sender, "postmaster@%s", rq->helo);
    return spf_check_host(dns, rq, rq->helo, sender, mailfrom);
  }
  at = strrchr(rq->sender, '@');
  if (!at) {
    /* no local part (4.3): postmaster */
    snprintf(sender, sizeof sender, "postmaster@%s", rq->sender);
    return spf_check_host(dns, rq, rq->sender, sender, mailfrom);
  }
  if (at == rq->sender) {
    snprintf(sender, sizeof sender, "postmaster%s", rq->sender);
    return spf_check_host(dns, rq, at + 1, sender, mailfrom);
  }
  return spf_check_host(dns, rq, at + 1, rq->sender, mailfrom);
}
