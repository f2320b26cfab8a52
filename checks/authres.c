/* Authentication-Results (RFC 8601): writing ours, and recognising incoming ones
 * that claim our authserv-id (to be removed, section 5). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "int.h"

int chk_fold(chk_buf *out, char const *name, char const *value, char const *eol)
{
  size_t col = strlen(name) + 1;
  if (!chk_buf_puts(out, name) || !chk_buf_puts(out, ":")) return 0;
  while (*value) {
    char const *w = value, *e;
    while (*w == ' ') w++;
    if (!*w) break;
    for (e = w; *e && *e != ' '; e++) ;
    size_t wl = (size_t)(e - w);
    if (col > 1 && col + 1 + wl > 78) {
      if (!chk_buf_puts(out, eol) || !chk_buf_puts(out, "\t")) return 0;
      col = 1;
    } else {
      if (!chk_buf_puts(out, " ")) return 0;
      col++;
    }
    if (!chk_buf_put(out, w, wl)) return 0;
    col += wl;
    value = e;
  }
  return chk_buf_puts(out, eol);
}

/* A property value as a token, or quoted when it holds anything else (RFC 8601 2.2:
 * value is a token or quoted-string; local-part@domain is allowed bare too). */
static int value(chk_buf *b, char const *v)
{
  int plain = *v != 0;
  for (char const *p = v; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= ' ' || c >= 127 || strchr("()<>,;:\\\"[]?=", c)) plain = 0;
  }
  if (plain) return chk_buf_puts(b, v);
  if (!chk_buf_puts(b, "\"")) return 0;
  for (char const *p = v; *p; p++) {
    unsigned char c = (unsigned char)*p;
    char q[2] = { (char)c, 0 };
    if (c < ' ' || c == 127) continue;          /* never a control character in a header */
    if ((c == '"' || c == '\\') && !chk_buf_puts(b, "\\")) return 0;
    if (!chk_buf_puts(b, q)) return 0;
  }
  return chk_buf_puts(b, "\"");
}

/* A comment "(text)" with parentheses and backslashes escaped. */
static int comment(chk_buf *b, char const *t)
{
  if (!*t) return 1;
  if (!chk_buf_puts(b, " (")) return 0;
  for (char const *p = t; *p; p++) {
    unsigned char c = (unsigned char)*p;
    char q[2] = { (char)c, 0 };
    if (c < ' ' || c == 127) continue;
    if ((c == '(' || c == ')' || c == '\\') && !chk_buf_puts(b, "\\")) return 0;
    if (!chk_buf_puts(b, q)) return 0;
  }
  return chk_buf_puts(b, ")");
}

static int method(chk_buf *b, char const *name, int result)
{
  return chk_buf_puts(b, "; ") && chk_buf_puts(b, name) && chk_buf_puts(b, "=") &&
         chk_buf_puts(b, chk_result_name(result));
}

static int prop(chk_buf *b, char const *name, char const *v)
{
  return chk_buf_puts(b, " ") && chk_buf_puts(b, name) && chk_buf_puts(b, "=") && value(b, v);
}

