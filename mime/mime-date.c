/* mime/mime-date.c — RFC 5322 dates (with the obsolete forms of RFC 822 and what
 * mailers really write) for ENVELOPE users and SENT* searches. */
#include <string.h>
#include <strings.h>
#include "mime-int.h"

typedef struct { char const *s, *e; } cur;

static void skip(cur *c)
{
  /* blanks, line ends, commas and (comments) */
  for (;;) {
    while (c->s < c->e && (*c->s == ' ' || *c->s == '\t' || *c->s == '\r' || *c->s == '\n' || *c->s == ',')) c->s++;
    if (c->s < c->e && *c->s == '(') {
      int level = 0;
      while (c->s < c->e) {
        if (*c->s == '(') level++;
        else if (*c->s == ')' && !--level) { c->s++; break; }
        else if (*c->s == '\\' && c->s + 1 < c->e) c->s++;
        c->s++;
      }
      continue;
    }
    return;
  }
}

static int num(cur *c, unsigned maxdig, long *v, unsigned *ndig)
{
  unsigned n = 0;
  *v = 0;
  while (c->s < c->e && *c->s >= '0' && *c->s <= '9' && n < maxdig) { *v = *v * 10 + (*c->s++ - '0'); n++; }
  if (ndig) *ndig = n;
  return n > 0;
}

static size_t word(cur *c, char *buf, size_t max)
{
  size_t n = 0;
  while (c->s < c->e && ((*c->s >= 'a' && *c->s <= 'z') || (*c->s >= 'A' && *c->s <= 'Z'))) {
    if (n < max) buf[n] = *c->s;
    n++; c->s++;
  }
  return n;
}

/* days since 1970-01-01 of a civil date (proleptic Gregorian) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int parse(char const *s, size_t len, int64_t *day, long *secs, int *tzmin)
{
  static char const months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
  cur c = { s, s + len };
  char w[16];
  long d, y, h, mi, se = 0, tz;
  unsigned nd;
  int m = -1;
  skip(&c);
  /* optional day of week */
  if (c.s < c.e && !(*c.s >= '0' && *c.s <= '9')) {
    if (word(&c, w, sizeof w) != 3) return 0;
    skip(&c);
  }
  if (!num(&c, 2, &d, 0) || d < 1 || d > 31) return 0;
  skip(&c);
  if (c.s < c.e && *c.s == '-') c.s++;   /* 1-Jan-2026 */
  if (word(&c, w, sizeof w) < 3) return 0;
  for (int i = 0; i < 12; i++) if (!strncasecmp(w, months + 3 * i, 3)) m = i + 1;
  if (m < 0) return 0;
  skip(&c);
  if (c.s < c.e && *c.s == '-') c.s++;
  if (!num(&c, 4, &y, &nd)) return 0;
  if (nd == 2) y += y < 50 ? 2000 : 1900;     /* RFC 5322 4.3 */
  else if (nd == 3) y += 1900;
  skip(&c);
  if (!num(&c, 2, &h, 0) || c.s >= c.e || *c.s != ':') return 0;
  c.s++;
  if (!num(&c, 2, &mi, 0)) return 0;
  if (c.s < c.e && *c.s == ':') { c.s++; if (!num(&c, 2, &se, 0)) return 0; }
  if (h > 23 || mi > 59 || se > 60) return 0;
  skip(&c);
  tz = 0;
  if (c.s < c.e && (*c.s == '+' || *c.s == '-')) {
    int sign = *c.s++ == '-' ? -1 : 1;
    long v;
    if (!num(&c, 4, &v, &nd) || nd != 4) return 0;
    if (v % 100 > 59) return 0;
    tz = sign * (v / 100 * 60 + v % 100);
  } else {
    size_t n = word(&c, w, sizeof w);
    static struct { char const *n; int off; } const zones[] = {
      { "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 }, { "EDT", -240 },
      { "CST", -360 }, { "CDT", -300 }, { "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
    };
    for (size_t i = 0; n && n < sizeof w && i < sizeof zones / sizeof *zones; i++)
      if (strlen(zones[i].n) == n && !strncasecmp(zones[i].n, w, n)) tz = zones[i].off;
    /* other names and military letters: treated as UTC (RFC 5322 4.3) */
  }
  if (d > 28) {
    static unsigned char const mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (d > mdays[m - 1]) return 0;
  }
  *day = days_from_civil(y, m, d);
  *secs = h * 3600 + mi * 60 + se;
  *tzmin = tz;
  return 1;
}

int mime_date_parse(char const *s, size_t len, int64_t *utc, int *tzmin)
{
  int64_t day;
  long secs;
  int tz;
  if (!parse(s, len, &day, &secs, &tz)) return 0;
  *utc = day * 86400 + secs - (int64_t)tz * 60;
  *tzmin = tz;
  return 1;
}

int mime_sent_day(mime_tree const *t, int64_t *day)
{
  mime_part const *p;
  mime_field f;
  size_t pos = 0;
  int found = 0;
  mime_field last;
  if (!t->n) return 0;
  p = &t->parts[0];
  while (mime_field_next(&f, t->data + p->hdr_start, p->hdr_end - p->hdr_start, &pos))
    if (mime_name_is(&f, "Date")) { last = f; found = 1; }
  if (!found) return 0;
  long secs;
  int tz;
  return parse(last.value, last.valuelen, day, &secs, &tz);
}
