/* pochta-bounce SENDER
 * The failed message on fd 0, its failures on fd 3 as lines
 * "rcpt\tD|Z\tdiagnostic\n", the diagnostic perhaps ending in "\thost[ip]"
 * (the host that answered: Remote-MTA). Builds one DSN for all of them and enqueues
 * it with the null sender to SENDER (doc/CONTRACTS.md):
 *   SENDER empty (a bounce failed): to postmaster@<me>, sender "#@[]";
 *   SENDER "#@[]" (a double bounce failed): dropped, with a log line.
 * Exit 0 queued or deliberately dropped, 111 temporary failure, 100 usage. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/stralloc.h>
#include "conf.h"
#include "users.h"
#include "exitcodes.h"
#include "dsn.h"

#define FAILURES_MAX (1UL << 20)   /* fd 3 larger than this is not from the runner */
#define HEADERS_MAX (64UL << 10)   /* headers quoted in the bounce, at most */

static void logline(char const *event, char const *k1, char const *v1, char const *k2, char const *v2)
{
  /* values are addresses and short reasons: quote them, drop controls */
  stralloc l = STRALLOC_ZERO;
  char const *kv[4] = { k1, v1, k2, v2 };
  int i;
  if (!stralloc_cats(&l, "pochta-bounce: event=") || !stralloc_cats(&l, event)) goto out;
  for (i = 0; i < 4; i += 2) {
    char const *s;
    if (!kv[i]) break;
    if (!stralloc_catb(&l, " ", 1) || !stralloc_cats(&l, kv[i]) || !stralloc_catb(&l, "=\"", 2)) goto out;
    for (s = kv[i + 1]; *s; s++) {
      char c = (unsigned char)*s < 32 || *s == '"' || *s == '\\' ? '?' : *s;
      if (!stralloc_catb(&l, &c, 1)) goto out;
    }
    if (!stralloc_catb(&l, "\"", 1)) goto out;
  }
  if (stralloc_catb(&l, "\n", 1)) { ssize_t w = write(2, l.s, l.len); (void)w; }
out:
  stralloc_free(&l);
}

static void die(char const *why)
{
  logline("error", "reason", why, 0, 0);
  _exit(EX_TEMP);
}

/* Read all of fd into sa, at most max octets: 1 ok, 0 too big, -1 error */
static int slurp(int fd, stralloc *sa, size_t max)
{
  for (;;) {
    ssize_t r;
    if (!stralloc_readyplus(sa, 65536)) return -1;
    r = read(fd, sa->s + sa->len, 65536);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (!r) return 1;
    sa->len += (size_t)r;
    if (sa->len > max) return 0;
  }
}

/* The header section of fd 0, at most HEADERS_MAX octets, cut at a line */
static int read_headers(stralloc *h)
{
  char buf[8192];
  for (;;) {
    size_t hl;
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 0;
    if (!r) break;
    if (!stralloc_catb(h, buf, (size_t)r)) return 0;
    hl = dsn_headerlen(h->s, h->len);
    if (hl < h->len) { h->len = hl; break; }
    if (h->len > HEADERS_MAX) {
      size_t cut = HEADERS_MAX;
      while (cut && h->s[cut - 1] != '\n') cut--;
      h->len = cut;
      break;
    }
  }
  return 1;
}

/* The optional last field "\thost[ip]" of a diagnostic (the host that
 * answered, from pochta-remote's record): cut off diag and returned when it
 * has the shape of one, else NULL (and diag is left as it is). */
static char const *mta_field(char *diag)
{
  char *tab = strrchr(diag, '\t'), *p;
  size_t n;
  if (!tab) return 0;
  p = tab + 1;
  n = strlen(p);
  if (!n || n > 330) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']')) return 0;
  }
  if (p[n - 1] != ']' || !strchr(p, '[')) return 0;
  *tab = 0;
  return p;
}

/* Split fd 3 into failures; lines that are not "rcpt\t[DZ]\tdiag" are
 * skipped with a log line. Returns the count, or -1 out of memory. */
