/* pochta-imapd: the folder index "pochta-index", a cache of the last scan.
 *
 * A scan (readdir of new/ and cur/, the uid list, the modseq log) costs time and
 * memory in proportion to the folder. Its result is written, under the uid-list
 * lock, to "pochta-index": a header, the message records sorted by uid, and the
 * file names. A session whose folder still has the stamps the header records
 * maps the file copy-on-write instead of scanning: SELECT of a large folder
 * opened before costs a stat of four files and an mmap, and pages the session
 * never writes stay shared page cache. Only what a session changes (flags,
 * \Recent, names of files it renamed) becomes its own memory.
 *
 * Changes this program makes to a folder are made under the same lock, and a
 * STORE or APPEND also puts its change into the index (change_publish in
 * mbox.c), stamped as the folder is after it: the other sessions map the new
 * index instead of scanning. Only changes made without the lock (deliveries,
 * other programs) cost a scan.
 *
 * The file is a cache: written to a temporary name and renamed, never changed
 * in place (a mapping keeps the inode it was made from), never fsynced. It holds
 * this machine's byte order and record layout; anything else, a short or torn
 * file, records out of order or names out of range, is not used, and the next
 * scan writes it again.
 *
 * Stamps: the modification time of new/ and cur/, and inode, size and time of
 * dovecot-uidlist and pochta-modseq. A directory changed twice in one tick of
 * the clock that stamps files (4 ms here) keeps one time, so stamps taken in the
 * tick of a change do not prove that a later change will show. A scan made so
 * is "unconfirmed": it is used (by its session and, through the index, by
 * others), and every later look at the folder scans again (mbox_scan) until a
 * scan is confirmed, so nothing it may have missed waits longer than the next
 * command. File systems with multigrain timestamps (Linux 6.13 on: ext4, xfs,
 * btrfs) give a change after a stat a later time even within the tick: there
 * every scan is confirmed (see multigrain()); tmpfs is not one of them (a link
 * or unlink can leave the directory's time as it was).
 *
 * An index a session writes after its own change is confirmed only when the
 * one before it was, and an inotify watch saw nothing but that change in new/
 * and cur/ while it was made (change_publish in mbox.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>   /* RENAME_EXCHANGE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "mbox.h"

#define INDEX_MAGIC "pochtaI1"
#define INDEX_ORDER 0x01020304u

typedef struct {
  char magic[8];
  uint32_t order, recsize;
  uint32_t uidvalidity, uidnext;
  uint32_t confirmed, pad;
  uint64_t hms, n, nnames;
  mstamps st;
} ihead;

static void stamp_one(char const *dir, char const *name, mstamp *s)
{
  char p[4700];
  struct stat st;
  memset(s, 0, sizeof *s);
  snprintf(p, sizeof p, "%s/%s", dir, name);
  if (stat(p, &st) < 0) return;
  s->ino = st.st_ino;
  s->size = S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size;
  s->sec = st.st_mtim.tv_sec; s->nsec = st.st_mtim.tv_nsec;
}

static int before(mstamp const *s, struct timespec const *t)
{
  return s->sec < t->tv_sec || (s->sec == t->tv_sec && s->nsec < t->tv_nsec);
}

static int later(struct timespec const *a, struct timespec const *b)
{
  return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* One directory change (op) after a stat of d: did it get a time later than
 * that stat saw and later than the coarse clock after it? Only a fine-grained
 * time can be later than the coarse clock, and only a file system that gives
 * them to changes after a stat (Linux multigrain timestamps) does. */
static int mg_step(char const *d, int (*op)(char const *), char const *arg)
{
  for (int attempt = 0; attempt < 3; attempt++) {
    struct stat a, b;
    struct timespec c;
    if (stat(d, &a) < 0 || op(arg) < 0 || clock_gettime(CLOCK_REALTIME_COARSE, &c) < 0 || stat(d, &b) < 0) return 0;
    if (later(&b.st_mtim, &a.st_mtim) && later(&b.st_mtim, &c)) return 1;
    /* (the clock may have ticked between the change and our look: again) */
  }
  return 0;
}

static char mg_a[4800], mg_b[4800];
static int mg_create(char const *p) { int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); return fd < 0 ? -1 : close(fd); }
static int mg_link(char const *p) { return link(p, mg_b); }
static int mg_rename(char const *p) { return rename(p, mg_a); }
static int mg_unlink(char const *p) { return unlink(p); }

