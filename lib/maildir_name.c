#include <string.h>

#include "maildir.h"

size_t maildir_uniqlen(char const *name)
{
  char const *c = strchr(name, ':');
  return c ? (size_t)(c - name) : strlen(name);
}

size_t maildir_baselen(char const *name)
{
  size_t i = 0;
  while (name[i] && name[i] != ':' && name[i] != ',') i++;
  return i;
}

char const *maildir_flags(char const *name)
{
  char const *c = strchr(name, ':');
  if (!c || c[1] != '2' || c[2] != ',') return "";
  return c + 3;
}

int maildir_hasflag(char const *name, char flag)
{
  return strchr(maildir_flags(name), flag) != 0 && flag != 0;
}

int maildir_nameval(char const *name, char key, uint64_t *v)
{
  size_t len = maildir_uniqlen(name);
  for (size_t i = 0; i + 3 <= len; i++) {
    if (name[i] != ',' || name[i+1] != key || name[i+2] != '=') continue;
    size_t j = i + 3;
    uint64_t x = 0;
    if (j >= len || name[j] < '0' || name[j] > '9') return 0;
    for (; j < len && name[j] >= '0' && name[j] <= '9'; j++) {
      if (x > (UINT64_MAX - 9) / 10) return 0;
      x = x * 10 + (uint64_t)(name[j] - '0');
    }
    if (j < len && name[j] != ',') return 0;
    *v = x;
    return 1;
  }
  return 0;
}
