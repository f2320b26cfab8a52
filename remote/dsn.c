/* The DSN: multipart/report; report-type=delivery-status (RFC 3462/6522),
 * with a human-readable part, message/delivery-status (RFC 3464) and the
 * failed message's headers as text/rfc822-headers. */
#include <stdio.h>
#include <string.h>
#include "dsn.h"

static int cats(stralloc *o, char const *s) { return stralloc_catb(o, s, strlen(s)); }

/* Copy s, turning CR, LF and other controls into '?': whatever came from
 * the network must not start a header of its own here. */
static int cat_clean(stralloc *o, char const *s)
{
  for (; *s; s++) {
    char c = ((unsigned char)*s < 32 && *s != '\t') || *s == 127 ? '?' : *s;
    if (!stralloc_catb(o, &c, 1)) return 0;
  }
  return 1;
}

/* RFC 3464 2.3.5: the name of the remote MTA: host of "host[ip]", or the
 * literal "[ip]" when there is no name. */
static int mta_name(stralloc *o, char const *mta)
{
  char const *b = mta[0] == '[' ? strchr(mta, ']') : strchr(mta, '[');
  size_t n = !b ? strlen(mta) : mta[0] == '[' ? (size_t)(b - mta) + 1 : (size_t)(b - mta);
  return stralloc_catb(o, mta, n);
}

static int date(stralloc *o, time_t t)
{
  char b[64];
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return cats(o, "Thu, 1 Jan 1970 00:00:00 +0000");
  strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return cats(o, b);
}

static int isdig(char c) { return c >= '0' && c <= '9'; }

/* "c.d.d" at s (1 to 3 digits each part): its length, or 0 */
static size_t statuslen(char const *s)
{
  size_t i = 0, k;
  if (s[0] != '2' && s[0] != '4' && s[0] != '5') return 0;
  if (s[1] != '.') return 0;
  i = 2;
  for (k = 0; k < 3 && isdig(s[i]); k++) i++;
  if (!k || s[i] != '.') return 0;
  i++;
  for (k = 0; k < 3 && isdig(s[i]); k++) i++;
  if (!k || (s[i] && s[i] != ' ' && s[i] != '\t')) return 0;
  return i;
}

/* The diagnostic is an SMTP reply: "NNN " or "NNN-" or just "NNN" */
static int is_reply(char const *s)
{
  return isdig(s[0]) && isdig(s[1]) && isdig(s[2]) && (!s[3] || s[3] == ' ' || s[3] == '-');
}

void dsn_status(struct failure const *f, char *st, size_t len)
{
  char const *s = f->diag;
  size_t n;
  if (is_reply(s)) s += s[3] ? 4 : 3;
  n = statuslen(s);
  if (n && n < len) {
    memcpy(st, s, n);
    st[n] = 0;
  } else if (f->code == 'D' && is_reply(f->diag) && f->diag[0] == '5') {
    /* a bare 5xx reply without an enhanced code */
    snprintf(st, len, "5.0.0");
  } else snprintf(st, len, f->code == 'D' ? "5.0.0" : "4.4.7");
  if (len) st[0] = f->code == 'D' ? '5' : '4';
}

size_t dsn_headerlen(char const *msg, size_t len)
{
  size_t i = 0;
  while (i < len) {
    char const *nl = memchr(msg + i, '\n', len - i);
    size_t ll;
    if (!nl) return len;
    ll = (size_t)(nl - (msg + i));
    if (!ll || (ll == 1 && msg[i] == '\r')) return (size_t)(nl - msg) + 1;
    i += ll + 1;
  }
  return len;
}

static int nonascii(char const *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) if ((unsigned char)s[i] >= 128) return 1;
  return 0;
}

/* Headers as they were, with CRLF made LF and a final LF ensured */
static int cat_headers(stralloc *o, char const *h, size_t n)
{
  size_t i;
  while (n && (h[n - 1] == '\n' || h[n - 1] == '\r')) n--;
  for (i = 0; i < n; i++) {
    if (h[i] == '\r' && i + 1 < n && h[i + 1] == '\n') continue;
    if (!h[i]) { if (!stralloc_catb(o, "?", 1)) return 0; continue; }
    if (!stralloc_catb(o, h + i, 1)) return 0;
  }
  return stralloc_catb(o, "\n", 1);
}

