/* pochta init: create an instance (configuration directory, queue top, mail root).
 * Idempotent: running it again changes nothing; it refuses to change an existing
 * instance's facts (hostname, paths, owner) to different ones. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

#define INIT_USAGE "pochta init [--system] [--queue DIR] [--mail DIR] [--state DIR] [--hostname FQDN] [--owner uid:gid|user]"

/* Make path absolute against the current directory, into sa (NUL-terminated). */
static void absolute(stralloc *sa, char const *path)
{
  sa->len = 0;
  if (path[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) strerr_diefu1sys(TEMP_EXIT, "get the current directory");
    if (!stralloc_cats(sa, cwd) || !stralloc_catb(sa, "/", 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  }
  if (!stralloc_cats(sa, path)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  while (sa->len > 1 && sa->s[sa->len-1] == '/') sa->len--;
  if (!stralloc_0(sa)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  sa->len--;
  if (strchr(sa->s, '\n')) strerr_dief(USAGE_EXIT, "a path with a newline: ", path);
}

static int hostname_ok(char const *s)
{
  size_t i, n = strlen(s);
  if (!n || n > 253 || s[0] == '.' || s[0] == '-') return 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

/* One fact of the instance: use the existing file, or write want (or def) into it.
 * An explicit want that differs from an existing file is refused. Result in out. */
static void fact(char const *name, char const *want, char const *def, stralloc *out)
{
  stralloc have = STRALLOC_ZERO;
  if (tf_line(&have, name)) {
    if (want && strcmp(have.s, want))
      strerr_dief(USAGE_EXIT, "refusing to clobber the instance in ", confdir, ": ", name,
                  " is ", have.s, ", not ", want);
    if (!stralloc_copyb(out, have.s, have.len + 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    out->len--;
  } else {
    char const *v = want ? want : def;
    stralloc line = STRALLOC_ZERO;
    if (!stralloc_cats(&line, v) || !stralloc_catb(&line, "\n", 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    tf_write(name, line.s, line.len, 0644);
    stralloc_free(&line);
    if (!stralloc_copys(out, v) || !stralloc_0(out)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    out->len--;
  }
  stralloc_free(&have);
}

/* Create an empty list file if absent. */
static void list_file(char const *name, unsigned int mode)
{
  stralloc sa = STRALLOC_ZERO;
  if (!tf_read(&sa, name)) tf_write(name, "", 0, mode);
  stralloc_free(&sa);
}

int cmd_init(int argc, char const *const *argv)
{
  char const *queue = 0, *mail = 0, *host = 0, *owner = 0, *state = 0;
  stralloc q = STRALLOC_ZERO, m = STRALLOC_ZERO, o = STRALLOC_ZERO, tmp = STRALLOC_ZERO, st = STRALLOC_ZERO;
  stralloc cq = STRALLOC_ZERO, cm = STRALLOC_ZERO, cd = STRALLOC_ZERO, cs = STRALLOC_ZERO;
  int sys = 0;
  char ownerbuf[64], defowner[64], defhost[256];
  struct utsname un;
  uid_t uid; gid_t gid;
  int i;
  for (i = 1; i < argc; i++) {
    char const **dst = 0;
    if (!strcmp(argv[i], "--system")) { sys = 1; continue; }
    if (!strcmp(argv[i], "--queue")) dst = &queue;
    else if (!strcmp(argv[i], "--state")) dst = &state;
    else if (!strcmp(argv[i], "--mail")) dst = &mail;
    else if (!strcmp(argv[i], "--hostname")) dst = &host;
    else if (!strcmp(argv[i], "--owner")) dst = &owner;
    if (!dst || i + 1 >= argc || !argv[i+1][0]) strerr_dieusage(USAGE_EXIT, INIT_USAGE);
    *dst = argv[++i];
  }
  if (queue) { absolute(&q, queue); queue = q.s; }
  if (mail) { absolute(&m, mail); mail = m.s; }
  if (state) { absolute(&st, state); state = st.s; }
  if (sys) {
    if (geteuid()) strerr_dief(USAGE_EXIT, "--system makes accounts: run it as root");
    system_accounts();
    /* an instance made before keeps its Maildir owner */
    if (!owner && !tf_line(&tmp, "owner")) owner = "pochta-mail";
  }
  if (host && !hostname_ok(host)) strerr_dief(USAGE_EXIT, "not a host name: ", host);
  if (owner) {
    if (!owner_parse(owner, &uid, &gid)) strerr_dief(USAGE_EXIT, "no such owner (want uid:gid or a user name): ", owner);
    snprintf(ownerbuf, sizeof ownerbuf, "%lu:%lu", (unsigned long)uid, (unsigned long)gid);
    owner = ownerbuf;
  }
  absolute(&cd, confdir);
  confdir = cd.s;

  /* The configuration directory itself belongs to root (or the admin): the daemons
   * only read it. */
  mkdir_p(confdir, 0755, geteuid(), getegid());
  tf_lock();

  fact("me", host, (uname(&un) == 0 && hostname_ok(un.nodename))
       ? (snprintf(defhost, sizeof defhost, "%s", un.nodename), defhost) : "localhost", &tmp);
  fact("queuedir", queue, "/var/spool/pochta", &cq);
  fact("mailroot", mail, "/var/mail/pochta", &cm);
  fact("statedir", state, "/var/lib/pochta", &cs);
  snprintf(defowner, sizeof defowner, "%lu:%lu", (unsigned long)getuid(), (unsigned long)getgid());
  fact("owner", owner, defowner, &o);
  if (!owner_parse(o.s, &uid, &gid) || !strchr(o.s, ':'))
    strerr_dief(TEMP_EXIT, "bad uid:gid in ", confdir, "/owner: ", o.s);
  if (!uid && !owner && !sys)
    strerr_warnw("the owner of the Maildirs is root: daemons keep root after login;"
                 " for a real host run pochta init --system (see pochta(8))");
  if (sys) {
    /* the group that reads users.cdb: the queue's account's (pochta-smtpd, the runner) */
    uid_t qu; gid_t qg;
    char gb[24];
    system_ids("pochta", &qu, &qg);
    snprintf(gb, sizeof gb, "%lu", (unsigned long)qg);
    fact("group", gb, gb, &tmp);
    /* the group of the signing step: pochta dkim gives it the keys */
    fact("dkimgroup", 0, "pochta-dkim", &tmp);
  }

  /* the admin tool alone reads the lists (programs read the compiled cdbs) */
  list_file("domains", 0600);
  list_file("users", 0600);
  list_file("aliases", 0600);
  list_file("passwords", 0600);
  tmp.len = 0;
  if (!stralloc_cats(&tmp, confdir) || !stralloc_cats(&tmp, "/tls") || !stralloc_0(&tmp))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  mkdir_p(tmp.s, 0755, geteuid(), getegid());

  if (sys) {
    compile();
    system_modes(confdir, cq.s, cm.s, cs.s, uid, gid);
    goto done;
  }
  /* One account owns everything (a test or a single-user instance). The queue's
   * top: what is inside belongs to pochta-queue (see pochta-queue(8)). */
  mkdir_p(cq.s, 0750, uid, gid);
  mkdir_p(cm.s, 0755, uid, gid);
  mkdir_p(cs.s, 0755, geteuid(), getegid());
  tmp.len = 0;
  /* failed-login records: pochta-checkpassword's, as whoever runs it here */
  if (!stralloc_cats(&tmp, cs.s) || !stralloc_cats(&tmp, "/auth") || !stralloc_0(&tmp))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  mkdir_p(tmp.s, 0700, geteuid(), getegid());
  tmp.len = 0;
  if (!stralloc_cats(&tmp, cs.s) || !stralloc_cats(&tmp, "/remote") || !stralloc_0(&tmp))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  mkdir_p(tmp.s, 0700, uid, gid);
  compile();
 done:
  stralloc_free(&q); stralloc_free(&m); stralloc_free(&o); stralloc_free(&tmp);
  stralloc_free(&cq); stralloc_free(&cm); stralloc_free(&cd); stralloc_free(&cs); stralloc_free(&st);
  return 0;
}
