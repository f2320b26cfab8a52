#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>

#include "maildir.h"

/* Per process counter: with the time in microseconds and the pid it makes the
 * name unique on this host even when one process delivers many messages. */
static unsigned long counter;

/* The host part: the spec asks for '/' and ':' to be written as \057 and \072
 * so that a name never holds a path separator or the flags separator. We also
 * turn ',' into \054 so that the ",S=" fields stay the only commas. */
static size_t host_part(char *buf, size_t len)
{
  char host[256];
  size_t w = 0;
  if (gethostname(host, sizeof host - 1) < 0) strcpy(host, "localhost");
  host[sizeof host - 1] = 0;
  for (char const *p = host; *p; p++) {
    char const *esc = *p == '/' ? "\\057" : *p == ':' ? "\\072" : *p == ',' ? "\\054" : 0;
    size_t n = esc ? 4 : 1;
    if (w + n >= len) return 0;
    if (esc) memcpy(buf + w, esc, 4); else buf[w] = *p;
    w += n;
  }
  buf[w] = 0;
  return w;
}

size_t maildir_uniq(char *buf, size_t len)
{
  struct timespec ts;
  char host[256 * 4];
  if (clock_gettime(CLOCK_REALTIME, &ts) < 0) return 0;
  if (!host_part(host, sizeof host)) return 0;
  int n = snprintf(buf, len, "%llu.M%luP%ldQ%lu.%s", (unsigned long long)ts.tv_sec,
                   (unsigned long)(ts.tv_nsec / 1000), (long)getpid(), ++counter, host);
  if (n < 0 || (size_t)n >= len || n > MAILDIR_NAMEMAX - 40) return 0;
  return (size_t)n;
}

size_t maildir_keyname(char *buf, size_t len, char const *key)
{
  char host[256 * 4];
  if (!host_part(host, sizeof host)) return 0;
  int n = snprintf(buf, len, "%s.%s", key, host);
  if (n < 0 || (size_t)n >= len || n > MAILDIR_NAMEMAX - 40) return 0;
  return (size_t)n;
}
