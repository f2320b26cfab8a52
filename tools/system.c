/* pochta init --system: the least-privilege layout of a real host (doc/INSTALL.md,
 * pochta(8)). The accounts are made with the system's useradd/groupadd when they
 * are missing; every file and directory pochta owns gets the narrowest mode and
 * owner that works, whatever the umask was. Running it again repairs the modes
 * and changes nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "account.h"
#include "connlimit.h"
#include "pochta.h"

extern char **environ;

/* The accounts: what runs as each is in pochta(8). */
static struct { char const *name, *comment, *groups; } const users[] = {
  { "pochta", "pochta queue, SMTP and runner", "pochta-auth,pochta-drop" },
  { "pochta-login", "pochta IMAP/POP3 before login", "pochta-auth" },
  { "pochta-tls", "pochta TLS engine", 0 },
  { "pochta-mail", "pochta Maildir owner", 0 },
  { "pochta-log", "pochta loggers", 0 },
  { 0, 0, 0 }
};
static char const *const groups[] = { "pochta-auth", "pochta-drop", "pochta-dkim", 0 };

/* Run one of the system's account tools for name; die if it fails. */
static void run(char const *const *argv, char const *name)
{
  pid_t pid;
  int st, r = posix_spawn(&pid, argv[0], 0, 0, (char *const *)argv, environ);
  if (r) { errno = r; strerr_diefu2sys(TEMP_EXIT, "run ", argv[0]); }
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) strerr_diefu2sys(TEMP_EXIT, "wait for ", argv[0]);
  if (!WIFEXITED(st) || WEXITSTATUS(st)) strerr_dief(TEMP_EXIT, argv[0], " failed for ", name);
}

static int group_gid(char const *name, gid_t *gid)
{
  int r = account_group(name, gid);
  if (r < 0) strerr_diefu1sys(TEMP_EXIT, "read /etc/group");
  return r;
}

static int in_group(account const *a, gid_t g)
{
  for (unsigned i = 0; i < a->ngroups; i++) if (a->groups[i] == g) return 1;
  return 0;
}

void system_accounts(void)
{
  for (size_t i = 0; groups[i]; i++) {
    gid_t g;
    if (group_gid(groups[i], &g)) continue;
    char const *argv[] = { "/usr/sbin/groupadd", "--system", groups[i], 0 };
    run(argv, groups[i]);
    strerr_warni2x("made group ", groups[i]);
  }
  for (size_t i = 0; users[i].name; i++) {
    account a;
    int r = account_lookup(&a, users[i].name);
    if (r < 0) strerr_diefu1sys(TEMP_EXIT, "read /etc/passwd");
    if (!r) {
      char const *argv[] = { "/usr/sbin/useradd", "--system", "--user-group", "--no-create-home",
        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", users[i].comment,
        users[i].name, 0 };
      run(argv, users[i].name);
      strerr_warni2x("made account ", users[i].name);
      if (account_lookup(&a, users[i].name) <= 0) strerr_dief(TEMP_EXIT, "useradd made no account ", users[i].name);
    }
    for (char const *g0 = users[i].groups; g0 && *g0;) {
      char gname[32];
      size_t n = strcspn(g0, ",");
      gid_t g;
      if (n >= sizeof gname) strerr_dief(TEMP_EXIT, "group name too long");
      memcpy(gname, g0, n); gname[n] = 0;
      g0 += n + (g0[n] == ',');
      if (!group_gid(gname, &g)) strerr_dief(TEMP_EXIT, "no group ", gname);
      if (!in_group(&a, g)) {
        char const *argv[] = { "/usr/sbin/usermod", "--append", "--groups", gname, users[i].name, 0 };
        run(argv, users[i].name);
      }
    }
  }
}

/* The uid:gid of a system account (made by system_accounts). */
void system_ids(char const *name, uid_t *uid, gid_t *gid)
{
  account a;
  if (account_lookup(&a, name) <= 0) strerr_dief(TEMP_EXIT, "no account ", name, ": run pochta init --system");
  *uid = a.uid; *gid = a.gid;
}

gid_t system_gid(char const *name)
{
  gid_t g;
  if (!group_gid(name, &g)) strerr_dief(TEMP_EXIT, "no group ", name, ": run pochta init --system");
  return g;
}

/* Owner and mode of path, which must exist as kind (S_IFDIR, S_IFREG, S_IFIFO);
 * a missing path is made (empty, for a file) when make is set. */
