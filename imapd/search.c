/* pochta-imapd: SEARCH and UID SEARCH, with ESEARCH's RETURN options.
 * The search program is parsed into a small tree of nodes and evaluated per
 * message; flag and size keys never open a file, text keys go through mime.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imapd.h"
#include "io.h"
#include "mime.h"

enum { K_ALL, K_FLAG, K_UNFLAG, K_KW, K_UNKW, K_NEW, K_OLD, K_RECENT, K_LARGER, K_SMALLER,
       K_BEFORE, K_ON, K_SINCE, K_SBEFORE, K_SON, K_SSINCE, K_HEADER, K_BODY, K_TEXT,
       K_UID, K_SEQ, K_NOT, K_OR, K_AND, K_MODSEQ, K_NONE };

#define MAXNODES 512
#define MAXDEPTH 32

typedef struct {
  int type;
  int a, b;            /* children: NOT a; OR a b; AND: first child a, next sibling b */
  uint32_t num;
  int64_t day;
  uint64_t ms;         /* MODSEQ */
  char *s1, *s2;       /* header name, needle (NUL-terminated copies) */
  size_t l2;
  seqset ss;
} node;

typedef struct {
  node n[MAXNODES];
  int nn;
  range *ranges; size_t nranges, capranges;
  stralloc strs;
  int err;             /* 1 syntax, 2 bad charset */
  int modseq;          /* the MODSEQ key was used: results carry the highest */
} prog;

static int newnode(prog *g, int type)
{
  if (g->nn >= MAXNODES) return -1;
  memset(&g->n[g->nn], 0, sizeof g->n[0]);
  g->n[g->nn].type = type; g->n[g->nn].a = g->n[g->nn].b = -1;
  return g->nn++;
}

static int month3(char const *s)
{
  static char const m[] = "janfebmaraprmayjunjulaugsepoctnovdec";
  for (int i = 0; i < 12; i++) if (!strncasecmp(s, m + 3 * i, 3)) return i;
  return -1;
}

/* date: d-Mon-yyyy, quoted or not; days since the epoch */
static int p_date(pcur *p, int64_t *day)
{
  pstr s;
  char b[16];
  if (!p_astring(p, &s) || s.len < 10 || s.len > 11) return 0;
  memcpy(b, s.s, s.len); b[s.len] = 0;
  int d, y; char mon[4];
  if (sscanf(b, "%d-%3c-%d", &d, mon, &y) != 3) return 0;
  int mo = month3(mon);
  if (mo < 0 || d < 1 || d > 31 || y < 1900 || y > 9999) return 0;
  struct tm tm = { .tm_mday = d, .tm_mon = mo, .tm_year = y - 1900 };
  *day = (int64_t)timegm(&tm) / 86400;
  return 1;
}

static uint32_t flagbit(pstr w)
{
  static struct { char const *n; uint32_t b; int neg; } const f[] = {
    { "ANSWERED", F_ANSWERED, 0 }, { "DELETED", F_DELETED, 0 }, { "DRAFT", F_DRAFT, 0 },
    { "FLAGGED", F_FLAGGED, 0 }, { "SEEN", F_SEEN, 0 },
  };
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) if (strcase_eq(w.s, w.len, f[i].n)) return f[i].b;
  return 0;
}

static char *keepstr(prog *g, char const *s, size_t n)
{
  /* offsets: strs may move while growing, so store offsets +1 as pointers later */
  size_t off = g->strs.len;
  if (!stralloc_catb(&g->strs, s, n) || !stralloc_0(&g->strs)) return 0;
  return (char *)(uintptr_t)(off + 1);
}

static int p_key(pcur *p, prog *g, int depth);

static int p_keys(pcur *p, prog *g, int depth, int inparen)
{
  int first = -1, last = -1;
  for (;;) {
    int k = p_key(p, g, depth);
    if (k < 0) return -1;
    if (first < 0) first = k; else g->n[last].b = k;
    last = k;
    if (inparen) { if (p_char(p, ')')) break; if (!p_sp(p)) return -1; }
    else { if (p_eol(p)) break; if (!p_sp(p)) return -1; }
  }
  if (first == last) return first;
  /* AND node: a is the first of a sibling chain linked through b */
  int a = newnode(g, K_AND);
  if (a < 0) return -1;
  g->n[a].a = first;
  return a;
}

