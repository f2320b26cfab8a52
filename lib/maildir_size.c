#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"

void maildir_size_add(maildir_size *z, char const *s, size_t n)
{
  for (size_t i = 0; i < n; ) {
    char const *lf = memchr(s + i, '\n', n - i);
    size_t end = lf ? (size_t)(lf - s) : n;
    if (lf) {
      int before = end > i ? s[end-1] == '\r' : z->lastcr;
      if (!before) z->crlf++;
    }
    if (end > i || lf) z->lastcr = (lf ? 0 : s[end-1] == '\r');
    i = lf ? end + 1 : n;
  }
  if (n) z->lastlf = s[n-1] == '\n';
  z->bytes += n;
}

uint64_t maildir_size_crlf(maildir_size const *z)
{
  uint64_t tail = !z->bytes || z->lastlf ? 0 : z->lastcr ? 1 : 2;
  return z->bytes + z->crlf + tail;
}

int maildir_size_fd(int fd, uint64_t *v)
{
  char buf[65536];
  maildir_size z = MAILDIR_SIZE_ZERO;
  if (lseek(fd, 0, SEEK_SET) < 0) return 0;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; return 0; }
    if (!r) break;
    maildir_size_add(&z, buf, (size_t)r);
  }
  *v = maildir_size_crlf(&z);
  return 1;
}
