/* mime/mime-header.c — walking the fields of a header block. */
#include <string.h>
#include <strings.h>
#include "mime-int.h"

/* Read one logical field starting at *pos (the start of a line). A field is its
 * first line and every following line that starts with a blank. */
int mime_field_next(mime_field *f, char const *s, size_t len, size_t *pos)
{
  size_t p = *pos, e, colon;
  if (p >= len) return 0;
  /* end of the logical field */
  e = p;
  for (;;) {
    char const *nl = memchr(s + e, '\n', len - e);
    e = nl ? (size_t)(nl - s) + 1 : len;
    if (e >= len || (s[e] != ' ' && s[e] != '\t')) break;
  }
  *pos = e;
  /* strip the final line end from the field */
  if (e > p && s[e - 1] == '\n') { e--; if (e > p && s[e - 1] == '\r') e--; }
  char const *c = memchr(s + p, ':', e - p);
  if (!c) {
    f->name = s + p; f->namelen = e - p; f->value = s + e; f->valuelen = 0; f->novalue = 1;
    return 1;
  }
  colon = c - s;
  f->name = s + p;
  f->namelen = colon - p;
  while (f->namelen && (f->name[f->namelen - 1] == ' ' || f->name[f->namelen - 1] == '\t')) f->namelen--;
  p = colon + 1;
  while (p < e && (s[p] == ' ' || s[p] == '\t')) p++;
  f->value = s + p;
  f->valuelen = e - p;
  f->novalue = 0;
  return 1;
}

int mime_field_unfold(stralloc *sa, char const *v, size_t len)
{
  size_t i = 0;
  sa->len = 0;
  while (i < len) {
    char const *nl = memchr(v + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - v) : len, k = e;
    if (nl && k > i && v[k - 1] == '\r') k--;
    if (!stralloc_catb(sa, v + i, k - i)) return 0;
    i = nl ? e + 1 : len;
  }
  if (!stralloc_0(sa)) return 0;
  sa->len--;
  return 1;
}

int mime_name_is(mime_field const *f, char const *name)
{
  size_t n = strlen(name);
  return !f->novalue && f->namelen == n && !strncasecmp(f->name, name, n);
}
