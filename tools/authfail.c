/* Failed-login accounting: one file per remote address under a directory,
 * locked with flock while a login is checked. The file is soft state (losing
 * it forgets some failures), so it is rewritten in place without fsync.
 * Format: "ban <unix-time>\n" (optional) then one "<unix-time>\n" per failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/fmtscan.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "authfail.h"
#include "conf.h"

/* One "key=value" token of the authfail file. */
static int setting(authfail *a, char const *tok, size_t len)
{
  static struct { char const *name; size_t off; } const nums[] = {
    { "max", offsetof(authfail, max) },
    { "window", offsetof(authfail, window) },
    { "ban", offsetof(authfail, ban) },
    { "delay", offsetof(authfail, delay) },
    { "maxdelay", offsetof(authfail, maxdelay) },
    { 0, 0 }
  };
  char const *eq = memchr(tok, '=', len);
  size_t klen;
  if (!eq) return 0;
  klen = eq - tok;
  if (klen == 3 && !memcmp(tok, "dir", 3)) {
    a->dir.len = 0;
    return eq + 1 < tok + len && eq[1] == '/' && stralloc_catb(&a->dir, eq + 1, tok + len - eq - 1)
        && stralloc_0(&a->dir);
  }
  for (size_t i = 0; nums[i].name; i++) {
    if (strlen(nums[i].name) != klen || memcmp(tok, nums[i].name, klen)) continue;
    unsigned long v = 0;
    char const *p = eq + 1;
    if (p == tok + len) return 0;
    for (; p < tok + len; p++) {
      if (*p < '0' || *p > '9') return 0;
      if (v > 100000000UL) return 0;   /* over three years: a typo */
      v = v * 10 + (*p - '0');
    }
    *(unsigned long *)((char *)a + nums[i].off) = v;
    return 1;
  }
  return 0;
}

/* The record's name for ip: "4-a.b.c.d" or "6-" and the /64 in hex. Anything that
 * is not an address never becomes a path. */
static void make_key(authfail *a, char const *ip)
{
  char b[16];
  size_t n = strlen(ip);
  a->key[0] = 0;
  if (n >= sizeof a->ip) n = sizeof a->ip - 1;
  if (!strncmp(ip, "::ffff:", 7) && ip4_scan(ip + 7, b) == strlen(ip + 7)) ip += 7;
  if (ip4_scan(ip, b) == strlen(ip) && strlen(ip)) {
    char f[IP4_FMT];
    f[ip4_fmt(f, b)] = 0;
    snprintf(a->key, sizeof a->key, "4-%s", f);
    snprintf(a->ip, sizeof a->ip, "%s", f);
  } else if (ip6_scan(ip, b) == strlen(ip) && strlen(ip)) {
    char f[IP6_FMT];
    char *k = a->key;
    f[ip6_fmt(f, b)] = 0;
    k += sprintf(k, "6-");
    for (int i = 0; i < 8; i++) k += sprintf(k, "%02x", (unsigned char)b[i]);
    snprintf(a->ip, sizeof a->ip, "%s", f);
  } else {
    /* tcpserver always sets a valid address; anything else shares one record. */
    snprintf(a->key, sizeof a->key, "invalid");
    snprintf(a->ip, sizeof a->ip, "invalid");
  }
}

int authfail_init(authfail *a, char const *ip)
{
  stralloc sa = STRALLOC_ZERO;
  char path[4096];
  size_t i = 0;
  a->max = 10; a->window = 600; a->ban = 900; a->delay = 1; a->maxdelay = 8;
  a->dir = stralloc_zero;
  a->fd = -1; a->until = 0; a->n = 0;
  a->key[0] = 0; a->ip[0] = 0;
  if (!conf_path(path, sizeof path, "authfail")) return 0;
  if (!openslurpclose(&sa, path) && errno != ENOENT) {
    strerr_warnwu2sys("read ", path);
    return 0;
  }
  while (i < sa.len) {
    size_t j;
    while (i < sa.len && (sa.s[i] == ' ' || sa.s[i] == '\t' || sa.s[i] == '\n' || sa.s[i] == '\r')) i++;
    if (i < sa.len && sa.s[i] == '#') { while (i < sa.len && sa.s[i] != '\n') i++; continue; }
    for (j = i; j < sa.len && sa.s[j] != ' ' && sa.s[j] != '\t' && sa.s[j] != '\n' && sa.s[j] != '\r'; j++) ;
    if (j > i && !setting(a, sa.s + i, j - i)) {
      strerr_warnw("bad setting in ", path, " (want max= window= ban= delay= maxdelay= dir=/path)");
      stralloc_free(&sa);
      return 0;
    }
    i = j;
  }
  stralloc_free(&sa);
  if (a->max > AUTHFAIL_MAXKEEP) a->max = AUTHFAIL_MAXKEEP;
  if (!a->dir.len) {
    /* Default: <mailroot>/.authfail, which pochta init creates for the owner. */
    if (conf_line(&a->dir, "mailroot") <= 0 || !stralloc_cats(&a->dir, "/.authfail") || !stralloc_0(&a->dir)) {
      strerr_warnwu3x("find ", "the authfail directory: no dir= in authfail and no mailroot in ", conf_dir());
      a->dir.len = 0;
    }
  }
  if (ip && *ip && a->dir.len && a->max) make_key(a, ip);
  return 1;
}

