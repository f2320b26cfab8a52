/* Accounts: looking up a user in /etc/passwd and its groups in /etc/group (files
 * only: the programs are static, without NSS), and becoming it. Used by every
 * program that starts as root and must run its parts as other users: pochta-tlsd
 * (engine and daemon), pochta-send (runner and delivery worker),
 * pochta-checkpassword, pochta-queue and pochta-queuectl (the queue's owner). */
#ifndef POCHTA_ACCOUNT_H
#define POCHTA_ACCOUNT_H

#include <sys/types.h>

#define ACCOUNT_GROUPS_MAX 16

typedef struct account_s account;
struct account_s {
  uid_t uid;
  gid_t gid;                          /* primary group */
  gid_t groups[ACCOUNT_GROUPS_MAX];   /* all groups, the primary first */
  unsigned ngroups;
};

/* s is a user name (its uid, primary group and every group of /etc/group that
 * lists it) or "uid:gid" (numeric, that group only). 1 found, 0 no such user or
 * malformed, -1 error reading the files (errno). */
int account_lookup(account *a, char const *s);

/* The account of uid as /etc/passwd and /etc/group know it; a uid they do not
 * know gets gid and no supplementary group. 1 ok, -1 error reading the files. */
int account_lookup_uid(account *a, uid_t uid, gid_t gid);

/* The name of uid in /etc/passwd into buf (NUL-terminated). 1 found, 0 not (or
 * too long), -1 error reading the file. */
int account_name(uid_t uid, char *buf, size_t len);

/* The gid of the group name in /etc/group. 1 found, 0 not, -1 error reading it. */
int account_group(char const *name, gid_t *gid);

/* Add gid to a's groups (if not there yet and there is room). */
void account_addgroup(account *a, gid_t gid);

/* An account of uid:gid with no supplementary group. */
void account_ids(account *a, uid_t uid, gid_t gid);

/* Become a: groups, gid, uid, in that order, and check that there is no way back
 * to root. 1 ok, 0 error (errno). */
int account_become(account const *a);

/* Parse a decimal id below 2^31 - 1. 1 ok, 0 not such a number. */
int account_parse_id(char const *s, size_t len, unsigned long *v);

#endif
