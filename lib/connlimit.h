/* connlimit: how many sessions of one service run at once, in all and from one
 * client address, so that a full server answers at once ("421 4.7.0", "* BYE",
 * "-ERR") instead of leaving clients in tcpserver's listen backlog, and so that
 * one host cannot take every slot.
 *
 * No daemon: a session holds one byte-range lock (an open file description
 * lock, fcntl F_OFD_SETLK) on the service's lock file for the total, and one in
 * its source's range for the per-source count. The kernel drops a lock when the
 * last descriptor of its open file description closes, so a session that ends
 * in any way, kill -9 included, frees its slots; there is nothing to clean up.
 *
 * Configuration (pochta-config(5)): the file connlimits, lines
 * "service total per-source" (0: no limit), and rundir, the directory of
 * the lock files <rundir>/<service>.lock (default /run/pochta; made mode
 * 0600 by the first session, so the directory must let the service's account
 * create it, or the file must exist and be its own). A source is an IPv4
 * address or an IPv6 /64. Services: "smtp", "submission", "pop3", "imap".
 *
 * Use, in a daemon before its greeting:
 *
 *   connlimit cl;
 *   char const *why;
 *   int r = connlimit_enter(&cl, "imap", getenv("TCPREMOTEIP"), 0, &why);
 *   if (why) log it (a warning with r == CONNLIMIT_OK: no limit is enforced);
 *   r == CONNLIMIT_FULL or CONNLIMIT_SOURCE_FULL: answer "too many
 *     connections" (a temporary refusal), end the session;
 *   r == CONNLIMIT_FAULT: the configuration is broken: answer a temporary
 *     failure, end the session;
 *   r == CONNLIMIT_OK: serve; the slot is held while the process lives.
 *
 * A process that forks keeps the slot in every process holding the
 * descriptor (it is close-on-exec); one that must keep it across an exec
 * (the pre-login process that becomes pochta-wait) calls
 * connlimit_keep_on_exec right before the exec. */
#ifndef POCHTA_CONNLIMIT_H
#define POCHTA_CONNLIMIT_H

#include <stddef.h>

#define CONNLIMIT_OK 0
#define CONNLIMIT_FULL 1           /* every slot of the service is taken */
#define CONNLIMIT_SOURCE_FULL 2    /* this source has all it may have */
#define CONNLIMIT_FAULT (-1)       /* connlimits or rundir cannot be read or parsed */

#define CONNLIMIT_NOSOURCE 1       /* flag: this client is exempt from the per-source limit */

#define CONNLIMIT_RUNDIR_DEFAULT "/run/pochta"   /* without a rundir setting */

#define CONNLIMIT_TOTAL_MAX 1000000U
#define CONNLIMIT_SOURCE_MAX 1000U

typedef struct connlimit_s connlimit;
struct connlimit_s {
  int fd;                          /* the lock file while slots are held, else -1 */
  unsigned total, persource;       /* the limits in force (0: none) */
};

/* Take the slots of one session of service for the client at ip (as
 * TCPREMOTEIP gives it; NULL or not an address: the total alone counts).
 * *why is NULL, or a static reason for the log (with CONNLIMIT_OK: a warning
 * that no limit is enforced, such as an unusable lock directory). */
int connlimit_enter(connlimit *, char const *service, char const *ip, unsigned flags, char const **why);

/* Give the slots back now (they go anyway when the process ends). */
void connlimit_leave(connlimit *);

/* Keep the slots across the next exec. 0 ok (or nothing held), -1 error. */
int connlimit_keep_on_exec(connlimit *);

/* The limits for service as configured (or by default): 0 ok, -1 fault. */
int connlimit_config(char const *service, unsigned *total, unsigned *persource, char const **why);

/* The same from the text of a connlimits file (len octets, not NUL-terminated):
 * *total and *persource are changed only by a line for service. */
int connlimit_parse(char const *s, size_t len, char const *service, unsigned *total, unsigned *persource,
                    char const **why);

#endif
