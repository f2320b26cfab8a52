/* Password check against conf_dir()/passwords.cdb (see passcheck.c). */
#ifndef POCHTA_PASSCHECK_H
#define POCHTA_PASSCHECK_H

#include <skalibs/stralloc.h>

/* addr canonical (users_canon). 1 a password matched (its label appended to label,
 * NUL-terminated, when label is not NULL), 0 no match or no such user, -1 error
 * (errno; users_why() names configuration faults). */
int passcheck(char const *addr, char const *pass, stralloc *label);

/* The work of checking one yescrypt hash, for a user that does not exist, so that
 * the answer's timing does not tell which users exist. */
void passcheck_dummy(char const *pass);

#endif
