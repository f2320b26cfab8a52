/* pochta-queue: put one message into the queue (qmail-queue interface).
 * Message on fd 0, envelope on fd 1; exit 0 only once both are durable.
 * Stages, each with one commit point (see pochta-queue(5)):
 *   1. mess/hh/<id> created with O_EXCL (claims the id), data written, fsynced,
 *      its directory fsynced;
 *   2. tmp/<id> written with the envelope, fsynced;
 *   3. rename tmp/<id> -> new/<id>, fsync new/: the commit point.
 * A crash before 3 leaves only debris that no runner reads. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/random.h>
#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "qdir.h"
#include "qfmt.h"

static char mess[QPATH_LEN], tmpf[QPATH_LEN];
static int have_mess, have_tmp;

static void cleanup(void)
{
  if (have_tmp) unlink(tmpf);
  if (have_mess) unlink(mess);
}

static void die(int code, char const *what)
{
  int e = errno;
  cleanup();
  fprintf(stderr, "pochta-queue: event=fail exit=%d what=\"%s\" error=\"%s\"\n", code, what, e ? strerror(e) : "-");
  _exit(code);
}

static void on_alarm(int sig)
{
  (void)sig;
  /* Only async-signal-safe calls: unlink and _exit. */
  if (have_tmp) unlink(tmpf);
  if (have_mess) unlink(mess);
  _exit(QX_TIMEOUT);
}

static int writeall(int fd, char const *s, size_t len)
{
  while (len) {
    ssize_t w = write(fd, s, len);
    if (w < 0) { if (errno == EINTR) continue; return 0; }
    s += w; len -= (size_t)w;
  }
  return 1;
}

/* Claim a fresh id: O_EXCL on mess/hh/<id> makes it unique among all
 * messages in the queue, whatever other writers do at the same time. */
static int claim(uint64_t *id)
{
  for (int tries = 0; tries < 16; tries++) {
    uint64_t v;
    int fd;
    random_buf((char *)&v, sizeof v);
    if (!v) continue;
    qpath_mess(mess, v);
    fd = open(mess, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) { *id = v; have_mess = 1; return fd; }
    /* A queue directory that was never used: lay it out once, then retry. */
    if (errno == ENOENT && !tries && qdir_layout()) continue;
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

int main(void)
{
  static char buf[65536];
  stralloc env = STRALLOC_ZERO, out = STRALLOC_ZERO;
  qenv e = QENV_ZERO;
  char dir[QPATH_LEN], nw[QPATH_LEN];
  uint64_t id;
  int fd, r;

  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm(86400);   /* a client that never finishes must not pin debris forever */

  r = qdir_enter();
  if (r < 0) die(QX_QUEUEDIR, "chdir to queuedir");
  if (!r) die(QX_CONFIG, "read config queuedir");

  fd = claim(&id);
  if (fd < 0) die(QX_QUEUEDIR, "create message file");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) { if (errno == EINTR) continue; die(QX_READ, "read message"); }
    if (!n) break;
    if (!writeall(fd, buf, (size_t)n)) die(QX_WRITE, "write message");
  }
  if (fsync(fd) < 0) die(QX_WRITE, "fsync message");
  if (close(fd) < 0) die(QX_WRITE, "close message");
  qpath_messdir(dir, id);
  if (!dir_sync(dir)) die(QX_WRITE, "fsync message directory");

  for (;;) {
    ssize_t n = read(1, buf, sizeof buf);
    if (n < 0) { if (errno == EINTR) continue; die(QX_READ, "read envelope"); }
    if (!n) break;
    if (env.len + (size_t)n > QENV_MAX) { errno = 0; die(QX_ENVELOPE, "envelope too large"); }
    if (!stralloc_catb(&env, buf, (size_t)n)) die(QX_NOMEM, "allocate");
  }
  r = qenv_from_qmail(&e, env.s, env.len, (uint64_t)time(0));
  if (r) { errno = 0; die(r, r == QX_ADDR_TOO_LONG ? "address too long" : "envelope format"); }
  if (!qenv_format(&out, &e)) die(QX_NOMEM, "allocate");

  qpath_tmp(tmpf, id, "");
  fd = open(tmpf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) die(QX_QUEUEDIR, "create envelope file");
  have_tmp = 1;
  if (!writeall(fd, out.s, out.len)) die(QX_WRITE, "write envelope");
  if (fsync(fd) < 0) die(QX_WRITE, "fsync envelope");
  if (close(fd) < 0) die(QX_WRITE, "close envelope");

  qpath_new(nw, id);
  if (rename(tmpf, nw) < 0) die(QX_QUEUEDIR, "rename envelope into new");
  have_tmp = 0;
  /* From here on the message exists: never unlink it again. If the directory
   * fsync fails the message may or may not survive a crash: report a
   * temporary failure (a duplicate is allowed, a loss is not). */
  have_mess = 0;
  if (!dir_sync("new")) {
    fprintf(stderr, "pochta-queue: event=fail exit=%d what=\"fsync new\" error=\"%s\"\n", QX_WRITE, strerror(errno));
    _exit(QX_WRITE);
  }
  alarm(0);

  {
    char const *q = getenv("POCHTA_QIDFD");
    char x[QID_LEN + 2];
    qid_fmt(x, id);
    if (q && *q) {
      char *end;
      long qfd = strtol(q, &end, 10);
      x[QID_LEN] = '\n';
      if (!*end && qfd >= 0 && qfd < 1024) writeall((int)qfd, x, QID_LEN + 1);
    }
    x[QID_LEN] = 0;
    fprintf(stderr, "pochta-queue: event=queued id=%s rcpts=%zu\n", x, e.n);
  }
  qtrigger();
  qenv_free(&e);
  stralloc_free(&env);
  stralloc_free(&out);
  return QX_OK;
}
