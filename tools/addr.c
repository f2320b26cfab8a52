/* Validation of domains, addresses and labels. These names end up in paths
 * (<mailroot>/<domain>/<local>/Maildir) and in ':'-separated files, so only a
 * conservative set of octets passes. */
#include <string.h>

#include <skalibs/stralloc.h>

#include "pochta.h"

static char lower(char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* s[0..len) a DNS name: labels of [a-z0-9-] (1..63, no '-' at either end), at
 * most 253 octets, at least two labels. */
static int domain_ok(char const *s, size_t len)
{
  size_t i, l = 0, labels = 1;
  if (!len || len > 253) return 0;
  for (i = 0; i < len; i++) {
    char c = lower(s[i]);
    if (c == '.') {
      if (!l || s[i-1] == '-') return 0;
      l = 0; labels++;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    if (c == '-' && !l) return 0;
    if (++l > 63) return 0;
  }
  if (!l || s[len-1] == '-') return 0;
  return labels >= 2;
}

/* Local part: dot-atom text minus what is unsafe in a path or our files
 * ('/', ':', '|', '`', '$', '\'' and the like), at most 64 octets. */
static int local_ok(char const *s, size_t len)
{
  static char const ok[] = "abcdefghijklmnopqrstuvwxyz0123456789.!#%&*+-=?^_{}~";
  size_t i;
  if (!len || len > 64 || s[0] == '.' || s[len-1] == '.') return 0;
  for (i = 0; i < len; i++) {
    char c = lower(s[i]);
    if (!c || !strchr(ok, c)) return 0;
    if (c == '.' && s[i+1] == '.') return 0;
  }
  return 1;
}

static int put_lower(stralloc *sa, char const *s, size_t len)
{
  size_t i;
  sa->len = 0;
  if (!stralloc_ready(sa, len + 1)) return 0;
  for (i = 0; i < len; i++) sa->s[i] = lower(s[i]);
  sa->len = len;
  return stralloc_0(sa) ? (sa->len--, 1) : 0;
}

int addr_domain(stralloc *sa, char const *s)
{
  size_t len = strlen(s);
  if (!domain_ok(s, len)) return 0;
  return put_lower(sa, s, len);
}

int addr_address(stralloc *sa, char const *s)
{
  size_t len = strlen(s);
  char const *at = strrchr(s, '@');
  if (!at) return 0;
  if (!local_ok(s, at - s) || !domain_ok(at + 1, len - (at - s) - 1)) return 0;
  return put_lower(sa, s, len);
}

int addr_label(char const *s)
{
  size_t i, len = strlen(s);
  if (!len || len > 32 || s[0] == '.') return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return 0;
  }
  return 1;
}
