/* Making directories: mkdir -p with owner and fsync, and a user's Maildir with
 * its special-use Maildir++ folders (RFC 6154 names as Dovecot and Thunderbird
 * expect them). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

static char const *const folders[] = { ".Sent", ".Drafts", ".Junk", ".Trash", ".Archive", 0 };

/* Give path to uid:gid if we are root (a normal user can only own it himself). */
static void own(char const *path, uid_t uid, gid_t gid)
{
  if (geteuid()) return;
  if (lchown(path, uid, gid) < 0) strerr_diefu2sys(TEMP_EXIT, "chown ", path);
}

/* mkdir one directory; 1 created, 0 existed already. Syncs the parent. */
static int mkdir1(char const *dir, unsigned int mode, uid_t uid, gid_t gid)
{
  struct stat st;
  stralloc parent = STRALLOC_ZERO;
  char const *slash;
  if (mkdir(dir, mode) < 0) {
    if (errno != EEXIST) strerr_diefu2sys(TEMP_EXIT, "mkdir ", dir);
    if (stat(dir, &st) < 0) strerr_diefu2sys(TEMP_EXIT, "stat ", dir);
    if (!S_ISDIR(st.st_mode)) strerr_dief(TEMP_EXIT, dir, " exists and is not a directory");
    return 0;
  }
  if (chmod(dir, mode) < 0) strerr_diefu2sys(TEMP_EXIT, "chmod ", dir);   /* umask */
  own(dir, uid, gid);
  /* The new entry is durable only once its parent directory is synced. */
  slash = strrchr(dir, '/');
  if (slash) {
    if (!stralloc_catb(&parent, dir, slash > dir ? (size_t)(slash - dir) : 1) || !stralloc_0(&parent))
      strerr_diefu1sys(TEMP_EXIT, "allocate");
    dir_sync(parent.s);
  } else dir_sync(".");
  stralloc_free(&parent);
  return 1;
}

void mkdir_p(char const *dir, unsigned int mode, uid_t uid, gid_t gid)
{
  stralloc sa = STRALLOC_ZERO;
  size_t i, len = strlen(dir);
  if (!stralloc_ready(&sa, len + 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  memcpy(sa.s, dir, len + 1);
  /* Every prefix ending before a '/', then the whole path. */
  for (i = 1; i <= len; i++) {
    if (i < len && sa.s[i] != '/') continue;
    if (i < len && sa.s[i-1] == '/') continue;
    char save = sa.s[i];
    sa.s[i] = 0;
    struct stat st;
    if (i == len || stat(sa.s, &st) < 0) mkdir1(sa.s, mode, uid, gid);
    sa.s[i] = save;
  }
  stralloc_free(&sa);
}

static void cat3(stralloc *sa, char const *a, char const *b, char const *c)
{
  sa->len = 0;
  if (!stralloc_cats(sa, a) || !stralloc_cats(sa, b) || !stralloc_cats(sa, c) || !stralloc_0(sa))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  sa->len--;   /* NUL kept, not counted: callers may append */
}

/* tmp, new and cur inside dir. */
static void tnc(char const *dir, uid_t uid, gid_t gid)
{
  static char const *const sub[] = { "/tmp", "/new", "/cur", 0 };
  stralloc p = STRALLOC_ZERO;
  for (size_t i = 0; sub[i]; i++) {
    cat3(&p, dir, sub[i], "");
    mkdir1(p.s, 0700, uid, gid);
  }
  stralloc_free(&p);
}

void maildir_make(char const *dir, uid_t uid, gid_t gid)
{
  stralloc p = STRALLOC_ZERO;
  char const *slash = strrchr(dir, '/');
  /* Parents (mailroot/domain/local) readable by the owner only too. */
  if (slash && slash > dir) {
    if (!stralloc_catb(&p, dir, slash - dir) || !stralloc_0(&p)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    mkdir_p(p.s, 0700, uid, gid);
  }
  mkdir1(dir, 0700, uid, gid);
  tnc(dir, uid, gid);
  for (size_t i = 0; folders[i]; i++) {
    int fd;
    cat3(&p, dir, "/", folders[i]);
    mkdir1(p.s, 0700, uid, gid);
    tnc(p.s, uid, gid);
    /* Maildir++: the empty file maildirfolder marks a folder (for deliver agents). */
    cat3(&p, dir, "/", folders[i]);
    if (!stralloc_cats(&p, "/maildirfolder") || !stralloc_0(&p)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    fd = open(p.s, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "create ", p.s);
    if (!geteuid() && fchown(fd, uid, gid) < 0) strerr_diefu2sys(TEMP_EXIT, "chown ", p.s);
    if (fsync(fd) < 0 || close(fd) < 0) strerr_diefu2sys(TEMP_EXIT, "write ", p.s);
    *strrchr(p.s, '/') = 0;   /* back to the folder */
    dir_sync(p.s);
  }
  stralloc_free(&p);
}
