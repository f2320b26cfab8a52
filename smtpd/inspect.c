/* What pochta-smtpd decides about a whole message before it is queued (the inspect
 * hook), in-process, so that no exec is spent per message (DESIGN.md's budget):
 *   - fields that would lie are dropped: an Authentication-Results claiming our
 *     name (RFC 8601 5), our own X-Pochta-Junk marker;
 *   - inbound mail (no login, no RELAYCLIENT) goes through the sender checks of
 *     checks/ (iprev, SPF, DKIM, DMARC, ARC): a DMARC reject is answered 550 at
 *     the end of DATA, a DNS failure that matters 451, a quarantine marked for the
 *     Junk folder; an Authentication-Results field is added;
 *   - submitted mail (a login, or a client with RELAYCLIENT) gets Date: and
 *     Message-ID: when it has none, then the DKIM signature of pochta-dkimsign,
 *     the one step that can read the keys.
 * Configuration ($POCHTA_CONF): checks ("off" to skip the checks; "spfreject" to
 * refuse an SPF fail without a DMARC policy), arcsealers (trusted ARC sealers, one
 * domain per line). See pochta-smtpd(8). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "checks.h"
#include "conf.h"
#include "dns.h"
#include "inspect.h"
#include "signer.h"
#include "smtpd.h"
#include "spam.h"

#define SEALERS_MAX 32

/* Settings and the resolver, made once per session (a session is a process). */
static struct {
  int ready, checks, spfreject;
  stralloc sealers;                      /* NUL-separated */
  char const *sealer[SEALERS_MAX];
  unsigned nsealers;
  dns_resolver dns;
  int dns_ok;
  spam spam;
  int spam_state;                        /* 0 not opened, 1 open, -1 broken */
} C;

/* A small file of the configuration directory into buf, NUL-terminated: its
 * length, or 0 when it is absent, empty or unreadable (the defaults hold). */
static size_t conf_small(char const *name, char *buf, size_t cap)
{
  char path[4096];
  if (!conf_path(path, sizeof path, name)) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  return (size_t)n;
}

