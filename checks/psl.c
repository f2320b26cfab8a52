/* The organizational domain (RFC 7489 3.2) from the Public Suffix List: Debian's
 * /usr/share/publicsuffix/public_suffix_list.dat (package publicsuffix), or the file
 * $POCHTA_PSL names. The list's own algorithm (publicsuffix.org): the rule that
 * matches the most labels wins, an exception rule (!) wins over all and stands for
 * its suffix less one label, and without a match the suffix is the last label.
 * Rules with non-ASCII labels are turned into their A-labels (xn--, RFC 3492) when
 * read, since domains reach us as DNS has them. Both sections (ICANN and private)
 * count, as libpsl counts them by default.
 *
 * Read here rather than through libpsl: the list is a plain file, and libpsl would
 * bring libidn2 and libunistring (LGPL/GPL) statically into pochta-smtpd for the
 * one conversion above. Mapped once per process, on first use: the one piece of
 * state in checks/ that outlives a call. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "int.h"

#define PSL_DEFAULT "/usr/share/publicsuffix/public_suffix_list.dat"
#define PSL_FILE_MAX (8u << 20)
#define RULE_MAX 256

/* The list, mapped once per process and read in place: a session asks for one
 * or two domains, and building a table of all ~9,000 rules cost it ~2 ms. */
static struct {
  char const *map;
  size_t len;
  int loaded;
} L;

/* ---------- punycode (RFC 3492), for rules written in Unicode ---------- */

static char digit(uint32_t d) { return (char)(d < 26 ? 'a' + d : '0' + d - 26); }

static uint32_t adapt(uint32_t delta, uint32_t n, int first)
{
  uint32_t k = 0;
  delta = first ? delta / 700 : delta / 2;
  delta += delta / n;
  while (delta > 455) { delta /= 35; k += 36; }
  return k + 36 * delta / (delta + 38);
}

/* One UTF-8 label to its A-label in out (cap octets). Length, 0 if it cannot. */
static size_t alabel(char const *s, size_t n, char *out, size_t cap)
{
  uint32_t cp[RULE_MAX], ncp = 0, basic = 0, m, nn = 128, delta = 0, bias = 72, h;
  size_t o = 4;
  if (cap < 5) return 0;
  memcpy(out, "xn--", 4);
  for (size_t i = 0; i < n && ncp < RULE_MAX;) {
    unsigned char c = (unsigned char)s[i];
    uint32_t v; size_t k;
    if (c < 0x80) { v = c; k = 1; }
    else if ((c & 0xe0) == 0xc0) { v = c & 0x1f; k = 2; }
    else if ((c & 0xf0) == 0xe0) { v = c & 0x0f; k = 3; }
    else if ((c & 0xf8) == 0xf0) { v = c & 0x07; k = 4; }
    else return 0;
    if (i + k > n) return 0;
    for (size_t j = 1; j < k; j++) {
      if (((unsigned char)s[i + j] & 0xc0) != 0x80) return 0;
      v = v << 6 | ((unsigned char)s[i + j] & 0x3f);
    }
    cp[ncp++] = v;
    i += k;
  }
  for (uint32_t i = 0; i < ncp; i++) if (cp[i] < 0x80) { if (o >= cap) return 0; out[o++] = (char)cp[i]; basic++; }
  if (basic) { if (o >= cap) return 0; out[o++] = '-'; }
  for (h = basic; h < ncp; nn++, delta++) {
    m = UINT32_MAX;
    for (uint32_t i = 0; i < ncp; i++) if (cp[i] >= nn && cp[i] < m) m = cp[i];
    if ((m - nn) > (UINT32_MAX - delta) / (h + 1)) return 0;
    delta += (m - nn) * (h + 1);
    nn = m;
    for (uint32_t i = 0; i < ncp; i++) {
      if (cp[i] < nn) delta++;
      if (cp[i] != nn) continue;
      uint32_t q = delta;
      for (uint32_t k = 36;; k += 36) {
        uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
        if (q < t) break;
        if (o >= cap) return 0;
        out[o++] = digit(t + (q - t) % (36 - t));
        q = (q - t) / (36 - t);
      }
      if (o >= cap) return 0;
      out[o++] = digit(q);
      bias = adapt(delta, h + 1, h == basic);
      delta = 0;
      h++;
    }
  }
  return o;
}

/* A rule's text as DNS has it: labels with non-ASCII octets as A-labels. */
static size_t ascii_rule(char const *s, size_t n, char *out, size_t cap)
{
  size_t o = 0, i = 0;
  while (i <= n) {
    size_t j = i, k;
    int wide = 0;
    while (j < n && s[j] != '.') { if ((unsigned char)s[j] >= 0x80) wide = 1; j++; }
    if (o && (o >= cap || (out[o++] = '.', 0))) return 0;
    if (wide) {
      k = alabel(s + i, j - i, out + o, cap - o);
      if (!k) return 0;
    } else {
      k = j - i;
      if (o + k > cap) return 0;
      for (size_t x = 0; x < k; x++) { char c = s[i + x]; out[o + x] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); }
    }
    o += k;
    i = j + 1;
  }
  return o;
}

