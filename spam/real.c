/* spam/real.c — the real effects behind the hooks: DNS through dns/, clamd
 * through clamdnet.c, the system clocks, and the state of greylisting and rate
 * limits under <statedir>/spam, kept without a daemon and safe under any number
 * of pochta-smtpd processes at once:
 *
 *  grey/<xx>/<key>  one file per triplet (key 't'...) or client ('c'...), holding
 *                   "first last passed\n"; replaced by rename, so a reader sees the
 *                   old record or the new one; two writers at once: one wins, and
 *                   both wrote what the same decision needed. Expired records of a
 *                   subdirectory are removed by whichever process finds its .swept
 *                   stamp older than an hour.
 *  rate             4096 buckets of 8 slots of 32 octets; a slot is read, changed
 *                   and written under an open-file-description lock on its bucket
 *                   (released by the kernel when a process dies); a full bucket
 *                   gives the least recently used slot to a new client.
 *
 * Soft state: nothing here is fsynced; a crash loses at most some greylisting
 * passes (the sender retries once more) and some counts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dns.h"
#include "spam-int.h"

#define RATE_BUCKETS 4096
#define RATE_SLOTS 8
#define RATE_SLOT 32

typedef struct {
  dns_resolver dns;
  dns_result *res;     /* about 100 KB: one, on the heap */
  int dnsok;
  char state[4096];   /* <statedir>/spam, "" when there is no statedir */
  spam_conf const *conf;
} real_ctx;

static int64_t real_now(void *ctx) { (void)ctx; return time(0); }

static int64_t real_now_ms(void *ctx)
{
  struct timespec ts;
  (void)ctx;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One question through dns/, within timeout_ms (the deadline bounds every try and
 * retry); NXDOMAIN and a name that cannot be asked are "not listed". */
static int real_dns_a(void *ctx, char const *name, unsigned timeout_ms, unsigned char ip[][4], unsigned max, unsigned *n)
{
  real_ctx *r = ctx;
  *n = 0;
  if (!r->dnsok) return SPAM_DNS_TEMP;
  r->dns.deadline_ms = dns_now_ms() + timeout_ms;
  int st = dns_lookup(&r->dns, name, DNS_T_A, r->res);
  r->dns.deadline_ms = 0;
  if (st == DNS_NXDOMAIN || st == DNS_BADNAME) return SPAM_DNS_NX;
  if (st != DNS_OK) return SPAM_DNS_TEMP;
  for (unsigned i = 0; i < r->res->n && *n < max; i++)
    if (r->res->rr[i].type == DNS_T_A) memcpy(ip[(*n)++], r->res->rr[i].ip, 4);
  return SPAM_DNS_OK;
}

static void real_clamd(void *ctx, char const *addr, unsigned timeout_s, char const *msg, size_t len, spam_clamd *res)
{
  (void)ctx;
  spam_clamd_scan(addr, timeout_s, msg, len, res);
}

/* mkdir dir if missing (0700). 1 ok. */
static int mkdir1(char const *dir)
{
  return mkdir(dir, 0700) == 0 || errno == EEXIST;
}

static int grey_path(real_ctx const *r, char *buf, size_t len, char const *key, int sub)
{
  int n = sub ? snprintf(buf, len, "%s/grey/%.2s", r->state, key + 1)
              : snprintf(buf, len, "%s/grey/%.2s/%s", r->state, key + 1, key);
  return r->state[0] && n > 0 && (size_t)n < len;
}

static int real_grey_get(void *ctx, char const *key, spam_grey_rec *g)
{
  char path[4200], buf[96];
  if (!grey_path(ctx, path, sizeof path, key, 0)) return -1;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) return -1;
  /* a record we cannot read is no record: the triplet starts over */
  return spam_grey_parse(g, buf, (size_t)n);
}

/* Remove the expired records of one subdirectory, at most once an hour. */
static void sweep(real_ctx const *r, char const *sub)
{
  char stamp[4300];
  struct stat st;
  time_t now = time(0);
  snprintf(stamp, sizeof stamp, "%s/.swept", sub);
  if (stat(stamp, &st) == 0 && now - st.st_mtime < 3600) return;
  int fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  close(fd);
  DIR *d = opendir(sub);
  if (!d) return;
  struct dirent *e;
  int dfd = dirfd(d);
  while ((e = readdir(d))) {
    char buf[96];
    spam_grey_rec g;
    if (e->d_name[0] == '.') {
      /* a writer's temporary file that it never renamed (it died) */
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".swept")
          && fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && now - st.st_mtime > 3600)
        unlinkat(dfd, e->d_name, 0);
      continue;
    }
    int f = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (f < 0) continue;
    ssize_t n = read(f, buf, sizeof buf);
    close(f);
    int keep = n > 0 && spam_grey_parse(&g, buf, (size_t)n)
               && (g.passed ? now - g.last <= (int64_t)r->conf->grey_expire : now - g.first <= (int64_t)r->conf->grey_window);
    if (!keep) unlinkat(dfd, e->d_name, 0);
  }
  closedir(d);
}

