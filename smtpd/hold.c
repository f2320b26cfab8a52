/* Where pochta-smtpd holds a message until it is whole: an anonymous memory file,
 * and once it grows past HOLD_MEM, an unnamed file in the queue's tmp/ (O_TMPFILE:
 * on the queue's disk, gone by itself whatever happens to us) that takes over what
 * was held so far. Most mail is small: it never touches the disk twice (freeing a
 * file's blocks costs more here than the rest of a message's work). Mapped once
 * whole, for the checks and the copy into the queue. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold.h"
#include "smtpd.h"

#define HOLD_MEM (1u << 20)

static int fd = -1;
static size_t held;           /* octets written */
static int ondisk;
static char *map;
static size_t maplen;
static char const *holddir;   /* "tmp" once we are in the queue directory */

void hold_in_queue(char const *dir) { holddir = dir; }

static int h_open(smtpd *s)
{
  if (fd >= 0) s->h->hold_close(s);
  held = 0; ondisk = 0;
  fd = memfd_create("pochta-smtpd", MFD_CLOEXEC);
  if (fd < 0) { slog(s, "hold-failed", "error", strerror(errno), (char *)0); return 0; }
  return 1;
}

/* A big message: to the queue's disk, with what is held so far. */
static int spill(smtpd *s)
{
  int d;
  off_t off = 0;
  ondisk = 1;
  if (!holddir || (d = open(holddir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) return 1;   /* memory it is */
  while ((size_t)off < held) {
    ssize_t r = sendfile(d, fd, &off, held - (size_t)off);
    if (r <= 0) { if (r < 0 && errno == EINTR) continue; slog(s, "hold-failed", "error", strerror(errno ? errno : EIO), (char *)0); close(d); return 0; }
  }
  close(fd);
  fd = d;
  return 1;
}

static int h_write(smtpd *s, char const *p, size_t n)
{
  if (!ondisk && held + n > HOLD_MEM && !spill(s)) return 0;
  held += n;
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
