/* pochta-imapd: NOTIFY (RFC 5465). The client names mailboxes and events; the
 * session then tells it of them as they happen, between commands and in IDLE:
 * the selected mailbox's changes as the usual responses (and FETCH of new
 * messages with the attributes asked for), other mailboxes' as STATUS, new,
 * deleted and renamed mailboxes and subscription changes as LIST.
 *
 * One inotify descriptor watches the user's Maildir (folders come and go,
 * the subscriptions file is replaced) and new/ and cur/ of every mailbox
 * watched; when the kernel has no more watches to give, the mailboxes are
 * looked at every NOTIFY_POLL seconds instead. A look at a mailbox is a stat
 * of its stamps (index.c); only one whose stamps changed is opened. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "imapd.h"
#include "io.h"
#include "search.h"

#define NOTIFY_BOXES_MAX 1000  /* mailboxes one NOTIFY may watch */
#define NOTIFY_FILTERS_MAX 32

#define EV_NEW 1
#define EV_EXPUNGE 2
#define EV_FLAGS 4
#define EV_NAME 8              /* MailboxName */
#define EV_SUBS 16             /* SubscriptionChange */

enum { F_SELECTED, F_SELDELAYED, F_INBOXES, F_PERSONAL, F_SUBSCRIBED, F_SUBTREE, F_MAILBOXES };

typedef struct { int kind; unsigned ev; char **names; size_t nnames; } nfilter;

typedef struct {
  char *name;
  unsigned ev;
  mstamps st;
  int known;               /* the values below were taken */
  uint32_t messages, uidnext, uidvalidity;
  uint64_t hms;
} nbox;

static struct {
  int on;
  nfilter f[NOTIFY_FILTERS_MAX]; int nf;
  unsigned sel_ev; int sel_delayed;
  stralloc sel_fetch;      /* MessageNew's fetch attributes, "(...)" or empty */
  unsigned box_ev;         /* EV_NAME | EV_SUBS asked for anywhere */
  nbox *b; size_t nb;
  char **folders; size_t nfolders;   /* the last folder list (MailboxName) */
  char **subs; size_t nsubs;         /* the last subscriptions (SubscriptionChange) */
  int ino, poll_only;
  uint32_t sel_maxuid;     /* the selected mailbox's highest uid told of */
} N = { .ino = -1 };

static void free_names(char **v, size_t n) { for (size_t i = 0; i < n; i++) free(v[i]); free(v); }

static void notify_off(void)
{
  for (int i = 0; i < N.nf; i++) free_names(N.f[i].names, N.f[i].nnames);
  for (size_t i = 0; i < N.nb; i++) free(N.b[i].name);
  free(N.b); N.b = 0; N.nb = 0; N.nf = 0;
  folders_free(N.folders); folders_free(N.subs); N.folders = N.subs = 0;
  if (N.ino >= 0) close(N.ino);
  N.ino = -1; N.on = 0; N.sel_ev = 0; N.box_ev = 0; N.poll_only = 0;
  N.sel_fetch.len = 0;
}

/* --- parsing ----------------------------------------------------------------- */

