/* pochta-imapd: IMAP4rev1/IMAP4rev2 server over Maildir++, one process per
 * connection under tcpserver or a systemd socket (Accept=yes).
 *   pochta-imapd        the pre-login session (greeting, CAPABILITY, STARTTLS,
 *                       LOGIN, AUTHENTICATE); see login.c for the hand-over
 *   pochta-imapd -P     the post-login session, run by the checkpassword program
 *   -t N, -T N          idle timeouts before (120 s) and after login (1800 s)
 * Exit codes: 0 session ended, 100 usage, 111 temporary failure. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "connenv.h"
#include "connlimit.h"
#include "imapd.h"
#include "io.h"
#include "prelogin.h"
#include "waiter.h"

extern char self_path[4096];

char const *const special_use[5][2] = {
  { "Sent", "\\Sent" }, { "Drafts", "\\Drafts" }, { "Junk", "\\Junk" },
  { "Trash", "\\Trash" }, { "Archive", "\\Archive" },
};

static int loopback(char const *ip)
{
  return ip && (!strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncmp(ip, "::ffff:127.", 11));
}

static void serve(void)
{
  stralloc cmd = STRALLOC_ZERO;
  for (;;) {
    int r = cmd_read(&cmd);
    if (r == 0) break;
    if (r == -2) {
      if (io_timed_out) logf_("event=timeout user=%s", getenv("USER") && S.postlogin ? getenv("USER") : "-");
      io_puts(io_timed_out ? "* BYE Autologout; too slow\r\n" : "* BYE Connection closed\r\n");
      break;
    }
    if (r == -1) continue;
    if (r == -3) break;
    if (!cmd_run(&cmd)) break;
  }
  io_flush();
  spool_clear();
}

static void common_init(void)
{
  signal(SIGPIPE, SIG_IGN);
  unsigned long db;
  if (conf_ulong(&db, "databytes", 26214400) < 0) db = 26214400;
  S.databytes = db;
  char const *ssl = getenv("SSL_PROTOCOL");
  char const *ctl = getenv("SSLCTLFD");
  S.tls = ssl && *ssl && !(ctl && *ctl);
  S.starttls_ok = ctl && *ctl && getenv("SSLREADFD") && getenv("SSLWRITEFD");
}

static int hexv(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

void postlogin_main(void)
{
  char const *v;
  if ((v = getenv("IMAPD_INFD"))) io_infd = atoi(v);
  if ((v = getenv("IMAPD_OUTFD"))) io_outfd = atoi(v);
  waiter_okfd_signal("IMAPD_OKFD");
  S.tls = (v = getenv("IMAPD_TLS")) && *v == '1';
  if (!S.tls) { char const *ssl = getenv("SSL_PROTOCOL"); S.tls = ssl && *ssl; }
  if ((v = getenv("IMAPD_PENDING"))) {
    size_t n = strlen(v) / 2;
    char *b = malloc(n + 1);
    if (b) {
      for (size_t i = 0; i < n; i++) b[i] = (char)(hexv(v[2*i]) << 4 | hexv(v[2*i+1]));
      io_unread(b, n);
      free(b);
    }
  }
  char const *tag = getenv("IMAPD_TAG"); if (!tag) tag = "*";
  char const *cmdname = getenv("IMAPD_CMD"); if (!cmdname) cmdname = "LOGIN";
  char const *md = getenv("MAILDIR");
  char const *user = getenv("USER");
  char buf[4200];
  if (!md || !*md) {
    char const *home = getenv("HOME");
    if (!home || !*home) { io_puts(tag); io_puts(" NO [UNAVAILABLE] No mailbox\r\n"); io_flush(); _exit(111); }
    snprintf(buf, sizeof buf, "%s/Maildir", home);
    md = buf;
  }
  if (strlen(md) >= sizeof S.root - 300) { io_puts(tag); io_puts(" NO [UNAVAILABLE] Mailbox path too long\r\n"); io_flush(); _exit(111); }
  strcpy(S.root, md);
  if (maildir_make(S.root, 0) < 0) {
    io_puts(tag); io_puts(" NO [UNAVAILABLE] Cannot open the mailbox\r\n"); io_flush();
    logf_("event=login result=error user=%s error=\"maildir %s\"", user ? user : "-", strerror(errno));
    _exit(111);
  }
  /* special-use folders exist from the first login */
  for (int i = 0; i < 5; i++) {
    char d[4400];
    snprintf(d, sizeof d, "%s/.%s", S.root, special_use[i][0]);
    if (!maildir_exists(d)) maildir_make(d, 1);
  }
  S.state = S_AUTH;
  S.postlogin = 1;
  io_timeout = 1800;
  if ((v = getenv("IMAPD_TIMEOUT"))) { unsigned long t = strtoul(v, 0, 10); if (t && t <= 86400) io_timeout = (unsigned)t; }
  io_set_nonblock(io_outfd);
  logf_("event=login result=ok user=%s ip=%s tls=%d", user ? user : "-", getenv("TCPREMOTEIP") ? getenv("TCPREMOTEIP") : "-", S.tls);
  io_puts(tag); io_puts(" OK [CAPABILITY ");
  caps();
  io_puts("] "); io_puts(cmdname); io_puts(" completed\r\n");
  serve();
  logf_("event=logout user=%s", user ? user : "-");
  _exit(0);
}

