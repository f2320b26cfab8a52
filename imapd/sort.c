/* pochta-imapd: SORT and UID SORT (RFC 5256), with DISPLAYFROM/DISPLAYTO
 * (RFC 5957), RETURN options (ESORT, RFC 5267) and UPDATE (CONTEXT=SORT).
 * Keys come from msgkeys.c; equal keys keep mailbox order (RFC 5256 2.2).
 * The sort is qsort over indexes with the keys read before it begins. */
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "io.h"
#include "search.h"

int sort_criteria(pcur *p, skey *k, int *nk)
{
  static struct { char const *name; int key; } const names[] = {
    { "ARRIVAL", SK_ARRIVAL }, { "CC", SK_CC }, { "DATE", SK_DATE }, { "FROM", SK_FROM },
    { "SIZE", SK_SIZE }, { "SUBJECT", SK_SUBJECT }, { "TO", SK_TO },
    { "DISPLAYFROM", SK_DISPLAYFROM }, { "DISPLAYTO", SK_DISPLAYTO },
  };
  *nk = 0;
  if (!p_char(p, '(')) { resp("BAD Syntax: SORT (criteria) charset keys"); return 0; }
  for (int first = 1; !p_char(p, ')'); first = 0) {
    pstr a;
    int rev = 0;
    if ((!first && !p_sp(p)) || !p_atom(p, &a)) { resp("BAD Invalid sort criteria"); return 0; }
    if (strcase_eq(a.s, a.len, "REVERSE")) {
      if (!p_sp(p) || !p_atom(p, &a)) { resp("BAD REVERSE of nothing"); return 0; }
      rev = 1;
    }
    size_t i;
    for (i = 0; i < sizeof names / sizeof *names; i++) if (strcase_eq(a.s, a.len, names[i].name)) break;
    if (i == sizeof names / sizeof *names) { resp("BAD Unknown sort criterion"); return 0; }
    if (*nk == SORT_KEYS_MAX) { resp("BAD Too many sort criteria"); return 0; }
    k[*nk].key = names[i].key; k[*nk].reverse = rev; (*nk)++;
  }
  if (!*nk) { resp("BAD Empty sort criteria"); return 0; }
  return 1;
}

/* What a criterion needs of msgkeys. */
static unsigned want_of(int key)
{
  switch (key) {
    case SK_CC: return 1u << MK_CC;
    case SK_FROM: return 1u << MK_FROM;
    case SK_TO: return 1u << MK_TO;
    case SK_SUBJECT: return 1u << MK_SUBJECT;
    case SK_DISPLAYFROM: return 1u << MK_DISPLAYFROM;
    case SK_DISPLAYTO: return 1u << MK_DISPLAYTO;
    case SK_DATE: return MK_HAVE_DATE;
  }
  return 0;
}

/* A message's keys, taken out before the sort: numbers and string offsets. */
typedef struct { size_t idx; int64_t const *num; } sitem;
static skey const *cur_k;
static int cur_nk;

static int cmp_item(void const *a, void const *b)
{
  sitem const *x = a, *y = b;
  for (int i = 0; i < cur_nk; i++) {
    int c;
    switch (cur_k[i].key) {
      case SK_ARRIVAL: case SK_DATE: case SK_SIZE:
        c = (x->num[i] > y->num[i]) - (x->num[i] < y->num[i]);
        break;
      default:
        c = strcmp(msgkeys_str((uint32_t)x->num[i]), msgkeys_str((uint32_t)y->num[i]));
    }
    if (c) return cur_k[i].reverse ? -c : c;
  }
  /* RFC 5256: ties in mailbox order, which REVERSE does not turn */
  return (x->idx > y->idx) - (x->idx < y->idx);
}

