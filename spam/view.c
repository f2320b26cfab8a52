/* spam/view.c — a message as the scorer and the tokenizer read it: the MIME tree
 * of its first SPAM_SCAN_MAX octets, the decoded text of at most SPAM_LEAVES_MAX
 * text parts (at most SPAM_PART_MAX octets of each, SPAM_TEXT_MAX in all), HTML
 * made text, and the hosts of the URLs in it. Whatever the message (100 MB, a
 * million words, binary attachments, MIME nested to the parser's limit), the work
 * is linear in at most SPAM_SCAN_MAX octets and the memory bounded by the limits. */
#include <string.h>
#include <strings.h>

#include "spam-int.h"

static int is_blank(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/* Append s to the view's text, every run of blanks one space, within the limit. */
static int text_add(spam_view *v, char const *s, size_t len)
{
  int blank = v->text.len > 0 && v->text.s[v->text.len - 1] == ' ';
  if (!stralloc_readyplus(&v->text, len < SPAM_TEXT_MAX ? len + 1 : SPAM_TEXT_MAX + 1)) return 0;
  for (size_t i = 0; i < len; i++) {
    if (v->text.len >= SPAM_TEXT_MAX) { v->cut = 1; break; }
    unsigned char c = s[i];
    if (is_blank(c)) { if (!blank) v->text.s[v->text.len++] = ' '; blank = 1; continue; }
    v->text.s[v->text.len++] = c;
    blank = 0;
  }
  return 1;
}

/* Parts are kept apart by a newline: a phrase never spans two. */
static int text_sep(spam_view *v)
{
  if (!v->text.len || v->text.len >= SPAM_TEXT_MAX) return 1;
  if (v->text.s[v->text.len - 1] == ' ') { v->text.s[v->text.len - 1] = '\n'; return 1; }
  return stralloc_catb(&v->text, "\n", 1);
}

int spam_view_make(spam_view *v, char const *msg, size_t len)
{
  stralloc raw = STRALLOC_ZERO, plain = STRALLOC_ZERO, folded = STRALLOC_ZERO;
  int ok = 0;
  if (len > SPAM_SCAN_MAX) { len = SPAM_SCAN_MAX; v->cut = 1; }
  v->msg = msg;
  v->len = len;
  if (!mime_parse(&v->tree, msg, len)) return 0;
  v->hdr_len = v->tree.parts[0].hdr_end;
  v->body_start = v->tree.parts[0].body_start;
  for (uint32_t i = 0; i < v->tree.n; i++) {
    mime_part const *p = &v->tree.parts[i];
    int html = 0;
    if (p->flags & (MIME_F_MULTIPART | MIME_F_MESSAGE) || !(p->flags & MIME_F_TEXT)) continue;
    if (v->ntext >= SPAM_LEAVES_MAX || v->text.len >= SPAM_TEXT_MAX) { v->cut = 1; break; }
    if (p->body_end - p->body_start > SPAM_PART_MAX) v->cut = 1;
    raw.len = 0;
    if (!mime_part_text(&raw, &v->tree, i, SPAM_PART_MAX, &html)) goto end;
    v->ntext++;
    stralloc const *src = &raw;
    if (html) {
      v->html = 1;
      plain.len = 0;
      if (!spam_html_text(v, &plain, raw.s ? raw.s : "", raw.len)) goto end;
      src = &plain;
    }
    if (!spam_url_scan(v, src->s ? src->s : "", src->len)) goto end;
    if (!mime_text_fold(&folded, src->s ? src->s : "", src->len)) goto end;
    if (!text_sep(v)) goto end;
    if (!text_add(v, folded.s ? folded.s : "", folded.len)) goto end;
  }
  ok = 1;
end:
  stralloc_free(&raw);
  stralloc_free(&plain);
  stralloc_free(&folded);
  return ok;
}

void spam_view_free(spam_view *v)
{
  mime_tree_free(&v->tree);
  stralloc_free(&v->text);
  stralloc_free(&v->hosts);
}

int spam_view_field(spam_view const *v, char const *name, stralloc *sa)
{
  mime_field f;
  size_t pos = 0;
  for (unsigned n = 0; n < SPAM_FIELDS_MAX && mime_field_next(&f, v->msg, v->hdr_len, &pos); n++) {
    if (!mime_name_is(&f, name)) continue;
    sa->len = 0;
    if (!mime_header_decode(sa, f.value, f.valuelen < SPAM_VALUE_MAX ? f.valuelen : SPAM_VALUE_MAX)) return -1;
    if (sa->len > SPAM_VALUE_MAX) sa->len = SPAM_VALUE_MAX;
    if (!stralloc_0(sa)) return -1;
    sa->len--;
    return 1;
  }
  return 0;
}

/* ---- URL hosts */

static int host_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int prefix_ci(char const *s, size_t len, char const *p)
{
  size_t n = strlen(p);
  return len >= n && !strncasecmp(s, p, n);
}

int spam_url_add(spam_view *v, char const *s, size_t len)
{
  char host[256];
  size_t i = 0, a, e, hl = 0;
  while (i < len && (is_blank(s[i]) || s[i] == '"' || s[i] == '\'')) i++;
  s += i; len -= i;
  if (prefix_ci(s, len, "http://")) i = 7;
  else if (prefix_ci(s, len, "https://")) i = 8;
  else if (prefix_ci(s, len, "//")) i = 2;
  else if (prefix_ci(s, len, "www.")) i = 0;
  else return 1;   /* mailto:, relative links, anything else */
  /* the authority ends at the path, query, fragment, or what cannot be in a URL */
  for (e = i; e < len && e - i < 512; e++) {
    unsigned char c = s[e];
    if (c == '/' || c == '?' || c == '#' || c == '\\' || is_blank(c) || c == '"' || c == '\'' || c == '<' || c == '>' || c < 0x20) break;
  }
  a = i;
  for (size_t k = i; k < e; k++) if (s[k] == '@') a = k + 1;   /* http://bank.example@evil.test/ */
  if (a < e && s[a] == '[') {   /* an IPv6 literal */
    size_t k = a + 1;
    while (k < e && s[k] != ']' && hl < sizeof host - 1) {
      unsigned char c = s[k++];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) return 1;
      host[hl++] = c | 0x20 * (c >= 'A' && c <= 'F');
    }
    if (k >= e || !hl) return 1;
  } else {
    for (size_t k = a; k < e && s[k] != ':'; k++) {
      unsigned char c = s[k];
      if (c >= 'A' && c <= 'Z') c += 32;
      if (!host_char(c) || hl >= 253) return 1;
      host[hl++] = c;
    }
    while (hl && host[hl - 1] == '.') hl--;
    if (!hl || !memchr(host, '.', hl) || host[0] == '.') return 1;
  }
  host[hl] = 0;
  for (size_t off = 0; off < v->hosts.len; off += strlen(v->hosts.s + off) + 1)
    if (!strcmp(v->hosts.s + off, host)) return 1;
  if (v->nhosts >= SPAM_HOSTS_MAX) { v->cut = 1; return 1; }
  if (!stralloc_catb(&v->hosts, host, hl + 1)) return 0;
  v->nhosts++;
  return 1;
}

int spam_url_scan(spam_view *v, char const *s, size_t len)
{
  for (size_t i = 0; i + 4 <= len; i++) {
    unsigned char c = s[i] | 0x20;
    if (c == 'h' && (prefix_ci(s + i, len - i, "http://") || prefix_ci(s + i, len - i, "https://"))) {
      if (!spam_url_add(v, s + i, len - i)) return 0;
      i += 7;
    } else if (c == 'w' && prefix_ci(s + i, len - i, "www.") && (!i || !host_char(s[i - 1] | 0x20))) {
      if (!spam_url_add(v, s + i, len - i)) return 0;
      i += 3;
    }
  }
  return 1;
}
