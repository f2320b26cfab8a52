/* Checking a password against passwords.cdb (root only; see tools/compile.c).
 * Every password the user holds is tried, even after one matched, so the time an
 * answer takes does not tell which one matched; app passwords are random and long,
 * so their hashes are cheap ones ($5$, a thousand rounds) and the cost of a login
 * is about one yescrypt run however many app passwords there are. */
#include <crypt.h>
#include <errno.h>
#include <string.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

#include "passcheck.h"
#include "users.h"

#define LINES_MAX 64   /* passwords per user looked at: more is a broken file */

/* Does pass hash to h (NUL-terminated)? */
static int matches(char const *pass, char const *h)
{
  struct crypt_data cd;
  char const *c;
  int ok;
  memset(&cd, 0, sizeof cd);
  /* crypt_rn, not crypt_r: sanitizers intercept crypt_r and, with the static
   * libcrypt, find no real one to call. NULL or "*..." on failure. */
  c = crypt_rn(pass, h, &cd, sizeof cd);
  ok = c && c[0] != '*' && strlen(c) == strlen(h) && !strcmp(c, h);
  explicit_bzero(&cd, sizeof cd);
  return ok;
}

int passcheck(char const *addr, char const *pass, stralloc *label)
{
  cdb c;
  cdb_data d;
  char key[1024], line[1024];
  size_t n = strlen(addr);
  uint32_t i = 0;
  unsigned lines = 0;
  int r, found = 0;
  if (n + 3 > sizeof key) return 0;
  if (users_open_cdb(&c, "passwords.cdb") < 0) return -1;
  key[0] = 'p'; key[1] = ':';
  memcpy(key + 2, addr, n);
  r = cdb_find(&c, &d, key, (uint32_t)n + 2);
  if (r <= 0) { int e = errno; cdb_free(&c); errno = e; return r; }
  while (i < d.len && lines++ < LINES_MAX) {
    uint32_t j = i;
    char *h;
    while (j < d.len && d.s[j] != '\n') j++;
    if (j - i < sizeof line) {
      memcpy(line, d.s + i, j - i);
      line[j - i] = 0;
      h = strchr(line, ':');
      if (h) {
        *h++ = 0;
        if (matches(pass, h) && !found) {
          found = 1;
          if (label && (!stralloc_cats(label, line) || !stralloc_0(label))) { cdb_free(&c); return -1; }
        }
      }
    }
    i = j + 1;
  }
  cdb_free(&c);
  return found;
}

void passcheck_dummy(char const *pass)
{
  static char const h[] = "$y$j9T$C9xS06jn1.9h0GHWAfN3w2AiqR/MGcn0rdEyga6UPG.$hbD.4te9qGy3Qk1RHRkpyY8vv8IScWINOmNowg13HQ3";
  (void)matches(pass, h);
}