static int addseq(prog *g, pcur *p, seqset *ss)
{
  range tmp[SEQSET_MAX];
  seqset t = { tmp, 0 };
  if (!p_seqset(p, &t)) return 0;
  if (g->nranges + t.n > g->capranges) {
    size_t c = (g->nranges + t.n) * 2;
    range *nr = realloc(g->ranges, c * sizeof *nr);
    if (!nr) return 0;
    g->ranges = nr; g->capranges = c;
  }
  memcpy(g->ranges + g->nranges, tmp, t.n * sizeof *tmp);
  ss->r = (range *)(uintptr_t)g->nranges;   /* an offset until parsing ends */
  ss->n = t.n;
  g->nranges += t.n;
  return 1;
}

static int p_key(pcur *p, prog *g, int depth)
{
  pstr w;
  int k;
  if (depth > MAXDEPTH) return -1;
  if (p_char(p, '(')) return p_keys(p, g, depth + 1, 1);
  if ((p->pos < p->len && ((p->s[p->pos] >= '1' && p->s[p->pos] <= '9') || p->s[p->pos] == '*'))) {
    if ((k = newnode(g, K_SEQ)) < 0 || !addseq(g, p, &g->n[k].ss)) return -1;
    return k;
  }
  if (!p_atom(p, &w)) return -1;
  uint32_t fb;
  if (strcase_eq(w.s, w.len, "ALL")) return newnode(g, K_ALL);
  if ((fb = flagbit(w))) { if ((k = newnode(g, K_FLAG)) >= 0) g->n[k].num = fb; return k; }
  if (w.len > 2 && !strncasecmp(w.s, "UN", 2)) {
    pstr w2 = { w.s + 2, w.len - 2 };
    if ((fb = flagbit(w2))) { if ((k = newnode(g, K_UNFLAG)) >= 0) g->n[k].num = fb; return k; }
  }
  if (strcase_eq(w.s, w.len, "NEW")) return newnode(g, K_NEW);
  if (strcase_eq(w.s, w.len, "OLD")) return newnode(g, K_OLD);
  if (strcase_eq(w.s, w.len, "RECENT")) return newnode(g, K_RECENT);
  if (strcase_eq(w.s, w.len, "KEYWORD") || strcase_eq(w.s, w.len, "UNKEYWORD")) {
    pstr f;
    if (!p_sp(p) || !p_atom(p, &f)) return -1;
    if ((k = newnode(g, w.len == 7 ? K_KW : K_UNKW)) < 0) return -1;
    int idx = mbox_keyword(&S.mb, f.s, f.len, 0);
    g->n[k].num = idx < 0 ? 0 : 1u << idx;
    return k;
  }
  if (strcase_eq(w.s, w.len, "LARGER") || strcase_eq(w.s, w.len, "SMALLER")) {
    uint32_t n;
    if (!p_sp(p) || !p_number(p, &n)) return -1;
    if ((k = newnode(g, (w.s[0] | 32) == 'l' ? K_LARGER : K_SMALLER)) >= 0) g->n[k].num = n;
    return k;
  }
  static struct { char const *n; int t; } const dates[] = {
    { "BEFORE", K_BEFORE }, { "ON", K_ON }, { "SINCE", K_SINCE },
    { "SENTBEFORE", K_SBEFORE }, { "SENTON", K_SON }, { "SENTSINCE", K_SSINCE },
  };
  for (size_t i = 0; i < sizeof dates / sizeof *dates; i++)
    if (strcase_eq(w.s, w.len, dates[i].n)) {
      int64_t d;
      if (!p_sp(p) || !p_date(p, &d)) return -1;
      if ((k = newnode(g, dates[i].t)) >= 0) g->n[k].day = d;
      return k;
    }
  static char const *const hdrs[] = { "FROM", "TO", "CC", "BCC", "SUBJECT" };
  for (size_t i = 0; i < 5; i++)
    if (strcase_eq(w.s, w.len, hdrs[i])) {
      pstr v;
      if (!p_sp(p) || !p_astring(p, &v) || memchr(v.s, 0, v.len)) return -1;
      if ((k = newnode(g, K_HEADER)) < 0) return -1;
      g->n[k].s1 = keepstr(g, hdrs[i], strlen(hdrs[i]));
      g->n[k].s2 = keepstr(g, v.s, v.len); g->n[k].l2 = v.len;
      return k;
    }
  if (strcase_eq(w.s, w.len, "HEADER")) {
    pstr h, v;
    if (!p_sp(p) || !p_astring(p, &h) || !p_sp(p) || !p_astring(p, &v) || memchr(h.s, 0, h.len) || memchr(v.s, 0, v.len)) return -1;
    if ((k = newnode(g, K_HEADER)) < 0) return -1;
    g->n[k].s1 = keepstr(g, h.s, h.len);
    g->n[k].s2 = keepstr(g, v.s, v.len); g->n[k].l2 = v.len;
    return k;
  }
  if (strcase_eq(w.s, w.len, "BODY") || strcase_eq(w.s, w.len, "TEXT")) {
    pstr v;
    if (!p_sp(p) || !p_astring(p, &v) || memchr(v.s, 0, v.len)) return -1;
    if ((k = newnode(g, (w.s[0] | 32) == 'b' ? K_BODY : K_TEXT)) < 0) return -1;
    g->n[k].s2 = keepstr(g, v.s, v.len); g->n[k].l2 = v.len;
    return k;
  }
  if (strcase_eq(w.s, w.len, "MODSEQ")) {
    /* RFC 7162: MODSEQ ["/flags/<flag>" priv|shared|all] n; the entry is
     * checked and ignored, as there is one modseq per message here */
    uint64_t v;
    if (!p_sp(p)) return -1;
    if (p_peek(p, '"')) {
      pstr e, t;
      if (!p_quoted(p, &e) || e.len <= 7 || strncasecmp(e.s, "/flags/", 7) || !p_sp(p) || !p_atom(p, &t) || !p_sp(p)) return -1;
      if (!strcase_eq(t.s, t.len, "priv") && !strcase_eq(t.s, t.len, "shared") && !strcase_eq(t.s, t.len, "all")) return -1;
    }
    if (!p_modseq(p, 1, &v) || (k = newnode(g, K_MODSEQ)) < 0) return -1;
    g->n[k].ms = v;
    g->modseq = 1;
    return k;
  }
  if (strcase_eq(w.s, w.len, "UID")) {
    if (!p_sp(p) || (k = newnode(g, K_UID)) < 0 || !addseq(g, p, &g->n[k].ss)) return -1;
    return k;
  }
  if (strcase_eq(w.s, w.len, "NOT")) {
    if (!p_sp(p) || (k = newnode(g, K_NOT)) < 0) return -1;
    int a = p_key(p, g, depth + 1);
    if (a < 0) return -1;
    g->n[k].a = a;
    return k;
  }
  if (strcase_eq(w.s, w.len, "OR")) {
    if (!p_sp(p) || (k = newnode(g, K_OR)) < 0) return -1;
    int a = p_key(p, g, depth + 1);
    if (a < 0 || !p_sp(p)) return -1;
    int b = p_key(p, g, depth + 1);
    if (b < 0) return -1;
    g->n[k].a = a; g->n[k].s2 = (char *)(uintptr_t)0; g->n[k].num = (uint32_t)b;
    return k;
  }
  return -1;
}

