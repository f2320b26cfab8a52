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

sess S = { .spoolfd = -1 };
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

static char const caps_base[] = "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CONDSTORE";
static char const caps_auth[] = " UIDPLUS MOVE SPECIAL-USE UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS ESEARCH BINARY";

static void caps(void)
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
  int any = 0, cond = 0;
  while (p_sp(p)) {
    pstr a;
    if (!p_atom(p, &a)) { resp("BAD Invalid capability"); stralloc_free(&en); return 1; }
    any = 1;
    if (strcase_eq(a.s, a.len, "IMAP4rev2")) {
      if (!S.rev2) { S.rev2 = 1; stralloc_cats(&en, " IMAP4rev2"); }
    } else if (strcase_eq(a.s, a.len, "CONDSTORE")) {
      if (!S.condstore) { cond = 1; stralloc_cats(&en, " CONDSTORE"); }
    }   /* UTF8=ACCEPT is not offered: ignored, as RFC 5161 says */
  }
  if (!any || !p_eol(p)) { resp("BAD Missing capability"); stralloc_free(&en); return 1; }
  io_puts("* ENABLED"); io_put(en.s, en.len); io_puts("\r\n");
  if (cond) condstore_on();
  stralloc_free(&en);
  resp("OK ENABLE completed");
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

/* --- changes of the selected mailbox -------------------------------------- */

void sess_update(int allow_expunge)
{
  mbox nw;
  if (S.state != S_SELECTED) return;
  if (mbox_scan(&nw, &S.mb, !allow_expunge) <= 0) return;
  mbox *old = &S.mb;
  size_t removed = 0, a = 0, b = 0;
  uint32_t oldrecent = 0, newrecent = 0;
  for (size_t i = 0; i < old->n; i++) if (old->m[i].flags & F_RECENT) oldrecent++;
  /* EXPUNGE first, in ascending order: each number is in the shrinking list */
  while (a < old->n) {
    if (b < nw.n && nw.m[b].uid == old->m[a].uid) { a++; b++; continue; }
    if (b < nw.n && nw.m[b].uid < old->m[a].uid) { b++; continue; }
    io_puts("* "); io_putu(a + 1 - removed); io_puts(" EXPUNGE\r\n");
    removed++; a++;
  }
  if (nw.n != old->n - removed) { io_puts("* "); io_putu(nw.n); io_puts(" EXISTS\r\n"); }
  for (size_t i = 0; i < nw.n; i++) if (nw.m[i].flags & F_RECENT) newrecent++;
  if (newrecent != oldrecent || nw.n != old->n - removed) { io_puts("* "); io_putu(newrecent); io_puts(" RECENT\r\n"); }
  /* flags that another session changed */
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
  if (S.state == S_SELECTED) mbox_free(&S.mb);
  S.state = S_AUTH;
  S.selname[0] = 0;
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
  if (!S.resp.len) return go;   /* the handler answered itself (STARTTLS, IDLE) */
  if (S.state == S_SELECTED && go && S.resp.s[0] != 'B') sess_update(!S.expunge_held);
  io_puts(tagbuf); io_put(" ", 1); io_put(S.resp.s, S.resp.len); io_puts("\r\n");
  return go;
}
