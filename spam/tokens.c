/* spam/tokens.c — the tokens of a message for the classifier: the words of its
 * text (3 to 25 octets; longer ones become a token of their start and length), the
 * words of Subject and of From's name, addresses and domains of From, Reply-To and
 * Message-ID, the mailer, the names of the header fields present, every part's
 * content type and charset, attachments' file name extensions, the URL hosts and
 * their last two labels. Each kind has a prefix, so "free" in Subject and "free" in
 * the text are two tokens. At most SPAM_TOKENS_MAX distinct tokens, in a table of
 * fixed size: the memory of a message with a million words is that of one with
 * SPAM_TOKENS_MAX. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spam-int.h"

#define SET_CAP 32768u   /* a power of two, over twice SPAM_TOKENS_MAX */

static void add(spam_tokens *t, char const *prefix, char const *w, size_t n)
{
  if (!n) return;
  uint64_t k = SPAM_TOKEN_KEY(spam_hash2(prefix, strlen(prefix), w, n));
  uint32_t i = (uint32_t)(k >> 1) & (SET_CAP - 1);
  while (t->key[i]) {
    if (t->key[i] == k) return;
    i = (i + 1) & (SET_CAP - 1);
  }
  if (t->n >= SPAM_TOKENS_MAX) { t->cut = 1; return; }
  t->key[i] = k;
  t->n++;
}

/* UTF-8 punctuation that separates words: no-break space, guillemets, and the
 * General Punctuation block (quotes, dashes, zero-width spaces). */
static size_t separator(unsigned char const *s, size_t len)
{
  if (len >= 2 && s[0] == 0xc2 && (s[1] == 0xa0 || s[1] == 0xab || s[1] == 0xbb)) return 2;
  if (len >= 3 && s[0] == 0xe2 && (s[1] == 0x80 || s[1] == 0x81)) return 3;
  return 0;
}

static int word_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c >= 0x80
      || c == '\'' || c == '-' || c == '$';
}

static void word(spam_tokens *t, char const *prefix, char const *w, size_t n)
{
  while (n && (*w == '\'' || *w == '-')) { w++; n--; }
  while (n && (w[n - 1] == '\'' || w[n - 1] == '-')) n--;
  if (n < 3) return;
  size_t digits = 0;
  for (size_t i = 0; i < n; i++) digits += w[i] >= '0' && w[i] <= '9';
  if (digits == n && n > 4) return;   /* numbers tell nothing; dates and ids change */
  if (n > 25) {
    /* a long word: its start and its length in steps of 8 */
    char b[16];
    size_t k = 0;
    memcpy(b, w, 6);
    k = 6;
    b[k++] = ':';
    b[k++] = 'a' + (n / 8 > 25 ? 25 : n / 8);
    add(t, "l:", b, k);
    return;
  }
  add(t, prefix, w, n);
}

static void words(spam_tokens *t, char const *prefix, char const *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    while (i < len && (!word_char(s[i]) || separator((unsigned char const *)s + i, len - i))) {
      size_t n = separator((unsigned char const *)s + i, len - i);
      i += n ? n : 1;
    }
    size_t b = i;
    while (i < len && word_char(s[i]) && !separator((unsigned char const *)s + i, len - i)) i++;
    if (i > b) word(t, prefix, s + b, i - b);
  }
}

/* The address of an address field (the last thing with an '@'), lowercase. */
static size_t address(char const *v, size_t len, char *out, size_t outlen)
{
  char const *at = 0;
  for (size_t i = 0; i < len; i++) if (v[i] == '@') at = v + i;
  if (!at) return 0;
  size_t b = at - v, e = b + 1;
  while (b > 0 && !strchr(" \t<>\"(),;:", v[b - 1])) b--;
  while (e < len && !strchr(" \t<>\"(),;:", v[e])) e++;
  if (e - b >= outlen) return 0;
  for (size_t i = b; i < e; i++) out[i - b] = (v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i];
  out[e - b] = 0;
  return e - b;
}