static long parse_failures(stralloc *in, struct failure **out)
{
  size_t i = 0, n = 0, cap = 0;
  struct failure *f = 0;
  while (i < in->len) {
    char *line = in->s + i, *nl = memchr(line, '\n', in->len - i), *t1, *t2;
    size_t ll = nl ? (size_t)(nl - line) : in->len - i;
    line[ll] = 0;                       /* the LF (or one spare octet: see main) */
    i += ll + 1;
    t1 = strchr(line, '\t');
    t2 = t1 ? strchr(t1 + 1, '\t') : 0;
    if (!t1 || t1 == line || !t2 || t2 != t1 + 2 || (t1[1] != 'D' && t1[1] != 'Z')) {
      if (ll) logline("skip", "reason", "malformed failure line", "line", line);
      continue;
    }
    *t1 = 0;
    if (n == cap) {
      struct failure *nf = realloc(f, (cap = cap ? cap * 2 : 16) * sizeof *f);
      if (!nf) { free(f); return -1; }
      f = nf;
    }
    f[n].rcpt = line;
    f[n].code = t1[1];
    f[n].diag = t2 + 1;
    f[n].mta = mta_field(t2 + 1);
    n++;
  }
  *out = f;
  return (long)n;
}

/* The envelope recipients for `to`: a local address is resolved through its
 * aliases (the queue holds final recipients only, see CONTRACTS), anything
 * else stays as it is. NUL-terminated strings into out. 1 ok, 0 error. */
static int final_rcpts(char const *to, stralloc *out)
{
  users u = USERS_ZERO;
  stralloc canon = STRALLOC_ZERO;
  int r = users_open(&u), ok = 1;
  out->len = 0;
  if (r < 0) {
    fprintf(stderr, "pochta-bounce: event=error what=\"users.cdb\" error=\"%s\"\n", users_why(errno));
    return 0;
  }
  if (users_canon(&canon, to, strlen(to))) {
    int loc = users_domain_local(&u, strrchr(canon.s, '@') + 1);
    if (loc < 0) ok = 0;
    else if (loc && users_resolve(&u, canon.s, out) < 0) ok = 0;
  }
  /* not local, or an unknown local user (its failure ends in postmaster's bounce) */
  if (ok && !out->len && !stralloc_catb(out, to, strlen(to) + 1)) ok = 0;
  stralloc_free(&canon);
  users_close(&u);
  return ok;
}

/* Run the enqueue program with the message on fd 0 and the envelope on
 * fd 1 (recipients: NUL-terminated strings in rcpts). Returns its exit code,
 * or -1 when it could not be run. */
