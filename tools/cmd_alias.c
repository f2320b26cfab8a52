/* pochta alias add|del|list and pochta catchall. aliases: "address: t1, t2" and
 * "@domain: target" for a domain's catch-all. */
#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

#define ALIAS_USAGE "pochta alias add ADDR TARGET... | del ADDR | list"
#define CATCHALL_USAGE "pochta catchall DOMAIN TARGET | catchall DOMAIN off"

static void nomem(void) { strerr_diefu1sys(TEMP_EXIT, "allocate"); }

static int drop_key(char const *line, size_t len, void *ctx) { return tf_key_is(line, len, ctx); }

/* Is t (NUL-terminated) among the ", "-separated targets in list? */
static int listed(stralloc const *list, char const *t)
{
  size_t i = 0, n = strlen(t);
  while (i < list->len) {
    size_t j = i;
    while (j < list->len && list->s[j] != ',') j++;
    size_t a = i, b = j;
    while (a < b && (list->s[a] == ' ' || list->s[a] == '\t')) a++;
    while (b > a && (list->s[b-1] == ' ' || list->s[b-1] == '\t')) b--;
    if (b - a == n && !strncasecmp(list->s + a, t, n)) return 1;
    i = j + 1;
  }
  return 0;
}

/* Set key's line to "key: targets" where targets = the old ones (if keep) plus the
 * new, without duplicates. */
static void set_alias(char const *key, char const *const *targets, int n, int keep)
{
  stralloc sa = STRALLOC_ZERO, out = STRALLOC_ZERO, list = STRALLOC_ZERO, t = STRALLOC_ZERO;
  size_t pos = 0, len, rlen;
  char const *line, *r;
  tf_read(&sa, "aliases");
  if (keep) {
    while (tf_next(&sa, &pos, &line, &len)) {
      if (!tf_key_is(line, len, key)) continue;
      r = tf_after_key(line, len, &rlen);
      if (rlen && ((list.len && !stralloc_cats(&list, ", ")) || !stralloc_catb(&list, r, rlen))) nomem();
    }
  }
  for (int i = 0; i < n; i++) {
    if (!addr_target(&t, targets[i])) strerr_dief(USAGE_EXIT, "not a valid target address: ", targets[i]);
    if (listed(&list, t.s)) continue;
    if ((list.len && !stralloc_cats(&list, ", ")) || !stralloc_catb(&list, t.s, t.len)) nomem();
  }
  tf_filter(&out, &sa, drop_key, (void *)key);
  if (!stralloc_cats(&out, key) || !stralloc_cats(&out, ": ") || !stralloc_catb(&out, list.s, list.len)
   || !stralloc_catb(&out, "\n", 1)) nomem();
  tf_write("aliases", out.s, out.len, 0644);
  stralloc_free(&sa); stralloc_free(&out); stralloc_free(&list); stralloc_free(&t);
}

static void del_alias(char const *key, int must)
{
  stralloc sa = STRALLOC_ZERO, out = STRALLOC_ZERO;
  tf_read(&sa, "aliases");
  if (!tf_filter(&out, &sa, drop_key, (void *)key)) {
    if (must) strerr_dief(USAGE_EXIT, "no such alias: ", key);
    stralloc_free(&sa); stralloc_free(&out);
    return;
  }
  tf_write("aliases", out.s, out.len, 0644);
  stralloc_free(&sa); stralloc_free(&out);
}

int cmd_alias(int argc, char const *const *argv)
{
  stralloc a = STRALLOC_ZERO;
  if (argc == 2 && !strcmp(argv[1], "list")) {
    stralloc sa = STRALLOC_ZERO;
    size_t pos = 0, len;
    char const *line;
    tf_read(&sa, "aliases");
    while (tf_next(&sa, &pos, &line, &len)) {
      if (tf_skip(line, len)) continue;
      if (buffer_put(buffer_1, line, len) < 0 || buffer_put(buffer_1, "\n", 1) < 0)
        strerr_diefu1sys(TEMP_EXIT, "write to stdout");
    }
    if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
    stralloc_free(&sa);
    return 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "add")) {
    if (!addr_address(&a, argv[2])) strerr_dief(USAGE_EXIT, "not a valid address: ", argv[2]);
    tf_lock();
    char const *at = strrchr(a.s, '@');
    if (!domain_is_local(at + 1)) strerr_dief(USAGE_EXIT, "not a local domain: ", at + 1);
    set_alias(a.s, argv + 3, argc - 3, 1);
    compile();
    stralloc_free(&a);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "del")) {
    if (!addr_address(&a, argv[2])) strerr_dief(USAGE_EXIT, "not a valid address: ", argv[2]);
    tf_lock();
    del_alias(a.s, 1);
    compile();
    stralloc_free(&a);
    return 0;
  }
  strerr_dieusage(USAGE_EXIT, ALIAS_USAGE);
}

int cmd_catchall(int argc, char const *const *argv)
{
  stralloc d = STRALLOC_ZERO;
  if (argc != 3) strerr_dieusage(USAGE_EXIT, CATCHALL_USAGE);
  if (!addr_domain(&d, argv[1])) strerr_dief(USAGE_EXIT, "not a domain name: ", argv[1]);
  if (!stralloc_insertb(&d, 0, "@", 1) || !stralloc_0(&d)) nomem();
  tf_lock();
  if (!domain_is_local(d.s + 1)) strerr_dief(USAGE_EXIT, "not a local domain: ", d.s + 1);
  if (!strcmp(argv[2], "off")) del_alias(d.s, 0);
  else set_alias(d.s, argv + 2, 1, 0);
  compile();
  stralloc_free(&d);
  return 0;
}
