/* pochta-imapd: THREAD and UID THREAD (RFC 5256 3, 4): ORDEREDSUBJECT and
 * REFERENCES.
 *
 * Threads are containers (a message, or a dummy standing for a message only
 * referred to) linked by parent, first child and next sibling. Every walk of
 * the trees is a loop with a stack of its own, never a recursion: a chain of
 * replies as long as the mailbox is a tree as deep, and a client that builds
 * one must not run the stack out. References past the last REFS_MAX of a
 * message are not looked at (they only repeat what older messages said). */
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "io.h"
#include "search.h"

#define REFS_MAX 256
#define NONE (-1)

typedef struct {
  long idx;              /* the message (index in the view), or NONE: a dummy */
  long parent, child, next, last;   /* last: the last child (appending) */
  long nkids;
  int64_t date;
  long ord;              /* ties: the message's number, or a dummy's first child's */
  char const *subj;      /* base subject, case-mapped */
  int refwd;
  int dead;              /* taken out of the tree */
} cont;

typedef struct { cont *c; size_t n, cap; int nomem; } tree;

static long cnew(tree *t, long idx)
{
  if (t->n == t->cap) {
    size_t c = t->cap ? t->cap * 2 : 256;
    cont *nc = realloc(t->c, c * sizeof *nc);
    if (!nc) { t->nomem = 1; return NONE; }
    t->c = nc; t->cap = c;
  }
  cont *x = &t->c[t->n];
  memset(x, 0, sizeof *x);
  x->idx = idx; x->ord = idx; x->parent = x->child = x->next = x->last = NONE;
  x->subj = "";
  return (long)t->n++;
}

static void unlink_child(tree *t, long c)
{
  long p = t->c[c].parent;
  if (p == NONE) return;
  long prev = NONE;
  for (long k = t->c[p].child; k != NONE; prev = k, k = t->c[k].next) {
    if (k != c) continue;
    if (prev == NONE) t->c[p].child = t->c[k].next; else t->c[prev].next = t->c[k].next;
    if (t->c[p].last == c) t->c[p].last = prev;
    break;
  }
  t->c[p].nkids--;
  t->c[c].parent = t->c[c].next = NONE;
}

static void add_child(tree *t, long p, long c)
{
  t->c[c].parent = p; t->c[c].next = NONE;
  if (t->c[p].last == NONE) t->c[p].child = c; else t->c[t->c[p].last].next = c;
  t->c[p].last = c;
  t->c[p].nkids++;
}

/* Is a an ancestor of b (or b itself)? */
static int above(tree const *t, long a, long b)
{
  for (long k = b; k != NONE; k = t->c[k].parent) if (k == a) return 1;
  return 0;
}

/* --- message ids: open addressing over the id strings ---------------------- */
typedef struct { char const **key; long *val; size_t cap; } idtab;

