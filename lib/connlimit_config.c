/* The limits of a service: the line "service total per-source" of the file
 * connlimits, else the default below. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "connlimit.h"
#include "readsmall.h"

/* Sized for a small host (a session costs about 1 MB); tcpserver's -c must be
 * larger, so that a full service still gets to answer (pochta-config(5)). */
static struct { char const *service; unsigned total, persource; } const defaults[] = {
  { "smtp", 100, 20 },
  { "submission", 50, 10 },
  { "pop3", 100, 20 },
  { "imap", 300, 50 },
};

/* A decimal number up to max, the whole word. 1 ok. */
static int number(char const *s, size_t n, unsigned max, unsigned *v)
{
  unsigned long r = 0;
  if (!n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    r = r * 10 + (unsigned long)(s[i] - '0');
    if (r > max) return 0;
  }
  *v = (unsigned)r;
  return 1;
}

int connlimit_parse(char const *s, size_t len, char const *service, unsigned *total, unsigned *persource,
                    char const **why)
{
  size_t i = 0, sl = strlen(service);
  while (i < len) {
    char const *line = s + i, *w[4];
    size_t n = 0, wl[4], nw = 0, j = 0;
    while (i + n < len && s[i + n] != '\n') n++;
    i += n + 1;
    /* words separated by blanks; a # starts a comment */
    while (j < n && line[j] != '#') {
      if (line[j] == ' ' || line[j] == '\t' || line[j] == '\r') { j++; continue; }
      if (nw == 4) break;
      w[nw] = line + j;
      while (j < n && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '#') j++;
      wl[nw] = (size_t)(line + j - w[nw]);
      nw++;
    }
    if (!nw) continue;
    if (nw != 3) { *why = "connlimits: a line is not \"service total per-source\""; return -1; }
    /* every line is checked, so that a mistake shows whichever service it is for */
    unsigned t, p;
    if (!number(w[1], wl[1], CONNLIMIT_TOTAL_MAX, &t) || !number(w[2], wl[2], CONNLIMIT_SOURCE_MAX, &p)) {
      *why = "connlimits: a limit is not a number in range (total up to 1000000, per-source up to 1000)";
      return -1;
    }
    if (wl[0] == sl && !memcmp(w[0], service, sl)) { *total = t; *persource = p; }
  }
  return 0;
}

int connlimit_config(char const *service, unsigned *total, unsigned *persource, char const **why)
{
  stralloc sa = STRALLOC_ZERO;
  char path[4096], buf[4096];
  size_t len;
  int r;
  *why = 0;
  *total = *persource = 0;
  for (size_t k = 0; k < sizeof defaults / sizeof defaults[0]; k++)
    if (!strcmp(defaults[k].service, service)) { *total = defaults[k].total; *persource = defaults[k].persource; }
  if (!conf_path(path, sizeof path, "connlimits")) { *why = "connlimits: path too long"; return -1; }
  /* read every connection: into the stack when it fits, as it always does */
  r = read_small(path, buf, sizeof buf, &len);
  if (r == 1) return connlimit_parse(buf, len, service, total, persource, why);
  if (!r) return 0;
  if (r < 0 || !openslurpclose(&sa, path)) {
    if (errno == ENOENT) return 0;
    *why = "cannot read connlimits";
    return -1;
  }
  r = connlimit_parse(sa.s, sa.len, service, total, persource, why);
  stralloc_free(&sa);
  return r;
}
