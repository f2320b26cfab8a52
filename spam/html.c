/* spam/html.c — the text of an HTML part, as a reader sees it: tags and comments
 * gone (a tag inside a word, "fr<b></b>ee", leaves the word whole; block tags
 * separate words), script and style skipped, character references decoded; and
 * the hosts of the links (href, src, action) into the view. One pass, linear. */
#include <string.h>
#include <strings.h>

#include "spam-int.h"

static size_t find_ci(char const *s, size_t len, size_t from, char const *needle)
{
  size_t n = strlen(needle);
  for (size_t i = from; i + n <= len; i++)
    if (!strncasecmp(s + i, needle, n)) return i;
  return len;
}

static int put_cp(stralloc *o, unsigned cp)
{
  char b[4];
  size_t n;
  if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
  if (cp < 0x80) { b[0] = cp; n = 1; }
  else if (cp < 0x800) { b[0] = 0xc0 | cp >> 6; b[1] = 0x80 | (cp & 63); n = 2; }
  else if (cp < 0x10000) { b[0] = 0xe0 | cp >> 12; b[1] = 0x80 | (cp >> 6 & 63); b[2] = 0x80 | (cp & 63); n = 3; }
  else { b[0] = 0xf0 | cp >> 18; b[1] = 0x80 | (cp >> 12 & 63); b[2] = 0x80 | (cp >> 6 & 63); b[3] = 0x80 | (cp & 63); n = 4; }
  return stralloc_catb(o, b, n);
}

/* A character reference at s[0] == '&': its length, the text into o; 0 if none. */
static size_t entity(stralloc *o, char const *s, size_t len, int *ok)
{
  static struct { char const *name; unsigned cp; } const named[] = {
    { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' }, { "nbsp", ' ' },
    { "shy", 0xad }, { "copy", 0xa9 }, { "reg", 0xae }, { "euro", 0x20ac }, { "hellip", 0x2026 },
    { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "laquo", 0xab }, { "raquo", 0xbb },
  };
  size_t i = 1, e;
  unsigned long cp = 0;
  for (e = 1; e < len && e < 12 && s[e] != ';'; e++) ;
  if (e >= len || s[e] != ';' || e == 1) return 0;
  if (s[1] == '#') {
    int hex = e > 2 && (s[2] == 'x' || s[2] == 'X');
    i = hex ? 3 : 2;
    if (i == e) return 0;
    for (; i < e; i++) {
      char c = s[i];
      unsigned d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (c | 0x20) - 'a' + 10;
      else return 0;
      cp = cp * (hex ? 16 : 10) + d;
    }
    /* the soft hyphen and zero-width characters split no word */
    if (cp == 0xad || cp == 0x200b || cp == 0x200c || cp == 0x200d || cp == 0xfeff) return e + 1;
    *ok = put_cp(o, (unsigned)cp);
    return e + 1;
  }
  for (size_t k = 0; k < sizeof named / sizeof *named; k++)
    if (strlen(named[k].name) == e - 1 && !strncmp(named[k].name, s + 1, e - 1)) {
      if (named[k].cp != 0xad) *ok = put_cp(o, named[k].cp);
      return e + 1;
    }
  return 0;
}

static int block_tag(char const *name, size_t n)
{
  static char const *const block[] = { "br", "p", "div", "tr", "td", "th", "li", "ul", "ol", "table",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "title", "blockquote", "pre", "body", "head", "html",
    "center", "dd", "dt", "dl", "form", "option", "img", 0 };
  for (unsigned k = 0; block[k]; k++)
    if (strlen(block[k]) == n && !strncasecmp(block[k], name, n)) return 1;
  return 0;
}

/* The link attributes of one tag's text [s, s+len) go to the view's hosts. */
static int tag_links(spam_view *v, char const *s, size_t len)
{
  static char const *const attrs[] = { "href", "src", "action", 0 };
  stralloc val = STRALLOC_ZERO;
  int ok = 1;
  for (size_t i = 0; ok && i < len; i++) {
    size_t an = 0;
    for (unsigned k = 0; attrs[k]; k++) {
      size_t n = strlen(attrs[k]);
      if (i + n < len && !strncasecmp(s + i, attrs[k], n) && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\n' || s[i - 1] == '\r')) { an = n; break; }
    }
    if (!an) continue;
    size_t j = i + an;
    while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
    if (j >= len || s[j] != '=') continue;
    j++;
    while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
    char q = j < len && (s[j] == '"' || s[j] == '\'') ? s[j++] : 0;
    size_t e = j;
    while (e < len && (q ? s[e] != q : !(s[e] == ' ' || s[e] == '\t' || s[e] == '\n' || s[e] == '\r'))) e++;
    /* the value with its character references decoded: href="http&#58;//..." */
    val.len = 0;
    for (size_t k = j; ok && k < e; k++) {
      size_t n = s[k] == '&' ? entity(&val, s + k, e - k, &ok) : 0;
      if (n) { k += n - 1; continue; }
      ok = stralloc_catb(&val, s + k, 1);
    }
    if (ok) ok = spam_url_add(v, val.s ? val.s : "", val.len);
    i = e;
  }
  stralloc_free(&val);
  return ok;
}

int spam_html_text(spam_view *v, stralloc *out, char const *s, size_t len)
{
  size_t i = 0;
  int ok = 1;
  while (ok && i < len) {
    /* one pass to the next '<' or '&' (two memchr calls would rescan the rest of a
       part for every tag) */
    size_t stop = i;
    while (stop < len && s[stop] != '<' && s[stop] != '&') stop++;
    if (!stralloc_catb(out, s + i, stop - i)) return 0;
    i = stop;
    if (i >= len) break;
    if (s[i] == '&') {
      size_t n = entity(out, s + i, len - i, &ok);
      if (!n) { ok = stralloc_catb(out, "&", 1); n = 1; }
      i += n;
      continue;
    }
    /* a tag or a comment */
    if (i + 4 <= len && !memcmp(s + i, "<!--", 4)) {
      size_t e = find_ci(s, len, i + 4, "-->");
      i = e < len ? e + 3 : len;
      continue;
    }
    size_t j = i + 1, e;
    if (j < len && s[j] == '/') j++;
    size_t name = j;
    while (j < len && (((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z') || (s[j] >= '0' && s[j] <= '9'))) j++;
    size_t namelen = j - name;
    if (!namelen && !(name < len && (s[name] == '!' || s[name] == '?'))) {   /* "a < b": text */
      ok = stralloc_catb(out, "<", 1);
      i++;
      continue;
    }
    /* the tag ends at a '>' outside quotes */
    char q = 0;
    for (e = j; e < len; e++) {
      if (q) { if (s[e] == q) q = 0; continue; }
      if (s[e] == '"' || s[e] == '\'') q = s[e];
      else if (s[e] == '>') break;
    }
    if (name == i + 1 && namelen) {
      if ((namelen == 6 && !strncasecmp(s + name, "script", 6)) || (namelen == 5 && !strncasecmp(s + name, "style", 5))) {
        size_t c = find_ci(s, len, e, namelen == 6 ? "</script" : "</style");
        char const *gt = c < len ? memchr(s + c, '>', len - c) : 0;
        i = gt ? (size_t)(gt - s) + 1 : len;
        continue;
      }
      ok = tag_links(v, s + j, e - j);
    }
    if (ok && namelen && block_tag(s + name, namelen)) ok = stralloc_catb(out, " ", 1);
    i = e < len ? e + 1 : len;
  }
  return ok;
}
