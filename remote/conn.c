/* Connection I/O with deadlines. Every read and write first polls for at
 * most c->timeout seconds (RFC 5321 4.5.3.2 gives one per command). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"
#include "tls.h"

void conn_addrfmt(struct rdns_addr const *a, char *buf, size_t len)
{
  if (!inet_ntop(a->family, a->ip, buf, (socklen_t)len) && len) buf[0] = 0;
}

static void seterr(struct conn *c, char const *what)
{
  snprintf(c->err, sizeof c->err, "%s", what);
}

static void seterrno(struct conn *c, char const *what)
{
  c->errnum = errno;
  snprintf(c->err, sizeof c->err, "%s: %s", what, strerror(errno));
}

/* A sockaddr for a, port. Its length. */
static socklen_t sockaddr_of(struct sockaddr_storage *ss, struct rdns_addr const *a, unsigned port)
{
  memset(ss, 0, sizeof *ss);
  if (a->family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6; s6->sin6_port = htons((unsigned short)port);
    memcpy(&s6->sin6_addr, a->ip, 16);
    return sizeof *s6;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  s4->sin_family = AF_INET; s4->sin_port = htons((unsigned short)port);
  memcpy(&s4->sin_addr, a->ip, 4);
  return sizeof *s4;
}

/* Wait for fd to be ready: 1 ready, 0 timeout, -1 error */
static int waitfd(int fd, short ev, unsigned secs)
{
  struct pollfd p = { .fd = fd, .events = ev };
  int ms = secs > 2000000 ? 2000000000 : (int)secs * 1000;
  for (;;) {
    int r = poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r < 0 ? -1 : r > 0;
  }
}

int conn_open(struct conn *c, struct rdns_addr const *addr, unsigned port, unsigned timeout,
              struct rdns_addr const *src)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  int fd, e = 0, w;
  socklen_t el = sizeof e;
  c->fd = -1; c->tls = 0; c->rpos = c->rlen = c->wlen = 0; c->err[0] = 0;
  c->errnum = 0; c->sent = 0;
  c->timeout = timeout;
  fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { seterrno(c, "socket"); return 0; }
  if (src) {
    sl = sockaddr_of(&ss, src, 0);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) { seterrno(c, "bind to the source address"); close(fd); return 0; }
  }
  sl = sockaddr_of(&ss, addr, port);
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
    if (errno != EINPROGRESS) { seterrno(c, "connect"); close(fd); return 0; }
    w = waitfd(fd, POLLOUT, timeout);
    if (w <= 0) {
      if (w) seterrno(c, "poll");
      else { seterr(c, "connect: timed out"); c->errnum = ETIMEDOUT; }
      close(fd);
      return 0;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) { seterrno(c, "getsockopt"); close(fd); return 0; }
    if (e) { errno = e; seterrno(c, "connect"); close(fd); return 0; }
  }
  c->fd = fd;
  return 1;
}

void conn_close(struct conn *c)
{
  if (c->tls) tls_close(c);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1; c->tls = 0;
}

int conn_rawread(struct conn *c, unsigned char *buf, size_t len)
{
  for (;;) {
    ssize_t r;
    int w = waitfd(c->fd, POLLIN, c->timeout);
    if (w <= 0) { if (w) seterrno(c, "poll"); else seterr(c, "read: timed out"); return -1; }
    r = read(c->fd, buf, len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) { seterrno(c, "read"); return -1; }
    if (!r) { seterr(c, "connection closed by peer"); return -1; }
    return (int)r;
  }
}

int conn_rawwrite(struct conn *c, unsigned char const *buf, size_t len)
{
  for (;;) {
    ssize_t r;
    int w = waitfd(c->fd, POLLOUT, c->timeout);
    if (w <= 0) { if (w) seterrno(c, "poll"); else seterr(c, "write: timed out"); return -1; }
    r = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) { seterrno(c, "write"); return -1; }
    c->sent += (unsigned long long)r;
    return (int)r;
  }
}

int conn_flush(struct conn *c)
{
  size_t off = 0;
  if (c->tls) {
    int ok = tls_write(c, c->wbuf, c->wlen);
    c->wlen = 0;
    return ok;
  }
  while (off < c->wlen) {
    int w = conn_rawwrite(c, (unsigned char *)c->wbuf + off, c->wlen - off);
    if (w < 0) { c->wlen = 0; return 0; }
    off += (size_t)w;
  }
  c->wlen = 0;
  return 1;
}

int conn_put(struct conn *c, char const *s, size_t len)
{
  while (len) {
    size_t n = sizeof c->wbuf - c->wlen;
    if (!n) { if (!conn_flush(c)) return 0; continue; }
    if (n > len) n = len;
    memcpy(c->wbuf + c->wlen, s, n);
    c->wlen += n; s += n; len -= n;
  }
  return 1;
}

int conn_puts(struct conn *c, char const *s) { return conn_put(c, s, strlen(s)); }

int conn_reply(struct conn *c, struct reply *r)
{
  if (c->wlen && !conn_flush(c)) return 0;
  reply_init(r);
  for (;;) {
    size_t used;
    int k;
    if (c->rpos == c->rlen) {
      int n = c->tls ? tls_read(c, c->rbuf, sizeof c->rbuf)
                     : conn_rawread(c, (unsigned char *)c->rbuf, sizeof c->rbuf);
      if (n <= 0) return 0;
      c->rpos = 0; c->rlen = (size_t)n;
    }
    k = reply_feed(r, c->rbuf + c->rpos, c->rlen - c->rpos, &used);
    c->rpos += used;
    if (k < 0) { seterr(c, "malformed reply from peer"); return 0; }
    if (k > 0) return 1;
  }
}
