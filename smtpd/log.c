/* One line per event on stderr: "pochta-smtpd: event=X sid=Y key=value ...".
 * Values are quoted when they hold a space and escaped (\xHH) when they hold
 * anything but printable ASCII, so a client cannot forge log lines. */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"

struct lb { char b[2048]; size_t n; };

static void add(struct lb *l, char const *s, size_t k)
{
  if (l->n + k > sizeof l->b - 2) k = sizeof l->b - 2 - l->n;
  memcpy(l->b + l->n, s, k);
  l->n += k;
}

static void value(struct lb *l, char const *v)
{
  static char const hex[] = "0123456789abcdef";
  int q = !*v || strchr(v, ' ') != 0;
  if (q) add(l, "\"", 1);
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    if (c < 32 || c >= 127 || c == '"' || c == '\\') {
      char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
      add(l, e, 4);
    } else add(l, v, 1);
  }
  if (q) add(l, "\"", 1);
}

void slog(smtpd *s, char const *event, ...)
{
  struct lb l;
  va_list ap;
  char const *k;
  l.n = 0;
  add(&l, "pochta-smtpd: event=", 20);
  add(&l, event, strlen(event));
  add(&l, " sid=", 5);
  add(&l, s->sid, strlen(s->sid));
  va_start(ap, event);
  while ((k = va_arg(ap, char const *))) {
    char const *v = va_arg(ap, char const *);
    add(&l, " ", 1);
    add(&l, k, strlen(k));
    add(&l, "=", 1);
    value(&l, v ? v : "");
  }
  va_end(ap);
  l.b[l.n++] = '\n';
#ifndef POCHTA_FUZZ
  if (write(2, l.b, l.n) < 0) { /* nowhere to say it */ }
#endif
}
