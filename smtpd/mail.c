/* MAIL and RCPT: parse a path and its parameters, check the address, decide
 * (local user, relay, refuse), and build the envelope F<sender>\0T<rcpt>\0...
 * Everything put into the envelope was validated here: no control characters,
 * no NUL, no spaces outside a quoted local part (the CVE-2020-7247 class). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include "smtpd.h"

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
int utf8_valid(char const *p, size_t n)
{
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)p[i];
    size_t k;
    unsigned long cp;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07; }
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      unsigned char d = (unsigned char)p[i + j];
      if ((d & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    i += k + 1;
  }
  return 1;
}

/* p is after "FROM:" or "TO:". Finds <...> (a source route @a,@b: is dropped),
 * NUL-terminates the address in place. 1 ok, 0 syntax error. */
static int path(char *p, char **addr, size_t *len, char **rest)
{
  char *start;
  int q = 0;
  while (*p == ' ') p++;
  if (*p != '<') return 0;
  p++;
  if (*p == '@') {
    while (*p && *p != ':' && *p != '>') p++;
    if (*p != ':') return 0;
    p++;
  }
  start = p;
  for (; *p; p++) {
    if (q) {
      if (*p == '\\' && p[1]) p++;
      else if (*p == '"') q = 0;
      continue;
    }
    if (*p == '"') q = 1;
    else if (*p == '>') break;
  }
  if (*p != '>') return 0;
  *p++ = 0;
  *addr = start;
  *len = (size_t)(p - 1 - start);
  if (*p && *p != ' ') return 0;
  while (*p == ' ') p++;
  *rest = p;
  return 1;
}

static int atext(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  if (c >= 0x80) return 1;   /* UTF-8, checked as a whole below */
  return c && strchr("!#$%&'*+-/=?^_`{|}~.", c) != 0;
}

/* Check an address: 1 ok, 0 bad syntax. *nonascii set if it has 8-bit octets.
 * An address without @ is allowed only as "postmaster" (RFC 5321 4.5.1). */
static int addr_ok(char const *a, size_t n, int *nonascii)
{
  size_t i, at = n;
  *nonascii = 0;
  if (n > ADDR_MAX) return 0;
  for (i = 0; i < n; i++) if ((unsigned char)a[i] >= 0x80) *nonascii = 1;
  if (*nonascii && !utf8_valid(a, n)) return 0;
  if (a[0] == '"') {
    for (i = 1; i < n && a[i] != '"'; i++) {
      unsigned char c = (unsigned char)a[i];
      if (c == '\\') { i++; if (i >= n) return 0; c = (unsigned char)a[i]; }
      if (c < 32 || c == 127) return 0;
    }
    if (i >= n) return 0;
    at = i + 1;
    if (at >= n || a[at] != '@') return 0;
  } else {
    for (i = 0; i < n && a[i] != '@'; i++) if (!atext((unsigned char)a[i])) return 0;
    at = i;
    if (!at || a[0] == '.' || a[at - 1] == '.') return 0;
  }
  if (at > LOCAL_MAX) return 0;
  if (at == n) return n == 10 && !strncasecmp(a, "postmaster", 10);
  i = at + 1;
  if (i >= n) return 0;
  if (a[i] == '[') {
    if (a[n - 1] != ']' || n - i < 3) return 0;
    for (i++; i < n - 1; i++) {   /* [1.2.3.4] or [IPv6:...] */
      unsigned char c = (unsigned char)a[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '.' || c == ':' || c == '-')) return 0;
    }
    return 1;
  }
  if (a[i] == '.' || a[n - 1] == '.') return 0;
  for (; i < n; i++) {
    unsigned char c = (unsigned char)a[i];
    if (c == '.' && a[i - 1] == '.') return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.' || c >= 0x80)) return 0;
  }
  return 1;
}

/* Parse a decimal number of at most 19 digits. 1 ok, 0 not a number. */
static int number(char const *p, unsigned long long *v)
{
  unsigned long long r = 0;
  size_t n = 0;
  if (!*p) return 0;
  for (; *p; p++, n++) {
    if (*p < '0' || *p > '9' || n >= 19) return 0;
    r = r * 10 + (unsigned long long)(*p - '0');
  }
  *v = r;
  return 1;
}

int smtpd_number(char const *p, unsigned long long *v) { return number(p, v); }

