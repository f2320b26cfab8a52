/* pochta-imapd: STORE, COPY, MOVE. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "imapd.h"
#include "io.h"
#include "maildir.h"
#include "mime.h"

int msg_in_set(seqset const *ss, int uid, size_t idx)
{
  if (uid) {
    uint32_t maxuid = S.mb.n ? S.mb.m[S.mb.n - 1].uid : 0;
    return seqset_has(ss, S.mb.m[idx].uid, maxuid);
  }
  return seqset_has(ss, (uint32_t)idx + 1, (uint32_t)S.mb.n);
}

/* Message numbers beyond the mailbox are an error (UIDs are not). */
int seqset_valid(seqset const *ss, int uid)
{
  if (uid) return 1;
  for (size_t i = 0; i < ss->n; i++) {
    if (ss->r[i].hi > S.mb.n || ss->r[i].lo > S.mb.n) return 0;
    if (!S.mb.n) return 0;
  }
  return 1;
}

/* Has the file of m been renamed since we last looked (by a program that did
 * not write the modseq log yet)? Then its modseq is not known: it counts as
 * modified for UNCHANGEDSINCE. */
static int renamed(msg const *m)
{
  char path[4700];
  return !mbox_path(&S.mb, m, path, sizeof path) || access(path, F_OK) < 0;
}

static void put_store_fetch(size_t i, int uid, int silent, uint64_t before)
{
  msg const *m = &S.mb.m[i];
  /* RFC 7162 3.1.3: even .SILENT reports a new modseq, so the client's cache stays right */
  if (silent && !(S.condstore && m->modseq != before)) return;
  io_puts("* "); io_putu(i + 1); io_puts(" FETCH (");
  if (uid || S.condstore) { io_puts("UID "); io_putu(m->uid); io_put(" ", 1); }
  if (!silent) { io_puts("FLAGS "); put_flags(&S.mb, m->flags, m->kw); }
  if (S.condstore) { if (!silent) io_put(" ", 1); put_modseq(m); }
  io_puts(")\r\n");
}

