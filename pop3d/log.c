#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char const *g_user;

void log_set_user(char const *user) { g_user = user; }

/* Append s to buf (at most room), quoted when it needs to be; never more
 * than one line whatever the client sent. */
static size_t add_value(char *buf, size_t room, char const *s)
{
  size_t w = 0;
  int quote = !*s;
  for (char const *p = s; *p; p++)
    if (*p == ' ' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) quote = 1;
  if (quote && w < room) buf[w++] = '"';
  for (char const *p = s; *p && w + 5 < room; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') { buf[w++] = '\\'; buf[w++] = (char)c; }
    else if (c < 0x20 || c == 0x7f) {
      static char const hex[] = "0123456789abcdef";
      buf[w++] = '\\'; buf[w++] = 'x'; buf[w++] = hex[c >> 4]; buf[w++] = hex[c & 15];
    } else buf[w++] = (char)c;
  }
  if (quote && w < room) buf[w++] = '"';
  return w;
}

static size_t add_raw(char *buf, size_t room, char const *s)
{
  size_t l = strlen(s);
  if (l > room) l = room;
  memcpy(buf, s, l);
  return l;
}

static void log_v(char const *event, va_list ap)
{
  char buf[2048];
  size_t w = 0, room = sizeof buf - 1;
  char const *ip = getenv("TCPREMOTEIP");
#define ADD(s) (w += add_raw(buf + w, room - w, (s)))
  ADD("pochta-pop3d: event=");
  w += add_value(buf + w, room - w, event);
  if (g_user) { ADD(" user="); w += add_value(buf + w, room - w, g_user); }
  if (ip) { ADD(" ip="); w += add_value(buf + w, room - w, ip); }
  for (;;) {
    char const *k = va_arg(ap, char const *);
    if (!k) break;
    char const *v = va_arg(ap, char const *);
    ADD(" "); ADD(k); ADD("=");
    w += add_value(buf + w, room - w, v ? v : "");
  }
#undef ADD
  buf[w++] = '\n';
  (void)!write(2, buf, w);
}

void log_event(char const *event, ...)
{
  va_list ap;
  va_start(ap, event);
  log_v(event, ap);
  va_end(ap);
}

void log_event_exit(char const *event)
{
  log_event(event, (char const *)0);
  _exit(0);
}
