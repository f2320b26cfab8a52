/* pochta-remote DOMAIN SENDER RCPT...
 * Deliver the message on fd 0 to DOMAIN's mail exchangers (or the
 * smarthost) and write one K/Z/D record per recipient on fd 1, in the
 * order given (doc/CONTRACTS.md). Exit 0 when every record was written,
 * 111 otherwise, 100 on a usage error. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "cfg.h"
#include "conn.h"
#include "log.h"
#include "remote.h"
#include "smtp.h"

#define EX_USAGE_ 100
#define EX_TEMP_ 111

void results_fill(struct delivery *d, char code, char const *text)
{
  unsigned i;
  for (i = 0; i < d->nrcpt; i++)
    if (!d->res[i].code) {
      d->res[i].code = code;
      snprintf(d->res[i].text, sizeof d->res[i].text, "%s", text);
    }
}

/* An address we can put between < and > in a command: no controls, no
 * angle brackets, not too long (RFC 5321 4.5.3.1.3: 256 octets path). */
static int addr_ok(char const *a, int mayempty)
{
  size_t i, len = strlen(a);
  if (!len) return mayempty;
  if (len > 254) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)a[i];
    if (c < 32 || c == 127 || c == '<' || c == '>') return 0;
  }
  return strchr(a, '@') != 0;
}

static int nonascii(char const *a)
{
  for (; *a; a++) if ((unsigned char)*a >= 128) return 1;
  return 0;
}

/* "connect=30 greeting=300 ..." */
static void timeouts_parse(struct timeouts *to, char const *s)
{
  static struct { char const *k; size_t off; } const keys[] = {
    { "connect", offsetof(struct timeouts, connect) },
    { "greeting", offsetof(struct timeouts, greeting) },
    { "mail", offsetof(struct timeouts, mail) },
    { "rcpt", offsetof(struct timeouts, rcpt) },
    { "data", offsetof(struct timeouts, data) },
    { "block", offsetof(struct timeouts, block) },
    { "dot", offsetof(struct timeouts, dot) },
    { "family", offsetof(struct timeouts, family) },
  };
  while (*s) {
    size_t wl = strcspn(s, " \t\n"), i;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      size_t kl = strlen(keys[i].k);
      if (wl > kl + 1 && !strncmp(s, keys[i].k, kl) && s[kl] == '=') {
        unsigned long v = strtoul(s + kl + 1, 0, 10);
        /* family=0: remember nothing */
        if ((v >= 1 || keys[i].off == offsetof(struct timeouts, family)) && v <= 86400)
          *(unsigned *)((char *)to + keys[i].off) = (unsigned)v;
      }
    }
    s += wl;
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
  }
}

/* Split "host[:port]" / "[literal]:port". 1 ok */
static int hostport(char const *s, char *host, size_t hl, unsigned *port)
{
  char const *colon;
  size_t n;
  if (*s == '[') {
    char const *e = strchr(s, ']');
    if (!e) return 0;
    n = (size_t)(e - s) + 1;
    colon = e[1] == ':' ? e + 1 : 0;
    if (e[1] && !colon) return 0;
  } else {
    colon = strrchr(s, ':');
    n = colon ? (size_t)(colon - s) : strlen(s);
  }
  if (!n || n >= hl) return 0;
  memcpy(host, s, n);
  host[n] = 0;
  if (colon) {
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || !p || p > 65535) return 0;
    *port = (unsigned)p;
  }
  return 1;
}

/* remotefamily (ipv4, ipv6, both), remotesource4 and remotesource6. NULL or
 * the reason they cannot be used. */
