/* The instance owner: the uid:gid that owns the Maildirs. Stored numerically in
 * confdir/owner so that programs never need a user database lookup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

/* A decimal id below 2^31 - 1 (the largest id Linux hands out is 2^32 - 2, but
 * nothing sane uses ids that large, and -1 means "no change" to chown). */
static int parse_id(char const *s, size_t len, unsigned long *v)
{
  size_t i;
  unsigned long n = 0;
  if (!len || len > 10) return 0;
  for (i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    n = n * 10 + (s[i] - '0');
  }
  if (n >= 2147483647UL) return 0;
  *v = n;
  return 1;
}

/* Look name up in /etc/passwd (no NSS: programs are linked statically). */
static int passwd_lookup(char const *name, uid_t *uid, gid_t *gid)
{
  stralloc sa = STRALLOC_ZERO;
  size_t pos = 0, nlen = strlen(name);
  char const *line;
  size_t len;
  if (!openslurpclose(&sa, "/etc/passwd")) return 0;
  while (tf_next(&sa, &pos, &line, &len)) {
    char const *f[4];
    size_t fl[4], i, k = 0, start = 0;
    /* name:x:uid:gid:... */
    for (i = 0; i <= len && k < 4; i++) {
      if (i == len || line[i] == ':') { f[k] = line + start; fl[k] = i - start; k++; start = i + 1; }
    }
    if (k < 4 || fl[0] != nlen || memcmp(f[0], name, nlen)) continue;
    unsigned long u, g;
    if (!parse_id(f[2], fl[2], &u) || !parse_id(f[3], fl[3], &g)) break;
    *uid = u; *gid = g;
    stralloc_free(&sa);
    return 1;
  }
  stralloc_free(&sa);
  return 0;
}

int owner_parse(char const *s, uid_t *uid, gid_t *gid)
{
  char const *c = strchr(s, ':');
  unsigned long u, g;
  if (c) {
    if (!parse_id(s, c - s, &u) || !parse_id(c + 1, strlen(c + 1), &g)) return 0;
    *uid = u; *gid = g;
    return 1;
  }
  return passwd_lookup(s, uid, gid);
}

void owner_get(uid_t *uid, gid_t *gid)
{
  stralloc sa = STRALLOC_ZERO;
  if (!tf_line(&sa, "owner")) strerr_dief(TEMP_EXIT, "no file owner in ", confdir, ": run pochta init first");
  if (!strchr(sa.s, ':') || !owner_parse(sa.s, uid, gid))
    strerr_dief(TEMP_EXIT, "bad uid:gid in ", confdir, "/owner: ", sa.s);
  stralloc_free(&sa);
}
