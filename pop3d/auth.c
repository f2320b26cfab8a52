/* The AUTHORIZATION state: greeting, CAPA, STLS, USER/PASS, AUTH PLAIN.
 * A login runs the checkpassword program (fd 3: user\0password\0timestamp\0),
 * which execs the post-login stage; this process waits for its verdict. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "base64.h"
#include "cmd.h"
#include "conf.h"
#include "connlimit.h"
#include "exitcodes.h"
#include "io.h"
#include "log.h"
#include "pop3d.h"
#include "prelogin.h"
#include "waiter.h"

#define MAX_ERRORS 10        /* bad commands before we hang up */
#define MAX_AUTHFAIL 5       /* failed logins before we hang up */

static io_t io;
static char const *g_prog;
static unsigned g_timeout;
static int tls_on;                     /* the session is encrypted */
static int ctlfd = -1, tls_rfd = -1, tls_wfd = -1;   /* UCSPI-TLS, before STLS */
static int tls_swapped;                /* STLS done: network is tls_rfd/tls_wfd */
static int plain_loopback;             /* config plainauth=loopback */
static char user[256];
static int have_user;
static char me[256] = "pochta";
static char stamp[320];
static connlimit slot;                 /* held while the session lives */

static int env_fd(char const *name)
{
  char const *s = getenv(name);
  char *end;
  if (!s || !*s) return -1;
  long v = strtol(s, &end, 10);
  if (*end || v < 0 || v > 65535) return -1;
  return (int)v;
}

static int remote_is_loopback(void)
{
  char const *ip = getenv("TCPREMOTEIP");
  if (!ip) return 0;
  return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncasecmp(ip, "::ffff:127.", 11);
}

/* Passwords may cross the wire only encrypted, or on loopback when the
 * instance says so (tests, a local webmail). */
static int plain_allowed(void)
{
  return tls_on || (plain_loopback && remote_is_loopback());
}

/* Network programs run unprivileged: started as root, become the owner of
 * the Maildirs before reading a byte from the client. */
/* Before a login this process may read no mailbox: never root (prelogin.h). */
static void not_root(void)
{
  char const *why;
  if (prelogin_ok(&why)) return;
  log_event("fatal", "error", why, (char const *)0);
  (void)!write(1, "-ERR [SYS/TEMP] Server misconfigured\r\n", 38);
  _exit(EX_TEMP);
}

static void read_config(void)
{
  stralloc sa = STRALLOC_ZERO;
  if (conf_line(&sa, "plainauth") > 0 && !strcmp(sa.s, "loopback")) plain_loopback = 1;
  if (conf_line(&sa, "me") > 0 && sa.len && sa.len < sizeof me) memcpy(me, sa.s, sa.len + 1);
  stralloc_free(&sa);
  for (char *p = me; *p; p++) if ((unsigned char)*p <= 0x20 || *p == 0x7f) *p = '_';
  snprintf(stamp, sizeof stamp, "<%ld.%ld@%s>", (long)getpid(), (long)time(0), me);
}

