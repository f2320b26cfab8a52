/* Failed-login accounting: see authfail.h and pochta-checkpassword(8).
 * The table is AUTHFAIL_SLOTS records of 32 octets; a key's records live in the
 * AUTHFAIL_PROBE slots from hash % AUTHFAIL_SLOTS on. A record whose window and
 * ban are over is free; when no slot is free the one used longest ago is taken,
 * so the file never grows and an attacker with many addresses can only make us
 * forget old failures sooner. The table is soft state: written without fsync. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/fmtscan.h>
#include <skalibs/sha256.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "authfail.h"
#include "conf.h"

struct rec {
  unsigned char key[16];
  uint32_t first, last, count, until;
};

/* ---------- settings ---------- */

static int number(char const *s, size_t len, unsigned long *v)
{
  unsigned long n = 0;
  if (!len) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9' || n > 100000000UL) return 0;   /* over three years: a typo */
    n = n * 10 + (unsigned long)(s[i] - '0');
  }
  *v = n;
  return 1;
}

/* One trusted proxy "addr[/len]" into the list as "16 octets, length" records. */
static int trusted_add(authfail *a, char const *s, size_t len)
{
  char buf[80], ip[16];
  char *slash;
  unsigned long plen;
  size_t n;
  if (len >= sizeof buf) return 0;
  memcpy(buf, s, len); buf[len] = 0;
  slash = strchr(buf, '/');
  if (slash) *slash = 0;
  if ((n = ip4_scan(buf, ip)) && !buf[n]) {
    memmove(ip + 12, ip, 4);
    memcpy(ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);   /* as an IPv4-mapped address */
    plen = 32;
    if (slash && (!number(slash + 1, strlen(slash + 1), &plen) || plen > 32)) return 0;
    plen += 96;
  } else if ((n = ip6_scan(buf, ip)) && !buf[n]) {
    plen = 128;
    if (slash && (!number(slash + 1, strlen(slash + 1), &plen) || plen > 128)) return 0;
  } else return 0;
  return stralloc_catb(&a->trusted, ip, 16) && stralloc_catb(&a->trusted, (char *)&(unsigned char){ (unsigned char)plen }, 1);
}

static int trusted_list(authfail *a, char const *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && s[j] != ',') j++;
    if (j > i && !trusted_add(a, s + i, j - i)) return 0;
    i = j + 1;
  }
  return 1;
}

/* One "key=value" token of the authfail file. */
static int setting(authfail *a, char const *tok, size_t len)
{
  static struct { char const *name; size_t off; } const nums[] = {
    { "max", offsetof(authfail, max) },
    { "ipmax", offsetof(authfail, ipmax) },
    { "window", offsetof(authfail, window) },
    { "ban", offsetof(authfail, ban) },
    { "delay", offsetof(authfail, delay) },
    { "maxdelay", offsetof(authfail, maxdelay) },
    { 0, 0 }
  };
  char const *eq = memchr(tok, '=', len), *v;
  size_t klen, vlen;
  if (!eq) return 0;
  klen = (size_t)(eq - tok);
  v = eq + 1; vlen = len - klen - 1;
  if (klen == 3 && !memcmp(tok, "dir", 3)) {
    a->dir.len = 0;
    return vlen && v[0] == '/' && stralloc_catb(&a->dir, v, vlen) && stralloc_0(&a->dir);
  }
  if (klen == 7 && !memcmp(tok, "trusted", 7)) return trusted_list(a, v, vlen);
  for (size_t i = 0; nums[i].name; i++)
    if (strlen(nums[i].name) == klen && !memcmp(tok, nums[i].name, klen))
      return number(v, vlen, (unsigned long *)(void *)((char *)a + nums[i].off));
  return 0;
}

static int read_settings(authfail *a)
{
  stralloc sa = STRALLOC_ZERO;
  char path[4096];
  size_t i = 0;
  if (!conf_path(path, sizeof path, "authfail")) return 0;
  if (!openslurpclose(&sa, path) && errno != ENOENT) { strerr_warnwu2sys("read ", path); return 0; }
  while (i < sa.len) {
    size_t j;
    while (i < sa.len && strchr(" \t\r\n", sa.s[i])) i++;
    if (i < sa.len && sa.s[i] == '#') { while (i < sa.len && sa.s[i] != '\n') i++; continue; }
    for (j = i; j < sa.len && !strchr(" \t\r\n", sa.s[j]); j++) ;
    if (j > i && !setting(a, sa.s + i, j - i)) {
      strerr_warnw("bad setting in ", path,
                   " (want max= ipmax= window= ban= delay= maxdelay= dir=/path trusted=addr[/len],...)");
      stralloc_free(&sa);
      return 0;
    }
    i = j;
  }
  stralloc_free(&sa);
  return 1;
}

/* ---------- keys ---------- */

/* The address as 16 octets (IPv4 mapped), and its printable form in a->ip.
 * 0 if ip is not an address. */
