/* pochta-smtpd's hold (hold.c). */
#ifndef SMTPD_HOLD_H
#define SMTPD_HOLD_H

#include "smtpd.h"

/* Put the hold hooks into h. */
void hold_hooks(hooks *h);
/* Hold messages in dir (relative to the working directory: the queue's tmp/). */
void hold_in_queue(char const *dir);

#endif
