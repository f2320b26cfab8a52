/* users.cdb: domains, users and aliases (see users.h, doc/CONTRACTS.md). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "users.h"

int users_open_cdb(cdb *c, char const *name)
{
  char path[4096];
  cdb_data d;
  int r;
  *c = cdb_zero;
  if (!conf_path(path, sizeof path, name)) { errno = ENAMETOOLONG; return -1; }
  if (!cdb_init(c, path)) return -1;
  r = cdb_find(c, &d, USERS_MARKER_KEY, sizeof USERS_MARKER_KEY - 1);
  if (r <= 0 || d.len != strlen(name) || memcmp(d.s, name, d.len)) {
    cdb_free(c);
    *c = cdb_zero;
    errno = EBADMSG;
    return -1;
  }
  return 1;
}

int users_open(users *u)
{
  return users_open_cdb(&u->c, "users.cdb");
}

static int same_file(struct stat const *a, struct stat const *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
      && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int users_reopen(users *u)
{
  char path[4096];
  struct stat st;
  if (!conf_path(path, sizeof path, "users.cdb")) { users_close(u); errno = ENAMETOOLONG; return -1; }
  /* A stat, not an open and a map and an unmap per delivery. Taken before the
     open: a file renamed in between is seen as changed next time, never missed. */
  if (stat(path, &st) < 0) { int e = errno; users_close(u); errno = e; return -1; }
  if (u->c.map && same_file(&st, &u->id)) return 1;
  users_close(u);
  if (users_open(u) < 0) return -1;
  u->id = st;
  return 1;
}

char const *users_why(int err)
{
  if (err == ENOENT) return "missing (no such file or directory)";
  if (err == EBADMSG) return "not written by pochta compile (empty, zero-filled, truncated or foreign)";
  if (err == EPROTO) return "damaged (a record points outside the file)";
  return strerror(err);
}

void users_close(users *u)
{
  if (u->c.map) cdb_free(&u->c);
  u->c = cdb_zero;
}

int users_canon(stralloc *sa, char const *addr, size_t len)
{
  size_t at = len, i, start = sa->len;
  for (i = 0; i < len; i++) if (addr[i] == '@') at = i;
  if (at == len || at + 1 == len) return 0;
  if (!stralloc_readyplus(sa, len + 1)) return 0;
  for (i = 0; i < len; i++) {
    char c = addr[i];
    if (!c) { sa->len = start; return 0; }
    sa->s[sa->len++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
  }
  sa->s[sa->len] = 0;
  return 1;
}

/* Look up prefix+key; 1 found (data set), 0 not, -1 error. */
static int find(users const *u, char prefix, char const *key, cdb_data *data)
{
  char k[1024];
  size_t n = strlen(key);
  if (!u->c.map) { errno = EBADMSG; return -1; }   /* never "no": see users_open */
  if (n + 3 > sizeof k) return 0;
  k[0] = prefix; k[1] = ':';
  memcpy(k + 2, key, n);
  return cdb_find(&u->c, data, k, n + 2);
}

int users_domain_local(users const *u, char const *domain)
{
  cdb_data d;
  return find(u, 'd', domain, &d);
}

int users_maildir(users const *u, char const *addr, stralloc *sa)
{
  cdb_data d;
  int r = find(u, 'u', addr, &d);
  if (r <= 0) return r;
  if (!stralloc_catb(sa, d.s, d.len) || !stralloc_0(sa)) return -1;
  return 1;
}

/* Append the \n-separated targets in d to sa as NUL-terminated strings. */
static int cat_targets(stralloc *sa, cdb_data const *d)
{
  uint32_t i = 0;
  while (i < d->len) {
    uint32_t j = i;
    while (j < d->len && d->s[j] != '\n') j++;
    if (j > i && (!stralloc_catb(sa, d->s + i, j - i) || !stralloc_0(sa))) return -1;
    i = j + 1;
  }
  return 1;
}

/* users_alias, with only the admin's own aliases when explicit is set: no implicit
 * postmaster/root aliases (i:), no catch-all. */
static int alias(users const *u, char const *addr, stralloc *sa, int explicit)
{
  cdb_data d;
  char const *at = strrchr(addr, '@');
  int r = find(u, 'a', addr, &d);
  if (r) return r < 0 ? r : cat_targets(sa, &d);
  if (explicit) return 0;
  r = find(u, 'i', addr, &d);
  if (r) return r < 0 ? r : cat_targets(sa, &d);
  if (!at) return 0;
  r = find(u, 'u', addr, &d);
  if (r) return r < 0 ? r : 0;
  r = find(u, 'a', at, &d);   /* "@domain": the catch-all */
  if (r <= 0) return r;
  return cat_targets(sa, &d);
}

int users_alias(users const *u, char const *addr, stralloc *sa)
{
  return alias(u, addr, sa, 0);
}

static int has(stralloc const *sa, size_t from, char const *s)
{
  size_t i = from;
  while (i < sa->len) {
    size_t n = strlen(sa->s + i);
    if (!strcmp(sa->s + i, s)) return 1;
    i += n + 1;
  }
  return 0;
}

static int resolve(users const *u, char const *addr, stralloc *out, size_t base, unsigned depth, int explicit)
{
  stralloc t = STRALLOC_ZERO;
  char const *at = strrchr(addr, '@');
  int r, found = 0;
  size_t i;
  if (!at) return 0;
  r = users_domain_local(u, at + 1);
  if (r < 0) return -1;
  if (!r) {   /* remote address: final */
    if (has(out, base, addr)) return 1;
    return stralloc_catb(out, addr, strlen(addr) + 1) ? 1 : -1;
  }
  if (depth > 8) return 0;
  r = alias(u, addr, &t, explicit);
  if (r < 0) goto err;
  if (r > 0) {
    for (i = 0; i < t.len; i += strlen(t.s + i) + 1) {
      stralloc c = STRALLOC_ZERO;
      int q;
      if (!strcmp(t.s + i, addr)) {   /* alias that also delivers to itself */
        cdb_data d;
        q = find(u, 'u', addr, &d);
        if (q < 0) goto err;
        if (q && !has(out, base, addr)) {
          if (!stralloc_catb(out, addr, strlen(addr) + 1)) goto err;
        }
        found |= q;
        continue;
      }
      if (!users_canon(&c, t.s + i, strlen(t.s + i))) { stralloc_free(&c); continue; }
      q = resolve(u, c.s, out, base, depth + 1, explicit);
      stralloc_free(&c);
      if (q < 0) goto err;
      found |= q;
    }
    stralloc_free(&t);
    return found;
  }
  stralloc_free(&t);
  {
    cdb_data d;
    r = find(u, 'u', addr, &d);
    if (r <= 0) return r;
  }
  if (has(out, base, addr)) return 1;
  return stralloc_catb(out, addr, strlen(addr) + 1) ? 1 : -1;
 err:
  stralloc_free(&t);
  return -1;
}

int users_resolve(users const *u, char const *addr, stralloc *sa)
{
  return resolve(u, addr, sa, sa->len, 0, 0);
}

int users_owns(users const *u, char const *user, char const *from)
{
  stralloc t = STRALLOC_ZERO;
  int r;
  if (!strcmp(user, from)) return 1;
  /* only aliases the admin wrote make a sender: not the implicit postmaster
   * and root aliases pochta compile makes, not a catch-all */
  r = resolve(u, from, &t, t.len, 0, 1);
  if (r <= 0) { stralloc_free(&t); return r; }
  r = has(&t, 0, user);
  stralloc_free(&t);
  return r;
}
