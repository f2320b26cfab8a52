/* pochta-imapd: STARTTLS, LOGIN, AUTHENTICATE PLAIN and the hand-over to the
 * post-login process.
 *
 * The pre-login process is small and unprivileged. To check a password it forks and
 * execs the checkpassword program (CONTRACTS.md) as
 *   $IMAPD_CHECKPASSWORD (default pochta-checkpassword) <this program> -P
 * with user\0password\0timestamp\0 on fd 3, like qmail-popup. On success checkpassword
 * switches to the mailbox owner and execs "pochta-imapd -P", which writes one byte on
 * the descriptor IMAPD_OKFD names ("I took the session"), sends the tagged OK, and
 * serves the session on the same client descriptors. Input the pre-login process had
 * already read (pipelined commands) goes along hex-encoded in IMAPD_PENDING. If no byte
 * arrives, the child's exit code says why the login failed and the pre-login process
 * goes on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "imapd.h"
#include "base64.h"
#include "waiter.h"
#include "io.h"

char self_path[4096] = "pochta-imapd";

static int env_fd(char const *name)
{
  char const *v = getenv(name);
  if (!v || !*v) return -1;
  char *end;
  long n = strtol(v, &end, 10);
  return *end || n < 0 || n > 65535 ? -1 : (int)n;
}

int c_starttls(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  if (!S.starttls_ok || S.tls) { resp("BAD STARTTLS not available"); return 1; }
  int ctl = env_fd("SSLCTLFD"), rfd = env_fd("SSLREADFD"), wfd = env_fd("SSLWRITEFD");
  if (ctl < 0 || rfd < 0 || wfd < 0) { resp("NO [UNAVAILABLE] TLS engine missing"); return 1; }
  io_puts(cur_tag); io_puts(" OK Begin TLS negotiation now\r\n");
  if (io_flush() < 0) return 0;
  if (fd_write(ctl, "Y", 1) != 1) return 0;
  /* the engine answers KEY=value\0 ... \0 after the handshake; EOF = failed */
  char buf[4096]; size_t n = 0;
  for (;;) {
    ssize_t r = fd_read(ctl, buf + n, 1);
    if (r <= 0) { logf_("event=starttls result=failed"); _exit(0); }
    n++;
    if (n >= 2 && !buf[n - 1] && !buf[n - 2]) break;
    if (n == 1 && !buf[0]) break;
    if (n == sizeof buf) n = 1;   /* keep reading; the values are not needed */
  }
  /* Never execute what the client pipelined before the handshake (CVE-2011-0411). */
  io_discard();
  io_infd = rfd; io_outfd = wfd;
  io_set_nonblock(io_outfd);
  S.tls = 1; S.starttls_ok = 0;
  S.resp.len = 0;   /* answered */
  return 1;
}

static char const hexd[] = "0123456789abcdef";