int dsn_build(stralloc *o, struct dsn const *d)
{
  size_t i;
  int anyz = 0, utf8 = 0;
  char st[16];
  for (i = 0; i < d->nf; i++) {
    if (d->f[i].code == 'Z') anyz = 1;
    if (nonascii(d->f[i].rcpt, strlen(d->f[i].rcpt)) || nonascii(d->f[i].diag, strlen(d->f[i].diag))) utf8 = 1;
  }
  if (!cats(o, "From: Mail Delivery System <MAILER-DAEMON@") || !cat_clean(o, d->me) || !cats(o, ">\n")
   || !cats(o, "To: <") || !cat_clean(o, d->to) || !cats(o, ">\n")
   || !cats(o, d->forpostmaster ? "Subject: Postmaster notify: undeliverable delivery report\n"
                                : "Subject: Undelivered Mail Returned to Sender\n")
   || !cats(o, "Date: ") || !date(o, d->now) || !cats(o, "\n")
   || !cats(o, "Message-ID: <") || !cat_clean(o, d->msgid) || !cats(o, ">\n")
   || !cats(o, "Auto-Submitted: auto-replied\n")
   || !cats(o, "MIME-Version: 1.0\n")
   || !cats(o, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"")
   || !cats(o, d->boundary) || !cats(o, "\"\n\nThis is a MIME-encapsulated message.\n\n"))
    return 0;

  /* 1: for people */
  if (!cats(o, "--") || !cats(o, d->boundary) || !cats(o, "\nContent-Description: Notification\n")
   || !cats(o, utf8 ? "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                    : "Content-Type: text/plain; charset=us-ascii\n\n")
   || !cats(o, "This is the mail system at host ") || !cat_clean(o, d->me) || !cats(o, ".\n\n"))
    return 0;
  if (d->forpostmaster) {
    if (!cats(o, "A delivery report (bounce) could not be delivered to its recipient.\n"
                 "It is not sent back again, to avoid a loop; this copy is for the postmaster.\n\n"))
      return 0;
  } else if (!cats(o, "I'm sorry to have to inform you that your message could not\n"
                      "be delivered to one or more recipients.\n\n"))
    return 0;
  if (anyz && !cats(o, "Some recipients could not be reached before the message's time in\n"
                       "the queue ran out; the last error is shown.\n\n"))
    return 0;
  for (i = 0; i < d->nf; i++) {
    if (!cats(o, "<") || !cat_clean(o, d->f[i].rcpt) || !cats(o, ">: ")) return 0;
    if (d->f[i].mta && (!cats(o, "host ") || !cat_clean(o, d->f[i].mta) || !cats(o, " said: "))) return 0;
    if (!cat_clean(o, d->f[i].diag) || !cats(o, "\n")) return 0;
  }
  if (!cats(o, "\n")) return 0;

  /* 2: for programs (RFC 3464) */
  if (!cats(o, "--") || !cats(o, d->boundary) || !cats(o, "\nContent-Description: Delivery report\n")
   || !cats(o, utf8 ? "Content-Type: message/global-delivery-status\n\n" : "Content-Type: message/delivery-status\n\n")
   || !cats(o, "Reporting-MTA: dns; ") || !cat_clean(o, d->me) || !cats(o, "\n")
   || !cats(o, "Arrival-Date: ") || !date(o, d->arrival) || !cats(o, "\n"))
    return 0;
  for (i = 0; i < d->nf; i++) {
    struct failure const *f = &d->f[i];
    dsn_status(f, st, sizeof st);
    if (!cats(o, "\nFinal-Recipient: ")
     || !cats(o, nonascii(f->rcpt, strlen(f->rcpt)) ? "utf-8; " : "rfc822; ")
     || !cat_clean(o, f->rcpt) || !cats(o, "\nAction: failed\nStatus: ") || !cats(o, st) || !cats(o, "\n"))
      return 0;
    if (f->mta && (!cats(o, "Remote-MTA: dns; ") || !mta_name(o, f->mta) || !cats(o, "\n"))) return 0;
    if (is_reply(f->diag)) {
      if (!cats(o, "Diagnostic-Code: smtp; ") || !cat_clean(o, f->diag) || !cats(o, "\n")) return 0;
    } else if (!cats(o, "Diagnostic-Code: x-pochta; ") || !cat_clean(o, f->diag) || !cats(o, "\n")) return 0;
  }
  if (!cats(o, "\n")) return 0;

  /* 3: what the message was */
  if (!cats(o, "--") || !cats(o, d->boundary) || !cats(o, "\nContent-Description: Undelivered Message Headers\n")
   || !cats(o, nonascii(d->headers, d->hlen) ? "Content-Type: text/rfc822-headers; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                                             : "Content-Type: text/rfc822-headers\n\n")
   || !cat_headers(o, d->headers, d->hlen)
   || !cats(o, "\n--") || !cats(o, d->boundary) || !cats(o, "--\n"))
    return 0;
  return 1;
}