/* events: "(" event *(SP event) ")" / "NONE". 1 ok, 0 BAD, -1 BADEVENT. */
static int p_events(pcur *p, unsigned *ev, int selected, stralloc *fetch)
{
  *ev = 0;
  if (p_word(p, "NONE")) return 1;
  if (!p_char(p, '(')) return 0;
  for (int first = 1; !p_char(p, ')'); first = 0) {
    pstr a;
    if ((!first && !p_sp(p)) || !p_atom(p, &a)) return 0;
    if (strcase_eq(a.s, a.len, "MessageNew")) {
      *ev |= EV_NEW;
      if (p_peek(p, ' ') && p->pos + 1 < p->len && p->s[p->pos + 1] == '(') {
        /* fetch attributes for new messages: only for the selected mailbox */
        size_t start = ++p->pos, depth = 0;
        for (; p->pos < p->len; p->pos++) {
          if (p->s[p->pos] == '(') depth++;
          else if (p->s[p->pos] == ')' && !--depth) break;
          else if (p->s[p->pos] == '\n' || p->s[p->pos] == '\r') return 0;   /* no literals */
        }
        if (p->pos >= p->len || !selected) return 0;
        p->pos++;
        if (fetch && !stralloc_copyb(fetch, p->s + start, p->pos - start)) return 0;
      }
    } else if (strcase_eq(a.s, a.len, "MessageExpunge")) *ev |= EV_EXPUNGE;
    else if (strcase_eq(a.s, a.len, "FlagChange")) *ev |= EV_FLAGS;
    else if (strcase_eq(a.s, a.len, "MailboxName")) *ev |= EV_NAME;
    else if (strcase_eq(a.s, a.len, "SubscriptionChange")) *ev |= EV_SUBS;
    else return -1;
  }
  /* (RFC 5465 5 would have MessageNew, MessageExpunge and FlagChange come
   * together; each alone is taken, as Dovecot takes it) */
  /* mailbox events make no sense for the selected mailbox alone */
  if (selected && (*ev & (EV_NAME | EV_SUBS))) return 0;
  return 1;
}

/* one-or-more-mailbox: mailbox, or "(" mailbox *(SP mailbox) ")" */
static int p_boxes(pcur *p, nfilter *f)
{
  int list = p_char(p, '(');
  size_t cap = 0;
  for (int first = 1; ; first = 0) {
    pstr n;
    char c[FOLDER_NAME_MAX + 8];
    if (list && p_char(p, ')')) break;
    if (list && !first && !p_sp(p)) return 0;
    if (!p_astring(p, &n)) return 0;
    if (f->nnames == NOTIFY_BOXES_MAX) return -1;
    if (f->nnames == cap) {
      cap = cap ? cap * 2 : 8;
      char **nv = realloc(f->names, cap * sizeof *nv);
      if (!nv) return 0;
      f->names = nv;
    }
    /* (a name that is none is kept as written: it matches no folder) */
    if (!folder_canon(n.s, n.len, c, sizeof c)) snprintf(c, sizeof c, "%.*s", (int)(n.len < FOLDER_NAME_MAX ? n.len : FOLDER_NAME_MAX), n.s);
    if (!(f->names[f->nnames] = strdup(c))) return 0;
    f->nnames++;
    if (!list) break;
  }
  return f->nnames > 0;
}

/* --- which mailboxes ------------------------------------------------------------ */

static int has_name(char **v, size_t n, char const *name)
{
  for (size_t i = 0; i < n; i++) if (!strcmp(v[i], name) || (!strcasecmp(name, "INBOX") && !strcasecmp(v[i], "INBOX"))) return 1;
  return 0;
}

/* The events a folder gets from the filters (the selected one's aside). */
static unsigned events_of(char const *name)
{
  unsigned ev = 0;
  for (int i = 0; i < N.nf; i++) {
    nfilter const *f = &N.f[i];
    int m = 0;
    switch (f->kind) {
      case F_INBOXES: m = !strcmp(name, "INBOX"); break;
      case F_PERSONAL: m = 1; break;
      case F_SUBSCRIBED: m = has_name(N.subs, N.nsubs, name); break;
      case F_MAILBOXES: m = has_name(f->names, f->nnames, name); break;
      case F_SUBTREE:
        for (size_t k = 0; k < f->nnames && !m; k++) {
          size_t l = strlen(f->names[k]);
          m = !strcmp(name, f->names[k]) || (!strncmp(name, f->names[k], l) && name[l] == '.');
        }
        break;
    }
    if (m) ev |= f->ev;
  }
  return ev & (EV_NEW | EV_EXPUNGE | EV_FLAGS);
}

static void watch(char const *dir)
{
  char p[4700];
  uint32_t ev = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
  for (int i = 0; i < 2 && !N.poll_only && N.ino >= 0; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, i ? "cur" : "new");
    if (inotify_add_watch(N.ino, p, ev) < 0 && errno == ENOSPC) N.poll_only = 1;
  }
}