static char const *families(struct delivery *d)
{
  char buf[128];
  int r = cfg_line("remotefamily", buf, sizeof buf);
  d->families = RDNS_V4 | RDNS_V6;
  if (r < 0) return "4.3.5 cannot read config file remotefamily";
  if (r) {
    if (!strcmp(buf, "ipv4")) d->families = RDNS_V4;
    else if (!strcmp(buf, "ipv6")) d->families = RDNS_V6;
    else if (strcmp(buf, "both")) return "4.3.5 bad remotefamily (ipv4, ipv6 or both)";
  }
  for (int i = 0; i < 2; i++) {
    char const *name = i == FAM_V4 ? "remotesource4" : "remotesource6";
    int af = i == FAM_V4 ? AF_INET : AF_INET6;
    r = cfg_line(name, buf, sizeof buf);
    if (r < 0) return i == FAM_V4 ? "4.3.5 cannot read config file remotesource4" : "4.3.5 cannot read config file remotesource6";
    if (!r) continue;
    memset(&d->src[i], 0, sizeof d->src[i]);
    d->src[i].family = af;
    if (inet_pton(af, buf, d->src[i].ip) != 1)
      return i == FAM_V4 ? "4.3.5 bad remotesource4 (an IPv4 address)" : "4.3.5 bad remotesource6 (an IPv6 address)";
    d->hassrc[i] = 1;
  }
  return 0;
}

/* The directory for state that lives as long as the host is up (rundir). */
static void rundir(char *dir, size_t len)
{
  if (cfg_line("rundir", dir, len) <= 0 || dir[0] != '/') snprintf(dir, len, "/run/pochta");
}

/* Which targets to try: addresses of a family that failed recently are
 * left out where the same host has others (a host with those alone is
 * still tried: the memory is a guess). The kept ones are moved to the
 * front, in order; their count is returned. */
static unsigned skip_failed(struct delivery *d, struct target *t, unsigned nt, time_t now)
{
  unsigned i, j, k = 0;
  for (i = 0; i < nt; i++) {
    int fi = fam_index(t[i].addr.family), other = 0;
    if (fam_skip(&d->fam, fi, now))
      for (j = 0; j < nt && !other; j++)
        other = !strcmp(t[j].name, t[i].name) && fam_index(t[j].addr.family) != fi;
    if (other) {
      char ip[64];
      conn_addrfmt(&t[i].addr, ip, sizeof ip);
      log_start("skip"); log_kv("host", t[i].name); log_kv("ip", ip);
      log_kv("reason", fi == FAM_V6 ? "IPv6 failed recently (remote-family)" : "IPv4 failed recently (remote-family)");
      log_end();
      continue;
    }
    t[k++] = t[i];
  }
  return k;
}

