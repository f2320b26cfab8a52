/* Log lines, built in one buffer and written with one write(2), so that
 * lines from parallel deliveries do not interleave. */
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include "log.h"

static char line[2048];
static size_t len;

static void add(char const *s, size_t n)
{
  if (n > sizeof line - 2 - len) n = sizeof line - 2 - len;
  memcpy(line + len, s, n);
  len += n;
}

void log_start(char const *event)
{
  len = 0;
  add("pochta-remote: event=", 21);
  add(event, strlen(event));
}

void log_kv(char const *key, char const *val)
{
  size_t i, n = strlen(val);
  int quote = !n;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)val[i];
    if (c <= ' ' || c == '"' || c == '\\' || c == 127) quote = 1;
  }
  add(" ", 1);
  add(key, strlen(key));
  add("=", 1);
  if (!quote) { add(val, n); return; }
  add("\"", 1);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)val[i];
    if (c == '"' || c == '\\') { add("\\", 1); add((char *)&c, 1); }
    else if (c < ' ' || c == 127) add("?", 1);
    else add((char *)&c, 1);
  }
  add("\"", 1);
}

void log_kvu(char const *key, unsigned long val)
{
  char b[32];
  snprintf(b, sizeof b, "%lu", val);
  log_kv(key, b);
}

void log_end(void)
{
  size_t off = 0;
  line[len++] = '\n';
  while (off < len) {
    ssize_t w = write(2, line + off, len - off);
    if (w <= 0) break;  /* nowhere to report a failing log */
    off += (size_t)w;
  }
  len = 0;
}
