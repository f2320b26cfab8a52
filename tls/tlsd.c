/* pochta-tlsd [-i] [-t seconds] [-w seconds] [-u user] [-e user] PROG...: the TLS
 * engine between the socket (fd 0/1) and a protocol daemon, UCSPI-TLS style
 * (doc/CONTRACTS.md, pochta-tlsd(8)).
 *
 * The daemon is forked first and exec'ed in the child; only afterwards does this
 * process (the engine) read the private key, so no daemon process ever held it.
 * Started as root (by tcpserver or a systemd unit), the child becomes the daemon's
 * account (-u) and the engine its own (-e) right after the fork: two accounts, so
 * that the daemon can neither read the key file nor look into the engine.
 *   STARTTLS mode: the daemon talks in clear on fd 0/1 and gets SSLCTLFD, SSLREADFD,
 *     SSLWRITEFD. On 'Y' on the control socket we do the handshake on fd 0/1, answer
 *     KEY=value\0...\0 (or close the control socket on failure) and relay.
 *   -i (implicit TLS): the child waits for the same KEY=value block on a pipe, puts
 *     it in its environment and execs the daemon with fd 0/1 on the plaintext pipes,
 *     after our handshake succeeded; on failure it exits without running the daemon. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/wait.h>

#include <bearssl.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>

#include "account.h"
#include "conf.h"
#include "connenv.h"
#include "tlsd_creds.h"
#include "tlsd_io.h"
#include "tlsnames.h"
#include "fdwrite.h"

#define USAGE "pochta-tlsd [-i] [-t seconds] [-w seconds] [-u daemon-user] [-e engine-user] prog..."
#define ENVMAX 1024 /* the KEY=value block: protocol, cipher, SNI (at most 255) */

char const *PROG = "pochta-tlsd";

/* One log line, written at once so lines of parallel sessions never mix. */
static void logline(char const *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(char const *fmt, ...)
{
  char buf[600];
  char const *ip = getenv("TCPREMOTEIP");
  int n = snprintf(buf, sizeof buf, "pochta-tlsd: pid=%ld remote=%s ", (long)getpid(),
                   ip && *ip ? ip : "-");
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof buf) n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf - 1) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(2, buf, (size_t)n);
  (void)w;
}

/* Quote a value for a key=value log line if it needs it. */
static char const *q(char const *s, char *buf, size_t len)
{
  if (*s && !strpbrk(s, " \t\"")) return s;
  snprintf(buf, len, "\"%s\"", s);
  for (char *p = buf + 1; *p && p[1]; p++) if (*p == '"') *p = '\'';
  return buf;
}

/* The SNI name as a safe printable string: a host name of lowercase letters,
 * digits, '-' and '_', labels of 1 to 63 octets, at most 253 in all (it goes into
 * the daemon's environment and our log). "" if absent or not such a name. */
static void clean_sni(char const *in, char *out, size_t len)
{
  size_t i = 0, label = 0;
  out[0] = 0;
  if (!in || !*in) return;
  for (; in[i]; i++) {
    char c = in[i];
    if (i >= 253 || i + 1 >= len) goto bad;
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if (c == '.') {
      if (!label) goto bad;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      if (++label > 63) goto bad;
    } else goto bad;
    out[i] = c;
  }
  out[i] = 0;
  return;
bad:
  out[0] = 0;
}

/* Wait for the daemon and exit as it did. */
static void __attribute__((noreturn)) finish(pid_t pid)
{
  int wstat;
  while (waitpid(pid, &wstat, 0) < 0) {
    if (errno != EINTR) _exit(111);
  }
  _exit(WIFEXITED(wstat) ? WEXITSTATUS(wstat) : 111);
}

/* Child, -i mode: read the KEY=value block from fd, set it in the environment.
 * Returns 0 ok, -1 (EOF before the end: the engine's handshake failed). */