/* per-message evaluation context */
typedef struct { size_t idx; int opened; int ok; char const *data; size_t len, maplen; mime_tree t; } ectx;

static int ctx_tree(ectx *c)
{
  if (c->opened) return c->ok;
  c->opened = 1; c->ok = 0;
  int fd = mbox_open_msg(&S.mb, &S.mb.m[c->idx]);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) < 0) { close(fd); return 0; }
  c->len = (size_t)st.st_size; c->data = "";
  if (c->len) {
    void *p = mmap(0, c->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) { close(fd); return 0; }
    c->data = p; c->maplen = c->len;
  }
  close(fd);
  if (!mime_parse(&c->t, c->data, c->len)) return 0;
  c->ok = 1;
  return 1;
}

static void ctx_close(ectx *c)
{
  if (c->ok) mime_tree_free(&c->t);
  if (c->maplen) munmap((void *)c->data, c->maplen);
}

static int eval(prog *g, int k, ectx *c, int uidmode)
{
  node *n = &g->n[k];
  msg *m = &S.mb.m[c->idx];
  (void)uidmode;
  switch (n->type) {
    case K_ALL: return 1;
    case K_FLAG: return (m->flags & n->num) != 0;
    case K_UNFLAG: return !(m->flags & n->num);
    case K_KW: return n->num && (m->kw & n->num);
    case K_UNKW: return !n->num || !(m->kw & n->num);
    case K_NEW: return (m->flags & F_RECENT) && !(m->flags & F_SEEN);
    case K_OLD: return !(m->flags & F_RECENT);
    case K_RECENT: return (m->flags & F_RECENT) != 0;
    case K_LARGER: return mbox_size(&S.mb, m) > n->num;
    case K_SMALLER: return mbox_size(&S.mb, m) < n->num;
    case K_BEFORE: case K_ON: case K_SINCE: {
      int64_t d = (int64_t)mbox_date(&S.mb, m) / 86400;
      return n->type == K_BEFORE ? d < n->day : n->type == K_ON ? d == n->day : d >= n->day;
    }
    case K_SBEFORE: case K_SON: case K_SSINCE: {
      int64_t d;
      if (!ctx_tree(c) || !mime_sent_day(&c->t, &d)) d = (int64_t)mbox_date(&S.mb, m) / 86400;
      return n->type == K_SBEFORE ? d < n->day : n->type == K_SON ? d == n->day : d >= n->day;
    }
    case K_HEADER: return ctx_tree(c) && mime_search_header(&c->t, n->s1, n->s2, n->l2) == 1;
    case K_BODY: return ctx_tree(c) && mime_search_body(&c->t, n->s2, n->l2) == 1;
    case K_TEXT: return ctx_tree(c) && mime_search_text(&c->t, n->s2, n->l2) == 1;
    case K_UID: return seqset_has(&n->ss, m->uid, S.mb.n ? S.mb.m[S.mb.n - 1].uid : 0);
    case K_SEQ: return seqset_has(&n->ss, (uint32_t)c->idx + 1, (uint32_t)S.mb.n);
    case K_MODSEQ: return m->modseq >= n->ms;
    case K_NOT: return !eval(g, n->a, c, uidmode);
    case K_OR: return eval(g, n->a, c, uidmode) || eval(g, (int)n->num, c, uidmode);
    case K_AND:
      for (int x = n->a; x >= 0; x = g->n[x].b) if (!eval(g, x, c, uidmode)) return 0;
      return 1;
  }
  return 0;
}

