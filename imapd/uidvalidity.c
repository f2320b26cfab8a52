/* pochta-imapd: a fresh UIDVALIDITY for a folder that has no uid list yet.
 *
 * A UIDVALIDITY must never be given twice to the same name (RFC 9051 2.3.1.1):
 * DELETE then CREATE of a name in the same second, or a folder renamed onto
 * the name of one made in the same second, would otherwise give UID 1 to two
 * different messages under one UIDVALIDITY. The user's Maildir keeps the last
 * value handed out in "pochta-uidvalidity" (a decimal number and LF), changed
 * under flock(2); a new value is the clock, or one more than the last when the
 * clock has not moved past it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mbox.h"

/* The user's Maildir of the folder dir: dir itself (INBOX), or its parent
 * when dir is a Maildir++ folder ("<root>/.name" in a Maildir). */
static void root_of(char const *dir, char *out, size_t len)
{
  char const *slash = strrchr(dir, '/');
  snprintf(out, len, "%s", dir);
  if (slash && slash[1] == '.' && slash > dir) {
    char cur[4800];
    snprintf(cur, sizeof cur, "%.*s/cur", (int)(slash - dir), dir);
    struct stat st;
    if (stat(cur, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(out, len, "%.*s", (int)(slash - dir), dir);
  }
}

/* Raise the counter of dir's Maildir to at least floor, or (floor 0) to a
 * new value; returns the counter's value, or the clock when it cannot be kept. */
static uint32_t counter(char const *dir, uint32_t floor)
{
  char root[4700], p[4800], buf[32];
  uint32_t now = (uint32_t)time(0), v = now ? now : 1;
  root_of(dir, root, sizeof root);
  snprintf(p, sizeof p, "%s/pochta-uidvalidity", root);
  int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return v;   /* (no place for the counter: the clock alone) */
  while (flock(fd, LOCK_EX) < 0) if (errno != EINTR) { close(fd); return v; }
  unsigned long last = 0;
  ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
  if (r > 0) {
    buf[r] = 0;
    char *end;
    last = strtoul(buf, &end, 10);
    if (end == buf || last >= 0xffffffffu) last = 0;
  }
  if (floor) v = last > floor ? (uint32_t)last : floor;
  else if (last >= v) v = (uint32_t)last + 1;
  if (v != last) {
    int n = snprintf(buf, sizeof buf, "%u\n", v);
    /* fsynced: after a crash the counter must not fall behind a uid list
     * that was written with the value */
    if (pwrite(fd, buf, (size_t)n, 0) == n && ftruncate(fd, n) == 0) fsync(fd);
  }
  close(fd);
  return v;
}

uint32_t uidvalidity_new(char const *dir) { return counter(dir, 0); }

void uidvalidity_seen(char const *dir)
{
  char p[4800], head[128];
  snprintf(p, sizeof p, "%s/dovecot-uidlist", dir);
  int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t r = read(fd, head, sizeof head - 1);
  close(fd);
  if (r < 3 || head[0] != '3' || head[1] != ' ') return;
  head[r] = 0;
  char *v = strstr(head, " V");
  if (!v) return;
  unsigned long x = strtoul(v + 2, 0, 10);
  if (x && x < 0xffffffffu) counter(dir, (uint32_t)x);
}

int mailbox_guid(char const *dir, char *out)
{
  char p[4800], head[256];
  snprintf(p, sizeof p, "%s/dovecot-uidlist", dir);
  int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t r = read(fd, head, sizeof head - 1);
  close(fd);
  if (r < 3 || head[0] != '3' || head[1] != ' ') return 0;
  head[r] = 0;
  char *nl = strchr(head, '\n');
  if (nl) *nl = 0;
  /* the G field: 32 hex digits Dovecot and pochta write when they make the list */
  for (char *c = head + 2; c; c = strchr(c, ' '), c = c ? c + 1 : 0)
    if (*c == 'G' && strspn(c + 1, "0123456789abcdef") >= 32) { memcpy(out, c + 1, 32); out[32] = 0; return 1; }
  return 0;
}
