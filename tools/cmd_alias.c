/* pochta alias add|del|list and pochta catchall. aliases: "address: t1, t2" and
 * "@domain: target" for a domain's catch-all. */
#include <stdlib.h>
#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

#define ALIAS_USAGE "pochta alias add [--force] ADDR TARGET... | del ADDR | list"
#define CATCHALL_USAGE "pochta catchall [--force] DOMAIN TARGET | catchall DOMAIN off"

static void nomem(void) { strerr_diefu1sys(TEMP_EXIT, "allocate"); }

static int drop_key(char const *line, size_t len, void *ctx) { return tf_key_is(line, len, ctx); }

/* Is t (NUL-terminated) among the ", "-separated targets in list (len octets)? */
static int listed(char const *list, size_t len, char const *t)
{
  size_t i = 0, n = strlen(t);
  while (i < len) {
    size_t j = i;
    while (j < len && list[j] != ',') j++;
    size_t a = i, b = j;
    while (a < b && (list[a] == ' ' || list[a] == '\t')) a++;
    while (b > a && (list[b-1] == ' ' || list[b-1] == '\t')) b--;
    if (b - a == n && !strncasecmp(list + a, t, n)) return 1;
    i = j + 1;
  }
  return 0;
}

/* Does mail to t (canonical, of a local domain) reach someone: a user, an alias, or
 * the postmaster that compile makes for every local domain? An alias that names
 * itself (t is key) keeps a copy only when it is also a user. */
static int local_known(char const *t, char const *key)
{
  if (tf_has_key("users", t)) return 1;
  if (!strcmp(t, key)) return 0;
  return tf_has_key("aliases", t) || !strncmp(t, "postmaster@", 11);
}

/* A target of a local domain that nobody holds is a typo or a deleted user: its mail
 * would bounce. Refused (nothing changed) unless forced, and then still said. */
static void check_target(char const *t, char const *key, int force)
{
  char const *why = !strcmp(t, key) ? "names itself but is not a user: "
                                     : "no such user or alias: ";
  if (!domain_is_local(strrchr(t, '@') + 1) || local_known(t, key)) return;
  if (!force)
    strerr_dief(USAGE_EXIT, why, t, " (add the user or alias first, or give --force"
                " to name it anyway: its mail bounces until it exists)");
  strerr_warnw(why, t, " (--force: its mail bounces until it exists)");
}

/* Set key's line to "key: targets" where targets = the old ones (if keep) plus the
 * new, without duplicates. */
static void set_alias(char const *key, char const *const *targets, int n, int keep, int force)
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
    if (listed(list.s, list.len, t.s)) continue;
    check_target(t.s, key, force);
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

void alias_warn_naming(char const *addr)
{
  stralloc sa = STRALLOC_ZERO, keys = STRALLOC_ZERO;
  size_t pos = 0, len, klen, rlen;
  char const *line, *k, *r;
  tf_read(&sa, "aliases");
  while (tf_next(&sa, &pos, &line, &len)) {
    if (tf_skip(line, len)) continue;
    k = tf_key(line, len, &klen);
    r = tf_after_key(line, len, &rlen);
    if (!klen || !listed(r, rlen, addr)) continue;
    if ((keys.len && !stralloc_cats(&keys, ", ")) || !stralloc_catb(&keys, k, klen)) nomem();
  }
  if (keys.len) {
    if (!stralloc_0(&keys)) nomem();
    strerr_warnw("aliases still name ", addr, ": ", keys.s,
                 " (their mail for it bounces: pochta alias del, or add the user again)");
  }
  stralloc_free(&sa); stralloc_free(&keys);
}

/* argv without the --force words from argv[from] on, in a new array (freed by the
 * caller); *force says whether one was there. */
static char const **without_force(int *argc, char const *const *argv, int from, int *force)
{
  char const **av = calloc(*argc + 1, sizeof *av);
  int n = 0;
  if (!av) nomem();
  *force = 0;
  for (int i = 0; i < *argc; i++) {
    if (i >= from && !strcmp(argv[i], "--force")) { *force = 1; continue; }
    av[n++] = argv[i];
  }
  *argc = n;
  return av;
}

static int alias_add(int argc, char const *const *argv)
{
  stralloc a = STRALLOC_ZERO;
  int force;
  char const **av = without_force(&argc, argv, 2, &force);
  if (argc < 4) strerr_dieusage(USAGE_EXIT, ALIAS_USAGE);
  if (!addr_address(&a, av[2])) strerr_dief(USAGE_EXIT, "not a valid address: ", av[2]);
  tf_lock();
  char const *at = strrchr(a.s, '@');
  if (!domain_is_local(at + 1)) strerr_dief(USAGE_EXIT, "not a local domain: ", at + 1);
  set_alias(a.s, av + 3, argc - 3, 1, force);
  compile();
  stralloc_free(&a);
  free(av);
  return 0;
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
  if (argc >= 2 && !strcmp(argv[1], "add")) return alias_add(argc, argv);
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
  int force;
  char const **av = without_force(&argc, argv, 1, &force);
  if (argc != 3) strerr_dieusage(USAGE_EXIT, CATCHALL_USAGE);
  if (!addr_domain(&d, av[1])) strerr_dief(USAGE_EXIT, "not a domain name: ", av[1]);
  if (!stralloc_insertb(&d, 0, "@", 1) || !stralloc_0(&d)) nomem();
  tf_lock();
  if (!domain_is_local(d.s + 1)) strerr_dief(USAGE_EXIT, "not a local domain: ", d.s + 1);
  if (!strcmp(av[2], "off")) del_alias(d.s, 0);
  else set_alias(d.s, av + 2, 1, 0, force);
  compile();
  stralloc_free(&d);
  free(av);
  return 0;
}
