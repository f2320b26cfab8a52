/* Finding and repairing what crashes leave in a queue (pochta-queuectl
 * check; pochta-send runs it at start). See pochta-queue(5), "Crashes". */
#ifndef POCHTA_QCHECK_H
#define POCHTA_QCHECK_H

#include <stdint.h>

typedef struct qcheck_report_s qcheck_report;
struct qcheck_report_s {
  unsigned messages;     /* complete messages seen */
  unsigned problems;     /* inconsistencies found */
  unsigned repaired;     /* of which repaired */
};

/* Walk the queue (cwd = queue directory). With fix, repair what is safe to
 * repair: the caller must hold the runner lock. verbose: one line on stdout
 * per finding, else one log line on stderr per repair.
 * 1 walked, 0 an error stopped it (errno). */
int qcheck_run(qcheck_report *rep, int fix, int verbose);

/* Move message id's files into bad/ (for a message nobody can deliver). 1 ok. */
int qcheck_quarantine(uint64_t id);

#endif
