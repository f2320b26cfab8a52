#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "maildir.h"

int maildir_tmp_open(char const *dir, char *name, size_t namelen)
{
  char path[4096];
  /* A clash means another process made the same name in the same
   * microsecond: a new name (new time, next counter) settles it. */
  for (int tries = 0; tries < 5; tries++) {
    if (!maildir_uniq(name, namelen)) { errno = ENAMETOOLONG; return -1; }
    int n = snprintf(path, sizeof path, "%s/tmp/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) { errno = ENAMETOOLONG; return -1; }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return -1;
    usleep(1000);
  }
  errno = EEXIST;
  return -1;
}

void maildir_tmp_abort(char const *dir, char const *name)
{
  char path[4096];
  int e = errno;
  int n = snprintf(path, sizeof path, "%s/tmp/%s", dir, name);
  if (n > 0 && (size_t)n < sizeof path) unlink(path);
  errno = e;
}
