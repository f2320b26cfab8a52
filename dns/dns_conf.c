/* Which nameservers to ask: $POCHTA_DNS, <confdir>/dnsservers, /etc/resolv.conf. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "readsmall.h"

int dns_conf_server(dns_resolver *r, char const *spec)
{
  char host[64];
  char const *port = 0;
  size_t len = strlen(spec);
  unsigned long pn = 53;
  if (r->nservers >= DNS_SERVERS_MAX || !len || len >= sizeof host) return 0;
  if (spec[0] == '[') {                      /* [v6]:port */
    char const *e = strchr(spec, ']');
    if (!e) return 0;
    memcpy(host, spec + 1, (size_t)(e - spec - 1));
    host[e - spec - 1] = 0;
    if (e[1] == ':') port = e + 2; else if (e[1]) return 0;
  } else {
    char const *h = strchr(spec, '#');
    size_t hl = h ? (size_t)(h - spec) : len;
    memcpy(host, spec, hl);
    host[hl] = 0;
    if (h) port = h + 1;
  }
  if (port) {
    char *end;
    errno = 0;
    pn = strtoul(port, &end, 10);
    if (errno || *end || !pn || pn > 65535) return 0;
  }
  {
    struct sockaddr_storage *ss = &r->server[r->nservers];
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
      s4->sin_family = AF_INET;
      s4->sin_port = htons((uint16_t)pn);
      r->serverlen[r->nservers++] = sizeof *s4;
      return 1;
    }
    char *pct = strchr(host, '%');            /* fe80::1%eth0 */
    if (pct) *pct = 0;
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons((uint16_t)pn);
      if (pct) s6->sin6_scope_id = (uint32_t)strtoul(pct + 1, 0, 10);
      r->serverlen[r->nservers++] = sizeof *s6;
      return 1;
    }
  }
  return 0;
}

static unsigned optval(char const *w, size_t wl, char const *key, unsigned def, unsigned max)
{
  size_t kl = strlen(key);
  unsigned long v = 0;
  if (wl <= kl || memcmp(w, key, kl)) return def;
  for (size_t i = kl; i < wl; i++) {
    if (w[i] < '0' || w[i] > '9') return def;
    v = v * 10 + (unsigned)(w[i] - '0');
    if (v > max) v = max;
  }
  return v ? (unsigned)v : def;
}

void dns_conf_parse(dns_resolver *r, char const *t, size_t len)
{
  size_t i = 0;
  while (i < len) {
    size_t e = i, w[8][2], nw = 0, k = i;
    while (e < len && t[e] != '\n') e++;
    while (k < e && nw < 8) {                  /* split the line into words */
      while (k < e && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r')) k++;
      if (k >= e || t[k] == '#' || t[k] == ';') break;
      w[nw][0] = k;
      while (k < e && t[k] != ' ' && t[k] != '\t' && t[k] != '\r') k++;
      w[nw][1] = k - w[nw][0];
      nw++;
    }
    if (nw >= 2 && w[0][1] == 10 && !memcmp(t + w[0][0], "nameserver", 10) && w[1][1] < 64) {
      char spec[64];
      memcpy(spec, t + w[1][0], w[1][1]);
      spec[w[1][1]] = 0;
      (void)dns_conf_server(r, spec);   /* a bad or surplus line is ignored, as libc does */
    } else if (nw >= 2 && w[0][1] == 7 && !memcmp(t + w[0][0], "options", 7)) {
      for (size_t j = 1; j < nw; j++) {
        char const *s = t + w[j][0];
        unsigned to = optval(s, w[j][1], "timeout:", 0, 30);
        if (to) r->timeout_ms = to * 1000;
        r->attempts = optval(s, w[j][1], "attempts:", r->attempts, 5);
      }
    }
    i = e + 1;
  }
}

int dns_conf_load(dns_resolver *r)
{
  char buf[8192], path[4096];
  char const *env = getenv("POCHTA_DNS"), *cd;
  size_t len = 0;
  int got;
  memset(r, 0, sizeof *r);
  r->timeout_ms = 2000;
  r->attempts = 2;
  if (env && *env) {
    char spec[64];
    size_t i = 0, n = strlen(env);
    while (i < n) {
      size_t e = i;
      while (e < n && env[e] != ' ' && env[e] != ',') e++;
      if (e > i && e - i < sizeof spec) {
        memcpy(spec, env + i, e - i);
        spec[e - i] = 0;
        (void)dns_conf_server(r, spec);
      }
      i = e + 1;
    }
  }
  if (!r->nservers) {
    cd = getenv("POCHTA_CONF");
    if (!cd || !*cd) cd = "/etc/pochta";
    if (snprintf(path, sizeof path, "%s/dnsservers", cd) >= (int)sizeof path) return DNS_TEMP;
    got = read_small(path, buf, sizeof buf, &len);
    if (got < 0) return DNS_TEMP;
    if (got) dns_conf_parse(r, buf, len);
  }
  if (!r->nservers) {
    char const *rc = getenv("POCHTA_RESOLV_CONF");
    got = read_small(rc && *rc ? rc : "/etc/resolv.conf", buf, sizeof buf, &len);
    if (got < 0) return DNS_TEMP;
    if (got) dns_conf_parse(r, buf, len);
  }
  if (!r->nservers) (void)dns_conf_server(r, "127.0.0.1");
  {
    /* POCHTA_DNS_TIMEOUT=ms (tests of slow servers) */
    char const *t = getenv("POCHTA_DNS_TIMEOUT");
    if (t && *t) {
      unsigned long v = strtoul(t, 0, 10);
      if (v >= 10 && v <= 60000) r->timeout_ms = (unsigned)v;
    }
  }
  return DNS_OK;
}
