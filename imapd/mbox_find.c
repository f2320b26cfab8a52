/* pochta-imapd: finding a message's file after someone else renamed it.
 *
 * A session's view names each message's file as it was when the view was made.
 * Another session, mutt, Dovecot or pochta-pop3d may rename it since (a flag
 * change, new/ to cur/): then its name in the view is stale, and the file is
 * found again by its base name (the part before ':'), which never changes.
 * One readdir of new/ and cur/ serves every miss of a command: the names are
 * kept, sorted by base name, until the command ends (mbox_find_done), and read
 * again only when a name found in them has gone too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mbox.h"

static size_t base_len(char const *name)
{
  char const *c = strchr(name, ':');
  return c ? (size_t)(c - name) : strlen(name);
}

static char const *snap_names;
static int cmp_ent(void const *a, void const *b)
{
  mfent const *x = a, *y = b;
  size_t n = x->blen < y->blen ? x->blen : y->blen;
  int c = memcmp(snap_names + x->off, snap_names + y->off, n);
  return c ? c : (x->blen > y->blen) - (x->blen < y->blen);
}

void mbox_find_done(mbox *mb)
{
  free(mb->fse); mb->fse = 0; mb->fsn = 0;
  stralloc_free(&mb->fsnames);
  mb->fsvalid = 0;
}

static int snap_read(mbox *mb)
{
  static char const *const sub[2] = { "cur", "new" };
  size_t cap = 0;
  mbox_find_done(mb);
  for (int s = 0; s < 2; s++) {
    char p[4700];
    snprintf(p, sizeof p, "%s/%s", mb->dir, sub[s]);
    DIR *D = opendir(p);
    if (!D) continue;
    struct dirent *de;
    while ((de = readdir(D))) {
      if (de->d_name[0] == '.') continue;
      size_t l = strlen(de->d_name);
      if (mb->fsn == cap) {
        cap = cap ? cap * 2 : 256;
        mfent *ne = realloc(mb->fse, cap * sizeof *ne);
        if (!ne) { closedir(D); mbox_find_done(mb); return 0; }
        mb->fse = ne;
      }
      if (mb->fsnames.len > 0xffffffffu || !stralloc_catb(&mb->fsnames, de->d_name, l + 1)) { closedir(D); mbox_find_done(mb); return 0; }
      mfent *e = &mb->fse[mb->fsn++];
      e->off = (uint32_t)(mb->fsnames.len - l - 1);
      e->blen = (uint32_t)base_len(de->d_name);
      e->innew = (uint32_t)s;
    }
    closedir(D);
  }
  snap_names = mb->fsnames.s;
  if (mb->fsn) qsort(mb->fse, mb->fsn, sizeof *mb->fse, cmp_ent);
  mb->fsvalid = 1;
  return 1;
}

/* The entry of base name (nm, bl) in the snapshot, or null. A base seen in
 * both new/ and cur/ (a rename caught half way) gives the cur/ one: it sorts
 * first among equals only by chance, so both are looked at. */
static mfent const *snap_find(mbox const *mb, char const *nm, size_t bl)
{
  size_t lo = 0, hi = mb->fsn;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    mfent const *e = &mb->fse[mid];
    size_t n = e->blen < bl ? e->blen : bl;
    int c = memcmp(mb->fsnames.s + e->off, nm, n);
    if (!c) c = (e->blen > bl) - (e->blen < bl);
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  mfent const *best = 0;
  for (size_t i = lo; i < mb->fsn; i++) {
    mfent const *e = &mb->fse[i];
    if (e->blen != bl || memcmp(mb->fsnames.s + e->off, nm, bl)) break;
    if (!best || !e->innew) best = e;
  }
  return best;
}

static int take(mbox *mb, msg *m, mfent const *e)
{
  char const *name = mb->fsnames.s + e->off;
  if (!strcmp(name, mbox_name(mb, m)) && !!(m->flags & F_INNEW) == !!e->innew) return 0;
  if (!mbox_set_name(mb, m, name)) return 0;
  if (e->innew) m->flags |= F_INNEW; else m->flags &= ~F_INNEW;
  return 1;
}

int mbox_refind(mbox *mb, msg *m)
{
  char const *nm = mbox_name(mb, m);
  size_t bl = base_len(nm);
  char base[4096];
  if (bl >= sizeof base) return 0;
  memcpy(base, nm, bl);   /* (nm may move when the name changes) */
  if (mb->fsvalid) {
    mfent const *e = snap_find(mb, base, bl);
    char p[4700];
    if (e && take(mb, m, e) && mbox_path(mb, m, p, sizeof p) && access(p, F_OK) == 0) return 1;
  }
  if (!snap_read(mb)) return 0;
  mfent const *e = snap_find(mb, base, bl);
  return e && take(mb, m, e);
}

int mbox_open_msg(mbox *mb, msg *m)
{
  struct stat st;
  return mbox_open_msg_stat(mb, m, &st);
}

int mbox_open_msg_stat(mbox *mb, msg *m, struct stat *st)
{
  char p[4700];
  for (int attempt = 0; attempt < 3; attempt++) {
    if (!mbox_path(mb, m, p, sizeof p)) { errno = ENAMETOOLONG; return -1; }
    /* a message file is never a symbolic link: one planted there would let
     * the session read any file its owner can */
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      if (fstat(fd, st) == 0 && S_ISREG(st->st_mode)) return fd;
      close(fd);
      errno = EINVAL;   /* a FIFO or device is no message either */
      return -1;
    }
    if (errno != ENOENT || !mbox_refind(mb, m)) return -1;
  }
  errno = ENOENT;
  return -1;
}
