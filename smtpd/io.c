/* Buffered client I/O. Output is flushed before every blocking read, and only
 * then: that is all PIPELINING needs (replies to a pipelined group go out in one
 * write, and a client that waits for a reply always gets it). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
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

static long long now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void io_deadline(io *x, int inmsg)
{
  x->inmsg = inmsg;
  x->deadline = x->timeout ? now_ms() + (long long)x->timeout * 1000 : 0;
}

int io_fill(io *x)
{
  ssize_t r;
  if (!io_flush(x)) return -1;
  r = x->rd(x, x->ibuf, sizeof x->ibuf);
  if (r <= 0) { x->ipos = x->ilen = 0; return r < 0 ? -1 : 0; }
  x->ipos = 0;
  x->ilen = (size_t)r;
  if (x->inmsg && x->deadline) {
    long long cap = now_ms() + (long long)x->timeout * 1000;
    if (!x->minrate) x->deadline = cap;
    else {
      x->deadline += (long long)r * 1000 / x->minrate;
      if (x->deadline > cap) x->deadline = cap;
    }
  }
  return 1;
}

void io_discard(io *x) { x->ipos = x->ilen = 0; }

/* A write to a blocking socket waits for all of it, past any deadline: our
 * output fd is made non-blocking (on a socket this is the input too, which
 * poll before every read makes harmless). */
void io_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Wait for fd until the deadline (0: none). 1 ready, 0 the deadline passed, -1 error. */
static int wait_until(int fd, short ev, long long deadline)
{
  for (;;) {
    struct pollfd p = { .fd = fd, .events = ev };
    int t = -1, r;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0) return 0;
      t = left > 86400000 ? 86400000 : (int)left;
    }
    r = poll(&p, 1, t);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return -1;
  }
}

ssize_t io_fd_read(io *x, char *buf, size_t len)
{
  for (;;) {
    int r = wait_until(x->rfd, POLLIN, x->deadline);
    if (r < 0) return -1;
    if (!r) { x->timedout = 1; errno = ETIMEDOUT; return -1; }
    ssize_t n = read(x->rfd, buf, len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return n;
  }
}

/* The whole flush has one deadline: a client that reads a little now and then
 * does not hold the session longer than one that reads nothing. */
int io_fd_write(io *x, char const *buf, size_t len)
{
  long long deadline = x->timeout ? now_ms() + (long long)x->timeout * 1000 : 0;
  while (len) {
    int r = wait_until(x->wfd, POLLOUT, deadline);
    if (r < 0) return 0;
    if (!r) { x->timedout = 1; errno = ETIMEDOUT; return 0; }
    ssize_t n = write(x->wfd, buf, len);
    if (n < 0) { if (errno == EINTR || errno == EAGAIN) continue; return 0; }
    buf += n;
    len -= (size_t)n;
  }
  return 1;
}
