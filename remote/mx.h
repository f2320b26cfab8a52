/* Which hosts to try for a domain, in order (RFC 5321 5.1, RFC 7505). */
#ifndef REMOTE_MX_H
#define REMOTE_MX_H

#include "rdns.h"

#define MX_MAXTARGETS 32

struct target {
  char name[RDNS_NAMEMAX + 1];  /* host name (for SNI and logs), or the literal */
  struct rdns_addr addr;
};

enum mx_result {
  MX_OK,        /* targets found */
  MX_TEMP,      /* DNS failed for now: try later */
  MX_NOHOST,    /* no MX and no address, or MX hosts without addresses */
  MX_NULLMX,    /* the domain says it takes no mail (RFC 7505) */
  MX_BADNAME    /* not a syntactically usable domain */
};

/* Targets for domain: MX hosts by preference (random order among equal
 * preferences), each host's IPv6 then IPv4 addresses, in the families
 * allowed (RDNS_V4 | RDNS_V6; only those are asked for); without MX, the
 * domain's own addresses. A domain literal [1.2.3.4] or [IPv6:...] names
 * its one address. why says what went wrong for logs and bounces; nothing
 * in the one family allowed is temporary (MX_TEMP, 4.4.4). */
enum mx_result mx_targets(char const *domain, unsigned families, struct target *t, unsigned *n, char *why, unsigned whylen);

/* Addresses of one host (smarthost): the same without MX. */
enum mx_result mx_host(char const *host, unsigned families, struct target *t, unsigned *n, char *why, unsigned whylen);

#endif
