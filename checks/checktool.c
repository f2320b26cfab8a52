/* checktool: the checks/ engines from a shell, for tests, benchmarks and diagnosis
 * (build/check/checktool; not installed). The message is read from stdin.
 *
 *   checktool keygen rsa|ed25519 [BITS]        a new private key (PEM) on stdout
 *   checktool record KEYFILE                   its DNS record text
 *   checktool sign [-C] -k FILE:DOMAIN:SELECTOR ...   the signed message on stdout
 *   checktool signdomain CONFDIR DOMAIN        the same with the keys pochta dkim made
 *   checktool verify                           one line per DKIM signature; exit 0 if one passes
 *   checktool arc                              the ARC chain's state; exit 0 if pass
 *   checktool run [options]                    the whole check: verdict, reply, A-R field
 *   checktool seal -k FILE:DOMAIN:SELECTOR [run options]   run, then the message ARC-sealed
 *   checktool bench N [run options]            run N times on one message, CPU per message
 *   checktool orgdomain NAME...                the organizational domain of each (libpsl)
 *   checktool claims ID                        for each header field of the message: is it
 *                                              an A-R claiming ID ("drop") or not ("keep")
 * run options: --ip IP --helo NAME --from ADDR --id AUTHSERV-ID --trusted DOMAIN
 *   --sample N --now T --spf-reject --budget MS --max-queries N
 * DNS: the resolver (dns_conf_load), or -z ZONEFILE (dnstable) before the command.
 * -C: signatures end in CRLF (for a CRLF message). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "dnstable.h"

static char *msg;
static size_t msglen;
static dns_resolver res;
static dnstable table;
static chk_dns dns;
static int use_table;

static void die(int code, char const *what)
{
  fprintf(stderr, "checktool: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
  exit(code);
}

static void read_stdin(void)
{
  size_t cap = 1 << 16;
  msg = malloc(cap);
  if (!msg) die(111, "out of memory");
  for (;;) {
    ssize_t n;
    if (msglen == cap && !(msg = realloc(msg, cap *= 2))) die(111, "out of memory");
    n = read(0, msg + msglen, cap - msglen);
    if (n < 0) { if (errno == EINTR) continue; die(111, "read"); }
    if (!n) break;
    msglen += (size_t)n;
  }
}

static chk_msg *parse(int flags)
{
  chk_msg *m = chk_msg_new(flags);
  if (!m || !chk_msg_feed(m, msg, msglen) || !chk_msg_end(m)) die(111, "message");
  return m;
}

static dkim_key *key_arg(char const *spec)
{
  char buf[1024], *d, *s;
  dkim_key *k;
  if (strlen(spec) >= sizeof buf) die(100, "key spec too long");
  strcpy(buf, spec);
  if (!(d = strchr(buf, ':')) || !(s = strchr(d + 1, ':'))) { errno = 0; die(100, "key: FILE:DOMAIN:SELECTOR"); }
  *d++ = 0; *s++ = 0;
  if (!(k = dkim_key_load(buf, d, s))) die(111, "cannot load the key");
  return k;
}

typedef struct { checks_conf c; checks_env e; char const *trusted[8]; unsigned char ip[16]; } runopt;

static int run_opts(int argc, char **argv, int i, runopt *o)
{
  memset(o, 0, sizeof *o);
  o->c.authserv_id = "mx.pochta.test";
  o->c.me = "mx.pochta.test";
  o->c.trusted_sealers = o->trusted;
  o->e.family = AF_INET;
  o->e.ip[0] = 127; o->e.ip[3] = 1;
  o->e.helo = "localhost";
  o->e.mailfrom = "";
  o->e.now = time(0);
  for (; i < argc; i++) {
    char const *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    if (!strcmp(a, "--spf-reject")) { o->c.spf_reject = 1; continue; }
    if (!v) { errno = 0; die(100, "option without value"); }
    i++;
    if (!strcmp(a, "--ip")) {
      memset(o->e.ip, 0, 16);
      if (inet_pton(AF_INET, v, o->e.ip) == 1) o->e.family = AF_INET;
      else if (inet_pton(AF_INET6, v, o->e.ip) == 1) o->e.family = AF_INET6;
      else { errno = 0; die(100, "bad --ip"); }
    } else if (!strcmp(a, "--helo")) o->e.helo = v;
    else if (!strcmp(a, "--from")) o->e.mailfrom = v;
    else if (!strcmp(a, "--id")) o->c.authserv_id = o->c.me = v;
    else if (!strcmp(a, "--trusted") && o->c.ntrusted < 8) o->trusted[o->c.ntrusted++] = v;
    else if (!strcmp(a, "--sample")) o->e.sample = (unsigned)atoi(v);
    else if (!strcmp(a, "--now")) o->e.now = (time_t)atoll(v);
    else if (!strcmp(a, "--budget")) o->c.budget_ms = (unsigned)atoi(v);
    else if (!strcmp(a, "--max-queries")) o->c.max_queries = (unsigned)atoi(v);
    else if (!strcmp(a, "-k")) continue;       /* seal's key, taken by the caller */
    else { errno = 0; die(100, "unknown option"); }
  }
  return 1;
}

