/* pochta-imapd: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): a SEARCH or SORT
 * with RETURN (UPDATE) is kept up to date; when the mailbox changes, the
 * session sends ESEARCH ADDTO and REMOVEFROM for it until CANCELUPDATE or the
 * mailbox is left.
 *
 * A context holds its program, its sort criteria and its result as UIDs in
 * result order. At an update only new messages and messages whose flags
 * changed are looked at again (content never changes); REMOVEFROM goes out
 * before the EXPUNGE responses, with the numbers they still have, ADDTO after
 * EXISTS, with the new ones. Positions count from 1 in a sorted result and
 * are 0 for a SEARCH, whose order is the mailbox's. */
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "io.h"
#include "search.h"

#define CONTEXTS_MAX 8

typedef struct {
  char tag[256];
  sprog *g;
  skey k[SORT_KEYS_MAX]; int nk;
  int uid;
  uint32_t *uids; size_t n;          /* the result */
  uint64_t hms;                      /* the highest modseq looked at */
  uint32_t *add; size_t nadd;        /* UIDs added at this update, in result order */
  size_t *addpos;                    /* their positions (sorted contexts) */
} context;

static context ctx[CONTEXTS_MAX];
static int nctx;

int context_add(char const *tag, sprog *g, skey const *k, int nk, int uid, size_t const *idx, size_t n)
{
  if (nctx == CONTEXTS_MAX || strlen(tag) >= sizeof ctx[0].tag) return 0;
  context *c = &ctx[nctx];
  memset(c, 0, sizeof *c);
  c->uids = malloc((n ? n : 1) * sizeof *c->uids);
  if (!c->uids) return 0;
  strcpy(c->tag, tag);
  c->g = g; c->nk = nk; c->uid = uid;
  if (nk) memcpy(c->k, k, (size_t)nk * sizeof *k);
  for (size_t i = 0; i < n; i++) c->uids[i] = S.mb.m[idx[i]].uid;
  c->n = n;
  c->hms = S.mb.hms;
  nctx++;
  return 1;
}

static void context_free(context *c)
{
  search_free(c->g); free(c->uids); free(c->add); free(c->addpos);
  memset(c, 0, sizeof *c);
}

void context_reset(void)
{
  for (int i = 0; i < nctx; i++) context_free(&ctx[i]);
  nctx = 0;
}

int c_cancelupdate(pcur *p, int uid)
{
  (void)uid;
  int any = 0;
  while (p_sp(p)) {
    pstr t;
    if (!p_string(p, &t)) { resp("BAD Syntax: CANCELUPDATE \"tag\" ..."); return 1; }
    any = 1;
    for (int i = 0; i < nctx; i++) {
      if (strlen(ctx[i].tag) != t.len || memcmp(ctx[i].tag, t.s, t.len)) continue;
      context_free(&ctx[i]);
      ctx[i] = ctx[--nctx];
      memset(&ctx[nctx], 0, sizeof ctx[nctx]);
      break;
    }
  }
  if (!any || !p_eol(p)) { resp("BAD Syntax: CANCELUPDATE \"tag\" ..."); return 1; }
  resp("OK CANCELUPDATE completed");
  return 1;
}

static void put_head(context const *c)
{
  io_puts("* ESEARCH (TAG "); io_putstr(c->tag, strlen(c->tag)); io_puts(")");
  if (c->uid) io_puts(" UID");
}

/* One "ADDTO (pos set)" or "REMOVEFROM (pos set)" per run of neighbours. */
static void put_runs(char const *what, uint32_t const *v, size_t const *pos, size_t n)
{
  for (size_t i = 0; i < n; ) {
    size_t j = i + 1;
    while (j < n && pos && pos[j] == pos[j - 1] + 1) j++;
    if (!pos) j = n;
    io_put(" ", 1); io_puts(what); io_puts(" ("); io_putu(pos ? pos[i] : 0); io_put(" ", 1);
    put_numset(v + i, j - i);
    io_puts(")");
    i = j;
  }
}

static long find_uid(mbox const *mb, uint32_t uid)
{
  size_t lo = 0, hi = mb->n;
  while (lo < hi) { size_t mid = (lo + hi) / 2; if (mb->m[mid].uid < uid) lo = mid + 1; else hi = mid; }
  return lo < mb->n && mb->m[lo].uid == uid ? (long)lo : -1;
}

/* Phase 0 (before EXPUNGE responses): the new results, REMOVEFROM sent, ADDTO
 * kept for phase 1 (after EXISTS). */