static void fix(char const *path, unsigned kind, unsigned mode, uid_t uid, gid_t gid, int make)
{
  struct stat st;
  if (lstat(path, &st) < 0) {
    int made;
    if (errno != ENOENT) strerr_diefu2sys(TEMP_EXIT, "stat ", path);
    if (!make) return;
    if (kind == S_IFREG) {
      int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      made = fd >= 0 && close(fd) == 0;
    } else made = (kind == S_IFDIR ? mkdir(path, 0700) : mkfifo(path, 0600)) == 0;
    if (!made) strerr_diefu2sys(TEMP_EXIT, "create ", path);
    if (lstat(path, &st) < 0) strerr_diefu2sys(TEMP_EXIT, "stat ", path);
  }
  if ((st.st_mode & S_IFMT) != kind) strerr_dief(TEMP_EXIT, path, " is not what pochta expects there (a symlink?): refusing to touch it");
  if (lchown(path, uid, gid) < 0) strerr_diefu2sys(TEMP_EXIT, "chown ", path);
  /* after chown, which clears the setuid and setgid bits */
  if (chmod(path, mode) < 0) strerr_diefu2sys(TEMP_EXIT, "chmod ", path);
}

static void fixin(char const *dir, char const *name, unsigned kind, unsigned mode, uid_t uid, gid_t gid, int make)
{
  stralloc p = STRALLOC_ZERO;
  if (!stralloc_cats(&p, dir) || !stralloc_catb(&p, "/", 1) || !stralloc_cats(&p, name) || !stralloc_0(&p))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  fix(p.s, kind, mode, uid, gid, make);
  stralloc_free(&p);
}

/* A queue made by an earlier install may hold files root made: the queue's
 * account must own all of it (never following a symlink). */
static uid_t tree_uid;
static gid_t tree_gid;
static int give_one(char const *path, struct stat const *st, int flag, struct FTW *f)
{
  (void)f;
  if (flag == FTW_SL || st->st_uid == tree_uid) return 0;
  if (lchown(path, tree_uid, tree_gid) < 0) strerr_diefu2sys(TEMP_EXIT, "chown ", path);
  return 0;
}

/* root:gid, directories 0750, files 0640 (the DKIM keys' layout) */
static int give_key(char const *path, struct stat const *st, int flag, struct FTW *f)
{
  (void)f;
  if (flag == FTW_SL) return 0;
  if (lchown(path, 0, tree_gid) < 0 || chmod(path, S_ISDIR(st->st_mode) ? 0750 : 0640) < 0)
    strerr_diefu2sys(TEMP_EXIT, "set the owner and mode of ", path);
  return 0;
}

static void give_tree(char const *dir, uid_t uid, gid_t gid)
{
  tree_uid = uid; tree_gid = gid;
  if (nftw(dir, give_one, 16, FTW_PHYS) < 0 && errno != ENOENT) strerr_diefu2sys(TEMP_EXIT, "walk ", dir);
}

/* The three privileged programs beside this one (as make install puts them). */
static void programs(gid_t auth, gid_t drop, gid_t dkim)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash;
  if (n <= 0) strerr_diefu1sys(TEMP_EXIT, "find this program");
  self[n] = 0;
  if (!(slash = strrchr(self, '/'))) return;
  *slash = 0;
  /* only the daemons' accounts (group pochta-auth) may run the login step */
  fixin(self, "pochta-checkpassword", S_IFREG, 04750, 0, auth, 0);
  /* any local user may drop a message, into drop/ only */
  fixin(self, "pochta-postdrop", S_IFREG, 02755, 0, drop, 0);
  /* the one step that reads the DKIM keys (any local user's mail is signed anyway) */
  fixin(self, "pochta-dkimsign", S_IFREG, 02755, 0, dkim, 0);
}

/* The DKIM keys: readable by the signing step's group alone (pochta dkim makes them
 * so too; this repairs what an earlier layout or a hand left). */