static int do_run(runopt *o, chk_msg *m, checks_out *out)
{
  dns.queries = 0;
  if (use_table) return checks_run_dns(&o->c, &dns, &o->e, m, out);
  return checks_run(&o->c, &res, &o->e, m, out);
}

int main(int argc, char **argv)
{
  int i = 1, eol_crlf = 0;
  char const *cmd;
  if (i + 1 < argc && !strcmp(argv[i], "-z")) {
    FILE *f = fopen(argv[i + 1], "r");
    static char zone[1 << 20];
    size_t n;
    if (!f) die(111, "zone file");
    n = fread(zone, 1, sizeof zone - 1, f);
    fclose(f);
    if (!dnstable_load(&table, zone, n)) { errno = 0; die(100, "bad zone file"); }
    dnstable_hook(&dns, &table);
    use_table = 1;
    i += 2;
  } else {
    if (dns_conf_load(&res) != DNS_OK) die(111, "resolver configuration");
    chk_dns_real(&dns, &res);
  }
  if (i < argc && !strcmp(argv[i], "-C")) { eol_crlf = 1; i++; }
  if (i >= argc) { errno = 0; die(100, "usage: see checks/checktool.c"); }
  cmd = argv[i++];

  if (!strcmp(cmd, "keygen")) {
    chk_buf pem = CHK_BUF_ZERO;
    int alg = i < argc && !strcmp(argv[i], "ed25519") ? DKIM_ED25519 : DKIM_RSA;
    unsigned bits = i + 1 < argc ? (unsigned)atoi(argv[i + 1]) : 0;
    if (!dkim_key_generate(alg, bits, &pem)) die(111, "keygen");
    fwrite(pem.s, 1, pem.len, stdout);
    chk_buf_free(&pem);
    return 0;
  }
  if (!strcmp(cmd, "record")) {
    chk_buf r = CHK_BUF_ZERO;
    dkim_key *k;
    if (i >= argc || !(k = dkim_key_load(argv[i], "x.test", "x"))) die(111, "key");
    if (!dkim_key_record(k, &r)) die(111, "record");
    printf("%s\n", r.s);
    chk_buf_free(&r);
    dkim_key_free(k);
    return 0;
  }
  if (!strcmp(cmd, "orgdomain")) {
    char o[CHK_DOMAIN_MAX + 1];
    for (; i < argc; i++) printf("%s %s\n", argv[i], chk_orgdomain(argv[i], o) ? o : "-");
    return 0;
  }
  read_stdin();
  if (!strcmp(cmd, "signdomain")) {
    /* as a signing step: the domain's keys from the configuration, the message */
    dkim_key *keys[8];
    chk_buf out = CHK_BUF_ZERO;
    int n;
    if (i + 1 >= argc) { errno = 0; die(100, "signdomain CONFDIR DOMAIN"); }
    if ((n = dkim_keys_load(argv[i], argv[i + 1], keys, 8)) < 0) die(111, "load the domain's keys");
    if (!n) { errno = 0; die(100, "the domain signs with no key"); }
    if (!dkim_sign_buf(msg, msglen, keys, (unsigned)n, time(0), eol_crlf ? "\r\n" : "\n", &out)) die(111, "sign");
    fwrite(out.s, 1, out.len, stdout);
    fwrite(msg, 1, msglen, stdout);
    chk_buf_free(&out);
    while (n) dkim_key_free(keys[--n]);
    free(msg);
    return 0;
  }
  if (!strcmp(cmd, "sign")) {
    dkim_key *keys[8];
    unsigned n = 0;
    chk_buf out = CHK_BUF_ZERO;
    chk_msg *m = parse(CHK_MSG_SIGN);
    for (; i + 1 < argc && !strcmp(argv[i], "-k") && n < 8; i += 2) keys[n++] = key_arg(argv[i + 1]);
    if (!n) { errno = 0; die(100, "sign: -k FILE:DOMAIN:SELECTOR"); }
    if (!dkim_sign(m, keys, n, time(0), eol_crlf ? "\r\n" : "\n", &out)) die(111, "sign");
    fwrite(out.s, 1, out.len, stdout);
    fwrite(msg, 1, msglen, stdout);
    chk_buf_free(&out);
    for (unsigned k = 0; k < n; k++) dkim_key_free(keys[k]);
    chk_msg_free(m);
    free(msg);
    return 0;
  }
  if (!strcmp(cmd, "verify")) {
    static dkim_results r;
    chk_msg *m = parse(0);
    int best = dkim_verify(m, &dns, time(0), &r);
    for (unsigned k = 0; k < r.n; k++)
      printf("dkim=%s d=%s s=%s alg=%s bits=%u body=%s header=%s why=%s\n", chk_result_name(r.sig[k].result),
             r.sig[k].d, r.sig[k].s, r.sig[k].alg == DKIM_ED25519 ? "ed25519" : "rsa", r.sig[k].keybits,
             r.sig[k].bodyfail ? "bad" : "ok", r.sig[k].headerfail ? "bad" : "ok", r.sig[k].why);
    if (r.ignored) printf("ignored=%u\n", r.ignored);
    printf("best=%s queries=%u\n", chk_result_name(best), dns.queries);
    chk_msg_free(m);
    free(msg);
    return best == CHK_PASS ? 0 : 1;
  }
  if (!strcmp(cmd, "arc")) {
    arc_out a;
    chk_msg *m = parse(0);
    arc_verify(m, &dns, time(0), &a);
    printf("arc=%s n=%u sealer=%s why=%s\n", chk_result_name(a.cv), a.n, a.sealer, a.why);
    chk_msg_free(m);
    free(msg);
    return a.cv == CHK_PASS ? 0 : 1;
  }
  if (!strcmp(cmd, "claims")) {
    unsigned n;
    chk_msg *m = parse(0);
    chk_field const *f = chk_msg_fields(m, &n);
    if (i >= argc) { errno = 0; die(100, "claims ID"); }
    for (unsigned k = 0; k < n; k++) printf("%s %.*s\n", authres_claims(f[k].raw, f[k].rawlen, argv[i]) ? "drop" : "keep", (int)f[k].namelen, f[k].name);
    chk_msg_free(m);
    free(msg);
    return 0;
  }
  if (!strcmp(cmd, "run") || !strcmp(cmd, "seal")) {
    static runopt o;
    static checks_out out;
    static char const *const verdicts[] = { "accept", "quarantine", "reject", "tempfail" };
    chk_buf ar = CHK_BUF_ZERO;
    dkim_key *key = 0;
    chk_msg *m;
    if (!strcmp(cmd, "seal")) {
      if (i + 1 >= argc || strcmp(argv[i], "-k")) { errno = 0; die(100, "seal -k FILE:DOMAIN:SELECTOR"); }
      key = key_arg(argv[i + 1]);
    }
    run_opts(argc, argv, i, &o);
    m = parse(key ? CHK_MSG_SIGN : 0);
    do_run(&o, m, &out);
    if (!key) {
      if (!authres_write(&ar, o.c.authserv_id, &out, &o.e, "\n")) die(111, "authres");
      printf("verdict=%s\nreply=%s\nqueries=%u\n%s", verdicts[out.verdict], out.reply, out.queries, ar.s);
      chk_buf_free(&ar);
      chk_msg_free(m);
      free(msg);
      return 0;
    }
    {
      chk_buf pl = CHK_BUF_ZERO, sealed = CHK_BUF_ZERO;
      if (!authres_payload(&pl, o.c.authserv_id, &out, &o.e)) die(111, "authres");
      if (!arc_seal(m, key, &out.arc, pl.s, o.e.now, eol_crlf ? "\r\n" : "\n", &sealed)) die(111, "seal");
      fwrite(sealed.s, 1, sealed.len, stdout);
      fwrite(msg, 1, msglen, stdout);
      chk_buf_free(&pl);
      chk_buf_free(&sealed);
      dkim_key_free(key);
      chk_msg_free(m);
      free(msg);
      return 0;
    }
  }
  if (!strcmp(cmd, "bench")) {
    static runopt o;
    static checks_out out;
    struct rusage r0, r1;
    long n;
    double cpu;
    struct timespec t0, t1;
    if (i >= argc || (n = atol(argv[i])) < 1) { errno = 0; die(100, "bench N"); }
    run_opts(argc, argv, i + 1, &o);
    if (!use_table && !dns_cache_on(&res, 256, 3600)) die(111, "cache");
    {
      chk_msg *m = parse(0);                    /* warm the cache once */
      do_run(&o, m, &out);
      chk_msg_free(m);
    }
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < n; k++) {
      chk_buf ar = CHK_BUF_ZERO;
      chk_msg *m = parse(0);
      do_run(&o, m, &out);
      authres_write(&ar, o.c.authserv_id, &out, &o.e, "\n");
      chk_buf_free(&ar);
      chk_msg_free(m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec)
        + (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    printf("messages=%ld octets=%zu cpu_per_msg_ms=%.3f wall_per_msg_ms=%.3f network_queries_last=%u spf=%s dkim=%s dmarc=%s\n",
           n, msglen, cpu * 1000 / (double)n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1000 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / (double)n,
           res.queries, chk_result_name(out.spf.result), chk_result_name(out.dkim.n ? out.dkim.sig[0].result : CHK_NONE),
           chk_result_name(out.dmarc.result));
    dns_cache_off(&res);
    free(msg);
    return 0;
  }
  errno = 0;
  die(100, "unknown command");
}
