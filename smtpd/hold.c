/* Where pochta-smtpd holds a message until it is whole: an unnamed file in the
 * queue's tmp/ (O_TMPFILE: on the queue's disk, gone by itself whatever happens to
 * us), or, when the queue is another program's (POCHTA_QUEUE) or the file system
 * has no O_TMPFILE, an anonymous memory file. Mapped once whole, for the checks and
 * the copy into the queue. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold.h"
#include "smtpd.h"

static int fd = -1;
static char *map;
static size_t maplen;
static char const *holddir;   /* "tmp" once we are in the queue directory */

void hold_in_queue(char const *dir) { holddir = dir; }

static int h_open(smtpd *s)
{
  if (fd >= 0) s->h->hold_close(s);
  if (holddir) fd = open(holddir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) fd = memfd_create("pochta-smtpd", MFD_CLOEXEC);
  if (fd < 0) { slog(s, "hold-failed", "error", strerror(errno), (char *)0); return 0; }
  return 1;
}

static int h_write(smtpd *s, char const *p, size_t n)
{
  (void)s;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return 0; }
    p += w; n -= (size_t)w;
  }
  return 1;
}

static int h_map(smtpd *s, char const **p, size_t *n)
{
  struct stat st;
  if (fstat(fd, &st) < 0) goto fail;
  *n = (size_t)st.st_size;
  if (!*n) { *p = ""; return 1; }
  map = mmap(0, *n, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { map = 0; goto fail; }
  maplen = *n;
  *p = map;
  return 1;
 fail:
  slog(s, "hold-failed", "error", strerror(errno), (char *)0);
  return 0;
}

static void h_close(smtpd *s)
{
  (void)s;
  if (map) munmap(map, maplen);
  map = 0; maplen = 0;
  if (fd >= 0) close(fd);
  fd = -1;
}

void hold_hooks(hooks *h)
{
  h->hold_open = h_open;
  h->hold_write = h_write;
  h->hold_map = h_map;
  h->hold_close = h_close;
}