static void drop(authfail *a, char const *why)
{
  strerr_warnwu4sys(why, " failed-login record in ", a->dir.s, " (going on without it)");
  if (a->fd >= 0) close(a->fd);
  a->fd = -1;
}

int authfail_check(authfail *a, time_t now)
{
  stralloc path = STRALLOC_ZERO, sa = STRALLOC_ZERO;
  char buf[4096];
  ssize_t r;
  size_t i = 0;
  if (!a->key[0]) return 0;
  if (!stralloc_copys(&path, a->dir.s) || !stralloc_catb(&path, "/", 1) || !stralloc_cats(&path, a->key)
   || !stralloc_0(&path)) { drop(a, "name the"); return 0; }
  a->fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  stralloc_free(&path);
  if (a->fd < 0) { drop(a, "open the"); return 0; }
  if (flock(a->fd, LOCK_EX) < 0) { drop(a, "lock the"); return 0; }
  for (;;) {
    r = read(a->fd, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; drop(a, "read the"); return 0; }
    if (!r) break;
    if (!stralloc_catb(&sa, buf, r)) { drop(a, "read the"); return 0; }
    if (sa.len > 64 * AUTHFAIL_MAXKEEP) break;
  }
  a->n = 0; a->until = 0;
  while (i < sa.len) {
    size_t j = i;
    int ban = 0;
    unsigned long long v = 0;
    while (j < sa.len && sa.s[j] != '\n') j++;
    if (j - i > 4 && !memcmp(sa.s + i, "ban ", 4)) { ban = 1; i += 4; }
    for (; i < j && sa.s[i] >= '0' && sa.s[i] <= '9' && v < 1ULL << 40; i++) v = v * 10 + (sa.s[i] - '0');
    if (ban) a->until = (time_t)v;
    else if ((time_t)v + (time_t)a->window > now && (time_t)v <= now && a->n < AUTHFAIL_MAXKEEP) a->t[a->n++] = (time_t)v;
    i = j + 1;
  }
  stralloc_free(&sa);
  if (a->until && a->until <= now) a->until = 0;   /* expired */
  return a->until > now;
}

static void save(authfail *a)
{
  stralloc sa = STRALLOC_ZERO;
  char line[32];
  int ok = 1;
  if (a->until) ok = stralloc_catb(&sa, line, snprintf(line, sizeof line, "ban %lld\n", (long long)a->until));
  for (size_t i = 0; ok && i < a->n; i++)
    ok = stralloc_catb(&sa, line, snprintf(line, sizeof line, "%lld\n", (long long)a->t[i]));
  if (!ok || ftruncate(a->fd, 0) < 0 || lseek(a->fd, 0, SEEK_SET) < 0 || allwrite(a->fd, sa.s, sa.len) < sa.len)
    strerr_warnwu3sys("write the failed-login record in ", a->dir.s, " (going on)");
  stralloc_free(&sa);
}

unsigned long authfail_fail(authfail *a, time_t now)
{
  unsigned long d = a->delay;
  size_t failures;
  char nb[24], wb[24], bb[24];
  if (a->fd < 0) return a->delay;
  if (a->n == AUTHFAIL_MAXKEEP) { memmove(a->t, a->t + 1, (a->n - 1) * sizeof *a->t); a->n--; }
  a->t[a->n++] = now;
  failures = a->n;
  if (a->n >= a->max) {
    /* Banned: the count starts again after the ban. */
    a->until = now + (time_t)a->ban;
    a->n = 0;
  }
  save(a);
  authfail_done(a);
  snprintf(nb, sizeof nb, "%zu", failures);
  if (a->until > now) {
    snprintf(wb, sizeof wb, "%lu", a->window);
    snprintf(bb, sizeof bb, "%lu", a->ban);
    strerr_warn("pochta-checkpassword: event=ban ip=", a->ip, " failures=", nb, " window=", wb, " ban=", bb);
  }
  /* Growing delay: delay, 2*delay, 4*delay ... at most maxdelay. */
  for (size_t i = 1; i < failures && d < a->maxdelay; i++) d *= 2;
  if (d > a->maxdelay) d = a->maxdelay;
  return d;
}

void authfail_done(authfail *a)
{
  if (a->fd >= 0) close(a->fd);   /* closing releases the flock */
  a->fd = -1;
}
