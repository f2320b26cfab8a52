/* pochta-postdrop: the enqueue interface (qmail-queue: message on fd 0, envelope on
 * fd 1) for local users who may not write the queue: cron, www-data, a user's
 * mutt. Installed setgid pochta-drop (see pochta init --system), it can write into
 * <queue>/drop/ and nowhere else; pochta-send picks each file up, checks it as
 * untrusted input and queues it, with the submitter's uid (the file's owner, which
 * nobody can forge) in a Received field. Exit codes as pochta-queue's; 0 once the
 * file is durable in drop/. File format in pochta-queue(5). */
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

#include "conf.h"
#include "exitcodes.h"
#include "qdir.h"
#include "qfmt.h"
#include "trustconf.h"
#include "fdwrite.h"
#include "lsan_setid.h"

#define DROP_HEADER 17   /* 16 hex digits of the message's length and a newline */

static char tmpname[32];
static int have_tmp;

static void die(int code, char const *what)
{
  int e = errno;
  if (have_tmp) unlink(tmpname);
  fprintf(stderr, "pochta-postdrop: event=fail exit=%d what=\"%s\" error=\"%s\"\n", code, what, e ? strerror(e) : "-");
  _exit(code);
}

static void on_alarm(int sig)
{
  (void)sig;
  if (have_tmp) unlink(tmpname);
  _exit(QX_TIMEOUT);
}

static int keep_nothing(char const *kv) { (void)kv; return 0; }

int main(void)
{
  static char buf[65536];
  stralloc env = STRALLOC_ZERO;
  qenv e = QENV_ZERO;
  unsigned long databytes;
  uint64_t id, len = 0;
  char head[DROP_HEADER + 1], name[QID_LEN + 1];
  int fd, r;

  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm(86400);
  if (trustconf_setid()) {
    char const *why;
    if (!trustconf_sanitize(keep_nothing, &why)) { errno = 0; die(QX_CONFIG, why); }
  }
  r = qdir_enter();
  if (r < 0) die(QX_QUEUEDIR, "chdir to queuedir");
  if (!r) die(QX_CONFIG, "read config queuedir");
  if (conf_ulong(&databytes, "databytes", 26214400) < 0) die(QX_CONFIG, "read config databytes");
  if (chdir("drop") < 0) die(QX_QUEUEDIR, "chdir to the queue's drop/");
  umask(022);

  for (int tries = 0;; tries++) {
    random_buf((char *)&id, sizeof id);
    if (!id) continue;
    qid_fmt(name, id);
    snprintf(tmpname, sizeof tmpname, "t%s", name);
    fd = open(tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0) break;
    if (errno != EEXIST || tries > 16) die(QX_QUEUEDIR, "create a file in drop/");
  }
  have_tmp = 1;
  /* the submitter's file; the group (pochta-drop: the queue's account, and
   * whoever runs this program) reads it, the submitter cannot even reach it */
  if (fchmod(fd, 0640) < 0) die(QX_QUEUEDIR, "chmod the drop file");
  memset(head, '0', DROP_HEADER - 1);
  head[DROP_HEADER - 1] = '\n';
  if (!fd_write_all(fd, head, DROP_HEADER)) die(QX_WRITE, "write the drop file");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) { if (errno == EINTR) continue; die(QX_READ, "read message"); }
    if (!n) break;
    len += (uint64_t)n;
    /* a local user must not fill the queue's disk with one message */
    if (len > (uint64_t)databytes + 65536) { errno = EFBIG; die(QX_PERM_REFUSED, "message larger than databytes"); }
    if (!fd_write_all(fd, buf, (size_t)n)) die(QX_WRITE, "write message");
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
  if (!fd_write_all(fd, env.s, env.len)) die(QX_WRITE, "write envelope");
  snprintf(head, sizeof head, "%016llx\n", (unsigned long long)len);
  if (pwrite(fd, head, DROP_HEADER, 0) != DROP_HEADER) die(QX_WRITE, "write the drop file");
  if (fsync(fd) < 0 || close(fd) < 0) die(QX_WRITE, "fsync the drop file");
  if (rename(tmpname, name) < 0) die(QX_QUEUEDIR, "rename the drop file");
  have_tmp = 0;
  if (!dir_sync(".")) { fprintf(stderr, "pochta-postdrop: event=fail exit=%d what=\"fsync drop/\" error=\"%s\"\n", QX_WRITE, strerror(errno)); _exit(QX_WRITE); }
  alarm(0);
  if (chdir("..") == 0) qtrigger();
  fprintf(stderr, "pochta-postdrop: event=dropped file=%s rcpts=%zu\n", name, e.n);
  return QX_OK;
}
