/* pochta-queue: put one message into the queue (qmail-queue interface).
 * Message on fd 0, envelope on fd 1; exit 0 only once both are durable.
 * The stages and their one commit point are in qwrite.c and pochta-queue(5).
 * A crash before the commit leaves only debris that no runner reads. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "qdir.h"
#include "qfmt.h"
#include "qwrite.h"
#include "fdwrite.h"

static qwrite w;

static void die(int code, char const *what)
{
  int e = errno;
  qwrite_abort(&w);
  fprintf(stderr, "pochta-queue: event=fail exit=%d what=\"%s\" error=\"%s\"\n", code, what, e ? strerror(e) : "-");
  _exit(code);
}

static void on_alarm(int sig)
{
  (void)sig;
  qwrite_abort(&w);   /* unlink only: async-signal-safe */
  _exit(QX_TIMEOUT);
}

int main(void)
{
  static char buf[65536];
  stralloc env = STRALLOC_ZERO;
  qenv e = QENV_ZERO;
  int r;

  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm(86400);   /* a client that never finishes must not pin debris forever */

  r = qdir_enter();
  if (r < 0) die(QX_QUEUEDIR, "chdir to queuedir");
  if (!r) die(QX_CONFIG, "read config queuedir");
  /* root (its cron mail, an admin) writes as the queue's account */
  if (!qdir_become_owner()) die(QX_QUEUEDIR, "become the queue's owner");

  if ((r = qwrite_begin(&w))) die(r, "create message file");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) { if (errno == EINTR) continue; die(QX_READ, "read message"); }
    if (!n) break;
    if (qwrite_data(&w, buf, (size_t)n)) die(QX_WRITE, "write message");
  }
  for (;;) {
    ssize_t n = read(1, buf, sizeof buf);
    if (n < 0) { if (errno == EINTR) continue; die(QX_READ, "read envelope"); }
    if (!n) break;
    if (env.len + (size_t)n > QENV_MAX) { errno = 0; die(QX_ENVELOPE, "envelope too large"); }
    if (!stralloc_catb(&env, buf, (size_t)n)) die(QX_NOMEM, "allocate");
  }
  r = qenv_from_qmail(&e, env.s, env.len, (uint64_t)time(0));
  if (r) { errno = 0; die(r, r == QX_ADDR_TOO_LONG ? "address too long" : "envelope format"); }

  r = qwrite_commit(&w, &e);
  if (r) {
    /* After the rename the message exists: report a temporary failure (a
     * duplicate is allowed, a loss is not) but never remove it. */
    if (!w.have_mess) {
      fprintf(stderr, "pochta-queue: event=fail exit=%d what=\"fsync new\" error=\"%s\"\n", r, strerror(errno));
      _exit(r);
    }
    die(r, "commit the message");
  }
  alarm(0);

  {
    char const *q = getenv("POCHTA_QIDFD");
    char x[QID_LEN + 2];
    qid_fmt(x, w.id);
    if (q && *q) {
      char *end;
      long qfd = strtol(q, &end, 10);
      x[QID_LEN] = '\n';
      if (!*end && qfd >= 0 && qfd < 1024) fd_write_all((int)qfd, x, QID_LEN + 1);
    }
    x[QID_LEN] = 0;
    fprintf(stderr, "pochta-queue: event=queued id=%s rcpts=%zu\n", x, e.n);
  }
  qtrigger();
  qenv_free(&e);
  stralloc_free(&env);
  return QX_OK;
}
