/* libFuzzer target: SPF check_host over a fuzzed record. The input is a zone
 * (dnstable format: the first line names the record of spf.test as TXT, further
 * lines more records), so includes, redirects, macros and limits all get exercised
 * without a network. What must hold: a result in range, lookups within the limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "checks.h"
#include "dnstable.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static dnstable t;
  static char zone[8192];
  chk_dns dns;
  spf_req rq;
  spf_out o;
  size_t n;
  if (size > sizeof zone - 32) return 0;
  memcpy(zone, "spf.test TXT ", 13);
  memcpy(zone + 13, data, size);
  n = 13 + size;
  if (!dnstable_load(&t, zone, n)) { dnstable_free(&t); return 0; }
  dnstable_hook(&dns, &t);
  dns.max_queries = 200;
  memset(&rq, 0, sizeof rq);
  rq.family = size & 1 ? AF_INET6 : AF_INET;
  rq.ip[0] = 192; rq.ip[1] = 0; rq.ip[2] = 2; rq.ip[3] = 1;
  rq.helo = "mail.spf.test";
  rq.sender = "user@spf.test";
  rq.me = "mx.test";
  spf_check_host(&dns, &rq, "spf.test", "user@spf.test", &o);
  if (o.result > CHK_POLICY) abort();
  if (o.lookups > SPF_LOOKUP_MAX + 1 || o.voids > SPF_VOID_MAX + 1) abort();
  dnstable_free(&t);
  return 0;
}
