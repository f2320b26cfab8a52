/* Run the queue program with the message on a pipe to its fd 0 and the
 * envelope on a pipe to its fd 1. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "enqueue.h"
#include "selfdir.h"

/* Who writes the queue for us: pochta-queue when we may write it ourselves (root,
 * the queue's account), else pochta-postdrop, the setgid step for local users. */
static char const *queue_program(char *path, size_t len)
{
  stralloc q = STRALLOC_ZERO;
  char const *name = "pochta-queue";
  if (conf_line(&q, "queuedir") > 0 && access(q.s, W_OK) < 0 && errno == EACCES) name = "pochta-postdrop";
  stralloc_free(&q);
  /* beside us when it is there: a sendmail run from cron with a short PATH
   * still finds its queue */
  return self_sibling(path, len, name) && access(path, X_OK) == 0 ? path : name;
}

int enqueue(char const *msg, size_t mlen, char const *env, size_t elen)
{
  int m[2], e[2], status;
  pid_t pid;
  char path[PATH_MAX];
  char const *prog = getenv("POCHTA_QUEUE");
  struct sigaction sa = { .sa_handler = SIG_IGN }, old;
  if (!prog || !*prog) prog = getenv("QMAILQUEUE");
  if (!prog || !*prog) prog = queue_program(path, sizeof path);
  if (pipe2(m, O_CLOEXEC) < 0) return -1;
  if (pipe2(e, O_CLOEXEC) < 0) { close(m[0]); close(m[1]); return -1; }
  /* A queue program that dies early must give us its exit code, not a SIGPIPE. */
  sigaction(SIGPIPE, &sa, &old);
  pid = fork();
  if (pid < 0) { close(m[0]); close(m[1]); close(e[0]); close(e[1]); return -1; }
  if (!pid) {
    if (dup2(m[0], 0) < 0 || dup2(e[0], 1) < 0) _exit(111);
    char const *argv[2] = { prog, 0 };
    execvp(prog, (char *const *)argv);
    {
      char const *a = "pochta-sendmail: fatal: unable to exec ", *b = strerror(errno);
      allwrite(2, a, strlen(a)); allwrite(2, prog, strlen(prog)); allwrite(2, ": ", 2);
      allwrite(2, b, strlen(b)); allwrite(2, "\n", 1);
    }
    _exit(111);   /* temporary: the queue program may be installed later */
  }
  close(m[0]); close(e[0]);
  /* Errors writing are not ours to report: the exit code says what happened. */
  allwrite(m[1], msg, mlen);
  close(m[1]);
  allwrite(e[1], env, elen);
  close(e[1]);
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) { sigaction(SIGPIPE, &old, 0); return -1; }
  sigaction(SIGPIPE, &old, 0);
  if (!WIFEXITED(status)) { errno = 0; return -1; }
  return WEXITSTATUS(status);
}
