/* Queue file format: ids, paths, envelope validation, state records.
 * See pochta-queue(5) for the format this code reads and writes. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "qfmt.h"

static char const hexd[] = "0123456789abcdef";

void qid_fmt(char out[QID_LEN + 1], uint64_t id)
{
  for (int i = QID_LEN - 1; i >= 0; i--) { out[i] = hexd[id & 15]; id >>= 4; }
  out[QID_LEN] = 0;
}

int qid_scan(char const *s, size_t len, uint64_t *id)
{
  uint64_t v = 0;
  if (len != QID_LEN) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') v = v << 4 | (uint64_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v << 4 | (uint64_t)(c - 'a' + 10);
    else return 0;
  }
  if (!v) return 0;
  *id = v;
  return 1;
}

/* snprintf cannot truncate here: every name is at most 6+3+16+3+suffix. */
static void mkpath(char out[QPATH_LEN], char const *dir, int hashed, uint64_t id, char const *suffix)
{
  char x[QID_LEN + 1];
  qid_fmt(x, id);
  if (hashed) snprintf(out, QPATH_LEN, "%s/%.2s/%s%s", dir, x, x, suffix);
  else snprintf(out, QPATH_LEN, "%s/%s%s", dir, x, suffix);
}

void qpath_mess(char out[QPATH_LEN], uint64_t id) { mkpath(out, "mess", 1, id, ""); }
void qpath_state(char out[QPATH_LEN], uint64_t id) { mkpath(out, "state", 1, id, ""); }
void qpath_new(char out[QPATH_LEN], uint64_t id) { mkpath(out, "new", 0, id, ""); }
void qpath_tmp(char out[QPATH_LEN], uint64_t id, char const *suffix)
{
  mkpath(out, "tmp", 0, id, suffix && strlen(suffix) < 8 ? suffix : "");
}

static void mkdirpath(char out[QPATH_LEN], char const *dir, uint64_t id)
{
  char x[QID_LEN + 1];
  qid_fmt(x, id);
  snprintf(out, QPATH_LEN, "%s/%.2s", dir, x);
}
void qpath_messdir(char out[QPATH_LEN], uint64_t id) { mkdirpath(out, "mess", id); }
void qpath_statedir(char out[QPATH_LEN], uint64_t id) { mkdirpath(out, "state", id); }

/* Length of the valid UTF-8 sequence at s (at most n octets), 0 if invalid.
 * Rejects overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_len(unsigned char const *s, size_t n)
{
  unsigned c = s[0];
  size_t k;
  unsigned min, cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) { k = 2; cp = c & 0x1f; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { k = 3; cp = c & 0x0f; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { k = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (n < k) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return k;
}

int qaddr_check(char const *s, size_t len, int rcpt)
{
  unsigned char const *u = (unsigned char const *)s;
  size_t at = len, i = 0;
  if (len > QADDR_MAX) return QX_ADDR_TOO_LONG;
  if (!len) return rcpt ? QX_ENVELOPE : 0;   /* <> is a valid sender only */
  while (i < len) {
    size_t k;
    if (u[i] <= 0x20 || u[i] == 0x7f) return QX_ENVELOPE;   /* controls, space, NUL */
    if (u[i] == '@') at = i;
    k = utf8_len(u + i, len - i);
    if (!k) return QX_ENVELOPE;
    i += k;
  }
  if (at == len) return QX_ENVELOPE;           /* no '@' at all */
  if (rcpt && (at == 0 || at + 1 == len)) return QX_ENVELOPE;
  return 0;
}

static int addrcpt(qenv *e, size_t off, char status)
{
  qrcpt *r;
  if (e->n >= QRCPT_MAX) return 0;
  r = realloc(e->r, (e->n + 1) * sizeof *r);
  if (!r) return 0;
  e->r = r;
  r += e->n++;
  r->addr = (char const *)(uintptr_t)off;   /* fixed up to a pointer once buf stops moving */
  r->err = 0; r->next = 0; r->attempts = 0; r->status = status;
  return 1;
}

/* Addresses were recorded as offsets while buf could still grow; make them pointers. */
static void fixup(qenv *e, size_t sender_off)
{
  e->sender = e->buf.s + sender_off;
  for (size_t i = 0; i < e->n; i++) e->r[i].addr = e->buf.s + (uintptr_t)e->r[i].addr;
}

int qenv_from_qmail(qenv *e, char const *s, size_t len, uint64_t now)
{
  size_t i = 0, sender_off = 1;
  int r;
  qenv_free(e);
  if (len < 1 || s[0] != 'F') return QX_ENVELOPE;
  if (!stralloc_copyb(&e->buf, s, len)) return QX_NOMEM;
  for (;;) {                            /* each record must end with a NUL */
    char const *z = memchr(s + i, 0, len - i);
    size_t rl;
    if (!z) { r = QX_ENVELOPE; goto bad; }
    rl = (size_t)(z - (s + i));
    if (!rl) break;                      /* the empty record ends the envelope */
    if (i == 0) {
      if ((r = qaddr_check(s + 1, rl - 1, 0))) goto bad;
    } else {
      if (s[i] != 'T') { r = QX_ENVELOPE; goto bad; }
      if ((r = qaddr_check(s + i + 1, rl - 1, 1))) goto bad;
      if (!addrcpt(e, i + 1, 'T')) { r = e->n >= QRCPT_MAX ? QX_ENVELOPE : QX_NOMEM; goto bad; }
    }
    i += rl + 1;
  }
  if (i + 1 != len || !e->n) { r = QX_ENVELOPE; goto bad; }  /* trailing bytes or no recipient */
  e->born = now;
  fixup(e, sender_off);
  return 0;
 bad:
  qenv_free(e);
  return r;
}

