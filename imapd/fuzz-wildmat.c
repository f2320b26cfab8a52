/* libFuzzer target for the LIST wildcard matcher (wildmat.c): the input is a
 * pattern, a NUL and a name. Short ones are also matched by the plain
 * backtracking definition, and the two must agree; long ones must simply
 * finish (the matcher's work is bounded by pattern x name). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildmat.h"

/* '*' anything, '%' anything but '.', else the octet itself (INBOX aside) */
static int ref(char const *p, char const *s)
{
  for (; *p; p++, s++) {
    if (*p == '*' || *p == '%') {
      for (char const *t = s; ; t++) {
        if (ref(p + 1, t)) return 1;
        if (!*t || (*p == '%' && *t == '.')) return 0;
      }
    }
    if (*p != *s) return 0;
  }
  return !*s;
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  uint8_t const *nul = memchr(data, 0, size);
  if (!nul) return 0;
  size_t pl = (size_t)(nul - data), nl = size - pl - 1;
  char *name = malloc(nl + 1), *pat = malloc(pl + 1);
  if (!name || !pat) { free(name); free(pat); return 0; }
  memcpy(pat, data, pl); pat[pl] = 0;
  memcpy(name, nul + 1, nl); name[nl] = 0;
  static pattern c;
  pat_compile(&c, "", 0, pat, strlen(pat));
  int m = pat_match(&c, name);
  /* (names with a NUL inside, and INBOX's case rule, are not the reference's) */
  if (strlen(name) == nl && strlen(pat) == pl && pl <= 12 && nl <= 16 && strcmp(name, "INBOX")) {
    if (m != ref(pat, name)) abort();
  }
  free(name); free(pat);
  return 0;
}
