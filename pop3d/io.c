#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

/* Non-blocking descriptors: a client that stops reading must meet the
 * idle timeout in poll(), not hang us in write(). */
static void nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void io_init(io_t *io, int rfd, int wfd, unsigned timeout)
{
  nonblock(rfd); nonblock(wfd);
  io->rfd = rfd; io->wfd = wfd; io->timeout = timeout;
  io->rpos = io->rlen = io->wlen = 0;
  io->bytes_out = 0;
}

void io_switch(io_t *io, int rfd, int wfd)
{
  nonblock(rfd); nonblock(wfd);
  io->rfd = rfd; io->wfd = wfd;
  io->rpos = io->rlen = 0;
}

int io_preload(io_t *io, char const *s, size_t n)
{
  if (io->rlen - io->rpos + n > sizeof io->rbuf) return 0;
  memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
  io->rlen -= io->rpos; io->rpos = 0;
  memcpy(io->rbuf + io->rlen, s, n);
  io->rlen += n;
  return 1;
}

size_t io_pending(io_t const *io, char const **s)
{
  *s = io->rbuf + io->rpos;
  return io->rlen - io->rpos;
}

static long long now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The deadline of an operation that starts now (0: none). */
static long long deadline_of(io_t const *io)
{
  return io->timeout ? now_ms() + (long long)io->timeout * 1000 : 0;
}

/* Wait until fd is ready for events, at most until the deadline. */
static int wait_fd(int fd, short events, long long deadline)
{
  struct pollfd p = { .fd = fd, .events = events };
  for (;;) {
    int t = -1;
    if (deadline) {
      long long left = deadline - now_ms();
      if (left <= 0) { errno = ETIMEDOUT; return 0; }
      t = left > 86400000 ? 86400000 : (int)left;
    }
    int r = poll(&p, 1, t);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return 0;
  }
}

/* One deadline for the whole flush: a client that reads a little now and
 * then is dropped as one that reads nothing. */
void io_flush(io_t *io)
{
  size_t done = 0;
  long long deadline = deadline_of(io);
  while (done < io->wlen) {
    ssize_t w = write(io->wfd, io->wbuf + done, io->wlen - done);
    if (w > 0) { done += (size_t)w; continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN && wait_fd(io->wfd, POLLOUT, deadline)) continue;
    log_event_exit(errno == ETIMEDOUT ? "timeout" : "write-error");
  }
  io->bytes_out += io->wlen;
  io->wlen = 0;
}

void io_put(io_t *io, char const *s, size_t n)
{
  while (n) {
    size_t room = sizeof io->wbuf - io->wlen;
    size_t k = n < room ? n : room;
    memcpy(io->wbuf + io->wlen, s, k);
    io->wlen += k; s += k; n -= k;
    if (io->wlen == sizeof io->wbuf) io_flush(io);
  }
}

void io_puts(io_t *io, char const *s) { io_put(io, s, strlen(s)); }

/* Fill rbuf with more input (by the deadline); flush our replies first.
 * 1 got data, 0 EOF, -1 error. */
static int fill(io_t *io, long long deadline)
{
  io_flush(io);
  if (io->rpos) {
    memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
    io->rlen -= io->rpos; io->rpos = 0;
  }
  for (;;) {
    if (!wait_fd(io->rfd, POLLIN, deadline)) return -1;
    ssize_t r = read(io->rfd, io->rbuf + io->rlen, sizeof io->rbuf - io->rlen);
    if (r > 0) { io->rlen += (size_t)r; return 1; }
    if (r == 0) return 0;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

int io_getline(io_t *io, char *line, size_t *len)
{
  int skipping = 0;
  /* the whole line by then, however it trickles in; the flush of the replies
   * before it has its own deadline */
  long long deadline = 0;
  for (;;) {
    char *lf = memchr(io->rbuf + io->rpos, '\n', io->rlen - io->rpos);
    if (lf) {
      size_t n = (size_t)(lf - (io->rbuf + io->rpos));
      char const *s = io->rbuf + io->rpos;
      io->rpos += n + 1;
      if (skipping) return -2;
      if (n && s[n-1] == '\r') n--;
      if (n > IO_LINEMAX) return -2;
      memcpy(line, s, n);
      line[n] = 0;
      *len = n;
      return 1;
    }
    /* No line end in a full buffer: the line is too long; drop what we have
     * and keep dropping until its LF. */
    if (io->rlen - io->rpos > IO_LINEMAX + 1 || (io->rpos == 0 && io->rlen == sizeof io->rbuf)) {
      skipping = 1;
      io->rpos = io->rlen = 0;
    }
    io_flush(io);
    if (!deadline) deadline = deadline_of(io);
    int r = fill(io, deadline);
    if (r <= 0) {
      if (r == 0 && skipping) return -2;
      return r;
    }
  }
}
