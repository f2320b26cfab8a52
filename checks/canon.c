/* Header canonicalization (RFC 6376 3.4.1, 3.4.2), straight into a hash. */
#include <string.h>

#include "int.h"

typedef struct { br_sha256_context *sha; size_t n; char b[1024]; } hbuf;
static void put(hbuf *h, char c)
{
  if (h->n == sizeof h->b) { br_sha256_update(h->sha, h->b, h->n); h->n = 0; }
  h->b[h->n++] = c;
}

void canon_header(br_sha256_context *sha, char const *raw, size_t len, int relaxed,
                  int nocrlf, size_t skip_from, size_t skip_to)
{
  hbuf h;
  size_t i = 0, colon;
  h.sha = sha;
  h.n = 0;
  if (!relaxed) {
    for (i = 0; i < len; i++) {
      if (i >= skip_from && i < skip_to) continue;
      if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) put(&h, '\r');
      put(&h, raw[i]);
    }
  } else {
    int wsp = 0, started = 0;
    for (colon = 0; colon < len && raw[colon] != ':'; colon++) ;
    size_t ne = colon;
    while (ne > 0 && (raw[ne - 1] == ' ' || raw[ne - 1] == '\t')) ne--;
    for (i = 0; i < ne; i++) put(&h, (char)chk_lower((unsigned char)raw[i]));
    put(&h, ':');
    for (i = colon + 1; i < len; i++) {
      char c = raw[i];
      if (i >= skip_from && i < skip_to) continue;
      if (c == '\r' || c == '\n') continue;      /* unfold */
      if (c == ' ' || c == '\t') { wsp = 1; continue; }
      if (wsp && started) put(&h, ' ');
      wsp = 0;
      started = 1;
      put(&h, c);
    }
  }
  if (!nocrlf) { put(&h, '\r'); put(&h, '\n'); }
  if (h.n) br_sha256_update(sha, h.b, h.n);
}

int canon_find_b(char const *raw, size_t len, size_t *from, size_t *to)
{
  size_t i = 0;
  while (i < len && raw[i] != ':') i++;
  i++;
  while (i < len) {
    size_t ns, ne;
    while (i < len && chk_is_wsp((unsigned char)raw[i])) i++;
    ns = i;
    while (i < len && raw[i] != '=' && raw[i] != ';' && !chk_is_wsp((unsigned char)raw[i])) i++;
    ne = i;
    while (i < len && chk_is_wsp((unsigned char)raw[i])) i++;
    if (i >= len || raw[i] != '=') {            /* malformed: skip to the next tag */
      while (i < len && raw[i] != ';') i++;
      i++;
      continue;
    }
    i++;
    size_t vs = i;
    while (i < len && raw[i] != ';') i++;
    if (ne - ns == 1 && raw[ns] == 'b') { *from = vs; *to = i; return 1; }
    i++;
  }
  return 0;
}