static int enqueue(stralloc const *msg, char const *from, stralloc const *rcpts)
{
  char const *prog = getenv("POCHTA_QUEUE");
  int mp[2], ep[2], st;
  pid_t pid;
  stralloc env = STRALLOC_ZERO;
  size_t off;
  if (!prog || !*prog) prog = getenv("QMAILQUEUE");
  if (!prog || !*prog) prog = "pochta-queue";
  if (!stralloc_catb(&env, "F", 1) || !stralloc_cats(&env, from) || !stralloc_catb(&env, "\0", 1)) return -1;
  for (off = 0; off < rcpts->len; off += strlen(rcpts->s + off) + 1)
    if (!stralloc_catb(&env, "T", 1) || !stralloc_cats(&env, rcpts->s + off) || !stralloc_catb(&env, "\0", 1)) return -1;
  if (!stralloc_catb(&env, "\0", 1)) return -1;
  if (pipe2(mp, O_CLOEXEC) < 0) return -1;
  if (pipe2(ep, O_CLOEXEC) < 0) { close(mp[0]); close(mp[1]); return -1; }
  pid = fork();
  if (pid < 0) return -1;
  if (!pid) {
    if (dup2(mp[0], 0) < 0 || dup2(ep[0], 1) < 0) _exit(QX_BUG);
    execlp(prog, prog, (char *)0);
    _exit(QX_BUG);
  }
  close(mp[0]); close(ep[0]);
  /* the message first, then the envelope: the qmail-queue order */
  for (off = 0; off < msg->len;) {
    ssize_t w = write(mp[1], msg->s + off, msg->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) break;
    off += (size_t)w;
  }
  close(mp[1]);
  for (off = 0; off < env.len;) {
    ssize_t w = write(ep[1], env.s + off, env.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) break;
    off += (size_t)w;
  }
  close(ep[1]);
  stralloc_free(&env);
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
  if (!WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
  stralloc me = STRALLOC_ZERO, fl = STRALLOC_ZERO, hdr = STRALLOC_ZERO, out = STRALLOC_ZERO, rcpts = STRALLOC_ZERO;
  struct failure *f = 0;
  struct dsn d;
  struct stat st;
  char to[1100], msgid[400], boundary[100];
  char const *sender, *envfrom;
  unsigned char rnd[8];
  long n;
  int r, tries, code = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: pochta-bounce SENDER (message on fd 0, failures on fd 3)\n");
    return EX_PERM;
  }
  signal(SIGPIPE, SIG_IGN);
  sender = argv[1];
  if (!strcmp(sender, "#@[]")) {
    /* a report about a failed bounce failed too: stop here, never loop */
    logline("drop", "reason", "double bounce failed: not sent again", 0, 0);
    return 0;
  }
  r = conf_line(&me, "me");
  if (r < 0) die("cannot read config file me");
  if (!r || !me.len) die("config file me is missing");
  r = slurp(3, &fl, FAILURES_MAX);
  if (r < 0) die("cannot read the failures on fd 3");
  if (!r) die("failure list on fd 3 too large");
  if (!stralloc_0(&fl)) die("out of memory");  /* room for the last line's NUL */
  fl.len--;
  n = parse_failures(&fl, &f);
  if (n < 0) die("out of memory");
  if (!n) {
    logline("drop", "reason", "no failures given on fd 3", 0, 0);
    goto done;
  }
  if (!read_headers(&hdr)) die("cannot read the message on fd 0");

  if (!*sender) {
    /* a bounce bounced: tell the postmaster once, from "#@[]" so that its
     * own failure ends above */
    snprintf(to, sizeof to, "postmaster@%s", me.s);
    envfrom = "#@[]";
  } else {
    if (strlen(sender) >= sizeof to) die("sender address too long");
    snprintf(to, sizeof to, "%s", sender);
    envfrom = "";
  }
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) die("no randomness");
  snprintf(msgid, sizeof msgid, "%lld.%d.%02x%02x%02x%02x@%s", (long long)time(0), (int)getpid(),
           rnd[0], rnd[1], rnd[2], rnd[3], me.s);
  memset(&d, 0, sizeof d);
  d.me = me.s; d.to = to; d.forpostmaster = !*sender;
  d.f = f; d.nf = (size_t)n;
  d.headers = hdr.s ? hdr.s : ""; d.hlen = hdr.len;
  d.now = time(0);
  /* the queue's message file was written when the message arrived */
  d.arrival = fstat(0, &st) == 0 && S_ISREG(st.st_mode) ? st.st_mtime : d.now;
  d.msgid = msgid;
  /* a boundary that the quoted headers happen to contain would break the
   * MIME structure: draw another */
  for (tries = 0;; tries++) {
    snprintf(boundary, sizeof boundary, "=_pochta_%02x%02x%02x%02x_%d", rnd[4], rnd[5], rnd[6], rnd[7], tries);
    if (!hdr.len || !memmem(hdr.s, hdr.len, boundary, strlen(boundary))) break;
    if (getrandom(rnd + 4, 4, 0) != 4) die("no randomness");
  }
  d.boundary = boundary;
  out.len = 0;
  if (!dsn_build(&out, &d)) die("out of memory");
  if (!final_rcpts(to, &rcpts)) die("cannot read users.cdb");
  r = enqueue(&out, envfrom, &rcpts);
  if (r != 0) {
    char b[64];
    snprintf(b, sizeof b, "%d", r);
    logline("defer", "reason", r < 0 ? "cannot run the enqueue program" : "enqueue failed", "exit", b);
    code = EX_TEMP;
    goto done;
  }
  {
    char b[32];
    snprintf(b, sizeof b, "%ld", n);
    logline("queued", "to", to, "failures", b);
  }
 done:
  /* (freed so that the leak checker of the sanitizer build sees nothing) */
  free(f);
  stralloc_free(&me); stralloc_free(&fl); stralloc_free(&hdr); stralloc_free(&out); stralloc_free(&rcpts);
  return code;
}
