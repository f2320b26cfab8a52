#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "selfdir.h"

int self_path(char *out, size_t len)
{
  ssize_t n;
  if (len < 2) { errno = ENAMETOOLONG; return 0; }
  n = readlink("/proc/self/exe", out, len - 1);
  if (n <= 0) return 0;
  if ((size_t)n >= len - 1) { errno = ENAMETOOLONG; return 0; }
  out[n] = 0;
  return 1;
}

int self_sibling(char *out, size_t len, char const *name)
{
  size_t nl = strlen(name), dl;
  char *slash;
  if (!self_path(out, len)) return 0;
  if (!(slash = strrchr(out, '/'))) { errno = ENOENT; return 0; }
  dl = (size_t)(slash + 1 - out);
  if (dl + nl + 1 > len) { errno = ENAMETOOLONG; return 0; }
  memcpy(out + dl, name, nl + 1);
  return 1;
}