static connlimit slot;   /* the session's connection slot, held while it lives */

/* The service's connection slots (lib/connlimit.h): a full server says so in
 * its greeting instead of leaving clients in the listen backlog. Returns only
 * to serve. */
static void limit(void)
{
  char const *why;
  char const *ip = getenv("TCPREMOTEIP");
  int r = connlimit_enter(&slot, "imap", ip, 0, &why);
  if (why) logf_("event=%s error=\"%s\"", r == CONNLIMIT_FAULT ? "error" : "warning", why);
  if (r == CONNLIMIT_OK) return;
  io_puts(r == CONNLIMIT_FAULT ? "* BYE [UNAVAILABLE] Configuration fault, try again later\r\n"
          : r == CONNLIMIT_FULL ? "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
          : "* BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n");
  io_flush();
  logf_("event=connlimit ip=%s result=%s", ip ? ip : "-",
        r == CONNLIMIT_FULL ? "full" : r == CONNLIMIT_SOURCE_FULL ? "source-full" : "fault");
  _exit(r == CONNLIMIT_FAULT ? 111 : 0);
}

int slot_keep_on_exec(void) { return connlimit_keep_on_exec(&slot); }

int main(int argc, char **argv)
{
  /* -W pid: the pre-login process after a login, waiting for the session to end
   * (see login.c). First thing, so that it touches as few pages as it can. */
  if (argc == 3 && argv[1][0] == '-' && argv[1][1] == 'W' && !argv[1][2]) {
    pid_t pid = (pid_t)atoi(argv[2]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) ;
    return 0;
  }
  ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  if (n > 0) self_path[n] = 0;
  else if (argv[0]) snprintf(self_path, sizeof self_path, "%s", argv[0]);
  connenv_init();
  common_init();
  if (argc > 1 && !strcmp(argv[1], "-P")) postlogin_main();
  /* -t and -T: the idle timeouts before and after login (tests make them short) */
  unsigned pre = 120;
  for (int i = 1; i < argc; i++) {
    char *end;
    unsigned long v = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
    if ((strcmp(argv[i], "-t") && strcmp(argv[i], "-T")) || !v || *end || v > 86400) {
      fputs("usage: pochta-imapd [-t seconds] [-T seconds]\n", stderr);
      return 100;
    }
    if (argv[i][1] == 't') pre = (unsigned)v;
    else setenv("IMAPD_TIMEOUT", argv[i + 1], 1);
    i++;
  }
  limit();
  {
    char const *why;
    if (!prelogin_ok(&why)) {
      logf_("event=fatal error=\"%s\"", why);
      io_puts("* BYE [UNAVAILABLE] Server misconfigured\r\n");
      io_flush();
      return 111;
    }
  }
  stralloc pa = STRALLOC_ZERO;
  S.plain_ok = conf_line(&pa, "plainauth") == 1 && !strcmp(pa.s, "loopback") && loopback(getenv("TCPREMOTEIP"));
  stralloc_free(&pa);
  S.state = S_NOAUTH;
  io_timeout = pre;
  io_set_nonblock(io_outfd);
  cmd_greeting();
  serve();
  return 0;
}