static void capa(void)
{
  io_puts(&io, "+OK Capability list follows\r\n"
               "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
  if (plain_allowed()) io_puts(&io, "USER\r\nSASL PLAIN\r\n");
  if (ctlfd >= 0 && !tls_on) io_puts(&io, "STLS\r\n");
  io_puts(&io, "IMPLEMENTATION pochta\r\n.\r\n");
}

/* Read the engine's answer on the control fd: KEY=value\0 ... \0.
 * 1 handshake done (variables exported), 0 it failed. */
static int tls_answer(void)
{
  char buf[4096];
  size_t len = 0;
  for (;;) {
    if (len >= 2 && !buf[len-1] && !buf[len-2]) break;
    if (len == 1 && !buf[0]) break;           /* no variables at all */
    if (len == sizeof buf) return 0;
    struct pollfd p = { .fd = ctlfd, .events = POLLIN };
    int r = poll(&p, 1, (int)g_timeout * 1000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    ssize_t n = read(ctlfd, buf + len, sizeof buf - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    len += (size_t)n;
  }
  for (size_t i = 0; i < len && buf[i]; ) {
    char *kv = buf + i;
    size_t kl = strlen(kv);
    char *eq = strchr(kv, '=');
    if (eq && eq > kv) { *eq = 0; setenv(kv, eq + 1, 1); }
    i += kl + 1;
  }
  return 1;
}

static void stls(void)
{
  if (tls_on || ctlfd < 0 || tls_rfd < 0 || tls_wfd < 0) { io_puts(&io, "-ERR STLS not available\r\n"); return; }
  io_puts(&io, "+OK Begin TLS negotiation\r\n");
  io_flush(&io);
  if (write(ctlfd, "Y", 1) != 1 || !tls_answer()) log_event_exit("tls-failed");
  /* Whatever the client pipelined after STLS arrived in clear and is thrown
   * away unread (the STARTTLS injection class); so is any USER given. */
  io_switch(&io, tls_rfd, tls_wfd);
  close(ctlfd); ctlfd = -1;
  tls_on = tls_swapped = 1;
  have_user = 0;
  log_event("tls", "protocol", getenv("SSL_PROTOCOL"), "cipher", getenv("SSL_CIPHER"), (char const *)0);
}

/* Hand pipelined input to the post-login stage through the environment. */
static int export_pending(void)
{
  char const *s;
  size_t n = io_pending(&io, &s);
  static char hex[2 * sizeof io.rbuf + 1];
  static char const digits[] = "0123456789abcdef";
  if (!n) { unsetenv(POP3_PENDING_ENV); return 1; }
  for (size_t i = 0; i < n; i++) {
    hex[2*i] = digits[(unsigned char)s[i] >> 4];
    hex[2*i+1] = digits[(unsigned char)s[i] & 15];
  }
  hex[2*n] = 0;
  return setenv(POP3_PENDING_ENV, hex, 1) == 0;
}

static void child_exec(int pfd0, int okfd, char const *checkpw)
{
  char tbuf[32];
  /* out of the way of 0, 1 and 3 before they are filled */
  if (waiter_okfd_pass(okfd, POP3_OKFD_ENV) < 0) _exit(EX_TEMP);
  if (tls_swapped) {
    if (dup2(tls_rfd, 0) < 0 || dup2(tls_wfd, 1) < 0) _exit(EX_TEMP);
  }
  if (pfd0 != 3) { if (dup2(pfd0, 3) < 0) _exit(EX_TEMP); }
  else if (fcntl(3, F_SETFD, 0) < 0) _exit(EX_TEMP);
  if (ctlfd >= 0 && ctlfd != 3) close(ctlfd);
  if (tls_swapped) {
    if (tls_rfd > 3) close(tls_rfd);
    if (tls_wfd > 3) close(tls_wfd);
  }
  unsetenv("SSLCTLFD"); unsetenv("SSLREADFD"); unsetenv("SSLWRITEFD");
  snprintf(tbuf, sizeof tbuf, "%u", g_timeout);
  char const *argv[] = { checkpw, g_prog, "-m", "-t", tbuf, 0 };
  execvp(checkpw, (char *const *)argv);
  log_event("fatal", "error", "cannot run the checkpassword program", "prog", checkpw, (char const *)0);
  _exit(EX_TEMP);
}

/* The session runs in our child now (see waiter.h); if pochta-wait cannot
 * be run, we wait here as before. pochta-wait holds our connection slot. */
static void become_waiter(void)
{
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = 0;
  if (connlimit_keep_on_exec(&slot) < 0) return;
  waiter_exec(self);
}

/* The service's connection slots (lib/connlimit.h): a full server answers at
 * once instead of leaving clients in the listen backlog. Returns only to serve. */
static void limit(void)
{
  char const *why;
  int r = connlimit_enter(&slot, "pop3", getenv("TCPREMOTEIP"), 0, &why);
  if (why) log_event(r == CONNLIMIT_FAULT ? "error" : "warning", "error", why, (char const *)0);
  if (r == CONNLIMIT_OK) return;
  io_init(&io, 0, 1, g_timeout);
  io_puts(&io, r == CONNLIMIT_FAULT ? "-ERR [SYS/TEMP] Configuration fault, try again later\r\n"
               : r == CONNLIMIT_FULL ? "-ERR [SYS/TEMP] Too many connections, try again later\r\n"
               : "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n");
  io_flush(&io);
  log_event("connlimit", "result", r == CONNLIMIT_FULL ? "full" : r == CONNLIMIT_SOURCE_FULL ? "source-full" : "fault",
            (char const *)0);
  _exit(r == CONNLIMIT_FAULT ? EX_TEMP : 0);
}

/* Try a login. Returns only if it failed (the reply has been written). */
static void login(char const *u, char const *pass, unsigned *authfail)
{
  char data[512];
  size_t ul = strlen(u), pl = strlen(pass), sl = strlen(stamp);
  char const *checkpw = getenv("POCHTA_CHECKPASSWORD");
  if (!checkpw || !*checkpw) checkpw = "pochta-checkpassword";
  have_user = 0;
  if (ul + pl + sl + 3 > sizeof data) {
    log_event("auth-fail", "login", u, "reason", "too long", (char const *)0);
    io_puts(&io, "-ERR [AUTH] Invalid user name or password\r\n");
    ++*authfail;
    return;
  }
  memcpy(data, u, ul + 1);
  memcpy(data + ul + 1, pass, pl + 1);
  memcpy(data + ul + pl + 2, stamp, sl + 1);
  size_t dlen = ul + pl + sl + 3;

  if (!export_pending()) { io_puts(&io, "-ERR [SYS/TEMP] Out of memory\r\n"); return; }
  io_flush(&io);
  int pfd[2], okp[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) { io_puts(&io, "-ERR [SYS/TEMP] Cannot check the password now\r\n"); return; }
  if (pipe2(okp, O_CLOEXEC) < 0) {
    close(pfd[0]); close(pfd[1]);
    io_puts(&io, "-ERR [SYS/TEMP] Cannot check the password now\r\n");
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]); close(pfd[1]); close(okp[0]); close(okp[1]);
    io_puts(&io, "-ERR [SYS/TEMP] Cannot check the password now\r\n");
    return;
  }
  if (!pid) { close(pfd[1]); close(okp[0]); child_exec(pfd[0], okp[1], checkpw); }
  close(pfd[0]); close(okp[1]);
  /* 512 octets fit in any pipe buffer: this write cannot block. */
  ssize_t w = write(pfd[1], data, dlen);
  explicit_bzero(data, sizeof data);
  close(pfd[1]);
  (void)w;
  /* One octet: the session took the mailbox and runs. End of file: the login
   * failed (or the mailbox is in use); the exit code says which. */
  char ok;
  ssize_t r;
  do r = read(okp[0], &ok, 1); while (r < 0 && errno == EINTR);
  close(okp[0]);
  if (r == 1) become_waiter();
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) log_event_exit("wait-failed");
  }
  unsetenv(POP3_PENDING_ENV);
  if (WIFSIGNALED(status)) {
    char sig[16];
    snprintf(sig, sizeof sig, "%d", WTERMSIG(status));
    log_event("session-killed", "login", u, "signal", sig, (char const *)0);
    _exit(0);
  }
  switch (WEXITSTATUS(status)) {
    case POP3_X_DONE:
      _exit(0);                         /* the session ran and is over */
    case 1:
      log_event("auth-fail", "login", u, (char const *)0);
      io_puts(&io, "-ERR [AUTH] Invalid user name or password\r\n");
      ++*authfail;
      return;
    case POP3_X_INUSE:
      io_puts(&io, "-ERR [IN-USE] Mailbox is in use by another POP3 session\r\n");
      return;
    case 2:
      log_event("auth-error", "login", u, "reason", "checkpassword misuse", (char const *)0);
      io_puts(&io, "-ERR [SYS/PERM] Authentication is misconfigured\r\n");
      return;
    default:
      log_event("auth-error", "login", u, "reason", "temporary failure", (char const *)0);
      io_puts(&io, "-ERR [SYS/TEMP] Temporary failure, try again later\r\n");
      return;
  }
}

