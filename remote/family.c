/* Remembered address-family failures (family.h). Plain libc. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "family.h"

#define FILE_NAME "remote-family"

static char const *const names[2] = { "ipv4", "ipv6" };

int fam_index(int af) { return af == AF_INET6 ? FAM_V6 : FAM_V4; }

void fam_load(struct families *f, char const *dir, time_t now)
{
  char path[4200], buf[256];
  ssize_t n;
  int fd;
  memset(f, 0, sizeof *f);
  if (snprintf(path, sizeof path, "%s/" FILE_NAME, dir) >= (int)sizeof path) return;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return;
  do n = read(fd, buf, sizeof buf - 1); while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  for (char *line = buf, *next; *line; line = next) {
    char *end;
    next = strchr(line, '\n');
    if (!next) break;   /* a line without its end was cut short: not trusted */
    *next++ = 0;
    for (int i = 0; i < 2; i++) {
      size_t k = strlen(names[i]);
      if (strncmp(line, names[i], k) || line[k] != ' ') continue;
      errno = 0;
      unsigned long long u = strtoull(line + k + 1, &end, 10);
      /* nothing sensible lies further than a day ahead */
      if (!errno && !*end && end != line + k + 1 && u > (unsigned long long)now && u <= (unsigned long long)now + 86400)
        f->until[i] = (time_t)u;
    }
  }
}

int fam_skip(struct families const *f, int i, time_t now) { return f->until[i] > now; }

enum fam_fail fam_classify(int err)
{
  switch (err) {
  case 0: return FAIL_NONE;
  case ENETUNREACH: case EADDRNOTAVAIL: case EAFNOSUPPORT: case EINVAL: case EACCES: case EPERM:
    return FAIL_LOCAL;   /* no route, no such source address, a blackhole or prohibit route */
  case ETIMEDOUT: case EHOSTUNREACH:
    return FAIL_PEER;    /* a dead host looks the same as a broken path to it */
  default:
    return FAIL_NONE;    /* refused, reset: the peer answered */
  }
}

/* Write the file: a temporary name of our own (O_EXCL), then rename. */
static int save(struct families const *f, char const *dir, time_t now)
{
  char path[4200], tmp[4300], buf[128];
  size_t len = 0;
  int fd, ok;
  for (int i = 0; i < 2; i++)
    if (f->until[i] > now)
      len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %lld\n", names[i], (long long)f->until[i]);
  if (snprintf(path, sizeof path, "%s/" FILE_NAME, dir) >= (int)sizeof path ||
      snprintf(tmp, sizeof tmp, "%s/" FILE_NAME ".%ld.tmp", dir, (long)getpid()) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return 0;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  ok = write(fd, buf, len) == (ssize_t)len;
  if (close(fd) < 0) ok = 0;
  if (ok && rename(tmp, path) == 0) return 1;
  { int e = errno; unlink(tmp); errno = e; }
  return 0;
}

/* Append "name verb" to what (comma separated), as far as it fits. */
static void say(char *what, size_t len, char const *name, char const *verb)
{
  size_t w = strlen(what);
  snprintf(what + w, len - w, "%s%s %s", w ? ", " : "", name, verb);
}

int fam_settle(struct families *f, char const *dir, time_t now, unsigned hold, char *what, size_t whatlen)
{
  what[0] = 0;
  for (int i = 0; i < 2; i++) {
    if (f->connected[i]) {
      if (f->until[i]) { f->until[i] = 0; f->changed = 1; say(what, whatlen, names[i], "connects again"); }
      continue;
    }
    if (f->failed[i] == FAIL_LOCAL || (f->failed[i] == FAIL_PEER && f->connected[!i])) {
      f->until[i] = now + (time_t)hold;
      f->changed = 1;
      say(what, whatlen, names[i], "failed: skipped where a host has other addresses");
    }
  }
  if (!f->changed || !hold) return 1;
  return save(f, dir, now);
}
