/* Buffered client I/O. Output is flushed before every blocking read, and only
 * then: that is all PIPELINING needs (replies to a pipelined group go out in one
 * write, and a client that waits for a reply always gets it). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"

int io_flush(io *x)
{
  size_t n = x->olen;
  x->olen = 0;
  if (!n) return 1;
  return x->wr(x, x->obuf, n);
}

int io_put(io *x, char const *s, size_t n)
{
  while (n) {
    size_t room = sizeof x->obuf - x->olen;
    if (!room) {
      if (!io_flush(x)) return 0;
      room = sizeof x->obuf;
    }
    if (room > n) room = n;
    memcpy(x->obuf + x->olen, s, room);
    x->olen += room;
    s += room;
    n -= room;
  }
  return 1;
}

int io_puts(io *x, char const *s) { return io_put(x, s, strlen(s)); }

int io_fill(io *x)
{
  ssize_t r;
  if (!io_flush(x)) return -1;
  r = x->rd(x, x->ibuf, sizeof x->ibuf);
  if (r <= 0) { x->ipos = x->ilen = 0; return r < 0 ? -1 : 0; }
  x->ipos = 0;
  x->ilen = (size_t)r;
  return 1;
}

void io_discard(io *x) { x->ipos = x->ilen = 0; }

ssize_t io_fd_read(io *x, char *buf, size_t len)
{
  for (;;) {
    struct pollfd p = { .fd = x->rfd, .events = POLLIN };
    int t = x->timeout ? (int)x->timeout * 1000 : -1;
    int r = poll(&p, 1, t);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (!r) { x->timedout = 1; errno = ETIMEDOUT; return -1; }
    ssize_t n = read(x->rfd, buf, len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return n;
  }
}

int io_fd_write(io *x, char const *buf, size_t len)
{
  while (len) {
    struct pollfd p = { .fd = x->wfd, .events = POLLOUT };
    int t = x->timeout ? (int)x->timeout * 1000 : -1;
    int r = poll(&p, 1, t);
    if (r < 0) { if (errno == EINTR) continue; return 0; }
    if (!r) { x->timedout = 1; errno = ETIMEDOUT; return 0; }
    ssize_t n = write(x->wfd, buf, len);
    if (n < 0) { if (errno == EINTR || errno == EAGAIN) continue; return 0; }
    buf += n;
    len -= (size_t)n;
  }
  return 1;
}
