/* pochta-checkpassword PROG...: the checkpassword interface over users.cdb and
 * passwords.cdb. fd 3: user\0password\0timestamp\0 (at most 512 octets). Exit 1
 * wrong user or password (or refused), 2 misuse, 111 temporary failure; on success
 * set USER HOME MAILDIR AUTHLABEL, become the Maildir owner when root, chdir HOME
 * and exec PROG.
 *
 * In the documented install this is the one setuid-root program a login goes
 * through (mode 4750, group pochta-auth: only the daemons' accounts may run it),
 * so that no process that reads the network before a login can read a password
 * hash or a mailbox. Run that way it trusts nothing of its caller (setuid.c):
 * the environment is cut down, the configuration directory must be root's, and
 * PROG must be one of pochta's own programs beside this one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "account.h"
#include "authfail.h"
#include "conf.h"
#include "connenv.h"
#include "cpsetuid.h"
#include "passcheck.h"
#include "users.h"

char const *PROG = "pochta-checkpassword";

#define CP_WRONG 1
#define CP_MISUSE 2
#define CP_TEMP 111
#define INPUT_MAX 512

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

/* Equal work for unknown users: see passcheck_dummy. */
static void dummy_crypt(char const *pass)
{
  passcheck_dummy(pass);
}

/* A failed login: count it, wait, exit 1. Accounting that cannot be written is a
 * temporary failure, as it was before the password was checked. */
static void fail(authfail *af, char const *user, char const *why)
{
  char u[300], d[24];
  long wait = authfail_fail(af, time(0));
  log_user(u, sizeof u, user);
  if (wait < 0) _exit(CP_TEMP);
  snprintf(d, sizeof d, "%ld", wait);
  strerr_warn("pochta-checkpassword: event=fail reason=", why, " ip=", af->ip[0] ? af->ip : "none",
              " user=\"", u, "\" delay=", d);
  nap((unsigned long)wait);
  _exit(CP_WRONG);
}

/* Become the Maildir owner ($POCHTA_CONF/owner) when root. Without that file we
 * refuse for now: running the session as root would leave root-owned files in a
 * user's Maildir. */
static void become_owner(int setuid_mode)
{
  stralloc sa = STRALLOC_ZERO;
  account a;
  int r;
  if (geteuid()) return;
  r = conf_line(&sa, "owner");
  if (r <= 0) strerr_diefu3sys(CP_TEMP, "read ", conf_dir(), "/owner");
  if (!strchr(sa.s, ':') || account_lookup(&a, sa.s) <= 0) strerr_dief(CP_TEMP, "bad uid:gid in ", conf_dir(), "/owner");
  /* Only a root-run test instance (owner 0:0) keeps root, and never through the
   * setuid bit. */
  if (!a.uid && setuid_mode) strerr_dief(CP_TEMP, conf_dir(), "/owner is root: refusing to run a session as root");
  if (!account_become(&a)) strerr_diefu1sys(CP_TEMP, "switch to the owner uid:gid");
  stralloc_free(&sa);
}

