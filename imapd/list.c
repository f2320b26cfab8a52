/* pochta-imapd: LIST and LSUB (RFC 3501 6.3.8-9, RFC 9051 6.3.9, LIST-EXTENDED
 * RFC 5258 with SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE, REMOTE and RETURN
 * (SUBSCRIBED CHILDREN SPECIAL-USE STATUS), LIST-STATUS RFC 5819).
 *
 * Every name that can be listed is gathered once, sorted: INBOX, the folders,
 * the subscriptions, and the parents both imply. A name's descendants are then
 * the run of names that start with it and the delimiter, found by binary
 * search: attributes, CHILDINFO and the \Noselect parents of LSUB cost no
 * quadratic scan.
 *
 * Wildcards are matched by wildmat.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "io.h"
#include "wildmat.h"

#define PATS_MAX 32       /* patterns in one LIST */

/* --- the names ------------------------------------------------------------ */

#define LE_EXISTS 1
#define LE_SUB 2

typedef struct { char *name; unsigned fl; } lname;
typedef struct { lname *v; size_t n, cap; int nomem; } lnames;

static void ln_add(lnames *L, char const *name, size_t len, unsigned fl)
{
  if (L->nomem) return;
  if (L->n == L->cap) {
    size_t c = L->cap ? L->cap * 2 : 64;
    lname *nv = realloc(L->v, c * sizeof *nv);
    if (!nv) { L->nomem = 1; return; }
    L->v = nv; L->cap = c;
  }
  char *s = strndup(name, len);
  if (!s) { L->nomem = 1; return; }
  L->v[L->n].name = s; L->v[L->n].fl = fl; L->n++;
}

/* name and every parent it implies ("a.b.c": "a", "a.b") */
static void ln_add_with_parents(lnames *L, char const *name, unsigned fl)
{
  for (char const *d = strchr(name, '.'); d; d = strchr(d + 1, '.')) ln_add(L, name, (size_t)(d - name), 0);
  ln_add(L, name, strlen(name), fl);
}

static int cmp_lname(void const *a, void const *b) { return strcmp(((lname const *)a)->name, ((lname const *)b)->name); }

static void ln_sort(lnames *L)
{
  size_t o = 0;
  if (L->n) qsort(L->v, L->n, sizeof *L->v, cmp_lname);
  for (size_t i = 0; i < L->n; i++) {
    if (o && !strcmp(L->v[o - 1].name, L->v[i].name)) { L->v[o - 1].fl |= L->v[i].fl; free(L->v[i].name); continue; }
    L->v[o++] = L->v[i];
  }
  L->n = o;
}

static void ln_free(lnames *L)
{
  for (size_t i = 0; i < L->n; i++) free(L->v[i].name);
  free(L->v);
}

/* The run of names below L->v[i] ("name.x..."): [*lo, *hi). */
static void descendants(lnames const *L, size_t i, size_t *lo, size_t *hi)
{
  char const *name = L->v[i].name;
  size_t l = strlen(name);
  size_t a = i + 1, b = L->n;
  /* the first name not below `name.` in sort order (names sort between
   * "name" and "name." when they continue with an octet below '.') */
  while (a < b) {
    size_t mid = (a + b) / 2;
    int c = strncmp(L->v[mid].name, name, l);
    if (c < 0 || (!c && (unsigned char)L->v[mid].name[l] < '.')) a = mid + 1; else b = mid;
  }
  *lo = a;
  while (a < L->n && !strncmp(L->v[a].name, name, l) && L->v[a].name[l] == '.') a++;
  *hi = a;
}

/* --- LIST / LSUB ------------------------------------------------------------ */

#define SEL_SUBSCRIBED 1
#define SEL_SPECIAL 2
#define SEL_RECURSIVE 4
#define RET_SUBSCRIBED 1
#define RET_CHILDREN 2
#define RET_SPECIAL 4
#define RET_STATUS 8

static int any_match(pattern const *pats, int n, char const *name)
{
  for (int k = 0; k < n; k++) if (pat_match(&pats[k], name)) return 1;
  return 0;
}