/* AUTH PLAIN, with or without initial response (RFC 5034). */
static void auth(pop3_cmd const *c, char *line, unsigned *authfail)
{
  static char dec[IO_LINEMAX];
  char const *resp;
  size_t resplen, len;
  char const *u, *p;

  if (c->argc == 0) { io_puts(&io, "+OK\r\nPLAIN\r\n.\r\n"); return; }
  if (c->arglen[0] != 5 || strncasecmp(c->arg[0], "PLAIN", 5)) { io_puts(&io, "-ERR Unsupported authentication mechanism\r\n"); return; }
  if (c->argc > 2) { io_puts(&io, "-ERR Syntax error\r\n"); return; }
  if (!plain_allowed()) { io_puts(&io, "-ERR [AUTH] Plaintext authentication is disallowed without TLS: use STLS\r\n"); return; }
  if (c->argc == 2) { resp = c->arg[1]; resplen = c->arglen[1]; }
  else {
    io_puts(&io, "+ \r\n");
    int r = io_getline(&io, line, &len);
    if (r == 0) log_event_exit("disconnect");
    if (r == -1) log_event_exit(errno == ETIMEDOUT ? "timeout" : "read-error");
    if (r == -2) { io_puts(&io, "-ERR Line too long\r\n"); return; }
    resp = line; resplen = len;
  }
  if (resplen == 1 && resp[0] == '*') { io_puts(&io, "-ERR Authentication cancelled\r\n"); return; }
  long n = resplen == 1 && resp[0] == '=' ? 0 : base64_decode(dec, sizeof dec - 1, resp, resplen);
  if (n < 0) { io_puts(&io, "-ERR Malformed AUTH PLAIN response (base64)\r\n"); ++*authfail; return; }
  if (!plain_split(dec, (size_t)n, &u, &p)) {
    explicit_bzero(dec, sizeof dec);
    io_puts(&io, "-ERR [AUTH] Malformed or unauthorized AUTH PLAIN credentials\r\n");
    ++*authfail;
    return;
  }
  login(u, p, authfail);
  explicit_bzero(dec, sizeof dec);
}

