/* mime/search-text.c — SEARCH over decoded text: header values with RFC 2047
 * encoded words decoded, bodies with their transfer encoding and charset removed,
 * both folded (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic) before a substring
 * test. Known limit: one text part is decoded whole into memory while it is
 * searched (bounded by the part's size, not the message's). */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include "mime-int.h"

/* ---- charsets to UTF-8 */

static int put_cp(stralloc *o, unsigned cp)
{
  char b[4];
  size_t n;
  if (cp < 0x80) { b[0] = cp; n = 1; }
  else if (cp < 0x800) { b[0] = 0xc0 | cp >> 6; b[1] = 0x80 | (cp & 63); n = 2; }
  else if (cp < 0x10000) { b[0] = 0xe0 | cp >> 12; b[1] = 0x80 | (cp >> 6 & 63); b[2] = 0x80 | (cp & 63); n = 3; }
  else { b[0] = 0xf0 | cp >> 18; b[1] = 0x80 | (cp >> 12 & 63); b[2] = 0x80 | (cp >> 6 & 63); b[3] = 0x80 | (cp & 63); n = 4; }
  return stralloc_catb(o, b, n);
}

static unsigned short const cp1252[32] = {
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178 };

static unsigned short const koi8r[128] = {
  0x2500,0x2502,0x250c,0x2510,0x2514,0x2518,0x251c,0x2524,0x252c,0x2534,0x253c,0x2580,0x2584,0x2588,0x258c,0x2590,
  0x2591,0x2592,0x2593,0x2320,0x25a0,0x2219,0x221a,0x2248,0x2264,0x2265,0x00a0,0x2321,0x00b0,0x00b2,0x00b7,0x00f7,
  0x2550,0x2551,0x2552,0x0451,0x2553,0x2554,0x2555,0x2556,0x2557,0x2558,0x2559,0x255a,0x255b,0x255c,0x255d,0x255e,
  0x255f,0x2560,0x2561,0x0401,0x2562,0x2563,0x2564,0x2565,0x2566,0x2567,0x2568,0x2569,0x256a,0x256b,0x256c,0x00a9,
  0x044e,0x0430,0x0431,0x0446,0x0434,0x0435,0x0444,0x0433,0x0445,0x0438,0x0439,0x043a,0x043b,0x043c,0x043d,0x043e,
  0x043f,0x044f,0x0440,0x0441,0x0442,0x0443,0x0436,0x0432,0x044c,0x044b,0x0437,0x0448,0x044d,0x0449,0x0447,0x044a,
  0x042e,0x0410,0x0411,0x0426,0x0414,0x0415,0x0424,0x0413,0x0425,0x0418,0x0419,0x041a,0x041b,0x041c,0x041d,0x041e,
  0x041f,0x042f,0x0420,0x0421,0x0422,0x0423,0x0416,0x0412,0x042c,0x042b,0x0417,0x0428,0x042d,0x0429,0x0427,0x042a };

static unsigned latin9(unsigned c)
{
  switch (c) {
  case 0xa4: return 0x20ac; case 0xa6: return 0x160; case 0xa8: return 0x161; case 0xb4: return 0x17d;
  case 0xb8: return 0x17e; case 0xbc: return 0x152; case 0xbd: return 0x153; case 0xbe: return 0x178;
  }
  return c;
}

enum { CS_RAW, CS_LATIN1, CS_LATIN9, CS_1252, CS_KOI8R };

static int charset_of(char const *n, size_t len)
{
  static struct { char const *name; int cs; } const tab[] = {
    { "us-ascii", CS_RAW }, { "utf-8", CS_RAW }, { "utf8", CS_RAW }, { "iso-8859-1", CS_LATIN1 },
    { "latin1", CS_LATIN1 }, { "iso-8859-15", CS_LATIN9 }, { "windows-1252", CS_1252 },
    { "cp1252", CS_1252 }, { "koi8-r", CS_KOI8R },
  };
  for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
    if (strlen(tab[i].name) == len && !strncasecmp(tab[i].name, n, len)) return tab[i].cs;
  return CS_RAW;   /* unknown charsets are searched as they are */
}

static int to_utf8(stralloc *o, int cs, char const *s, size_t len)
{
  if (cs == CS_RAW) return stralloc_catb(o, s, len);
  if (!stralloc_readyplus(o, 2 * len + 16)) return 0;   /* most text at most doubles */
  for (size_t i = 0; i < len; i++) {
    unsigned c = (unsigned char)s[i];
    if (c < 0x80) { if (!stralloc_catb(o, s + i, 1)) return 0; continue; }
    if (cs == CS_LATIN9) c = latin9(c);
    else if (cs == CS_1252 && c < 0xa0) c = cp1252[c - 0x80];
    else if (cs == CS_KOI8R) c = koi8r[c - 0x80];
    if (!put_cp(o, c)) return 0;
  }
  return 1;
}

