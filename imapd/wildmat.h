/* pochta-imapd: LIST wildcard patterns (wildmat.c). */
#ifndef IMAPD_WILDMAT_H
#define IMAPD_WILDMAT_H

#include <stddef.h>

#define PAT_MAX 512       /* a compiled pattern: literals and single wildcards */

typedef struct { char s[PAT_MAX]; size_t len; int never; } pattern;

/* ref followed by pat, compiled. */
void pat_compile(pattern *c, char const *ref, size_t rl, char const *pat, size_t pl);
/* Does the folder name (NUL-terminated; "INBOX" in any case) match? */
int pat_match(pattern const *p, char const *name);

#endif
