/* mime/mime-binary.c — BINARY[section] and BINARY.SIZE (RFC 3516): a part's content
 * with its transfer encoding removed, decoded in a stream (a 100 MB attachment
 * costs a few kilobytes), with the <partial> window applied on the decoded octets. */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include "base64.h"
#include "mime-int.h"

/* Output sink with the window [skip, skip+max) and a running total. */
typedef struct sink_s sink;
struct sink_s {
  buffer *out;        /* NULL: count only */
  uint64_t pos, skip, max, total;
  int binary;         /* saw NUL, or 8-bit in decoded content */
  int decoded;        /* base64 or quoted-printable was removed */
  char buf[4096];
  size_t n;
};

static int sink_flush(sink *k)
{
  if (k->out && k->n && buffer_put(k->out, k->buf, k->n) < 0) return 0;
  k->n = 0;
  return 1;
}

static int sink_put(sink *k, char const *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (!c || (c >= 0x80 && k->decoded)) k->binary = 1;
    k->total++;
    if (k->pos++ < k->skip || !k->max) continue;
    k->max--;
    if (!k->out) continue;
    if (k->n == sizeof k->buf && !sink_flush(k)) return 0;
    k->buf[k->n++] = c;
  }
  return 1;
}

/* base64: blanks and line ends are skipped; '=' ends the data (only padding and
 * blanks may follow); any other octet makes the content undecodable (-1: the
 * caller answers NO [UNKNOWN-CTE], as Dovecot does). */
static int dec_base64(sink *k, char const *d, size_t len)
{
  unsigned acc = 0, nb = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = d[i];
    if (c == '=') {
      for (; i < len; i++)
        if (d[i] != '=' && d[i] != ' ' && d[i] != '\t' && d[i] != '\r' && d[i] != '\n') return -1;
      break;
    }
    int v = base64_value(c);
    if (v < 0) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      return -1;
    }
    acc = (acc << 6) | v;
    if (++nb == 4) {
      char o[3] = { acc >> 16, acc >> 8, acc };
      if (!sink_put(k, o, 3)) return 0;
      acc = 0; nb = 0;
    }
  }
  if (nb == 2) { char o = acc >> 4; if (!sink_put(k, &o, 1)) return 0; }
  else if (nb == 3) { char o[2] = { acc >> 10, acc >> 2 }; if (!sink_put(k, o, 2)) return 0; }
  return 1;
}

static int hexval(unsigned char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* quoted-printable: =XX octets, "=" at line end joins lines, blanks before a line end
 * are dropped, hard line ends become CRLF; a broken "=" makes the content
 * undecodable (-1), as Dovecot answers. */
static int dec_qp(sink *k, char const *d, size_t len)
{
  size_t i = 0;
  while (i < len) {
    char const *nl = memchr(d + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - d) : len, le = e;
    if (le > i && d[le - 1] == '\r') le--;
    while (le > i && (d[le - 1] == ' ' || d[le - 1] == '\t')) le--;
    int soft = 0;
    for (size_t j = i; j < le; j++) {
      if (d[j] != '=') { if (!sink_put(k, d + j, 1)) return 0; continue; }
      if (j + 1 == le) { soft = 1; break; }
      int h = j + 1 < le ? hexval(d[j + 1]) : -1, l = j + 2 < le ? hexval(d[j + 2]) : -1;
      if (h >= 0 && l >= 0) { char o = h << 4 | l; if (!sink_put(k, &o, 1)) return 0; j += 2; }
      else return -1;
    }
    if (nl && !soft && !sink_put(k, "\r\n", 2)) return 0;
    i = nl ? e + 1 : len;
  }
  return 1;
}

static int put_plain(void *ctx, char const *s, size_t n) { return sink_put((sink *)ctx, s, n); }

/* Resolve the section to the part whose content is decoded; fills the range and
 * the decoder (0 none/CRLF, 1 base64, 2 qp). -1 unknown encoding, -2 bad section. */
static int binary_target(mime_tree const *t, mime_section const *sec, size_t *start, size_t *end, int *dec)
{
  mime_section s = *sec;
  mime_body b;
  stralloc gen = STRALLOC_ZERO;
  *dec = 0;
  if (sec->what != MIME_SEC_ALL) { errno = EINVAL; return -2; }
  if (!mime_section_get(&b, &gen, t, &s)) { stralloc_free(&gen); return 0; }
  stralloc_free(&gen);
  *start = b.start; *end = b.end;
  if (!sec->npath || b.start == b.end) return 1;
  {
    uint32_t i = mime_find_part(t, sec);
    if (i == MIME_NONE) return 1;
    mime_part const *p = &t->parts[i];
    if (p->flags & (MIME_F_MULTIPART | MIME_F_MESSAGE)) return 1;
    /* the last Content-Transfer-Encoding field counts here (Dovecot's decoder) */
    stralloc tok = STRALLOC_ZERO, v = STRALLOC_ZERO;
    mime_field f;
    size_t pos = 0;
    int has = 0, r = 1;
    while (mime_field_next(&f, t->data + p->hdr_start, p->hdr_end - p->hdr_start, &pos)) {
      if (!mime_name_is(&f, "Content-Transfer-Encoding")) continue;
      rfcp rp;
      tok.len = 0;
      if (!mime_field_unfold(&v, f.value, f.valuelen)) { r = 0; break; }
      rfcp_init(&rp, v.s, v.len, 0);
      rfcp_skip_lwsp(&rp);
      int e = rfcp_mime_token(&rp, &tok);
      if (e < -1) { r = 0; break; }
      if (e >= 0) has = 1;
    }
    if (r > 0 && has) {
      char const *e = tok.s ? tok.s : "";
      size_t n = tok.len;
      if (n == 6 && !strncasecmp(e, "base64", 6)) *dec = 1;
      else if (n == 16 && !strncasecmp(e, "quoted-printable", 16)) *dec = 2;
      else if (!((n == 4 && !strncasecmp(e, "7bit", 4)) || (n == 4 && !strncasecmp(e, "8bit", 4))
                 || (n == 6 && !strncasecmp(e, "binary", 6)) || !n)) r = -1;
    }
    stralloc_free(&tok);
    stralloc_free(&v);
    return r;
  }
  return 1;
}

static int run(sink *k, mime_tree const *t, mime_section const *sec)
{
  size_t start, end;
  int dec, r = binary_target(t, sec, &start, &end, &dec);
  if (r <= 0) return r;
  k->decoded = dec != 0;
  if (dec == 1) r = dec_base64(k, t->data + start, end - start);
  else if (dec == 2) r = dec_qp(k, t->data + start, end - start);
  else {
    /* plain content: LF -> CRLF, as BODY sends it; the sink applies the window */
    r = mime_crlf_feed(put_plain, k, t->data, start, end);
  }
  if (r > 0 && !sink_flush(k)) r = 0;
  return r;
}

int mime_binary_size(uint64_t *size, int *has_nul, mime_tree const *t, mime_section const *sec)
{
  sink k = { .out = 0, .pos = 0, .skip = 0, .max = UINT64_MAX, .total = 0, .binary = 0, .decoded = 0, .n = 0 };
  int r = run(&k, t, sec);
  if (r > 0) { *size = k.total; if (has_nul) *has_nul = k.binary; }
  return r;
}

int mime_binary_write(buffer *out, mime_tree const *t, mime_section const *sec, uint64_t skip, uint64_t max)
{
  sink k = { .out = out, .pos = 0, .skip = skip, .max = max, .total = 0, .binary = 0, .decoded = 0, .n = 0 };
  return run(&k, t, sec);
}
