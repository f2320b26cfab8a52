/* Enqueueing without an exec: pochta-smtpd runs as the queue's account, so it
 * writes the queue itself with the code pochta-queue uses (queue/qwrite.c): the
 * same stages, the same single commit point, the same exit codes for the replies.
 * This saves one exec per message, which costs more than the rest of its work
 * here. $POCHTA_QUEUE or $QMAILQUEUE still select a program (a filter chain), as
 * the enqueue interface says; real.c chooses. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "qdir.h"
#include "qfmt.h"
#include "qwrite.h"
#include "inqueue.h"
#include "smtpd.h"

static qwrite w = { .fd = -1 };
static int entered;   /* we are in the queue directory */

int inqueue_enter(void)
{
  if (!entered && qdir_enter() > 0) entered = 1;
  return entered;
}

static int q_open(smtpd *s)
{
  int r;
  if (!inqueue_enter()) {
    slog(s, "queue-failed", "error", errno ? strerror(errno) : "no queuedir in the configuration", (char *)0);
    return 0;
  }
  if ((r = qwrite_begin(&w))) {
    slog(s, "queue-failed", "error", strerror(errno), "what", "create message file", (char *)0);
    qwrite_abort(&w);
    w.fd = -1;
    return 0;
  }
  return 1;
}

static int q_write(smtpd *s, char const *p, size_t n)
{
  (void)s;
  return qwrite_data(&w, p, n) == 0;
}

static int q_close(smtpd *s, int commit, char *qid)
{
  qenv e = QENV_ZERO;
  int r;
  if (qid) qid[0] = 0;
  if (!commit) { if (w.fd >= 0) close(w.fd); w.fd = -1; qwrite_abort(&w); return QX_READ; }
  /* the envelope as the enqueue interface has it, with its final NUL */
  if (!stralloc_catb(&s->env, "", 1)) { close(w.fd); w.fd = -1; qwrite_abort(&w); return QX_NOMEM; }
  r = qenv_from_qmail(&e, s->env.s, s->env.len, (uint64_t)time(0));
  s->env.len--;
  if (!r) r = qwrite_commit(&w, &e);
  if (r) {
    if (w.fd >= 0) close(w.fd);
    w.fd = -1;
    if (w.have_mess) qwrite_abort(&w);   /* else committed: a duplicate is allowed, a loss not */
    slog(s, "queue-failed", "error", errno ? strerror(errno) : "envelope", "what", "write the queue", (char *)0);
    qenv_free(&e);
    return r;
  }
  if (qid) qid_fmt(qid, w.id);
  qtrigger();
  qenv_free(&e);
  return 0;
}

int inqueue_hooks(hooks *h)
{
  h->queue_open = q_open;
  h->queue_write = q_write;
  h->queue_close = q_close;
  return 1;
}