void login_try(char const *tag, size_t taglen, char const *user, size_t ulen,
               char const *pass, size_t plen, char const *cmdname)
{
  char data[600];
  char ts[32];
  (void)taglen;
  if (ulen > 255 || plen > 255 || !ulen || memchr(user, 0, ulen) || memchr(pass, 0, plen)) {
    resp("NO [AUTHENTICATIONFAILED] Invalid credentials"); return;
  }
  snprintf(ts, sizeof ts, "%lld", (long long)time(0));
  size_t dl = 0;
  memcpy(data, user, ulen); dl += ulen; data[dl++] = 0;
  memcpy(data + dl, pass, plen); dl += plen; data[dl++] = 0;
  memcpy(data + dl, ts, strlen(ts) + 1); dl += strlen(ts) + 1;

  int p3[2], okp[2];
  if (pipe(p3) < 0) { resp("NO [UNAVAILABLE] Try again later"); return; }
  if (pipe(okp) < 0) { close(p3[0]); close(p3[1]); resp("NO [UNAVAILABLE] Try again later"); return; }
  io_flush();
  pid_t pid = fork();
  if (pid < 0) { close(p3[0]); close(p3[1]); close(okp[0]); close(okp[1]); resp("NO [UNAVAILABLE] Try again later"); explicit_bzero(data, sizeof data); return; }
  if (!pid) {
    char num[16];
    close(p3[1]); close(okp[0]);
    /* fd 3 is checkpassword's: move anything of ours that sits there */
    static char const *const vars[] = { "SSLCTLFD", "SSLREADFD", "SSLWRITEFD" };
    for (int i = 0; i < 3; i++) {
      if (env_fd(vars[i]) == 3) {
        int nfd = fcntl(3, F_DUPFD, 10);
        if (nfd < 0) _exit(111);
        snprintf(num, sizeof num, "%d", nfd); setenv(vars[i], num, 1);
        if (io_infd == 3) io_infd = nfd;
        if (io_outfd == 3) io_outfd = nfd;
      }
    }
    if (io_infd == 3 || io_outfd == 3) _exit(111);
    if (waiter_okfd_pass(okp[1], "IMAPD_OKFD") < 0) _exit(111);
    if (p3[0] != 3) { if (dup2(p3[0], 3) < 0) _exit(111); close(p3[0]); }
    fcntl(3, F_SETFD, 0);
    setenv("IMAPD_TAG", tag, 1);
    setenv("IMAPD_CMD", cmdname, 1);
    setenv("IMAPD_TLS", S.tls ? "1" : "0", 1);
    if (io_infd != 0) { snprintf(num, sizeof num, "%d", io_infd); setenv("IMAPD_INFD", num, 1); }
    if (io_outfd != 1) { snprintf(num, sizeof num, "%d", io_outfd); setenv("IMAPD_OUTFD", num, 1); }
    size_t pn = io_pending();
    if (pn) {
      char *hx = malloc(pn * 2 + 1);
      if (!hx) _exit(111);
      char const *pd = io_pending_data();
      for (size_t i = 0; i < pn; i++) { hx[2*i] = hexd[(unsigned char)pd[i] >> 4]; hx[2*i+1] = hexd[pd[i] & 15]; }
      hx[2*pn] = 0;
      setenv("IMAPD_PENDING", hx, 1);
    } else unsetenv("IMAPD_PENDING");
    char const *cp = getenv("IMAPD_CHECKPASSWORD");
    if (!cp || !*cp) cp = "pochta-checkpassword";
    char const *argv[] = { cp, self_path, "-P", 0 };
    execvp(cp, (char *const *)argv);
    _exit(111);
  }
  close(p3[0]); close(okp[1]);
  signal(SIGPIPE, SIG_IGN);
  (void)!write(p3[1], data, dl);
  explicit_bzero(data, sizeof data);
  close(p3[1]);
  char b;
  ssize_t r;
  do r = read(okp[0], &b, 1); while (r < 0 && errno == EINTR);
  close(okp[0]);
  int st = 0;
  if (r == 1) {
    /* The post-login process has the connection now. We stay its parent (so that
     * tcpserver's connection count stays right) but shed our memory: pochta-wait
     * beside us holds a few pages; without it, a fresh image of this program in
     * waiting mode touches little. */
    if (slot_keep_on_exec() == 0) {
      waiter_exec(self_path);
      char num[24];
      snprintf(num, sizeof num, "%d", (int)pid);
      char const *wargv[] = { self_path, "-W", num, 0 };
      execv(self_path, (char *const *)wargv);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) ;
    _exit(0);
  }
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) ;
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 111;
  if (code == 1) resp("NO [AUTHENTICATIONFAILED] Authentication failed");
  else if (code == 2) resp("NO [AUTHENTICATIONFAILED] Authentication failed");
  else resp("NO [UNAVAILABLE] Temporary failure, try again later");
  logf_("event=login result=fail code=%d ip=%s", code, getenv("TCPREMOTEIP") ? getenv("TCPREMOTEIP") : "-");
}

/* Failed logins a connection may make before it is closed (issue 10, 12):
 * pochta-checkpassword counts and delays them per address and account, this
 * stops one connection from trying password after password. */
#define LOGIN_FAILS_MAX 3

/* After LOGIN or AUTHENTICATE: 1 go on, 0 close (BYE sent). */
static int after_attempt(void)
{
  static int fails;
  stralloc_0(&S.resp); S.resp.len--;
  if (!strstr(S.resp.s, "[AUTHENTICATIONFAILED]") && !strstr(S.resp.s, "[AUTHORIZATIONFAILED]")) return 1;
  if (++fails < LOGIN_FAILS_MAX) return 1;
  logf_("event=login result=closed reason=\"%d failed attempts\" ip=%s", fails, getenv("TCPREMOTEIP") ? getenv("TCPREMOTEIP") : "-");
  io_puts("* BYE Too many failed login attempts\r\n");
  return 0;
}