static void settings(void)
{
  char buf[4096];
  if (C.ready) return;
  C.ready = 1;
  C.checks = 1;
  if (conf_small("checks", buf, 512))
    for (char *w = strtok(buf, " \t\r\n"); w; w = strtok(0, " \t\r\n")) {
      if (!strcmp(w, "off")) C.checks = 0;
      else if (!strcmp(w, "spfreject")) C.spfreject = 1;
    }
  if (!conf_small("arcsealers", buf, sizeof buf)) return;
  /* a word per line; # starts a comment to the line's end */
  for (char *line = buf, *next; line && C.nsealers < SEALERS_MAX; line = next) {
    char *w;
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    line[strcspn(line, "#")] = 0;
    w = line + strspn(line, " \t\r");
    w[strcspn(w, " \t\r")] = 0;
    if (*w && stralloc_catb(&C.sealers, w, strlen(w) + 1)) C.nsealers++;
  }
  for (size_t i = 0, k = 0; k < C.nsealers; k++) { C.sealer[k] = C.sealers.s + i; i += strlen(C.sealers.s + i) + 1; }
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

/* ---------- the signer: DKIM signatures, ARC seals ---------- */

/* The message as it will be queued (our fields, then it without the dropped ones),
 * as pieces for the signer: 1 + VERDICT_DROP_MAX + 1 at most. */
#define QUEUED_IOV_MAX (VERDICT_DROP_MAX + 2)
static unsigned queued_iov(char const *m, size_t len, verdict const *v, struct iovec *iov)
{
  size_t pos = 0;
  unsigned n = 0;
  iov[n++] = (struct iovec){ .iov_base = v->add.s ? v->add.s : (char *)"", .iov_len = v->add.len };
  for (unsigned i = 0; i <= v->ndrop; i++) {
    size_t end = i < v->ndrop ? v->drop[2 * i] : len;
    if (end > pos) iov[n++] = (struct iovec){ .iov_base = (char *)m + pos, .iov_len = end - pos };
    if (i < v->ndrop) pos = v->drop[2 * i + 1];
  }
  return n;
}

static void log_signer(smtpd *s, char const *event, int st)
{
  char code[16];
  snprintf(code, sizeof code, "%d", st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  slog(s, event, "result", "fail", "status", code, (char *)0);
}

/* Sign: what the signer prints goes in front of our fields. */
static int sign(smtpd *s, char const *m, size_t len, verdict *v)
{
  struct iovec iov[QUEUED_IOV_MAX];
  char out[SIGNER_OUT_MAX];
  size_t outlen;
  int st, r = signer_run(iov, queued_iov(m, len, v, iov), out, sizeof out, &outlen, &st);
  if (r == SIGNER_ABSENT) return 1;   /* not installed: nothing signs */
  if (r == SIGNER_FAIL) {
    log_signer(s, "sign", st);
    refuse(v, V_TEMPFAIL, "451 4.3.0 Error: cannot sign the message now, try again later");
    return 1;
  }
  if (outlen && !stralloc_insertb(&v->add, 0, out, outlen)) return 0;
  if (outlen) slog(s, "sign", "result", "ok", (char *)0);
  return 1;
}

/* Seal mail this host forwards (RFC 8617), in the name of the domain whose alias
 * forwards it, with our Authentication-Results payload. A seal that cannot be
 * made is logged, and the mail goes on unsealed: it is an offer to the next hop,
 * not a condition of delivery. */
static int seal(smtpd *s, char const *m, size_t len, verdict *v, int cv, char const *payload)
{
  struct iovec iov[QUEUED_IOV_MAX];
  char out[SIGNER_OUT_MAX];
  char const *args[] = { "-a", s->fwd, "-c", cv == CHK_PASS ? "pass" : "none", "-r", payload, 0 };
  size_t outlen;
  int st, r;
  r = signer_run_args(args, iov, queued_iov(m, len, v, iov), out, sizeof out, &outlen, &st);
  if (r == SIGNER_ABSENT) return 1;
  if (r == SIGNER_FAIL) { log_signer(s, "seal", st); return 1; }
  if (outlen && !stralloc_insertb(&v->add, 0, out, outlen)) return 0;
  if (outlen) slog(s, "seal", "result", "ok", "domain", s->fwd, (char *)0);
  return 1;
}

/* ---------- inbound: the sender checks ---------- */

/* What the sender checks leave for the spam score and the ARC seal. */
typedef struct {
  int checked;            /* the checks ran (they are on, the client has an address) */
  int arc_cv;             /* the ARC chain's state (CHK_NONE, CHK_PASS, ...) */
  char authres[4096];     /* our Authentication-Results payload, unfolded */
} sender_result;

/* The payload of a folded Authentication-Results field (what follows its colon),
 * on one line, into out. */
static void payload_of(char const *field, size_t len, char *out, size_t outlen)
{
  char const *colon = memchr(field, ':', len);
  size_t k = 0;
  out[0] = 0;
  if (!colon || !outlen) return;
  for (char const *p = colon + 1; p < field + len && k < outlen - 1; p++) {
    char c = *p == '\t' ? ' ' : *p;
    if (c == '\n' || c == '\r') continue;
    if (c == ' ' && (!k || out[k - 1] == ' ')) continue;
    out[k++] = c;
  }
  while (k && out[k - 1] == ' ') k--;
  out[k] = 0;
}

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

static int check_sender(smtpd *s, char const *m, size_t len, verdict *v, sender_result *res)
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
  /* DMARC quarantine: the delivery files it into Junk (pochta-send(8)) */
  if (o.verdict == CHECKS_QUARANTINE && !stralloc_cats(&v->add, "X-Pochta-Junk: dmarc=quarantine\n")) { chk_buf_free(&ar); return 0; }
  payload_of(ar.s, ar.len, res->authres, sizeof res->authres);
  res->arc_cv = o.arc.cv;
  res->checked = 1;
  chk_buf_free(&ar);
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

/* ---------- spam and viruses (spam/, pochta-spam(5)) ---------- */

/* The spam context, opened at the first need of a session; 0 with a 451 set when
 * its configuration is broken (nothing is scored with a half-read one). */
static spam *spam_ctx(smtpd *s, char *reply, size_t rlen)
{
  char err[256];
  if (C.spam_state == 0) {
    C.spam_state = spam_open(&C.spam, err, sizeof err) ? 1 : -1;
    if (C.spam_state < 0) slog(s, "spam", "error", err, (char *)0);
  }
  if (C.spam_state > 0) return &C.spam;
  snprintf(reply, rlen, "451 4.3.0 Error: the spam filter's configuration is broken, try again later");
  return 0;
}

static void spam_env_of(smtpd *s, spam_env *e, char const *authres)
{
  memset(e, 0, sizeof *e);
  e->ip = s->remoteip ? s->remoteip : "";
  e->helo = s->helo;
  e->sender = s->env.len > 1 ? s->env.s + 1 : "";
  e->authres = authres && *authres ? authres : 0;
}

int real_rcpt_check(smtpd *s, char const *rcpt, char *reply, size_t rlen)
{
  spam_verdict sv = SPAM_VERDICT_ZERO;
  spam_env e;
  spam *sp;
  int ok;
  if (s->user.len || s->relayclient || !s->remoteip) return 1;   /* greylisting: strangers only */
  settings();
  if (!(sp = spam_ctx(s, reply, rlen))) return 0;
  spam_env_of(s, &e, 0);
  if (!spam_smtp_rcpt(sp, &e, rcpt, &sv)) { spam_verdict_free(&sv); return -1; }
  ok = sv.action == SPAM_ACCEPT;
  if (!ok) snprintf(reply, rlen, "%s", sv.reply);
  if (sv.log.len && stralloc_0(&sv.log)) slog(s, "grey", "rcpt", rcpt, "detail", sv.log.s, (char *)0);
  spam_verdict_free(&sv);
  return ok;
}

static int drop_cb(void *ctx, size_t start, size_t end) { return drop(ctx, start, end); }

/* Score inbound mail; the reply when it is refused, else its fields in v->add. */
static int check_spam(smtpd *s, char const *m, size_t len, verdict *v, char const *authres)
{
  spam_verdict sv = SPAM_VERDICT_ZERO;
  spam_env e;
  spam *sp = spam_ctx(s, v->reply, sizeof v->reply);
  int ok = 1;
  if (!sp) { v->action = V_TEMPFAIL; return 1; }
  spam_env_of(s, &e, authres);
  if (!spam_smtp_data(sp, &e, m, len, &sv)) { spam_verdict_free(&sv); return 0; }
  if (sv.log.len && stralloc_0(&sv.log)) slog(s, "spam", "detail", sv.log.s, (char *)0);
  switch (sv.action) {
    case SPAM_ACCEPT: ok = stralloc_catb(&v->add, sv.headers.s ? sv.headers.s : "", sv.headers.len); break;
    case SPAM_TEMPFAIL: refuse(v, V_TEMPFAIL, sv.reply); break;
    default: refuse(v, V_REJECT, sv.reply); break;   /* spam, a virus */
  }
  spam_verdict_free(&sv);
  return ok;
}

/* The spans to leave out in the order of the message (the queue writer walks them so). */
static void sort_drops(verdict *v)
{
  for (unsigned i = 1; i < v->ndrop; i++)
    for (unsigned j = i; j && v->drop[2 * j] < v->drop[2 * (j - 1)]; j--) {
      size_t a = v->drop[2 * j], b = v->drop[2 * j + 1];
      v->drop[2 * j] = v->drop[2 * (j - 1)]; v->drop[2 * j + 1] = v->drop[2 * (j - 1) + 1];
      v->drop[2 * (j - 1)] = a; v->drop[2 * (j - 1) + 1] = b;
    }
}

int real_inspect(smtpd *s, char const *m, size_t len, verdict *v)
{
  static sender_result res;   /* (4 kB: not on the stack of every call below) */
  size_t pos = 0, a, b;
  int has_date = 0, has_msgid = 0, inbound = !s->user.len && !s->relayclient;
  settings();
  memset(&res, 0, sizeof res);
  /* fields that would pass for ours: A-R claiming our name, our Junk mark and the
   * spam filter's fields */
  while (next_field(m, len, &pos, &a, &b)) {
    char const *f = m + a;
    size_t n = b - a;
    if (named(f, n, "Date")) has_date = 1;
    else if (named(f, n, "Message-ID")) has_msgid = 1;
    else if ((named(f, n, "X-Pochta-Junk") || (named(f, n, "Authentication-Results") && authres_claims(f, n, s->me)))
             && !drop(v, a, b)) goto toomany;
  }
  if (!spam_drops(m, len, drop_cb, v)) goto toomany;
  sort_drops(v);
  if (inbound) {
    if (C.checks && !check_sender(s, m, len, v, &res)) return 0;
    if (v->action != V_ACCEPT) return 1;
    if (!check_spam(s, m, len, v, res.authres)) return 0;
    if (v->action != V_ACCEPT) return 1;
    /* forwarded off this host, with a chain we may extend (none yet, or verified) */
    if (s->fwd[0] && res.checked && (res.arc_cv == CHK_NONE || res.arc_cv == CHK_PASS) &&
        !seal(s, m, len, v, res.arc_cv, res.authres)) return 0;
    return 1;
  }
  /* ours to send: a login, or a client allowed to relay (RELAYCLIENT, as Postfix's
   * mynetworks and OpenDKIM's InternalHosts) */
  {
    if (!add_date_msgid(s, has_date, has_msgid, v)) return 0;
    if (!sign(s, m, len, v)) return 0;
  }
  return 1;
 toomany:
  refuse(v, V_REJECT, "554 5.7.1 Error: too many header fields that only this host may write");
  return 1;
}
