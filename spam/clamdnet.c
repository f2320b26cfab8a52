/* spam/clamdnet.c — the effect of a clamd scan: connect to clamd's socket
 * (unix:/path, or tcp:address:port with a numeric address or localhost), send the
 * message with INSTREAM in chunks of at most 64 KiB (a 4-octet big-endian length
 * each, a zero length at the end), read the one answer. Everything within the
 * timeout; every failure is CLAMD_ERROR with the reason. clamd closes the
 * connection when a message exceeds its StreamMaxLength: its answer is read then. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "spam-int.h"

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) { errno = ETIMEDOUT; return 0; }
    struct pollfd p = { fd, ev, 0 };
    int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return 0;
  }
}

static int fail(spam_clamd *r, char const *what, int fd)
{
  int e = errno;
  memset(r, 0, sizeof *r);
  r->status = CLAMD_ERROR;
  snprintf(r->why, sizeof r->why, "%s: %s", what, strerror(e));
  if (fd >= 0) close(fd);
  return -1;
}

static int dial(char const *addr, int64_t deadline, spam_clamd *r)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  int fd;
  memset(&ss, 0, sizeof ss);
  if (!strncmp(addr, "unix:", 5)) {
    struct sockaddr_un *u = (struct sockaddr_un *)&ss;
    if (strlen(addr + 5) >= sizeof u->sun_path) { errno = ENAMETOOLONG; return fail(r, "clamd socket", -1); }
    u->sun_family = AF_UNIX;
    strcpy(u->sun_path, addr + 5);
    sl = sizeof *u;
  } else if (!strncmp(addr, "tcp:", 4)) {
    char host[100];
    char const *colon = strrchr(addr + 4, ':');
    unsigned long port = 0;
    size_t hl = colon ? (size_t)(colon - addr - 4) : 0;
    if (!colon || hl >= sizeof host) { errno = EINVAL; return fail(r, "clamd address", -1); }
    memcpy(host, addr + 4, hl);
    host[hl] = 0;
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') { memmove(host, host + 1, hl - 2); host[hl - 2] = 0; }
    for (char const *p = colon + 1; *p; p++) port = *p >= '0' && *p <= '9' && port < 65536 ? port * 10 + (*p - '0') : 70000;
    if (!strcmp(host, "localhost")) strcpy(host, "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (!port || port > 65535) { errno = EINVAL; return fail(r, "clamd port", -1); }
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) { v4->sin_family = AF_INET; v4->sin_port = htons(port); sl = sizeof *v4; }
    else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) { v6->sin6_family = AF_INET6; v6->sin6_port = htons(port); sl = sizeof *v6; }
    else { errno = EINVAL; return fail(r, "clamd address (numeric or localhost)", -1); }
  } else { errno = EINVAL; return fail(r, "clamd address", -1); }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(r, "clamd socket", -1);
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
    int err = 0;
    socklen_t el = sizeof err;
    if (errno != EINPROGRESS && errno != EAGAIN) return fail(r, "connect to clamd", fd);
    if (!wait_fd(fd, POLLOUT, deadline)) return fail(r, "connect to clamd", fd);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) { errno = err ? err : errno; return fail(r, "connect to clamd", fd); }
  }
  return fd;
}

/* 1 all sent, 0 the peer stopped reading (EPIPE, ECONNRESET), -1 other error. */
static int send_all(int fd, char const *s, size_t n, int64_t deadline)
{
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w > 0) { s += w; n -= w; continue; }
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) return 0;
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    if (!wait_fd(fd, POLLOUT, deadline)) return -1;
  }
  return 1;
}

void spam_clamd_scan(char const *addr, unsigned timeout_s, char const *msg, size_t len, spam_clamd *r)
{
  int64_t deadline = mono_ms() + (int64_t)timeout_s * 1000;
  char reply[1024];
  size_t got = 0;
  int fd = dial(addr, deadline, r), s = 1;
  if (fd < 0) return;
  s = send_all(fd, "zINSTREAM", 10, deadline);
  for (size_t off = 0; s > 0 && off < len;) {
    size_t n = len - off > 65536 ? 65536 : len - off;
    unsigned char h[4] = { n >> 24, n >> 16, n >> 8, n };
    s = send_all(fd, (char *)h, 4, deadline);
    if (s > 0) s = send_all(fd, msg + off, n, deadline);
    off += n;
  }
  if (s > 0) s = send_all(fd, "\0\0\0\0", 4, deadline);
  if (s < 0) { fail(r, "send to clamd", fd); return; }
  while (got < sizeof reply && !memchr(reply, 0, got)) {
    ssize_t k = recv(fd, reply + got, sizeof reply - got, 0);
    if (k > 0) { got += k; continue; }
    if (!k) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || !wait_fd(fd, POLLIN, deadline)) { fail(r, "read clamd's answer", fd); return; }
  }
  close(fd);
  spam_clamd_reply(r, reply, got);
}