static int do_list(pcur *p, int lsub)
{
  unsigned sel = 0, ret = 0, stitems = 0;
  pstr ref, pat;
  static pattern pats[PATS_MAX];
  int npats = 0;
  if (!p_sp(p)) goto bad;
  if (!lsub && p_char(p, '(')) {
    for (int first = 1; !p_char(p, ')'); first = 0) {
      pstr a;
      if (!first && !p_sp(p)) goto bad;
      if (!p_atom(p, &a)) goto bad;
      if (strcase_eq(a.s, a.len, "SUBSCRIBED")) sel |= SEL_SUBSCRIBED;
      else if (strcase_eq(a.s, a.len, "SPECIAL-USE")) sel |= SEL_SPECIAL;
      else if (strcase_eq(a.s, a.len, "RECURSIVEMATCH")) sel |= SEL_RECURSIVE;
      else if (strcase_eq(a.s, a.len, "REMOTE")) ;
      else goto bad;
    }
    /* RFC 5258 3.1: RECURSIVEMATCH needs a selection option it can apply to */
    if ((sel & SEL_RECURSIVE) && !(sel & SEL_SUBSCRIBED)) goto bad;
    if (!p_sp(p)) goto bad;
  }
  if (!p_astring(p, &ref) || !p_sp(p)) goto bad;
  /* patterns: list-mailbox (atom chars plus % * ]) or string, or a list of them */
  int plist = !lsub && p_char(p, '(');
  for (int first = 1; ; first = 0) {
    if (plist && p_char(p, ')')) break;
    if (!first && plist && !p_sp(p)) goto bad;
    if (!p_string(p, &pat)) {
      size_t i = p->pos;
      while (i < p->len && (is_atom_char((unsigned char)p->s[i]) || p->s[i] == '%' || p->s[i] == '*' || p->s[i] == ']')) i++;
      if (i == p->pos) goto bad;
      pat.s = p->s + p->pos; pat.len = i - p->pos; p->pos = i;
    }
    if (npats == PATS_MAX) goto bad;
    pat_compile(&pats[npats++], ref.s, ref.len, pat.s, pat.len);
    if (!plist) break;
  }
  if (plist && !npats) goto bad;
  if (!lsub && p_sp(p)) {
    if (!p_word(p, "RETURN") || !p_sp(p) || !p_char(p, '(')) goto bad;
    for (int first = 1; !p_char(p, ')'); first = 0) {
      pstr a;
      if (!first && !p_sp(p)) goto bad;
      if (!p_atom(p, &a)) goto bad;
      if (strcase_eq(a.s, a.len, "SUBSCRIBED")) ret |= RET_SUBSCRIBED;
      else if (strcase_eq(a.s, a.len, "CHILDREN")) ret |= RET_CHILDREN;
      else if (strcase_eq(a.s, a.len, "SPECIAL-USE")) ret |= RET_SPECIAL;
      else if (strcase_eq(a.s, a.len, "STATUS")) {
        if (!p_sp(p) || !parse_status_items(p, &stitems)) goto bad;
        ret |= RET_STATUS;
      } else goto bad;
    }
  }
  if (!p_eol(p)) goto bad;

  /* LIST "" "": the delimiter and the root */
  if (npats == 1 && !pats[0].len) {
    io_puts(lsub ? "* LSUB (\\Noselect) \".\" \"\"\r\n" : "* LIST (\\Noselect) \".\" \"\"\r\n");
    resp(lsub ? "OK LSUB completed" : "OK LIST completed");
    return 1;
  }
  size_t n, ns;
  char **all = folders_all(&n);
  char **subs = subs_read(&ns);
  lnames L = { 0, 0, 0, 0 };
  if (!all || !subs) L.nomem = 1;
  ln_add(&L, "INBOX", 5, LE_EXISTS);
  for (size_t i = 0; all && i < n; i++) ln_add_with_parents(&L, all[i], LE_EXISTS);
  for (size_t i = 0; subs && i < ns; i++) {
    if (!*subs[i]) continue;
    if (!strcasecmp(subs[i], "INBOX")) ln_add(&L, "INBOX", 5, LE_SUB);
    else if (folder_name_ok(subs[i], strlen(subs[i]))) ln_add_with_parents(&L, subs[i], LE_SUB);
  }
  folders_free(all); folders_free(subs);
  if (L.nomem) { ln_free(&L); resp("NO [SERVERBUG] Out of memory"); return 1; }
  ln_sort(&L);
  for (size_t i = 0; i < L.n && !io_abandoned(); i++) {
    char const *name = L.v[i].name;
    unsigned fl = L.v[i].fl;
    if (!any_match(pats, npats, name)) continue;
    size_t lo, hi;
    int children = 0, subdesc = 0;
    if (strcmp(name, "INBOX")) {
      descendants(&L, i, &lo, &hi);
      for (size_t k = lo; k < hi; k++) {
        if (L.v[k].fl & LE_EXISTS) children = 1;
        /* a subscribed descendant the patterns leave out (RFC 5258 3.5,
         * RFC 3501 6.3.9 for LSUB with %) */
        if ((L.v[k].fl & LE_SUB) && !subdesc && !any_match(pats, npats, L.v[k].name)) subdesc = 1;
      }
    }
    int sub = (fl & LE_SUB) != 0, exists = (fl & LE_EXISTS) != 0;
    int childinfo = 0;
    if (lsub) {
      if (!sub && !subdesc) continue;
    } else if (sel & SEL_SUBSCRIBED) {
      childinfo = (sel & SEL_RECURSIVE) && subdesc;
      if (!sub && !childinfo) continue;
    } else if (!exists && !children) continue;   /* only in the subscriptions */
    char const *su = special_of(name);
    if ((sel & SEL_SPECIAL) && !su) continue;
    io_puts(lsub ? "* LSUB (" : "* LIST (");
    int sp = 0;
#define ATTR(s) do { if (sp) io_put(" ", 1); io_puts(s); sp = 1; } while (0)
    if (lsub) { if (!exists || !sub) ATTR("\\Noselect"); }
    else {
      if (!exists) ATTR("\\NonExistent");
      ATTR(children ? "\\HasChildren" : "\\HasNoChildren");
      if (sub && ((sel & SEL_SUBSCRIBED) || (ret & RET_SUBSCRIBED))) ATTR("\\Subscribed");
      if (su) ATTR(su);
    }
#undef ATTR
    io_puts(") \".\" ");
    io_putstr(name, strlen(name));
    if (childinfo) io_puts(" (CHILDINFO (\"SUBSCRIBED\"))");
    io_puts("\r\n");
    if ((ret & RET_STATUS) && exists) {
      char dir[4500];
      if (folder_dir(name, strlen(name), dir, sizeof dir)) put_status(name, dir, stitems);
    }
  }
  ln_free(&L);
  resp(lsub ? "OK LSUB completed" : "OK LIST completed");
  return 1;
 bad:
  resp(lsub ? "BAD Syntax: LSUB reference pattern" : "BAD Syntax: LIST reference pattern");
  return 1;
}

int c_list(pcur *p, int uid) { (void)uid; return do_list(p, 0); }
int c_lsub(pcur *p, int uid) { (void)uid; return do_list(p, 1); }
