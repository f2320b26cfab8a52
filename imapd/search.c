/* pochta-imapd: the search program of SEARCH, SORT and THREAD (search.h).
 * It is parsed into a small tree of nodes and evaluated per message; flag,
 * size and date keys never open a file, text keys go through mime.h. */
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
#include "search.h"

enum { K_ALL, K_FLAG, K_UNFLAG, K_KW, K_UNKW, K_NEW, K_OLD, K_RECENT, K_LARGER, K_SMALLER,
       K_BEFORE, K_ON, K_SINCE, K_SBEFORE, K_SON, K_SSINCE, K_HEADER, K_BODY, K_TEXT,
       K_UID, K_SEQ, K_NOT, K_OR, K_AND, K_MODSEQ, K_OLDER, K_YOUNGER,
       K_SVBEFORE, K_SVON, K_SVSINCE, K_EMAILID, K_NONE };

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

typedef struct sprog_s prog;
struct sprog_s {
  node n[MAXNODES];
  int nn, root;
  range *ranges; size_t nranges, capranges;
  stralloc strs;
  int modseq;          /* the MODSEQ key was used: results carry the highest */
};

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
    /* SAVEDATE (RFC 8514) */
    { "SAVEDBEFORE", K_SVBEFORE }, { "SAVEDON", K_SVON }, { "SAVEDSINCE", K_SVSINCE },
  };
  /* WITHIN (RFC 5032): seconds before now */
  if (strcase_eq(w.s, w.len, "OLDER") || strcase_eq(w.s, w.len, "YOUNGER")) {
    uint32_t n;
    if (!p_sp(p) || !p_nz_number(p, &n)) return -1;
    if ((k = newnode(g, (w.s[0] | 32) == 'o' ? K_OLDER : K_YOUNGER)) >= 0) g->n[k].num = n;
    return k;
  }
  if (strcase_eq(w.s, w.len, "SAVEDATESUPPORTED")) return newnode(g, K_ALL);
  /* OBJECTID (RFC 8474 6): EMAILID matches its copies, THREADID nothing */
  if (strcase_eq(w.s, w.len, "EMAILID") || strcase_eq(w.s, w.len, "THREADID")) {
    pstr id;
    if (!p_sp(p) || !p_atom(p, &id) || id.len > 255) return -1;
    if ((w.s[0] | 32) == 't') return newnode(g, K_NONE);
    if ((k = newnode(g, K_EMAILID)) < 0) return -1;
    g->n[k].s2 = keepstr(g, id.s, id.len); g->n[k].l2 = id.len;
    return k;
  }
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
    case K_OLDER: case K_YOUNGER: {
      int64_t age = (int64_t)time(0) - (int64_t)mbox_date(&S.mb, m);
      return n->type == K_OLDER ? age >= (int64_t)n->num : age <= (int64_t)n->num;
    }
    case K_SVBEFORE: case K_SVON: case K_SVSINCE: {
      int64_t sv = msg_savedate(&S.mb, m);
      if (sv < 0) return 0;   /* (no save date: no date matches) */
      int64_t d = sv / 86400;
      return n->type == K_SVBEFORE ? d < n->day : n->type == K_SVON ? d == n->day : d >= n->day;
    }
    case K_EMAILID: { char id[26]; return n->l2 == 25 && msg_emailid(&S.mb, m, id) && !memcmp(id, n->s2, 25); }
    case K_NONE: return 0;
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

sprog *search_compile(pcur *p)
{
  prog *g = calloc(1, sizeof *g);
  if (!g) { resp("NO [SERVERBUG] Out of memory"); return 0; }
  if (p_word(p, "CHARSET")) {
    pstr cs;
    if (!p_sp(p) || !p_astring(p, &cs) || !p_sp(p)) { resp("BAD Syntax: CHARSET name"); search_free(g); return 0; }
    if (!strcase_eq(cs.s, cs.len, "UTF-8") && !strcase_eq(cs.s, cs.len, "US-ASCII")) {
      resp("NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"); search_free(g); return 0;
    }
  }
  g->root = p_keys(p, g, 0, 0);
  if (g->root < 0 || !p_eol(p)) { resp("BAD Invalid search program"); search_free(g); return 0; }
  if (g->modseq) condstore_on();
  /* offsets to pointers, now that the storage stopped moving */
  for (int i = 0; i < g->nn; i++) {
    node *n = &g->n[i];
    if (n->type == K_UID || n->type == K_SEQ) n->ss.r = g->ranges + (size_t)(uintptr_t)n->ss.r;
    if (n->type == K_HEADER || n->type == K_BODY || n->type == K_TEXT || n->type == K_EMAILID) {
      if (n->s1) n->s1 = g->strs.s + (size_t)(uintptr_t)n->s1 - 1;
      n->s2 = g->strs.s + (size_t)(uintptr_t)n->s2 - 1;
    }
  }
  return g;
}

int search_match(sprog *g, size_t idx)
{
  if (S.mb.m[idx].flags & F_GONE) return 0;
  ectx c = { .idx = idx };
  int r = eval(g, g->root, &c, 0);
  ctx_close(&c);
  return r;
}

size_t search_all(sprog *g, size_t *out)
{
  size_t n = 0;
  for (size_t i = 0; i < S.mb.n && !io_abandoned(); i++) if (search_match(g, i)) out[n++] = i;
  return n;
}

int search_modseq(sprog const *g) { return g->modseq; }

void search_free(sprog *g)
{
  if (!g) return;
  free(g->ranges);
  stralloc_free(&g->strs);
  free(g);
}