static int child_env(int fd)
{
  char buf[ENVMAX];
  size_t n = 0;
  for (;;) {
    if (n == sizeof buf) return -1;
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (!r) break;
    n += (size_t)r;
  }
  /* KEY=value\0 ... KEY=value\0 \0: the block ends with an empty string, last */
  if (!n || buf[n-1]) return -1;
  size_t i = 0;
  while (buf[i]) {
    size_t len = strlen(buf + i);
    if (i + len + 1 >= n) return -1; /* no final empty string */
    char *eq = memchr(buf + i, '=', len);
    if (!eq || eq == buf + i) return -1;
    *eq = 0;
    if (setenv(buf + i, eq + 1, 1) < 0) return -1;
    i += len + 1;
  }
  if (i != n - 1) return -1;
  return 0;
}

/* The KEY=value\0...\0 block that tells the daemon about the session. */
static size_t make_env(br_ssl_engine_context *eng, char *buf, size_t len,
                       char const **proto, char const **cipher, char *sni, size_t snilen)
{
  br_ssl_session_parameters sp;
  br_ssl_engine_get_session_parameters(eng, &sp);
  *proto = tls_version_name(sp.version);
  *cipher = tls_suite_name(sp.cipher_suite);
  clean_sni(br_ssl_engine_get_server_name(eng), sni, snilen);
  int n;
  if (*sni)
    n = snprintf(buf, len, "SSL_PROTOCOL=%s%cSSL_CIPHER=%s%cSSL_TLS_SNI_SERVERNAME=%s%c",
                 *proto, 0, *cipher, 0, sni, 0);
  else
    n = snprintf(buf, len, "SSL_PROTOCOL=%s%cSSL_CIPHER=%s%c", *proto, 0, *cipher, 0);
  if (n < 0 || (size_t)n + 1 >= len) return 0;
  buf[n] = 0; /* the final empty string */
  return (size_t)n + 1;
}

/* Mark an fd close-on-exec or not; dies on error. */
static void coe(int fd, int on)
{
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fcntl(fd, F_SETFD, on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC) < 0)
    strerr_diefu1sys(111, "fcntl");
}

/* A number of seconds, 1 to 86400; dies with the usage otherwise. */
static unsigned long seconds(char const *arg)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul(arg, &end, 10);
  if (errno || *end || !*arg || !v || v > 86400) strerr_dieusage(100, USAGE);
  return v;
}

/* The account named by an option, looked up before anything else happens. */
static void need_account(account *a, char const *name)
{
  int r = account_lookup(a, name);
  if (r < 0) strerr_diefu1sys(111, "read /etc/passwd or /etc/group");
  if (!r) strerr_dief2x(111, "no such account: ", name);
}

/* Become a (if given); as root without one, stay root (a test instance). */
static void become(account const *a, int given, char const *what)
{
  if (!given) return;
  if (geteuid() && geteuid() == a->uid) return;   /* started as it already */
  if (!account_become(a)) strerr_diefu2sys(111, "become the account of the ", what);
}

/* STARTTLS mode: start the daemon with the SSL variables naming its ends (the
 * engine's ends are close-on-exec). A vfork: the daemon needs nothing of this
 * process but its descriptors, and copying the page tables only for the exec to
 * throw them away cost a tenth of a plaintext message's CPU on the virtual
 * machines pochta is measured on. So the child touches no memory of ours: its environment
 * is made here first, and it only switches accounts and execs, or _exits. */
#define SPAWN_ENVMAX 256
static char **daemon_env(int ctlfd, int readfd, int writefd)
{
  extern char **environ;
  static char *envp[SPAWN_ENVMAX + 4];
  static char vars[3][32];
  size_t n = 0;
  for (char **e = environ; *e; e++) {
    static char const *const drop[] = { "SSL_PROTOCOL=", "SSL_CIPHER=", "SSL_TLS_SNI_SERVERNAME=",
                                        "SSLCTLFD=", "SSLREADFD=", "SSLWRITEFD=" };
    size_t k;
    for (k = 0; k < sizeof drop / sizeof *drop; k++) if (!strncmp(*e, drop[k], strlen(drop[k]))) break;
    if (k < sizeof drop / sizeof *drop) continue;
    if (n == SPAWN_ENVMAX) strerr_dief1x(111, "environment too large");
    envp[n++] = *e;
  }
  snprintf(vars[0], sizeof vars[0], "SSLCTLFD=%d", ctlfd);
  snprintf(vars[1], sizeof vars[1], "SSLREADFD=%d", readfd);
  snprintf(vars[2], sizeof vars[2], "SSLWRITEFD=%d", writefd);
  envp[n++] = vars[0]; envp[n++] = vars[1]; envp[n++] = vars[2];
  envp[n] = 0;
  return envp;
}