/* ---- folding: lowercase for the scripts named above; other octets unchanged */

static unsigned fold_cp(unsigned c)
{
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7)) return c + 32;
  if (c >= 0x100 && c <= 0x137 && !(c & 1)) return c + 1;
  if (c >= 0x139 && c <= 0x148 && (c & 1)) return c + 1;
  if (c >= 0x14a && c <= 0x177 && !(c & 1)) return c + 1;
  if (c == 0x178) return 0xff;
  if (c >= 0x179 && c <= 0x17e && (c & 1)) return c + 1;
  if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}

int mime_text_fold(stralloc *o, char const *s, size_t len)
{
  o->len = 0;
  for (size_t i = 0; i < len;) {
    unsigned char c = s[i];
    unsigned cp, n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c & 0xe0) == 0xc0 && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) { cp = (c & 31) << 6 | (s[i + 1] & 63); n = 2; }
    else if ((c & 0xf0) == 0xe0 && i + 2 < len && (s[i + 1] & 0xc0) == 0x80 && (s[i + 2] & 0xc0) == 0x80) {
      cp = (c & 15) << 12 | (s[i + 1] & 63) << 6 | (s[i + 2] & 63); n = 3;
    } else {
      /* anything else (4-octet sequences, invalid UTF-8) is compared as it is */
      if (!stralloc_catb(o, s + i, 1)) return 0;
      i++;
      continue;
    }
    unsigned f = fold_cp(cp);
    if (f == cp) { if (!stralloc_catb(o, s + i, n)) return 0; }
    else if (!put_cp(o, f)) return 0;
    i += n;
  }
  return 1;
}

static int contains(char const *hay, size_t hl, char const *needle, size_t nl)
{
  if (!nl) return 1;
  return hl >= nl && memmem(hay, hl, needle, nl) != 0;
}

/* ---- RFC 2047 */

