#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "conf.h"

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
  char path[4096];
  size_t i;
  if (!conf_path(path, sizeof path, name)) { errno = ENAMETOOLONG; return -1; }
  sa->len = 0;
  if (!openslurpclose(sa, path)) return errno == ENOENT ? 0 : -1;
  for (i = 0; i < sa->len && sa->s[i] != '\n'; i++) ;
  while (i > 0 && (sa->s[i-1] == ' ' || sa->s[i-1] == '\t' || sa->s[i-1] == '\r')) i--;
  sa->len = i;
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
