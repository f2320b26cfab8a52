/* Handing a message to the queue program (the qmail-queue interface). */
#ifndef POCHTA_TOOLS_ENQUEUE_H
#define POCHTA_TOOLS_ENQUEUE_H

#include <stddef.h>

/* Run $POCHTA_QUEUE, else $QMAILQUEUE, else pochta-queue (pochta-postdrop when the
 * queue directory is not writable for us: an ordinary local user) beside this
 * program, else from PATH; message msg[0..mlen) on its fd 0, envelope
 * env[0..elen) (F<sender>\0T<rcpt>\0...\0) on its fd 1. Returns its exit code
 * (0 queued), or -1 if it could not be run or was killed (errno set or 0). */
int enqueue(char const *msg, size_t mlen, char const *env, size_t elen);

#endif