/* Does the folder's file system give every change made after a stat of a
 * directory a time of its own (Linux 6.13 and later: ext4, xfs, btrfs; not
 * every operation on tmpfs)? Then stamps never miss a later change, however
 * soon it comes. Tried once per process, with the operations deliveries and
 * sessions use (create, link, rename, unlink), in a directory of our own under
 * tmp/. */
static int multigrain(char const *dir)
{
  static int known = -1;
  char d[4700];
  if (known >= 0) return known;
  known = 0;
  snprintf(d, sizeof d, "%s/tmp/.pochta-mgtime.%d", dir, (int)getpid());
  snprintf(mg_a, sizeof mg_a, "%s/a", d);
  snprintf(mg_b, sizeof mg_b, "%s/b", d);
  unlink(mg_a); unlink(mg_b); rmdir(d);
  if (mkdir(d, 0700) < 0) return 0;
  known = mg_step(d, mg_create, mg_a) && mg_step(d, mg_link, mg_a)
       && mg_step(d, mg_unlink, mg_a) && mg_step(d, mg_rename, mg_b)
       && mg_step(d, mg_unlink, mg_a);
  unlink(mg_a); unlink(mg_b); rmdir(d);
  return known;
}

void index_stamps(char const *dir, mstamps *st, int *fresh)
{
  struct timespec t0;
  /* the coarse clock is the one file times come from: read it before the stats */
  if (clock_gettime(CLOCK_REALTIME_COARSE, &t0) < 0) { t0.tv_sec = 0; t0.tv_nsec = 0; }
  stamp_one(dir, "new", &st->dnew);
  stamp_one(dir, "cur", &st->dcur);
  stamp_one(dir, "dovecot-uidlist", &st->list);
  stamp_one(dir, "pochta-modseq", &st->mod);
  *fresh = (before(&st->dnew, &t0) && before(&st->dcur, &t0)) || multigrain(dir);
}

int index_stamps_same(mstamps const *a, mstamps const *b)
{
  return !memcmp(a, b, sizeof *a);
}

/* A small write buffer: the index is written in pieces, never built whole. */
typedef struct { int fd, ok; size_t len; char buf[32768]; } wbuf;

static void wput(wbuf *w, void const *p, size_t n)
{
  if (!w->ok) return;
  if (w->len + n > sizeof w->buf) {
    if (allwrite(w->fd, w->buf, w->len) != w->len) { w->ok = 0; return; }
    w->len = 0;
    if (n > sizeof w->buf) { if (allwrite(w->fd, p, n) != n) w->ok = 0; return; }
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
}

static void wrec(wbuf *w, msg const *m, uint64_t nameoff)
{
  msg r = *m;
  r.flags &= F_SYSMASK | F_INNEW;   /* \Recent and the like are the session's */
  r.name = (uint32_t)nameoff;
  wput(w, &r, sizeof r);
}

int index_write(mbox const *mb, msg const *extra, char const *extraname)
{
  char p[4700], t[4800];
  ihead h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, INDEX_MAGIC, 8);
  h.order = INDEX_ORDER; h.recsize = sizeof (msg);
  h.uidvalidity = mb->uidvalidity; h.uidnext = mb->uidnext;
  h.confirmed = mb->confirmed != 0;
  h.hms = mb->hms; h.n = mb->n + (extra != 0);
  h.st = mb->st;
  if (extra) {
    if (extra->uid >= h.uidnext) h.uidnext = extra->uid + 1;
    if (extra->modseq > h.hms) h.hms = extra->modseq;
  }
  snprintf(p, sizeof p, "%s/pochta-index", mb->dir);
  snprintf(t, sizeof t, "%s/pochta-index.tmp", mb->dir);
  wbuf w;
  /* A leftover of the name may be an old index that sessions still map (a
   * writer that died between the exchange below and its unlink): never
   * truncate it, take a new file. */
  unlink(t);
  w.fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (w.fd < 0) return -1;
  w.ok = 1; w.len = 0;
  wput(&w, &h, sizeof h);
  /* records (name offsets in the new blob), then the names */
  uint64_t off = 0;
  for (size_t i = 0; i < mb->n; i++) {
    wrec(&w, &mb->m[i], off);
    off += strlen(mbox_name(mb, &mb->m[i])) + 1;
  }
  if (extra) { wrec(&w, extra, off); off += strlen(extraname) + 1; }
  for (size_t i = 0; i < mb->n; i++) {
    char const *nm = mbox_name(mb, &mb->m[i]);
    wput(&w, nm, strlen(nm) + 1);
  }
  if (extra) wput(&w, extraname, strlen(extraname) + 1);
  if (w.ok && w.len && allwrite(w.fd, w.buf, w.len) != w.len) w.ok = 0;
  h.nnames = off;
  if (off >= NAME_OWN || pwrite(w.fd, &h, sizeof h, 0) != (ssize_t)sizeof h) w.ok = 0;
  if (close(w.fd) < 0) w.ok = 0;
  if (!w.ok) { unlink(t); return -1; }
  /* Renaming over the old index makes ext4 (auto_da_alloc) start writing the
   * new one to disk at once: a disk write per change of a file that is never
   * fsynced and soon replaced. Exchanging the two names and unlinking the old
   * one does not; where the exchange is not there (no index yet, a file system
   * without it), the rename. */
  if (syscall(SYS_renameat2, AT_FDCWD, t, AT_FDCWD, p, RENAME_EXCHANGE) == 0) { unlink(t); return 0; }
  if (rename(t, p) == 0) return 0;
  unlink(t);
  return -1;
}