static int b64v(unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int hexv(unsigned char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* one encoded word at s[0..]: length consumed or 0 when it is not one */
static size_t encoded_word(stralloc *o, char const *s, size_t len)
{
  size_t i = 2, cs, enc, txt, end;
  stralloc raw = STRALLOC_ZERO;
  if (len < 8 || s[0] != '=' || s[1] != '?') return 0;
  cs = i;
  while (i < len && s[i] != '?' && s[i] > ' ') i++;
  if (i + 2 >= len || s[i] != '?') return 0;
  size_t cslen = i - cs;
  enc = ++i;
  if (s[i + 1] != '?') return 0;
  txt = i + 2;
  end = txt;
  while (end + 1 < len && !(s[end] == '?' && s[end + 1] == '=')) { if (s[end] <= ' ') return 0; end++; }
  if (end + 1 >= len) return 0;
  /* RFC 2231 language suffix: charset*lang */
  char const *star = memchr(s + cs, '*', cslen);
  if (star) cslen = star - (s + cs);
  int ok = 1;
  if (s[enc] == 'B' || s[enc] == 'b') {
    unsigned acc = 0, nb = 0;
    for (size_t k = txt; k < end && ok; k++) {
      int v = b64v(s[k]);
      if (v < 0) continue;
      acc = acc << 6 | v;
      if (++nb == 4) { char b[3] = { acc >> 16, acc >> 8, acc }; ok = stralloc_catb(&raw, b, 3); acc = nb = 0; }
    }
    if (ok && nb == 2) { char b = acc >> 4; ok = stralloc_catb(&raw, &b, 1); }
    if (ok && nb == 3) { char b[2] = { acc >> 10, acc >> 2 }; ok = stralloc_catb(&raw, b, 2); }
  } else if (s[enc] == 'Q' || s[enc] == 'q') {
    for (size_t k = txt; k < end && ok; k++) {
      char c = s[k];
      if (c == '_') c = ' ';
      else if (c == '=' && k + 2 < end && hexv(s[k + 1]) >= 0 && hexv(s[k + 2]) >= 0) { c = hexv(s[k + 1]) << 4 | hexv(s[k + 2]); k += 2; }
      ok = stralloc_catb(&raw, &c, 1);
    }
  } else return 0;
  if (ok) ok = to_utf8(o, charset_of(s + cs, cslen), raw.s ? raw.s : "", raw.len);
  stralloc_free(&raw);
  if (!ok) return (size_t)-1;
  return end + 2;
}

int mime_header_decode(stralloc *out, char const *s, size_t len)
{
  stralloc v = STRALLOC_ZERO;
  size_t i = 0, pending = 0;   /* blanks held back after an encoded word */
  int after_word = 0;
  if (!mime_field_unfold(&v, s, len)) return 0;
  while (i < v.len) {
    if (v.s[i] == '=' && i + 1 < v.len && v.s[i + 1] == '?') {
      size_t n = encoded_word(out, v.s + i, v.len - i);
      if (n == (size_t)-1) { stralloc_free(&v); return 0; }
      if (n) {
        /* blanks between two encoded words vanish: drop what we held back */
        (void)pending;
        i += n;
        after_word = 1;
        size_t j = i;
        while (j < v.len && (v.s[j] == ' ' || v.s[j] == '\t')) j++;
        if (j < v.len && v.s[j] == '=' && j + 1 < v.len && v.s[j + 1] == '?') {
          size_t save = out->len;
          size_t m = encoded_word(out, v.s + j, v.len - j);
          if (m == (size_t)-1) { stralloc_free(&v); return 0; }
          out->len = save;
          if (m) { i = j; continue; }
        }
        continue;
      }
    }
    after_word = 0;
    if (!stralloc_catb(out, v.s + i, 1)) { stralloc_free(&v); return 0; }
    i++;
  }
  (void)after_word;
  stralloc_free(&v);
  return 1;
}

/* ---- searching */

static int match_value(char const *v, size_t vl, char const *needle, size_t nl, stralloc *a, stralloc *b, stralloc *fn)
{
  a->len = 0;
  if (!mime_header_decode(a, v, vl) || !mime_text_fold(b, a->s ? a->s : "", a->len) || !mime_text_fold(fn, needle, nl)) return -1;
  return contains(b->s, b->len, fn->s, fn->len);
}

/* Address headers are searched in their parsed addresses, not their text:
 * "<user (comment)@ (comment) domain.org>" is user@domain.org. */
static int is_address_field(char const *name)
{
  static char const *const names[] = { "From", "To", "Cc", "Bcc", "Sender", "Reply-To" };
  for (size_t i = 0; name && i < sizeof names / sizeof *names; i++) if (!strcasecmp(name, names[i])) return 1;
  return 0;
}

static int match_addresses(char const *v, size_t vl, char const *needle, size_t nl, stralloc *a, stralloc *b, stralloc *fn)
{
  a->len = 0;
  if (!mime_address_text(a, v, vl) || !mime_text_fold(b, a->s ? a->s : "", a->len) || !mime_text_fold(fn, needle, nl)) return -1;
  return contains(b->s, b->len, fn->s, fn->len);
}

static int search_fields(mime_tree const *t, uint32_t p, char const *name, char const *needle, size_t nl)
{
  mime_part const *pt = &t->parts[p];
  char const *h = t->data + pt->hdr_start;
  size_t hl = pt->hdr_end - pt->hdr_start, pos = 0;
  stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO, fn = STRALLOC_ZERO;
  mime_field f;
  int r = 0;
  while (!r && mime_field_next(&f, h, hl, &pos)) {
    if (f.novalue) continue;
    if (name && !mime_name_is(&f, name)) continue;
    if (!name) {
      /* TEXT: the field name counts too */
      a.len = 0;
      if (!mime_text_fold(&b, f.name, f.namelen) || !mime_text_fold(&fn, needle, nl)) { r = -1; break; }
      if (contains(b.s, b.len, fn.s, fn.len)) { r = 1; break; }
    }
    /* an empty needle asks whether the field is there */
    r = nl && is_address_field(name) ? match_addresses(f.value, f.valuelen, needle, nl, &a, &b, &fn)
                                     : match_value(f.value, f.valuelen, needle, nl, &a, &b, &fn);
  }
  stralloc_free(&a); stralloc_free(&b); stralloc_free(&fn);
  return r;
}

int mime_search_header(mime_tree const *t, char const *name, char const *needle, size_t needlelen)
{
  if (!t->n) return 0;
  return search_fields(t, 0, name, needle, needlelen);
}

static int put_sa(void *ctx, char const *s, size_t n) { return stralloc_catb((stralloc *)ctx, s, n); }

/* Decoded text of a leaf part into out (UTF-8), from at most max octets of its
 * body; *html (if not NULL) tells whether the part is text/html. */
static int part_text(stralloc *out, mime_tree const *t, uint32_t i, size_t max, int *html)
{
  mime_part const *p = &t->parts[i];
  mime_ct ct = MIME_CT_ZERO;
  stralloc raw = STRALLOC_ZERO;
  int ok = 0, cs = CS_RAW;
  char const *d = t->data + p->body_start;
  size_t len = p->body_end - p->body_start;
  if (len > max) len = max;
  /* Room for the whole decoded text at once: grown append by append, the buffer
   * went through a dozen sizes, each a fresh mapping with musl's allocator. */
  if (!stralloc_ready(&raw, len + len / 2 + 64)) return 0;
  if (!mime_ct_read(&ct, t->data + p->hdr_start, p->hdr_end - p->hdr_start)) goto done;
  if (html) *html = ct.has_type && ct.sublen == 4 && !strncasecmp(ct.sa.s + ct.sub, "html", 4);
  for (unsigned k = 0, off = ct.params; ct.has_type && k < ct.nparams; k++) {
    char const *key = ct.sa.s + off, *val = key + strlen(key) + 1;
    if (!strcasecmp(key, "charset")) cs = charset_of(val, strlen(val));
    off = (val - ct.sa.s) + strlen(val) + 1;
  }
  if (ct.has_enc && ct.enclen == 6 && !strncasecmp(ct.sa.s + ct.enc, "base64", 6)) {
    unsigned acc = 0, nb = 0;
    for (size_t k = 0; k < len; k++) {
      int v = b64v(d[k]);
      if (d[k] == '=') break;
      if (v < 0) continue;
      acc = acc << 6 | v;
      if (++nb == 4) { char b[3] = { acc >> 16, acc >> 8, acc }; if (!stralloc_catb(&raw, b, 3)) goto done; acc = nb = 0; }
    }
    if (nb == 2) { char b = acc >> 4; if (!stralloc_catb(&raw, &b, 1)) goto done; }
    if (nb == 3) { char b[2] = { acc >> 10, acc >> 2 }; if (!stralloc_catb(&raw, b, 2)) goto done; }
  } else if (ct.has_enc && ct.enclen == 16 && !strncasecmp(ct.sa.s + ct.enc, "quoted-printable", 16)) {
    for (size_t k = 0; k < len; k++) {
      char c = d[k];
      if (c == '=' && k + 1 < len && d[k + 1] == '\n') { k++; continue; }
      if (c == '=' && k + 2 < len && d[k + 1] == '\r' && d[k + 2] == '\n') { k += 2; continue; }
      if (c == '=' && k + 2 < len && hexv(d[k + 1]) >= 0 && hexv(d[k + 2]) >= 0) { c = hexv(d[k + 1]) << 4 | hexv(d[k + 2]); k += 2; }
      if (!stralloc_catb(&raw, &c, 1)) goto done;
    }
  } else if (!mime_crlf_feed(put_sa, &raw, t->data, p->body_start, p->body_start + len)) goto done;
  ok = to_utf8(out, cs, raw.s ? raw.s : "", raw.len);
done:
  mime_ct_free(&ct);
  stralloc_free(&raw);
  return ok;
}

static int search_bodies(mime_tree const *t, char const *needle, size_t nl, int headers)
{
  stralloc txt = STRALLOC_ZERO, f = STRALLOC_ZERO, fn = STRALLOC_ZERO;
  int r = 0;
  if (!mime_text_fold(&fn, needle, nl)) return -1;
  for (uint32_t i = 0; i < t->n && !r; i++) {
    mime_part const *p = &t->parts[i];
    if (headers && (r = search_fields(t, i, 0, needle, nl))) break;
    if (p->flags & (MIME_F_MULTIPART | MIME_F_MESSAGE)) continue;
    if (!(p->flags & MIME_F_TEXT)) continue;   /* attachments are not text */
    txt.len = 0;
    if (!part_text(&txt, t, i, SIZE_MAX, 0) || !mime_text_fold(&f, txt.s ? txt.s : "", txt.len)) { r = -1; break; }
    r = contains(f.s, f.len, fn.s, fn.len);
  }
  stralloc_free(&txt); stralloc_free(&f); stralloc_free(&fn);
  return r;
}

int mime_search_body(mime_tree const *t, char const *needle, size_t needlelen)
{
  if (!needlelen) return 1;
  return search_bodies(t, needle, needlelen, 0);
}

int mime_search_text(mime_tree const *t, char const *needle, size_t needlelen)
{
  if (!needlelen) return 1;
  return search_bodies(t, needle, needlelen, 1);
}

int mime_part_text(stralloc *out, mime_tree const *t, uint32_t part, size_t max, int *html)
{
  if (part >= t->n) { if (html) *html = 0; return 1; }
  return part_text(out, t, part, max, html);
}
