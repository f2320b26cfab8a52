/* spam/report.c — the header fields of the score: what the SMTP-time check writes
 * (X-Spam-Score, X-Spam-Status, pochta-spam(5)), finding fields of those names
 * that came from outside (to be dropped), and reading ours back at delivery. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spam-int.h"

static char const *const ours[] = {
  "X-Spam-Score", "X-Spam-Status", "X-Spam-Flag", "X-Spam-Level", "X-Spam-Bayes", "X-Virus-Status", 0
};

int spam_header_ours(char const *name, size_t len)
{
  for (unsigned i = 0; ours[i]; i++) if (strlen(ours[i]) == len && !strncasecmp(ours[i], name, len)) return 1;
  return 0;
}

void spam_fmt_score(char *buf, size_t len, double x)
{
  if (x > -0.05 && x < 0.05) x = 0;   /* never "-0.0" */
  if (x > 99999) x = 99999;
  if (x < -99999) x = -99999;
  snprintf(buf, len, "%.1f", x);
}

int spam_report_headers(stralloc *out, spam_conf const *c, spam_score const *s)
{
  char sc[32], req[32], w[32];
  size_t col;
  spam_fmt_score(sc, sizeof sc, s->total);
  spam_fmt_score(req, sizeof req, c->junk >= SPAM_OFF ? 0 : c->junk);
  int yes = c->junk < SPAM_OFF && s->total >= c->junk;
  if (!stralloc_cats(out, "X-Spam-Score: ") || !stralloc_cats(out, sc) || !stralloc_cats(out, "\n")) return 0;
  size_t start = out->len;
  if (!stralloc_cats(out, "X-Spam-Status: ") || !stralloc_cats(out, yes ? "Yes" : "No")
      || !stralloc_cats(out, ", score=") || !stralloc_cats(out, sc)
      || !stralloc_cats(out, " required=") || !stralloc_cats(out, req)
      || !stralloc_cats(out, " tests=")) return 0;
  col = out->len - start;
  if (!s->n && !stralloc_cats(out, "none")) return 0;
  for (unsigned i = 0; i < s->n; i++) {
    spam_fmt_score(w, sizeof w, s->hit[i].w);
    size_t add = strlen(s->hit[i].name) + 1 + strlen(w) + 1;
    if (i && col + add > 78) {   /* fold: a continuation line starts with a tab */
      if (!stralloc_cats(out, "\n\t")) return 0;
      col = 8;
    }
    if (!stralloc_cats(out, s->hit[i].name) || !stralloc_cats(out, "=") || !stralloc_cats(out, w)
        || (i + 1 < s->n && !stralloc_cats(out, ","))) return 0;
    col += add;
  }
  if (s->more) {
    char m[40];
    snprintf(m, sizeof m, "\n\t(and %u more)", s->more);
    if (!stralloc_cats(out, m)) return 0;
  }
  return stralloc_cats(out, "\n");
}

/* Each field of the top-level header in turn: [*b, *e) of the whole field with its
 * line end. 0 at the empty line that ends the header (or the end of msg). */
static int field_at(char const *msg, size_t len, size_t *pos, mime_field *f, size_t *b)
{
  *b = *pos;
  if (!mime_field_next(f, msg, len, pos)) return 0;
  if (f->novalue && !f->namelen) { *pos = *b; return 0; }
  return 1;
}

int spam_drops(char const *msg, size_t len, int (*drop)(void *ctx, size_t start, size_t end), void *ctx)
{
  size_t pos = 0, b;
  mime_field f;
  while (field_at(msg, len, &pos, &f, &b))
    if (!f.novalue && spam_header_ours(f.name, f.namelen) && !drop(ctx, b, pos)) return 0;
  return 1;
}

static int parse_score(char const *s, size_t n, double *x)
{
  size_t i = 0;
  double v = 0, scale = 1;
  int neg = 0, digits = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  for (; i < n && s[i] >= '0' && s[i] <= '9' && digits < 6; i++, digits++) v = v * 10 + (s[i] - '0');
  if (!digits) return 0;
  if (i < n && s[i] == '.') for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) { scale /= 10; v += (s[i] - '0') * scale; }
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
  if (i != n) return 0;
  *x = neg ? -v : v;
  return 1;
}

/* The fields pochta-smtpd's inspection writes behind its Received field. */
static int inspection_field(mime_field const *f)
{
  static char const *const names[] = { "Authentication-Results", "X-Pochta-Junk", "DKIM-Signature",
    "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results", 0 };
  if (spam_header_ours(f->name, f->namelen)) return 1;
  for (unsigned i = 0; names[i]; i++) if (mime_name_is(f, names[i])) return 1;
  return 0;
}

int spam_header_score(char const *msg, size_t len, double *score, int *forced)
{
  size_t pos = 0, b;
  mime_field f;
  int received = 0, found = 0;
  *score = 0;
  *forced = 0;
  /* the first Received field is ours; the block of inspection fields right
     behind it is what our smtpd wrote; the first other field ends it */
  while (field_at(msg, len, &pos, &f, &b)) {
    if (f.novalue) { if (received) break; continue; }
    if (!received) { received = mime_name_is(&f, "Received"); continue; }
    if (!inspection_field(&f)) break;
    if (!found && mime_name_is(&f, "X-Spam-Score") && parse_score(f.value, f.valuelen, score)) found = 1;
    if (mime_name_is(&f, "X-Pochta-Junk")) *forced = 1;
  }
  if (!found) *score = 0;
  return found;
}
