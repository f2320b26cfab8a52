/* spam/dnsnet.c — the effect of a DNS list question: one UDP exchange with one
 * nameserver (a second try when half the time has passed without an answer;
 * answers with another id are ignored), parsed by dnsa.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "spam-int.h"

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "1.2.3.4", "1.2.3.4#53", "::1", "[::1]:53", "::1#53". */
static int server_spec(struct sockaddr_storage *ss, socklen_t *sl, char const *s, size_t len)
{
  char host[64];
  unsigned long port = 53;
  char const *ps = 0;
  if (!len || len >= sizeof host) return 0;
  if (*s == '[') {
    char const *rb = memchr(s, ']', len);
    if (!rb) return 0;
    memcpy(host, s + 1, rb - s - 1);
    host[rb - s - 1] = 0;
    if (rb + 1 < s + len) { if (rb[1] != ':' && rb[1] != '#') return 0; ps = rb + 2; }
  } else {
    char const *hash = memchr(s, '#', len);
    size_t hl = hash ? (size_t)(hash - s) : len;
    memcpy(host, s, hl);
    host[hl] = 0;
    if (hash) ps = hash + 1;
  }
  if (ps) {
    port = 0;
    for (; ps < s + len; ps++) {
      if (*ps < '0' || *ps > '9' || (port = port * 10 + (*ps - '0')) > 65535) return 0;
    }
    if (!port) return 0;
  }
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) { v4->sin_family = AF_INET; v4->sin_port = htons(port); *sl = sizeof *v4; return 1; }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) { v6->sin6_family = AF_INET6; v6->sin6_port = htons(port); *sl = sizeof *v6; return 1; }
  return 0;
}

/* The first "nameserver" of resolv.conf text: 1 found, 0 none, -1 not an address. */
static int resolv(struct sockaddr_storage *ss, socklen_t *sl, char const *t, size_t len)
{
  for (size_t i = 0; i < len;) {
    char const *nl = memchr(t + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - t) : len;
    char const *l = t + i;
    size_t n = e - i;
    i = e + 1;
    while (n && (*l == ' ' || *l == '\t')) { l++; n--; }
    if (n < 11 || strncmp(l, "nameserver", 10) || (l[10] != ' ' && l[10] != '\t')) continue;
    l += 11; n -= 11;
    while (n && (*l == ' ' || *l == '\t')) { l++; n--; }
    size_t w = 0;
    while (w < n && l[w] != ' ' && l[w] != '\t' && l[w] != '\r' && l[w] != '#' && l[w] != '%') w++;
    return server_spec(ss, sl, l, w) ? 1 : -1;
  }
  return 0;
}

int spam_dns_server(struct sockaddr_storage *ss, socklen_t *sl)
{
  char const *env = getenv("POCHTA_DNS");
  stralloc t = STRALLOC_ZERO;
  char path[4096];
  int r;
  if (env && *env) {
    size_t w = strcspn(env, " \t,");
    return server_spec(ss, sl, env, w);
  }
  if (conf_path(path, sizeof path, "dnsservers") && spam_slurp(&t, path, 65536, 0) > 0) {
    r = resolv(ss, sl, t.s, t.len);
    stralloc_free(&t);
    if (r) return r > 0;
  }
  if (spam_slurp(&t, "/etc/resolv.conf", 65536, 0) > 0) {
    r = resolv(ss, sl, t.s, t.len);
    stralloc_free(&t);
    if (r) return r > 0;
  }
  stralloc_free(&t);
  return server_spec(ss, sl, "127.0.0.1", 9);
}

int spam_dns_ask(struct sockaddr_storage const *ss, socklen_t sl, char const *name, unsigned timeout_ms,
                 unsigned char ip[][4], unsigned max, unsigned *n)
{
  unsigned char q[SPAM_DNS_PKT], a[SPAM_DNS_PKT];
  uint16_t id;
  size_t ql;
  int64_t start = mono_ms(), deadline = start + timeout_ms, again = start + timeout_ms / 2;
  *n = 0;
  if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint16_t)(start ^ getpid());
  if (!(ql = spam_dns_query(q, sizeof q, id, name))) return SPAM_DNS_NX;   /* no such name can exist */
  int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SPAM_DNS_TEMP;
  if (connect(fd, (struct sockaddr const *)ss, sl) < 0 || send(fd, q, ql, 0) != (ssize_t)ql) { close(fd); return SPAM_DNS_TEMP; }
  for (;;) {
    int64_t now = mono_ms();
    if (now >= deadline) break;
    if (again && now >= again) { again = 0; if (send(fd, q, ql, 0) != (ssize_t)ql) break; }
    int64_t until = again ? again : deadline;
    struct pollfd p = { fd, POLLIN, 0 };
    int r = poll(&p, 1, (int)(until - now));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    ssize_t got = recv(fd, a, sizeof a, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;   /* ECONNREFUSED: nobody listens there */
    }
    if (got < 2 || (a[0] << 8 | a[1]) != id) continue;   /* not ours */
    close(fd);
    return spam_dns_answer(a, (size_t)got, id, name, ip, max, n);
  }
  close(fd);
  return SPAM_DNS_TEMP;
}
