/* pochta-imapd: SEARCH and UID SEARCH with RETURN options: ESEARCH (RFC 4731),
 * CONTEXT=SEARCH's PARTIAL, UPDATE and CONTEXT (RFC 5267), and PARTIAL with
 * ranges from the end (RFC 9394). The answer writer serves SORT too. */
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "io.h"
#include "search.h"

int p_partial(pcur *p, int64_t *lo, int64_t *hi)
{
  uint32_t a, b;
  int neg = p_char(p, '-');
  if (!p_nz_number(p, &a) || !p_char(p, ':') || (neg && !p_char(p, '-')) || !p_nz_number(p, &b)) return 0;
  int64_t x = neg ? -(int64_t)a : a, y = neg ? -(int64_t)b : b;
  *lo = x < y ? x : y; *hi = x < y ? y : x;
  return 1;
}

void partial_span(int64_t plo, int64_t phi, size_t n, size_t *first, size_t *last)
{
  int64_t lo = plo < 0 ? (int64_t)n + plo + 1 : plo, hi = phi < 0 ? (int64_t)n + phi + 1 : phi;
  if (lo < 1) lo = 1;
  if (hi > (int64_t)n) hi = (int64_t)n;
  *first = (size_t)lo; *last = lo > hi ? 0 : (size_t)hi;
}

int search_return(pcur *p, sret *r)
{
  memset(r, 0, sizeof *r);
  if (!p_char(p, '(')) { resp("BAD Invalid RETURN options"); return 0; }
  int others = 0;
  for (int first = 1; !p_char(p, ')'); first = 0) {
    pstr a;
    if ((!first && !p_sp(p)) || !p_atom(p, &a)) { resp("BAD Invalid RETURN options"); return 0; }
    unsigned bit = strcase_eq(a.s, a.len, "MIN") ? R_MIN : strcase_eq(a.s, a.len, "MAX") ? R_MAX
                 : strcase_eq(a.s, a.len, "ALL") ? R_ALL : strcase_eq(a.s, a.len, "COUNT") ? R_COUNT
                 : strcase_eq(a.s, a.len, "PARTIAL") ? R_PARTIAL : strcase_eq(a.s, a.len, "UPDATE") ? R_UPDATE
                 : strcase_eq(a.s, a.len, "CONTEXT") ? R_CONTEXT : 0;
    if (!bit) {
      resp(strcase_eq(a.s, a.len, "SAVE") ? "BAD SEARCHRES is not supported" : "BAD Unknown RETURN option");
      return 0;
    }
    if (r->ret & bit) { resp("BAD RETURN option given twice"); return 0; }
    if (bit == R_PARTIAL && (!p_sp(p) || !p_partial(p, &r->plo, &r->phi))) { resp("BAD Syntax: PARTIAL first:last"); return 0; }
    if (!(bit & (R_UPDATE | R_CONTEXT))) others = 1;
    r->ret |= bit;
  }
  /* RFC 4731 3.1: RETURN () is RETURN (ALL); UPDATE or CONTEXT alone asks for nothing more */
  if (!r->ret) r->ret = R_ALL;
  (void)others;
  return 1;
}

void put_numset(uint32_t const *v, size_t n)
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

void esearch_put(sret const *r, int uid, uint32_t const *v, size_t n, uint64_t modseq)
{
  io_puts("* ESEARCH (TAG "); io_putstr(cur_tag, strlen(cur_tag)); io_puts(")");
  if (uid) io_puts(" UID");
  /* MIN and MAX: the first and the last of the result (in sort order for SORT) */
  if (n && (r->ret & R_MIN)) { io_puts(" MIN "); io_putu(v[0]); }
  if (n && (r->ret & R_MAX)) { io_puts(" MAX "); io_putu(v[n - 1]); }
  if (r->ret & R_COUNT) { io_puts(" COUNT "); io_putu(n); }
  if (n && (r->ret & R_ALL)) { io_puts(" ALL "); put_numset(v, n); }
  if (r->ret & R_PARTIAL) {
    /* positions counted from the end when negative; the range as asked */
    size_t lo, hi;
    partial_span(r->plo, r->phi, n, &lo, &hi);
    io_puts(" PARTIAL (");
    if (r->plo < 0) { io_puts("-"); io_putu((uint64_t)-r->phi); io_puts(":-"); io_putu((uint64_t)-r->plo); }
    else { io_putu((uint64_t)r->plo); io_puts(":"); io_putu((uint64_t)r->phi); }
    if (lo > hi) io_puts(" NIL)");
    else { io_puts(" "); put_numset(v + lo - 1, hi - lo + 1); io_puts(")"); }
  }
  if (modseq) { io_puts(" MODSEQ "); io_putu(modseq); }
  io_puts("\r\n");
}

int c_search(pcur *p, int uid)
{
  sret r = { 0, 0, 0 };
  S.expunge_held = !uid;
  if (!p_sp(p)) { resp("BAD Syntax: SEARCH keys"); return 1; }
  int esearch = 0;
  if (p_word(p, "RETURN")) {
    if (!p_sp(p) || !search_return(p, &r)) return 1;
    if (!p_sp(p)) { resp("BAD Missing search keys"); return 1; }
    esearch = 1;
  }
  sprog *g = search_compile(p);
  if (!g) return 1;
  if (S.rev2 && !esearch) { esearch = 1; r.ret = R_ALL; }
  uint32_t *hits = malloc((S.mb.n ? S.mb.n : 1) * sizeof *hits);
  size_t *hidx = malloc((S.mb.n ? S.mb.n : 1) * sizeof *hidx);
  if (!hits || !hidx) { free(hits); free(hidx); search_free(g); resp("NO [SERVERBUG] Out of memory"); return 1; }
  size_t nh = search_all(g, hidx);
  for (size_t i = 0; i < nh; i++) hits[i] = uid ? S.mb.m[hidx[i]].uid : (uint32_t)hidx[i] + 1;
  /* RFC 7162 3.1.5: the highest modseq of the messages returned; with only MIN
   * and/or MAX asked for (ESEARCH), of those messages */
  uint64_t hms = 0;
  if (search_modseq(g) && nh) {
    if (!esearch || (r.ret & (R_ALL | R_COUNT | R_PARTIAL))) {
      for (size_t i = 0; i < nh; i++) if (S.mb.m[hidx[i]].modseq > hms) hms = S.mb.m[hidx[i]].modseq;
    } else {
      if (r.ret & R_MIN) hms = S.mb.m[hidx[0]].modseq;
      if ((r.ret & R_MAX) && S.mb.m[hidx[nh - 1]].modseq > hms) hms = S.mb.m[hidx[nh - 1]].modseq;
    }
  }
  if (!esearch) {
    io_puts("* SEARCH");
    for (size_t i = 0; i < nh; i++) { io_put(" ", 1); io_putu(hits[i]); }
    if (hms) { io_puts(" (MODSEQ "); io_putu(hms); io_puts(")"); }
    io_puts("\r\n");
  } else esearch_put(&r, uid, hits, nh, hms);
  resp("OK SEARCH completed");
  /* RFC 5267 4: UPDATE keeps the result up to date from now on */
  if (r.ret & R_UPDATE) {
    if (context_add(cur_tag, g, 0, 0, uid, hidx, nh)) g = 0;   /* (the context holds it now) */
    else respf("OK [NOUPDATE \"%s\"] SEARCH completed, too many results kept up to date", cur_tag);
  }
  free(hits); free(hidx);
  search_free(g);
  return 1;
}
