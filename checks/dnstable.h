/* A table of DNS records behind the chk_dns hook (tests, drivers, fuzzers). */
#ifndef POCHTA_DNSTABLE_H
#define POCHTA_DNSTABLE_H

#include "checks.h"

#define DNSTABLE_MAX 4096
typedef struct dnstable_s dnstable;
struct dnstable_s {
  char *text;
  unsigned n, asked;
  struct dnstable_rr { char const *name; uint16_t type; char const *data; size_t len; } rr[DNSTABLE_MAX];
};
/* Load zone text (see dnstable.c for the format). 1 ok, 0 bad line or too many. */
int dnstable_load(dnstable *, char const *text, size_t len);
void dnstable_free(dnstable *);
void dnstable_hook(chk_dns *, dnstable *);
int dnstable_query(chk_dns *, char const *name, uint16_t type, dns_result *res);

#endif
