/* The local delivery worker of pochta-send: one long-lived process that runs as
 * the Maildir owner and makes the local deliveries in long-lived delivery
 * processes of its own, without an exec or a process per delivery (delivery.c,
 * lib/deliver.c). The runner, which does not run as the owner, started it
 * before giving up root, and talks to it over a socket: a request names the
 * delivery and carries the message's open file; the answer carries the delivery's
 * exit status and its one line of text, as pochta-deliver's would. */
#ifndef POCHTA_WORKER_H
#define POCHTA_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "account.h"

#define WORKER_TEXT_MAX 1000

typedef struct worker_s worker;
struct worker_s { int fd; pid_t pid; };
#define WORKER_ZERO { .fd = -1, .pid = -1 }

/* Fork the worker; it becomes as (all of it: no way back) unless as is NULL, and
 * dies with its parent. 1 ok, 0 error (errno). */
int worker_start(worker *w, account const *as);

/* Ask for delivery number id of the message open on msgfd (the worker gets its own
 * copy of the descriptor) to rcpt, with a job timeout in seconds (the worker kills
 * a delivery that takes longer). key names the Maildir file (see pochta-deliver -k).
 * 1 sent, 0 error (errno). */
int worker_send(worker const *w, uint32_t id, int msgfd, char const *key, char const *sender,
                char const *rcpt, unsigned timeout);

/* One answer, if one is there (the socket is non-blocking): *status is a wait(2)
 * status, text the delivery's line (NUL-terminated, at most WORKER_TEXT_MAX).
 * 1 got one, 0 none yet, -1 the worker is gone or said something malformed. */
int worker_recv(worker const *w, uint32_t *id, int *status, char *text, size_t textlen);

#endif
