/* spam/clamd.c — what clamd answers to INSTREAM (clamd(8), "zINSTREAM"):
 * "stream: OK", "stream: <signature> FOUND", or "<reason> ERROR" (for example
 * "INSTREAM size limit exceeded. ERROR"). Anything else is an error too: the
 * message is never called clean because of an answer we do not understand. Names
 * and reasons are kept printable ASCII, for the SMTP reply and the log. */
#include <string.h>

#include "spam-int.h"

static void printable(char *out, size_t outlen, char const *s, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < outlen; i++) {
    unsigned char c = s[i];
    out[k++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : c;
  }
  out[k] = 0;
}

void spam_clamd_reply(spam_clamd *r, char const *s, size_t len)
{
  memset(r, 0, sizeof *r);
  r->status = CLAMD_ERROR;
  char const *nul = memchr(s, 0, len);
  if (nul) len = nul - s;
  while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) len--;
  if (!len) { printable(r->why, sizeof r->why, "clamd gave no answer", 20); return; }
  if (len >= 8 && !memcmp(s, "stream: ", 8)) {
    char const *v = s + 8;
    size_t n = len - 8;
    if (n == 2 && !memcmp(v, "OK", 2)) { r->status = CLAMD_CLEAN; return; }
    if (n > 6 && !memcmp(v + n - 6, " FOUND", 6)) {
      r->status = CLAMD_INFECTED;
      printable(r->name, sizeof r->name, v, n - 6);
      if (!r->name[0]) r->status = CLAMD_ERROR;
      else return;
    }
  }
  printable(r->why, sizeof r->why, s, len);
}