/* as: the account to become, or NULL to stay. */
static pid_t spawn_daemon(char const *const *argv, account const *as, char **envp)
{
  pid_t pid = vfork();
  if (pid < 0) strerr_diefu1sys(111, "vfork");
  if (!pid) {
    static char const fail_become[] = "pochta-tlsd: fatal: unable to become the account of the daemon\n";
    static char const fail_exec[] = "pochta-tlsd: fatal: unable to exec the daemon\n";
    if (as && !account_become(as)) {
      if (write(2, fail_become, sizeof fail_become - 1) < 0) { /* nothing left to tell */ }
      _exit(111);
    }
    execvpe(argv[0], (char *const *)argv, envp);
    if (write(2, fail_exec, sizeof fail_exec - 1) < 0) { /* nothing left to tell */ }
    _exit(111);
  }
  return pid;
}

int main(int argc, char const *const *argv)
{
  int implicit = 0, have_daemon = 0, have_engine = 0;
  account daemon_acct, engine_acct;
  unsigned long timeout = 30, wtimeout = 60;
  subgetopt l = SUBGETOPT_ZERO;
  connenv_init();   /* TCPREMOTEIP for us and the daemon, under systemd too */
  for (;;) {
    int opt = subgetopt_r(argc, argv, "it:w:u:e:", &l);
    if (opt == -1) break;
    switch (opt) {
      case 'i': implicit = 1; break;
      case 'u': need_account(&daemon_acct, l.arg); have_daemon = 1; break;
      case 'e': need_account(&engine_acct, l.arg); have_engine = 1; break;
      case 't': timeout = seconds(l.arg); break;
      case 'w': wtimeout = seconds(l.arg); break;
      default: strerr_dieusage(100, USAGE);
    }
  }
  argc -= l.ind; argv += l.ind;
  if (!argc) strerr_dieusage(100, USAGE);
  if (!geteuid() && (!have_daemon || !have_engine))
    logline("event=warning what=\"started as root without -u and -e: the daemon or the engine keeps root (a test instance only)\"");

  char certfile[4096], keyfile[4096];
  if (!conf_path(certfile, sizeof certfile, "tls/cert.pem")
      || !conf_path(keyfile, sizeof keyfile, "tls/key.pem"))
    strerr_dief1x(100, "configuration path too long");

  /* STARTTLS mode without a certificate: run the daemon without the SSL variables,
   * so that it offers no STARTTLS instead of one that must fail. */
  if (!implicit && access(certfile, R_OK) < 0) {
    logline("event=notls reason=\"cert.pem: %s\"", strerror(errno));
    unsetenv("SSLCTLFD"); unsetenv("SSLREADFD"); unsetenv("SSLWRITEFD");
    become(&daemon_acct, have_daemon, "daemon");
    execvp(argv[0], (char *const *)argv);
    strerr_dieexec(111, argv[0]);
  }

  /* fds 0, 1, 2 are taken (socket, socket, log), so these are all >= 3 */
  int ctl[2], toapp[2], fromapp[2];
  if (pipe(toapp) < 0 || pipe(fromapp) < 0) strerr_diefu1sys(111, "pipe");
  if (implicit) {
    /* ctl[0] is always the engine's end: here the pipe's write end */
    int p[2];
    if (pipe(p) < 0) strerr_diefu1sys(111, "pipe");
    ctl[0] = p[1]; ctl[1] = p[0];
  }
  else if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) < 0) strerr_diefu1sys(111, "socketpair");
  /* engine's ends never reach the daemon */
  coe(toapp[1], 1); coe(fromapp[0], 1); coe(ctl[0], 1);

  pid_t pid;
  if (!implicit) {
    int stay = !have_daemon || (geteuid() && geteuid() == daemon_acct.uid);   /* as become() */
    pid = spawn_daemon(argv, stay ? 0 : &daemon_acct, daemon_env(ctl[1], toapp[0], fromapp[1]));
  }
  else {
    pid = fork();
    if (pid < 0) strerr_diefu1sys(111, "fork");
    if (!pid) {
      become(&daemon_acct, have_daemon, "daemon");
      close(toapp[1]); close(fromapp[0]); close(ctl[0]);
      unsetenv("SSL_PROTOCOL"); unsetenv("SSL_CIPHER"); unsetenv("SSL_TLS_SNI_SERVERNAME");
      if (child_env(ctl[1]) < 0) _exit(111); /* the engine logged why */
      close(ctl[1]);
      if (dup2(toapp[0], 0) < 0 || dup2(fromapp[1], 1) < 0) strerr_diefu1sys(111, "dup2");
      close(toapp[0]); close(fromapp[1]);
      unsetenv("SSLCTLFD"); unsetenv("SSLREADFD"); unsetenv("SSLWRITEFD");
      execvp(argv[0], (char *const *)argv);
      strerr_dieexec(111, argv[0]);
    }
  }
  close(toapp[0]); close(fromapp[1]); close(ctl[1]);
  become(&engine_acct, have_engine, "engine");
  /* a daemon that went away must not kill us with SIGPIPE: we see EPIPE */
  signal(SIGPIPE, SIG_IGN);

  if (!implicit) {
    /* wait for the daemon's 'Y'; EOF: it ended without STARTTLS */
    char c;
    for (;;) {
      ssize_t r = read(ctl[0], &c, 1);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) finish(pid);
      if (c == 'Y') break;
      logline("event=handshake result=fail reason=\"unknown control byte\"");
      close(ctl[0]);
      finish(pid);
    }
  }

  /* A handshake flight is several records written one by one: without NODELAY,
   * Nagle's algorithm and the peer's delayed ACK hold each flight ~40 ms. Not a
   * TCP socket (tests, pipes): nothing to do. */
  {
    int one = 1;
    setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  /* Only now, in the engine, read the key. */
  static tlsd_creds creds;
  static br_ssl_server_context sc;
  static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
  char const *why;
  char qb[200];
  if (tlsd_creds_load(&creds, certfile, keyfile, &why) < 0
      || tlsd_server_init(&sc, &creds, iobuf, sizeof iobuf, &why) < 0
      || tlsd_handshake(&sc.eng, 0, 1, (unsigned int)timeout * 1000, &why) < 0) {
    logline("event=handshake result=fail mode=%s reason=%s", implicit ? "implicit" : "starttls",
            q(why, qb, sizeof qb));
    tlsd_creds_free(&creds);
    explicit_bzero(&sc, sizeof sc);
    close(ctl[0]); /* EOF: the daemon gives up (or, -i, never starts) */
    shutdown(1, SHUT_WR);
    finish(pid);
  }
  /* the handshake is done and renegotiation is refused: the key is no longer needed */
  explicit_bzero(&creds.key, sizeof creds.key);
  char envb[ENVMAX], sni[256];
  char const *proto, *cipher;
  size_t envlen = make_env(&sc.eng, envb, sizeof envb, &proto, &cipher, sni, sizeof sni);
  if (!envlen || !fd_write_all(ctl[0], envb, envlen)) {
    logline("event=handshake result=fail reason=\"daemon gone\"");
    close(ctl[0]);
    shutdown(1, SHUT_WR);
    finish(pid);
  }
  close(ctl[0]);
  logline("event=handshake result=ok mode=%s protocol=%s cipher=%s sni=%s",
          implicit ? "implicit" : "starttls", proto, cipher, *sni ? sni : "-");
  if (tlsd_relay(&sc.eng, 0, 1, fromapp[0], toapp[1], (unsigned int)wtimeout * 1000, &why) < 0)
    logline("event=close result=fail reason=%s", q(why, qb, sizeof qb));
  tlsd_creds_free(&creds);
  explicit_bzero(&sc, sizeof sc);
  finish(pid);
}
