/* Failed-login accounting shared by every pochta-checkpassword process without a
 * daemon: one table file of fixed size, locked only while a record is read or
 * written (never while a password is hashed). Two counters per login: one per
 * (remote address, account), which bans that account from that address, and one
 * per remote address with a higher limit, which bans the address; addresses of
 * trusted proxies (webmail) have only the first. IPv6 addresses count per /64.
 * See pochta-checkpassword(8) for the settings and the file. */
#ifndef POCHTA_AUTHFAIL_H
#define POCHTA_AUTHFAIL_H

#include <stdint.h>
#include <time.h>
#include <skalibs/stralloc.h>

#define AUTHFAIL_SLOTS 8192    /* records in the table: the file is 256 KiB */
#define AUTHFAIL_PROBE 8       /* slots looked at per key */

typedef struct authfail_s authfail;
struct authfail_s {
  unsigned long max, ipmax, window, ban, delay, maxdelay;   /* the figures */
  stralloc dir;            /* where the table lives */
  stralloc trusted;        /* "addr/len\n" lines: proxies */
  char ip[64];             /* the address as logged; "" without one */
  unsigned char kaddr[16], kuser[16];  /* the two keys; kaddr unused for a proxy */
  int peraddr;             /* 1 unless the address is a trusted proxy */
  int on;                  /* accounting is configured (max > 0 and an address) */
  unsigned long failures;  /* the (address, account) count after authfail_fail */
};

/* Read $POCHTA_CONF/authfail, make the keys from ip (TCPREMOTEIP; NULL or empty:
 * no accounting) and user (as given by the client). 1 ok, 0 the configuration is
 * unreadable or wrong (message on stderr). */
int authfail_init(authfail *a, char const *ip, char const *user);

/* 1 banned now (per account or per address), 0 not, -1 the table cannot be used
 * (message on stderr): the caller must then refuse for now, whatever the password,
 * or the difference would tell the password without any limit. */
int authfail_check(authfail *a, time_t now);

/* Count a failure at now, ban what reached its limit. Returns the seconds to wait
 * before answering (growing with the failures), or -1 if the table could not be
 * written (message on stderr). */
long authfail_fail(authfail *a, time_t now);

/* A successful login: the (address, account) count starts again. */
void authfail_success(authfail *a, time_t now);

#endif
