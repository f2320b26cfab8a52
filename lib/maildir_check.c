#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "maildir.h"

int maildir_check(char const *dir)
{
  static char const *const sub[3] = { "tmp", "new", "cur" };
  char path[4096];
  struct stat st;
  for (int i = 0; i < 3; i++) {
    int n = snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
    if (n < 0 || (size_t)n >= sizeof path) { errno = ENAMETOOLONG; return 0; }
    if (stat(path, &st) < 0) return 0;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return 0; }
  }
  return 1;
}
