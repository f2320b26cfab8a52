/* See account.h. */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "account.h"

int account_parse_id(char const *s, size_t len, unsigned long *v)
{
  unsigned long n = 0;
  if (!len || len > 10) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    n = n * 10 + (unsigned long)(s[i] - '0');
  }
  /* -1 means "no change" to chown and setresuid: never an id */
  if (n >= 2147483647UL) return 0;
  *v = n;
  return 1;
}

/* Split line (len octets) at ':' into at most max fields. Returns the count. */
static size_t fields(char const *line, size_t len, char const **f, size_t *fl, size_t max)
{
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= len && k < max; i++) {
    if (i == len || line[i] == ':') { f[k] = line + start; fl[k] = i - start; k++; start = i + 1; }
  }
  return k;
}

/* Is name in the comma-separated list s (len octets)? */
static int listed(char const *s, size_t len, char const *name, size_t nlen)
{
  size_t i = 0;
  while (i <= len) {
    size_t j = i;
    while (j < len && s[j] != ',') j++;
    if (j - i == nlen && !memcmp(s + i, name, nlen)) return 1;
    i = j + 1;
  }
  return 0;
}

/* Every line of path into each(line, len, ctx) until it returns non-zero. */
static int each_line(char const *path, int (*each)(char const *, size_t, void *), void *ctx)
{
  stralloc sa = STRALLOC_ZERO;
  size_t i = 0;
  if (!openslurpclose(&sa, path)) return -1;
  while (i < sa.len) {
    char const *nl = memchr(sa.s + i, '\n', sa.len - i);
    size_t len = nl ? (size_t)(nl - (sa.s + i)) : sa.len - i;
    if (each(sa.s + i, len, ctx)) break;
    i += len + 1;
  }
  stralloc_free(&sa);
  return 0;
}

struct find { char const *name; size_t nlen; account *a; int found; };

static int passwd_line(char const *line, size_t len, void *ctx)
{
  struct find *f = ctx;
  char const *fv[4];
  size_t fl[4];
  unsigned long u, g;
  if (fields(line, len, fv, fl, 4) < 4 || fl[0] != f->nlen || memcmp(fv[0], f->name, f->nlen)) return 0;
  if (!account_parse_id(fv[2], fl[2], &u) || !account_parse_id(fv[3], fl[3], &g)) return 1;
  account_ids(f->a, (uid_t)u, (gid_t)g);
  f->found = 1;
  return 1;
}

static int group_line(char const *line, size_t len, void *ctx)
{
  struct find *f = ctx;
  char const *fv[4];
  size_t fl[4];
  unsigned long g;
  if (fields(line, len, fv, fl, 4) < 4 || !account_parse_id(fv[2], fl[2], &g)) return 0;
  if (!listed(fv[3], fl[3], f->name, f->nlen)) return 0;
  account_addgroup(f->a, (gid_t)g);
  return 0;
}

void account_ids(account *a, uid_t uid, gid_t gid)
{
  a->uid = uid;
  a->gid = gid;
  a->groups[0] = gid;
  a->ngroups = 1;
}

int account_lookup(account *a, char const *s)
{
  char const *colon = strchr(s, ':');
  struct find f = { s, strlen(s), a, 0 };
  if (colon) {
    unsigned long u, g;
    if (!account_parse_id(s, (size_t)(colon - s), &u) || !account_parse_id(colon + 1, strlen(colon + 1), &g)) return 0;
    account_ids(a, (uid_t)u, (gid_t)g);
    return 1;
  }
  if (!f.nlen) return 0;
  if (each_line("/etc/passwd", passwd_line, &f) < 0) return -1;
  if (!f.found) return 0;
  if (each_line("/etc/group", group_line, &f) < 0) return -1;
  return 1;
}

struct byuid { uid_t uid; char name[64]; int found; gid_t gid; };

static int passwd_uid_line(char const *line, size_t len, void *ctx)
{
  struct byuid *b = ctx;
  char const *fv[4];
  size_t fl[4];
  unsigned long u, g;
  if (fields(line, len, fv, fl, 4) < 4 || !account_parse_id(fv[2], fl[2], &u) || (uid_t)u != b->uid) return 0;
  if (!account_parse_id(fv[3], fl[3], &g) || !fl[0] || fl[0] >= sizeof b->name) return 0;
  memcpy(b->name, fv[0], fl[0]);
  b->name[fl[0]] = 0;
  b->gid = (gid_t)g;
  b->found = 1;
  return 1;
}

int account_lookup_uid(account *a, uid_t uid, gid_t gid)
{
  struct byuid b = { .uid = uid, .found = 0 };
  if (each_line("/etc/passwd", passwd_uid_line, &b) < 0) return -1;
  int r;
  if (!b.found) { account_ids(a, uid, gid); return 1; }
  r = account_lookup(a, b.name);
  if (r < 0) return -1;
  if (!r) account_ids(a, uid, b.gid);
  return 1;
}

int account_name(uid_t uid, char *buf, size_t len)
{
  struct byuid b = { .uid = uid, .found = 0 };
  size_t n;
  if (each_line("/etc/passwd", passwd_uid_line, &b) < 0) return -1;
  if (!b.found || (n = strlen(b.name)) >= len) return 0;
  memcpy(buf, b.name, n + 1);
  return 1;
}

struct bygroup { char const *name; size_t nlen; gid_t gid; int found; };

static int group_name_line(char const *line, size_t len, void *ctx)
{
  struct bygroup *b = ctx;
  char const *fv[4];
  size_t fl[4];
  unsigned long g;
  if (fields(line, len, fv, fl, 4) < 3 || fl[0] != b->nlen || memcmp(fv[0], b->name, b->nlen)) return 0;
  if (!account_parse_id(fv[2], fl[2], &g)) return 0;
  b->gid = (gid_t)g;
  b->found = 1;
  return 1;
}

int account_group(char const *name, gid_t *gid)
{
  struct bygroup b = { name, strlen(name), 0, 0 };
  if (!b.nlen) return 0;
  if (each_line("/etc/group", group_name_line, &b) < 0) return -1;
  if (b.found) *gid = b.gid;
  return b.found;
}

void account_addgroup(account *a, gid_t gid)
{
  for (unsigned i = 0; i < a->ngroups; i++) if (a->groups[i] == gid) return;
  if (a->ngroups < ACCOUNT_GROUPS_MAX) a->groups[a->ngroups++] = gid;
}

int account_become(account const *a)
{
  if (setgroups(a->ngroups, a->groups) < 0) return 0;
  if (setresgid(a->gid, a->gid, a->gid) < 0) return 0;
  if (setresuid(a->uid, a->uid, a->uid) < 0) return 0;
  /* A process that dropped root must not be able to get it back. */
  if (a->uid && (setuid(0) == 0 || geteuid() == 0)) { errno = EPERM; return 0; }
  return 1;
}
