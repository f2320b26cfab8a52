/* pochta-imapd: \Recent (RFC 3501 2.3.2, 6.3.1). A message is recent in
 * exactly one session: the first read-write session that sees it, however it
 * came (delivery, APPEND, COPY, MOVE, another program).
 *
 * "pochta-recent" in the folder holds the lowest uid no session has taken as
 * recent yet (a decimal number and LF). A read-write session that sees
 * messages at or above it takes them, under the uid-list lock, and moves it
 * past the highest uid it saw; read-only ones (EXAMINE, STATUS) count them and
 * take nothing. Without the file (a folder from before it, or from another
 * program) the messages in new/ are the recent ones, as Maildir has it; a
 * folder's first uid list starts it at 1 (every message is recent then). The
 * file is a small cache, not durable state: it is not fsynced, and after a
 * crash some messages may be recent once more. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbox.h"

static int recent_open(char const *dir, int create)
{
  char p[4700];
  snprintf(p, sizeof p, "%s/pochta-recent", dir);
  return open(p, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* The first uid not taken yet, 0 when there is no (valid) file. */
static uint32_t recent_first(int fd)
{
  char buf[32];
  ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
  if (r <= 0) return 0;
  buf[r] = 0;
  char *end;
  unsigned long v = strtoul(buf, &end, 10);
  return end == buf || *end != '\n' || !v || v > 0xffffffffu ? 0 : (uint32_t)v;
}

void recent_init(char const *dir)
{
  char p[4700];
  snprintf(p, sizeof p, "%s/pochta-recent", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  (void)!write(fd, "1\n", 2);
  close(fd);
}

static int is_recent(msg const *m, uint32_t first)
{
  return first ? m->uid >= first : (m->flags & F_INNEW) != 0;
}

void recent_mark(mbox *mb, uint32_t above, int take)
{
  size_t i = mb->n;
  /* the messages above `above`: at the end, the view is sorted by uid */
  while (i && mb->m[i - 1].uid > above) i--;
  if (i == mb->n) return;
  /* The file's number only grows: when it is already past these messages
   * without the lock, another session took them all, and the lock (which
   * every writer of the folder waits for) is not needed to learn it. */
  if (take) {
    int fd = recent_open(mb->dir, 0);
    uint32_t first = fd >= 0 ? recent_first(fd) : 0;
    if (fd >= 0) close(fd);
    if (first > mb->m[mb->n - 1].uid) return;
  }
  int lfd = take ? mbox_lock(mb->dir) : -1;
  int fd = recent_open(mb->dir, lfd >= 0);
  uint32_t first = fd >= 0 ? recent_first(fd) : 0;
  for (size_t k = i; k < mb->n; k++) if (is_recent(&mb->m[k], first)) mb->m[k].flags |= F_RECENT;
  uint32_t next = mb->m[mb->n - 1].uid + 1;
  if (lfd >= 0 && fd >= 0 && next > first && next) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%u\n", next);
    if (pwrite(fd, buf, (size_t)n, 0) == n) (void)!ftruncate(fd, n);
  }
  if (fd >= 0) close(fd);
  if (lfd >= 0) close(lfd);
}

uint32_t recent_count(mbox const *mb)
{
  int fd = recent_open(mb->dir, 0);
  uint32_t first = fd >= 0 ? recent_first(fd) : 0, n = 0;
  if (fd >= 0) close(fd);
  for (size_t i = 0; i < mb->n; i++) if (is_recent(&mb->m[i], first)) n++;
  return n;
}