void cmd_mail(smtpd *s, char *arg)
{
  char *a, *rest, *prm;
  size_t n;
  int na;
  if (s->submission && !s->user.len) { reply(s, "530 5.7.0 Authentication required"); return; }
  if (!arg || strncasecmp(arg, "FROM:", 5) || !path(arg + 5, &a, &n, &rest)) {
    reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
    return;
  }
  if (n && (!addr_ok(a, n, &na) || !memchr(a, '@', n))) { reply(s, "501 5.1.7 Bad sender address syntax"); return; }
  if (!n) na = 0;
  s->utf8 = 0;
  while ((prm = strsep(&rest, " "))) {
    if (!*prm) continue;
    if (!s->esmtp) { reply(s, "555 5.5.4 Error: parameters need EHLO"); return; }
    if (!strncasecmp(prm, "SIZE=", 5)) {
      unsigned long long v;
      if (!number(prm + 5, &v)) { reply(s, "501 5.5.4 Error: bad SIZE parameter"); return; }
      if (v > s->databytes) { reply(s, "552 5.3.4 Message size exceeds fixed maximum message size"); return; }
    } else if (!strcasecmp(prm, "BODY=7BIT") || !strcasecmp(prm, "BODY=8BITMIME")) {
    } else if (!strcasecmp(prm, "SMTPUTF8")) {
      s->utf8 = 1;
    } else if (!strncasecmp(prm, "AUTH=", 5)) {
      /* RFC 4954 5: we do not trust another server's AUTH= claim; ignore it */
    } else { reply(s, "555 5.5.4 Error: unsupported MAIL parameter"); return; }
  }
  if (na && !s->utf8) { reply(s, "553 5.6.7 Error: non-ASCII address needs SMTPUTF8"); return; }
  if (s->user.len) {
    stralloc c = STRALLOC_ZERO;
    int r = n && users_canon(&c, a, n) ? users_owns(&s->u, s->user.s, c.s) : 0;
    stralloc_free(&c);
    if (r < 0) { reply(s, "451 4.3.0 Error: temporary lookup failure"); return; }
    if (!r) {
      slog(s, "mail", "from", a, "result", "not-owned", "user", s->user.s, (char *)0);
      reply(s, "553 5.7.1 Error: sender address not owned by the authenticated user");
      return;
    }
  }
  s->env.len = 0;
  if (!stralloc_catb(&s->env, "F", 1) || !stralloc_catb(&s->env, a, n + 1)) {
    reply(s, "451 4.3.0 Error: out of memory");
    return;
  }
  s->nrcpt = s->nfinal = 0;
  s->fwd[0] = 0;
  s->state = S_MAIL;
  slog(s, "mail", "from", a, (char *)0);
  reply(s, "250 2.1.0 Ok");
}

/* Append T<addr>\0 unless the envelope has it already. 1 added or present, 0 no memory. */
static int env_add(smtpd *s, char const *addr)
{
  size_t i = 0, n = strlen(addr);
  while (i < s->env.len) {
    size_t k = strlen(s->env.s + i);
    if (s->env.s[i] == 'T' && k == n + 1 && !memcmp(s->env.s + i + 1, addr, n)) return 1;
    i += k + 1;
  }
  if (!stralloc_catb(&s->env, "T", 1) || !stralloc_catb(&s->env, addr, n + 1)) return 0;
  s->nfinal++;
  return 1;
}

void cmd_rcpt(smtpd *s, char *arg)
{
  char *a, *rest;
  size_t n;
  int na, r;
  stralloc c = STRALLOC_ZERO, t = STRALLOC_ZERO;
  char const *dom;
  if (!arg || strncasecmp(arg, "TO:", 3) || !path(arg + 3, &a, &n, &rest)) {
    reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
    return;
  }
  if (!n || !addr_ok(a, n, &na)) { reply(s, "501 5.1.3 Bad recipient address syntax"); return; }
  if (*rest) { reply(s, "555 5.5.4 Error: unsupported RCPT parameter"); return; }
  if (na && !s->utf8) { reply(s, "553 5.6.7 Error: non-ASCII address needs SMTPUTF8"); return; }
  if (s->nrcpt >= RCPT_MAX) { reply(s, "452 4.5.3 Error: too many recipients"); return; }
  if (!memchr(a, '@', n)) {   /* <postmaster>: ours, at the host's name */
    if (!stralloc_cats(&t, "postmaster@") || !stralloc_cats(&t, s->me)) goto nomem;
    r = users_canon(&c, t.s, t.len);
    t.len = 0;
  } else r = users_canon(&c, a, n);
  if (!r) { reply(s, "501 5.1.3 Bad recipient address syntax"); goto out; }
  dom = strrchr(c.s, '@') + 1;
  r = *dom == '[' ? 0 : users_domain_local(&s->u, dom);
  if (r < 0) { reply(s, "451 4.3.0 Error: temporary lookup failure"); goto out; }
  if (r) {
    size_t i;
    r = users_resolve(&s->u, c.s, &t);
    if (r < 0) { reply(s, "451 4.3.0 Error: temporary lookup failure"); goto out; }
    if (!r) {
      slog(s, "rcpt", "to", a, "result", "unknown", (char *)0);
      reply(s, "550 5.1.1 Error: recipient address rejected: user unknown");
      goto out;
    }
    if (s->h->rcpt_check) {
      char why[256];
      r = s->h->rcpt_check(s, c.s, why, sizeof why);
      if (r < 0) { reply(s, "451 4.3.0 Error: temporary failure, try again later"); goto out; }
      if (!r) {
        slog(s, "rcpt", "to", a, "result", "deferred", (char *)0);
        reply(s, why);
        goto out;
      }
    }
    for (i = 0; i < t.len; i += strlen(t.s + i) + 1) {
      char const *td = strrchr(t.s + i, '@');
      if (!env_add(s, t.s + i)) goto nomem;
      /* a target off this host: the mail is forwarded, in dom's name */
      if (!s->fwd[0] && td && users_domain_local(&s->u, td + 1) == 0) snprintf(s->fwd, sizeof s->fwd, "%s", dom);
    }
  } else {
    if (!s->relayclient && !s->user.len) {
      slog(s, "rcpt", "to", a, "result", "relay-denied", (char *)0);
      reply(s, "554 5.7.1 Error: relay access denied");
      goto out;
    }
    if (!env_add(s, a)) goto nomem;
  }
  if (!s->nrcpt++) memcpy(s->rcpt1, a, n + 1);
  slog(s, "rcpt", "to", a, "result", "ok", (char *)0);
  reply(s, "250 2.1.5 Ok");
  goto out;
 nomem:
  reply(s, "451 4.3.0 Error: out of memory");
 out:
  stralloc_free(&c);
  stralloc_free(&t);
}
