/* mime/mime-sortkeys.c — what SORT and THREAD order and group messages by
 * (RFC 5256, RFC 5957): the base subject, the first address of a field, the
 * sent date and the message ids, all from the top header of a message. Keys
 * that are compared are case-mapped here once (letters folded, then ASCII
 * made upper case, as i;ascii-casemap for ASCII text), so a sort compares
 * octets. */
#include <string.h>
#include <strings.h>

#include "mime-int.h"

/* The value of the last field called name (the one ENVELOPE shows), or 0. */
static int last_field(mime_tree const *t, char const *name, mime_field *out)
{
  mime_part const *p;
  mime_field f;
  size_t pos = 0;
  int found = 0;
  if (!t->n) return 0;
  p = &t->parts[0];
  while (mime_field_next(&f, t->data + p->hdr_start, p->hdr_end - p->hdr_start, &pos))
    if (mime_name_is(&f, name)) { *out = f; found = 1; }
  return found;
}

static int casemap(stralloc *out, char const *s, size_t len)
{
  stralloc f = STRALLOC_ZERO;
  int ok = mime_text_fold(&f, s, len);
  out->len = 0;
  if (ok) {
    for (size_t i = 0; i < f.len; i++) if (f.s[i] >= 'a' && f.s[i] <= 'z') f.s[i] -= 32;
    ok = stralloc_catb(out, f.s ? f.s : "", f.len);
  }
  stralloc_free(&f);
  return ok && stralloc_0(out) && (out->len--, 1);
}

/* The header block: up to and with the first empty line. */
size_t mime_header_len(char const *d, size_t len)
{
  for (size_t i = 0; i + 1 < len; i++) {
    char const *nl = memchr(d + i, '\n', len - i - 1);
    if (!nl) break;
    i = (size_t)(nl - d);
    if (d[i + 1] == '\n') return i + 2;
    if (d[i + 1] == '\r' && i + 2 < len && d[i + 2] == '\n') return i + 3;
  }
  return len;
}

/* --- the base subject (RFC 5256 2.1) -------------------------------------- */

