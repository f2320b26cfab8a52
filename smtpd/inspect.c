/* What pochta-smtpd decides about a whole message before it is queued (the inspect
 * hook), in-process, so that no exec is spent per message (DESIGN.md's budget):
 *   - fields that would lie are dropped: an Authentication-Results claiming our
 *     name (RFC 8601 5), our own X-Pochta-Junk marker;
 *   - inbound mail (no login, no RELAYCLIENT) goes through the sender checks of
 *     checks/ (iprev, SPF, DKIM, DMARC, ARC): a DMARC reject is answered 550 at
 *     the end of DATA, a DNS failure that matters 451, a quarantine marked for the
 *     Junk folder; an Authentication-Results field is added;
 *   - submitted mail (a login) gets Date: and Message-ID: when it has none, then
 *     the DKIM signature of pochta-dkimsign, the one step that can read the keys.
 * Configuration ($POCHTA_CONF): checks ("off" to skip the checks; "spfreject" to
 * refuse an SPF fail without a DMARC policy), arcsealers (trusted ARC sealers, one
 * domain per line). See pochta-smtpd(8). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "checks.h"
#include "conf.h"
#include "dns.h"
#include "inspect.h"
#include "smtpd.h"

extern char **environ;

#define SIGNED_MAX 65536   /* DKIM-Signature fields we take from the signer */
#define SEALERS_MAX 32

/* Settings and the resolver, made once per session (a session is a process). */
static struct {
  int ready, checks, spfreject;
  stralloc sealers;                      /* NUL-separated */
  char const *sealer[SEALERS_MAX];
  unsigned nsealers;
  dns_resolver dns;
  int dns_ok;
} C;

static void settings(void)
{
  stralloc sa = STRALLOC_ZERO;
  char path[4096];
  if (C.ready) return;
  C.ready = 1;
  C.checks = 1;
  if (conf_path(path, sizeof path, "checks")) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[512];
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n > 0) {
        buf[n] = 0;
        for (char *w = strtok(buf, " \t\r\n"); w; w = strtok(0, " \t\r\n")) {
          if (!strcmp(w, "off")) C.checks = 0;
          else if (!strcmp(w, "spfreject")) C.spfreject = 1;
        }
      }
    }
  }
  if (conf_path(path, sizeof path, "arcsealers")) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n > 0) {
        buf[n] = 0;
        for (char *w = strtok(buf, " \t\r\n"); w && C.nsealers < SEALERS_MAX; w = strtok(0, " \t\r\n"))
          if (*w != '#' && stralloc_catb(&C.sealers, w, strlen(w) + 1)) C.nsealers++;
        for (size_t i = 0, k = 0; k < C.nsealers; k++) { C.sealer[k] = C.sealers.s + i; i += strlen(C.sealers.s + i) + 1; }
      }
    }
  }
  stralloc_free(&sa);
}

/* ---------- the header's fields ---------- */

/* The next field of the header from *pos: [*start, *end) with its line end and
 * continuation lines; 0 at the empty line or the end. */
static int next_field(char const *m, size_t len, size_t *pos, size_t *start, size_t *end)
{
  size_t p = *pos;
  if (p >= len || m[p] == '\n') return 0;
  *start = p;
  for (;;) {
    char const *nl = memchr(m + p, '\n', len - p);
    p = nl ? (size_t)(nl - m) + 1 : len;
    if (p >= len || (m[p] != ' ' && m[p] != '\t')) break;
  }
  *end = *pos = p;
  return 1;
}

static int named(char const *f, size_t n, char const *name)
{
  size_t k = strlen(name);
  return n > k && f[k] == ':' && !strncasecmp(f, name, k);
}

static int drop(verdict *v, size_t start, size_t end)
{
  if (v->ndrop >= VERDICT_DROP_MAX) return 0;
  v->drop[2 * v->ndrop] = start;
  v->drop[2 * v->ndrop + 1] = end;
  v->ndrop++;
  return 1;
}

static void refuse(verdict *v, int action, char const *reply)
{
  v->action = action;
  snprintf(v->reply, sizeof v->reply, "%s", reply);
}

