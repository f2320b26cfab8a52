/* Writing one message into the queue: the stages of pochta-queue(5), shared by
 * pochta-queue and by pochta-send's pickup of dropped messages (and by any program
 * that enqueues in-process). The caller is in the queue directory (qdir_enter). */
#ifndef POCHTA_QWRITE_H
#define POCHTA_QWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "qfmt.h"

typedef struct qwrite_s qwrite;
struct qwrite_s {
  uint64_t id;
  int fd;                    /* mess/hh/<id>, open for writing */
  char mess[QPATH_LEN];      /* its path, removed again if the message is not committed */
  char tmp[QPATH_LEN];       /* tmp/<id> while the envelope is written */
  int have_mess, have_tmp;
  int reused;                /* fd is a file taken over from trash/: truncate at commit */
  uint64_t len;              /* octets written to fd */
};

/* Claim a fresh id (mess/hh/<id> created with O_EXCL) and open its data file.
 * 0 ok, else a QX_* exit code (errno set). */
int qwrite_begin(qwrite *w);

/* Append data. 0 ok, else QX_WRITE (errno set). */
int qwrite_data(qwrite *w, char const *s, size_t len);

/* Make the data durable, write the envelope e and commit (rename into new/,
 * fsync new/). 0 ok: the message is in the queue for good; else a QX_* code and
 * nothing was committed (except QX_WRITE after the rename, when new/ could not
 * be fsynced: the message may or may not survive a crash, so the caller must
 * report a temporary failure and accept a duplicate). */
int qwrite_commit(qwrite *w, qenv const *e);

/* Give up an uncommitted message: its files are removed. Keeps errno. Only
 * async-signal-safe calls, so a signal handler may use it. */
void qwrite_abort(qwrite *w);

#endif