static int ieq(char const *s, size_t len, size_t at, char const *w)
{
  size_t n = strlen(w);
  return at + n <= len && !strncasecmp(s + at, w, n);
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s[at]: its length, or 0 */
static size_t blob(char const *s, size_t len, size_t at)
{
  size_t i = at;
  if (i >= len || s[i] != '[') return 0;
  for (i++; i < len && s[i] != ']'; i++) if (s[i] == '[') return 0;
  if (i >= len) return 0;
  for (i++; i < len && s[i] == ' '; i++) ;
  return i - at;
}

/* subj-leader at s[at]: (*subj-blob subj-refwd) / WSP; its length, or 0 */
static size_t leader(char const *s, size_t len, size_t at)
{
  size_t i = at, b;
  if (i < len && s[i] == ' ') return 1;
  while ((b = blob(s, len, i))) i += b;
  if (ieq(s, len, i, "re")) i += 2;
  else if (ieq(s, len, i, "fwd")) i += 3;
  else if (ieq(s, len, i, "fw")) i += 2;
  else return 0;
  while (i < len && s[i] == ' ') i++;
  i += blob(s, len, i);
  return i < len && s[i] == ':' ? i + 1 - at : 0;
}

int mime_key_subject(stralloc *out, mime_tree const *t, int *refwd)
{
  stralloc d = STRALLOC_ZERO;
  mime_field f;
  int ok = 1;
  *refwd = 0;
  /* (1) decoded, blanks made one space */
  if (last_field(t, "Subject", &f)) ok = mime_header_decode(&d, f.value, f.valuelen);
  size_t o = 0;
  for (size_t i = 0; ok && i < d.len; i++) {
    char c = d.s[i] == '\t' || d.s[i] == '\r' || d.s[i] == '\n' ? ' ' : d.s[i];
    if (c == ' ' && o && d.s[o - 1] == ' ') continue;
    d.s[o++] = c;
  }
  size_t a = 0, e = ok ? o : 0;
  for (;;) {
    /* (2) trailers: "(fwd)" and blanks */
    for (;;) {
      if (e > a && d.s[e - 1] == ' ') e--;
      else if (e - a >= 5 && !strncasecmp(d.s + e - 5, "(fwd)", 5)) { e -= 5; *refwd = 1; }
      else break;
    }
    /* (3)-(5) leaders, and a leading blob when something is left after it */
    for (;;) {
      size_t l = leader(d.s, e, a), b;
      if (l) { if (l > 1 || d.s[a] != ' ') *refwd = 1; a += l; continue; }
      if ((b = blob(d.s, e, a)) && a + b < e) { a += b; continue; }
      break;
    }
    /* (6) "[fwd: ... ]" */
    if (e - a >= 6 && ieq(d.s, e, a, "[fwd:") && d.s[e - 1] == ']') { a += 5; e--; *refwd = 1; continue; }
    break;
  }
  ok = ok && casemap(out, d.s ? d.s + a : "", e - a);
  stralloc_free(&d);
  return ok;
}

/* --- addresses, date, ids ---------------------------------------------------- */

int mime_key_address(stralloc *out, mime_tree const *t, char const *field, int display)
{
  stralloc mb = STRALLOC_ZERO, dom = STRALLOC_ZERO, name = STRALLOC_ZERO, k = STRALLOC_ZERO;
  mime_field f;
  int ok = 1, r = 0;
  if (last_field(t, field, &f)) r = mime_first_address(f.value, f.valuelen, &mb, &dom, &name);
  if (r < 0) ok = 0;
  else if (r > 0 && !display) ok = stralloc_copy(&k, &mb);
  /* RFC 5957: the display name, else the address itself */
  else if (r > 0 && name.len) ok = stralloc_copy(&k, &name);
  else if (r > 0) ok = stralloc_copy(&k, &mb) && (!dom.len || (stralloc_catb(&k, "@", 1) && stralloc_cat(&k, &dom)));
  ok = ok && casemap(out, k.s ? k.s : "", k.len);
  stralloc_free(&mb); stralloc_free(&dom); stralloc_free(&name); stralloc_free(&k);
  return ok;
}

int mime_key_date(int64_t *utc, mime_tree const *t)
{
  mime_field f;
  int tz;
  return last_field(t, "Date", &f) && mime_date_parse(f.value, f.valuelen, utc, &tz);
}

/* The next "<left@right>" of a field at *at: appended to out without the
 * angle brackets and blanks, NUL-terminated. 1 one, 0 none left, -1 ENOMEM. */
static int next_id(stralloc *out, char const *v, size_t len, size_t *at)
{
  for (;;) {
    char const *lt = memchr(v + *at, '<', len - *at);
    if (!lt) { *at = len; return 0; }
    char const *gt = memchr(lt, '>', len - (size_t)(lt - v));
    if (!gt) { *at = len; return 0; }
    *at = (size_t)(gt - v) + 1;
    size_t start = out->len, at_sign = 0;
    for (char const *c = lt + 1; c < gt; c++) {
      if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') continue;
      if (*c == '<') { start = (size_t)-1; break; }
      if (*c == '@') at_sign = out->len - start + 1;
      if (!stralloc_catb(out, c, 1)) return -1;
    }
    /* a msg-id has something before and after its '@' */
    if (start != (size_t)-1 && at_sign > 1 && out->len - start > at_sign) return stralloc_0(out) ? 1 : -1;
    if (start != (size_t)-1) out->len = start;
  }
}

int mime_key_ids(stralloc *msgid, stralloc *refs, mime_tree const *t)
{
  mime_field f;
  size_t at = 0;
  int r = 1;
  msgid->len = refs->len = 0;
  if (last_field(t, "Message-ID", &f) && next_id(msgid, f.value, f.valuelen, &at) < 0) return 0;
  if (msgid->len) msgid->len--;   /* (no NUL counted) */
  /* RFC 5256 4 (REFERENCES) 1.A: References, else the first id of In-Reply-To */
  if (last_field(t, "References", &f))
    for (at = 0; (r = next_id(refs, f.value, f.valuelen, &at)) > 0; ) ;
  if (!refs->len && last_field(t, "In-Reply-To", &f)) { at = 0; r = next_id(refs, f.value, f.valuelen, &at); }
  return r >= 0;
}
