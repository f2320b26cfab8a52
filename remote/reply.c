/* SMTP reply parser: octets in, one complete reply out. It never reads
 * beyond the reply's last line, so pipelined replies stay in the caller's
 * buffer for the next call. */
#include <string.h>
#include "reply.h"

#define LINE_HARDMAX 65536   /* a line longer than this is an attack, not a reply */

void reply_init(struct reply *r)
{
  r->code = 0;
  r->lines = 0;
  r->textlen = 0;
  r->text[0] = 0;
  r->linelen = 0;
  r->cut = 0;
  r->cr = 0;
  memset(r->head, 0, sizeof r->head);
}

static int isdig(char c) { return c >= '0' && c <= '9'; }

static void text_add(struct reply *r, char c)
{
  if (r->textlen < REPLY_TEXTMAX) r->text[r->textlen++] = c;
  else r->cut = 1;
}

/* A line has ended (its CR, if any, not counted in n). 1 last line of the
 * reply, 0 more lines follow, -1 malformed. */
static int line_end(struct reply *r, size_t n)
{
  char sep;
  int code;
  if (n < 3) return -1;
  if (!isdig(r->head[0]) || !isdig(r->head[1]) || !isdig(r->head[2])) return -1;
  if (r->head[0] < '1' || r->head[0] > '5') return -1;
  sep = n > 3 ? r->head[3] : ' ';
  if (sep != ' ' && sep != '-') return -1;
  code = (r->head[0] - '0') * 100 + (r->head[1] - '0') * 10 + (r->head[2] - '0');
  if (r->lines && code != r->code) return -1;
  r->code = code;
  if (++r->lines > REPLY_LINESMAX) return -1;
  r->linelen = 0;
  return sep == ' ';
}

/* Store octet c, found at position pos of the current line. */
static void store_at(struct reply *r, size_t pos, char c)
{
  if (pos < 4) r->head[pos] = c;
  else if (pos - 4 < REPLY_LINEMAX) text_add(r, c);
  else r->cut = 1;
}

int reply_feed(struct reply *r, char const *buf, size_t len, size_t *used)
{
  size_t i;
  for (i = 0; i < len; i++) {
    char c = buf[i];
    if (c == '\n') {
      /* a CR right before LF is the line ending, not text: it was held back */
      size_t n = r->linelen - (r->cr ? 1 : 0);
      int last = line_end(r, n);
      r->cr = 0;
      memset(r->head, 0, sizeof r->head);
      if (last < 0) { *used = i + 1; return -1; }
      if (last) { r->text[r->textlen] = 0; *used = i + 1; return 1; }
      text_add(r, '\n');
      continue;
    }
    if (r->cr) { store_at(r, r->linelen - 1, '\r'); r->cr = 0; }
    if (c == '\r') r->cr = 1;
    else store_at(r, r->linelen, c);
    if (++r->linelen > LINE_HARDMAX) { *used = i + 1; return -1; }
  }
  *used = len;
  return 0;
}

size_t reply_oneline(struct reply const *r, char *out, size_t outlen)
{
  size_t n = 0, i;
  if (!outlen) return 0;
  if (outlen > 4) {
    out[0] = '0' + (r->code / 100) % 10;
    out[1] = '0' + (r->code / 10) % 10;
    out[2] = '0' + r->code % 10;
    n = 3;
    if (r->textlen) out[n++] = ' ';
  }
  for (i = 0; i < r->textlen && n + 1 < outlen; i++) {
    unsigned char c = (unsigned char)r->text[i];
    if (c == '\n') c = ' ';
    else if (c < 32 || c == 127) c = '?';
    out[n++] = (char)c;
  }
  out[n] = 0;
  return n;
}

int reply_ehlo_has(struct reply const *r, char const *kw, char *par, size_t parlen)
{
  size_t kwlen = strlen(kw);
  char const *p = r->text, *end = r->text + r->textlen;
  /* skip the first line: the greeting text, not an extension */
  char const *nl = memchr(p, '\n', (size_t)(end - p));
  if (!nl) return 0;
  p = nl + 1;
  while (p < end) {
    char const *e = memchr(p, '\n', (size_t)(end - p));
    size_t ll;
    if (!e) e = end;
    ll = (size_t)(e - p);
    if (ll >= kwlen && !strncasecmp(p, kw, kwlen) && (ll == kwlen || p[kwlen] == ' ' || p[kwlen] == '=')) {
      if (par && parlen) {
        size_t pl = ll > kwlen ? ll - kwlen - 1 : 0;
        if (pl >= parlen) pl = parlen - 1;
        if (pl) memcpy(par, p + kwlen + 1, pl);
        par[pl] = 0;
      }
      return 1;
    }
    p = e + 1;
  }
  return 0;
}
