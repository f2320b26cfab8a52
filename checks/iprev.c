/* Forward-confirmed reverse DNS of the client (RFC 8601 3: iprev): a PTR name of the
 * address whose A or AAAA records contain the address again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "int.h"

#define IPREV_NAMES_MAX 10

int iprev_check(chk_dns *dns, int family, unsigned char const *ip, iprev_out *out)
{
  char rev[80], names[IPREV_NAMES_MAX][CHK_DOMAIN_MAX + 1];
  dns_result *res = malloc(sizeof *res);
  unsigned n = 0, temp = 0;
  int st;
  memset(out, 0, sizeof *out);
  out->result = CHK_TEMPERROR;
  if (!res) return out->result;
  dns_revname(rev, family, ip);
  st = chk_query(dns, rev, DNS_T_PTR, res);
  if (st == DNS_TEMP) goto end;
  if (st != DNS_OK || !res->n) { out->result = CHK_PERMERROR; goto end; }
  for (unsigned i = 0; i < res->n && n < IPREV_NAMES_MAX; i++)
    if (res->rr[i].name[0]) snprintf(names[n++], sizeof names[0], "%s", res->rr[i].name);
  if (n) snprintf(out->name, sizeof out->name, "%s", names[0]);
  out->result = CHK_FAIL;
  for (unsigned i = 0; i < n; i++) {
    st = chk_query(dns, names[i], family == AF_INET ? DNS_T_A : DNS_T_AAAA, res);
    if (st == DNS_TEMP) { temp = 1; continue; }
    for (unsigned k = 0; st == DNS_OK && k < res->n; k++)
      if (!memcmp(res->rr[k].ip, ip, family == AF_INET ? 4 : 16)) {
        out->result = CHK_PASS;
        snprintf(out->name, sizeof out->name, "%s", names[i]);
        goto end;
      }
  }
  if (temp) out->result = CHK_TEMPERROR;
end:
  free(res);
  return out->result;
}