/* Read the instance's settings. Returns NULL or the reason it failed. */
static char const *config(struct delivery *d, char *smarthost, size_t shlen)
{
  static char why[200];
  char buf[8192];
  char const *env, *err;
  int r;
  struct timeouts def = { 30, 300, 300, 300, 120, 180, 600, 1800 };
  d->to = def;
  r = cfg_line("me", d->me, sizeof d->me);
  if (r < 0) return "4.3.5 cannot read config file me";
  if (!r && gethostname(d->me, sizeof d->me) < 0) snprintf(d->me, sizeof d->me, "localhost");
  r = cfg_file("remotetimeouts", buf, sizeof buf, 0);
  if (r < 0) return "4.3.5 cannot read config file remotetimeouts";
  if (r) timeouts_parse(&d->to, buf);
  if ((env = getenv("POCHTA_REMOTE_TIMEOUTS"))) timeouts_parse(&d->to, env);
  d->port = 25;
  r = cfg_line("remoteport", buf, 64);
  if (r < 0) return "4.3.5 cannot read config file remoteport";
  if ((env = getenv("POCHTA_REMOTE_PORT"))) { snprintf(buf, 64, "%s", env); r = 1; }
  if (r) {
    unsigned long p = strtoul(buf, 0, 10);
    if (!p || p > 65535) return "4.3.5 bad remote port";
    d->port = (unsigned)p;
  }
  if ((err = families(d))) return err;
  if ((env = getenv("POCHTA_CAFILE")) && *env) snprintf(d->cafile, sizeof d->cafile, "%s", env);
  else if (cfg_path(d->cafile, sizeof d->cafile, "tls/ca.pem") && !access(d->cafile, R_OK)) ;
  else snprintf(d->cafile, sizeof d->cafile, "/etc/ssl/certs/ca-certificates.crt");
  r = cfg_line("smarthost", buf, sizeof buf);
  if (r < 0) return "4.3.5 cannot read config file smarthost";
  if (r) {
    d->smarthost = 1;
    d->verify = 1;
    d->port = 587;
    if (!hostport(buf, smarthost, shlen, &d->port)) return "4.3.5 bad smarthost syntax (host[:port])";
    r = cfg_line("smarthost-tls", buf, 64);
    if (r < 0) return "4.3.5 cannot read config file smarthost-tls";
    if (r && !strcmp(buf, "noverify")) d->verify = 0;
    r = cfg_file("smarthost-auth", buf, sizeof buf, 1);
    if (r < 0) {
      snprintf(why, sizeof why, "4.3.5 cannot use config file smarthost-auth: %s%s", strerror(errno),
               errno == EPERM ? " (must not be readable by group or others)" : "");
      return why;
    }
    if (r) {
      char *colon = strchr(buf, ':'), *nl;
      if ((nl = strchr(buf, '\n'))) *nl = 0;
      if (nl && nl > buf && nl[-1] == '\r') nl[-1] = 0;
      if (!colon || colon == buf) return "4.3.5 bad smarthost-auth syntax (user:password)";
      *colon = 0;
      {
        size_t ul = strlen(buf), pl = strlen(colon + 1);
        if (ul >= sizeof d->authuser || pl >= sizeof d->authpass) return "4.3.5 smarthost-auth too long";
        memcpy(d->authuser, buf, ul + 1);
        memcpy(d->authpass, colon + 1, pl + 1);
      }
      memset(buf, 0, sizeof buf);
    }
  }
  return 0;
}

/* Write the records; 1 ok */
static int output(char **rcpt, struct result *res, unsigned n)
{
  unsigned i;
  for (i = 0; i < n; i++) {
    char code[2] = { res[i].code ? res[i].code : 'Z', 0 };
    log_start("result"); log_kv("rcpt", rcpt[i]); log_kv("code", code); log_kv("text", res[i].text); log_end();
    /* a control octet in an address would break the record format: the
     * runner matches records by order, so a '?' loses nothing */
    if (putchar(code[0]) == EOF) return 0;
    for (char const *p = rcpt[i]; *p; p++)
      if (putchar((unsigned char)*p < 32 || *p == 127 ? '?' : *p) == EOF) return 0;
    /* the third field, when a host answered (doc/CONTRACTS.md) */
    if (printf(res[i].mta[0] ? "\t%s\t%s\n" : "\t%s\n", res[i].text, res[i].mta) < 0) return 0;
  }
  return fflush(stdout) == 0 && !ferror(stdout);
}

