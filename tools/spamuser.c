/* What pochta learn and pochta spam share: a user's Maildir from users.cdb, and
 * becoming the account whose files they touch (the Maildir owner for a user's token
 * database and settings, the queue's owner for the state of greylisting and rate
 * limits), so that root never leaves files the programs cannot change. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "account.h"
#include "pochta.h"
#include "users.h"

void spamuser_maildir(char const *addr, stralloc *md)
{
  users u = USERS_ZERO;
  stralloc canon = STRALLOC_ZERO;
  if (users_open(&u) < 0) strerr_dief(TEMP_EXIT, "cannot use users.cdb: ", users_why(errno));
  if (!users_canon(&canon, addr, strlen(addr))) strerr_dief(USAGE_EXIT, "not an address: ", addr);
  md->len = 0;
  int r = users_maildir(&u, canon.s, md);
  if (r < 0) strerr_dief(TEMP_EXIT, "cannot read users.cdb: ", users_why(errno));
  if (!r) strerr_dief(USAGE_EXIT, "no such user: ", canon.s);
  users_close(&u);
  stralloc_free(&canon);
}

static void become(uid_t uid, gid_t gid, char const *whose)
{
  account a;
  if (geteuid() || !uid) return;
  if (account_lookup_uid(&a, uid, gid) < 0) strerr_diefu1sys(TEMP_EXIT, "read /etc/passwd or /etc/group");
  if (!account_become(&a)) strerr_diefu2sys(TEMP_EXIT, "become ", whose);
}

void spamuser_become_owner(void)
{
  uid_t uid;
  gid_t gid;
  owner_get(&uid, &gid);
  become(uid, gid, "the Maildir owner");
}

void spamuser_become_queue(void)
{
  stralloc q = STRALLOC_ZERO;
  struct stat st;
  if (!tf_line(&q, "queuedir")) strerr_dief(TEMP_EXIT, "no file queuedir in ", confdir);
  if (stat(q.s, &st) < 0) strerr_diefu2sys(TEMP_EXIT, "stat ", q.s);
  become(st.st_uid, st.st_gid, "the queue's owner");
  stralloc_free(&q);
}
