/* pochta compile: domains, users, aliases -> users.cdb; passwords -> passwords.cdb.
 * Keys and values as doc/CONTRACTS.md says; lib/users.c and tools/passcheck.c read
 * them. Each file carries a marker record, so that a reader can tell a file this
 * program wrote from an empty, zero-filled or foreign one (a missing marker is a
 * configuration fault: a temporary failure, never "no such user"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/cdbmake.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"
#include "users.h"

/* One key/value pair before merging; strings are offsets into the pool, since
 * the pool moves when it grows. idx keeps the files' order for equal keys. */
struct ent { size_t k, klen, v, vlen, idx; };

int compile_verbose;
static stralloc pool = STRALLOC_ZERO;
static struct ent *ents;
static size_t nents, aents;

static void nomem(void) { strerr_diefu1sys(TEMP_EXIT, "allocate"); }

/* Add an entry: key = kind ':' k1 k2, value v. */
static void add(char kind, char const *k1, size_t k1len, char const *k2, size_t k2len,
                char const *v, size_t vlen, char const *vtail)
{
  struct ent *e;
  if (nents == aents) {
    aents = aents ? aents * 2 : 256;
    ents = realloc(ents, aents * sizeof *ents);
    if (!ents) nomem();
  }
  e = ents + nents;
  e->idx = nents++;
  e->k = pool.len;
  if (!stralloc_catb(&pool, &kind, 1) || !stralloc_catb(&pool, ":", 1)
   || !stralloc_catb(&pool, k1, k1len) || !stralloc_catb(&pool, k2, k2len)) nomem();
  e->klen = pool.len - e->k;
  e->v = pool.len;
  if (!stralloc_catb(&pool, v, vlen) || (vtail && !stralloc_cats(&pool, vtail))) nomem();
  e->vlen = pool.len - e->v;
}

