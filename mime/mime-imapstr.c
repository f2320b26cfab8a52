/* mime/mime-imapstr.c — writing IMAP strings the way Dovecot does, so that answers
 * compare byte for byte: "quoted" when possible (up to 4 escaped quotes or
 * backslashes), a literal {n} for CR, LF, 8-bit or more escapes; "for humans"
 * (subjects, display names): blanks collapsed, CR/LF dropped, NUL as 0x80. */
#include <string.h>
#include <skalibs/types.h>
#include "mime-int.h"

static int literal(stralloc *out, char const *s, size_t len);

/* a NUL in a string becomes U+FFFD, as Dovecot writes it */
static int nstring_nonul(stralloc *out, char const *s, size_t len)
{
  stralloc t = STRALLOC_ZERO;
  int r = 1;
  for (size_t i = 0; i < len && r; i++)
    r = s[i] ? stralloc_catb(&t, s + i, 1) : stralloc_catb(&t, "\xef\xbf\xbd", 3);
  if (r) r = imap_nstring(out, t.s, t.len);
  stralloc_free(&t);
  return r;
}

static int literal(stralloc *out, char const *s, size_t len)
{
  char num[SIZE_FMT];
  size_t n = size_fmt(num, len);
  return stralloc_catb(out, "{", 1) && stralloc_catb(out, num, n)
    && stralloc_catb(out, "}\r\n", 3) && stralloc_catb(out, s, len);
}

int imap_nstring(stralloc *out, char const *s, size_t len)
{
  unsigned esc = 0;
  if (len && memchr(s, 0, len)) return nstring_nonul(out, s, len);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') { if (esc++ < 4) continue; return literal(out, s, len); }
    if (c == '\r' || c == '\n' || c >= 0x80) return literal(out, s, len);
  }
  if (!stralloc_catb(out, "\"", 1)) return 0;
  for (size_t i = 0; i < len; i++) {
    if ((s[i] == '"' || s[i] == '\\') && !stralloc_catb(out, "\\", 1)) return 0;
    if (!stralloc_catb(out, s + i, 1)) return 0;
  }
  return stralloc_catb(out, "\"", 1);
}

int imap_nstring_nolf(stralloc *out, char const *s, size_t len)
{
  stralloc t = STRALLOC_ZERO;
  int r;
  if (!memchr(s, '\n', len) && !memchr(s, '\r', len)) return imap_nstring(out, s, len);
  for (size_t i = 0; i < len; i++)
    if (s[i] != '\r' && s[i] != '\n' && !stralloc_catb(&t, s + i, 1)) { stralloc_free(&t); return 0; }
  r = imap_nstring(out, t.s ? t.s : "", t.len);
  stralloc_free(&t);
  return r;
}

int imap_for_humans(stralloc *out, char const *s, size_t len)
{
  size_t i, remove = 0, nuls = 0, start, outlen;
  int prefix = 1, lastsp = 1, modify = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = s[i];
    switch (c) {
    case 0: lastsp = 0; modify = 1; nuls++; break;   /* becomes U+FFFD */
    case '\t': case '\r': case '\n': modify = 1; /* fall through */
    case ' ': if (lastsp) { modify = 1; remove++; } lastsp = 1; break;
    case '"': case '\\': modify = 1; lastsp = 0; break;
    default: if (c & 0x80) modify = 1; lastsp = 0; break;
    }
    if (!lastsp) prefix = 0;
  }
  if (lastsp && i > 0 && !prefix) { modify = 1; remove++; }
  /* Dovecot 2.3 sends values longer than this as literals (found by experiment:
   * 8180 octets quoted, 8181 a literal) */
  if (!modify && len <= 8180)
    return stralloc_catb(out, "\"", 1) && stralloc_catb(out, s, len) && stralloc_catb(out, "\"", 1);
  if (len == remove) return stralloc_catb(out, "\"\"", 2);
  outlen = len - remove + 2 * nuls;
  {
    char num[SIZE_FMT];
    size_t n = size_fmt(num, outlen);
    if (!stralloc_catb(out, "{", 1) || !stralloc_catb(out, num, n) || !stralloc_catb(out, "}\r\n", 3)) return 0;
  }
  start = out->len;
  lastsp = 1; prefix = 1;
  for (i = 0; i < len; i++) {
    unsigned char c = s[i];
    switch (c) {
    case 0: if (!stralloc_catb(out, "\xef\xbf\xbd", 3)) return 0; lastsp = 0; break;
    case '\t': case ' ': case '\r': case '\n':
      if (!lastsp && !stralloc_catb(out, " ", 1)) return 0;
      lastsp = 1; break;
    default: if (!stralloc_catb(out, s + i, 1)) return 0; lastsp = 0; break;
    }
    if (!lastsp) prefix = 0;
  }
  if (lastsp && out->len > start && !prefix) out->len--;
  /* the counts above and the octets written agree by construction; if a string of
   * only blanks and CR/LF slipped through, pad so that the literal stays valid */
  while (out->len - start < outlen) if (!stralloc_catb(out, " ", 1)) return 0;
  if (out->len - start > outlen) out->len = start + outlen;
  return 1;
}

int mime_imap_string(stralloc *out, char const *s, size_t len)
{
  if (!s) return stralloc_catb(out, "NIL", 3);
  return imap_nstring(out, s, len);
}
