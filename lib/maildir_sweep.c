/* Stale files in a Maildir's tmp/: what a delivery killed before it could
 * remove its file leaves there. The Maildir specification asks whoever
 * visits a Maildir to remove files of tmp/ not accessed for 36 hours; a
 * delivery under way writes its file all the time, so it is never one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"

int maildir_sweep_tmp(char const *dir, time_t now, unsigned *removed)
{
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/tmp", dir), fd, ok = 1;
  DIR *d;
  struct dirent *e;
  *removed = 0;
  if (n < 0 || (size_t)n >= sizeof path) { errno = ENAMETOOLONG; return 0; }
  fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  d = fdopendir(fd);
  if (!d) { int e2 = errno; close(fd); errno = e2; return 0; }
  for (;;) {
    struct stat st;
    errno = 0;
    e = readdir(d);
    if (!e) { if (errno) ok = 0; break; }
    if (e->d_name[0] == '.') continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
    /* "not accessed in 36 hours" (the spec), nor written: a file that a
     * delivery keeps writing is never stale, and on a noatime mount the
     * access time is the creation time */
    time_t t = st.st_atime > st.st_mtime ? st.st_atime : st.st_mtime;
    if (t > now - MAILDIR_TMP_STALE) continue;
    if (unlinkat(fd, e->d_name, 0) == 0) { if (++*removed >= MAILDIR_SWEEP_MAX) break; }
    else if (errno != ENOENT) ok = 0;
  }
  closedir(d);
  return ok;
}
