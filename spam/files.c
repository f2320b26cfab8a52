/* spam/files.c — small file helpers of spam/'s effects. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "spam-int.h"

int spam_slurp(stralloc *sa, char const *path, size_t max, int nofollow)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
  sa->len = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  for (;;) {
    if (!stralloc_readyplus(sa, 4096)) { close(fd); return -1; }
    ssize_t r = read(fd, sa->s + sa->len, 4096);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { int e = errno; close(fd); errno = e; return -1; }
    if (!r) break;
    sa->len += r;
    if (sa->len > max) { close(fd); errno = EFBIG; return -1; }
  }
  close(fd);
  return 1;
}

int spam_home_of(stralloc *sa, char const *maildir)
{
  size_t n = strlen(maildir);
  while (n > 1 && maildir[n - 1] == '/') n--;
  while (n && maildir[n - 1] != '/') n--;
  while (n > 1 && maildir[n - 1] == '/') n--;
  sa->len = 0;
  if (!n) return stralloc_catb(sa, ".", 1) && stralloc_0(sa);
  return stralloc_catb(sa, maildir, n) && stralloc_0(sa);
}