/* ---------- inbound: the sender checks ---------- */

static int client_ip(smtpd *s, checks_env *e)
{
  struct in_addr a4;
  struct in6_addr a6;
  char const *ip = s->remoteip;
  if (!ip) return 0;
  if (inet_pton(AF_INET, ip, &a4) == 1) { e->family = AF_INET; memcpy(e->ip, &a4, 4); return 1; }
  if (inet_pton(AF_INET6, ip, &a6) == 1) { e->family = AF_INET6; memcpy(e->ip, &a6, 16); return 1; }
  return 0;
}

static int check_sender(smtpd *s, char const *m, size_t len, verdict *v)
{
  checks_conf c = { .authserv_id = s->me, .me = s->me, .trusted_sealers = C.sealer,
                    .ntrusted = C.nsealers, .budget_ms = 0, .max_queries = 0, .spf_reject = C.spfreject };
  checks_env e;
  checks_out o;
  chk_buf ar = CHK_BUF_ZERO;
  chk_msg *cm;
  unsigned char rnd;
  int r;
  memset(&e, 0, sizeof e);
  if (!client_ip(s, &e)) return 1;   /* no address (a pipe in a test): nothing to check */
  if (!C.dns_ok) {
    if (dns_conf_load(&C.dns) != DNS_OK || !dns_cache_on(&C.dns, 128, 3600)) {
      refuse(v, V_TEMPFAIL, "451 4.3.0 Error: cannot check the sender now (DNS), try again later");
      slog(s, "checks", "error", "cannot load the DNS configuration", (char *)0);
      return 1;
    }
    C.dns_ok = 1;
  }
  e.helo = s->helo;
  e.mailfrom = s->env.len > 1 ? s->env.s + 1 : "";
  e.now = time(0);
  if (getrandom(&rnd, 1, 0) != 1) rnd = 0;
  e.sample = rnd % 100;
  if (!(cm = chk_msg_new(0))) return 0;
  r = chk_msg_feed(cm, m, len) && chk_msg_end(cm);
  if (r) checks_run(&c, &C.dns, &e, cm, &o);   /* (it returns the verdict, also in o) */
  chk_msg_free(cm);
  if (!r) return 0;
  slog(s, "checks", "iprev", chk_result_name(o.iprev.result), "spf", chk_result_name(o.spf.result),
       "dkim", chk_result_name(o.dkim.n ? o.dkim.sig[0].result : CHK_NONE), "dmarc", chk_result_name(o.dmarc.result),
       "arc", chk_result_name(o.arc.cv), "verdict",
       o.verdict == CHECKS_REJECT ? "reject" : o.verdict == CHECKS_TEMPFAIL ? "tempfail"
       : o.verdict == CHECKS_QUARANTINE ? "quarantine" : "accept", (char *)0);
  if (o.verdict == CHECKS_REJECT) { refuse(v, V_REJECT, o.reply); return 1; }
  if (o.verdict == CHECKS_TEMPFAIL) { refuse(v, V_TEMPFAIL, o.reply); return 1; }
  if (!authres_write(&ar, s->me, &o, &e, "\n") || !stralloc_catb(&v->add, ar.s, ar.len)) { chk_buf_free(&ar); return 0; }
  chk_buf_free(&ar);
  /* DMARC quarantine: the delivery files it into Junk (pochta-send(8)) */
  if (o.verdict == CHECKS_QUARANTINE && !stralloc_cats(&v->add, "X-Pochta-Junk: dmarc=quarantine\n")) return 0;
  return 1;
}

/* ---------- submission: our fields, the signature ---------- */

static int add_date_msgid(smtpd *s, int has_date, int has_msgid, verdict *v)
{
  char b[320];
  if (!has_date) {
    time_t t = time(0);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(b, sizeof b, "Date: %a, %d %b %Y %H:%M:%S %z\n", &tm)) return 0;
    if (!stralloc_cats(&v->add, b)) return 0;
  }
  if (!has_msgid) {
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != sizeof r) return 0;
    snprintf(b, sizeof b, "Message-ID: <%s.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\n", s->sid,
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], s->me);
    if (!stralloc_cats(&v->add, b)) return 0;
  }
  return 1;
}