int main(int argc, char const *const *argv)
{
  char buf[INPUT_MAX + 1];
  size_t n = 0;
  char const *user, *pass;
  char *nul;
  stralloc addr = STRALLOC_ZERO, md = STRALLOC_ZERO, label = STRALLOC_ZERO, home = STRALLOC_ZERO;
  stralloc prog = STRALLOC_ZERO;
  users u = USERS_ZERO;
  authfail af;
  int r, setuid_mode = cpsetuid_active();

  if (argc < 2) strerr_dieusage(CP_MISUSE, "pochta-checkpassword prog... (user\\0password\\0timestamp\\0 on fd 3)");
  if (setuid_mode) cpsetuid_sanitize();   /* dies unless the caller's world can be trusted */
  if (!cpsetuid_prog(&prog, argv[1], setuid_mode)) strerr_dief(CP_MISUSE, "not one of pochta's programs: ", argv[1]);
  /* Read fd 3 to EOF, refusing more than 512 octets. */
  for (;;) {
    ssize_t k = read(3, buf + n, sizeof buf - n);
    if (k < 0) {
      if (errno == EINTR) continue;
      strerr_diefu1sys(CP_MISUSE, "read fd 3");
    }
    if (!k) break;
    n += (size_t)k;
    if (n > INPUT_MAX) strerr_dief(CP_MISUSE, "more than 512 octets on fd 3");
  }
  close(3);
  buf[n] = 0;
  nul = memchr(buf, 0, n);
  if (!n || !nul) strerr_dief(CP_MISUSE, "bad input on fd 3: want user\\0password\\0timestamp\\0");
  user = buf;
  pass = nul + 1;
  if (!memchr(pass, 0, n - (size_t)(pass - buf))) strerr_dief(CP_MISUSE, "bad input on fd 3: want user\\0password\\0timestamp\\0");

  connenv_init();
  if (!authfail_init(&af, connenv_remote(), user)) { scrub(pass); _exit(CP_TEMP); }
  r = authfail_check(&af, time(0));
  if (r < 0) { scrub(pass); _exit(CP_TEMP); }
  if (r) {
    /* Refused whatever the password: the answer and its delay are a wrong one's. */
    char u2[300], d[24];
    log_user(u2, sizeof u2, user);
    snprintf(d, sizeof d, "%lu", af.delay);
    strerr_warn("pochta-checkpassword: event=refused reason=banned ip=", af.ip, " user=\"", u2, "\" delay=", d);
    scrub(pass);
    nap(af.delay);
    _exit(CP_WRONG);
  }

  if (!*user || !*pass) fail(&af, user, "empty");
  if (users_open(&u) < 0) {
    int e = errno;
    scrub(pass);
    strerr_dief(CP_TEMP, "cannot use ", conf_dir(), "/users.cdb: ", users_why(e));
  }
  if (!users_canon(&addr, user, strlen(user))) { dummy_crypt(pass); scrub(pass); fail(&af, user, "syntax"); }
  r = users_maildir(&u, addr.s, &md);
  if (r < 0) { int e = errno; scrub(pass); strerr_dief(CP_TEMP, "cannot read ", conf_dir(), "/users.cdb: ", users_why(e)); }
  if (!r) { dummy_crypt(pass); scrub(pass); fail(&af, user, "unknown"); }
  r = passcheck(addr.s, pass, &label);
  scrub(pass);
  if (r < 0) { int e = errno; strerr_dief(CP_TEMP, "cannot use ", conf_dir(), "/passwords.cdb: ", users_why(e)); }
  if (!r) fail(&af, addr.s, "password");
  authfail_success(&af, time(0));

  /* HOME is the directory that holds the Maildir (<mailroot>/<domain>/<local>). */
  {
    char *slash = strrchr(md.s, '/');
    if (!stralloc_catb(&home, md.s, slash && slash > md.s ? (size_t)(slash - md.s) : 1) || !stralloc_0(&home))
      strerr_diefu1sys(CP_TEMP, "allocate");
  }
  if (setenv("USER", addr.s, 1) < 0 || setenv("HOME", home.s, 1) < 0 || setenv("MAILDIR", md.s, 1) < 0
   || setenv("AUTHLABEL", label.s, 1) < 0) strerr_diefu1sys(CP_TEMP, "set the environment");
  users_close(&u);
  become_owner(setuid_mode);
  if (chdir(home.s) < 0) strerr_diefu2sys(CP_TEMP, "chdir to ", home.s);
  {
    char ub[300];
    log_user(ub, sizeof ub, addr.s);
    strerr_warn("pochta-checkpassword: event=login ip=", af.ip[0] ? af.ip : "none", " user=\"", ub,
                "\" label=", label.s);
  }
  if (!prog.len) _exit(0);   /* "true": the caller only wanted a yes */
  if (setuid_mode) {
    ((char const **)argv)[1] = prog.s;
    execv(prog.s, (char *const *)argv + 1);
  } else execvp(argv[1], (char *const *)argv + 1);
  strerr_diefu2sys(CP_TEMP, "exec ", argv[1]);
}
