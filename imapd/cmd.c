/* pochta-imapd: the command table, its dispatcher and the small commands.
 * Adding a command is adding a row: verb, states where it is allowed, handler. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapd.h"
#include "io.h"
#include "search.h"

sess S;
char cur_tag[256];

static struct { char const *verb; int states; cmd_fn fn; } const table[] = {
  { "CAPABILITY", S_ANY, c_capability },
  { "NOOP", S_ANY, c_noop },
  { "LOGOUT", S_ANY, c_logout },
  { "ID", S_ANY, c_id },
  { "STARTTLS", S_NOAUTH, c_starttls },
  { "LOGIN", S_NOAUTH, c_login },
  { "AUTHENTICATE", S_NOAUTH, c_authenticate },
  { "ENABLE", S_AUTH | S_SELECTED, c_enable },
  { "SELECT", S_AUTH | S_SELECTED, c_select },
  { "EXAMINE", S_AUTH | S_SELECTED, c_examine },
  { "CREATE", S_AUTH | S_SELECTED, c_create },
  { "DELETE", S_AUTH | S_SELECTED, c_delete },
  { "RENAME", S_AUTH | S_SELECTED, c_rename },
  { "SUBSCRIBE", S_AUTH | S_SELECTED, c_subscribe },
  { "UNSUBSCRIBE", S_AUTH | S_SELECTED, c_unsubscribe },
  { "LIST", S_AUTH | S_SELECTED, c_list },
  { "LSUB", S_AUTH | S_SELECTED, c_lsub },
  { "STATUS", S_AUTH | S_SELECTED, c_status },
  { "APPEND", S_AUTH | S_SELECTED, c_append },
  { "NAMESPACE", S_AUTH | S_SELECTED, c_namespace },
  { "IDLE", S_AUTH | S_SELECTED, c_idle },
  { "COMPRESS", S_AUTH | S_SELECTED, c_compress },
  { "CHECK", S_SELECTED, c_check },
  { "CLOSE", S_SELECTED, c_close },
  { "UNSELECT", S_SELECTED, c_unselect },
  { "EXPUNGE", S_SELECTED, c_expunge },
  { "SEARCH", S_SELECTED, c_search },
  { "FETCH", S_SELECTED, c_fetch },
  { "STORE", S_SELECTED, c_store },
  { "COPY", S_SELECTED, c_copy },
  { "MOVE", S_SELECTED, c_move },
  { "UID", S_SELECTED, c_uid },
  { "SORT", S_SELECTED, c_sort },
  { "THREAD", S_SELECTED, c_thread },
  { "CANCELUPDATE", S_SELECTED, c_cancelupdate },
  { "NOTIFY", S_AUTH | S_SELECTED, c_notify },
};

void resp(char const *s) { S.resp.len = 0; stralloc_cats(&S.resp, s); }

void respf(char const *fmt, ...)
{
  char b[1024];
  va_list ap; va_start(ap, fmt); vsnprintf(b, sizeof b, fmt, ap); va_end(ap);
  resp(b);
}

void logf_(char const *fmt, ...)
{
  char b[1024];
  va_list ap; va_start(ap, fmt); vsnprintf(b, sizeof b, fmt, ap); va_end(ap);
  fprintf(stderr, "pochta-imapd: %s\n", b);
}

static char const caps_base[] = "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CONDSTORE QRESYNC";
static char const caps_auth[] = " UIDPLUS MOVE SPECIAL-USE UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS ESEARCH BINARY COMPRESS=DEFLATE"
  " SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT WITHIN SAVEDATE STATUS=SIZE"
  " MULTIAPPEND CATENATE OBJECTID CREATE-SPECIAL-USE PARTIAL NOTIFY";

void caps(void)
{
  io_puts(caps_base);
  if (S.state == S_NOAUTH) {
    if (S.starttls_ok && !S.tls) io_puts(" STARTTLS");
    if (S.tls || S.plain_ok) io_puts(" AUTH=PLAIN");
    else io_puts(" LOGINDISABLED");
  } else io_puts(caps_auth);
}

void capability_line(void) { io_puts("* CAPABILITY "); caps(); io_puts("\r\n"); }

void cmd_greeting(void)
{
  io_puts("* OK [CAPABILITY "); caps(); io_puts("] pochta IMAP ready\r\n");
}

int c_capability(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  capability_line();
  resp("OK CAPABILITY completed");
  return 1;
}

int c_noop(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  resp("OK NOOP completed");
  return 1;
}

int c_check(pcur *p, int uid) { return c_noop(p, uid) && (resp("OK CHECK completed"), 1); }

int c_logout(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  io_puts("* BYE Logging out\r\n");
  resp("OK LOGOUT completed");
  return 0;
}

int c_id(pcur *p, int uid)
{
  (void)uid;
  /* the client's values are only checked for syntax, never used */
  if (!p_sp(p)) { resp("BAD Missing arguments"); return 1; }
  if (!p_word(p, "NIL")) {
    if (!p_char(p, '(')) { resp("BAD Invalid ID"); return 1; }
    int n = 0;
    while (!p_char(p, ')')) {
      pstr k, v;
      if (n && !p_sp(p)) { resp("BAD Invalid ID"); return 1; }
      if (!p_string(p, &k) || !p_sp(p) || !p_nstring(p, &v) || ++n > 30) { resp("BAD Invalid ID"); return 1; }
    }
  }
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  io_puts("* ID (\"name\" \"pochta\")\r\n");
  resp("OK ID completed");
  return 1;
}

