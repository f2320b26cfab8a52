/* pochta-imapd: LIST wildcards (RFC 9051 6.3.9): '*' matches anything, '%'
 * anything but the hierarchy delimiter. The pattern's positions are walked for
 * each octet of the name (a set of states, as an automaton does): the work is
 * at most the pattern's length times the name's, however many wildcards it
 * holds. A pattern is first made as short as it can be (a run of wildcards is
 * one wildcard) and never matches when its literal octets could not fit in
 * any name (issue 10, 2: patterns of hundreds of '*' took exponential time). */
#include <string.h>

#include "imapd.h"
#include "wildmat.h"


/* Compile ref+pat: runs of wildcards collapse ("%*" and "**" are "*", "%%"
 * is "%"); a pattern with more literal octets than a name can have never
 * matches. */
void pat_compile(pattern *c, char const *ref, size_t rl, char const *pat, size_t pl)
{
  size_t lit = 0;
  c->len = 0; c->never = 0;
  for (size_t k = 0; k < rl + pl; k++) {
    char ch = k < rl ? ref[k] : pat[k - rl];
    if (ch == '*' || ch == '%') {
      if (c->len && (c->s[c->len - 1] == '*' || c->s[c->len - 1] == '%')) {
        if (ch == '*') c->s[c->len - 1] = '*';
        continue;
      }
    } else if (++lit > FOLDER_NAME_MAX + 8) { c->never = 1; return; }
    if (c->len == PAT_MAX) { c->never = 1; return; }
    c->s[c->len++] = ch;
  }
}

/* After the states in st (st[j]: pattern[0..j) matched), a wildcard at j may
 * also match nothing. */
static void closure(pattern const *p, unsigned char *st)
{
  for (size_t j = 0; j < p->len; j++)
    if (st[j] && (p->s[j] == '*' || p->s[j] == '%')) st[j + 1] = 1;
}

/* '*' matches anything, '%' anything but the delimiter; INBOX is matched
 * without regard to case (its first five octets in the pattern). */
int pat_match(pattern const *p, char const *name)
{
  unsigned char a[PAT_MAX + 1], b[PAT_MAX + 1], *cur = a, *nxt = b;
  int inbox = !strcmp(name, "INBOX");
  if (p->never) return 0;
  memset(cur, 0, p->len + 1);
  cur[0] = 1;
  closure(p, cur);
  for (size_t i = 0; name[i]; i++) {
    char c = name[i];
    int any = 0;
    memset(nxt, 0, p->len + 1);
    for (size_t j = 0; j < p->len; j++) {
      if (!cur[j]) continue;
      char pc = p->s[j];
      if (pc == '*' || (pc == '%' && c != '.')) { nxt[j] = 1; any = 1; }
      else if (pc == c || (inbox && j == i && i < 5 && (pc | 0x20) == (c | 0x20))) { nxt[j + 1] = 1; any = 1; }
    }
    if (!any) return 0;
    closure(p, nxt);
    unsigned char *t = cur; cur = nxt; nxt = t;
  }
  return cur[p->len];
}
