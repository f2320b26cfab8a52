/* Sending a question and getting its answer: UDP to each server in turn, for the
 * configured number of rounds; TCP to the same server when the answer is truncated.
 * Each socket is connected, so the kernel drops datagrams from other addresses;
 * the id is random, and an answer must echo our question (checked by dns_parse). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"

int64_t dns_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before the earlier of until and the resolver's deadline; 0 if
 * none. */
static int left(dns_resolver const *r, int64_t until)
{
  int64_t now = dns_now_ms(), end = until;
  if (r->deadline_ms && r->deadline_ms < end) end = r->deadline_ms;
  return end > now ? (int)(end - now) : 0;
}

/* Wait for fd to be ready for ev. 1 ready, 0 timeout or error. */
static int await(dns_resolver const *r, int fd, short ev, int64_t until)
{
  for (;;) {
    struct pollfd p = { fd, ev, 0 };
    int ms = left(r, until), n;
    if (!ms) return 0;
    n = poll(&p, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && (p.revents & (ev | POLLHUP)) && !(p.revents & POLLNVAL);
  }
}

/* Is pkt an answer to our question (id, and the QR bit)? The full check of the
 * question is dns_parse's; this only lets a stray datagram be skipped. */
static int ours(unsigned char const *pkt, size_t len, uint16_t id, unsigned char const *q, size_t qlen)
{
  size_t qs = 12, qe = qlen - 11;   /* question section of what we sent (before OPT) */
  if (len < qe || pkt[0] != id >> 8 || pkt[1] != (id & 255) || !(pkt[2] & 0x80)) return 0;
  /* same question, case-insensitively (the server may echo it in another case) */
  for (size_t i = qs; i < qe; i++) {
    unsigned a = pkt[i], b = q[i];
    if (a >= 'A' && a <= 'Z') a += 32;
    if (b >= 'A' && b <= 'Z') b += 32;
    if (a != b) return 0;
  }
  return 1;
}

static size_t udp_try(dns_resolver *r, unsigned s, unsigned char const *q, size_t qlen,
                      uint16_t id, unsigned char *pkt)
{
  struct sockaddr const *sa = (struct sockaddr const *)&r->server[s];
  int64_t until = dns_now_ms() + r->timeout_ms;
  size_t got = 0;
  int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return 0;
  if (connect(fd, sa, r->serverlen[s]) < 0 || send(fd, q, qlen, 0) != (ssize_t)qlen) goto end;
  while (await(r, fd, POLLIN, until)) {
    ssize_t n = recv(fd, pkt, DNS_PKT_MAX, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;                      /* ECONNREFUSED: nobody listens there */
    }
    if (ours(pkt, (size_t)n, id, q, qlen)) { got = (size_t)n; break; }
  }
end:
  close(fd);
  return got;
}

static int full_write(dns_resolver const *r, int fd, unsigned char const *b, size_t n, int64_t until)
{
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && await(r, fd, POLLOUT, until)) continue;
      return 0;
    }
    b += w; n -= (size_t)w;
  }
  return 1;
}

static int full_read(dns_resolver const *r, int fd, unsigned char *b, size_t n, int64_t until)
{
  while (n) {
    ssize_t g = recv(fd, b, n, 0);
    if (g < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && await(r, fd, POLLIN, until)) continue;
      return 0;
    }
    if (!g) return 0;
    b += g; n -= (size_t)g;
  }
  return 1;
}

static size_t tcp_try(dns_resolver *r, unsigned s, unsigned char const *q, size_t qlen,
                      uint16_t id, unsigned char *pkt)
{
  struct sockaddr const *sa = (struct sockaddr const *)&r->server[s];
  /* a TCP exchange gets twice a UDP try: connect and a larger answer */
  int64_t until = dns_now_ms() + 2 * (int64_t)r->timeout_ms;
  unsigned char lb[2];
  size_t n, got = 0;
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return 0;
  if (connect(fd, sa, r->serverlen[s]) < 0) {
    int e = 0;
    socklen_t el = sizeof e;
    if (errno != EINPROGRESS || !await(r, fd, POLLOUT, until)) goto end;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) goto end;
  }
  lb[0] = (unsigned char)(qlen >> 8); lb[1] = qlen & 255;
  if (!full_write(r, fd, lb, 2, until) || !full_write(r, fd, q, qlen, until)) goto end;
  if (!full_read(r, fd, lb, 2, until)) goto end;
  n = (size_t)lb[0] << 8 | lb[1];
  if (!n || !full_read(r, fd, pkt, n, until)) goto end;
  if (ours(pkt, n, id, q, qlen)) got = n;
end:
  close(fd);
  return got;
}

size_t dns_exchange(dns_resolver *r, char const *qname, uint16_t qtype,
                    unsigned char *pkt, uint16_t *idp)
{
  unsigned char q[512];
  uint16_t id;
  size_t qlen;
  if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint16_t)(dns_now_ms() * 2654435761u);
  *idp = id;
  if (!(qlen = dns_query_encode(q, sizeof q, id, qname, qtype))) return 0;
  if (r->max_queries && r->queries >= r->max_queries) return 0;
  r->queries++;
  for (unsigned a = 0; a < (r->attempts ? r->attempts : 1); a++) {
    for (unsigned s = 0; s < r->nservers; s++) {
      size_t n;
      if (r->deadline_ms && dns_now_ms() >= r->deadline_ms) return 0;
      n = udp_try(r, s, q, qlen, id, pkt);
      if (!n) continue;
      if (pkt[2] & 0x02) {          /* TC: the whole answer over TCP (RFC 7766) */
        n = tcp_try(r, s, q, qlen, id, pkt);
        if (!n) continue;
      }
      /* SERVFAIL or REFUSED from one server: the next may know better */
      if ((pkt[3] & 15) == 2 || (pkt[3] & 15) == 5) {
        if (s + 1 < r->nservers) continue;
      }
      return n;
    }
  }
  return 0;
}