int c_enable(pcur *p, int uid)
{
  (void)uid;
  stralloc en = STRALLOC_ZERO;
  int any = 0, cond = 0, listed = 0;
  while (p_sp(p)) {
    pstr a;
    if (!p_atom(p, &a)) { resp("BAD Invalid capability"); stralloc_free(&en); return 1; }
    any = 1;
    if (strcase_eq(a.s, a.len, "IMAP4rev2")) {
      if (!S.rev2) { S.rev2 = 1; stralloc_cats(&en, " IMAP4rev2"); }
    } else if (strcase_eq(a.s, a.len, "CONDSTORE")) {
      if (!S.condstore && !listed) { cond = listed = 1; stralloc_cats(&en, " CONDSTORE"); }
    } else if (strcase_eq(a.s, a.len, "QRESYNC")) {
      /* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
      if (!S.qresync) { S.qresync = 1; cond = 1; stralloc_cats(&en, " QRESYNC"); }
    }   /* UTF8=ACCEPT is not offered: ignored, as RFC 5161 says */
  }
  if (!any || !p_eol(p)) { resp("BAD Missing capability"); stralloc_free(&en); return 1; }
  io_puts("* ENABLED"); io_put(en.s, en.len); io_puts("\r\n");
  if (cond) condstore_on();
  stralloc_free(&en);
  resp("OK ENABLE completed");
  return 1;
}

/* COMPRESS DEFLATE (RFC 4978): the tagged OK is the last thing sent plain. */
int c_compress(pcur *p, int uid)
{
  pstr m;
  (void)uid;
  if (!p_sp(p) || !p_atom(p, &m) || !p_eol(p)) { resp("BAD Syntax: COMPRESS DEFLATE"); return 1; }
  if (!strcase_eq(m.s, m.len, "DEFLATE")) { resp("BAD Unknown compression mechanism"); return 1; }
  if (io_compressing()) { resp("NO [COMPRESSIONACTIVE] DEFLATE active already"); return 1; }
  if (io_compress_init() < 0) { resp("NO [SERVERBUG] Cannot start compression"); return 1; }
  io_puts(cur_tag); io_puts(" OK DEFLATE active\r\n");
  if (io_flush() < 0 || io_compress_start() < 0) return 0;
  logf_("event=compress mechanism=deflate");
  return 1;
}

int c_namespace(pcur *p, int uid)
{
  (void)uid;
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  io_puts("* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
  resp("OK NAMESPACE completed");
  return 1;
}

int c_uid(pcur *p, int uid)
{
  (void)uid;
  pstr v;
  if (!p_sp(p) || !p_atom(p, &v)) { resp("BAD Missing command"); return 1; }
  if (strcase_eq(v.s, v.len, "FETCH")) return c_fetch(p, 1);
  if (strcase_eq(v.s, v.len, "SEARCH")) return c_search(p, 1);
  if (strcase_eq(v.s, v.len, "STORE")) return c_store(p, 1);
  if (strcase_eq(v.s, v.len, "COPY")) return c_copy(p, 1);
  if (strcase_eq(v.s, v.len, "MOVE")) return c_move(p, 1);
  if (strcase_eq(v.s, v.len, "EXPUNGE")) return c_expunge(p, 1);
  if (strcase_eq(v.s, v.len, "SORT")) return c_sort(p, 1);
  if (strcase_eq(v.s, v.len, "THREAD")) return c_thread(p, 1);
  resp("BAD Unknown UID command");
  return 1;
}

/* --- flags ---------------------------------------------------------------- */

static struct { char const *name; uint32_t bit; } const sysflags[] = {
  { "\\Seen", F_SEEN }, { "\\Answered", F_ANSWERED }, { "\\Flagged", F_FLAGGED },
  { "\\Deleted", F_DELETED }, { "\\Draft", F_DRAFT },
};

int parse_flags(pcur *p, mbox *mb, uint32_t *flags, uint32_t *kw, int add_kw, int paren_required)
{
  int paren = p_char(p, '(');
  if (!paren && paren_required) return 0;
  *flags = 0; *kw = 0;
  int first = 1;
  for (;;) {
    if (paren && p_char(p, ')')) return 1;
    if (!first && !p_sp(p)) return 0;
    pstr f;
    if (!p_flag(p, &f)) return 0;
    first = 0;
    if (f.s[0] == '\\') {
      size_t i;
      for (i = 0; i < sizeof sysflags / sizeof *sysflags; i++)
        if (strcase_eq(f.s, f.len, sysflags[i].name)) { *flags |= sysflags[i].bit; break; }
      if (i == sizeof sysflags / sizeof *sysflags && !strcase_eq(f.s, f.len, "\\Recent")) return 0;
    } else if (mb) {
      int k = mbox_keyword(mb, f.s, f.len, add_kw);
      if (k >= 0) *kw |= 1u << k;
      else if (add_kw) return -1;
    }
    if (!paren) return 1;
  }
}

/* A digest of the keyword names, to tell whether the client knows them all. */
static uint64_t kw_digest(mbox const *mb)
{
  uint64_t h = 1469598103934665603ull;
  for (unsigned i = 0; i < mb->nkw; i++) {
    char const *k = mb->kw[i] ? mb->kw[i] : "";
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  return h;
}

void put_flag_lists(mbox const *mb)
{
  io_puts("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
  for (unsigned i = 0; i < mb->nkw; i++) if (mb->kw[i]) { io_put(" ", 1); io_puts(mb->kw[i]); }
  io_puts(")\r\n");
  if (mb->rw) {
    io_puts("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for (unsigned i = 0; i < mb->nkw; i++) if (mb->kw[i]) { io_put(" ", 1); io_puts(mb->kw[i]); }
    io_puts(mb->nkw < MAXKW ? " \\*)] Flags permitted\r\n" : ")] Flags permitted\r\n");
  } else io_puts("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
  S.kwdigest = kw_digest(mb);
}

void flags_announce(mbox const *mb)
{
  /* RFC 9051 7.3.5: a keyword the client has not been told of comes with a new
   * FLAGS (and PERMANENTFLAGS) first */
  if (S.state == S_SELECTED && kw_digest(mb) != S.kwdigest) put_flag_lists(mb);
}

void put_flags(mbox const *mb, uint32_t flags, uint32_t kw)
{
  int sp = 0;
  io_put("(", 1);
  for (size_t i = 0; i < sizeof sysflags / sizeof *sysflags; i++)
    if (flags & sysflags[i].bit) { if (sp) io_put(" ", 1); io_puts(sysflags[i].name); sp = 1; }
  if (flags & F_RECENT) { if (sp) io_put(" ", 1); io_puts("\\Recent"); sp = 1; }
  for (unsigned i = 0; i < MAXKW; i++)
    if ((kw & (1u << i)) && i < mb->nkw && mb->kw[i]) { if (sp) io_put(" ", 1); io_puts(mb->kw[i]); sp = 1; }
  io_put(")", 1);
}

/* --- CONDSTORE ----------------------------------------------------------- */

void condstore_on(void)
{
  if (S.condstore) return;
  S.condstore = 1;
  /* RFC 7162 3.1: enabled while a mailbox is selected, the client learns its
   * HIGHESTMODSEQ now (SELECT/EXAMINE tell it themselves) */
  if (S.state == S_SELECTED) { io_puts("* OK [HIGHESTMODSEQ "); io_putu(S.mb.hms); io_puts("] Highest\r\n"); }
}

int p_modseq(pcur *p, int zero_ok, uint64_t *v)
{
  size_t save = p->pos;
  if (!p_number64(p, v) || *v > MODSEQ_MAX || (!*v && !zero_ok)) { p->pos = save; return 0; }
  return 1;
}

int p_modseq_modifier(pcur *p, char const *name, uint64_t *v)
{
  int have = 0;
  if (!p_char(p, '(')) return 0;
  for (int first = 1; !p_char(p, ')'); first = 0) {
    if (!first && !p_sp(p)) return -1;
    if (have || !p_word(p, name) || !p_sp(p) || !p_modseq(p, 1, v)) return -1;
    have = 1;
  }
  return have ? 1 : -1;
}

void put_modseq(msg const *m) { io_puts("MODSEQ ("); io_putu(m->modseq); io_puts(")"); }

/* --- QRESYNC ----------------------------------------------------------- */

void uidset_add(stralloc *sa, uint32_t *last, uint32_t *start, uint32_t uid)
{
  char b[32];
  if (*last && uid == *last + 1) { *last = uid; return; }
  if (*last) {
    if (*start != *last) { snprintf(b, sizeof b, ":%u", *last); stralloc_cats(sa, b); }
    stralloc_catb(sa, ",", 1);
  }
  snprintf(b, sizeof b, "%u", uid); stralloc_cats(sa, b);
  *start = *last = uid;
}

void uidset_end(stralloc *sa, uint32_t last, uint32_t start)
{
  char b[32];
  if (last && start != last) { snprintf(b, sizeof b, ":%u", last); stralloc_cats(sa, b); }
}

/* Add the uids lo..hi (lo >= 1) that are not in the mailbox to the set. */
static void gaps(stralloc *sa, uint32_t *last, uint32_t *start, uint32_t lo, uint32_t hi)
{
  size_t k = 0, e = S.mb.n;
  /* the first message with uid >= lo */
  while (k < e) { size_t mid = (k + e) / 2; if (S.mb.m[mid].uid < lo) k = mid + 1; else e = mid; }
  uint64_t u = lo;
  for (; u <= hi; k++) {
    uint64_t next = k < S.mb.n ? S.mb.m[k].uid : (uint64_t)hi + 1;
    if (next > (uint64_t)hi + 1) next = (uint64_t)hi + 1;
    if (next > u) {
      /* u .. next-1 are absent: one run (uidset_add starts it, last ends it) */
      uidset_add(sa, last, start, (uint32_t)u);
      *last = (uint32_t)(next - 1);
    }
    u = next + 1;
  }
}

void put_vanished_earlier(seqset const *ss, uint64_t since)
{
  if (since >= S.mb.hms || !S.mb.uidnext) return;
  /* "*" is UIDNEXT-1 here, not the highest uid left: the highest messages may
   * be the ones expunged */
  uint32_t top = S.mb.uidnext - 1, maxuid = top;
  if (!top) return;
  /* the ranges of ss in ascending order, merged, within 1..top */
  uint64_t lo[SEQSET_MAX], hi[SEQSET_MAX];
  size_t n = 0;
  for (size_t i = 0; i < ss->n; i++) {
    uint32_t a = ss->r[i].lo ? ss->r[i].lo : maxuid, b = ss->r[i].hi ? ss->r[i].hi : maxuid;
    if (a > b) { uint32_t t = a; a = b; b = t; }
    if (!a) a = 1;
    if (b > top) b = top;
    if (a > b) continue;
    lo[n] = a; hi[n] = b; n++;
  }
  /* insertion sort: sets are short */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j && lo[j - 1] > lo[j]; j--) {
      uint64_t t = lo[j]; lo[j] = lo[j - 1]; lo[j - 1] = t; t = hi[j]; hi[j] = hi[j - 1]; hi[j - 1] = t;
    }
  stralloc sa = STRALLOC_ZERO;
  uint32_t last = 0, start = 0;
  uint64_t done = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t a = lo[i] > done ? lo[i] : done + 1;
    if (a > hi[i]) continue;
    gaps(&sa, &last, &start, (uint32_t)a, (uint32_t)hi[i]);
    done = hi[i];
  }
  uidset_end(&sa, last, start);
  if (sa.len) { io_puts("* VANISHED (EARLIER) "); io_put(sa.s, sa.len); io_puts("\r\n"); }
  stralloc_free(&sa);
}

/* --- changes of the selected mailbox -------------------------------------- */

void sess_update(int allow_expunge)
{
  mbox nw;
  if (S.state != S_SELECTED) return;
  if (mbox_scan(&nw, &S.mb, !allow_expunge) <= 0) return;
  mbox *old = &S.mb;
  /* messages new to this session may be recent in it */
  recent_mark(&nw, old->n ? old->m[old->n - 1].uid : 0, !S.readonly);
  size_t removed = 0, a = 0, b = 0;
  uint32_t oldrecent = 0, newrecent = 0;
  for (size_t i = 0; i < old->n; i++) if (old->m[i].flags & F_RECENT) oldrecent++;
  /* results kept up to date: what left them, while the old numbers hold */
  context_update(old, &nw);
  /* EXPUNGE first, in ascending order: each number is in the shrinking list;
   * with QRESYNC one VANISHED of their uids (RFC 7162 3.2.10) */
  stralloc van = STRALLOC_ZERO;
  uint32_t vl = 0, vs = 0;
  while (a < old->n) {
    if (b < nw.n && nw.m[b].uid == old->m[a].uid) { a++; b++; continue; }
    if (b < nw.n && nw.m[b].uid < old->m[a].uid) { b++; continue; }
    if (S.qresync) uidset_add(&van, &vl, &vs, old->m[a].uid);
    else { io_puts("* "); io_putu(a + 1 - removed); io_puts(" EXPUNGE\r\n"); }
    removed++; a++;
  }
  uidset_end(&van, vl, vs);
  if (van.len) { io_puts("* VANISHED "); io_put(van.s, van.len); io_puts("\r\n"); }
  stralloc_free(&van);
  if (nw.n != old->n - removed) { io_puts("* "); io_putu(nw.n); io_puts(" EXISTS\r\n"); }
  for (size_t i = 0; i < nw.n; i++) if (nw.m[i].flags & F_RECENT) newrecent++;
  /* RECENT whenever its number changed, an expunge of recent messages too (a
   * client keeps the count RECENT gave it: imaptest's checkpoints add them) */
  if (newrecent != oldrecent || nw.n != old->n - removed) { io_puts("* "); io_putu(newrecent); io_puts(" RECENT\r\n"); }
  context_added();
  /* flags that another session changed; their keywords told first */
  flags_announce(&nw);
  a = 0;
  for (b = 0; b < nw.n; b++) {
    while (a < old->n && old->m[a].uid < nw.m[b].uid) a++;
    if (a < old->n && old->m[a].uid == nw.m[b].uid && !(nw.m[b].flags & F_GONE)
        && ((old->m[a].flags & F_SYSMASK) != (nw.m[b].flags & F_SYSMASK) || old->m[a].kw != nw.m[b].kw
            || (S.condstore && old->m[a].modseq != nw.m[b].modseq))) {
      io_puts("* "); io_putu(b + 1); io_puts(" FETCH (");
      /* RFC 7162 3.1: with CONDSTORE on, unsolicited FETCH carry UID and MODSEQ */
      if (S.condstore) { io_puts("UID "); io_putu(nw.m[b].uid); io_put(" ", 1); }
      io_puts("FLAGS ");
      put_flags(&nw, nw.m[b].flags, nw.m[b].kw);
      if (S.condstore) { io_put(" ", 1); put_modseq(&nw.m[b]); }
      io_puts(")\r\n");
    }
  }
  mbox_free(&S.mb);
  S.mb = nw;
}

void sess_unselect(void)
{
  context_reset();
  msgkeys_reset();
  if (S.state == S_SELECTED) mbox_free(&S.mb);
  S.state = S_AUTH;
  S.selname[0] = 0;
  notify_selected();
}

/* --- dispatcher ----------------------------------------------------------- */

int cmd_run(stralloc *cmd)
{
  pcur p = { .s = cmd->s, .len = cmd->len, .pos = 0 };
  pstr tag, verb;
  char *tagbuf = cur_tag;
  if (!p_tag(&p, &tag) || tag.len >= sizeof cur_tag) { io_puts("* BAD Missing or invalid tag\r\n"); return 1; }
  memcpy(tagbuf, tag.s, tag.len); tagbuf[tag.len] = 0;
  S.resp.len = 0;
  S.expunge_held = 0;
  int go = 1;
  if (!p_sp(&p) || !p_atom(&p, &verb)) resp("BAD Missing command");
  else {
    size_t i;
    for (i = 0; i < sizeof table / sizeof *table; i++)
      if (strcase_eq(verb.s, verb.len, table[i].verb)) break;
    if (i == sizeof table / sizeof *table) resp("BAD Unknown command");
    else if (!(table[i].states & S.state))
      resp(S.state == S_NOAUTH ? "BAD Log in first" : S.state == S_AUTH ? "BAD No mailbox selected" : "BAD Not allowed now");
    else go = table[i].fn(&p, 0);
  }
  if (S.state == S_SELECTED) mbox_find_done(&S.mb);
  if (!S.resp.len) return go;   /* the handler answered itself (STARTTLS, IDLE) */
  if (S.state == S_SELECTED && go && S.resp.s[0] != 'B') sess_update(!S.expunge_held);
  if (go && notify_on()) notify_check(0);
  io_puts(tagbuf); io_put(" ", 1); io_put(S.resp.s, S.resp.len); io_puts("\r\n");
  return go;
}
