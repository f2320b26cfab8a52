/* pochta-imapd: SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, IDLE. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "imapd.h"
#include "io.h"
#include "maildir.h"

/* QRESYNC parameters (RFC 7162 3.2.5): uidvalidity, modseq, known uids. The
 * optional sequence match data only helps servers that forget expunges; it is
 * checked and not used. */
typedef struct { uint32_t uidvalidity; uint64_t modseq; seqset known; int has_known; } qresync_params;

static int p_qresync(pcur *p, qresync_params *q)
{
  range mr[SEQSET_MAX];
  seqset m = { mr, 0 };
  q->has_known = 0;
  if (!p_char(p, '(') || !p_nz_number(p, &q->uidvalidity) || !p_sp(p) || !p_modseq(p, 1, &q->modseq)) return 0;
  if (p_sp(p)) {
    if (!p_char(p, '(')) {
      if (!p_seqset(p, &q->known)) return 0;
      q->has_known = 1;
      if (!p_sp(p)) return p_char(p, ')');
      if (!p_char(p, '(')) return 0;
    }
    if (!p_seqset(p, &m) || !p_sp(p) || !p_seqset(p, &m) || !p_char(p, ')')) return 0;
  }
  return p_char(p, ')');
}

/* After the SELECT's own responses: what changed since the client's modseq,
 * VANISHED (EARLIER) first, then FETCH (UID FLAGS MODSEQ) of the messages
 * changed (of the known uids, when given). */
static void qresync_report(qresync_params const *q)
{
  /* no known uids: all there ever were */
  range all = { 1, S.mb.uidnext > 1 ? S.mb.uidnext - 1 : 1 };
  seqset every = { &all, 1 };
  seqset const *known = q->has_known ? &q->known : &every;
  uint32_t maxuid = S.mb.n ? S.mb.m[S.mb.n - 1].uid : 0;
  put_vanished_earlier(known, q->modseq);
  for (size_t i = 0; i < S.mb.n; i++) {
    msg const *m = &S.mb.m[i];
    if (m->modseq <= q->modseq || !seqset_has(known, m->uid, maxuid)) continue;
    io_puts("* "); io_putu(i + 1); io_puts(" FETCH (UID "); io_putu(m->uid);
    io_puts(" FLAGS "); put_flags(&S.mb, m->flags, m->kw); io_put(" ", 1); put_modseq(m); io_puts(")\r\n");
  }
}

