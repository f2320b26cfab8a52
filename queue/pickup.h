/* pochta-send's pickup of the files pochta-postdrop left in drop/ (see pickup.c). */
#ifndef POCHTA_PICKUP_H
#define POCHTA_PICKUP_H

#include <stddef.h>
#include "users.h"

/* Queue at most limit dropped messages (recipients resolved through u, a Received
 * field naming the submitter's uid and me). Returns 1 if more may wait. */
int pickup_round(users const *u, char const *me, size_t limit);

#endif