int c_store(pcur *p, int uid)
{
  range rr[SEQSET_MAX];
  seqset ss = { rr, 0 };
  pstr item;
  uint32_t fl, kw;
  uint64_t since = 0;
  S.expunge_held = !uid;
  if (!p_sp(p) || !p_seqset(p, &ss) || !p_sp(p)) { resp("BAD Syntax: STORE set item flags"); return 1; }
  int cond = p_modseq_modifier(p, "UNCHANGEDSINCE", &since);
  if (cond > 0 && !p_sp(p)) cond = -1;
  if (cond < 0) { resp("BAD Syntax: STORE set (UNCHANGEDSINCE modseq) item flags"); return 1; }
  if (!p_atom(p, &item) || !p_sp(p)) { resp("BAD Syntax: STORE set item flags"); return 1; }
  int mode = FL_REPLACE;
  char const *it = item.s; size_t il = item.len;
  if (il && it[0] == '+') { mode = FL_ADD; it++; il--; }
  else if (il && it[0] == '-') { mode = FL_REMOVE; it++; il--; }
  int silent = 0;
  if (strcase_eq(it, il, "FLAGS.SILENT")) silent = 1;
  else if (!strcase_eq(it, il, "FLAGS")) { resp("BAD Unknown STORE item"); return 1; }
  if (!seqset_valid(&ss, uid)) { resp("BAD Invalid message sequence number"); return 1; }
  if (S.readonly) { resp("NO [READ-ONLY] Mailbox is read-only"); return 1; }
  /* a keyword is made even when it is taken off (-FLAGS), as Dovecot does:
   * the client then finds it in FLAGS */
  int r = parse_flags(p, &S.mb, &fl, &kw, 1, 0);
  if (r < 0) { resp("NO [LIMIT] Too many keywords"); return 1; }
  if (!r || !p_eol(p)) { resp("BAD Invalid flag list"); return 1; }
  if (cond) condstore_on();
  /* a keyword this STORE created is announced before it is used */
  flags_announce(&S.mb);
  /* the changes happen under the lock (one log write for them all);
   * the answers are written after it is released, a slow client holds no lock */
  typedef struct { size_t i; uint64_t before; int other, learn; } done_t;
  done_t *done = malloc((S.mb.n ? S.mb.n : 1) * sizeof *done);
  if (!done) { resp("NO [SERVERBUG] Out of memory"); return 1; }
  size_t nd = 0;
  stralloc mod = STRALLOC_ZERO;
  uint32_t ml = 0, ms0 = 0;
  int failed = 0, gone = 0;
  if (mbox_change_begin(&S.mb) < 0) { free(done); resp("NO [SERVERBUG] Cannot lock the mailbox"); return 1; }
  if (cond) modseq_refresh(&S.mb);
  for (size_t i = 0; i < S.mb.n; i++) {
    if (!msg_in_set(&ss, uid, i)) continue;
    msg *m = &S.mb.m[i];
    if (cond && !(m->flags & F_GONE) && (m->modseq > since || renamed(m))) { uidset_add(&mod, &ml, &ms0, uid ? m->uid : (uint32_t)i + 1); continue; }
    /* what the client expects, from what it was told; the change itself is
     * applied to the flags the file has now (mbox_setflags) */
    uint32_t want = mbox_flags_apply(mode, m->flags & F_SYSMASK & ~F_PASSED, fl);
    uint32_t wantkw = mbox_flags_apply(mode, m->kw, kw);
    done[nd].i = i; done[nd].before = m->modseq; done[nd].other = 0; done[nd].learn = 0;
    uint32_t kwbefore = m->kw;
    int s = (m->flags & F_GONE) ? 0 : mbox_setflags(&S.mb, m, mode, fl, kw);
    if (s < 0) { failed = 1; continue; }
    if (s == 0) {
      /* Expunged by someone else, not reported yet: the change is made to
       * what the session still shows of it, and answered (RFC 2180 4.2.1) */
      m->flags = (m->flags & ~(F_SYSMASK & ~F_PASSED)) | want;
      m->kw = wantkw;
      gone = 1; nd++;
      continue;
    }
    /* another session's change came to light: .SILENT must not hide it */
    done[nd].other = (m->flags & F_SYSMASK & ~F_PASSED) != want || m->kw != wantkw;
    done[nd].learn = learn_class_keywords(&S.mb, kwbefore, m->kw);
    nd++;
  }
  if (mbox_change_end(&S.mb) < 0) failed = 1;
  /* $Junk and $NotJunk set now train the classifier, outside the folder's lock */
  learn_batch lb = LEARN_BATCH_ZERO;
  for (size_t k = 0; k < nd; k++) if (done[k].learn) learn_msg(&lb, done[k].learn, &S.mb, &S.mb.m[done[k].i]);
  learn_end(&lb);
  for (size_t k = 0; k < nd; k++) put_store_fetch(done[k].i, uid, silent && !done[k].other, done[k].before);
  free(done);
  uidset_end(&mod, ml, ms0);
  /* Messages another session expunged are left out and the rest is done
   * (RFC 2180 4.2.1): OK, with EXPUNGEISSUED (RFC 5530), as Dovecot. */
  char const *text = failed ? "Some messages could not be changed" : gone ? "Some messages were already expunged" : 0;
  if (mod.len) {
    /* the set may be long: respf's buffer is not enough */
    resp(failed ? "NO [MODIFIED " : "OK [MODIFIED ");
    stralloc_catb(&S.resp, mod.s, mod.len);
    stralloc_cats(&S.resp, "] ");
    stralloc_cats(&S.resp, text ? text : "Conditional STORE failed");
  } else if (failed) resp("NO [SERVERBUG] Some messages could not be changed");
  else if (gone) resp("OK [EXPUNGEISSUED] Some messages were already expunged");
  else resp("OK STORE completed");
  stralloc_free(&mod);
  return 1;
}

/* Unlink the files of the messages marked F_MOVED and fsync cur/. -1 if one
 * could not be removed. */