static void dkim_keys(char const *conf, gid_t dkim)
{
  stralloc p = STRALLOC_ZERO;
  if (!stralloc_cats(&p, conf) || !stralloc_cats(&p, "/dkim") || !stralloc_0(&p)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  tree_uid = 0; tree_gid = dkim;
  if (nftw(p.s, give_key, 16, FTW_PHYS) < 0 && errno != ENOENT) strerr_diefu2sys(TEMP_EXIT, "walk ", p.s);
  stralloc_free(&p);
}

/* The connection limits' lock files (lib/connlimit.h), each its service's
 * account's: they are made here, for what runs now, and again at boot by the
 * run scripts or systemd-tmpfiles (/run is emptied then). */
static void run_dir(char const *conf)
{
  static struct { char const *file, *account; } const locks[] = {
    { "smtp.lock", "pochta" }, { "submission.lock", "pochta" },
    { "pop3.lock", "pochta-login" }, { "imap.lock", "pochta-login" }, { 0, 0 }
  };
  stralloc dir = STRALLOC_ZERO, f = STRALLOC_ZERO;
  char buf[4096];
  ssize_t n;
  if (!stralloc_cats(&f, conf) || !stralloc_cats(&f, "/rundir") || !stralloc_0(&f)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  n = openreadnclose(f.s, buf, sizeof buf - 1);
  if (n < 0 && errno != ENOENT) strerr_diefu2sys(TEMP_EXIT, "read ", f.s);
  buf[n > 0 ? n : 0] = 0;
  buf[strcspn(buf, "\n")] = 0;   /* the first line, as conf_line reads it */
  if (!stralloc_copys(&dir, buf[0] ? buf : CONNLIMIT_RUNDIR_DEFAULT) || !stralloc_0(&dir))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  stralloc_free(&f);
  if (dir.s[0] != '/') strerr_dief(TEMP_EXIT, "rundir is not an absolute path: ", dir.s);
  fix(dir.s, S_IFDIR, 0755, 0, 0, 1);
  for (size_t i = 0; locks[i].file; i++) {
    uid_t u;
    gid_t g;
    system_ids(locks[i].account, &u, &g);
    fixin(dir.s, locks[i].file, S_IFREG, 0600, u, g, 1);
  }
  stralloc_free(&dir);
}

void system_modes(char const *conf, char const *queue, char const *mail, char const *state, uid_t muid, gid_t mgid)
{
  uid_t quid, tuid;
  gid_t qgid, tgid, auth = system_gid("pochta-auth"), drop = system_gid("pochta-drop"), dkim = system_gid("pochta-dkim");
  system_ids("pochta", &quid, &qgid);
  system_ids("pochta-tls", &tuid, &tgid);

  fix(conf, S_IFDIR, 0755, 0, 0, 1);
  /* the admin tool alone reads the lists; programs read the compiled cdbs */
  fixin(conf, "domains", S_IFREG, 0600, 0, 0, 0);
  fixin(conf, "users", S_IFREG, 0600, 0, 0, 0);
  fixin(conf, "aliases", S_IFREG, 0600, 0, 0, 0);
  fixin(conf, "passwords", S_IFREG, 0600, 0, 0, 0);
  fixin(conf, "passwords.cdb", S_IFREG, 0600, 0, 0, 0);
  fixin(conf, "users.cdb", S_IFREG, 0640, 0, qgid, 0);
  fixin(conf, "tls", S_IFDIR, 0750, 0, tgid, 1);
  fixin(conf, "tls/key.pem", S_IFREG, 0640, 0, tgid, 0);
  fixin(conf, "tls/cert.pem", S_IFREG, 0644, 0, 0, 0);

  /* the queue: its account's; local users reach drop/ and the trigger only */
  fix(queue, S_IFDIR, 0710, quid, drop, 1);
  /* group-readable only so that pochta-postdrop can fsync it (Linux does not make a
   * rename durable without); its files are the submitters' (0640) */
  fixin(queue, "drop", S_IFDIR, 01770, quid, drop, 1);
  fixin(queue, "trigger", S_IFIFO, 0620, quid, drop, 1);
  {
    static char const *const own[] = { "mess", "state", "new", "tmp", "bad", 0 };
    for (size_t i = 0; own[i]; i++) {
      stralloc p = STRALLOC_ZERO;
      fixin(queue, own[i], S_IFDIR, 0700, quid, qgid, 0);
      if (!stralloc_cats(&p, queue) || !stralloc_catb(&p, "/", 1) || !stralloc_cats(&p, own[i]) || !stralloc_0(&p))
        strerr_diefu1sys(TEMP_EXIT, "allocate");
      give_tree(p.s, quid, qgid);
      stralloc_free(&p);
    }
    fixin(queue, "lock", S_IFREG, 0600, quid, qgid, 0);
  }

  fix(mail, S_IFDIR, 0700, muid, mgid, 1);
  fix(state, S_IFDIR, 0755, 0, 0, 1);
  fixin(state, "auth", S_IFDIR, 0700, 0, 0, 1);
  fixin(state, "remote", S_IFDIR, 0700, quid, qgid, 1);
  /* greylisting and rate limits (pochta-spam(5)): pochta-smtpd's */
  fixin(state, "spam", S_IFDIR, 0700, quid, qgid, 1);
  dkim_keys(conf, dkim);
  programs(auth, drop, dkim);
  run_dir(conf);
}
