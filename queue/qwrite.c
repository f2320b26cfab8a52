/* See qwrite.h and pochta-queue(5): the data (mess/hh/<id>, its id claimed with
 * O_EXCL or a rename that never replaces) and the envelope (tmp/<id>), both
 * fsynced, the data's directory fsynced,
 * then the one commit point (rename into new/, fsync new/). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/random.h>
#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "qdir.h"
#include "qwrite.h"
#include "fdwrite.h"

int qwrite_begin(qwrite *w)
{
  memset(w, 0, sizeof *w);
  w->fd = -1;
  for (int tries = 0; tries < 16; tries++) {
    uint64_t v;
    random_buf((char *)&v, sizeof v);
    if (!v) continue;
    qpath_mess(w->mess, v);
    w->fd = qtrash_claim(w->mess, v);   /* the id is claimed as with O_EXCL */
    if (w->fd >= 0) { w->id = v; w->have_mess = 1; w->reused = 1; return 0; }
    if (errno == EEXIST) continue;
    w->fd = open(w->mess, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->fd >= 0) { w->id = v; w->have_mess = 1; return 0; }
    /* A queue directory that was never used: lay it out once, then retry. */
    if (errno == ENOENT && !tries && qdir_layout()) continue;
    if (errno != EEXIST) return QX_QUEUEDIR;
  }
  errno = EEXIST;
  return QX_QUEUEDIR;
}

int qwrite_data(qwrite *w, char const *s, size_t len)
{
  if (!fd_write_all(w->fd, s, len)) return QX_WRITE;
  w->len += len;
  return 0;
}

int qwrite_commit(qwrite *w, qenv const *e)
{
  stralloc out = STRALLOC_ZERO;
  char dir[QPATH_LEN], nw[QPATH_LEN];
  int fd, e2;
  if (!qenv_format(&out, e)) { errno = ENOMEM; return QX_NOMEM; }
  /* The envelope is written before anything is fsynced: then the first fsync
   * makes both files' creation durable in one journal commit, and the second has
   * almost nothing left to do (ext4 commits all pending metadata at once). */
  qpath_tmp(w->tmp, w->id, "");
  int reused = 1;
  fd = qtrash_claim(w->tmp, w->id >> 7);
  if (fd < 0 && errno != EEXIST) {
    reused = 0;
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0) { stralloc_free(&out); return QX_QUEUEDIR; }
  w->have_tmp = 1;
  if (!fd_write_all(fd, out.s, out.len)
      || (reused && ftruncate(fd, (off_t)out.len) < 0)
      || (w->reused && ftruncate(w->fd, (off_t)w->len) < 0)) {
    e2 = errno; close(fd); stralloc_free(&out); errno = e2; return QX_WRITE;
  }
  stralloc_free(&out);
  if (fsync(w->fd) < 0 || fsync(fd) < 0) { e2 = errno; close(fd); errno = e2; return QX_WRITE; }
  e2 = close(w->fd);
  w->fd = -1;
  if (close(fd) < 0 || e2 < 0) return QX_WRITE;
  qpath_messdir(dir, w->id);
  if (!dir_sync(dir)) return QX_WRITE;
  qpath_new(nw, w->id);
  if (rename(w->tmp, nw) < 0) return QX_QUEUEDIR;
  /* From here on the message exists: never remove it again. */
  w->have_tmp = 0;
  w->have_mess = 0;
  return dir_sync("new") ? 0 : QX_WRITE;
}

void qwrite_abort(qwrite *w)
{
  int e = errno;
  if (w->have_tmp) unlink(w->tmp);
  if (w->have_mess) unlink(w->mess);
  w->have_tmp = w->have_mess = 0;
  errno = e;
}