int authres_payload(chk_buf *b, char const *id, checks_out const *o, checks_env const *env)
{
  char ip[64] = "";
  static char const *const pol[] = { "none", "quarantine", "reject" };
  if (env) inet_ntop(env->family, env->ip, ip, sizeof ip);
  if (!value(b, id)) return 0;
  if (ip[0]) {
    if (!method(b, "iprev", o->iprev.result) || !prop(b, "policy.iprev", ip)) return 0;
    if (o->iprev.name[0] && !comment(b, o->iprev.name)) return 0;
  }
  if (!method(b, "spf", o->spf.result) || !comment(b, o->spf.why)) return 0;
  if (o->spf.sender[0] && env && env->mailfrom && *env->mailfrom) { if (!prop(b, "smtp.mailfrom", o->spf.sender)) return 0; }
  else if (o->spf.domain[0] && !prop(b, "smtp.helo", o->spf.domain)) return 0;
  if (o->spf_helo.result != CHK_NONE && env && env->mailfrom && *env->mailfrom) {
    if (!method(b, "spf", o->spf_helo.result) || !prop(b, "smtp.helo", o->spf_helo.domain)) return 0;
  }
  if (!o->dkim.n) { if (!method(b, "dkim", CHK_NONE)) return 0; }
  for (unsigned k = 0; k < o->dkim.n; k++) {
    dkim_sigres const *s = &o->dkim.sig[k];
    if (!method(b, "dkim", s->result)) return 0;
    if (s->result != CHK_PASS && !comment(b, s->why)) return 0;
    if (s->d[0] && !prop(b, "header.d", s->d)) return 0;
    if (s->s[0] && !prop(b, "header.s", s->s)) return 0;
    if (s->b[0] && !prop(b, "header.b", s->b)) return 0;
  }
  {
    int r = o->arc.cv == CHK_TEMPERROR ? CHK_FAIL : o->arc.cv;
    if (!method(b, "arc", r)) return 0;
    if (o->arc.cv == CHK_PASS) {
      char t[CHK_DOMAIN_MAX + 32];
      snprintf(t, sizeof t, "i=%u d=%s", o->arc.n, o->arc.sealer);
      if (!comment(b, t)) return 0;
    } else if (o->arc.why[0] && o->arc.cv != CHK_NONE && !comment(b, o->arc.why)) return 0;
  }
  if (!method(b, "dmarc", o->dmarc.result)) return 0;
  if (o->dmarc.result == CHK_PASS || o->dmarc.result == CHK_FAIL) {
    char t[CHK_DOMAIN_MAX + 64];
    char const *ov = strstr(o->dmarc.why, "overridden");
    snprintf(t, sizeof t, "p=%s dis=%s%s%s", pol[o->dmarc.policy], pol[o->dmarc.disposition],
             ov ? ", " : "", ov ? ov : "");
    if (!comment(b, t)) return 0;
  } else if (o->dmarc.result != CHK_NONE && !comment(b, o->dmarc.why)) return 0;
  if (o->dmarc.from[0] && !prop(b, "header.from", o->dmarc.from)) return 0;
  return 1;
}

int authres_write(chk_buf *b, char const *id, checks_out const *o, checks_env const *env, char const *eol)
{
  chk_buf p = CHK_BUF_ZERO;
  int ok = authres_payload(&p, id, o, env) && chk_fold(b, "Authentication-Results", p.s, eol);
  chk_buf_free(&p);
  return ok;
}

/* Skip CFWS: blanks, line ends and (nested) comments. */
static size_t cfws(char const *s, size_t i, size_t len)
{
  int depth = 0;
  for (; i < len; i++) {
    char c = s[i];
    if (depth) {
      if (c == '\\') i++;
      else if (c == '(') depth++;
      else if (c == ')') depth--;
      continue;
    }
    if (c == '(') { depth = 1; continue; }
    if (!chk_is_wsp((unsigned char)c)) break;
  }
  return i;
}

int authres_claims(char const *f, size_t len, char const *id)
{
  size_t i = 0, s;
  static char const name[] = "Authentication-Results";
  size_t nl = sizeof name - 1;
  while (i < len && f[i] != ':') i++;
  if (i == len) return 0;
  {
    size_t e = i;
    while (e > 0 && (f[e - 1] == ' ' || f[e - 1] == '\t')) e--;
    if (chk_casecmpn(f, e, name, nl)) return 0;
  }
  i = cfws(f, i + 1, len);
  s = i;
  if (i < len && f[i] == '"') {             /* a quoted authserv-id */
    s = ++i;
    while (i < len && f[i] != '"') i++;
  } else {
    while (i < len && !chk_is_wsp((unsigned char)f[i]) && f[i] != ';' && f[i] != '(') i++;
  }
  return !chk_casecmpn(f + s, i - s, id, strlen(id));
}
