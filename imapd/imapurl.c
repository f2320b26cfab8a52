/* pochta-imapd: the IMAP URLs CATENATE takes (RFC 4469 5, RFC 5092): a message
 * or a part of one in the user's own mailboxes,
 *   [imap://[user@]host[:port]]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]
 * or, relative to the selected mailbox, ";UID=n[...]". Names are %-escaped;
 * keys are case-insensitive. The server part is not looked at: every URL is
 * taken as one of this server, for the logged-in user (URLAUTH is not offered). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imapd.h"
#include "mime.h"

typedef struct {
  char box[4 * FOLDER_NAME_MAX];
  uint32_t validity, uid;
  char section[1024];
  uint64_t poff, plen; int partial;
} imapurl;

static int hexv(char c) { return c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1; }

/* %-decode s[0..n) into out (NUL-terminated). 0 when it does not fit or is broken. */
static int pct(char const *s, size_t n, char *out, size_t outlen)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= n) return 0;
      int a = hexv(s[i + 1]), b = hexv(s[i + 2]);
      if (a < 0 || b < 0) return 0;
      c = (char)(a << 4 | b); i += 2;
      if (!c) return 0;
    }
    if (o + 1 >= outlen) return 0;
    out[o++] = c;
  }
  out[o] = 0;
  return 1;
}

static int num(char const *s, size_t n, uint64_t max, uint64_t *v)
{
  uint64_t x = 0;
  if (!n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || x > (max - (uint64_t)(s[i] - '0')) / 10) return 0;
    x = x * 10 + (uint64_t)(s[i] - '0');
  }
  *v = x;
  return 1;
}

/* Does s[0..n) start with ";KEY=" (any case)? Sets *at past it. */
static int key(char const *s, size_t n, size_t *at, char const *k)
{
  size_t kl = strlen(k);
  if (n - *at < kl || strncasecmp(s + *at, k, kl)) return 0;
  *at += kl;
  return 1;
}

static int url_parse(char const *s, size_t n, imapurl *u)
{
  size_t at = 0, e;
  uint64_t v;
  memset(u, 0, sizeof *u);
  if (n >= 7 && !strncasecmp(s, "imap://", 7)) {
    char const *sl = memchr(s + 7, '/', n - 7);
    if (!sl) return 0;
    at = (size_t)(sl - s);
  }
  if (at < n && s[at] == '/') {
    /* the mailbox: up to ";UIDVALIDITY=" or "/;" */
    at++;
    for (e = at; e < n && s[e] != ';' && !(s[e] == '/' && e + 1 < n && s[e + 1] == ';'); e++) ;
    if (e == at || !pct(s + at, e - at, u->box, sizeof u->box)) return 0;
    at = e;
    if (key(s, n, &at, ";UIDVALIDITY=")) {
      for (e = at; e < n && s[e] != '/'; e++) ;
      if (!num(s + at, e - at, 0xffffffffu, &v) || !v) return 0;
      u->validity = (uint32_t)v; at = e;
    }
    if (at >= n || s[at] != '/') return 0;
    at++;
  } else if (S.state == S_SELECTED) snprintf(u->box, sizeof u->box, "%s", S.selname);
  else return 0;
  if (!key(s, n, &at, ";UID=")) return 0;
  for (e = at; e < n && s[e] != '/'; e++) ;
  if (!num(s + at, e - at, 0xffffffffu, &v) || !v) return 0;
  u->uid = (uint32_t)v; at = e;
  if (at < n && key(s, n, &at, "/;SECTION=")) {
    for (e = at; e < n && s[e] != '/'; e++) ;
    if (!pct(s + at, e - at, u->section, sizeof u->section)) return 0;
    at = e;
  }
  if (at < n && key(s, n, &at, "/;PARTIAL=")) {
    char const *dot = memchr(s + at, '.', n - at);
    size_t oe = dot ? (size_t)(dot - s) : n;
    if (!num(s + at, oe - at, UINT64_MAX / 2, &u->poff)) return 0;
    if (dot && !num(dot + 1, n - oe - 1, UINT64_MAX / 2, &u->plen)) return 0;
    if (!dot) u->plen = UINT64_MAX / 2;
    u->partial = 1; at = n;
  }
  return at == n;
}

/* Write [start, end) of data with CR LF made LF. */
static int put_lf(int fd, char const *d, size_t start, size_t end, uint64_t *total)
{
  char buf[8192];
  size_t o = 0;
  for (size_t i = start; i < end; i++) {
    if (d[i] == '\r' && i + 1 < end && d[i + 1] == '\n') continue;
    buf[o++] = d[i];
    if (o == sizeof buf) { if (write(fd, buf, o) != (ssize_t)o) return 0; o = 0; }
  }
  *total += end - start;
  return !o || write(fd, buf, o) == (ssize_t)o;
}

int imapurl_append(int fd, char const *s, size_t n, uint64_t *total, uint64_t max)
{
  imapurl u;
  char dir[4600];
  if (!url_parse(s, n, &u) || !folder_dir(u.box, strlen(u.box), dir, sizeof dir)) return -1;
  mbox mb;
  memset(&mb, 0, sizeof mb);
  if (mbox_open(&mb, dir, 0) <= 0) return -1;
  long i = mbox_find_uid(&mb, u.uid);
  int r = -1;
  void *map = 0;
  size_t len = 0;
  mime_tree t = MIME_TREE_ZERO;
  stralloc fields = STRALLOC_ZERO, gen = STRALLOC_ZERO;
  mime_section sec;
  mime_body b;
  if (i < 0 || (u.validity && u.validity != mb.uidvalidity)) goto done;
  int mfd = mbox_open_msg(&mb, &mb.m[i]);
  struct stat st;
  if (mfd < 0) goto done;
  if (fstat(mfd, &st) == 0 && (len = (size_t)st.st_size) && (map = mmap(0, len, PROT_READ, MAP_PRIVATE, mfd, 0)) == MAP_FAILED) map = 0;
  close(mfd);
  if (len && !map) goto done;
  if (!mime_parse(&t, map ? map : "", len) || !mime_section_parse(&sec, &fields, u.section, strlen(u.section))
      || !mime_section_get(&b, &gen, &t, &sec)) goto done;
  /* the octets as FETCH BODY[section]<partial> gives them, stored with LF */
  stralloc crlf = STRALLOC_ZERO;
  uint64_t skip = u.partial ? u.poff : 0, cnt = u.partial ? u.plen : UINT64_MAX;
  int ok = b.generated ? mime_cat_crlf(&crlf, gen.s, 0, gen.len, skip, cnt)
                       : mime_cat_crlf(&crlf, map ? map : "", b.start, b.end, skip, cnt);
  r = !ok ? 0 : *total + crlf.len > max ? -2 : put_lf(fd, crlf.s ? crlf.s : "", 0, crlf.len, total) ? 1 : 0;
  stralloc_free(&crlf);
 done:
  mime_tree_free(&t);
  stralloc_free(&fields); stralloc_free(&gen);
  if (map) munmap(map, len);
  mbox_free(&mb);
  return r;
}
