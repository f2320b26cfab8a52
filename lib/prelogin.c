/* See prelogin.h. */
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "prelogin.h"

int prelogin_ok(char const **why)
{
  stralloc sa = STRALLOC_ZERO;
  int r, root_owner;
  if (geteuid()) return 1;
  r = conf_line(&sa, "owner");
  root_owner = r > 0 && (!strcmp(sa.s, "0:0") || !strncmp(sa.s, "0:", 2));
  stralloc_free(&sa);
  if (root_owner) return 1;
  *why = "started as root before a login: run it as the login account (pochta-tlsd -u, tcpserver -u)";
  return 0;
}
