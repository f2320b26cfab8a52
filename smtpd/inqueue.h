/* pochta-smtpd's enqueue without an exec (inqueue.c). */
#ifndef SMTPD_INQUEUE_H
#define SMTPD_INQUEUE_H

#include "smtpd.h"

/* Put the in-process queue_open/queue_write/queue_close into h. */
int inqueue_hooks(hooks *h);

#endif
