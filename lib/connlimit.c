/* Connection slots as byte-range locks on one file per service (connlimit.h).
 *
 * Offsets: the total's slots are bytes 0 .. total-1; a source's slots are the
 * bytes SOURCE_BASE + bucket * SOURCE_STRIDE + 0 .. per-source - 1, where
 * bucket is 40 bits of SHA-256 of the address (an IPv6 /64), so that a source
 * cannot pick another's bucket on purpose. Locks beyond the end of the file
 * are allowed: the file stays empty. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <skalibs/sha256.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "connlimit.h"

#define SOURCE_BASE ((off_t)1 << 20)      /* above CONNLIMIT_TOTAL_MAX */
#define SOURCE_STRIDE ((off_t)1024)       /* above CONNLIMIT_SOURCE_MAX */

/* 1 the byte at off is ours now, 0 someone holds it, -1 error. */
static int lock1(int fd, off_t off, short type)
{
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 1;
  return errno == EAGAIN || errno == EACCES ? 0 : -1;
}

/* Take one of n bytes from base on, starting at a random one (so that sessions
 * do not all try the same first bytes). The byte's offset, or -1 none free, -2 error. */
static off_t take(int fd, off_t base, unsigned n)
{
  unsigned start = 0;
  if (getrandom(&start, sizeof start, GRND_NONBLOCK) != sizeof start) start = (unsigned)getpid();
  for (unsigned k = 0; k < n; k++) {
    off_t off = base + (off_t)((start + k) % n);
    int r = lock1(fd, off, F_WRLCK);
    if (r > 0) return off;
    if (r < 0) return -2;
  }
  return -1;
}

/* The source's bucket: 1 found, 0 not an address. */
static int bucket(char const *ip, off_t *out)
{
  unsigned char a[17], d[32];
  SHA256Schedule h;
  if (!ip) return 0;
  if (inet_pton(AF_INET, ip, a + 1) == 1) a[0] = 4;
  else if (inet_pton(AF_INET6, ip, a + 1) == 1) {
    static unsigned char const mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
    if (!memcmp(a + 1, mapped, 12)) { memmove(a + 1, a + 13, 4); a[0] = 4; }
    else a[0] = 6;
  } else return 0;
  sha256_init(&h);
  sha256_update(&h, (char const *)a, a[0] == 4 ? 5 : 9);   /* IPv6: the /64 */
  sha256_final(&h, (char *)d);
  uint64_t b = 0;
  for (int i = 0; i < 5; i++) b = b << 8 | d[i];
  *out = SOURCE_BASE + (off_t)b * SOURCE_STRIDE;
  return 1;
}

static int open_lockfile(char const *service, char const **why)
{
  static char msg[4200];
  stralloc dir = STRALLOC_ZERO;
  char path[4096];
  int r = conf_line(&dir, "rundir"), fd, n;
  if (r < 0) { *why = "cannot read rundir"; stralloc_free(&dir); return -2; }
  if (r && (!dir.len || dir.s[0] != '/')) { *why = "rundir is not an absolute path"; stralloc_free(&dir); return -2; }
  n = snprintf(path, sizeof path, "%s/%s.lock", r ? dir.s : CONNLIMIT_RUNDIR_DEFAULT, service);
  stralloc_free(&dir);
  if (n < 0 || (size_t)n >= sizeof path) { *why = "rundir: path too long"; return -2; }
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0) {
    snprintf(msg, sizeof msg, "cannot open %s: %s; no connection limit enforced", path, strerror(errno));
    *why = msg;
  }
  return fd;
}

int connlimit_enter(connlimit *c, char const *service, char const *ip, unsigned flags, char const **why)
{
  off_t src = 0, mine;
  int bysource;
  c->fd = -1;
  *why = 0;
  if (connlimit_config(service, &c->total, &c->persource, why) < 0) return CONNLIMIT_FAULT;
  bysource = c->persource && !(flags & CONNLIMIT_NOSOURCE) && bucket(ip, &src);
  if (!c->total && !bysource) return CONNLIMIT_OK;
  c->fd = open_lockfile(service, why);
  if (c->fd == -2) { c->fd = -1; return CONNLIMIT_FAULT; }
  if (c->fd < 0) return CONNLIMIT_OK;   /* like Postfix without its anvil: serve, and say so */
  if (bysource) {
    mine = take(c->fd, src, c->persource);
    if (mine == -1) { connlimit_leave(c); return CONNLIMIT_SOURCE_FULL; }
    if (mine < 0) goto lockfail;
  }
  if (c->total) {
    mine = take(c->fd, 0, c->total);
    if (mine == -1) { connlimit_leave(c); return CONNLIMIT_FULL; }
    if (mine < 0) goto lockfail;
  }
  return CONNLIMIT_OK;
lockfail:
  {
    static char msg[200];
    snprintf(msg, sizeof msg, "cannot lock in the %s lock file: %s; no connection limit enforced", service, strerror(errno));
    *why = msg;
  }
  connlimit_leave(c);
  return CONNLIMIT_OK;
}

void connlimit_leave(connlimit *c)
{
  if (c->fd >= 0) close(c->fd);   /* the last descriptor of the description: its locks go */
  c->fd = -1;
}

int connlimit_keep_on_exec(connlimit *c)
{
  if (c->fd < 0) return 0;
  return fcntl(c->fd, F_SETFD, 0) < 0 ? -1 : 0;
}
