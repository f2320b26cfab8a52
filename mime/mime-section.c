/* mime/mime-section.c — BODY[section]: parsing the section text, finding the
 * part (RFC 3501 6.4.5 with Dovecot's reading of the corner cases), and returning a
 * byte range or generated HEADER.FIELDS octets. */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include "mime-int.h"

static int is_word(char const *s, size_t len, size_t *i, char const *w)
{
  size_t n = strlen(w);
  if (len - *i < n || strncasecmp(s + *i, w, n)) return 0;
  *i += n;
  return 1;
}

int mime_section_parse(mime_section *sec, stralloc *store, char const *s, size_t len)
{
  size_t i = 0;
  sec->npath = 0;
  sec->what = MIME_SEC_ALL;
  sec->fields = 0;
  sec->fieldslen = 0;
  /* part numbers: nz-number *("." nz-number) */
  while (i < len && s[i] >= '1' && s[i] <= '9') {
    uint32_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      uint32_t d = s[i++] - '0';
      if (v > (UINT32_MAX - d) / 10) goto bad;   /* nz-number is at most 2^32-1 */
      v = v * 10 + d;
    }
    if (sec->npath > MIME_MAX_DEPTH) goto bad;
    sec->path[sec->npath++] = v;
    if (i == len) return 1;
    if (s[i] != '.') goto bad;
    i++;
  }
  if (i == len) { if (sec->npath) goto bad; return 1; }   /* "1." is not a section */
  if (is_word(s, len, &i, "HEADER.FIELDS.NOT")) sec->what = MIME_SEC_FIELDS_NOT;
  else if (is_word(s, len, &i, "HEADER.FIELDS")) sec->what = MIME_SEC_FIELDS;
  else if (is_word(s, len, &i, "HEADER")) { sec->what = MIME_SEC_HEADER; return i == len ? 1 : (errno = EINVAL, 0); }
  else if (is_word(s, len, &i, "TEXT")) { sec->what = MIME_SEC_TEXT; return i == len ? 1 : (errno = EINVAL, 0); }
  else if (is_word(s, len, &i, "MIME")) {
    sec->what = MIME_SEC_MIME;
    if (!sec->npath) goto bad;   /* MIME needs a part number */
    return i == len ? 1 : (errno = EINVAL, 0);
  } else goto bad;
  /* " (" astring *(SP astring) ")" */
  if (i >= len || s[i] != ' ') goto bad;
  i++;
  if (i >= len || s[i] != '(') goto bad;
  i++;
  store->len = 0;
  for (;;) {
    if (i >= len) goto bad;
    if (s[i] == '"') {
      i++;
      while (i < len && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < len) i++;
        if (s[i] == 0 || s[i] == '\r' || s[i] == '\n') goto bad;
        if (!stralloc_catb(store, s + i, 1)) return 0;
        i++;
      }
      if (i >= len) goto bad;
      i++;
    } else {
      size_t st = i;
      while (i < len && s[i] > ' ' && s[i] < 0x7f && s[i] != '(' && s[i] != ')' && s[i] != '"' && s[i] != '{' && s[i] != '%' && s[i] != '*' && s[i] != '\\') i++;
      if (i == st) goto bad;
      if (!stralloc_catb(store, s + st, i - st)) return 0;
    }
    if (!stralloc_0(store)) return 0;
    if (i < len && s[i] == ' ') { i++; continue; }
    if (i < len && s[i] == ')') { i++; break; }
    goto bad;
  }
  if (i != len) goto bad;
  sec->fields = store->s;
  sec->fieldslen = store->len;
  return 1;
bad:
  errno = EINVAL;
  return 0;
}

/* The part a path names, or MIME_NONE. An empty path is the message. */
uint32_t mime_find_part(mime_tree const *t, mime_section const *sec)
{
  uint32_t p = 0;
  for (unsigned k = 0; k < sec->npath && p != MIME_NONE; k++) {
    uint32_t num = sec->path[k];
    int more = k + 1 < sec->npath;
    mime_part const *pt = &t->parts[p];
    if (pt->flags & MIME_F_MULTIPART) {
      p = pt->child;
      for (uint32_t i = 1; i < num && p != MIME_NONE; i++) p = t->parts[p].next;
    } else if (num != 1) p = MIME_NONE;
    else if (more && !(pt->flags & MIME_F_MESSAGE)) p = MIME_NONE;
    /* going on inside a message/rfc822: step into the encapsulated message */
    if (p != MIME_NONE && more && (t->parts[p].flags & MIME_F_MESSAGE)) p = t->parts[p].child;
  }
  return p;
}

static int field_wanted(mime_field const *f, mime_section const *sec)
{
  if (f->novalue) return 0;
  for (size_t k = 0; k < sec->fieldslen;) {
    char const *n = sec->fields + k;
    size_t nl = strlen(n);
    if (nl == f->namelen && !strncasecmp(n, f->name, nl)) return 1;
    k += nl + 1;
  }
  return 0;
}

/* HEADER.FIELDS[.NOT] of the header block of part p: matching fields with CRLF line
 * ends. FIELDS always ends with an empty line; FIELDS.NOT only when the header had
 * one (as Dovecot). */