static int unlink_moved(void)
{
  int r = 0, locked = mbox_change_begin(&S.mb) == 0;
  for (size_t i = 0; i < S.mb.n; i++) {
    msg *m = &S.mb.m[i];
    char path[4700];
    if (!(m->flags & F_MOVED)) continue;
    m->flags &= ~F_MOVED;
    if (!mbox_path(&S.mb, m, path, sizeof path)) continue;
    if (unlink(path) == 0) { if (locked) mbox_note_removed(&S.mb, m); }
    else if (errno != ENOENT) r = -1;
  }
  if (locked) mbox_change_end(&S.mb);
  char d[4600];
  snprintf(d, sizeof d, "%s/cur", S.mb.dir);
  if (mbox_sync_dir(d) < 0) r = -1;
  return r;
}

/* Messages linked and added to the target at once (mbox_add_batch). */
#define COPY_BATCH 256

/* Copy m's file to tmp (another file system: no hard link), fsynced. 0 ok, -1. */
static int copy_file(msg *m, char const *tmp)
{
  int ifd = mbox_open_msg(&S.mb, m);
  int ofd = ifd >= 0 ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
  char buf[65536]; ssize_t r = 0; int ok = ifd >= 0 && ofd >= 0;
  while (ok && (r = read(ifd, buf, sizeof buf)) > 0) if (allwrite(ofd, buf, (size_t)r) != (size_t)r) ok = 0;
  if (r < 0 || (ok && fsync(ofd) < 0)) ok = 0;
  if (ifd >= 0) close(ifd);
  if (ofd >= 0) close(ofd);
  if (!ok && ofd >= 0) unlink(tmp);
  return ok ? 0 : -1;
}

