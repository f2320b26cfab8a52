/* pochta check DOMAIN [--ip4 ADDR] [--ip6 ADDR]: look up what pochta dns prints,
 * through the configured resolver (dns/), and say what is missing or wrong: MX, the
 * MX name's addresses, PTR = me = EHLO name, SPF passing for this host, each DKIM
 * selector that signs, DMARC, and whether the certificate covers the MX name.
 * Exit 0 all good, 1 something to fix, 111 a lookup failed (nothing worse found). */
#include <arpa/inet.h>
#include <bearssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "checks.h"
#include "pemfile.h"
#include "pochta.h"

#define CHECK_USAGE "pochta check DOMAIN [--ip4 ADDR] [--ip6 ADDR]"

typedef struct {
  dns_resolver r;
  chk_dns dns;
  dns_result *res;
  char const *domain, *me;
  int fix, temp;
} ck;

static void say(ck *c, char const *tag, char const *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(ck *c, char const *tag, char const *fmt, ...)
{
  char line[1200];
  va_list ap;
  int n = snprintf(line, sizeof line, "%-5s", tag);
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  strcat(line, "\n");
  if (!strcmp(tag, "FIX")) c->fix = 1;
  if (!strcmp(tag, "TEMP")) c->temp = 1;
  if (buffer_puts(buffer_1, line) < 0) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

static int ask(ck *c, char const *name, uint16_t type)
{
  int st = chk_query(&c->dns, name, type, c->res);
  if (st == DNS_TEMP) say(c, "TEMP", "lookup of %s failed; the resolver may be down", name);
  return st;
}

static void check_mx(ck *c)
{
  int st = ask(c, c->domain, DNS_T_MX), found = 0;
  char names[512] = "";
  if (st == DNS_TEMP) return;
  for (unsigned i = 0; st == DNS_OK && i < c->res->n; i++) {
    if (!strcasecmp(c->res->rr[i].name, c->me)) found = 1;
    if (strlen(names) + strlen(c->res->rr[i].name) + 2 < sizeof names) {
      if (names[0]) strcat(names, " ");
      strcat(names, c->res->rr[i].name);
    }
  }
  if (found) say(c, "ok", "MX of %s is %s", c->domain, c->me);
  else if (names[0]) say(c, "FIX", "MX of %s is %s, not this host (%s)", c->domain, names, c->me);
  else say(c, "FIX", "%s has no MX record: %s. IN MX 10 %s.", c->domain, c->domain, c->me);
}

/* The MX name's addresses against this host's, and the PTR of each. */
static void check_addrs(ck *c, struct hostaddr const *local, unsigned nlocal)
{
  struct hostaddr dnsa[32];
  unsigned n = 0;
  char ip[64];
  for (int f = 0; f < 2; f++) {
    int st = ask(c, c->me, f ? DNS_T_AAAA : DNS_T_A);
    if (st == DNS_TEMP) return;
    for (unsigned i = 0; st == DNS_OK && i < c->res->n && n < 32; i++) {
      dnsa[n].family = f ? AF_INET6 : AF_INET;
      memcpy(dnsa[n].ip, c->res->rr[i].ip, 16);
      n++;
    }
  }
  if (!n) { say(c, "FIX", "the mail host %s has no A or AAAA record", c->me); return; }
  for (unsigned i = 0; i < nlocal; i++) {
    int in = 0;
    for (unsigned k = 0; k < n; k++)
      if (dnsa[k].family == local[i].family && !memcmp(dnsa[k].ip, local[i].ip, local[i].family == AF_INET ? 4 : 16)) in = 1;
    inet_ntop(local[i].family, local[i].ip, ip, sizeof ip);
    if (!in) say(c, "FIX", "%s has no %s record for this host's address %s", c->me, local[i].family == AF_INET ? "A" : "AAAA", ip);
  }
  for (unsigned k = 0; k < n; k++) {
    int st, match = 0;
    char names[512] = "";
    inet_ntop(dnsa[k].family, dnsa[k].ip, ip, sizeof ip);
    if (nlocal) {
      int here = 0;
      for (unsigned i = 0; i < nlocal; i++)
        if (dnsa[k].family == local[i].family && !memcmp(dnsa[k].ip, local[i].ip, local[i].family == AF_INET ? 4 : 16)) here = 1;
      if (!here) say(c, "WARN", "%s has the address %s, which is not on this host", c->me, ip);
    }
    {
      char rev[80];
      dns_revname(rev, dnsa[k].family, dnsa[k].ip);
      st = ask(c, rev, DNS_T_PTR);
    }
    if (st == DNS_TEMP) continue;
    for (unsigned i = 0; st == DNS_OK && i < c->res->n; i++) {
      if (!strcasecmp(c->res->rr[i].name, c->me)) match = 1;
      if (strlen(names) + strlen(c->res->rr[i].name) + 2 < sizeof names) {
        if (names[0]) strcat(names, " ");
        strcat(names, c->res->rr[i].name);
      }
    }
    if (match) say(c, "ok", "PTR of %s is %s, the host name (me) and the EHLO name", ip, c->me);
    else if (names[0]) say(c, "FIX", "PTR of %s is %s, not %s (me, the EHLO name): ask the address's provider", ip, names, c->me);
    else say(c, "FIX", "%s has no PTR record: ask the address's provider for %s", ip, c->me);
  }
}

static void check_spf(ck *c, struct hostaddr const *a, unsigned n)
{
  char sender[300], ip[64];
  snprintf(sender, sizeof sender, "postmaster@%s", c->domain);
  if (!n) { say(c, "WARN", "no address of this host known: SPF not evaluated (give --ip4/--ip6)"); return; }
  for (unsigned i = 0; i < n; i++) {
    spf_req rq;
    spf_out o;
    memset(&rq, 0, sizeof rq);
    rq.family = a[i].family;
    memcpy(rq.ip, a[i].ip, 16);
    rq.helo = c->me;
    rq.sender = sender;
    rq.me = c->me;
    rq.now = time(0);
    spf_check_host(&c->dns, &rq, c->domain, sender, &o);
    inet_ntop(a[i].family, a[i].ip, ip, sizeof ip);
    if (o.result == CHK_PASS) say(c, "ok", "SPF of %s passes for %s (%s)", c->domain, ip, o.why);
    else if (o.result == CHK_TEMPERROR) say(c, "TEMP", "SPF of %s: %s", c->domain, o.why);
    else if (o.result == CHK_NONE) say(c, "FIX", "%s has no SPF record: %s. IN TXT \"v=spf1 mx -all\"", c->domain, c->domain);
    else say(c, "FIX", "SPF of %s gives %s for this host's %s (%s)", c->domain, chk_result_name(o.result), ip, o.why);
  }
}

/* The p= of a key record, blanks removed, into out. */
static void pvalue(char const *rec, size_t len, char *out, size_t max)
{
  char const *p = 0;
  size_t o = 0;
  for (size_t i = 0; i + 1 < len; i++)
    if (rec[i] == 'p' && rec[i + 1] == '=' && (i == 0 || rec[i - 1] == ';' || rec[i - 1] == ' ')) { p = rec + i + 2; break; }
  if (p) for (; p < rec + len && *p != ';' && o + 1 < max; p++) if (*p != ' ' && *p != '\t') out[o++] = *p;
  out[o] = 0;
}

typedef struct { ck *c; stralloc sign; } dkimctx;

static void check_key(char const *domain, char const *dir, char const *sel, void *ctx)
{
  dkimctx *x = ctx;
  ck *c = x->c;
  char path[4200], name[400], want[1200], got[1200];
  chk_buf rec = CHK_BUF_ZERO;
  dkim_key *k;
  size_t pos = 0, len;
  char const *line;
  int signing = 0, st, ok = 0;
  while (tf_next(&x->sign, &pos, &line, &len)) if (!tf_skip(line, len) && tf_line_is(line, len, sel)) signing = 1;
  snprintf(path, sizeof path, "%s/%s.key", dir, sel);
  if (!(k = dkim_key_load(path, domain, sel)) || !dkim_key_record(k, &rec)) { say(c, "FIX", "cannot read the DKIM key %s", path); dkim_key_free(k); return; }
  pvalue(rec.s, rec.len, want, sizeof want);
  snprintf(name, sizeof name, "%s._domainkey.%s", sel, domain);
  st = ask(c, name, DNS_T_TXT);
  if (st != DNS_TEMP) {
    for (unsigned i = 0; st == DNS_OK && i < c->res->n; i++) {
      pvalue((char const *)c->res->rr[i].data, c->res->rr[i].len, got, sizeof got);
      if (!strcmp(got, want)) ok = 1;
    }
    if (ok) say(c, "ok", "DKIM selector %s is published%s", sel, signing ? " and signs" : " (not signing)");
    else if (st == DNS_OK && c->res->n) say(c, signing ? "FIX" : "WARN", "DKIM record %s does not hold this host's key: see pochta dns %s", name, domain);
    else say(c, signing ? "FIX" : "WARN", "DKIM record %s is missing%s: see pochta dns %s", name, signing ? " and the selector signs" : "", domain);
  }
  chk_buf_free(&rec);
  dkim_key_free(k);
}

static void check_dkim(ck *c)
{
  dkimctx x = { c, STRALLOC_ZERO };
  char name[400];
  snprintf(name, sizeof name, "dkim/%s/sign", c->domain);
  tf_read(&x.sign, name);
  if (!dkim_each_key(c->domain, check_key, &x)) say(c, "FIX", "no DKIM key for %s: pochta dkim new %s", c->domain, c->domain);
  else if (!x.sign.len) say(c, "FIX", "%s has DKIM keys but none signs: pochta dkim use %s BASE", c->domain, c->domain);
  stralloc_free(&x.sign);
}

static void check_dmarc(ck *c)
{
  char name[300];
  int st, found = 0;
  snprintf(name, sizeof name, "_dmarc.%s", c->domain);
  st = ask(c, name, DNS_T_TXT);
  if (st == DNS_TEMP) return;
  for (unsigned i = 0; st == DNS_OK && i < c->res->n; i++) {
    char const *t = (char const *)c->res->rr[i].data;
    if (c->res->rr[i].len < 8 || strncasecmp(t, "v=DMARC1", 8)) continue;
    found = 1;
    if (!strstr(t, "p=")) say(c, "FIX", "DMARC record of %s has no p=", c->domain);
    else say(c, "ok", "DMARC of %s: %.200s", c->domain, t);
    if (!strstr(t, "rua=")) say(c, "WARN", "DMARC record of %s has no rua= (no aggregate reports)", c->domain);
  }
  if (!found) say(c, "FIX", "%s has no DMARC record: see pochta dns %s", c->domain, c->domain);
}

/* Certificate chain collected from the PEM file. */
typedef struct { unsigned n; unsigned char *der[8]; size_t len[8]; } chain;
static int add_cert(void *ctx, char const *name, unsigned char const *der, size_t len)
{
  chain *ch = ctx;
  if (strcmp(name, "CERTIFICATE") || ch->n >= 8) return 0;
  if (!(ch->der[ch->n] = malloc(len))) return -1;
  memcpy(ch->der[ch->n], der, len);
  ch->len[ch->n++] = len;
  return 0;
}

static void check_cert(ck *c)
{
  stralloc p = STRALLOC_ZERO;
  chain ch = { 0 };
  br_x509_minimal_context xc;
  br_x509_class const **v = &xc.vtable;
  time_t now = time(0);
  int err;
  tf_path(&p, "tls/cert.pem");
  if (pemfile_read(p.s, add_cert, &ch) < 0 || !ch.n) {
    say(c, "FIX", "no certificate in %s: TLS is not offered", p.s);
    stralloc_free(&p);
    return;
  }
  /* No trust anchors: the name and the dates are checked on the first certificate,
   * then the chain ends in "not trusted", which is not ours to judge here. */
  br_x509_minimal_init(&xc, &br_sha256_vtable, 0, 0);
  br_x509_minimal_set_hash(&xc, br_sha256_ID, &br_sha256_vtable);
  br_x509_minimal_set_hash(&xc, br_sha384_ID, &br_sha384_vtable);
  br_x509_minimal_set_hash(&xc, br_sha512_ID, &br_sha512_vtable);
  br_x509_minimal_set_rsa(&xc, br_rsa_pkcs1_vrfy_get_default());
  br_x509_minimal_set_ecdsa(&xc, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
  br_x509_minimal_set_time(&xc, (uint32_t)(719528 + now / 86400), (uint32_t)(now % 86400));
  (*v)->start_chain(v, c->me);
  (*v)->start_cert(v, (uint32_t)ch.len[0]);
  (*v)->append(v, ch.der[0], ch.len[0]);
  (*v)->end_cert(v);
  err = (*v)->end_chain(v);
  if (err == BR_ERR_X509_BAD_SERVER_NAME) say(c, "FIX", "the certificate %s does not cover %s", p.s, c->me);
  else if (err == BR_ERR_X509_EXPIRED) say(c, "FIX", "the certificate %s has expired or is not valid yet", p.s);
  else if (err == 0 || err == BR_ERR_X509_NOT_TRUSTED) say(c, "ok", "the certificate covers %s", c->me);
  else say(c, "FIX", "the certificate %s cannot be read (BearSSL error %d)", p.s, err);
  for (unsigned i = 0; i < ch.n; i++) free(ch.der[i]);
  stralloc_free(&p);
}

int cmd_check(int argc, char const *const *argv)
{
  stralloc d = STRALLOC_ZERO, me = STRALLOC_ZERO;
  char const *ip4 = 0, *ip6 = 0, *domain = 0;
  struct hostaddr a[8];
  unsigned n;
  static ck c;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--ip4") && i + 1 < argc) ip4 = argv[++i];
    else if (!strcmp(argv[i], "--ip6") && i + 1 < argc) ip6 = argv[++i];
    else if (!domain) domain = argv[i];
    else strerr_dieusage(USAGE_EXIT, CHECK_USAGE);
  }
  if (!domain) strerr_dieusage(USAGE_EXIT, CHECK_USAGE);
  if (!addr_domain(&d, domain)) strerr_dief(USAGE_EXIT, "not a domain name: ", domain);
  if (!tf_line(&me, "me") || !me.len) strerr_dief(USAGE_EXIT, "no host name: the file me is missing");
  if (dns_conf_load(&c.r) != DNS_OK) strerr_diefu1sys(TEMP_EXIT, "read the resolver configuration");
  if (!dns_cache_on(&c.r, 64, 300)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  chk_dns_real(&c.dns, &c.r);
  if (!(c.res = malloc(sizeof *c.res))) strerr_diefu1sys(TEMP_EXIT, "allocate");
  c.domain = d.s;
  c.me = me.s;
  n = host_addrs(a, 8, ip4, ip6);
  check_mx(&c);
  check_addrs(&c, a, n);
  check_spf(&c, a, n);
  check_dkim(&c);
  check_dmarc(&c);
  check_cert(&c);
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
  free(c.res);
  dns_cache_off(&c.r);
  stralloc_free(&d);
  stralloc_free(&me);
  return c.fix ? 1 : c.temp ? TEMP_EXIT : 0;
}
