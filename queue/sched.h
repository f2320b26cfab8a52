/* pochta-send's in-memory view of the queue: every message by id (hash),
 * the ones due now (ready list), the ones waiting for a time (heap), and the
 * ones waiting for a free delivery slot (blocked: a local slot; blocked_remote: a
 * remote slot or its domain's). A message is in at most one of them at a time.
 * The two waiting lists are apart so that a job's end wakes only as many of the
 * waiting messages as there are free slots of its kind, not every one of them:
 * with 100,000 messages waiting, waking all at each end made the runner's own
 * work grow with the queue. */
#ifndef POCHTA_SCHED_H
#define POCHTA_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include "qfmt.h"

enum { W_NONE, W_READY, W_HEAP, W_BLOCKED, W_BLOCKED_REMOTE };

typedef struct msg_s msg;
struct msg_s {
  uint64_t id;
  qenv e;
  unsigned char *busy;     /* per recipient: in a running job */
  uint64_t due;            /* while in the heap */
  uint64_t bounce_next;    /* when the bounce may be tried (again) */
  unsigned bounce_attempts;
  unsigned running;        /* jobs in progress for this message */
  int where;               /* W_* */
  size_t hpos;             /* index in the heap */
  msg *prev, *next;        /* ready or blocked list */
  unsigned dirty : 1;      /* results not yet written to state/ */
  unsigned deleted : 1;    /* delete requested while jobs ran */
  unsigned bouncing : 1;   /* the bounce job runs */
  unsigned touched : 1;    /* on the touched list */
  msg *tnext;
  char const *why;         /* with deleted: the event logged at removal */
};

typedef struct mlist_s mlist;
struct mlist_s { msg *head, *tail; size_t n; };

/* The hash of every message in memory. */
msg *msgs_find(uint64_t id);
int msgs_add(msg *m);          /* 1 ok, 0 out of memory */
void msgs_del(msg *m);
size_t msgs_count(void);
/* Call f on every message (f must not add or delete). */
void msgs_each(void (*f)(msg *));

/* Lists and heap. Each takes m out of wherever it was first. */
extern mlist ready, blocked, blocked_remote;
void sched_unplace(msg *m);
void sched_ready(msg *m);
void sched_blocked(msg *m);          /* waits for a local slot */
void sched_blocked_remote(msg *m);   /* waits for a remote slot or its domain's */
/* Wake at most n waiting messages of list l, the longest waiting first (they go to
 * the ready list; one that still cannot start goes back to the end). */
void sched_wake(mlist *l, size_t n);
void sched_heap(msg *m, uint64_t due);
msg *sched_pop_ready(void);
/* The heap's earliest message and its time (NULL if empty). */
msg *sched_heap_top(void);

#endif
