/* Configuration files, plain libc. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cfg.h"

char const *cfg_dir(void)
{
  char const *d = getenv("POCHTA_CONF");
  return d && *d ? d : "/etc/pochta";
}

int cfg_path(char *buf, size_t len, char const *name)
{
  int n = snprintf(buf, len, "%s/%s", cfg_dir(), name);
  return n > 0 && (size_t)n < len;
}

int cfg_file(char const *name, char *buf, size_t len, int private)
{
  char path[4096];
  struct stat st;
  size_t got = 0;
  int fd;
  if (!len || !cfg_path(path, sizeof path, name)) { errno = ENAMETOOLONG; return -1; }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  if (fstat(fd, &st) < 0) goto fail;
  /* a password readable by others is a leak waiting to happen: refuse */
  if (private && (st.st_mode & 077)) { errno = EPERM; goto fail; }
  for (;;) {
    ssize_t r;
    if (got + 1 >= len) { errno = EFBIG; goto fail; }
    r = read(fd, buf + got, len - 1 - got);
    if (r < 0) { if (errno == EINTR) continue; goto fail; }
    if (!r) break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = 0;
  return 1;
fail:
  { int e = errno; close(fd); errno = e; }
  return -1;
}

int cfg_line(char const *name, char *buf, size_t len)
{
  char all[8192];
  char *p, *e;
  int r = cfg_file(name, all, sizeof all, 0);
  if (r <= 0) return r;
  for (p = all; *p; p = e) {
    char *s, *t;
    e = strchr(p, '\n');
    if (e) *e++ = 0; else e = p + strlen(p);
    for (s = p; *s == ' ' || *s == '\t'; s++) ;
    t = s + strlen(s);
    while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')) *--t = 0;
    if (!*s || *s == '#') continue;
    if ((size_t)(t - s) >= len) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, s, (size_t)(t - s) + 1);
    return 1;
  }
  return 0;
}