/* The mailboxes watched, from the folder list (and their values, when kept). */
static void resolve(void)
{
  nbox *old = N.b;
  size_t nold = N.nb;
  N.b = calloc(N.nfolders + 1, sizeof *N.b);
  N.nb = 0;
  if (N.ino >= 0) close(N.ino);
  N.ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  N.poll_only = N.ino < 0;
  if (N.ino >= 0) inotify_add_watch(N.ino, S.root, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO);
  for (size_t i = 0; N.b && i <= N.nfolders; i++) {
    char const *name = i ? N.folders[i - 1] : "INBOX";
    unsigned ev = events_of(name);
    if (!ev || N.nb == NOTIFY_BOXES_MAX) continue;
    nbox *b = &N.b[N.nb];
    if (!(b->name = strdup(name))) break;
    b->ev = ev;
    for (size_t k = 0; k < nold; k++) if (old[k].name && !strcmp(old[k].name, name)) { b->st = old[k].st; b->known = old[k].known;
      b->messages = old[k].messages; b->uidnext = old[k].uidnext; b->uidvalidity = old[k].uidvalidity; b->hms = old[k].hms; break; }
    char dir[4500];
    if (folder_dir(name, strlen(name), dir, sizeof dir)) watch(dir);
    N.nb++;
  }
  /* the selected mailbox too: its changes are told between commands */
  if (S.state == S_SELECTED && N.sel_ev) watch(S.mb.dir);
  for (size_t k = 0; k < nold; k++) free(old[k].name);
  free(old);
}

/* --- telling ----------------------------------------------------------------------- */

static void put_box_status(nbox *b, unsigned what)
{
  /* RFC 5465 5.2-5.4: MessageNew: MESSAGES UIDNEXT UIDVALIDITY; MessageExpunge:
   * MESSAGES; FlagChange: UIDVALIDITY HIGHESTMODSEQ */
  int sp = 0;
  io_puts("* STATUS "); io_putstr(b->name, strlen(b->name)); io_puts(" (");
#define ITEM(label, val) do { if (sp) io_put(" ", 1); io_puts(label " "); io_putu(val); sp = 1; } while (0)
  if (what & (EV_NEW | EV_EXPUNGE)) ITEM("MESSAGES", b->messages);
  if (what & EV_NEW) ITEM("UIDNEXT", b->uidnext);
  if (what & (EV_NEW | EV_FLAGS)) ITEM("UIDVALIDITY", b->uidvalidity);
  if (what & EV_FLAGS) ITEM("HIGHESTMODSEQ", b->hms);
#undef ITEM
  io_puts(")\r\n");
}

/* Take a mailbox's values when its stamps moved. 1 they were taken, 0 same. */
static int look(nbox *b, int force)
{
  char dir[4500];
  mstamps st;
  int fresh;
  if (!folder_dir(b->name, strlen(b->name), dir, sizeof dir)) return 0;
  index_stamps(dir, &st, &fresh);
  if (!force && b->known && index_stamps_same(&st, &b->st) && fresh) return 0;
  mbox mb;
  memset(&mb, 0, sizeof mb);
  if (mbox_open(&mb, dir, 0) <= 0) return 0;
  b->st = st; b->known = 1;
  b->messages = (uint32_t)mb.n; b->uidnext = mb.uidnext; b->uidvalidity = mb.uidvalidity; b->hms = mb.hms;
  mbox_free(&mb);
  return 1;
}

static void list_line(char const *attr, char const *name)
{
  io_puts("* LIST ("); io_puts(attr); io_puts(") \".\" "); io_putstr(name, strlen(name)); io_puts("\r\n");
}

