/* The instance owner: the uid:gid that owns the Maildirs. Stored numerically in
 * confdir/owner so that programs never need a user database lookup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "account.h"
#include "pochta.h"

int owner_parse(char const *s, uid_t *uid, gid_t *gid)
{
  account a;
  if (account_lookup(&a, s) <= 0) return 0;
  *uid = a.uid; *gid = a.gid;
  return 1;
}

void owner_get(uid_t *uid, gid_t *gid)
{
  stralloc sa = STRALLOC_ZERO;
  if (!tf_line(&sa, "owner")) strerr_dief(TEMP_EXIT, "no file owner in ", confdir, ": run pochta init first");
  if (!strchr(sa.s, ':') || !owner_parse(sa.s, uid, gid))
    strerr_dief(TEMP_EXIT, "bad uid:gid in ", confdir, "/owner: ", sa.s);
  stralloc_free(&sa);
}