int sort_indexes(size_t *idx, size_t n, skey const *k, int nk)
{
  unsigned want = 0;
  for (int i = 0; i < nk; i++) want |= want_of(k[i].key);
  /* (the keys of all messages in one array: nk numbers each) */
  sitem *it = malloc((n ? n : 1) * sizeof *it);
  int64_t *num = malloc((n ? n : 1) * (size_t)nk * sizeof *num);
  if (!it || !num) { free(it); free(num); return -1; }
  for (size_t j = 0; j < n; j++) {
    msg *m = &S.mb.m[idx[j]];
    mkeys *mk = want ? msgkeys(idx[j], want) : 0;
    if (want && !mk) { free(it); free(num); return -1; }
    int64_t *x = num + j * (size_t)nk;
    it[j].idx = idx[j]; it[j].num = x;
    for (int i = 0; i < nk; i++) {
      switch (k[i].key) {
        case SK_ARRIVAL: x[i] = (int64_t)mbox_date(&S.mb, m); break;
        case SK_SIZE: x[i] = mbox_size(&S.mb, m); break;
        case SK_DATE: x[i] = mk->sent; break;
        case SK_CC: x[i] = mk->str[MK_CC]; break;
        case SK_FROM: x[i] = mk->str[MK_FROM]; break;
        case SK_TO: x[i] = mk->str[MK_TO]; break;
        case SK_SUBJECT: x[i] = mk->str[MK_SUBJECT]; break;
        case SK_DISPLAYFROM: x[i] = mk->str[MK_DISPLAYFROM]; break;
        case SK_DISPLAYTO: x[i] = mk->str[MK_DISPLAYTO]; break;
      }
    }
  }
  cur_k = k; cur_nk = nk;
  if (n) qsort(it, n, sizeof *it, cmp_item);
  for (size_t j = 0; j < n; j++) idx[j] = it[j].idx;
  free(it); free(num);
  return 0;
}

int c_sort(pcur *p, int uid)
{
  sret r = { 0, 0, 0 };
  skey k[SORT_KEYS_MAX];
  int nk;
  pstr cs;
  S.expunge_held = !uid;
  if (!p_sp(p)) { resp("BAD Syntax: SORT (criteria) charset keys"); return 1; }
  if (p_word(p, "RETURN")) {
    if (!p_sp(p) || !search_return(p, &r)) return 1;
    if (!p_sp(p)) { resp("BAD Syntax: SORT RETURN (options) (criteria) charset keys"); return 1; }
  }
  if (!sort_criteria(p, k, &nk)) return 1;
  /* the charset is not optional in SORT */
  if (!p_sp(p) || !p_astring(p, &cs) || !p_sp(p)) { resp("BAD Syntax: SORT (criteria) charset keys"); return 1; }
  if (!strcase_eq(cs.s, cs.len, "UTF-8") && !strcase_eq(cs.s, cs.len, "US-ASCII")) {
    resp("NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"); return 1;
  }
  sprog *g = search_compile(p);
  if (!g) return 1;
  size_t *idx = malloc((S.mb.n ? S.mb.n : 1) * sizeof *idx);
  uint32_t *v = malloc((S.mb.n ? S.mb.n : 1) * sizeof *v);
  size_t n = 0;
  if (!idx || !v || (n = search_all(g, idx), sort_indexes(idx, n, k, nk) < 0)) {
    free(idx); free(v); search_free(g); resp("NO [SERVERBUG] Out of memory"); return 1;
  }
  for (size_t j = 0; j < n; j++) v[j] = uid ? S.mb.m[idx[j]].uid : (uint32_t)idx[j] + 1;
  uint64_t hms = 0;
  if (search_modseq(g)) for (size_t j = 0; j < n; j++) if (S.mb.m[idx[j]].modseq > hms) hms = S.mb.m[idx[j]].modseq;
  if (!r.ret) {
    io_puts("* SORT");
    for (size_t j = 0; j < n; j++) { io_put(" ", 1); io_putu(v[j]); }
    if (hms) { io_puts(" (MODSEQ "); io_putu(hms); io_puts(")"); }
    io_puts("\r\n");
  } else esearch_put(&r, uid, v, n, hms);
  resp("OK SORT completed");
  if (r.ret & R_UPDATE) {
    if (context_add(cur_tag, g, k, nk, uid, idx, n)) g = 0;
    else respf("OK [NOUPDATE \"%s\"] SORT completed, too many results kept up to date", cur_tag);
  }
  free(idx); free(v);
  search_free(g);
  return 1;
}
