/* mime/mime-store.c — a message as it is stored: LF line ends, and binary
 * content (RFC 3516) made into base64, whose line ends mean nothing.
 *
 * A Maildir message has LF line ends and IMAP gives it back with CRLF, so an
 * octet string with bare CR or LF (a part with Content-Transfer-Encoding
 * binary, sent as a literal8) would not come back as it was sent. Such a
 * leaf part is written in base64 instead: its header field says base64, and
 * BINARY[part] gives back exactly the octets sent (RFC 3516 4.4 leaves the
 * server this choice; Dovecot makes the same one). */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <skalibs/allreadwrite.h>

#include "mime-int.h"

typedef struct { int fd; size_t len; int ok; char buf[16384]; } wout;

static void w_put(wout *w, char const *s, size_t n)
{
  while (w->ok && n) {
    if (w->len == sizeof w->buf) {
      if (allwrite(w->fd, w->buf, w->len) != w->len) { w->ok = 0; return; }
      w->len = 0;
    }
    size_t k = sizeof w->buf - w->len < n ? sizeof w->buf - w->len : n;
    memcpy(w->buf + w->len, s, k);
    w->len += k; s += k; n -= k;
  }
}

/* [start, end) of data with CR LF made LF (a CR alone stays). */
static void w_lf(wout *w, char const *data, size_t start, size_t end)
{
  size_t i = start;
  while (i < end) {
    char const *cr = memchr(data + i, '\r', end - i);
    size_t e = cr ? (size_t)(cr - data) : end;
    w_put(w, data + i, e - i);
    if (!cr) break;
    if (e + 1 < end && data[e + 1] == '\n') i = e + 1;
    else { w_put(w, "\r", 1); i = e + 1; }
  }
}

static void w_base64(wout *w, unsigned char const *s, size_t n)
{
  static char const tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char line[80];
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    line[o++] = tab[v >> 18 & 63];
    line[o++] = tab[v >> 12 & 63];
    line[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
    line[o++] = i + 2 < n ? tab[v & 63] : '=';
    /* 76 characters a line (RFC 2045 6.8); the last line's end is the
     * boundary's (or the message's) */
    if (o == 76 && i + 3 < n) { line[o++] = '\n'; w_put(w, line, o); o = 0; }
  }
  w_put(w, line, o);
}

/* The Content-Transfer-Encoding field of a leaf part when it says binary:
 * its extent [*fs, *fe) in the data, line end included. */
static int binary_field(mime_tree const *t, mime_part const *p, size_t *fs, size_t *fe)
{
  char const *h = t->data + p->hdr_start;
  size_t hlen = p->hdr_end - p->hdr_start, at = 0, before;
  mime_field f;
  if (p->flags & (MIME_F_MULTIPART | MIME_F_MESSAGE)) return 0;
  for (before = at; mime_field_next(&f, h, hlen, &at); before = at) {
    if (!mime_name_is(&f, "Content-Transfer-Encoding")) continue;
    size_t a = 0, b = f.valuelen;
    while (a < b && (f.value[a] == ' ' || f.value[a] == '\t')) a++;
    while (b > a && (f.value[b - 1] == ' ' || f.value[b - 1] == '\t' || f.value[b - 1] == '\r' || f.value[b - 1] == '\n')) b--;
    if (b - a != 6 || strncasecmp(f.value + a, "binary", 6)) return 0;
    *fs = p->hdr_start + before;
    *fe = p->hdr_start + at;
    /* the last field of a header may end without its line end in hdr_end */
    if (*fe == p->hdr_end && *fe < p->body_start && t->data[*fe] == '\r') (*fe)++;
    if (*fe == p->hdr_end && *fe < p->body_start && t->data[*fe] == '\n') (*fe)++;
    return 1;
  }
  return 0;
}

int mime_store(int fd, mime_tree const *t, int *reencoded)
{
  wout w = { .fd = fd, .len = 0, .ok = 1 };
  size_t pos = 0;
  *reencoded = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    mime_part const *p = &t->parts[i];
    size_t fs, fe;
    if (!binary_field(t, p, &fs, &fe) || fs < pos) continue;
    w_lf(&w, t->data, pos, fs);
    w_put(&w, "Content-Transfer-Encoding: base64\n", 34);
    w_lf(&w, t->data, fe, p->body_start);
    w_base64(&w, (unsigned char const *)t->data + p->body_start, p->body_end - p->body_start);
    /* the whole message: its last line ends here */
    if (p->body_end == t->len) w_put(&w, "\n", 1);
    pos = p->body_end;
    *reencoded = 1;
  }
  w_lf(&w, t->data, pos, t->len);
  if (w.ok && w.len && allwrite(fd, w.buf, w.len) != w.len) w.ok = 0;
  return w.ok;
}
