/* The Received: header (RFC 5321 4.4), with the protocol names of RFC 3848
 * (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531 (UTF8SMTP...). Every value in it was
 * validated before: HELO by cmd.c, the recipient by mail.c, the IP here. */
#include <string.h>
#include <time.h>

#include "smtpd.h"

struct out { char *p; size_t len, n; int over; };

static void put(struct out *o, char const *s)
{
  size_t k = strlen(s);
  if (o->over || o->n + k >= o->len) { o->over = 1; return; }
  memcpy(o->p + o->n, s, k);
  o->n += k;
}

static void put2(struct out *o, unsigned v)
{
  char b[3] = { (char)('0' + v / 10 % 10), (char)('0' + v % 10), 0 };
  put(o, b);
}

/* An IP or host name from the environment, only if it looks like one. */
static char const *clean(char const *x, int host)
{
  char const *p;
  if (!x || !*x || strlen(x) > 255) return 0;
  for (p = x; *p; p++) {
    char c = *p;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':') continue;
    if (host && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')) continue;
    return 0;
  }
  return x;
}

int received(smtpd *s, char *buf, size_t len)
{
  static char const *const day[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
  static char const *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  struct out o = { buf, len, 0, 0 };
  char const *ip = clean(s->remoteip, 0), *host = clean(s->remotehost, 1);
  struct tm tm;
  time_t now = time(0);
  char year[8];
  int y;
  gmtime_r(&now, &tm);
  put(&o, "Received: from ");
  put(&o, s->helo[0] ? s->helo : "unknown");
  put(&o, " (");
  if (host) { put(&o, host); put(&o, " "); }
  put(&o, "[");
  if (ip && strchr(ip, ':') && strncmp(ip, "::ffff:", 7)) put(&o, "IPv6:");
  put(&o, ip ? ip : "unknown");
  put(&o, "])\n\tby ");
  put(&o, s->me);
  put(&o, " (pochta) with ");
  put(&o, s->utf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP");
  if (s->tls) put(&o, "S");
  if (s->user.len) put(&o, "A");
  put(&o, " id ");
  put(&o, s->sid);
  if (s->nrcpt == 1) { put(&o, "\n\tfor <"); put(&o, s->rcpt1); put(&o, ">; "); }
  else put(&o, ";\n\t");
  put(&o, day[tm.tm_wday % 7]);
  put(&o, ", ");
  put2(&o, (unsigned)tm.tm_mday);
  put(&o, " ");
  put(&o, mon[tm.tm_mon % 12]);
  put(&o, " ");
  y = tm.tm_year + 1900;
  year[0] = (char)('0' + y / 1000 % 10); year[1] = (char)('0' + y / 100 % 10);
  year[2] = (char)('0' + y / 10 % 10); year[3] = (char)('0' + y % 10); year[4] = 0;
  put(&o, year);
  put(&o, " ");
  put2(&o, (unsigned)tm.tm_hour); put(&o, ":");
  put2(&o, (unsigned)tm.tm_min); put(&o, ":");
  put2(&o, (unsigned)tm.tm_sec);
  put(&o, " +0000\n");
  return o.over ? 0 : (int)o.n;
}