static int real_grey_put(void *ctx, char const *key, spam_grey_rec const *g)
{
  real_ctx *r = ctx;
  char top[4200], sub[4200], path[4300], tmp[4300], buf[96];
  size_t n = spam_grey_fmt(buf, sizeof buf, g);
  if (!n || !grey_path(r, sub, sizeof sub, key, 1) || !grey_path(r, path, sizeof path, key, 0)) return 0;
  snprintf(tmp, sizeof tmp, "%s/.%s.%ld", sub, key, (long)getpid());
  snprintf(top, sizeof top, "%s/grey", r->state);
  if (!mkdir1(r->state) || !mkdir1(top) || !mkdir1(sub)) return 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  int ok = write(fd, buf, n) == (ssize_t)n;
  if (close(fd) < 0) ok = 0;
  if (!ok || rename(tmp, path) < 0) { unlink(tmp); return 0; }
  sweep(r, sub);
  return 1;
}

static void slot_get(unsigned char const *p, spam_rate_rec *s, int64_t *used)
{
  memcpy(&s->key, p, 8);
  memcpy(&s->start, p + 8, 8);
  memcpy(&s->cur, p + 16, 4);
  memcpy(&s->prev, p + 20, 4);
  memcpy(used, p + 24, 8);
}

static void slot_put(unsigned char *p, spam_rate_rec const *s, int64_t used)
{
  memcpy(p, &s->key, 8);
  memcpy(p + 8, &s->start, 8);
  memcpy(p + 16, &s->cur, 4);
  memcpy(p + 20, &s->prev, 4);
  memcpy(p + 24, &used, 8);
}

static int real_rate(void *ctx, uint64_t key, int (*fn)(spam_rate_rec *, void *), void *arg)
{
  real_ctx *r = ctx;
  char path[4200];
  unsigned char b[RATE_SLOTS * RATE_SLOT];
  off_t at = (off_t)(key % RATE_BUCKETS) * sizeof b;
  if (!r->state[0] || !mkdir1(r->state)) return -1;
  snprintf(path, sizeof path, "%s/rate", r->state);
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = at, .l_len = sizeof b };
  int res = -1;
  while (fcntl(fd, F_OFD_SETLKW, &lk) < 0) if (errno != EINTR) goto out;
  ssize_t got = pread(fd, b, sizeof b, at);
  if (got < 0) goto unlock;
  if ((size_t)got < sizeof b) memset(b + got, 0, sizeof b - got);   /* a new file is sparse zeros */
  int64_t now = time(0), used, oldest = INT64_MAX;
  unsigned pick = RATE_SLOTS, lru = 0;
  spam_rate_rec s;
  for (unsigned i = 0; i < RATE_SLOTS; i++) {
    slot_get(b + i * RATE_SLOT, &s, &used);
    if (s.key == key) { pick = i; break; }
    if (!s.key && pick == RATE_SLOTS) pick = i;
    if (used < oldest) { oldest = used; lru = i; }
  }
  if (pick == RATE_SLOTS) pick = lru;
  slot_get(b + pick * RATE_SLOT, &s, &used);
  if (s.key != key) memset(&s, 0, sizeof s);
  s.key = key;
  res = fn(&s, arg);
  slot_put(b + pick * RATE_SLOT, &s, now);
  if (pwrite(fd, b + pick * RATE_SLOT, RATE_SLOT, at + pick * RATE_SLOT) != RATE_SLOT) res = -1;
unlock:
  lk.l_type = F_UNLCK;
  fcntl(fd, F_OFD_SETLK, &lk);
out:
  close(fd);
  return res;
}

static spam_hooks const real_hooks = {
  .dns_a = real_dns_a, .clamd = real_clamd, .grey_get = real_grey_get, .grey_put = real_grey_put,
  .rate = real_rate, .now = real_now, .now_ms = real_now_ms,
};

int spam_open(spam *s, char *err, size_t errlen)
{
  stralloc sa = STRALLOC_ZERO;
  memset(s, 0, sizeof *s);
  if (!spam_conf_load(&s->conf, conf_dir(), 0, err, errlen)) return 0;
  real_ctx *r = calloc(1, sizeof *r);
  if (!r) { spam_conf_free(&s->conf); snprintf(err, errlen, "out of memory"); return 0; }
  r->conf = &s->conf;
  r->res = malloc(sizeof *r->res);
  /* a broken dnsservers is no reason to refuse mail: the lists say nothing then */
  r->dnsok = r->res && dns_conf_load(&r->dns) == DNS_OK;
  int k = conf_line(&sa, "statedir");
  if (k > 0 && sa.len && sa.s[0] == '/') snprintf(r->state, sizeof r->state, "%s/spam", sa.s);
  if (conf_line(&sa, "me") > 0) snprintf(s->me, sizeof s->me, "%s", sa.s);
  stralloc_free(&sa);
  s->h = &real_hooks;
  s->ctx = r;
  return 1;
}

void spam_close(spam *s)
{
  real_ctx *r = s->ctx;
  if (r) free(r->res);
  free(s->ctx);
  spam_conf_free(&s->conf);
  s->ctx = 0;
  s->h = 0;
}