static int cmp(void const *a, void const *b)
{
  struct ent const *x = a, *y = b;
  size_t n = x->klen < y->klen ? x->klen : y->klen;
  int c = memcmp(pool.s + x->k, pool.s + y->k, n);
  if (c) return c;
  if (x->klen != y->klen) return x->klen < y->klen ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Index of the first entry with key exactly k among the first nsorted (which are
 * sorted), or nsorted. */
static size_t nsorted;
static size_t find(char const *k, size_t klen)
{
  size_t lo = 0, hi = nsorted;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    struct ent const *e = ents + mid;
    size_t n = e->klen < klen ? e->klen : klen;
    int c = memcmp(pool.s + e->k, k, n);
    if (!c) c = e->klen < klen ? -1 : e->klen > klen;
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  if (lo < nsorted && ents[lo].klen == klen && !memcmp(pool.s + ents[lo].k, k, klen)) return lo;
  return nsorted;
}

static void trim(char const **s, size_t *len)
{
  while (*len && (**s == ' ' || **s == '\t')) { (*s)++; (*len)--; }
  while (*len && ((*s)[*len-1] == ' ' || (*s)[*len-1] == '\t')) (*len)--;
}

static void warn_line(char const *file, size_t lineno, char const *why)
{
  char n[24];
  snprintf(n, sizeof n, "%zu", lineno);
  strerr_warnw(confdir, "/", file, " line ", n, ": ", why, ": ignored");
}

/* A NUL-terminated copy of s[0..len). */
static char *dup0(stralloc *tmp, char const *s, size_t len)
{
  tmp->len = 0;
  if (!stralloc_catb(tmp, s, len) || !stralloc_0(tmp)) nomem();
  return tmp->s;
}

static void read_domains(void)
{
  stralloc sa = STRALLOC_ZERO, tmp = STRALLOC_ZERO, d = STRALLOC_ZERO;
  size_t pos = 0, len, n = 0;
  char const *line;
  tf_read(&sa, "domains");
  while (tf_next(&sa, &pos, &line, &len)) {
    n++;
    if (tf_skip(line, len)) continue;
    trim(&line, &len);
    if (!addr_domain(&d, dup0(&tmp, line, len))) { warn_line("domains", n, "not a domain"); continue; }
    add('d', d.s, d.len, "", 0, "", 0, 0);
  }
  /* The host's own name is local too, as Postfix's $myhostname is: its
   * postmaster must exist (RFC 5321 4.5.1), and double bounces go there. */
  if (tf_line(&tmp, "me") && addr_domain(&d, tmp.s)) add('d', d.s, d.len, "", 0, "", 0, 0);
  stralloc_free(&sa); stralloc_free(&tmp); stralloc_free(&d);
}

static void read_users(void)
{
  stralloc sa = STRALLOC_ZERO, tmp = STRALLOC_ZERO, a = STRALLOC_ZERO;
  size_t pos = 0, len, klen, n = 0;
  char const *line, *k;
  tf_read(&sa, "users");
  while (tf_next(&sa, &pos, &line, &len)) {
    char const *v;
    size_t vlen;
    n++;
    if (tf_skip(line, len)) continue;
    k = tf_key(line, len, &klen);
    if (!klen || !addr_address(&a, dup0(&tmp, k, klen))) { warn_line("users", n, "not address:maildir"); continue; }
    v = memchr(line, ':', len) + 1;
    vlen = len - (v - line);
    trim(&v, &vlen);
    if (!vlen || v[0] != '/' || memchr(v, 0, vlen)) { warn_line("users", n, "maildir is not an absolute path"); continue; }
    add('u', a.s, a.len, "", 0, v, vlen, 0);
    /* 'f' (first user of a domain) entries are for postmaster only, not written. */
    char const *at = strrchr(a.s, '@');
    add('f', at + 1, a.len - (at + 1 - a.s), "", 0, a.s, a.len, 0);
  }
  stralloc_free(&sa); stralloc_free(&tmp); stralloc_free(&a);
}

static void read_passwords(void)
{
  stralloc sa = STRALLOC_ZERO, tmp = STRALLOC_ZERO, a = STRALLOC_ZERO;
  size_t pos = 0, len, klen, n = 0;
  char const *line, *k;
  tf_read(&sa, "passwords");
  while (tf_next(&sa, &pos, &line, &len)) {
    char const *v, *c;
    size_t vlen;
    n++;
    if (tf_skip(line, len)) continue;
    k = tf_key(line, len, &klen);
    if (!klen || !addr_address(&a, dup0(&tmp, k, klen))) { warn_line("passwords", n, "not address:label:hash"); continue; }
    v = memchr(line, ':', len) + 1;
    vlen = len - (v - line);
    trim(&v, &vlen);
    c = memchr(v, ':', vlen);
    if (!c || c == v || c + 1 == v + vlen) { warn_line("passwords", n, "not address:label:hash"); continue; }
    add('p', a.s, a.len, "", 0, v, vlen, "\n");
  }
  stralloc_free(&sa); stralloc_free(&tmp); stralloc_free(&a);
}

static void read_aliases(void)
{
  stralloc sa = STRALLOC_ZERO, tmp = STRALLOC_ZERO, a = STRALLOC_ZERO, t = STRALLOC_ZERO, vals = STRALLOC_ZERO;
  size_t pos = 0, len, klen, n = 0;
  char const *line, *k;
  tf_read(&sa, "aliases");
  while (tf_next(&sa, &pos, &line, &len)) {
    char const *v;
    size_t vlen, i, j;
    int bad = 0;
    n++;
    if (tf_skip(line, len)) continue;
    k = tf_key(line, len, &klen);
    if (klen > 1 && k[0] == '@') {
      if (!addr_domain(&a, dup0(&tmp, k + 1, klen - 1))) { warn_line("aliases", n, "bad catch-all domain"); continue; }
      if (!stralloc_insertb(&a, 0, "@", 1)) nomem();
    } else if (!klen || !addr_address(&a, dup0(&tmp, k, klen))) { warn_line("aliases", n, "not address: targets"); continue; }
    v = memchr(line, ':', len) + 1;
    vlen = len - (v - line);
    vals.len = 0;
    for (i = 0; i < vlen; i = j + 1) {
      char const *x;
      size_t xlen;
      for (j = i; j < vlen && v[j] != ','; j++) ;
      x = v + i; xlen = j - i;
      trim(&x, &xlen);
      if (!xlen) continue;
      if (!addr_target(&t, dup0(&tmp, x, xlen))) { bad = 1; break; }
      if ((vals.len && !stralloc_catb(&vals, "\n", 1)) || !stralloc_catb(&vals, t.s, t.len)) nomem();
    }
    if (bad || !vals.len) { warn_line("aliases", n, "bad target"); continue; }
    add('a', a.s, a.len, "", 0, vals.s, vals.len, 0);
  }
  stralloc_free(&sa); stralloc_free(&tmp); stralloc_free(&a); stralloc_free(&t); stralloc_free(&vals);
}

/* postmaster@<domain> must exist (RFC 5321 4.5.1): an alias to confdir/postmaster
 * if that file names an address, else to the domain's first user, else (the
 * host name, a domain without users) to the postmaster of the first domain
 * that has users. Such made-up aliases are implicit (key i:): they deliver like
 * the admin's own, but never make their target the owner of the address (the
 * first user of a domain must not send as its postmaster). */
static void postmasters(void)
{
  stralloc pm = STRALLOC_ZERO, tmp = STRALLOC_ZERO, key = STRALLOC_ZERO;
  int have_pm = 0;
  size_t i, n = nsorted = nents;
  if (tf_line(&tmp, "postmaster")) {
    if (addr_address(&pm, tmp.s)) have_pm = 1;
    else strerr_warnw(confdir, "/postmaster is not an address: ignored");
  }
  for (i = 0; i < n; i++) {
    char const *d;
    size_t dlen, f;
    if (pool.s[ents[i].k] != 'd') continue;
    if (i && ents[i-1].klen == ents[i].klen && !memcmp(pool.s + ents[i-1].k, pool.s + ents[i].k, ents[i].klen)) continue;
    d = pool.s + ents[i].k + 2;
    dlen = ents[i].klen - 2;
    key.len = 0;
    if (!stralloc_cats(&key, "u:postmaster@") || !stralloc_catb(&key, d, dlen)) nomem();
    if (find(key.s, key.len) < n) continue;
    key.s[0] = 'a';
    if (find(key.s, key.len) < n) continue;
    if (have_pm) { add('i', key.s + 2, key.len - 2, "", 0, pm.s, pm.len, 0); continue; }
    key.len = 0;
    if (!stralloc_cats(&key, "f:") || !stralloc_catb(&key, d, dlen)) nomem();
    f = find(key.s, key.len);
    if (f >= n) {
      /* no user here (the host name): to the postmaster of the first domain with users */
      for (f = 0; f < n && pool.s[ents[f].k] != 'f'; f++) ;
      if (f < n) {
        if (!stralloc_copys(&tmp, "postmaster@") || !stralloc_catb(&tmp, pool.s + ents[f].k + 2, ents[f].klen - 2)) nomem();
        key.len = 0;
        if (!stralloc_cats(&key, "postmaster@") || !stralloc_catb(&key, d, dlen) || !stralloc_0(&key)) nomem();
        add('i', key.s, key.len - 1, "", 0, tmp.s, tmp.len, 0);
        continue;
      }
    }
    if (f < n) {
      size_t v = ents[f].v, vlen = ents[f].vlen;
      key.len = 0;
      if (!stralloc_cats(&key, "postmaster@") || !stralloc_catb(&key, d, dlen)) nomem();
      if (!stralloc_0(&key)) nomem();
      /* copy: add() may move the pool */
      if (!stralloc_copyb(&tmp, pool.s + v, vlen)) nomem();
      add('i', key.s, key.len - 1, "", 0, tmp.s, tmp.len, 0);
      continue;
    }
    if (!compile_verbose) continue;
    if (!stralloc_copyb(&tmp, d, dlen) || !stralloc_0(&tmp)) nomem();
    strerr_warnw("domain ", tmp.s, " has no user and no postmaster: postmaster@", tmp.s, " will bounce");
  }
  stralloc_free(&pm); stralloc_free(&tmp); stralloc_free(&key);
}

/* The host name's own mail (cron's root@, replies to MAILER-DAEMON@, abuse
 * reports) goes to its postmaster, unless the host name is a domain with
 * users of its own or the aliases file says otherwise. */
static void host_aliases(void)
{
  static char const *const names[] = { "root", "abuse", "mailer-daemon", 0 };
  stralloc me = STRALLOC_ZERO, d = STRALLOC_ZERO, key = STRALLOC_ZERO, pm = STRALLOC_ZERO;
  nsorted = nents;
  if (!tf_line(&me, "me") || !addr_domain(&d, me.s)) goto done;
  if (!stralloc_copys(&key, "f:") || !stralloc_cat(&key, &d)) nomem();
  if (find(key.s, key.len) < nsorted) goto done;
  if (!stralloc_copys(&pm, "postmaster@") || !stralloc_cat(&pm, &d)) nomem();
  for (size_t i = 0; names[i]; i++) {
    if (!stralloc_copys(&key, "u:") || !stralloc_cats(&key, names[i]) || !stralloc_catb(&key, "@", 1) || !stralloc_cat(&key, &d)) nomem();
    if (find(key.s, key.len) < nsorted) continue;
    key.s[0] = 'a';
    if (find(key.s, key.len) < nsorted) continue;
    add('i', key.s + 2, key.len - 2, "", 0, pm.s, pm.len, 0);
  }
 done:
  stralloc_free(&me); stralloc_free(&d); stralloc_free(&key); stralloc_free(&pm);
}

/* The group that may read users.cdb: $confdir/group (the mail system's group, see
 * pochta-config(5)), else the owner's group, else ours. */
static gid_t read_group(void)
{
  stralloc sa = STRALLOC_ZERO;
  uid_t uid;
  gid_t gid = getegid();
  if (tf_line(&sa, "group")) {
    uid_t u;
    stralloc g = STRALLOC_ZERO;
    if (!stralloc_copys(&g, "0:") || !stralloc_cats(&g, sa.s) || !stralloc_0(&g)) nomem();
    if (!owner_parse(g.s, &u, &gid)) strerr_dief(TEMP_EXIT, "bad gid in ", confdir, "/group: ", sa.s);
    stralloc_free(&g);
  } else if (tf_line(&sa, "owner")) owner_get(&uid, &gid);
  stralloc_free(&sa);
  return gid;
}

/* Write the entries whose kind is in kinds to confdir/name, atomically, with mode
 * and group gid (as root), and a marker record. */
static void write_cdb(char const *name, char const *kinds, unsigned mode, gid_t gid)
{
  stralloc path = STRALLOC_ZERO, tmpp = STRALLOC_ZERO, val = STRALLOC_ZERO;
  cdbmaker cm = CDBMAKER_ZERO;
  char pid[32];
  size_t i, j;
  int fd;
  tf_path(&path, name);
  snprintf(pid, sizeof pid, ".tmp.%ld", (long)getpid());
  if (!stralloc_copyb(&tmpp, path.s, path.len) || !stralloc_cats(&tmpp, pid) || !stralloc_0(&tmpp)) nomem();
  unlink(tmpp.s);
  fd = open(tmpp.s, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "create ", tmpp.s);
  /* Not writable by any daemon: a broken one must not add users or logins. */
  if (!geteuid() && fchown(fd, 0, gid) < 0) goto err;
  if (fchmod(fd, mode) < 0) goto err;
  if (!cdbmake_start(&cm, fd)) goto err;
  if (!cdbmake_add(&cm, USERS_MARKER_KEY, sizeof USERS_MARKER_KEY - 1, name, strlen(name))) goto err;
  for (i = 0; i < nents; i = j) {
    struct ent const *e = ents + i;
    char kind = pool.s[e->k];
    for (j = i + 1; j < nents && ents[j].klen == e->klen && !memcmp(pool.s + ents[j].k, pool.s + e->k, e->klen); j++) ;
    if (!strchr(kinds, kind)) continue;
    val.len = 0;
    if (kind == 'p' || kind == 'a' || kind == 'i') {
      for (size_t m = i; m < j; m++) {
        if (kind != 'p' && m > i && !stralloc_catb(&val, "\n", 1)) nomem();
        if (!stralloc_catb(&val, pool.s + ents[m].v, ents[m].vlen)) nomem();
      }
    } else {
      if (j > i + 1 && kind == 'u') {
        stralloc k = STRALLOC_ZERO;
        if (!stralloc_copyb(&k, pool.s + e->k + 2, e->klen - 2) || !stralloc_0(&k)) nomem();
        strerr_warnw(confdir, "/users: ", k.s, " listed twice: the first line wins");
        stralloc_free(&k);
      }
      if (!stralloc_catb(&val, pool.s + e->v, e->vlen)) nomem();
    }
    if (e->klen > 0xffffffffu || val.len > 0xffffffffu) { errno = EOVERFLOW; goto err; }
    if (!cdbmake_add(&cm, pool.s + e->k, e->klen, val.s, val.len)) goto err;
  }
  if (!cdbmake_finish(&cm)) goto err;
  if (fsync(fd) < 0) goto err;
  if (close(fd) < 0) { fd = -1; goto err; }
  fd = -1;
  if (rename(tmpp.s, path.s) < 0) goto err;
  dir_sync(confdir);
  stralloc_free(&path); stralloc_free(&tmpp); stralloc_free(&val);
  return;
 err:
  {
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmpp.s);
    errno = e;
    strerr_diefu2sys(TEMP_EXIT, "write ", path.s);
  }
}

void compile(void)
{
  nents = 0;
  pool.len = 0;
  read_domains();
  read_users();
  read_passwords();
  read_aliases();
  /* qsort wants a real array even for no element (an empty instance). */
  if (nents) qsort(ents, nents, sizeof *ents, cmp);
  postmasters();
  if (nents) qsort(ents, nents, sizeof *ents, cmp);
  host_aliases();
  if (nents) qsort(ents, nents, sizeof *ents, cmp);
  /* Password hashes apart, for root alone (pochta-checkpassword runs setuid root):
   * no program that talks to the network before a login can read them. */
  write_cdb("passwords.cdb", "p", 0600, 0);
  write_cdb("users.cdb", "duai", 0640, read_group());
}

int cmd_compile(int argc, char const *const *argv)
{
  (void)argv;
  if (argc != 1) strerr_dieusage(USAGE_EXIT, "pochta compile");
  tf_lock();
  compile_verbose = 1;
  compile();
  return 0;
}
