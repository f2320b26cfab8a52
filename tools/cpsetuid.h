/* pochta-checkpassword run through its setuid bit: what it must not take from its
 * caller (see cpsetuid.c and pochta-checkpassword(8)). */
#ifndef POCHTA_CPSETUID_H
#define POCHTA_CPSETUID_H

#include <skalibs/stralloc.h>

/* 1 if this process runs with other ids than its caller's (the setuid bit). */
int cpsetuid_active(void);

/* Clear the environment but for the connection's variables and the daemons' own
 * (listed in cpsetuid.c), set a fixed PATH, and make sure POCHTA_CONF names a
 * directory only root can change (then set to its real path). Dies (111)
 * otherwise. */
void cpsetuid_sanitize(void);

/* The program to run after a login, from argv[1]: "true" gives an empty prog (no
 * exec). Through the setuid bit only pochta's own programs are run, found beside
 * this one whatever path the caller gave: prog gets their absolute path.
 * Otherwise prog is arg. 1 ok, 0 refused. */
int cpsetuid_prog(stralloc *prog, char const *arg, int setuid_mode);

#endif