static void update_one(context *c, mbox const *old, mbox const *nw)
{
  size_t *idx = malloc((nw->n ? nw->n : 1) * sizeof *idx);
  uint32_t *rem = malloc((c->n ? c->n : 1) * sizeof *rem);
  size_t *rpos = malloc((c->n ? c->n : 1) * sizeof *rpos);
  unsigned char *in = calloc(nw->n ? nw->n : 1, 1);
  size_t nidx = 0, nrem = 0;
  if (!idx || !rem || !rpos || !in) goto done;
  /* what was in the result and still is (unless its flags changed) */
  for (size_t i = 0; i < c->n; i++) {
    long k = find_uid(nw, c->uids[i]);
    if (k >= 0) in[k] = 1;
  }
  /* looked at again: new messages, and those whose flags changed since (a
   * change, this session's too, gives a message a new modseq) */
  uint32_t oldmax = old->n ? old->m[old->n - 1].uid : 0;
  uint64_t hms = c->hms;
  for (size_t k = 0; k < nw->n; k++) {
    msg const *m = &nw->m[k];
    if (m->uid > oldmax || m->modseq > c->hms) in[k] = (unsigned char)search_match(c->g, k);
    if (m->modseq > hms) hms = m->modseq;
    if (in[k]) idx[nidx++] = k;
  }
  c->hms = hms;
  if (c->nk && sort_indexes(idx, nidx, c->k, c->nk) < 0) goto done;
  /* removed: in the old result, not in the new */
  for (size_t i = 0; i < c->n; i++) {
    long k = find_uid(nw, c->uids[i]);
    if (k >= 0 && in[k]) continue;
    long o = find_uid(old, c->uids[i]);
    rem[nrem] = c->uid ? c->uids[i] : (uint32_t)(o + 1);
    rpos[nrem++] = i + 1;
  }
  if (nrem) {
    put_head(c);
    put_runs("REMOVEFROM", rem, c->nk ? rpos : 0, nrem);
    io_puts("\r\n");
  }
  /* added: in the new result, not in the old; positions in the new one */
  uint32_t *nu = malloc((nidx ? nidx : 1) * sizeof *nu);
  free(c->add); free(c->addpos);
  c->add = malloc((nidx ? nidx : 1) * sizeof *c->add);
  c->addpos = malloc((nidx ? nidx : 1) * sizeof *c->addpos);
  c->nadd = 0;
  if (!nu || !c->add || !c->addpos) { free(nu); goto done; }
  /* (old membership by uid: the old result sorted) */
  uint32_t *sorted = malloc((c->n ? c->n : 1) * sizeof *sorted);
  if (!sorted) { free(nu); goto done; }
  memcpy(sorted, c->uids, c->n * sizeof *sorted);
  for (size_t i = 1; i < c->n; i++)   /* (insertion sort: results are mostly in order) */
    for (size_t j = i; j && sorted[j - 1] > sorted[j]; j--) { uint32_t t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t; }
  for (size_t j = 0; j < nidx; j++) {
    uint32_t u = nw->m[idx[j]].uid;
    nu[j] = u;
    size_t lo = 0, hi = c->n;
    while (lo < hi) { size_t mid = (lo + hi) / 2; if (sorted[mid] < u) lo = mid + 1; else hi = mid; }
    if (lo < c->n && sorted[lo] == u) continue;
    c->add[c->nadd] = c->uid ? u : (uint32_t)idx[j] + 1;
    c->addpos[c->nadd++] = j + 1;
  }
  free(sorted);
  free(c->uids);
  c->uids = nu; c->n = nidx;
 done:
  free(idx); free(rem); free(rpos); free(in);
}

void context_update(mbox const *old, mbox *nw)
{
  if (!nctx) return;
  /* the programs look at the new view: it is the session's for a moment
   * (old may be the session's: a copy of it is compared) */
  mbox saved = S.mb, was = *old;
  S.mb = *nw;
  for (int i = 0; i < nctx; i++) update_one(&ctx[i], &was, &S.mb);
  *nw = S.mb;
  S.mb = saved;
}

void context_added(void)
{
  for (int i = 0; i < nctx; i++) {
    context *c = &ctx[i];
    if (!c->nadd) continue;
    put_head(c);
    put_runs("ADDTO", c->add, c->nk ? c->addpos : 0, c->nadd);
    io_puts("\r\n");
    c->nadd = 0;
  }
}
