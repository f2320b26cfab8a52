/* pochta-smtpd's enqueue without an exec (inqueue.c). */
#ifndef SMTPD_INQUEUE_H
#define SMTPD_INQUEUE_H

#include "smtpd.h"

/* Put the in-process queue_open/queue_write/queue_close into h. */
int inqueue_hooks(hooks *h);
/* Make the queue's directory the working directory (once). 1 done, 0 not (no
 * queuedir, or it cannot be entered: the first message says so). */
int inqueue_enter(void);

#endif
