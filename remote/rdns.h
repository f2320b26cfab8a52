/* What pochta-remote asks of DNS, in plain structs; the asking is pochta's one DNS
 * module (dns/). */
#ifndef REMOTE_RDNS_H
#define REMOTE_RDNS_H

#define RDNS_NAMEMAX 255

struct rdns_mx {
  unsigned pref;
  char name[RDNS_NAMEMAX + 1];  /* "." for a null MX (RFC 7505) */
};

struct rdns_addr {
  int family;                   /* AF_INET or AF_INET6 */
  unsigned char ip[16];         /* 4 or 16 octets used */
};

/* MX records of domain, at most max, unsorted. 1 answered (*n may be 0:
 * no MX, or no such domain), -1 temporary failure (errno). */
int rdns_mx(char const *domain, struct rdns_mx *out, unsigned max, unsigned *n);

#define RDNS_V4 1
#define RDNS_V6 2

/* Addresses of name in the families asked for (RDNS_V4 | RDNS_V6): AAAA
 * first, then A, each asked once, at most max. 1 answered (*n may be 0), -1
 * temporary failure. */
int rdns_addrs(char const *name, unsigned families, struct rdns_addr *out, unsigned max, unsigned *n);

#endif