static int parse_ip(authfail *a, char const *ip, char out[16])
{
  char b[16];
  size_t n;
  if (!strncmp(ip, "::ffff:", 7) && (n = ip4_scan(ip + 7, b)) && !ip[7 + n]) ip += 7;
  if ((n = ip4_scan(ip, b)) && !ip[n]) {
    char f[IP4_FMT];
    f[ip4_fmt(f, b)] = 0;
    snprintf(a->ip, sizeof a->ip, "%s", f);
    memcpy(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
    memcpy(out + 12, b, 4);
    return 1;
  }
  if ((n = ip6_scan(ip, b)) && !ip[n]) {
    char f[IP6_FMT];
    f[ip6_fmt(f, b)] = 0;
    snprintf(a->ip, sizeof a->ip, "%s", f);
    memcpy(out, b, 16);
    return 1;
  }
  return 0;
}

static int is_trusted(authfail const *a, char const ip[16])
{
  for (size_t i = 0; i + 17 <= a->trusted.len; i += 17) {
    char const *p = a->trusted.s + i;
    unsigned plen = (unsigned char)p[16], full = plen / 8, rest = plen % 8;
    if (memcmp(p, ip, full)) continue;
    if (rest && ((p[full] ^ ip[full]) & (0xff << (8 - rest)) & 0xff)) continue;
    return 1;
  }
  return 0;
}

static void make_key(unsigned char out[16], char kind, char const *net, size_t netlen, char const *user)
{
  SHA256Schedule ctx = SHA256_INIT();
  char digest[32];
  sha256_update(&ctx, &kind, 1);
  sha256_update(&ctx, net, netlen);
  if (user) {
    /* accounts are matched without regard to case, as logins are */
    for (size_t i = 0; user[i] && i < 320; i++) {
      char c = user[i];
      if (c >= 'A' && c <= 'Z') c += 32;
      sha256_update(&ctx, &c, 1);
    }
  }
  sha256_final(&ctx, digest);
  memcpy(out, digest, 16);
}

int authfail_init(authfail *a, char const *ip, char const *user)
{
  char bin[16];
  memset(a, 0, sizeof *a);
  a->max = 10; a->ipmax = 100; a->window = 600; a->ban = 900; a->delay = 1; a->maxdelay = 8;
  if (!read_settings(a)) return 0;
  if (!a->dir.len) {
    /* default: <statedir>/auth, which pochta init makes for root */
    stralloc sd = STRALLOC_ZERO;
    int r = conf_line(&sd, "statedir");
    if (r < 0) { strerr_warnwu3sys("read ", conf_dir(), "/statedir"); return 0; }
    if (!stralloc_cats(&a->dir, r ? sd.s : "/var/lib/pochta") || !stralloc_cats(&a->dir, "/auth") || !stralloc_0(&a->dir)) {
      stralloc_free(&sd);
      return 0;
    }
    stralloc_free(&sd);
  }
  if (!ip || !*ip || !a->max) return 1;
  if (!parse_ip(a, ip, bin)) {
    /* not an address (tcpserver and systemd always give one): one shared record */
    snprintf(a->ip, sizeof a->ip, "invalid");
    memset(bin, 0, sizeof bin);
  }
  /* IPv6 clients usually hold a whole /64: count them by it */
  size_t netlen = memcmp(bin, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) ? 8 : 16;
  a->peraddr = !is_trusted(a, bin) && a->ipmax;
  make_key(a->kaddr, 'a', bin, netlen, 0);
  make_key(a->kuser, 'u', bin, netlen, user);
  a->on = 1;
  return 1;
}

/* ---------- the table ---------- */

static int table_open(authfail const *a)
{
  char path[4096];
  struct stat st;
  int fd;
  if ((size_t)snprintf(path, sizeof path, "%s/authfail.db", a->dir.s) >= sizeof path) { errno = ENAMETOOLONG; return -1; }
  fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) {
    close(fd);
    errno = EPERM;   /* somebody else's file, or not a file: do not trust it */
    return -1;
  }
  if (flock(fd, LOCK_EX) < 0) { int e = errno; close(fd); errno = e; return -1; }
  if (st.st_size != (off_t)(AUTHFAIL_SLOTS * sizeof(struct rec)) && ftruncate(fd, AUTHFAIL_SLOTS * sizeof(struct rec)) < 0) {
    int e = errno; close(fd); errno = e; return -1;
  }
  return fd;
}

