/* pochta-imapd: client I/O with bounded buffers. We use plain read/write on two
 * descriptors because STARTTLS swaps them and IDLE polls them with inotify. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>

#include "io.h"

int io_infd = 0, io_outfd = 1;
unsigned io_timeout = 1800;
int io_timed_out;

static char ibuf[16384];
static size_t ipos, ilen;
static char obuf[65536];
static ssize_t timed_writev(int fd, struct iovec const *v, unsigned int n);
buffer io_out = BUFFER_INIT(&timed_writev, 1, obuf, sizeof obuf);
static int ofail;

static int64_t now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* --- deadlines ------------------------------------------------------------
 * Reading: between commands the client may wait io_timeout; once a command's
 * first octets came, the rest (line and literals) must come within
 * IO_CMD_GRACE plus the time its literals take at IO_MIN_RATE. Writing: a
 * client that takes nothing for io_timeout is dropped. */
static int64_t cmd_deadline;      /* 0: none yet */
static int cmd_armed;
static int64_t cmd_extra_ms;      /* what the literals announced so far add */

void io_cmd_begin(void) { cmd_armed = 1; cmd_deadline = 0; cmd_extra_ms = 0; }
void io_cmd_end(void) { cmd_armed = 0; cmd_deadline = 0; cmd_extra_ms = 0; }

void io_cmd_literal(uint64_t octets)
{
  int64_t ms = octets > (uint64_t)INT32_MAX * IO_MIN_RATE ? (int64_t)INT32_MAX * 1000 : (int64_t)(octets * 1000 / IO_MIN_RATE);
  cmd_extra_ms += ms;
  if (cmd_deadline) cmd_deadline += ms;
  io_compress_allow(octets);
}

/* How long a read may wait now (ms), or -1 when the command's time is up. */
static int read_wait_ms(void)
{
  int64_t t = (int64_t)io_timeout * 1000;
  if (cmd_deadline) {
    int64_t left = cmd_deadline - now_ms();
    if (left <= 0) return -1;
    if (left < t) t = left;
  }
  return (int)t;
}

static void got_input(void)
{
  /* (never longer than the idle timeout) */
  unsigned grace = io_timeout < IO_CMD_GRACE ? io_timeout : IO_CMD_GRACE;
  if (cmd_armed && !cmd_deadline) cmd_deadline = now_ms() + (int64_t)grace * 1000 + cmd_extra_ms;
}

int io_set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Wait until fd takes output, at most io_timeout. 1 ready, 0 timed out, -1 error. */
static int wait_writable(int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLOUT };
  for (;;) {
    int r = poll(&p, 1, (int)io_timeout * 1000);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (!r) { io_timed_out = 1; errno = ETIMEDOUT; return 0; }
    return 1;
  }
}

/* The output buffer's write function: a descriptor that is non-blocking
 * waits in poll, never in write, so a client that stops reading cannot hold
 * the session longer than io_timeout. */
static ssize_t timed_writev(int fd, struct iovec const *v, unsigned int n)
{
  for (;;) {
    ssize_t r = writev(fd, v, n);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (wait_writable(fd) <= 0) return -1;
  }
}

int io_write_all(int fd, char const *s, size_t n)
{
  while (n) {
    ssize_t r = write(fd, s, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (wait_writable(fd) <= 0) return -1;
      continue;
    }
    s += r; n -= (size_t)r;
  }
  return 0;
}

int io_abandoned(void) { return ofail; }

size_t io_pending(void) { return ilen - ipos; }
char const *io_pending_data(void) { return ibuf + ipos; }
void io_discard(void) { ipos = ilen = 0; }

int io_unread(char const *s, size_t n)
{
  if (n > sizeof ibuf - (ilen - ipos)) return 0;
  memmove(ibuf + n, ibuf + ipos, ilen - ipos);
  memcpy(ibuf, s, n);
  ilen = n + ilen - ipos; ipos = 0;
  return 1;
}

/* Refill the input buffer; flushes output first so pipelining works. With
 * COMPRESS on, what is read is inflated into it (compress.c). */
static int fill(void)
{
  if (ipos == ilen) ipos = ilen = 0;
  if (ipos && ilen == sizeof ibuf) { memmove(ibuf, ibuf + ipos, ilen - ipos); ilen -= ipos; ipos = 0; }
  if (io_flush() < 0) return -2;
  for (;;) {
    if (io_compressing()) {
      /* what inflates from input already read needs no wait */
      ssize_t z = io_inflate(ibuf + ilen, sizeof ibuf - ilen);
      if (z < 0) return -2;
      if (z) { ilen += (size_t)z; return 1; }
    }
    struct pollfd p = { .fd = io_infd, .events = POLLIN };
    int wait = read_wait_ms();
    if (wait < 0) { io_timed_out = 1; return -2; }
    int r = poll(&p, 1, wait);
    if (r < 0) { if (errno == EINTR) continue; return -2; }
    if (!r) { io_timed_out = 1; return -2; }
    if (io_compressing()) {
      int f = io_inflate_read(io_infd);
      if (f <= 0) return f;
      got_input();
      continue;
    }
    ssize_t n = read(io_infd, ibuf + ilen, sizeof ibuf - ilen);
    if (n < 0) { if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue; return -2; }
    if (!n) return 0;
    got_input();
    ilen += (size_t)n;
    return 1;
  }
}