int main(int argc, char **argv)
{
  struct delivery d;
  struct result *all;
  char **okr;
  struct result *okres;
  unsigned *map, n, i, nt = 0;
  struct target *t;
  char smarthost[300], why[400] = "4.4.1 no host to try", dir[4096];
  time_t now;
  char const *err;
  int done = 0, talked = 0;

  if (argc < 4) {
    fprintf(stderr, "usage: pochta-remote DOMAIN SENDER RCPT...\n");
    return EX_USAGE_;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&d, 0, sizeof d);
  d.domain = argv[1];
  d.sender = strcmp(argv[2], "#@[]") ? argv[2] : "";  /* a double bounce goes out with <> */
  n = (unsigned)(argc - 3);
  all = calloc(n, sizeof *all);
  okr = calloc(n, sizeof *okr);
  okres = calloc(n, sizeof *okres);
  map = calloc(n, sizeof *map);
  t = calloc(MX_MAXTARGETS, sizeof *t);
  if (!all || !okr || !okres || !map || !t) { fprintf(stderr, "pochta-remote: out of memory\n"); return EX_TEMP_; }

  /* recipients we cannot even write into a command are refused here; the
   * others go to the peer, their results mapped back by index */
  for (i = 0; i < n; i++) {
    char *r = argv[3 + i];
    if (!addr_ok(r, 0)) { all[i].code = 'D'; snprintf(all[i].text, sizeof all[i].text, "5.1.3 bad recipient address syntax"); continue; }
    if (nonascii(r)) d.need_utf8 = 1;
    map[d.nrcpt] = i;
    okr[d.nrcpt++] = r;
  }
  d.rcpt = okr;
  d.res = okres;
  if (nonascii(d.sender)) d.need_utf8 = 1;

  log_start("start"); log_kv("domain", d.domain); log_kv("sender", d.sender); log_kvu("rcpts", n); log_end();

  if (!addr_ok(d.sender, 1)) { results_fill(&d, 'D', "5.1.7 bad sender address syntax"); goto report; }
  if (!d.nrcpt) goto report;
  if ((err = config(&d, smarthost, sizeof smarthost))) { results_fill(&d, 'Z', err); goto report; }
  if (!msg_load(&d.msg, 0)) {
    snprintf(why, sizeof why, "4.3.0 cannot read the message: %s", strerror(errno));
    results_fill(&d, 'Z', why);
    goto report;
  }
  now = time(0);
  rundir(dir, sizeof dir);
  if (d.to.family) fam_load(&d.fam, dir, now);
  {
    enum mx_result mr = d.smarthost ? mx_host(smarthost, d.families, t, &nt, why, sizeof why)
                                    : mx_targets(d.domain, d.families, t, &nt, why, sizeof why);
    log_start("dns"); log_kv("domain", d.smarthost ? smarthost : d.domain);
    log_kvu("targets", nt); if (mr != MX_OK) log_kv("reason", why); log_end();
    if (mr == MX_TEMP) { results_fill(&d, 'Z', why); goto report; }
    if (mr != MX_OK) { results_fill(&d, 'D', why); goto report; }
  }
  nt = skip_failed(&d, t, nt, now);
  for (i = 0; i < nt && !done; i++) {
    char w[400];
    enum smtp_outcome o = smtp_session(&d, &t[i], 0, w, sizeof w);
    /* opportunistic TLS that fails its handshake: the same host in clear */
    if (o == SMTP_RETRY_PLAIN) o = smtp_session(&d, &t[i], 1, w, sizeof w);
    if (o == SMTP_DONE) done = 1;
    /* a host that answered says more than one that could not be reached */
    else if (!talked || strncmp(w, "4.4.1 ", 6)) {
      snprintf(why, sizeof why, "%s", w);
      if (strncmp(w, "4.4.1 ", 6)) talked = 1;
    }
  }
  if (d.to.family) {
    char what[200];
    if (!fam_settle(&d.fam, dir, now, d.to.family, what, sizeof what)) {
      log_start("family"); log_kv("result", "not-saved"); log_kv("dir", dir); log_kv("error", strerror(errno)); log_end();
    }
    if (what[0]) { log_start("family"); log_kv("result", what); log_end(); }
  }
  if (!done) {
    char text[RESULT_TEXTMAX];
    /* every host failed: the last reason tells the most */
    snprintf(text, sizeof text, "%s", why);
    if (text[0] != '4' && text[0] != '5') snprintf(text, sizeof text, "4.4.1 %s", why);
    else if (text[0] == '5' && text[1] != '.') snprintf(text, sizeof text, "4.4.1 %s", why);
    results_fill(&d, 'Z', text);
  }
  results_fill(&d, 'Z', "4.3.0 no result");

report:
  for (i = 0; i < d.nrcpt; i++) all[map[i]] = okres[i];
  {
    int ok = output(argv + 3, all, n);
    msg_free(&d.msg);
    free(all); free(okr); free(okres); free(map); free(t);
    return ok ? 0 : EX_TEMP_;
  }
}