#define R_MIN 1
#define R_MAX 2
#define R_ALL 4
#define R_COUNT 8

static void put_set(uint32_t const *v, size_t n)
{
  for (size_t i = 0; i < n; ) {
    size_t j = i;
    while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
    if (i) io_put(",", 1);
    io_putu(v[i]);
    if (j > i) { io_put(":", 1); io_putu(v[j]); }
    i = j + 1;
  }
}

int c_search(pcur *p, int uid)
{
  static prog g;
  unsigned ret = 0; int esearch = 0;
  S.expunge_held = !uid;
  g.nn = 0; g.nranges = 0; g.strs.len = 0; g.err = 0; g.modseq = 0;
  if (!p_sp(p)) { resp("BAD Syntax: SEARCH keys"); return 1; }
  if (p_word(p, "RETURN")) {
    esearch = 1;
    if (!p_sp(p) || !p_char(p, '(')) { resp("BAD Invalid RETURN options"); return 1; }
    for (int first = 1; !p_char(p, ')'); first = 0) {
      pstr a;
      if ((!first && !p_sp(p)) || !p_atom(p, &a)) { resp("BAD Invalid RETURN options"); return 1; }
      if (strcase_eq(a.s, a.len, "MIN")) ret |= R_MIN;
      else if (strcase_eq(a.s, a.len, "MAX")) ret |= R_MAX;
      else if (strcase_eq(a.s, a.len, "ALL")) ret |= R_ALL;
      else if (strcase_eq(a.s, a.len, "COUNT")) ret |= R_COUNT;
      else if (strcase_eq(a.s, a.len, "SAVE")) { resp("BAD SEARCHRES is not supported"); return 1; }
      else { resp("BAD Unknown RETURN option"); return 1; }
    }
    if (!ret) ret = R_ALL;
    if (!p_sp(p)) { resp("BAD Missing search keys"); return 1; }
  }
  if (p_word(p, "CHARSET")) {
    pstr cs;
    if (!p_sp(p) || !p_astring(p, &cs) || !p_sp(p)) { resp("BAD Syntax: CHARSET name"); return 1; }
    if (!strcase_eq(cs.s, cs.len, "UTF-8") && !strcase_eq(cs.s, cs.len, "US-ASCII")) {
      resp("NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"); return 1;
    }
  }
  int root = p_keys(p, &g, 0, 0);
  if (root < 0 || !p_eol(p)) { resp("BAD Invalid search program"); return 1; }
  if (g.modseq) condstore_on();
  /* offsets to pointers, now that the storage stopped moving */
  for (int i = 0; i < g.nn; i++) {
    node *n = &g.n[i];
    if (n->type == K_UID || n->type == K_SEQ) n->ss.r = g.ranges + (size_t)(uintptr_t)n->ss.r;
    if (n->type == K_HEADER || n->type == K_BODY || n->type == K_TEXT) {
      if (n->s1) n->s1 = g.strs.s + (size_t)(uintptr_t)n->s1 - 1;
      n->s2 = g.strs.s + (size_t)(uintptr_t)n->s2 - 1;
    }
  }
  if (S.rev2 && !esearch) { esearch = 1; ret = R_ALL; }
  uint32_t *hits = malloc((S.mb.n ? S.mb.n : 1) * sizeof *hits);
  size_t *hidx = malloc((S.mb.n ? S.mb.n : 1) * sizeof *hidx);
  if (!hits || !hidx) { free(hits); free(hidx); resp("NO [SERVERBUG] Out of memory"); return 1; }
  size_t nh = 0;
  for (size_t i = 0; i < S.mb.n; i++) {
    if (S.mb.m[i].flags & F_GONE) continue;
    ectx c = { .idx = i };
    if (eval(&g, root, &c, uid)) { hidx[nh] = i; hits[nh++] = uid ? S.mb.m[i].uid : (uint32_t)i + 1; }
    ctx_close(&c);
  }
  /* RFC 7162 3.1.5: the highest modseq of the messages returned; with only MIN
   * and/or MAX asked for (ESEARCH), of those messages */
  uint64_t hms = 0;
  if (g.modseq && nh) {
    if (!esearch || (ret & (R_ALL | R_COUNT))) {
      for (size_t i = 0; i < nh; i++) if (S.mb.m[hidx[i]].modseq > hms) hms = S.mb.m[hidx[i]].modseq;
    } else {
      if (ret & R_MIN) hms = S.mb.m[hidx[0]].modseq;
      if ((ret & R_MAX) && S.mb.m[hidx[nh - 1]].modseq > hms) hms = S.mb.m[hidx[nh - 1]].modseq;
    }
  }
  if (!esearch) {
    io_puts("* SEARCH");
    for (size_t i = 0; i < nh; i++) { io_put(" ", 1); io_putu(hits[i]); }
    if (hms) { io_puts(" (MODSEQ "); io_putu(hms); io_puts(")"); }
    io_puts("\r\n");
  } else {
    io_puts("* ESEARCH (TAG "); io_putstr(cur_tag, strlen(cur_tag)); io_puts(")");
    if (uid) io_puts(" UID");
    if (nh && (ret & R_MIN)) { io_puts(" MIN "); io_putu(hits[0]); }
    if (nh && (ret & R_MAX)) { io_puts(" MAX "); io_putu(hits[nh - 1]); }
    if (ret & R_COUNT) { io_puts(" COUNT "); io_putu(nh); }
    if (nh && (ret & R_ALL)) { io_puts(" ALL "); put_set(hits, nh); }
    if (hms) { io_puts(" MODSEQ "); io_putu(hms); }
    io_puts("\r\n");
  }
  free(hits); free(hidx);
  resp("OK SEARCH completed");
  return 1;
}
