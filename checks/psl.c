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
 * one conversion above. Loaded once per process, on first use: the one piece of
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

/* A rule is stored as its kind ('n' normal, '*' wildcard, '!' exception) and its
 * text, so that "ck" and "*.ck" are two rules. */
typedef struct { uint32_t off; uint16_t len; } rule;

static struct {
  char *text;       /* the rules, A-labels, each NUL-terminated */
  size_t textlen, textcap;
  rule *slot;       /* open addressing, a power of two */
  size_t nslot, nrule;
  int loaded;
} L;

static uint32_t hash(char const *s, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

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

static rule const *find(char const *s, size_t n)
{
  if (!L.nslot || !n) return 0;
  for (size_t i = hash(s, n) & (L.nslot - 1);; i = (i + 1) & (L.nslot - 1)) {
    rule const *r = &L.slot[i];
    if (!r->len) return 0;
    if (r->len == n && !memcmp(L.text + r->off, s, n)) return r;
  }
}

static int add(char const *s, size_t n)
{
  if (n < 2 || n > RULE_MAX + 1 || find(s, n)) return 1;
  if (L.textlen + n + 1 > L.textcap) {
    size_t c = L.textcap ? L.textcap * 2 : 1 << 18;
    char *t;
    while (c < L.textlen + n + 1) c *= 2;
    if (!(t = realloc(L.text, c))) return 0;
    L.text = t; L.textcap = c;
  }
  memcpy(L.text + L.textlen, s, n);
  L.text[L.textlen + n] = 0;
  for (size_t i = hash(s, n) & (L.nslot - 1);; i = (i + 1) & (L.nslot - 1)) {
    if (L.slot[i].len) continue;
    L.slot[i].off = (uint32_t)L.textlen; L.slot[i].len = (uint16_t)n;
    break;
  }
  L.textlen += n + 1;
  L.nrule++;
  return 1;
}

static void load(void)
{
  char const *env = getenv("POCHTA_PSL");
  char const *path = env && *env ? env : PSL_DEFAULT;
  struct stat st;
  char *map;
  int fd;
  L.loaded = 1;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !st.st_size || (size_t)st.st_size > PSL_FILE_MAX
      || (map = mmap(0, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) { close(fd); return; }
  close(fd);
  /* room for every line, at most half full */
  size_t lines = 1;
  for (off_t i = 0; i < st.st_size; i++) lines += map[i] == '\n';
  for (L.nslot = 64; L.nslot < 2 * lines; L.nslot *= 2) ;
  if (!(L.slot = calloc(L.nslot, sizeof *L.slot))) { L.nslot = 0; munmap(map, (size_t)st.st_size); return; }
  for (size_t i = 0, n = (size_t)st.st_size; i < n;) {
    char const *p = map + i, *nl = memchr(p, '\n', n - i);
    size_t len = nl ? (size_t)(nl - p) : n - i, k = 0, ol;
    char a[RULE_MAX + 8];
    char kind = 'n';
    i += len + 1;
    while (k < len && p[k] != ' ' && p[k] != '\t' && p[k] != '\r') k++;   /* a rule is the first word */
    if (!k || (k >= 2 && p[0] == '/' && p[1] == '/')) continue;
    if (p[0] == '!') { kind = '!'; p++; k--; }
    else if (k > 2 && p[0] == '*' && p[1] == '.') { kind = '*'; p += 2; k -= 2; }
    if (!k || !(ol = ascii_rule(p, k, a + 1, sizeof a - 1))) continue;
    a[0] = kind;
    if (!add(a, ol + 1)) break;
  }
  munmap(map, (size_t)st.st_size);
}

/* Does a rule of kind match the suffix s[0..n)? Wildcards are stored without
 * their "*.": "*.ck" matches "x.ck" through its parent "ck". */
static int has(char const *s, size_t n, char kind)
{
  char k[CHK_DOMAIN_MAX + 2];
  if (n > CHK_DOMAIN_MAX) return 0;
  k[0] = kind;
  memcpy(k + 1, s, n);
  return find(k, n + 1) != 0;
}

int chk_orgdomain(char const *domain, char out[CHK_DOMAIN_MAX + 1])
{
  char d[CHK_DOMAIN_MAX + 1];
  size_t l = strlen(domain), start[128], nl = 0, ps = 0;   /* ps: labels in the public suffix */
  if (l && domain[l - 1] == '.') l--;
  if (!l || !chk_copy_lower(d, sizeof d, domain, l)) return 0;
  if (!L.loaded) load();
  start[nl++] = 0;
  for (size_t i = 0; i < l && nl < 128; i++) if (d[i] == '.') start[nl++] = i + 1;
  for (size_t k = 1; k <= nl; k++) {   /* the suffix of the last k labels */
    char const *s = d + start[nl - k];
    size_t n = l - start[nl - k];
    if (has(s, n, '!')) { ps = k - 1; goto found; }
    if (has(s, n, 'n')) ps = k;
    /* "*.parent": any label under a parent rule (the rest of the suffix) */
    if (k >= 2 && has(d + start[nl - k + 1], l - start[nl - k + 1], '*')) ps = k;
  }
  if (!ps) ps = 1;   /* no rule: the last label */
 found:
  if (ps >= nl) { memcpy(out, d, l + 1); return 1; }   /* a public suffix: its own */
  {
    char const *r = d + start[nl - ps - 1];
    memcpy(out, r, strlen(r) + 1);
  }
  return 1;
}
