/* A small address-list scanner: enough for what mail clients and scripts put in
 * To/Cc/Bcc. Quoted strings and comments may hold ',', '<', ':' and ';', so the
 * list is split only outside them. */
#include <string.h>

#include "rfc822addr.h"

/* Add one mailbox s[0..len): take <...> if present, else drop comments, quotes'
 * delimiters stay (a quoted local part is kept as written), blanks go. */
static int one(char const *s, size_t len, stralloc *out)
{
  size_t i, start = out->len;
  int quote = 0, depth = 0, in_angle = 0, had_angle = 0;
  /* First pass: is there an angle-addr outside quotes and comments? */
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (c == '\\' && i + 1 < len) { i++; continue; }
    if (quote) { if (c == '"') quote = 0; continue; }
    if (depth) { if (c == '(') depth++; else if (c == ')') depth--; continue; }
    if (c == '"') quote = 1;
    else if (c == '(') depth = 1;
    else if (c == '<') { had_angle = 1; break; }
  }
  quote = depth = 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (had_angle && !in_angle) {
      if (c == '\\' && i + 1 < len) { i++; continue; }
      if (quote) { if (c == '"') quote = 0; continue; }
      if (depth) { if (c == '(') depth++; else if (c == ')') depth--; continue; }
      if (c == '"') quote = 1;
      else if (c == '(') depth = 1;
      else if (c == '<') in_angle = 1;
      continue;
    }
    if (in_angle && !quote && c == '>') break;
    if (!quote && depth) { if (c == '(') depth++; else if (c == ')') depth--; continue; }
    if (!quote && c == '(') { depth = 1; continue; }
    if (c == '"') quote = !quote;
    if (c == '\\' && i + 1 < len) {
      char e[2] = { '\\', s[i+1] };
      if ((unsigned char)e[1] < 0x20 || e[1] == 0x7f) e[1] = 0x7f;   /* as below */
      if (!stralloc_catb(out, e, 2)) return -1;
      i++;
      continue;
    }
    if (!quote && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) continue;
    /* Other controls (NUL above all: it ends strings) become DEL, which no
     * caller accepts in an address: the whole address is refused, never cut. */
    if ((unsigned char)c < 0x20 || c == 0x7f) c = 0x7f;
    if (!stralloc_catb(out, &c, 1)) return -1;
  }
  /* Source routes (<@a,@b:user@c>) keep only the mailbox. */
  if (out->len > start && out->s[start] == '@') {
    char *colon = memchr(out->s + start, ':', out->len - start);
    if (colon) {
      size_t cut = colon + 1 - (out->s + start);
      memmove(out->s + start, colon + 1, out->len - start - cut);
      out->len -= cut;
    }
  }
  if (out->len == start) return 0;
  if (!stralloc_0(out)) return -1;
  return 1;
}

int rfc822_addrs(char const *s, size_t len, stralloc *out)
{
  size_t i, start = 0;
  int quote = 0, depth = 0, angle = 0, n = 0;
  for (i = 0; i <= len; i++) {
    char c = i < len ? s[i] : ',';
    if (i < len && c == '\\' && i + 1 < len) { i++; continue; }
    if (quote) { if (c == '"') quote = 0; if (i < len) continue; }
    if (depth) { if (c == '(') depth++; else if (c == ')') depth--; if (i < len) continue; }
    if (c == '"') { quote = 1; continue; }
    if (c == '(') { depth = 1; continue; }
    if (c == '<') angle = 1;
    else if (c == '>') angle = 0;
    else if (!angle && c == ':') { start = i + 1; continue; }   /* group name */
    else if (!angle && (c == ',' || c == ';')) {
      int r = one(s + start, i - start, out);
      if (r < 0) return -1;
      n += r;
      start = i + 1;
    }
  }
  return n;
}