static int do_select(pcur *p, int rw)
{
  pstr n;
  char dir[4500], c[256];
  if (!p_sp(p) || !p_astring(p, &n)) { resp("BAD Syntax: SELECT mailbox"); return 1; }
  int cond = 0, qr = 0;
  qresync_params q;
  range rr[SEQSET_MAX];
  q.known.r = rr; q.known.n = 0;
  if (p_sp(p)) {
    /* RFC 4466 select parameters: (CONDSTORE) and (QRESYNC (...)) */
    if (!p_char(p, '(')) { resp("BAD Invalid SELECT parameters"); return 1; }
    for (int first = 1; !p_char(p, ')'); first = 0) {
      if (!first && !p_sp(p)) { resp("BAD Invalid SELECT parameters"); return 1; }
      if (p_word(p, "CONDSTORE")) { cond = 1; continue; }
      if (!p_word(p, "QRESYNC")) { resp("BAD Unsupported SELECT parameters"); return 1; }
      /* RFC 7162 3.2.5: only after ENABLE QRESYNC, and once */
      if (!S.qresync) { resp("BAD ENABLE QRESYNC first"); return 1; }
      if (qr || !p_sp(p) || !p_qresync(p, &q)) { resp("BAD Syntax: (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))"); return 1; }
      qr = 1;
    }
    if (!cond && !qr) { resp("BAD Empty SELECT parameters"); return 1; }
  }
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  int had = S.state == S_SELECTED;
  if (had) { sess_unselect(); io_puts("* OK [CLOSED] Previous mailbox closed\r\n"); }
  if (!folder_canon(n.s, n.len, c, sizeof c) || !folder_dir(n.s, n.len, dir, sizeof dir)) { resp("NO [NONEXISTENT] No such mailbox"); return 1; }
  mbox mb;
  memset(&mb, 0, sizeof mb);
  int r = mbox_open(&mb, dir, rw);
  if (r == 0) { resp("NO [NONEXISTENT] No such mailbox"); return 1; }
  if (r < 0) { respf("NO [SERVERBUG] Cannot open mailbox: %s", strerror(errno)); return 1; }
  recent_mark(&mb, 0, rw);
  if (rw) mbox_take_new(&mb);
  S.mb = mb;
  S.state = S_SELECTED;
  S.readonly = !rw;
  snprintf(S.selname, sizeof S.selname, "%s", c);
  /* on before the answer: this SELECT reports HIGHESTMODSEQ itself */
  if (cond) S.condstore = 1;
  uint32_t recent = 0, unseen = 0;
  for (size_t i = 0; i < mb.n; i++) {
    if (mb.m[i].flags & F_RECENT) recent++;
    if (!unseen && !(mb.m[i].flags & F_SEEN)) unseen = (uint32_t)i + 1;
  }
  put_flag_lists(&S.mb);
  io_puts("* "); io_putu(mb.n); io_puts(" EXISTS\r\n");
  io_puts("* "); io_putu(recent); io_puts(" RECENT\r\n");
  if (unseen && !S.rev2) { io_puts("* OK [UNSEEN "); io_putu(unseen); io_puts("] First unseen\r\n"); }
  io_puts("* OK [UIDVALIDITY "); io_putu(mb.uidvalidity); io_puts("] UIDs valid\r\n");
  io_puts("* OK [UIDNEXT "); io_putu(mb.uidnext); io_puts("] Predicted next UID\r\n");
  char guid[33];
  if (mailbox_guid(mb.dir, guid)) { io_puts("* OK [MAILBOXID (F"); io_puts(guid); io_puts(")] Ok\r\n"); }
  if (S.condstore) { io_puts("* OK [HIGHESTMODSEQ "); io_putu(mb.hms); io_puts("] Highest\r\n"); }
  if (S.rev2) { io_puts("* LIST () \".\" "); io_putstr(c, strlen(c)); io_puts("\r\n"); }
  if (qr && q.uidvalidity == mb.uidvalidity) qresync_report(&q);
  notify_selected();
  respf(rw ? "OK [READ-WRITE] %s completed" : "OK [READ-ONLY] %s completed", rw ? "SELECT" : "EXAMINE");
  return 1;
}

int c_select(pcur *p, int uid) { (void)uid; return do_select(p, 1); }
int c_examine(pcur *p, int uid) { (void)uid; return do_select(p, 0); }

/* Remove the \Deleted messages (of the uid set when given). Returns how many. */
static size_t expunge(seqset const *uids)
{
  size_t n = 0;
  uint32_t maxuid = S.mb.n ? S.mb.m[S.mb.n - 1].uid : 0;
  /* under the uid-list lock, like every change this program makes to cur/:
   * another session putting its change into the index must not take ours in
   * unseen (see change_publish). Without the lock it still goes on. */
  int locked = mbox_change_begin(&S.mb) == 0;
  for (size_t i = 0; i < S.mb.n; i++) {
    msg *m = &S.mb.m[i];
    if (!(m->flags & F_DELETED) || (m->flags & F_GONE)) continue;
    if (uids && !seqset_has(uids, m->uid, maxuid)) continue;
    char path[4600];
    for (int attempt = 0; attempt < 3; attempt++) {
      if (!mbox_path(&S.mb, m, path, sizeof path)) break;
      if (unlink(path) == 0) { n++; if (locked) mbox_note_removed(&S.mb, m); break; }
      /* renamed since the view was made: removed only if still \Deleted */
      if (errno != ENOENT || !mbox_refind(&S.mb, m) || !maildir_hasflag(mbox_name(&S.mb, m), 'T')) break;
    }
  }
  if (locked) mbox_change_end(&S.mb);
  /* durable before the answer, but not under the lock every other session of
   * the folder waits for: an expunge lost in a crash only brings a message
   * back, under its own uid */
  if (n) {
    char d[4500];
    snprintf(d, sizeof d, "%s/cur", S.mb.dir);
    mbox_sync_dir(d);
  }
  return n;
}

