/* pochta-smtpd [-s] [-t SECONDS]: one ESMTP session on fd 0/1, as run by
 * tcpserver or a systemd socket. -s: submission (AUTH before MAIL). -t: idle
 * timeout (default 300). Reads the instance in $POCHTA_CONF; see pochta-smtpd(8). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "connenv.h"
#include "connlimit.h"
#include "hold.h"
#include "inqueue.h"
#include "real.h"
#include "smtpd.h"

static smtpd S;   /* static: the buffers need not sit on the stack */

static int fdenv(char const *name)
{
  char const *v = getenv(name);
  char *end;
  long n;
  if (!v || !*v) return -1;
  n = strtol(v, &end, 10);
  if (*end || n < 0 || n > 1000000) return -1;
  return (int)n;
}

static int loopback(char const *ip)
{
  if (!ip) return 0;
  return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncmp(ip, "::ffff:127.", 11);
}

/* The service's connection slots (lib/connlimit.h): a full server says so at
 * once instead of leaving clients in the listen backlog. Clients allowed to
 * relay (RELAYCLIENT, as Postfix's mynetworks) are not limited per source.
 * CONNLIMIT_OK: serve; anything else: refused (the reply is written). */
static int limit(smtpd *s)
{
  static connlimit cl;   /* its descriptor holds the slot while we run */
  char const *why;
  int r = connlimit_enter(&cl, s->submission ? "submission" : "smtp", s->remoteip,
                          s->relayclient ? CONNLIMIT_NOSOURCE : 0, &why);
  if (why) slog(s, r == CONNLIMIT_FAULT ? "error" : "warning", "what", why, (char *)0);
  if (r == CONNLIMIT_OK) return r;
  slog(s, "connlimit", "ip", s->remoteip,
       "result", r == CONNLIMIT_FULL ? "full" : r == CONNLIMIT_SOURCE_FULL ? "source-full" : "fault", (char *)0);
  if (r == CONNLIMIT_FAULT) io_puts(&s->io, "421 4.3.0 ");
  else io_puts(&s->io, "421 4.7.0 ");
  io_puts(&s->io, s->me);
  io_puts(&s->io, r == CONNLIMIT_FAULT ? " Error: configuration fault, try again later\r\n"
                  : r == CONNLIMIT_FULL ? " Error: too many connections, try again later\r\n"
                  : " Error: too many connections from your address, try again later\r\n");
  io_flush(&s->io);
  return r;
}

static void usage(void)
{
  static char const m[] = "usage: pochta-smtpd [-s] [-t seconds]\n";
  if (write(2, m, sizeof m - 1) < 0) { }
  _exit(100);
}

int main(int argc, char **argv)
{
  static stralloc me = STRALLOC_ZERO, pa = STRALLOC_ZERO;
  unsigned long timeout = TIMEOUT_DEFAULT;
  unsigned char rnd[8];
  int opt, i;
  smtpd *s = &S;

  {
    /* The queue is written in-process unless a filter chain is named
     * (POCHTA_QUEUE, QMAILQUEUE: the enqueue interface, see real.c). */
    static hooks h;
    char const *q = getenv("POCHTA_QUEUE"), *qq = getenv("QMAILQUEUE");
    h = real_hooks;
    hold_hooks(&h);
    if ((!q || !*q) && (!qq || !*qq)) {
      /* the queue's directory becomes our working directory: a relative
       * POCHTA_CONF (ours, and the children's) must not depend on it */
      char const *c = getenv("POCHTA_CONF");
      char abs[4096];
      if (c && *c && *c != '/' && realpath(c, abs)) setenv("POCHTA_CONF", abs, 1);
      inqueue_hooks(&h);
      if (inqueue_enter()) hold_in_queue("tmp");   /* messages held on the queue's disk */
    }
    smtpd_init(s, &h);
  }
  while ((opt = getopt(argc, argv, "st:")) != -1) {
    char *end;
    switch (opt) {
    case 's': s->submission = 1; break;
    case 't': timeout = strtoul(optarg, &end, 10); if (*end || !*optarg || timeout > 86400) usage(); break;
    default: usage();
    }
  }
  signal(SIGPIPE, SIG_IGN);   /* a dead enqueue program is an exit code, not a signal */
  if (setenv("POCHTA_QIDFD", "3", 1) < 0) _exit(111);

  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
    pid_t p = getpid();
    memcpy(rnd, &p, sizeof p < sizeof rnd ? sizeof p : sizeof rnd);
  }
  for (i = 0; i < 8; i++) {
    s->sid[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
    s->sid[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
  }
  s->sid[16] = 0;

  {
    /* Replies are whole and flushed once per read: no reason for Nagle to hold
     * one back waiting for an ACK. Harmless if fd 1 is not a TCP socket. */
    int one = 1;
    setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  s->io.rfd = 0;
  s->io.wfd = 1;
  s->io.timeout = (unsigned)timeout;
  s->io.rd = io_fd_read;
  s->io.wr = io_fd_write;
  io_nonblock(1);
  {
    unsigned long rate;
    if (conf_ulong(&rate, "mindatarate", MINRATE_DEFAULT) < 0 || rate > 1000000000UL) {
      slog(s, "error", "what", "mindatarate is not a number of octets per second; the default is used", (char *)0);
      rate = MINRATE_DEFAULT;
    }
    s->io.minrate = (unsigned)rate;
  }

  if (conf_line(&me, "me") > 0 && me.len) s->me = me.s;
  else {
    static char host[256];
    if (!gethostname(host, sizeof host - 1) && host[0]) s->me = host;
  }
  for (char const *p = s->me; *p; p++)   /* it goes into every reply and header */
    if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127) { s->me = "localhost"; break; }
  if (conf_ulong(&s->databytes, "databytes", DATABYTES_DEFAULT) < 0) s->databytes = DATABYTES_DEFAULT;
  connenv_init();   /* systemd's REMOTE_ADDR becomes TCPREMOTEIP too */
  s->remoteip = connenv_remote();
  s->remotehost = getenv("TCPREMOTEHOST");
  s->relayclient = getenv("RELAYCLIENT") != 0;
  s->plainauth = conf_line(&pa, "plainauth") > 0 && !strcmp(pa.s, "loopback") && loopback(s->remoteip);

  tls_ctlfd = fdenv("SSLCTLFD");
  tls_rfd = fdenv("SSLREADFD");
  tls_wfd = fdenv("SSLWRITEFD");
  s->cantls = tls_ctlfd >= 0 && tls_rfd >= 0 && tls_wfd >= 0;
  if (getenv("SSL_PROTOCOL") && !s->cantls) s->tls = 1;

  switch (limit(s)) {
  case CONNLIMIT_OK: break;
  case CONNLIMIT_FAULT: return 111;
  default: return 0;
  }
  if (users_open(&s->u) < 0) {
    /* A configuration fault is ours, never the sender's: 421, not 5xx. */
    slog(s, "error", "what", "cannot use users.cdb", "conf", conf_dir(), "error", users_why(errno), (char *)0);
    if (write(1, "421 4.3.0 Service temporarily unavailable\r\n", 43) < 0) { }
    return 111;
  }
  smtpd_run(s);
  return 0;
}
