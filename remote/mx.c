/* Building the list of hosts to try, from DNS answers. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include "mx.h"

static unsigned rnd(unsigned n)
{
  unsigned v = 0;
  if (n < 2) return 0;
  if (getrandom(&v, sizeof v, 0) != sizeof v) v = (unsigned)rand();
  return v % n;
}

/* A domain literal: "[1.2.3.4]" or "[IPv6:2001:db8::1]". 1 parsed, 0 not one */
static int literal(char const *d, struct rdns_addr *a)
{
  char buf[64];
  size_t len = strlen(d);
  if (len < 3 || d[0] != '[' || d[len - 1] != ']' || len - 2 >= sizeof buf) return 0;
  memcpy(buf, d + 1, len - 2);
  buf[len - 2] = 0;
  memset(a, 0, sizeof *a);
  if (!strncasecmp(buf, "IPv6:", 5)) {
    a->family = AF_INET6;
    return inet_pton(AF_INET6, buf + 5, a->ip) == 1;
  }
  a->family = AF_INET;
  return inet_pton(AF_INET, buf, a->ip) == 1;
}

/* Letters, digits, '-', '.', '_' only: anything else cannot be a host name
 * and must not reach the resolver or the logs unchecked. */
static int goodname(char const *d)
{
  size_t i, len = strlen(d);
  if (!len || len > RDNS_NAMEMAX) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)d[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_')) return 0;
  }
  return d[0] != '.';
}

/* localhost names loopback (RFC 6761 6.3) without asking DNS */
static int is_localhost(char const *h)
{
  return !strcasecmp(h, "localhost") || !strcasecmp(h, "localhost.");
}

static int allowed(struct rdns_addr const *a, unsigned families)
{
  return families & (a->family == AF_INET6 ? RDNS_V6 : RDNS_V4);
}

/* Append host's addresses in the families allowed. 1 ok (maybe none), -1 DNS
 * temporary failure */
static int add_host(char const *host, unsigned families, struct target *t, unsigned *n)
{
  struct rdns_addr a[16];
  unsigned na = 0, i;
  if (is_localhost(host)) {
    struct rdns_addr lo[2];
    memset(lo, 0, sizeof lo);
    lo[0].family = AF_INET; lo[0].ip[0] = 127; lo[0].ip[3] = 1;
    lo[1].family = AF_INET6; lo[1].ip[15] = 1;
    for (i = 0; i < 2; i++) if (allowed(&lo[i], families)) a[na++] = lo[i];
  } else if (rdns_addrs(host, families, a, 16, &na) < 0) return -1;
  for (i = 0; i < na && *n < MX_MAXTARGETS; i++) {
    snprintf(t[*n].name, sizeof t[*n].name, "%s", host);
    t[*n].addr = a[i];
    (*n)++;
  }
  return 1;
}

/* Nothing in the families allowed: with only one allowed, the other may have
 * had addresses, which a change of remotefamily would reach: temporary.
 * what: "host x" or "MX host of x"; perm: the permanent failure otherwise. */
static enum mx_result none(unsigned families, char const *what, char *why, unsigned whylen, char const *perm)
{
  if (families != (RDNS_V4 | RDNS_V6)) {
    snprintf(why, whylen, "4.4.4 no %s has an %s address (remotefamily)", what, families == RDNS_V4 ? "IPv4" : "IPv6");
    return MX_TEMP;
  }
  snprintf(why, whylen, "%s", perm);
  return MX_NOHOST;
}

enum mx_result mx_host(char const *host, unsigned families, struct target *t, unsigned *n, char *why, unsigned whylen)
{
  char perm[RDNS_NAMEMAX + 40], what[RDNS_NAMEMAX + 10];
  *n = 0;
  snprintf(what, sizeof what, "host %s", host);
  if (literal(host, &t[0].addr)) {
    snprintf(t[0].name, sizeof t[0].name, "%s", host);
    if (!allowed(&t[0].addr, families)) return none(families, what, why, whylen, "");
    *n = 1;
    return MX_OK;
  }
  if (!goodname(host)) { snprintf(why, whylen, "5.1.2 bad host name syntax"); return MX_BADNAME; }
  if (add_host(host, families, t, n) < 0) {
    snprintf(why, whylen, "4.4.3 DNS lookup of %s failed temporarily", host);
    return MX_TEMP;
  }
  snprintf(perm, sizeof perm, "5.4.4 host %s has no address", host);
  if (!*n) return none(families, what, why, whylen, perm);
  return MX_OK;
}

static int bypref(void const *a, void const *b)
{
  unsigned pa = ((struct rdns_mx const *)a)->pref, pb = ((struct rdns_mx const *)b)->pref;
  return pa < pb ? -1 : pa > pb;
}

enum mx_result mx_targets(char const *domain, unsigned families, struct target *t, unsigned *n, char *why, unsigned whylen)
{
  struct rdns_mx mx[MX_MAXTARGETS];
  unsigned nmx = 0, i, j, real = 0, temp = 0;
  *n = 0;
  if (literal(domain, &t[0].addr)) return mx_host(domain, families, t, n, why, whylen);
  if (!goodname(domain)) { snprintf(why, whylen, "5.1.2 bad domain name syntax"); return MX_BADNAME; }
  if (rdns_mx(domain, mx, MX_MAXTARGETS, &nmx) < 0) {
    snprintf(why, whylen, "4.4.3 DNS MX lookup of %s failed temporarily", domain);
    return MX_TEMP;
  }
  if (!nmx) {
    /* RFC 5321 5.1: no MX, so the domain itself is the host */
    enum mx_result r = mx_host(domain, families, t, n, why, whylen);
    if (r == MX_NOHOST) snprintf(why, whylen, "5.1.2 domain %s has no MX and no address", domain);
    return r;
  }
  /* RFC 7505: "." as exchange means no mail; ignore it beside real MXs */
  for (i = 0; i < nmx; i++) if (strcmp(mx[i].name, ".") && mx[i].name[0]) mx[real++] = mx[i];
  if (!real) { snprintf(why, whylen, "5.1.10 domain %s accepts no mail (null MX)", domain); return MX_NULLMX; }
  qsort(mx, real, sizeof mx[0], bypref);
  /* shuffle each run of equal preference (RFC 5321 5.1: spread the load) */
  for (i = 0; i < real; i = j) {
    unsigned k;
    for (j = i + 1; j < real && mx[j].pref == mx[i].pref; j++) ;
    for (k = j - 1; k > i; k--) {
      unsigned r = i + rnd(k - i + 1);
      struct rdns_mx tmp = mx[k]; mx[k] = mx[r]; mx[r] = tmp;
    }
  }
  for (i = 0; i < real; i++) {
    if (!goodname(mx[i].name)) continue;
    if (add_host(mx[i].name, families, t, n) < 0) temp = 1;
  }
  if (!*n) {
    char what[RDNS_NAMEMAX + 20], perm[RDNS_NAMEMAX + 40];
    if (temp) { snprintf(why, whylen, "4.4.3 DNS lookup of the MX hosts of %s failed temporarily", domain); return MX_TEMP; }
    snprintf(what, sizeof what, "MX host of %s", domain);
    snprintf(perm, sizeof perm, "5.4.4 no MX host of %s has an address", domain);
    return none(families, what, why, whylen, perm);
  }
  return MX_OK;
}