static void load(void)
{
  char const *env = getenv("POCHTA_PSL");
  char const *path = env && *env ? env : PSL_DEFAULT;
  struct stat st;
  void *map;
  int fd;
  L.loaded = 1;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !st.st_size || (size_t)st.st_size > PSL_FILE_MAX
      || (map = mmap(0, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) { close(fd); return; }
  close(fd);
  L.map = map;
  L.len = (size_t)st.st_size;
}

typedef struct { char const *d; size_t l; int idn; size_t ps, exc; } psl_query;

/* One line of the list [p, p+len) against the query: a rule matches when it is
 * a suffix of d that starts at a label. Keeps the labels of the longest normal
 * or wildcard rule that matches in q->ps, of the shortest exception in q->exc. */
static void match_line(psl_query *q, char const *p, size_t len)
{
  size_t k = 0, rl, labels = 1;
  char a[RULE_MAX + 8];
  char const *r = p;
  char kind = 'n';
  int wide = 0;
  /* a rule is the first word of its line */
  while (k < len && p[k] != ' ' && p[k] != '\t' && p[k] != '\r') { wide |= (unsigned char)p[k] >= 0x80; k++; }
  if (!k || (k >= 2 && p[0] == '/' && p[1] == '/')) return;
  if (p[0] == '!') { kind = '!'; r++; k--; }
  else if (k > 2 && p[0] == '*' && p[1] == '.') { kind = '*'; r += 2; k -= 2; }
  if (!k || k > RULE_MAX) return;
  if (wide && !q->idn) return;   /* rules in Unicode only match a domain with A-labels */
  /* the cheap test first: most rules end differently */
  if (!wide && (k > q->l || (r[k - 1] | 0x20) != q->d[q->l - 1])) return;
  if (!(rl = ascii_rule(r, k, a, sizeof a))) return;
  r = a;
  if (rl > q->l || memcmp(q->d + q->l - rl, r, rl) || (rl < q->l && q->d[q->l - rl - 1] != '.')) return;
  for (size_t j = 0; j < rl; j++) labels += r[j] == '.';
  if (kind == '!') { if (!q->exc || labels < q->exc) q->exc = labels; }
  else if (kind == '*') { if (labels < 127 && rl < q->l && labels + 1 > q->ps) q->ps = labels + 1; }   /* any label under the rule */
  else if (labels > q->ps) q->ps = labels;
}

/* What the list says of q->d. A rule that matches ends with d's last label, so
 * only the lines where that label stands as a whole word are read: a search
 * through the file instead of every line of it (~0.2 ms here). The rules are
 * in lower case, as the list is published. A last label that is an A-label
 * may match a rule written in Unicode: then every line is read. */
static void match_rules(psl_query *q)
{
  char const *m = L.map, *end = L.map + L.len, *tld = q->d + q->l;
  for (size_t i = 0; i + 4 <= q->l; i++)
    if (!memcmp(q->d + i, "xn--", 4) && (!i || q->d[i - 1] == '.')) { q->idn = 1; break; }
  while (tld > q->d && tld[-1] != '.') tld--;
  size_t tl = (size_t)(q->d + q->l - tld);
  if (tl >= 4 && !memcmp(tld, "xn--", 4)) {
    for (char const *p = m; p < end;) {
      char const *nl = memchr(p, '\n', (size_t)(end - p));
      size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
      match_line(q, p, len);
      p += len + 1;
    }
    return;
  }
  for (char const *p = m, *h; p < end && (h = memmem(p, (size_t)(end - p), tld, tl)); ) {
    char const *after = h + tl;
    p = h + 1;
    if (h > m && h[-1] != '.' && h[-1] != '\n' && h[-1] != '!') continue;
    if (after < end && *after != '\n' && *after != '\r' && *after != ' ' && *after != '\t') continue;
    char const *ls = h > m ? memrchr(m, '\n', (size_t)(h - m)) : 0;
    char const *le = memchr(h, '\n', (size_t)(end - h));
    ls = ls ? ls + 1 : m;
    if (!le) le = end;
    match_line(q, ls, (size_t)(le - ls));
    p = le;   /* each line once */
  }
}

int chk_orgdomain(char const *domain, char out[CHK_DOMAIN_MAX + 1])
{
  char d[CHK_DOMAIN_MAX + 1];
  size_t l = strlen(domain), start[128], nl = 0, ps = 0, exc = 0;   /* ps: labels in the public suffix */
  if (l && domain[l - 1] == '.') l--;
  if (!l || !chk_copy_lower(d, sizeof d, domain, l)) return 0;
  if (!L.loaded) load();
  start[nl++] = 0;
  for (size_t i = 0; i < l && nl < 128; i++) if (d[i] == '.') start[nl++] = i + 1;
  if (L.map) {
    psl_query q = { d, l, 0, 0, 0 };
    match_rules(&q);
    ps = q.ps; exc = q.exc;
  }
  if (exc) ps = exc - 1;   /* an exception wins, and stands for its suffix less one label */
  if (!ps) ps = 1;         /* no rule: the last label */
  if (ps >= nl) { memcpy(out, d, l + 1); return 1; }   /* a public suffix: its own */
  {
    char const *r = d + start[nl - ps - 1];
    memcpy(out, r, strlen(r) + 1);
  }
  return 1;
}
