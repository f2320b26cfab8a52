/* spam/bayes.c — the classifier: Gary Robinson's f(w) for each token (a token seen
 * rarely stays near the neutral 0.5), the 150 tokens farthest from neutral (at
 * least 0.1 away), combined with Fisher's chi-square method as SpamBayes does: the
 * result is near 0 or 1 when the evidence agrees and near 0.5 when it does not or
 * is weak. A user who has learned fewer than `min` messages of either class gets
 * no opinion: a new user starts neutral. */
#include <math.h>
#include <stdlib.h>

#include "spam-int.h"

#define ROBINSON_S 0.45      /* strength of the prior */
#define ROBINSON_X 0.5       /* the prior: an unknown token is neutral */
#define MIN_STRENGTH 0.1     /* |f - 0.5| below this: the token does not count */
#define MAX_CLUES 150

/* The probability that a chi-square of v (even) degrees of freedom is at least x2. */
static double chi2q(double x2, unsigned v)
{
  double m = x2 / 2, term = exp(-m), sum = term;
  for (unsigned i = 1; i < v / 2; i++) { term *= m / i; sum += term; }
  return sum < 1 ? sum : 1;
}

typedef struct { double f, dist; } clue;

static int cmp_clue(void const *a, void const *b)
{
  double x = ((clue const *)a)->dist, y = ((clue const *)b)->dist;
  return x > y ? -1 : x < y;
}

void bayes_classify(bayesdb const *d, spam_tokens const *t, unsigned min, bayes_out *o)
{
  o->opinion = 0;
  o->p = 0.5;
  o->used = 0;
  if (d->nspam < min || d->nham < min || !d->nspam || !d->nham) return;
  clue *c = malloc((t->n ? t->n : 1) * sizeof *c);
  if (!c) return;   /* no memory: no opinion rather than a wrong one */
  o->opinion = 1;
  unsigned n = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    unsigned s, h;
    bayesdb_get(d, t->key[i], &s, &h);
    if (!s && !h) continue;
    double ps = (double)s / d->nspam, ph = (double)h / d->nham;
    if (ps > 1) ps = 1;
    if (ph > 1) ph = 1;
    double p = ps / (ps + ph), cnt = s + h;
    double f = (ROBINSON_S * ROBINSON_X + cnt * p) / (ROBINSON_S + cnt);
    double dist = fabs(f - 0.5);
    if (dist < MIN_STRENGTH) continue;
    c[n].f = f;
    c[n].dist = dist;
    n++;
  }
  qsort(c, n, sizeof *c, cmp_clue);
  if (n > MAX_CLUES) n = MAX_CLUES;
  double lh = 0, ls = 0;
  for (unsigned i = 0; i < n; i++) { lh += log(c[i].f); ls += log(1 - c[i].f); }
  free(c);
  o->used = n;
  if (!n) return;
  double spam = 1 - chi2q(-2 * ls, 2 * n), ham = 1 - chi2q(-2 * lh, 2 * n);
  o->p = (spam - ham + 1) / 2;
}

double bayes_points(double p, double spam, double ham)
{
  return p >= 0.5 ? (p - 0.5) * 2 * spam : (p - 0.5) * 2 * ham;
}