int auth_main(char const *prog, unsigned timeout)
{
  static char line[IO_LINEMAX + 1];
  size_t len;
  unsigned errors = 0, authfail = 0;
  pop3_cmd c;

  g_prog = prog;
  g_timeout = timeout;
  not_root();
  read_config();
  limit();
  tls_on = getenv("SSL_PROTOCOL") != 0;
  ctlfd = env_fd("SSLCTLFD");
  tls_rfd = env_fd("SSLREADFD");
  tls_wfd = env_fd("SSLWRITEFD");
  io_init(&io, 0, 1, timeout);
  log_event("connect", "tls", tls_on ? "yes" : "no", (char const *)0);
  io_puts(&io, "+OK ");
  io_puts(&io, me);
  io_puts(&io, " POP3 server ready\r\n");

  for (;;) {
    if (errors >= MAX_ERRORS || authfail >= MAX_AUTHFAIL) {
      io_puts(&io, "-ERR Too many errors, closing connection\r\n");
      io_flush(&io);
      log_event_exit("too-many-errors");
    }
    int r = io_getline(&io, line, &len);
    if (r == 0) log_event_exit("disconnect");
    if (r == -1) log_event_exit(errno == ETIMEDOUT ? "timeout" : "read-error");
    if (r == -2) { io_puts(&io, "-ERR Line too long\r\n"); errors++; continue; }
    if (!cmd_parse(line, len, &c)) { io_puts(&io, "-ERR Invalid characters in command\r\n"); errors++; continue; }
    switch (c.verb) {
      case V_CAPA: capa(); break;
      case V_NOOP: io_puts(&io, "+OK\r\n"); break;
      case V_QUIT:
        io_puts(&io, "+OK Bye\r\n");
        io_flush(&io);
        log_event_exit("quit");
      case V_STLS:
        if (c.argc) { io_puts(&io, "-ERR Syntax error\r\n"); errors++; break; }
        stls();
        break;
      case V_USER:
        if (!plain_allowed()) { io_puts(&io, "-ERR [AUTH] Plaintext authentication is disallowed without TLS: use STLS\r\n"); errors++; break; }
        if (!c.restlen || c.restlen >= sizeof user || memchr(c.rest, ' ', c.restlen)) { io_puts(&io, "-ERR Syntax error\r\n"); errors++; break; }
        memcpy(user, c.rest, c.restlen);
        user[c.restlen] = 0;
        have_user = 1;
        io_puts(&io, "+OK Send your password\r\n");
        break;
      case V_PASS:
        if (!have_user) { io_puts(&io, "-ERR Send USER first\r\n"); errors++; break; }
        if (!c.restlen) { io_puts(&io, "-ERR Syntax error\r\n"); have_user = 0; errors++; break; }
        {
          char pass[IO_LINEMAX + 1];
          memcpy(pass, c.rest, c.restlen);
          pass[c.restlen] = 0;
          explicit_bzero(line, sizeof line);
          login(user, pass, &authfail);
          explicit_bzero(pass, sizeof pass);
        }
        break;
      case V_AUTH:
        auth(&c, line, &authfail);
        explicit_bzero(line, sizeof line);
        break;
      case V_APOP:
        io_puts(&io, "-ERR APOP is not supported\r\n"); errors++; break;
      case V_STAT: case V_LIST: case V_RETR: case V_DELE: case V_RSET: case V_TOP: case V_UIDL:
        io_puts(&io, "-ERR Not logged in\r\n"); errors++; break;
      default:
        io_puts(&io, "-ERR Unknown command\r\n"); errors++; break;
    }
  }
}
