/* spam/authres.c — the sender-authentication results this host wrote into its
 * Authentication-Results field (RFC 8601: "authserv-id; method=result ...;
 * ..."), as score: SPF_*, DKIM_*, DMARC_*, IPREV_FAIL, ARC_FAIL. Comments are
 * skipped; unknown methods and results count nothing; each rule counts once. */
#include <string.h>
#include <strings.h>

#include "spam-int.h"

/* Skip blanks and (nested) comments. */
static char const *skip(char const *p, char const *end)
{
  int depth = 0;
  while (p < end) {
    if (*p == '\\' && depth && p + 1 < end) { p += 2; continue; }
    if (*p == '(') depth++;
    else if (*p == ')' && depth) depth--;
    else if (!depth && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') break;
    p++;
  }
  return p;
}

static size_t token(char const *p, char const *end)
{
  size_t n = 0;
  while (p + n < end && ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '-' || p[n] == '_')) n++;
  return n;
}

static int is(char const *p, size_t n, char const *s) { return strlen(s) == n && !strncasecmp(p, s, n); }

void spam_authres_run(spam_conf const *c, char const *authres, spam_score *s)
{
  static struct { char const *method, *result, *rule; } const map[] = {
    { "spf", "pass", "SPF_PASS" }, { "spf", "fail", "SPF_FAIL" }, { "spf", "softfail", "SPF_SOFTFAIL" },
    { "spf", "permerror", "SPF_PERMERROR" },
    { "dkim", "pass", "DKIM_PASS" }, { "dkim", "fail", "DKIM_FAIL" },
    { "dmarc", "pass", "DMARC_PASS" }, { "dmarc", "fail", "DMARC_FAIL" },
    { "iprev", "fail", "IPREV_FAIL" }, { "iprev", "permerror", "IPREV_FAIL" },
    { "arc", "fail", "ARC_FAIL" },
  };
  enum { NMAP = sizeof map / sizeof *map };
  int seen[NMAP] = { 0 };
  if (!authres) return;
  char const *p = authres, *end = authres + strlen(authres);
  if (end - p > 23 && !strncasecmp(p, "Authentication-Results:", 23)) p += 23;
  /* the authserv-id and its version */
  while (p < end && *p != ';') p = (*p == '(') ? skip(p, end) : p + 1;
  while (p < end) {
    p = skip(p + 1, end);   /* past ';' */
    size_t ml = token(p, end);
    char const *m = p;
    p += ml;
    if (p < end && *p == '/') { p++; p += token(p, end); }
    p = skip(p, end);
    if (ml && p < end && *p == '=') {
      p = skip(p + 1, end);
      size_t rl = token(p, end);
      for (unsigned k = 0; k < NMAP; k++)
        if (is(m, ml, map[k].method) && is(p, rl, map[k].result)) seen[k] = 1;
      p += rl;
    }
    /* the rest of this result: properties up to the next ';' outside comments */
    while (p < end && *p != ';') {
      if (*p == '(') p = skip(p, end);
      else if (*p == '"') { p++; while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1; if (p < end) p++; }
      else p++;
    }
  }
  int dkim_pass = 0;
  for (unsigned k = 0; k < NMAP; k++) if (seen[k] && !strcmp(map[k].rule, "DKIM_PASS")) dkim_pass = 1;
  for (unsigned k = 0; k < NMAP; k++) {
    int again = 0;
    for (unsigned j = 0; j < k; j++) again |= seen[j] && !strcmp(map[j].rule, map[k].rule);
    /* one rule counts once; one good DKIM signature outweighs failed ones */
    if (!seen[k] || again || (dkim_pass && !strcmp(map[k].rule, "DKIM_FAIL"))) continue;
    spam_score_add(s, map[k].rule, spam_builtin_weight(c, map[k].rule));
  }
}
