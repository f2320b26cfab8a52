/* Address families: which ones pochta-remote may use (remotefamily), and
 * what it remembers about one that failed to connect, so that later messages
 * skip it instead of waiting the connect timeout on every host (a host with
 * broken IPv6 is the common case). The memory is the small file
 * <rundir>/remote-family, shared by every pochta-remote of the instance: one
 * line "ipv4 UNTIL" or "ipv6 UNTIL" (Unix seconds) per family to skip. It is
 * advice: lost, unreadable or garbled, it is as if empty. */
#ifndef REMOTE_FAMILY_H
#define REMOTE_FAMILY_H

#include <stddef.h>
#include <time.h>

#define FAM_V4 0
#define FAM_V6 1

/* How a connect failed: not at all, in a way that may be the peer's
 * (timeout, host unreachable), or in a way that is ours (no route for the
 * family, the source address missing). */
enum fam_fail { FAIL_NONE, FAIL_PEER, FAIL_LOCAL };

struct families {
  time_t until[2];          /* skip the family until then (0: use it) */
  int changed;
  /* this run */
  int connected[2];         /* a connection over the family was made */
  enum fam_fail failed[2];  /* the worst connect failure seen over it */
};

/* The family's index for an AF_INET/AF_INET6 address family. */
int fam_index(int af);

/* Read <dir>/remote-family. */
void fam_load(struct families *f, char const *dir, time_t now);

/* Skip addresses of family i now? */
int fam_skip(struct families const *f, int i, time_t now);

/* Classify a connect failure (its errno; ETIMEDOUT for our own timeout). */
enum fam_fail fam_classify(int err);

/* After the run: remember a family that failed locally, or that failed
 * while the other one connected, for hold seconds; forget one that
 * connected. Then write the file if anything changed. 1 written or nothing
 * to write, 0 failed (errno). *what says what was decided, for the log. */
int fam_settle(struct families *f, char const *dir, time_t now, unsigned hold, char *what, size_t whatlen);

#endif
