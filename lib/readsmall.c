#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "readsmall.h"

int read_small(char const *path, char *buf, size_t cap, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  size_t got = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  while (got < cap) {
    ssize_t r = read(fd, buf + got, cap - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { int e = errno; close(fd); errno = e; return -1; }
    if (!r) break;
    got += (size_t)r;
  }
  close(fd);
  *len = got;
  return got < cap ? 1 : 2;
}