/* pochta-dkimsign beside this program, or "" */
static char const *signer(void)
{
  static char path[PATH_MAX];
  static int looked;
  if (!looked) {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    char *slash;
    looked = 1;
    if (n > 0 && (path[n] = 0, slash = strrchr(path, '/'))) strcpy(slash + 1, "pochta-dkimsign");
    else path[0] = 0;
    if (path[0] && access(path, X_OK) < 0) path[0] = 0;
  }
  return path;
}

static int writeall(int fd, char const *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return 0; }
    p += w; n -= (size_t)w;
  }
  return 1;
}

/* Feed the message as it will be queued (our fields, then it without the dropped
 * ones) to the signer, and put what it prints in front of our fields. */
static int sign(smtpd *s, char const *m, size_t len, verdict *v)
{
  char const *prog = signer();
  char *argv[] = { (char *)"pochta-dkimsign", 0 };
  posix_spawn_file_actions_t fa;
  stralloc out = STRALLOC_ZERO;
  int in[2], res[2], st, r, ok = 1;
  pid_t pid;
  size_t pos = 0;
  if (!*prog) return 1;   /* not installed: nothing signs */
  if (pipe2(in, O_CLOEXEC) < 0) return 0;
  if (pipe2(res, O_CLOEXEC) < 0) { close(in[0]); close(in[1]); return 0; }
  r = posix_spawn_file_actions_init(&fa);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, res[1], 1);
  if (!r) r = posix_spawn(&pid, prog, &fa, 0, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]); close(res[1]);
  if (r) { close(in[1]); close(res[0]); errno = r; return 0; }
  /* The signer reads everything before it writes: no deadlock while we feed it. */
  ok = writeall(in[1], v->add.s ? v->add.s : "", v->add.len);
  for (unsigned i = 0; ok && i <= v->ndrop; i++) {
    size_t end = i < v->ndrop ? v->drop[2 * i] : len;
    if (end > pos) ok = writeall(in[1], m + pos, end - pos);
    if (i < v->ndrop) pos = v->drop[2 * i + 1];
  }
  close(in[1]);
  for (;;) {
    char buf[4096];
    ssize_t n = read(res[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.len + (size_t)n > SIGNED_MAX || !stralloc_catb(&out, buf, (size_t)n)) ok = 0;
  }
  close(res[0]);
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) { st = -1; break; }
  if (!ok || !WIFEXITED(st) || WEXITSTATUS(st)) {
    slog(s, "sign", "result", "fail", "status", WIFEXITED(st) ? "exit" : "signal", (char *)0);
    refuse(v, V_TEMPFAIL, "451 4.3.0 Error: cannot sign the message now, try again later");
    stralloc_free(&out);
    return 1;
  }
  if (out.len && !stralloc_insertb(&v->add, 0, out.s, out.len)) { stralloc_free(&out); return 0; }
  if (out.len) slog(s, "sign", "result", "ok", (char *)0);
  stralloc_free(&out);
  return 1;
}

int real_inspect(smtpd *s, char const *m, size_t len, verdict *v)
{
  size_t pos = 0, a, b;
  int has_date = 0, has_msgid = 0, inbound = !s->user.len && !s->relayclient;
  settings();
  while (next_field(m, len, &pos, &a, &b)) {
    char const *f = m + a;
    size_t n = b - a;
    if (named(f, n, "Date")) has_date = 1;
    else if (named(f, n, "Message-ID")) has_msgid = 1;
    else if (named(f, n, "X-Pochta-Junk") || (named(f, n, "Authentication-Results") && authres_claims(f, n, s->me))) {
      if (!drop(v, a, b)) {
        refuse(v, V_REJECT, "554 5.7.1 Error: too many forged Authentication-Results fields");
        return 1;
      }
    }
  }
  if (inbound && C.checks && !check_sender(s, m, len, v)) return 0;
  if (v->action != V_ACCEPT) return 1;
  if (s->user.len) {
    if (!add_date_msgid(s, has_date, has_msgid, v)) return 0;
    if (!sign(s, m, len, v)) return 0;
  }
  return 1;
}
