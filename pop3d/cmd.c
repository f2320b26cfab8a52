#include <string.h>
#include <strings.h>

#include "cmd.h"

/* The command table: adding a command is adding a row. */
static struct { char const *name; enum pop3_verb verb; } const table[] = {
  { "USER", V_USER }, { "PASS", V_PASS }, { "APOP", V_APOP }, { "AUTH", V_AUTH },
  { "STLS", V_STLS }, { "CAPA", V_CAPA }, { "QUIT", V_QUIT }, { "STAT", V_STAT },
  { "LIST", V_LIST }, { "RETR", V_RETR }, { "DELE", V_DELE }, { "NOOP", V_NOOP },
  { "RSET", V_RSET }, { "TOP", V_TOP }, { "UIDL", V_UIDL },
};

char const *cmd_name(enum pop3_verb v)
{
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (table[i].verb == v) return table[i].name;
  return "unknown";
}

int cmd_parse(char const *line, size_t len, pop3_cmd *c)
{
  size_t i = 0, vlen;
  memset(c, 0, sizeof *c);
  /* NUL, CR or any control character has no place in a command (a bare CR
   * may be an attempt to smuggle a second command past a proxy). TAB too:
   * RFC 1939 separates arguments with one space. */
  for (size_t k = 0; k < len; k++) {
    unsigned char ch = (unsigned char)line[k];
    if (ch < 0x20 || ch == 0x7f) return 0;
  }
  while (i < len && line[i] != ' ') i++;
  vlen = i;
  c->verb = V_UNKNOWN;
  if (vlen >= 3 && vlen <= 4)
    for (size_t t = 0; t < sizeof table / sizeof *table; t++)
      if (strlen(table[t].name) == vlen && !strncasecmp(table[t].name, line, vlen)) { c->verb = table[t].verb; break; }
  if (i < len) { c->rest = line + i + 1; c->restlen = len - i - 1; }
  else { c->rest = line + len; c->restlen = 0; }
  /* Arguments: separated by single spaces; an empty argument (two spaces, or
   * a trailing space) is malformed for the commands that take numbers. */
  while (i < len) {
    size_t start = ++i;
    while (i < len && line[i] != ' ') i++;
    if (c->argc < 2) { c->arg[c->argc] = line + start; c->arglen[c->argc] = i - start; }
    c->argc++;
    if (c->argc > 2) { c->argc = 3; break; }
  }
  return 1;
}

int cmd_msgnum(char const *s, size_t len, unsigned long max, unsigned long *n)
{
  unsigned long v = 0;
  if (!len || len > 20) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    if (v > max) return 0;   /* checked before the multiply: no overflow */
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v < 1 || v > max || max > ~0UL / 16) return 0;
  *n = v;
  return 1;
}

int cmd_count(char const *s, size_t len, unsigned long long *n)
{
  unsigned long long v = 0;
  int big = 0;
  if (!len) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    if (v > (~0ULL - 9) / 10) big = 1;
    else v = v * 10 + (unsigned long long)(s[i] - '0');
  }
  *n = big ? ~0ULL : v;
  return 1;
}

int plain_split(char *msg, size_t len, char const **user, char const **pass)
{
  char *a = memchr(msg, 0, len);
  if (!a) return 0;
  char *b = memchr(a + 1, 0, len - (size_t)(a + 1 - msg));
  if (!b) return 0;
  if (memchr(b + 1, 0, len - (size_t)(b + 1 - msg))) return 0;
  msg[len] = 0;
  size_t zlen = (size_t)(a - msg), ulen = (size_t)(b - a - 1);
  if (!ulen || b + 1 == msg + len) return 0;   /* empty user or password */
  /* We log in as authcid only; acting for someone else is not offered. */
  if (zlen && (zlen != ulen || memcmp(msg, a + 1, ulen))) return 0;
  *user = a + 1;
  *pass = b + 1;
  return 1;
}
