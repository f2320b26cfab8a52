#include <errno.h>
#include <unistd.h>

#include "fdwrite.h"

int fd_write_all(int fd, char const *s, size_t len)
{
  while (len) {
    ssize_t w = write(fd, s, len);
    if (w < 0) { if (errno == EINTR) continue; return 0; }
    s += w;
    len -= (size_t)w;
  }
  return 1;
}