void notify_check(int between)
{
  if (!N.on) return;
  /* mailboxes that came or went, subscriptions that changed */
  size_t nf = 0, ns = 0;
  char **f = folders_all(&nf), **sb = subs_read(&ns);
  int changed = 0;
  if (f && sb) {
    for (size_t i = 0; i < nf; i++) if (!has_name(N.folders, N.nfolders, f[i])) {
      changed = 1;
      if (N.box_ev & EV_NAME) list_line("", f[i]);
    }
    for (size_t i = 0; i < N.nfolders; i++) if (!has_name(f, nf, N.folders[i])) {
      changed = 1;
      if (N.box_ev & EV_NAME) list_line("\\NonExistent", N.folders[i]);
    }
    for (size_t i = 0; i < ns; i++) if (*sb[i] && !has_name(N.subs, N.nsubs, sb[i])) {
      changed = 1;
      if (N.box_ev & EV_SUBS) list_line("\\Subscribed", sb[i]);
    }
    for (size_t i = 0; i < N.nsubs; i++) if (*N.subs[i] && !has_name(sb, ns, N.subs[i])) {
      changed = 1;
      if (N.box_ev & EV_SUBS) list_line("", N.subs[i]);
    }
    folders_free(N.folders); folders_free(N.subs);
    N.folders = f; N.nfolders = nf; N.subs = sb; N.nsubs = ns;
    f = sb = 0;
  }
  folders_free(f); folders_free(sb);
  if (changed) resolve();
  /* other mailboxes: STATUS of what changed */
  for (size_t i = 0; i < N.nb && !io_abandoned(); i++) {
    nbox *b = &N.b[i];
    if (S.state == S_SELECTED && !strcmp(b->name, S.selname)) continue;
    uint32_t m0 = b->messages, u0 = b->uidnext, v0 = b->uidvalidity;
    uint64_t h0 = b->hms;
    int was = b->known;
    if (!look(b, 0) || !was) continue;
    unsigned what = 0;
    if (b->uidnext != u0 || b->uidvalidity != v0) what |= EV_NEW;
    if (b->messages != m0) what |= EV_EXPUNGE;
    if (b->hms != h0) what |= EV_FLAGS;
    what &= b->ev;
    if (what & EV_NEW) what |= b->ev & EV_EXPUNGE;   /* (MESSAGES with UIDNEXT) */
    if (what) put_box_status(b, what);
  }
  /* the selected mailbox: the usual responses, and the new messages' FETCH */
  if (between && S.state == S_SELECTED && N.sel_ev) {
    uint32_t before = S.mb.n ? S.mb.m[S.mb.n - 1].uid : 0;
    sess_update(!N.sel_delayed);
    uint32_t after = S.mb.n ? S.mb.m[S.mb.n - 1].uid : 0;
    if (N.sel_fetch.len && after > before) {
      char cmd[64];
      stralloc save = STRALLOC_ZERO;
      stralloc_copy(&save, &S.resp);
      stralloc line = STRALLOC_ZERO;
      snprintf(cmd, sizeof cmd, " %u:%u ", before + 1, after);
      if (stralloc_copys(&line, cmd) && stralloc_cat(&line, &N.sel_fetch)) {
        pcur q = { .s = line.s, .len = line.len, .pos = 0 };
        c_fetch(&q, 1);
      }
      stralloc_copy(&S.resp, &save);
      stralloc_free(&save); stralloc_free(&line);
    }
  }
  io_flush();
}

int notify_on(void) { return N.on; }
int notify_fd(void) { return N.on && !N.poll_only ? N.ino : -1; }

void notify_drain(void)
{
  char buf[4096];
  if (N.ino < 0) return;
  while (read(N.ino, buf, sizeof buf) > 0) ;
  /* let a burst of changes finish before looking */
  usleep(20000);
  while (read(N.ino, buf, sizeof buf) > 0) ;
}

void notify_selected(void)
{
  /* a new mailbox selected (or none): its watch, and the filters' set again */
  if (N.on) resolve();
}

