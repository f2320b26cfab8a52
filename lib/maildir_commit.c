#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* (the system call itself: musl has no wrapper) */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

#include <skalibs/djbunix.h>

#include "maildir.h"

int maildir_syncdir(char const *dir, char const *sub)
{
  char path[4096];
  int n = sub ? snprintf(path, sizeof path, "%s/%s", dir, sub) : snprintf(path, sizeof path, "%s", dir);
  if (n < 0 || (size_t)n >= sizeof path) { errno = ENAMETOOLONG; return 0; }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  /* EINVAL: a filesystem that cannot sync directories (nothing to do). */
  if (fsync(fd) < 0 && errno != EINVAL) { int e = errno; close(fd); errno = e; return 0; }
  close(fd);
  return 1;
}

int maildir_commit(char const *dir, char const *tmpname, char const *sub, char const *final)
{
  char from[4096], to[4096];
  int n = snprintf(from, sizeof from, "%s/tmp/%s", dir, tmpname);
  int m = snprintf(to, sizeof to, "%s/%s/%s", dir, sub, final);
  if (n < 0 || (size_t)n >= sizeof from || m < 0 || (size_t)m >= sizeof to) { errno = ENAMETOOLONG; return 0; }
  /* link, not rename: link fails if the name exists, so nothing is ever
   * overwritten (the spec's rule). Filesystems without hard links get rename
   * (renameat2 RENAME_NOREPLACE keeps the no-overwrite rule). */
  if (link(from, to) < 0) {
    if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP) return 0;
    if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) return 0;
    return maildir_syncdir(dir, sub) && maildir_syncdir(dir, "tmp");
  }
  /* The commit point: the new name is durable once its directory is synced. */
  if (!maildir_syncdir(dir, sub)) { int e = errno; unlink(to); errno = e; return 0; }
  /* A leftover tmp name is harmless (readers ignore tmp/, old ones are
   * cleaned), so a failed unlink is not a failed delivery. */
  unlink(from);
  return 1;
}
