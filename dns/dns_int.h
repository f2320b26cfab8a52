/* Inside dns/: the cache as the resolver uses it. */
#ifndef POCHTA_DNS_INT_H
#define POCHTA_DNS_INT_H

#include "dns.h"

/* A cached answer to (name, type) into pkt, with the id it was asked with: its
 * length, 0 if none or expired. */
size_t dns_cache_get(dns_cache *c, char const *name, uint16_t type, unsigned char *pkt, uint16_t *id);
/* Keep a copy of an answer for ttl seconds (capped); ttl 0 keeps nothing. */
void dns_cache_put(dns_cache *c, char const *name, uint16_t type, unsigned char const *pkt,
                   size_t len, uint16_t id, uint32_t ttl);

#endif