static void address_tokens(spam_tokens *t, char const *v, size_t len, char const *aprefix, char const *dprefix)
{
  char a[256];
  size_t n = address(v, len, a, sizeof a);
  if (!n) return;
  char const *d = strchr(a, '@') + 1;
  if (aprefix) add(t, aprefix, a, n);
  add(t, dprefix, d, n - (d - a));
}

/* The last two labels of a host. */
static char const *last2(char const *h)
{
  char const *dot = strrchr(h, '.');
  if (!dot) return h;
  while (dot > h && dot[-1] != '.') dot--;
  return dot;
}

/* "type/subtype" of a Content-Type value, lowercase. */
static size_t ctype(char const *v, size_t len, char *out, size_t outlen)
{
  size_t n = 0;
  for (size_t i = 0; i < len && v[i] != ';' && n + 1 < outlen; i++) {
    char c = v[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    out[n++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
  }
  return n;
}

/* The value of a parameter (name=value or name="value"), case-insensitive name. */
static size_t param(char const *v, size_t len, char const *name, char const **val)
{
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < len; i++) {
    if (strncasecmp(v + i, name, nl) || (i && strchr("; \t\r\n", v[i - 1]) == 0)) continue;
    size_t j = i + nl;
    while (j < len && (v[j] == ' ' || v[j] == '\t')) j++;
    if (j >= len || v[j] != '=') continue;
    j++;
    while (j < len && (v[j] == ' ' || v[j] == '\t')) j++;
    char q = j < len && v[j] == '"' ? v[j++] : 0;
    size_t e = j;
    while (e < len && (q ? v[e] != '"' : !strchr("; \t\r\n", v[e]))) e++;
    *val = v + j;
    return e - j;
  }
  return 0;
}

static void part_tokens(spam_tokens *t, spam_view const *v, mime_part const *p)
{
  mime_field f;
  size_t pos = 0;
  char const *h = v->msg + p->hdr_start;
  size_t hl = p->hdr_end - p->hdr_start;
  while (mime_field_next(&f, h, hl, &pos)) {
    char buf[64];
    char const *val;
    size_t n;
    if (mime_name_is(&f, "Content-Type")) {
      if ((n = ctype(f.value, f.valuelen, buf, sizeof buf))) add(t, "ct:", buf, n);
      if ((n = param(f.value, f.valuelen, "charset", &val)) && n < sizeof buf) {
        for (size_t i = 0; i < n; i++) buf[i] = (val[i] >= 'A' && val[i] <= 'Z') ? val[i] + 32 : val[i];
        add(t, "cs:", buf, n);
      }
    }
    if (mime_name_is(&f, "Content-Type") || mime_name_is(&f, "Content-Disposition")) {
      n = param(f.value, f.valuelen, mime_name_is(&f, "Content-Type") ? "name" : "filename", &val);
      char const *dot = n ? memrchr(val, '.', n) : 0;
      if (dot && (size_t)(val + n - dot) <= 9) {
        size_t k = val + n - dot - 1;
        for (size_t i = 0; i < k; i++) buf[i] = (dot[1 + i] >= 'A' && dot[1 + i] <= 'Z') ? dot[1 + i] + 32 : dot[1 + i];
        add(t, "ext:", buf, k);
      }
    }
  }
}

static void header_tokens(spam_tokens *t, spam_view const *v, stralloc *dec, stralloc *fold)
{
  mime_field f;
  size_t pos = 0;
  unsigned nfields = 0;
  while (nfields++ < SPAM_FIELDS_MAX && mime_field_next(&f, v->msg, v->hdr_len, &pos)) {
    char name[48];
    if (f.novalue || !f.namelen || f.namelen >= sizeof name || spam_header_ours(f.name, f.namelen)) continue;
    for (size_t i = 0; i < f.namelen; i++) name[i] = (f.name[i] >= 'A' && f.name[i] <= 'Z') ? f.name[i] + 32 : f.name[i];
    name[f.namelen] = 0;
    if (!strcmp(name, "received") || !strcmp(name, "return-path") || !strcmp(name, "delivered-to")) continue;
    add(t, "h:", name, f.namelen);
    int subject = !strcmp(name, "subject"), from = !strcmp(name, "from");
    int mailer = !strcmp(name, "x-mailer") || !strcmp(name, "user-agent");
    if (!subject && !from && !mailer && strcmp(name, "reply-to") && strcmp(name, "message-id")) continue;
    dec->len = 0;
    if (!mime_header_decode(dec, f.value, f.valuelen < SPAM_VALUE_MAX ? f.valuelen : SPAM_VALUE_MAX)) continue;
    if (!mime_text_fold(fold, dec->s ? dec->s : "", dec->len)) continue;
    char const *s = fold->s ? fold->s : "";
    if (subject) words(t, "s:", s, fold->len);
    else if (from) {
      address_tokens(t, s, fold->len, "fa:", "fd:");
      char const *lt = memchr(s, '<', fold->len);
      words(t, "fn:", s, lt ? (size_t)(lt - s) : 0);
    } else if (mailer) add(t, "xm:", s, fold->len < 40 ? fold->len : 40);
    else if (name[0] == 'r') address_tokens(t, s, fold->len, 0, "rd:");
    else address_tokens(t, s, fold->len, 0, "mi:");
  }
}

static int cmp_key(void const *a, void const *b)
{
  uint64_t x = *(uint64_t const *)a, y = *(uint64_t const *)b;
  return x < y ? -1 : x > y;
}

int spam_tokens_make(spam_tokens *t, spam_view const *v)
{
  stralloc dec = STRALLOC_ZERO, fold = STRALLOC_ZERO;
  static char const *const nparts[] = { "0", "1", "2", "3-5", "3-5", "3-5", "6-10" };
  t->key = calloc(SET_CAP, sizeof *t->key);
  if (!t->key) return 0;
  t->cap = SET_CAP;
  t->n = 0;
  header_tokens(t, v, &dec, &fold);
  stralloc_free(&dec);
  stralloc_free(&fold);
  for (uint32_t i = 0; i < v->tree.n; i++) part_tokens(t, v, &v->tree.parts[i]);
  char const *np = v->tree.n < sizeof nparts / sizeof *nparts ? nparts[v->tree.n] : v->tree.n <= 10 ? "6-10" : "many";
  add(t, "np:", np, strlen(np));
  if (v->html) add(t, "html:", "yes", 3);
  for (size_t off = 0; off < v->hosts.len; off += strlen(v->hosts.s + off) + 1) {
    char const *h = v->hosts.s + off;
    add(t, "u:", h, strlen(h));
    add(t, "ud:", last2(h), strlen(last2(h)));
  }
  words(t, "", v->text.s ? v->text.s : "", v->text.len);
  /* keep the keys, sorted, at the front */
  uint32_t n = 0;
  for (uint32_t i = 0; i < SET_CAP; i++) if (t->key[i]) t->key[n++] = t->key[i];
  qsort(t->key, n, sizeof *t->key, cmp_key);
  t->n = n;
  return 1;
}

void spam_tokens_free(spam_tokens *t)
{
  free(t->key);
  t->key = 0;
  t->n = t->cap = 0;
}

uint64_t spam_msg_id(spam_view const *v, spam_tokens const *t)
{
  stralloc sa = STRALLOC_ZERO;
  uint64_t id;
  if (spam_view_field(v, "Message-ID", &sa) > 0) {
    size_t b = 0, e = sa.len;
    while (b < e && (sa.s[b] == ' ' || sa.s[b] == '\t')) b++;
    while (e > b && (sa.s[e - 1] == ' ' || sa.s[e - 1] == '\t')) e--;
    if (e > b) {
      id = spam_hash2("mid", 3, sa.s + b, e - b);
      stralloc_free(&sa);
      return id;
    }
  }
  stralloc_free(&sa);
  /* no Message-ID: what the message says is who it is */
  return spam_hash2("tok", 3, (char const *)t->key, t->n * sizeof *t->key);
}