static uint32_t slot_of(unsigned char const key[16])
{
  return ((uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24) % AUTHFAIL_SLOTS;
}

static int stale(authfail const *a, struct rec const *r, time_t now)
{
  return (time_t)r->until <= now && (time_t)r->last + (time_t)a->window <= now;
}

/* Find key's record: *slot is where it is, or where it should go (a free or the
 * oldest slot) and *r is zeroed with the key. 1 found, 0 not, -1 error. */
static int lookup(authfail const *a, int fd, unsigned char const key[16], time_t now, uint32_t *slot, struct rec *r)
{
  struct rec t[AUTHFAIL_PROBE];
  uint32_t s0 = slot_of(key), best = s0;
  int found_free = 0;
  for (unsigned i = 0; i < AUTHFAIL_PROBE; i++) {
    uint32_t s = (s0 + i) % AUTHFAIL_SLOTS;
    if (pread(fd, &t[i], sizeof t[i], (off_t)s * sizeof t[i]) != (ssize_t)sizeof t[i]) { if (!errno) errno = EIO; return -1; }
    if (!memcmp(t[i].key, key, 16) && !stale(a, &t[i], now)) { *slot = s; *r = t[i]; return 1; }
  }
  for (unsigned i = 0; i < AUTHFAIL_PROBE; i++) {
    uint32_t s = (s0 + i) % AUTHFAIL_SLOTS;
    if (stale(a, &t[i], now)) { if (!found_free) { best = s; found_free = 1; } continue; }
    if (!found_free && t[i].last < t[(best + AUTHFAIL_SLOTS - s0) % AUTHFAIL_SLOTS].last) best = s;
  }
  *slot = best;
  memset(r, 0, sizeof *r);
  memcpy(r->key, key, 16);
  return 0;
}

static int store(int fd, uint32_t slot, struct rec const *r)
{
  if (pwrite(fd, r, sizeof *r, (off_t)slot * sizeof *r) != (ssize_t)sizeof *r) { if (!errno) errno = EIO; return 0; }
  return 1;
}

static void trouble(authfail const *a, char const *what)
{
  strerr_warnwu4sys(what, " the failed-login table in ", a->dir.s, " (refusing logins for now)");
}

int authfail_check(authfail *a, time_t now)
{
  struct rec r;
  uint32_t slot;
  int fd, banned = 0, k;
  if (!a->on) return 0;
  if ((fd = table_open(a)) < 0) { trouble(a, "open"); return -1; }
  k = lookup(a, fd, a->kuser, now, &slot, &r);
  if (k > 0 && (time_t)r.until > now) banned = 1;
  if (k >= 0 && a->peraddr) {
    int k2 = lookup(a, fd, a->kaddr, now, &slot, &r);
    if (k2 > 0 && (time_t)r.until > now) banned = 1;
    if (k2 < 0) k = -1;
  }
  close(fd);   /* releases the lock */
  if (k < 0) { trouble(a, "read"); return -1; }
  return banned;
}

/* Count one failure in key's record; ban when it reaches limit. Returns the count. */
static int count(authfail const *a, int fd, unsigned char const key[16], unsigned long limit, time_t now, uint32_t *n)
{
  struct rec r;
  uint32_t slot;
  int k = lookup(a, fd, key, now, &slot, &r);
  if (k < 0) return 0;
  if ((time_t)r.first + (time_t)a->window <= now) { r.first = (uint32_t)now; r.count = 0; }
  r.count++;
  r.last = (uint32_t)now;
  if (r.count >= limit) { r.until = (uint32_t)(now + (time_t)a->ban); r.count = 0; r.first = (uint32_t)now; *n = (uint32_t)limit; }
  else *n = r.count;
  return store(fd, slot, &r);
}

long authfail_fail(authfail *a, time_t now)
{
  uint32_t nu = 0, na = 0;
  unsigned long d = a->delay;
  int fd;
  if (!a->on) return (long)a->delay;
  if ((fd = table_open(a)) < 0) { trouble(a, "open"); return -1; }
  if (!count(a, fd, a->kuser, a->max, now, &nu) || (a->peraddr && !count(a, fd, a->kaddr, a->ipmax, now, &na))) {
    close(fd);
    trouble(a, "write");
    return -1;
  }
  close(fd);
  a->failures = nu;
  if (nu >= a->max || (a->peraddr && na >= a->ipmax)) {
    char nb[24], wb[24], bb[24];
    snprintf(nb, sizeof nb, "%lu", (unsigned long)(nu >= a->max ? nu : na));
    snprintf(wb, sizeof wb, "%lu", a->window);
    snprintf(bb, sizeof bb, "%lu", a->ban);
    strerr_warn("pochta-checkpassword: event=ban ip=", a->ip, " scope=", nu >= a->max ? "account" : "address",
                " failures=", nb, " window=", wb, " ban=", bb);
  }
  /* Growing delay: delay, 2*delay, 4*delay ... at most maxdelay. */
  for (uint32_t i = 1; i < nu && d < a->maxdelay; i++) d *= 2;
  if (d > a->maxdelay) d = a->maxdelay;
  return (long)d;
}

void authfail_success(authfail *a, time_t now)
{
  struct rec r;
  uint32_t slot;
  int fd;
  if (!a->on) return;
  if ((fd = table_open(a)) < 0) return;
  if (lookup(a, fd, a->kuser, now, &slot, &r) > 0) {
    memset(&r, 0, sizeof r);
    if (!store(fd, slot, &r)) strerr_warnwu2sys("clear a record in the failed-login table in ", a->dir.s);
  }
  close(fd);
}