static int fields(stralloc *gen, mime_tree const *t, uint32_t p, mime_section const *sec)
{
  mime_part const *pt = &t->parts[p];
  char const *h = t->data + pt->hdr_start;
  size_t hlen = pt->hdr_end - pt->hdr_start, pos = 0, start;
  mime_field f;
  int not = sec->what == MIME_SEC_FIELDS_NOT, unterminated = 0;
  for (;;) {
    start = pos;
    if (!mime_field_next(&f, h, hlen, &pos)) break;
    if (field_wanted(&f, sec) == !not) {
      if (!mime_cat_crlf(gen, h, start, pos, 0, UINT64_MAX)) return 0;
      if (pos == hlen && (!pos || h[pos - 1] != '\n')) {
        /* the header ends the file without a line end: complete the line; that
         * line end also stands for the missing empty line (as Dovecot sends it) */
        if (!(h[pos - 1] == '\r' ? stralloc_catb(gen, "\n", 1) : stralloc_catb(gen, "\r\n", 2))) return 0;
        unterminated = 1;
      }
    }
  }
  if (unterminated) return 1;
  if (!not || pt->body_start > pt->hdr_end) return stralloc_catb(gen, "\r\n", 2);
  return 1;
}

static void range(mime_body *b, mime_tree const *t, size_t start, size_t end)
{
  b->generated = 0;
  b->start = start;
  b->end = end;
  b->size = mime_vsize(t->data + start, end - start);
}

int mime_section_get(mime_body *b, stralloc *gen, mime_tree const *t, mime_section const *sec)
{
  uint32_t p;
  gen->len = 0;
  range(b, t, 0, 0);
  if (!t->n) return 1;
  if (!sec->npath && sec->what == MIME_SEC_ALL) { range(b, t, 0, t->len); return 1; }
  p = mime_find_part(t, sec);
  if (p == MIME_NONE) return 1;
  if (sec->npath && sec->what != MIME_SEC_ALL && sec->what != MIME_SEC_MIME) {
    /* HEADER, TEXT, HEADER.FIELDS of a part: only inside a message/rfc822 */
    if (!(t->parts[p].flags & MIME_F_MESSAGE) || t->parts[p].child == MIME_NONE) return 1;
    p = t->parts[p].child;
  }
  mime_part const *pt = &t->parts[p];
  switch (sec->what) {
  case MIME_SEC_ALL: range(b, t, pt->body_start, pt->body_end); return 1;
  case MIME_SEC_TEXT: range(b, t, pt->body_start, pt->body_end); return 1;
  case MIME_SEC_MIME:
  case MIME_SEC_HEADER: range(b, t, pt->hdr_start, pt->body_start); return 1;
  default:
    if (!fields(gen, t, p, sec)) return 0;
    b->generated = 1;
    b->start = b->end = 0;
    b->size = gen->len;
    return 1;
  }
}

/* Feed the converted octets of [start, end) through a window [skip, skip+max). */
typedef int putfn(void *ctx, char const *s, size_t n);

/* Octets with NUL replaced by 0x80 (BODY output, as Dovecot sends it). */
static int put_nonul(putfn *put, void *ctx, char const *s, size_t n)
{
  while (n) {
    char const *z = memchr(s, 0, n);
    size_t k = z ? (size_t)(z - s) : n;
    if (k && !put(ctx, s, k)) return 0;
    if (!z) return 1;
    if (!put(ctx, "\x80", 1)) return 0;
    s += k + 1; n -= k + 1;
  }
  return 1;
}

static int crlf_walk_(putfn *put, void *ctx, char const *d, size_t start, size_t end, uint64_t skip, uint64_t max, int nonul)
{
  uint64_t vpos = 0;
  size_t i = start;
  while (i < end && max) {
    char const *nl = memchr(d + i, '\n', end - i);
    size_t e = nl ? (size_t)(nl - d) : end;
    int addcr = nl && (e == 0 || d[e - 1] != '\r');
    /* a run of octets [i, e), then maybe "\r", then "\n" */
    size_t run = e - i;
    if (vpos + run <= skip) vpos += run;
    else {
      size_t off = skip > vpos ? (size_t)(skip - vpos) : 0, n = run - off;
      if (n > max) n = max;
      if (n && !(nonul ? put_nonul(put, ctx, d + i + off, n) : put(ctx, d + i + off, n))) return 0;
      max -= n;
      vpos += run;
    }
    if (!nl) break;
    char const *tail = addcr ? "\r\n" : "\n";
    size_t tn = addcr ? 2 : 1;
    for (size_t k = 0; k < tn && max; k++, vpos++)
      if (vpos >= skip) { if (!put(ctx, tail + k, 1)) return 0; max--; }
    i = e + 1;
  }
  return 1;
}

static int crlf_walk(putfn *put, void *ctx, char const *d, size_t start, size_t end, uint64_t skip, uint64_t max)
{
  return crlf_walk_(put, ctx, d, start, end, skip, max, 1);
}

static int put_buffer(void *ctx, char const *s, size_t n) { return buffer_put((buffer *)ctx, s, n) >= 0; }
static int put_sa(void *ctx, char const *s, size_t n) { return stralloc_catb((stralloc *)ctx, s, n); }

int mime_write_crlf(buffer *out, char const *data, size_t start, size_t end, uint64_t skip, uint64_t max)
{
  return crlf_walk(put_buffer, out, data, start, end, skip, max);
}

int mime_cat_crlf(stralloc *out, char const *data, size_t start, size_t end, uint64_t skip, uint64_t max)
{
  return crlf_walk(put_sa, out, data, start, end, skip, max);
}

/* For mime-binary.c: feed the CRLF-converted range to any sink. */

int mime_crlf_feed(int (*put)(void *, char const *, size_t), void *ctx, char const *data, size_t start, size_t end)
{
  return crlf_walk_(put, ctx, data, start, end, 0, UINT64_MAX, 0);
}