int io_getline(stralloc *sa, size_t max)
{
  int toolong = 0;
  sa->len = 0;
  for (;;) {
    char *nl = memchr(ibuf + ipos, '\n', ilen - ipos);
    size_t take = nl ? (size_t)(nl - (ibuf + ipos)) : ilen - ipos;
    if (!toolong) {
      if (sa->len + take > max) {
        /* the start stays (up to max octets): it holds the tag to answer */
        toolong = 1;
        if (!stralloc_catb(sa, ibuf + ipos, max - sa->len)) return -2;
      }
      else if (!stralloc_catb(sa, ibuf + ipos, take)) return -2;
    }
    ipos += take;
    if (nl) {
      ipos++;
      if (toolong) return -1;
      if (sa->len && sa->s[sa->len - 1] == '\r') sa->len--;
      return 1;
    }
    int r = fill();
    if (r <= 0) return r;
  }
}

int io_getn(stralloc *sa, size_t n)
{
  while (n) {
    if (ipos == ilen) { int r = fill(); if (r <= 0) return r; }
    size_t take = ilen - ipos < n ? ilen - ipos : n;
    if (!stralloc_catb(sa, ibuf + ipos, take)) return -2;
    ipos += take; n -= take;
  }
  return 1;
}

int io_skip(size_t n)
{
  while (n) {
    if (ipos == ilen) { int r = fill(); if (r <= 0) return r; }
    size_t take = ilen - ipos < n ? ilen - ipos : n;
    ipos += take; n -= take;
  }
  return 1;
}

int io_copy_to_fd(int fd, size_t n, int crlf)
{
  char out[16384];
  int cr = 0;   /* a CR ended the previous chunk and is held back */
  int werr = 0;
  while (n) {
    if (ipos == ilen) { int r = fill(); if (r <= 0) return r; }
    size_t take = ilen - ipos < n ? ilen - ipos : n;
    size_t o = 0;
    for (size_t i = 0; i < take; i++) {
      char c = ibuf[ipos + i];
      if (cr) { if (c != '\n') out[o++] = '\r'; cr = 0; }
      if (c == '\r' && crlf) { cr = 1; continue; }
      out[o++] = c;
      if (o >= sizeof out - 2) { if (!werr && allwrite(fd, out, o) != o) werr = 1; o = 0; }
    }
    if (o && !werr && allwrite(fd, out, o) != o) werr = 1;
    ipos += take; n -= take;
  }
  if (cr && !werr && allwrite(fd, "\r", 1) != 1) werr = 1;
  return werr ? -3 : 1;
}

int io_wait(int ev, int ms) { return io_wait2(ev, -1, ms); }

int io_wait2(int ev, int ev2, int ms)
{
  if (ipos < ilen) return 1;
  if (io_compressing()) {
    /* input read before may hold more than the buffer took */
    ipos = ilen = 0;
    ssize_t z = io_inflate(ibuf, sizeof ibuf);
    if (z < 0) return -1;
    if (z) { ilen += (size_t)z; return 1; }
  }
  if (io_flush() < 0) return -1;
  /* (a negative fd is left out by poll) */
  struct pollfd p[3] = { { .fd = io_infd, .events = POLLIN }, { .fd = ev, .events = POLLIN }, { .fd = ev2, .events = POLLIN } };
  int r = poll(p, 3, ms);
  if (r < 0) return errno == EINTR ? 0 : -1;
  if (!r) return 0;
  if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
    int f = fill();
    return f > 0 ? 1 : -1;
  }
  if (ev >= 0 && p[1].revents) return 2;
  if (ev2 >= 0 && p[2].revents) return 3;
  return 0;
}

int io_flush(void)
{
  if (ofail) return -1;
  io_out.fd = io_outfd;
  if (!buffer_flush(&io_out)) { ofail = 1; return -1; }
  return 0;
}

void io_put(char const *s, size_t n)
{
  io_out.fd = io_outfd;
  if (!ofail && !buffer_putall(&io_out, s, n, &(size_t){0})) ofail = 1;
}

void io_puts(char const *s) { io_put(s, strlen(s)); }

void io_putu(unsigned long long u)
{
  char b[24]; size_t i = sizeof b;
  do { b[--i] = '0' + u % 10; u /= 10; } while (u);
  io_put(b + i, sizeof b - i);
}

void io_putstr(char const *s, size_t n)
{
  if (!s) { io_put("NIL", 3); return; }
  int quote = n < 1024;
  for (size_t i = 0; quote && i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || !s[i] || (unsigned char)s[i] >= 0x80) quote = 0;
  if (quote) {
    io_put("\"", 1);
    for (size_t i = 0; i < n; i++) {
      if (s[i] == '"' || s[i] == '\\') io_put("\\", 1);
      io_put(s + i, 1);
    }
    io_put("\"", 1);
  } else {
    io_put("{", 1); io_putu(n); io_put("}\r\n", 3); io_put(s, n);
  }
}

buffer *io_outbuf(void) { io_out.fd = io_outfd; return &io_out; }

int io_take_pending(char *buf, size_t max)
{
  size_t n = ilen - ipos;
  if (n > max) return -1;
  memcpy(buf, ibuf + ipos, n);
  ipos = ilen = 0;
  return (int)n;
}
