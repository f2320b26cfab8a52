/* spam/helo.c — HELO/EHLO sanity: what real mail servers say (their own fully
 * qualified name, or an address literal of the address they connect from) against
 * what spam software often says (nothing, a bare address, a word without a dot,
 * localhost, our own name, an address literal of another address). */
#include <string.h>
#include <strings.h>

#include "spam-int.h"

static void hit(spam_conf const *c, spam_score *s, char const *name)
{
  spam_score_add(s, name, spam_builtin_weight(c, name));
}

static int loopback(spam_net const *n)
{
  static unsigned char const one[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
  return n->v6 ? !memcmp(n->ip, one, 16) : n->ip[0] == 127;
}

void spam_helo_run(spam_conf const *c, char const *helo, char const *ip, char const *me, spam_score *s)
{
  spam_net client, a;
  int known = ip && spam_ip_parse(&client, ip);
  size_t n = helo ? strlen(helo) : 0;
  if (!n) { hit(c, s, "HELO_MISSING"); return; }
  if (helo[0] == '[') {
    char lit[64];
    size_t k = helo[n - 1] == ']' ? n - 2 : 0;
    char const *in = helo + 1;
    if (k > 5 && !strncasecmp(in, "IPv6:", 5)) { in += 5; k -= 5; }
    if (!k || k >= sizeof lit) { hit(c, s, "HELO_BAD_CHARS"); return; }
    memcpy(lit, in, k);
    lit[k] = 0;
    if (!spam_ip_parse(&a, lit)) { hit(c, s, "HELO_BAD_CHARS"); return; }
    if (known && (a.v6 != client.v6 || memcmp(a.ip, client.ip, a.v6 ? 16 : 4))) hit(c, s, "HELO_LITERAL_MISMATCH");
    return;
  }
  if (spam_ip_parse(&a, helo)) { hit(c, s, "HELO_BARE_IP"); return; }
  for (size_t i = 0; i < n; i++) {
    char ch = helo[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_')) {
      hit(c, s, "HELO_BAD_CHARS");
      return;
    }
  }
  while (n && helo[n - 1] == '.') n--;
  int local = known && loopback(&client);
  if ((n == 9 && !strncasecmp(helo, "localhost", 9)) || (n == 21 && !strncasecmp(helo, "localhost.localdomain", 21))) {
    if (!local) hit(c, s, "HELO_LOCALHOST");
    return;
  }
  if (!memchr(helo, '.', n)) { hit(c, s, "HELO_NO_DOT"); return; }
  if (me && strlen(me) == n && !strncasecmp(helo, me, n) && !local) hit(c, s, "HELO_IS_ME");
}
