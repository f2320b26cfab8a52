/* Failed-login accounting per remote address, shared by every pochta-checkpassword
 * process through one small file per address (no daemon). See
 * pochta-checkpassword(8) for the file format and the figures. */
#ifndef POCHTA_AUTHFAIL_H
#define POCHTA_AUTHFAIL_H

#include <time.h>
#include <skalibs/stralloc.h>

#define AUTHFAIL_MAXKEEP 1000   /* failures remembered per address, at most */

typedef struct authfail_s authfail;
struct authfail_s {
  unsigned long max, window, ban, delay, maxdelay;   /* the figures */
  stralloc dir;         /* where the records live */
  char key[64];         /* file name for this address; empty: no accounting */
  char ip[64];          /* the address as logged */
  int fd;               /* the locked record, or -1 */
  time_t until;         /* ban end, 0 if none */
  size_t n;             /* failures in the window */
  time_t t[AUTHFAIL_MAXKEEP];
};

/* Read $POCHTA_CONF/authfail and make the record's name from ip (TCPREMOTEIP, may
 * be NULL: no accounting). IPv6 addresses count per /64. Returns 1, or 0 when the
 * configuration is unreadable (message on stderr). */
int authfail_init(authfail *a, char const *ip);

/* Open and lock the record (exclusive: attempts from one address run one at a
 * time, so the count is exact), read it, drop failures older than the window.
 * Returns 1 if the address is banned now, 0 if not. On trouble with the record
 * directory it warns and goes on without accounting (the password is still
 * checked). */
int authfail_check(authfail *a, time_t now);

/* Record a failure at now; ban the address if it reached max. Unlocks. Returns the
 * seconds the caller should wait before answering. */
unsigned long authfail_fail(authfail *a, time_t now);

/* Unlock without recording. */
void authfail_done(authfail *a);

#endif