int c_expunge(pcur *p, int uid)
{
  range rr[SEQSET_MAX];
  seqset ss = { rr, 0 };
  if (uid && (!p_sp(p) || !p_seqset(p, &ss))) { resp("BAD Syntax: UID EXPUNGE set"); return 1; }
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  if (S.readonly) { resp("NO [READ-ONLY] Mailbox is read-only"); return 1; }
  /* what is \Deleted now, whoever set it: the view is brought up to date
   * first (its changes reported as usual) */
  sess_update(1);
  expunge(uid ? &ss : 0);
  resp("OK EXPUNGE completed");
  return 1;
}

int c_close(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  if (!S.readonly) expunge(0);
  sess_unselect();
  resp("OK CLOSE completed");
  return 1;
}

int c_unselect(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  sess_unselect();
  resp("OK UNSELECT completed");
  return 1;
}

/* IDLE: report changes as they happen. inotify watches new/ and cur/ of the
 * selected folder, so a delivery is reported at once; a rescan every 30 s as well
 * catches what inotify cannot see (e.g. NFS). */
int c_idle(pcur *p, int uid)
{
  (void)uid;
  static stralloc line = STRALLOC_ZERO;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  int ino = -1;
  if (S.state == S_SELECTED) {
    ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ino >= 0) {
      char d[4500];
      uint32_t ev = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
      snprintf(d, sizeof d, "%s/new", S.mb.dir); inotify_add_watch(ino, d, ev);
      snprintf(d, sizeof d, "%s/cur", S.mb.dir); inotify_add_watch(ino, d, ev);
    }
    sess_update(1);
    /* A view made in the clock tick of a change may miss a change made after
     * it in the same tick, before the watches began: confirm it once the tick
     * is over (see index.c), or such a change would wait for the 30 s look. */
    for (int i = 0; i < 3 && S.state == S_SELECTED && !S.mb.confirmed; i++) { usleep(5000); sess_update(1); }
  }
  io_puts("+ idling\r\n");
  io_flush();
  int waited = 0;
  for (;;) {
    int r = io_wait2(ino, notify_fd(), 30000);
    if (r < 0) { if (ino >= 0) close(ino); return 0; }
    if (r == 3) { notify_drain(); notify_check(1); io_flush(); continue; }
    if (r == 0) {
      waited += 30;
      if (waited >= 1800) { io_puts("* BYE Idle too long\r\n"); if (ino >= 0) close(ino); return 0; }
      if (S.state == S_SELECTED) sess_update(1);
      notify_check(1);
      io_flush();
      continue;
    }
    if (r == 2) {
      char buf[4096];
      while (read(ino, buf, sizeof buf) > 0) ;
      /* let a burst of deliveries finish before we look */
      usleep(20000);
      while (read(ino, buf, sizeof buf) > 0) ;
      sess_update(1);
      io_flush();
      continue;
    }
    int g = io_getline(&line, 1024);
    if (g <= 0 && g != -1) { if (ino >= 0) close(ino); return 0; }
    if (ino >= 0) close(ino);
    if (g == 1 && strcase_eq(line.s, line.len, "DONE")) { resp("OK IDLE terminated"); return 1; }
    resp("BAD Expected DONE");
    return 1;
  }
}