int c_login(pcur *p, int uid)
{
  (void)uid;
  pstr u, w;
  if (!p_sp(p) || !p_astring(p, &u) || !p_sp(p) || !p_astring(p, &w) || !p_eol(p)) { resp("BAD Syntax: LOGIN user password"); return 1; }
  if (!S.tls && !S.plain_ok) { resp("NO [PRIVACYREQUIRED] Use STARTTLS first"); return 1; }
  char ub[256], pb[256];
  if (u.len >= sizeof ub || w.len >= sizeof pb) { resp("NO [AUTHENTICATIONFAILED] Authentication failed"); return after_attempt(); }
  memcpy(ub, u.s, u.len); ub[u.len] = 0;
  memcpy(pb, w.s, w.len); pb[w.len] = 0;
  login_try(cur_tag, strlen(cur_tag), ub, u.len, pb, w.len, "LOGIN");
  explicit_bzero(pb, sizeof pb);
  return after_attempt();
}

int c_authenticate(pcur *p, int uid)
{
  (void)uid;
  pstr mech, ir = { 0, 0 };
  static stralloc line = STRALLOC_ZERO;
  if (!p_sp(p) || !p_atom(p, &mech)) { resp("BAD Syntax: AUTHENTICATE mechanism"); return 1; }
  int has_ir = 0;
  if (p_sp(p)) {
    if (p_char(p, '=')) { has_ir = 1; }
    else if (!p_atom(p, &ir)) { resp("BAD Invalid initial response"); return 1; }
    else has_ir = 1;
  }
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  if (!strcase_eq(mech.s, mech.len, "PLAIN")) { resp("NO Unsupported authentication mechanism"); return 1; }
  if (!S.tls && !S.plain_ok) { resp("NO [PRIVACYREQUIRED] Use STARTTLS first"); return 1; }
  char const *b64 = ir.s; size_t b64len = ir.len;
  if (!has_ir) {
    io_puts("+ \r\n");
    int r = io_getline(&line, 2048);
    if (r == -1) { resp("BAD Response too long"); return 1; }
    if (r <= 0) return 0;
    if (line.len == 1 && line.s[0] == '*') { resp("BAD Authentication cancelled"); return 1; }
    b64 = line.s; b64len = line.len;
  }
  char dec[1600];
  long dn = base64_decode(dec, sizeof dec, b64, b64len);
  if (dn < 0) { resp("BAD Invalid base64"); return 1; }
  size_t dl = (size_t)dn;
  /* authzid \0 authcid \0 password */
  char *z1 = memchr(dec, 0, dl);
  char *z2 = z1 ? memchr(z1 + 1, 0, dl - (size_t)(z1 + 1 - dec)) : 0;
  if (!z1 || !z2) { explicit_bzero(dec, sizeof dec); resp("NO [AUTHENTICATIONFAILED] Authentication failed"); return after_attempt(); }
  size_t zl = (size_t)(z1 - dec), ul = (size_t)(z2 - z1 - 1), pl = dl - (size_t)(z2 + 1 - dec);
  if (zl && (zl != ul || memcmp(dec, z1 + 1, ul))) { explicit_bzero(dec, sizeof dec); resp("NO [AUTHORIZATIONFAILED] Cannot act as another user"); return after_attempt(); }
  char ub[256], pb[256];
  if (ul >= sizeof ub || pl >= sizeof pb) { explicit_bzero(dec, sizeof dec); resp("NO [AUTHENTICATIONFAILED] Authentication failed"); return after_attempt(); }
  memcpy(ub, z1 + 1, ul); ub[ul] = 0;
  memcpy(pb, z2 + 1, pl); pb[pl] = 0;
  explicit_bzero(dec, sizeof dec);
  login_try(cur_tag, strlen(cur_tag), ub, ul, pb, pl, "AUTHENTICATE");
  explicit_bzero(pb, sizeof pb);
  return after_attempt();
}