/* Records in uid order, names within the blob, no session-only bits. */
static int index_valid(msg const *m, size_t n, char const *names, size_t nnames)
{
  uint32_t last = 0;
  if (nnames && names[nnames - 1]) return 0;
  for (size_t i = 0; i < n; i++) {
    if (m[i].uid <= last || m[i].name >= nnames) return 0;
    if (m[i].flags & ~(uint32_t)(F_SYSMASK | F_INNEW)) return 0;
    last = m[i].uid;
  }
  return 1;
}

/* The header fits a file of size octets made from st (any stamps when st is
 * null), confirmed if asked. */
static int head_ok(ihead const *h, uint64_t size, mstamps const *st, int confirmed)
{
  return !memcmp(h->magic, INDEX_MAGIC, 8) && h->order == INDEX_ORDER && h->recsize == sizeof (msg)
      && (!st || index_stamps_same(&h->st, st)) && (!confirmed || h->confirmed)
      && h->n <= 0xffffffffu && h->nnames < NAME_OWN
      && size == sizeof *h + h->n * sizeof (msg) + h->nnames;
}

int index_image_ok(void const *p, size_t len, mstamps const *st, int confirmed)
{
  ihead h;
  if (len < sizeof h) return 0;
  memcpy(&h, p, sizeof h);
  if (!head_ok(&h, len, st, confirmed)) return 0;
  msg const *m = (msg const *)((char const *)p + sizeof h);
  return index_valid(m, (size_t)h.n, (char const *)(m + h.n), (size_t)h.nnames);
}

int index_map(mbox *mb, mstamps const *st, int confirmed)
{
  char p[4700];
  ihead h;
  struct stat sb;
  snprintf(p, sizeof p, "%s/pochta-index", mb->dir);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  /* the header first: most files that do not fit are told by their stamps */
  if (fstat(fd, &sb) < 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h
      || !head_ok(&h, (uint64_t)sb.st_size, st, confirmed)) { close(fd); return 0; }
  /* writable pages are the session's own copies: flags it changes, \Recent */
  void *map = mmap(0, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return 0;
  /* header and records, as mapped (the records are checked only here) */
  if (!index_image_ok(map, (size_t)sb.st_size, st, confirmed)) { munmap(map, (size_t)sb.st_size); return 0; }
  memcpy(&h, map, sizeof h);
  msg *m = (msg *)((char *)map + sizeof h);
  mb->map = map; mb->maplen = (size_t)sb.st_size;
  mb->m = m; mb->n = (size_t)h.n; mb->cap = 0;
  mb->bnames = (char const *)(m + h.n); mb->nbnames = (size_t)h.nnames;
  mb->uidvalidity = h.uidvalidity; mb->uidnext = h.uidnext; mb->hms = h.hms;
  mb->st = *st; mb->confirmed = h.confirmed != 0; mb->scanned = 1;
  return 1;
}

void index_drop(mbox *mb)
{
  if (mb->map) munmap(mb->map, mb->maplen);
  else free(mb->m);
  mb->map = 0; mb->maplen = 0;
  mb->m = 0; mb->n = mb->cap = 0;
  mb->bnames = 0; mb->nbnames = 0;
  stralloc_free(&mb->heap);
  stralloc_free(&mb->names);
}
