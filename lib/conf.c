#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "readsmall.h"

char const *conf_dir(void)
{
  char const *d = getenv("POCHTA_CONF");
  return d && *d ? d : POCHTA_CONF_DEFAULT;
}

int conf_path(char *buf, size_t len, char const *name)
{
  int n = snprintf(buf, len, "%s/%s", conf_dir(), name);
  return n > 0 && (size_t)n < len;
}

int conf_line(stralloc *sa, char const *name)
{
  char path[4096], buf[1024];
  char const *s = buf;
  size_t i, n;
  int r;
  if (!conf_path(path, sizeof path, name)) { errno = ENAMETOOLONG; return -1; }
  sa->len = 0;
  /* Most settings are a few octets: read into the stack, not a 4 KiB heap buffer
   * (with musl's allocator each read was an mmap and an munmap). */
  r = read_small(path, buf, sizeof buf, &n);
  if (r <= 0) return r;
  if (r == 2 && !memchr(buf, '\n', n)) {
    if (!openslurpclose(sa, path)) return errno == ENOENT ? 0 : -1;
    s = sa->s; n = sa->len;
  }
  for (i = 0; i < n && s[i] != '\n'; i++) ;
  while (i > 0 && (s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\r')) i--;
  if (s == buf) { if (!stralloc_copyb(sa, buf, i)) return -1; }
  else sa->len = i;
  if (!stralloc_0(sa)) return -1;
  sa->len--;
  return 1;
}

int conf_ulong(unsigned long *n, char const *name, unsigned long def)
{
  stralloc sa = STRALLOC_ZERO;
  char *end;
  int r = conf_line(&sa, name);
  *n = def;
  if (r <= 0) { stralloc_free(&sa); return r; }
  errno = 0;
  unsigned long v = strtoul(sa.s, &end, 10);
  if (!sa.len || *end || errno) { stralloc_free(&sa); errno = EINVAL; return -1; }
  stralloc_free(&sa);
  *n = v;
  return 1;
}