static int do_copy(pcur *p, int uid, int move)
{
  range rr[SEQSET_MAX];
  seqset ss = { rr, 0 };
  pstr n;
  char dir[4500];
  if (!p_sp(p) || !p_seqset(p, &ss) || !p_sp(p) || !p_astring(p, &n) || !p_eol(p)) { resp(move ? "BAD Syntax: MOVE set mailbox" : "BAD Syntax: COPY set mailbox"); return 1; }
  if (!seqset_valid(&ss, uid)) { resp("BAD Invalid message sequence number"); return 1; }
  if (!folder_dir(n.s, n.len, dir, sizeof dir) || !maildir_exists(dir)) { resp("NO [TRYCREATE] No such mailbox"); return 1; }
  if (move && S.readonly) { resp("NO [READ-ONLY] Mailbox is read-only"); return 1; }
  mbox dm;
  memset(&dm, 0, sizeof dm);
  snprintf(dm.dir, sizeof dm.dir, "%s", dir);
  stralloc src = STRALLOC_ZERO, dst = STRALLOC_ZERO;
  uint32_t sl = 0, ss0 = 0, dl = 0, ds0 = 0, validity = 0;
  int failed = 0, any = 0;
  /* A COPY is all or nothing (RFC 9051 6.4.7): when another session expunged
   * one of the messages, nothing is copied (RFC 2180 4.4.1, as Dovecot). */
  for (size_t i = 0; i < S.mb.n; i++) {
    if (!msg_in_set(&ss, uid, i)) continue;
    msg *m = &S.mb.m[i];
    char from[4600];
    if ((m->flags & F_GONE) || !mbox_path(&S.mb, m, from, sizeof from)
        || (access(from, F_OK) < 0 && (errno != ENOENT || !mbox_refind(&S.mb, m)))) {
      resp("NO [EXPUNGEISSUED] Some of the requested messages no longer exist");
      return 1;
    }
  }
  /* in batches: each is linked into the target's tmp/, then moved into its
   * cur/ with one fsync and one write of its uid list (mbox_add_batch) */
  int kmap[MAXKW];
  for (unsigned k = 0; k < MAXKW; k++) kmap[k] = -2;
  int cls = learn_class_copy(n.s, n.len);
  learn_batch lb = LEARN_BATCH_ZERO;
  mbox_new nm[COPY_BATCH];
  size_t srcidx[COPY_BATCH];
  stralloc pool = STRALLOC_ZERO;
  size_t i = 0;
  while (i < S.mb.n) {
    size_t nb = 0, off[COPY_BATCH][2];
    pool.len = 0;
    for (; i < S.mb.n && nb < COPY_BATCH; i++) {
      if (!msg_in_set(&ss, uid, i)) continue;
      msg *m = &S.mb.m[i];
      char from[4600], tmp[4800], uq[300], fin[400];
      if (!mbox_path(&S.mb, m, from, sizeof from)) { failed = 1; continue; }
      /* the flags the file has now, whoever set them */
      uint32_t mfl, mkw;
      char const *name = mbox_name(&S.mb, m);
      char const *letters = maildir_flags(name);
      mbox_flagparse(letters, strlen(letters), &mfl, &mkw);
      /* keywords are per folder: map names (once per keyword) */
      uint32_t kw = 0;
      for (unsigned k = 0; k < S.mb.nkw; k++) {
        if (!(mkw & (1u << k)) || !S.mb.kw[k]) continue;
        if (kmap[k] == -2) kmap[k] = mbox_keyword(&dm, S.mb.kw[k], strlen(S.mb.kw[k]), 1);
        if (kmap[k] >= 0) kw |= 1u << kmap[k];
      }
      uint64_t sz, w;
      mbox_uniq(uq, sizeof uq);
      if (maildir_nameval(name, 'S', &sz) && maildir_nameval(name, 'W', &w))
        snprintf(fin, sizeof fin, "%s,S=%llu,W=%llu", uq, (unsigned long long)sz, (unsigned long long)w);
      else snprintf(fin, sizeof fin, "%s", uq);
      snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, fin);
      /* same file system: a hard link shares the (immutable) message */
      if (link(from, tmp) < 0 && copy_file(m, tmp) < 0) { failed = 1; continue; }
      off[nb][0] = pool.len;
      if (!stralloc_catb(&pool, tmp, strlen(tmp) + 1)) { unlink(tmp); failed = 1; continue; }
      off[nb][1] = pool.len;
      if (!stralloc_catb(&pool, fin, strlen(fin) + 1)) { unlink(tmp); failed = 1; continue; }
      nm[nb].flags = mfl & F_SYSMASK; nm[nb].kw = kw; nm[nb].date = 0;
      srcidx[nb++] = i;
    }
    if (!nb) continue;
    for (size_t k = 0; k < nb; k++) { nm[k].from = pool.s + off[k][0]; nm[k].name = pool.s + off[k][1]; }
    uint32_t v;
    if (mbox_add_batch(dir, nm, nb, 0, &v) < 0) failed = 1;
    for (size_t k = 0; k < nb; k++) {
      if (!nm[k].added) { unlink(nm[k].from); failed = 1; continue; }
      any = 1;
      if (nm[k].uid) { validity = v; uidset_add(&src, &sl, &ss0, S.mb.m[srcidx[k]].uid); uidset_add(&dst, &dl, &ds0, nm[k].uid); }
      /* the copy is durable (mbox_add_batch); the original is still there */
      learn_msg(&lb, cls, &S.mb, &S.mb.m[srcidx[k]]);
      if (move) S.mb.m[srcidx[k]].flags |= F_MOVED;
    }
  }
  stralloc_free(&pool);
  uidset_end(&src, sl, ss0); uidset_end(&dst, dl, ds0);
  for (unsigned k = 0; k < MAXKW; k++) free(dm.kw[k]);
  /* the originals go once every copy is in place, in one batch under the
   * lock, as every change to cur/ (see expunge in select.c) */
  if (move && any && unlink_moved() < 0) failed = 1;
  learn_end(&lb);
  if (failed && !any) resp(move ? "NO Messages could not be moved" : "NO Messages could not be copied");
  else if (validity && src.len) {
    stralloc_0(&src); stralloc_0(&dst);
    if (move) {
      io_puts("* OK [COPYUID "); io_putu(validity); io_put(" ", 1); io_puts(src.s); io_put(" ", 1); io_puts(dst.s); io_puts("] Moved\r\n");
      resp("OK MOVE completed");
    } else respf("OK [COPYUID %u %s %s] COPY completed", validity, src.s, dst.s);
  } else resp(move ? "OK MOVE completed" : "OK COPY completed");
  stralloc_free(&src); stralloc_free(&dst);
  return 1;
}

int c_copy(pcur *p, int uid) { return do_copy(p, uid, 0); }
int c_move(pcur *p, int uid) { return do_copy(p, uid, 1); }
