/* pochta domain add|del|list */
#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

#define DOMAIN_USAGE "pochta domain add DOMAIN | del DOMAIN | list"

static int drop_domain(char const *line, size_t len, void *ctx)
{
  return tf_line_is(line, len, ctx);
}

/* Does a users or aliases line name an address (or catch-all) in domain ctx? */
static int in_domain(char const *line, size_t len, void *ctx)
{
  char const *d = ctx, *k, *at;
  size_t klen, dlen = strlen(d);
  if (tf_skip(line, len)) return 0;
  k = tf_key(line, len, &klen);
  if (!klen) return 0;
  at = memchr(k, '@', klen);
  if (!at) return 0;
  at++;
  if ((size_t)(k + klen - at) != dlen) return 0;
  for (size_t i = 0; i < dlen; i++) {
    char c = at[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != d[i]) return 0;
  }
  return 1;
}

int domain_is_local(char const *d)
{
  stralloc sa = STRALLOC_ZERO, out = STRALLOC_ZERO;
  int r;
  tf_read(&sa, "domains");
  r = tf_filter(&out, &sa, drop_domain, (void *)d) > 0;
  stralloc_free(&sa); stralloc_free(&out);
  return r;
}

int cmd_domain(int argc, char const *const *argv)
{
  stralloc d = STRALLOC_ZERO, sa = STRALLOC_ZERO, out = STRALLOC_ZERO;
  if (argc == 2 && !strcmp(argv[1], "list")) {
    size_t pos = 0, len;
    char const *line;
    tf_read(&sa, "domains");
    while (tf_next(&sa, &pos, &line, &len)) {
      if (tf_skip(line, len)) continue;
      if (buffer_put(buffer_1, line, len) < 0 || buffer_put(buffer_1, "\n", 1) < 0)
        strerr_diefu1sys(TEMP_EXIT, "write to stdout");
    }
    if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
    stralloc_free(&sa);
    return 0;
  }
  if (argc != 3) strerr_dieusage(USAGE_EXIT, DOMAIN_USAGE);
  if (!addr_domain(&d, argv[2])) strerr_dief(USAGE_EXIT, "not a domain name: ", argv[2]);
  tf_lock();
  tf_read(&sa, "domains");
  if (!strcmp(argv[1], "add")) {
    if (tf_filter(&out, &sa, drop_domain, d.s)) {
      strerr_warnw("domain ", d.s, " exists already");
      goto done;
    }
    if (!stralloc_catb(&out, d.s, d.len) || !stralloc_catb(&out, "\n", 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    tf_write("domains", out.s, out.len, 0644);
    compile();
    goto done;
  }
  if (!strcmp(argv[1], "del")) {
    stralloc x = STRALLOC_ZERO, y = STRALLOC_ZERO;
    if (!tf_filter(&out, &sa, drop_domain, d.s)) strerr_dief(USAGE_EXIT, "no such domain: ", d.s);
    /* Refuse to leave users or aliases of a domain that is no longer local. */
    tf_read(&x, "users");
    if (tf_filter(&y, &x, in_domain, d.s)) strerr_dief(USAGE_EXIT, "domain ", d.s, " still has users: delete them first");
    x.len = y.len = 0;
    tf_read(&x, "aliases");
    if (tf_filter(&y, &x, in_domain, d.s)) strerr_dief(USAGE_EXIT, "domain ", d.s, " still has aliases: delete them first");
    tf_write("domains", out.s, out.len, 0644);
    compile();
    stralloc_free(&x); stralloc_free(&y);
    goto done;
  }
  strerr_dieusage(USAGE_EXIT, DOMAIN_USAGE);
 done:
  stralloc_free(&d); stralloc_free(&sa); stralloc_free(&out);
  return 0;
}