static int scan_u64(char const *s, size_t len, uint64_t *v)
{
  uint64_t x = 0;
  if (!len || len > 19) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    x = x * 10 + (uint64_t)(s[i] - '0');
  }
  *v = x;
  return 1;
}

int qenv_parse(qenv *e)
{
  char const *s = e->buf.s;
  size_t len = e->buf.len, i = 0, sender_off = 0;
  int have_sender = 0, have_born = 0;
  free(e->r); e->r = 0; e->n = 0;
  for (;;) {
    char const *z = memchr(s + i, 0, len - i);
    size_t rl;
    uint64_t v;
    if (!z) return 0;
    rl = (size_t)(z - (s + i));
    if (!rl) break;
    switch (s[i]) {
      case 'B':
        if (have_born || !scan_u64(s + i + 1, rl - 1, &e->born)) goto bad;
        have_born = 1; break;
      /* Queue files are written by the same account as the network daemons:
       * addresses are checked again here, before they reach logs, headers,
       * argument lists and other files. */
      case 'F':
        if (have_sender || e->n || qaddr_check(s + i + 1, rl - 1, 0)) goto bad;
        have_sender = 1; sender_off = i + 1; break;
      case 'T': case 'K': case 'D': case 'Z':
        if (!have_sender || qaddr_check(s + i + 1, rl - 1, 1) || !addrcpt(e, i + 1, s[i])) goto bad;
        break;
      case 'a':
        if (!e->n || !scan_u64(s + i + 1, rl - 1, &v) || v > 1000000) goto bad;
        e->r[e->n - 1].attempts = (unsigned)v; break;
      case 'n':
        if (!e->n || !scan_u64(s + i + 1, rl - 1, &v)) goto bad;
        e->r[e->n - 1].next = v; break;
      case 'e':
        if (!e->n) goto bad;
        if (!qrcpt_seterr(&e->r[e->n - 1], s + i + 1, rl - 1)) goto bad;
        break;
      default: goto bad;
    }
    i += rl + 1;
  }
  if (i + 1 != len || !have_sender || !have_born || !e->n) goto bad;
  fixup(e, sender_off);
  return 1;
 bad:
  for (size_t k = 0; k < e->n; k++) free(e->r[k].err);
  free(e->r); e->r = 0; e->n = 0;
  return 0;
}

static int catrec(stralloc *out, char tag, char const *s)
{
  return stralloc_append(out, tag) && stralloc_catb(out, s, strlen(s) + 1);
}

static int catnum(stralloc *out, char tag, uint64_t v)
{
  char b[24];
  snprintf(b, sizeof b, "%llu", (unsigned long long)v);
  return catrec(out, tag, b);
}

int qenv_format(stralloc *out, qenv const *e)
{
  out->len = 0;
  if (!catnum(out, 'B', e->born) || !catrec(out, 'F', e->sender)) return 0;
  for (size_t i = 0; i < e->n; i++) {
    qrcpt const *r = &e->r[i];
    if (!catrec(out, r->status, r->addr)) return 0;
    if (r->attempts && !catnum(out, 'a', r->attempts)) return 0;
    if (r->next && !catnum(out, 'n', r->next)) return 0;
    if (r->err && !catrec(out, 'e', r->err)) return 0;
  }
  return stralloc_append(out, 0);
}

void qenv_free(qenv *e)
{
  for (size_t i = 0; i < e->n; i++) free(e->r[i].err);
  free(e->r);
  stralloc_free(&e->buf);
  e->r = 0; e->n = 0; e->sender = 0; e->born = 0;
}

/* Copy n octets of s to p, control octets and quotes made harmless. */
static size_t clean(char *p, char const *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    p[i] = (c < 0x20 || c == 0x7f || c == '"') ? (c == '\t' || c == '\n' ? ' ' : '\'') : (char)c;
  }
  return n;
}

/* A remote result may end in "\t<host that answered>" (pochta-remote's
 * records, doc/CONTRACTS.md): that field is kept whole, after one tab, and
 * the text before it is what gets shortened. */
int qrcpt_seterr(qrcpt *r, char const *s, size_t len)
{
  char *p;
  size_t n = 0, tl = 0;
  char const *tab;
  while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) len--;
  tab = memrchr(s, '\t', len);
  if (tab) {
    tl = len - (size_t)(tab - s) - 1;
    len = (size_t)(tab - s);
    if (!tl || tl > QERR_TAILMAX) tl = 0;   /* not such a field: dropped */
  }
  if (len > QERR_MAX) len = QERR_MAX;
  p = malloc(len + tl + 2);
  if (!p) return 0;
  n = clean(p, s, len);
  if (tl) { p[n++] = '\t'; n += clean(p + n, tab + 1, tl); }
  p[n] = 0;
  free(r->err);
  r->err = p;
  return 1;
}

size_t qenv_count(qenv const *e, char status)
{
  size_t c = 0;
  for (size_t i = 0; i < e->n; i++) c += e->r[i].status == status;
  return c;
}