int c_notify(pcur *p, int uid)
{
  (void)uid;
  if (!p_sp(p)) { resp("BAD Syntax: NOTIFY SET ... / NOTIFY NONE"); return 1; }
  if (p_word(p, "NONE")) {
    if (!p_eol(p)) { resp("BAD Syntax: NOTIFY NONE"); return 1; }
    notify_off();
    resp("OK NOTIFY completed");
    return 1;
  }
  if (!p_word(p, "SET") || !p_sp(p)) { resp("BAD Syntax: NOTIFY SET [STATUS] (filter events) ..."); return 1; }
  notify_off();
  int status = 0;
  if (p_word(p, "STATUS")) { status = 1; if (!p_sp(p)) goto bad; }
  for (;;) {
    if (N.nf == NOTIFY_FILTERS_MAX) goto bad;
    nfilter *f = &N.f[N.nf];
    memset(f, 0, sizeof *f);
    pstr k;
    if (!p_char(p, '(') || !p_atom(p, &k) || !p_sp(p)) goto bad;
    N.nf++;
    int r = 1;
    if (strcase_eq(k.s, k.len, "selected")) f->kind = F_SELECTED;
    else if (strcase_eq(k.s, k.len, "selected-delayed")) f->kind = F_SELDELAYED;
    else if (strcase_eq(k.s, k.len, "inboxes")) f->kind = F_INBOXES;
    else if (strcase_eq(k.s, k.len, "personal")) f->kind = F_PERSONAL;
    else if (strcase_eq(k.s, k.len, "subscribed")) f->kind = F_SUBSCRIBED;
    else if (strcase_eq(k.s, k.len, "subtree")) { f->kind = F_SUBTREE; r = p_boxes(p, f) > 0 ? p_sp(p) : -1; }
    else if (strcase_eq(k.s, k.len, "mailboxes")) { f->kind = F_MAILBOXES; r = p_boxes(p, f) > 0 ? p_sp(p) : -1; }
    else goto bad;
    if (r < 0 && f->nnames == NOTIFY_BOXES_MAX) { notify_off(); resp("NO [LIMIT] Too many mailboxes"); return 1; }
    if (r <= 0) goto bad;
    int sel = f->kind == F_SELECTED || f->kind == F_SELDELAYED;
    r = p_events(p, &f->ev, sel, sel ? &N.sel_fetch : 0);
    if (r < 0) { notify_off(); resp("NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Event not supported"); return 1; }
    if (!r || !p_char(p, ')')) goto bad;
    if (sel) { N.sel_ev = f->ev; N.sel_delayed = f->kind == F_SELDELAYED; }
    N.box_ev |= f->ev & (EV_NAME | EV_SUBS);
    if (p_eol(p)) break;
    if (!p_sp(p)) goto bad;
  }
  /* the fetch attributes of MessageNew must be FETCH's: checked by a FETCH of nothing */
  if (N.sel_fetch.len) {
    stralloc line = STRALLOC_ZERO, save = STRALLOC_ZERO;
    stralloc_copy(&save, &S.resp);
    S.resp.len = 0;
    int ok = 0;
    if (stralloc_copys(&line, " 4294967295 ") && stralloc_cat(&line, &N.sel_fetch)) {
      pcur q = { .s = line.s, .len = line.len, .pos = 0 };
      /* (UID FETCH of a uid no message has: parsed, nothing sent) */
      if (S.state == S_SELECTED) { c_fetch(&q, 1); ok = S.resp.len && S.resp.s[0] == 'O'; }
      else ok = 1;
    }
    stralloc_copy(&S.resp, &save);
    stralloc_free(&line); stralloc_free(&save);
    if (!ok) { notify_off(); resp("BAD Invalid fetch attributes for MessageNew"); return 1; }
  }
  N.on = 1;
  N.folders = folders_all(&N.nfolders);
  N.subs = subs_read(&N.nsubs);
  if (!N.folders || !N.subs) { notify_off(); resp("NO [SERVERBUG] Out of memory"); return 1; }
  resolve();
  for (size_t i = 0; i < N.nb; i++) {
    nbox *b = &N.b[i];
    if (S.state == S_SELECTED && !strcmp(b->name, S.selname)) continue;
    look(b, 1);
    /* STATUS now for what each mailbox's events say, when asked (RFC 5465 3.1) */
    if (status && (b->ev & (EV_NEW | EV_EXPUNGE | EV_FLAGS))) put_box_status(b, b->ev);
  }
  resp("OK NOTIFY completed");
  return 1;
 bad:
  notify_off();
  resp("BAD Syntax: NOTIFY SET [STATUS] (filter events) ...");
  return 1;
}
