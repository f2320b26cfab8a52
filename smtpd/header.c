/* What pochta-smtpd reads of a message's header as it streams by (LF line
 * ends, as it goes to the queue): the Received fields, counted against mail
 * loops, and, on submission by an authenticated user, the From: and Sender:
 * fields, whose addresses must be the user's own (RFC 6409 8.1 lets a
 * submission server refuse what the user may not send as; the envelope
 * sender is checked at MAIL). A field folded over several lines is one
 * field; only line starts begin one. */
#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include "rfc822addr.h"
#include "smtpd.h"

enum { H_NAME, H_VALUE, H_SKIP };

void head_start(smtpd *s)
{
  s->inhead = s->hbol = 1;
  s->hstate = H_NAME;
  s->hnlen = 0;
  s->hops = 0;
  s->hdr.len = 0;
  s->hbig = 0;
  s->hcollect = s->submission && s->user.len;
}

static void hput(smtpd *s, char const *p, size_t n)
{
  if (s->hbig) return;
  if (s->hdr.len + n > HDR_MAX || !stralloc_catb(&s->hdr, p, n)) s->hbig = 1;
}

/* The field's name is complete (at its colon): what to do with its value. */
static void named(smtpd *s)
{
  size_t n = s->hnlen;
  while (n && (s->hname[n - 1] == ' ' || s->hname[n - 1] == '\t')) n--;   /* obs: "From :" */
  s->hstate = H_SKIP;
  if (n == 8 && !strncasecmp(s->hname, "received", 8)) {
    if (++s->hops > HOPS_MAX) s->bflags |= B_HOPS;
  } else if (s->hcollect && ((n == 4 && !strncasecmp(s->hname, "from", 4)) || (n == 6 && !strncasecmp(s->hname, "sender", 6)))) {
    hput(s, s->hname[0] == 'f' || s->hname[0] == 'F' ? "F" : "S", 1);
    s->hstate = H_VALUE;
  }
}

void head_scan(smtpd *s, char const *p, size_t n)
{
  for (size_t i = 0; i < n && s->inhead; i++) {
    char c = p[i];
    if (s->hbol) {
      s->hbol = 0;
      if (c == ' ' || c == '\t') {   /* a continuation line: the same field */
        if (s->hstate == H_VALUE) hput(s, " ", 1);
        continue;
      }
      if (s->hstate == H_VALUE) hput(s, "", 1);   /* the field before ended */
      if (c == '\n') { s->inhead = 0; break; }   /* the empty line: the body begins */
      s->hstate = H_NAME;
      s->hnlen = 0;
    }
    if (c == '\n') { s->hbol = 1; continue; }
    switch (s->hstate) {
    case H_NAME:
      if (c == ':') named(s);
      else if (s->hnlen < sizeof s->hname) s->hname[s->hnlen++] = c;
      else s->hstate = H_SKIP;   /* longer than any name we look for */
      break;
    case H_VALUE:
      hput(s, &c, 1);
      break;
    default:
      break;
    }
  }
}

/* The header ended without its empty line (a message that is header only). */
static void head_end(smtpd *s)
{
  if (s->inhead && s->hstate == H_VALUE) hput(s, "", 1);
  s->inhead = 0;
}

char const *head_owned(smtpd *s)
{
  stralloc a = STRALLOC_ZERO, c = STRALLOC_ZERO;
  char const *why = 0;
  size_t i = 0;
  head_end(s);
  if (!s->hcollect) return 0;
  if (s->hbig) return "553 5.7.1 Error: From: or Sender: too long to check";
  while (i < s->hdr.len && !why) {
    char const *f = s->hdr.s + i;
    size_t len = strlen(f), k = 0;
    int from = f[0] == 'F', n;
    i += len + 1;
    a.len = 0;
    n = rfc822_addrs(f + 1, len - 1, &a);
    if (n < 0) { why = "451 4.3.0 Error: out of memory"; break; }
    if (!n) {
      why = from ? "553 5.7.1 Error: the From: field holds no address" : "553 5.7.1 Error: the Sender: field holds no address";
      slog(s, "reject", "field", from ? "From" : "Sender", "reason", "no address", (char *)0);
    }
    while (!why && k < a.len) {
      char const *addr = a.s + k;
      size_t al = strlen(addr);
      int r;
      c.len = 0;   /* users_canon appends */
      r = users_canon(&c, addr, al) ? users_owns(&s->u, s->user.s, c.s) : 0;
      k += al + 1;
      if (r < 0) { why = "451 4.3.0 Error: temporary lookup failure"; break; }
      if (r) continue;
      why = from ? "553 5.7.1 Error: From: address not owned by the authenticated user"
                 : "553 5.7.1 Error: Sender: address not owned by the authenticated user";
      slog(s, "reject", "field", from ? "From" : "Sender", "address", addr, "user", s->user.s, (char *)0);
    }
  }
  stralloc_free(&a);
  stralloc_free(&c);
  return why;
}
