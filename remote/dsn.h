/* Building one RFC 3464 delivery status notification (a bounce). */
#ifndef REMOTE_DSN_H
#define REMOTE_DSN_H

#include <stddef.h>
#include <time.h>
#include <skalibs/stralloc.h>

struct failure {
  char const *rcpt;
  char code;              /* 'D' permanent, 'Z' the queue lifetime expired */
  char const *diag;       /* the remote reply or the reason */
  char const *mta;        /* the host that answered, host[ip] or [ip]; NULL none */
};

struct dsn {
  char const *me;         /* Reporting-MTA, From: MAILER-DAEMON@me */
  char const *to;         /* who gets the report */
  int forpostmaster;      /* the report is about a bounce that failed */
  struct failure const *f;
  size_t nf;
  char const *headers;    /* the failed message's header section */
  size_t hlen;
  time_t arrival, now;
  char const *msgid;      /* without <> */
  char const *boundary;
};

/* Append the whole message (LF line ends, as the queue stores it) to out. 1 ok, 0 no memory. */
int dsn_build(stralloc *out, struct dsn const *d);

/* The RFC 3463 status for a failure: "x.y.z" from the diagnostic when it
 * has one (class forced to 5 for D and 4 for Z), else 5.0.0 / 4.4.7. */
void dsn_status(struct failure const *f, char *st, size_t len);

/* Length of the header section at the start of msg (up to and including
 * the empty line, or all of msg when there is none). */
size_t dsn_headerlen(char const *msg, size_t len);

#endif
