/* spftest [-z ZONEFILE]: SPF check_host for each line of stdin,
 *   IP <TAB> MAIL-FROM <TAB> HELO
 * printed as  MAILFROM-RESULT <TAB> explanation <TAB> why <TAB> HELO-RESULT.
 * With -z the DNS is the zone file (dnstable format); without, the real resolver
 * (dns_conf_load: $POCHTA_DNS ...). A test driver (build/check/spftest). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "checks.h"
#include "dnstable.h"

/* undo the driver's escapes: \xHH and \\ */
static void unesc(char *s)
{
  char *o = s;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == '\\') { *o++ = '\\'; s++; }
    else if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
      char hx[3] = { s[2], s[3], 0 };
      *o++ = (char)strtoul(hx, 0, 16);
      s += 3;
    } else *o++ = *s;
  }
  *o = 0;
}

int main(int argc, char **argv)
{
  static dnstable t;
  dns_resolver r;
  chk_dns d;
  char line[4096];
  if (argc == 3 && !strcmp(argv[1], "-z")) {
    FILE *f = fopen(argv[2], "r");
    static char zone[1 << 20];
    size_t n;
    if (!f) { perror("spftest: zone"); return 111; }
    n = fread(zone, 1, sizeof zone - 1, f);
    fclose(f);
    if (!dnstable_load(&t, zone, n)) { fprintf(stderr, "spftest: bad zone\n"); return 100; }
    dnstable_hook(&d, &t);
  } else if (argc == 1) {
    if (dns_conf_load(&r) != DNS_OK) return 111;
    chk_dns_real(&d, &r);
  } else { fprintf(stderr, "usage: spftest [-z zonefile] <cases\n"); return 100; }
  while (fgets(line, sizeof line, stdin)) {
    char *ip = line, *from, *helo, *e;
    spf_req rq;
    spf_out mf, he;
    if ((e = strchr(line, '\n'))) *e = 0;
    if (!(from = strchr(ip, '\t')) || !(helo = strchr(from + 1, '\t'))) { printf("usage\n"); continue; }
    *from++ = 0; *helo++ = 0;
    unesc(from);
    unesc(helo);
    memset(&rq, 0, sizeof rq);
    if (inet_pton(AF_INET, ip, rq.ip) == 1) rq.family = AF_INET;
    else if (inet_pton(AF_INET6, ip, rq.ip) == 1) {
      static unsigned char const mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
      rq.family = AF_INET6;
      if (!memcmp(rq.ip, mapped, 12)) { memmove(rq.ip, rq.ip + 12, 4); rq.family = AF_INET; }
    } else { printf("badip\n"); continue; }
    rq.helo = helo;
    rq.sender = from;
    rq.me = "mx.pochta.test";
    rq.now = time(0);
    d.queries = 0;
    spf_check(&d, &rq, &mf, &he);
    /* one line per case: control characters from records would cut it */
    for (char *q = mf.exp; *q; q++) if ((unsigned char)*q < 32 || *q == 127) *q = '?';
    for (char *q = mf.why; *q; q++) if ((unsigned char)*q < 32 || *q == 127) *q = '?';
    printf("%s\t%s\t%s\t%s\n", chk_result_name(mf.result), mf.exp, mf.why, chk_result_name(he.result));
    fflush(stdout);
  }
  return 0;
}
