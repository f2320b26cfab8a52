/* pochta-checkpassword PROG...: the checkpassword interface over users.cdb.
 * fd 3: user\0password\0timestamp\0 (at most 512 octets). Exit 1 wrong user or
 * password (or address refused), 2 misuse, 111 temporary failure; on success
 * set USER HOME MAILDIR AUTHLABEL, drop to the owner when root, chdir HOME and
 * exec PROG. */
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "authfail.h"
#include "conf.h"
#include "users.h"

char const *PROG = "pochta-checkpassword";

#define CP_WRONG 1
#define CP_MISUSE 2
#define CP_TEMP 111
#define INPUT_MAX 512

static authfail af;

/* The user name as it may appear in a log line: printable ASCII except '"' and
 * '\\', the rest as \xHH, at most 64 input octets. */
static void log_user(char *out, size_t outlen, char const *u)
{
  static char const hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; u[i] && i < 64 && o + 5 < outlen; i++) {
    unsigned char c = u[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out[o++] = c;
    else { out[o++] = '\\'; out[o++] = 'x'; out[o++] = hex[c >> 4]; out[o++] = hex[c & 15]; }
  }
  out[o] = 0;
}

/* The password leaves memory as soon as it is checked. */
static void scrub(char const *pass)
{
  explicit_bzero((char *)pass, strlen(pass));
}

static void nap(unsigned long secs)
{
  struct timespec ts = { .tv_sec = (time_t)secs, .tv_nsec = 0 };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) ;
}

/* A failed login: count it, wait, exit 1. */
static void fail(char const *user, char const *why)
{
  char u[300], d[24];
  unsigned long wait = authfail_fail(&af, time(0));
  log_user(u, sizeof u, user);
  snprintf(d, sizeof d, "%lu", wait);
  strerr_warn("pochta-checkpassword: event=fail reason=", why, " ip=", af.ip[0] ? af.ip : "none",
              " user=\"", u, "\" delay=", d);
  nap(wait);
  _exit(CP_WRONG);
}

/* Equal work for unknown users: a yescrypt run against a fixed hash, so that the
 * answer's timing does not tell which users exist. */
static void dummy_crypt(char const *pass)
{
  struct crypt_data cd;
  memset(&cd, 0, sizeof cd);
  crypt_rn(pass, "$y$j9T$C9xS06jn1.9h0GHWAfN3w2AiqR/MGcn0rdEyga6UPG.$hbD.4te9qGy3Qk1RHRkpyY8vv8IScWINOmNowg13HQ3", &cd, sizeof cd);
}

/* Switch to the instance owner (only when root). */
static void drop_root(void)
{
  stralloc sa = STRALLOC_ZERO;
  unsigned long uid, gid;
  char *end;
  if (geteuid()) return;
  if (conf_line(&sa, "owner") <= 0) strerr_diefu3sys(CP_TEMP, "read ", conf_dir(), "/owner");
  errno = 0;
  uid = strtoul(sa.s, &end, 10);
  if (errno || end == sa.s || *end != ':') strerr_dief(CP_TEMP, "bad uid:gid in ", conf_dir(), "/owner");
  gid = strtoul(end + 1, &end, 10);
  if (errno || *end) strerr_dief(CP_TEMP, "bad uid:gid in ", conf_dir(), "/owner");
  /* An owner of 0:0 (a test instance made by root) leaves us root. */
  gid_t g = gid;
  if (setgroups(1, &g) < 0 || setgid(g) < 0 || setuid(uid) < 0)
    strerr_diefu1sys(CP_TEMP, "switch to the owner uid:gid");
  stralloc_free(&sa);
}

int main(int argc, char const *const *argv)
{
  char buf[INPUT_MAX + 1];
  size_t n = 0;
  char const *user, *pass, *ip;
  char *nul;
  stralloc addr = STRALLOC_ZERO, md = STRALLOC_ZERO, label = STRALLOC_ZERO, home = STRALLOC_ZERO;
  users u = USERS_ZERO;
  int r;

  if (argc < 2) strerr_dieusage(CP_MISUSE, "pochta-checkpassword prog... (user\\0password\\0timestamp\\0 on fd 3)");
  /* Read fd 3 to EOF, refusing more than 512 octets. */
  for (;;) {
    ssize_t k = read(3, buf + n, sizeof buf - n);
    if (k < 0) {
      if (errno == EINTR) continue;
      strerr_diefu1sys(CP_MISUSE, "read fd 3");
    }
    if (!k) break;
    n += k;
    if (n > INPUT_MAX) strerr_dief(CP_MISUSE, "more than 512 octets on fd 3");
  }
  close(3);
  buf[n] = 0;
  nul = memchr(buf, 0, n);
  if (!n || !nul) strerr_dief(CP_MISUSE, "bad input on fd 3: want user\\0password\\0timestamp\\0");
  user = buf;
  pass = nul + 1;
  if (!memchr(pass, 0, n - (pass - buf))) strerr_dief(CP_MISUSE, "bad input on fd 3: want user\\0password\\0timestamp\\0");

  ip = getenv("TCPREMOTEIP");
  if (!authfail_init(&af, ip)) _exit(CP_TEMP);
  if (authfail_check(&af, time(0))) {
    char u[300];
    authfail_done(&af);
    log_user(u, sizeof u, user);
    strerr_warn("pochta-checkpassword: event=refused reason=banned ip=", af.ip, " user=\"", u, "\"");
    scrub(pass);
    _exit(CP_WRONG);
  }

  if (!*user || !*pass) fail(user, "empty");
  r = users_open(&u);
  if (r < 0) { authfail_done(&af); strerr_diefu3sys(CP_TEMP, "open ", conf_dir(), "/users.cdb"); }
  if (!users_canon(&addr, user, strlen(user))) { dummy_crypt(pass); scrub(pass); fail(user, "syntax"); }
  r = users_maildir(&u, addr.s, &md);
  if (r < 0) { authfail_done(&af); strerr_diefu1sys(CP_TEMP, "read users.cdb"); }
  if (!r) { dummy_crypt(pass); scrub(pass); fail(user, "unknown"); }
  r = users_password_check(&u, addr.s, pass, &label);
  scrub(pass);
  if (r < 0) { authfail_done(&af); strerr_diefu1sys(CP_TEMP, "check the password"); }
  if (!r) fail(addr.s, "password");
  authfail_done(&af);

  /* HOME is the directory that holds the Maildir (<mailroot>/<domain>/<local>). */
  {
    char *slash = strrchr(md.s, '/');
    if (!stralloc_catb(&home, md.s, slash && slash > md.s ? (size_t)(slash - md.s) : 1) || !stralloc_0(&home))
      strerr_diefu1sys(CP_TEMP, "allocate");
  }
  if (setenv("USER", addr.s, 1) < 0 || setenv("HOME", home.s, 1) < 0 || setenv("MAILDIR", md.s, 1) < 0
   || setenv("AUTHLABEL", label.s, 1) < 0) strerr_diefu1sys(CP_TEMP, "set the environment");
  users_close(&u);
  drop_root();
  if (chdir(home.s) < 0) strerr_diefu2sys(CP_TEMP, "chdir to ", home.s);
  {
    char ub[300];
    log_user(ub, sizeof ub, addr.s);
    strerr_warn("pochta-checkpassword: event=login ip=", af.ip[0] ? af.ip : "none", " user=\"", ub,
                "\" label=", label.s);
  }
  execvp(argv[1], (char *const *)argv + 1);
  strerr_diefu2sys(CP_TEMP, "exec ", argv[1]);
}