static uint64_t hash_str(char const *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* The container of id (made as a dummy when new). */
static long by_id(tree *t, idtab *h, char const *id)
{
  size_t i = (size_t)hash_str(id) & (h->cap - 1);
  for (; h->key[i]; i = (i + 1) & (h->cap - 1)) if (!strcmp(h->key[i], id)) return h->val[i];
  long c = cnew(t, NONE);
  if (c == NONE) return NONE;
  h->key[i] = id; h->val[i] = c;
  return c;
}

/* --- sorting siblings by date ------------------------------------------------- */
static tree *sort_t;
static int cmp_date(void const *a, void const *b)
{
  cont const *x = &sort_t->c[*(long const *)a], *y = &sort_t->c[*(long const *)b];
  if (x->date != y->date) return x->date < y->date ? -1 : 1;
  return (x->ord > y->ord) - (x->ord < y->ord);
}

/* Sort the list starting at *first (a sibling chain) by date; relink it. */
static int sort_list(tree *t, long *first, long *last, long **buf, size_t *cap)
{
  size_t n = 0;
  for (long k = *first; k != NONE; k = t->c[k].next) {
    if (n == *cap) { size_t c = *cap ? *cap * 2 : 64; long *nb = realloc(*buf, c * sizeof *nb); if (!nb) return 0; *buf = nb; *cap = c; }
    (*buf)[n++] = k;
  }
  if (n < 2) return 1;
  sort_t = t;
  qsort(*buf, n, sizeof **buf, cmp_date);
  *first = (*buf)[0];
  for (size_t i = 0; i + 1 < n; i++) t->c[(*buf)[i]].next = (*buf)[i + 1];
  t->c[(*buf)[n - 1]].next = NONE;
  if (last) *last = (*buf)[n - 1];
  return 1;
}

/* Containers below (and with) the roots in an order where every child comes
 * before its parent: the order to process them bottom up. */
static long *post_order(tree *t, long const *roots, size_t nr, size_t *n)
{
  long *out = malloc((t->n ? t->n : 1) * sizeof *out), *stack = malloc((t->n ? t->n : 1) * sizeof *stack);
  size_t no = 0, ns = 0;
  if (!out || !stack) { free(out); free(stack); return 0; }
  for (size_t r = 0; r < nr; r++) {
    stack[ns++] = roots[r];
    while (ns) {
      long c = stack[--ns];
      out[no++] = c;
      for (long k = t->c[c].child; k != NONE; k = t->c[k].next) stack[ns++] = k;
    }
  }
  free(stack);
  /* (pre-order reversed: children before parents) */
  for (size_t i = 0; i < no / 2; i++) { long x = out[i]; out[i] = out[no - 1 - i]; out[no - 1 - i] = x; }
  *n = no;
  return out;
}

/* Sort every sibling list under the roots and the roots; a dummy's date is
 * its first child's, after its children are sorted. 1 ok, 0 no memory. */
static int sort_all(tree *t, long *roots, size_t nr)
{
  size_t n, cap = 0;
  long *buf = 0, *order = post_order(t, roots, nr, &n);
  if (!order) return 0;
  int ok = 1;
  for (size_t i = 0; ok && i < n; i++) {
    cont *c = &t->c[order[i]];
    ok = sort_list(t, &c->child, &c->last, &buf, &cap);
    if (c->idx == NONE && c->child != NONE) { c->date = t->c[c->child].date; c->ord = t->c[c->child].ord; }
  }
  free(order); free(buf);
  if (!ok) return 0;
  sort_t = t;
  qsort(roots, nr, sizeof *roots, cmp_date);
  return 1;
}

/* --- output -------------------------------------------------------------------- */

/* One thread: "(3 6 (4 23)(44 7 96))". A message with one child goes on in the
 * same list; with more, each child's thread is a list of its own. */
static int put_thread(tree *t, long root, int uid, long **stack, size_t *cap)
{
  size_t ns = 0;
  long cur = root;
  int first = 1;
  io_puts("(");
  for (;;) {
    /* the chain from cur */
    for (;;) {
      cont *c = &t->c[cur];
      if (c->idx != NONE) {
        if (!first) io_put(" ", 1);
        io_putu(uid ? S.mb.m[c->idx].uid : (uint64_t)c->idx + 1);
        first = 0;
      }
      if (c->child == NONE) break;
      if (c->nkids == 1 && c->idx != NONE) { cur = c->child; continue; }
      /* nested lists, one per child */
      if (ns == *cap) { size_t nc = *cap ? *cap * 2 : 64; long *nb = realloc(*stack, nc * sizeof *nb); if (!nb) return 0; *stack = nb; *cap = nc; }
      (*stack)[ns++] = c->child;
      if (!first) io_put(" ", 1);
      io_puts("(");
      cur = c->child; first = 1;
    }
    /* the chain ended: close its list, go on with the next sibling */
    while (ns) {
      long top = (*stack)[ns - 1];
      io_puts(")");
      if (t->c[top].next != NONE) {
        (*stack)[ns - 1] = t->c[top].next;
        io_puts("(");
        cur = t->c[top].next; first = 1;
        break;
      }
      ns--;
    }
    if (!ns) break;
  }
  io_puts(")");
  return 1;
}

/* --- the two algorithms ----------------------------------------------------- */

/* Read the keys of every message first: strings taken from msgkeys_str stay
 * where they are only while no key is added to the pool. */
static int read_keys(size_t const *idx, size_t n, unsigned want)
{
  for (size_t i = 0; i < n; i++) if (!msgkeys(idx[i], want | (1u << MK_SUBJECT) | MK_HAVE_DATE)) return 0;
  return 1;
}

/* Containers for the messages: dates and subjects set. */
static int load(tree *t, size_t const *idx, size_t n, unsigned want)
{
  if (!read_keys(idx, n, want)) return 0;
  for (size_t i = 0; i < n; i++) {
    mkeys *k = msgkeys(idx[i], want | (1u << MK_SUBJECT) | MK_HAVE_DATE);
    long c = k ? cnew(t, (long)idx[i]) : NONE;
    if (c == NONE) return 0;
    t->c[c].date = k->sent;
    t->c[c].subj = msgkeys_str(k->str[MK_SUBJECT]);
    t->c[c].refwd = k->refwd;
  }
  return 1;
}

/* ORDEREDSUBJECT (RFC 5256 3): by base subject, each group's earliest message
 * the parent of the others. Roots into *roots. */
static int by_subject_only(tree *t, long **roots, size_t *nr)
{
  size_t n = t->n;
  long *ord = malloc((n ? n : 1) * sizeof *ord);
  *roots = malloc((n ? n : 1) * sizeof **roots);
  if (!ord || !*roots) { free(ord); return 0; }
  for (size_t i = 0; i < n; i++) ord[i] = (long)i;
  sort_t = t;
  qsort(ord, n, sizeof *ord, cmp_date);
  /* a stable grouping: the first of each subject (in date order) is its root */
  *nr = 0;
  for (size_t i = 0; i < n; i++) {
    long c = ord[i], r = NONE;
    for (size_t k = *nr; k-- > 0; ) if (!strcmp(t->c[(*roots)[k]].subj, t->c[c].subj)) { r = (*roots)[k]; break; }
    if (r == NONE) (*roots)[(*nr)++] = c; else add_child(t, r, c);
  }
  free(ord);
  return 1;
}

/* REFERENCES (RFC 5256 4). */
static int by_references(tree *t, size_t const *idx, size_t n, long **roots, size_t *nr)
{
  idtab h = { 0, 0, 16 };
  while (h.cap < 4 * (n + 1)) h.cap *= 2;
  h.key = calloc(h.cap, sizeof *h.key);
  h.val = calloc(h.cap, sizeof *h.val);
  long *mine = malloc((n ? n : 1) * sizeof *mine);
  int ok = h.key && h.val && mine && read_keys(idx, n, MK_HAVE_IDS);
  /* 1: containers for ids, linked along each message's References */
  for (size_t i = 0; ok && i < n; i++) {
    mkeys *k = msgkeys(idx[i], MK_HAVE_IDS);
    if (!k) { ok = 0; break; }
    char const *id = msgkeys_str(k->msgid);
    long me = NONE;
    if (*id) {
      me = by_id(t, &h, id);
      /* the same id twice: the second message is on its own (1.A) */
      if (me != NONE && t->c[me].idx != NONE) me = NONE;
    }
    if (me == NONE) me = cnew(t, NONE);
    if (me == NONE) { ok = 0; break; }
    t->c[me].idx = t->c[me].ord = (long)idx[i];
    mine[i] = me;
    /* the last REFS_MAX references */
    char const *r = msgkeys_str(k->refs);
    size_t nrefs = 0;
    for (char const *q = r; *q; q += strlen(q) + 1) nrefs++;
    size_t skip = nrefs > REFS_MAX ? nrefs - REFS_MAX : 0;
    long prev = NONE;
    for (char const *q = r; ok && *q; q += strlen(q) + 1) {
      if (skip) { skip--; continue; }
      long c = by_id(t, &h, q);
      if (c == NONE) { ok = 0; break; }
      /* 1.B: link where there is no parent yet and no loop comes of it */
      if (prev != NONE && c != prev && t->c[c].parent == NONE && !above(t, c, prev)) add_child(t, prev, c);
      prev = c;
    }
    /* 1.C: the last reference is the parent, whatever the message had (that
     * link is broken first; the new one only where no loop comes of it) */
    if (ok) {
      unlink_child(t, me);
      if (prev != NONE && prev != me && !above(t, me, prev)) add_child(t, prev, me);
    }
  }
  /* (message data comes from the containers: dates and subjects) */
  for (size_t i = 0; ok && i < n; i++) {
    mkeys *k = msgkeys(idx[i], (1u << MK_SUBJECT) | MK_HAVE_DATE);
    if (!k) { ok = 0; break; }
    cont *c = &t->c[mine[i]];
    c->date = k->sent; c->subj = msgkeys_str(k->str[MK_SUBJECT]); c->refwd = k->refwd;
  }
  free(h.key); free(h.val); free(mine);
  if (!ok || t->nomem) return 0;
  /* 2: the root set */
  *roots = malloc((t->n ? t->n : 1) * sizeof **roots);
  if (!*roots) return 0;
  size_t nroot = 0;
  for (size_t i = 0; i < t->n; i++) if (t->c[i].parent == NONE) (*roots)[nroot++] = (long)i;
  /* 4: dummies go: empty ones vanish, others give their children to their
   * parent (at the root, only a single child is promoted) */
  size_t no;
  long *order = post_order(t, *roots, nroot, &no);
  if (!order) return 0;
  for (size_t i = 0; i < no; i++) {
    long p = order[i], k = t->c[p].child;
    t->c[p].child = t->c[p].last = NONE; t->c[p].nkids = 0;
    while (k != NONE) {
      long next = t->c[k].next;
      if (t->c[k].idx == NONE) {
        /* a dummy (its own children already done): its children come up */
        long g = t->c[k].child;
        while (g != NONE) { long gn = t->c[g].next; add_child(t, p, g); g = gn; }
        t->c[k].dead = 1;
      } else add_child(t, p, k);
      k = next;
    }
  }
  free(order);
  size_t o = 0;
  for (size_t i = 0; i < nroot; i++) {
    long r = (*roots)[i];
    if (t->c[r].idx != NONE) { (*roots)[o++] = r; continue; }
    if (t->c[r].nkids == 0) { t->c[r].dead = 1; continue; }
    if (t->c[r].nkids == 1) { long c = t->c[r].child; unlink_child(t, c); t->c[r].dead = 1; (*roots)[o++] = c; continue; }
    (*roots)[o++] = r;
  }
  nroot = o;
  /* a dummy root's subject and date are its first child's */
  for (size_t i = 0; i < nroot; i++) {
    cont *c = &t->c[(*roots)[i]];
    if (c->idx == NONE) { c->subj = t->c[c->child].subj; c->date = t->c[c->child].date; c->ord = t->c[c->child].ord; c->refwd = t->c[c->child].refwd; }
  }
  /* 5: roots with the same base subject are gathered */
  idtab s = { 0, 0, 16 };
  while (s.cap < 4 * (nroot + 1)) s.cap *= 2;
  s.key = calloc(s.cap, sizeof *s.key);
  s.val = calloc(s.cap, sizeof *s.val);
  if (!s.key || !s.val) { free(s.key); free(s.val); return 0; }
  for (size_t i = 0; i < nroot; i++) {
    long r = (*roots)[i];
    char const *sj = t->c[r].subj;
    if (!*sj) continue;
    size_t j = (size_t)hash_str(sj) & (s.cap - 1);
    for (; s.key[j] && strcmp(s.key[j], sj); j = (j + 1) & (s.cap - 1)) ;
    if (!s.key[j]) { s.key[j] = sj; s.val[j] = r; continue; }
    cont *old = &t->c[s.val[j]], *cur = &t->c[r];
    if ((cur->idx == NONE && old->idx != NONE) || (old->refwd && !cur->refwd && old->idx != NONE && cur->idx != NONE)) s.val[j] = r;
  }
  /* (dead marks a root that went under another: it is not listed again) */
  o = 0;
  for (size_t i = 0; i < nroot; i++) {
    long r = (*roots)[i];
    if (t->c[r].dead) continue;
    char const *sj = t->c[r].subj;
    size_t j = (size_t)hash_str(sj) & (s.cap - 1);
    if (*sj) for (; s.key[j] && strcmp(s.key[j], sj); j = (j + 1) & (s.cap - 1)) ;
    long tb = *sj && s.key[j] ? s.val[j] : r;
    if (tb == r) { (*roots)[o++] = r; continue; }
    cont *T = &t->c[tb], *R = &t->c[r];
    if (T->idx == NONE && R->idx == NONE) {
      long g = R->child;
      while (g != NONE) { long gn = t->c[g].next; add_child(t, tb, g); g = gn; }
      R->child = R->last = NONE; R->dead = 1;
    } else if (T->idx == NONE || (!T->refwd && R->refwd)) { add_child(t, tb, r); R->dead = 1; }
    else {
      /* both replies or neither: siblings under a new dummy in the table's place */
      long d = cnew(t, NONE);
      if (d == NONE) { free(s.key); free(s.val); return 0; }
      T = &t->c[tb]; R = &t->c[r];   /* (cnew may move the array) */
      t->c[d].subj = T->subj; t->c[d].date = T->date; t->c[d].ord = T->ord;
      size_t k;
      for (k = 0; k < o && (*roots)[k] != tb; k++) ;
      if (k < o) (*roots)[k] = d; else (*roots)[o++] = d;
      add_child(t, d, tb);
      add_child(t, d, r);
      t->c[tb].dead = t->c[r].dead = 1;
      s.val[j] = d;
    }
  }
  free(s.key); free(s.val);
  *nr = o;
  return 1;
}

int c_thread(pcur *p, int uid)
{
  pstr alg, cs;
  S.expunge_held = !uid;
  if (!p_sp(p) || !p_atom(p, &alg) || !p_sp(p) || !p_astring(p, &cs) || !p_sp(p)) { resp("BAD Syntax: THREAD algorithm charset keys"); return 1; }
  int refs = strcase_eq(alg.s, alg.len, "REFERENCES");
  if (!refs && !strcase_eq(alg.s, alg.len, "ORDEREDSUBJECT")) { resp("BAD Unknown threading algorithm"); return 1; }
  if (!strcase_eq(cs.s, cs.len, "UTF-8") && !strcase_eq(cs.s, cs.len, "US-ASCII")) {
    resp("NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"); return 1;
  }
  sprog *g = search_compile(p);
  if (!g) return 1;
  size_t *idx = malloc((S.mb.n ? S.mb.n : 1) * sizeof *idx);
  size_t n = idx ? search_all(g, idx) : 0;
  search_free(g);
  tree t = { 0, 0, 0, 0 };
  long *roots = 0, *stack = 0;
  size_t nr = 0, scap = 0;
  int ok = idx != 0;
  if (ok && refs) ok = by_references(&t, idx, n, &roots, &nr);
  else if (ok) ok = load(&t, idx, n, 0) && by_subject_only(&t, &roots, &nr);
  ok = ok && !t.nomem && sort_all(&t, roots, nr);
  if (ok) {
    io_puts("* THREAD");
    if (nr) io_put(" ", 1);
    for (size_t i = 0; ok && i < nr && !io_abandoned(); i++) ok = put_thread(&t, roots[i], uid, &stack, &scap);
    io_puts("\r\n");
  }
  free(idx); free(roots); free(stack); free(t.c);
  resp(ok ? "OK THREAD completed" : "NO [SERVERBUG] Out of memory");
  return 1;
}
