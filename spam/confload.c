/* spam/confload.c — reading the configuration files (the effect around conf.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "spam-int.h"

static int one(spam_conf *c, char const *dir, char const *name,
               int (*parse)(spam_conf *, char const *, size_t, char *, size_t), char *err, size_t errlen)
{
  char path[4096];
  stralloc t = STRALLOC_ZERO;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) { errno = ENAMETOOLONG; goto bad; }
  int r = spam_slurp(&t, path, 16u << 20, 0);
  if (r < 0) goto bad;
  if (r > 0 && !parse(c, t.s, t.len, err, errlen)) {
    if (errno == ENOMEM) snprintf(err, errlen, "%s: out of memory", name);
    stralloc_free(&t);
    return 0;
  }
  stralloc_free(&t);
  return 1;
bad:
  snprintf(err, errlen, "cannot read %s/%s: %s", dir, name, strerror(errno));
  stralloc_free(&t);
  return 0;
}

int spam_conf_load(spam_conf *c, char const *dir, int only_settings, char *err, size_t errlen)
{
  if (!spam_conf_init(c)) { snprintf(err, errlen, "out of memory"); return 0; }
  if (!one(c, dir, "spam", spam_conf_settings, err, errlen)
      || (!only_settings && (!one(c, dir, "spamrules", spam_conf_rules, err, errlen)
                             || !one(c, dir, "greylist", spam_conf_greylist, err, errlen)))) {
    spam_conf_free(c);
    return 0;
  }
  return 1;
}
