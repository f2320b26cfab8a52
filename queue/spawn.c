/* fork+exec with an exec-error pipe, so the runner can tell "program missing"
 * (keep the recipients queued, say so) from "program failed" (a result). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

int anonfile(void)
{
  return memfd_create("pochta-send", MFD_CLOEXEC);
}

/* In the child: move fd to target (dup2 clears close-on-exec). */
static int place(int fd, int target)
{
  if (fd < 0) return 1;
  if (fd == target) return fcntl(fd, F_SETFD, 0) == 0;
  return dup2(fd, target) == target;
}

pid_t spawn(char const *const *argv, int in, int out, int err, int f3)
{
  int p[2], e = 0;
  pid_t pid, parent = getpid();
  ssize_t r;
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  pid = fork();
  if (pid < 0) { e = errno; close(p[0]); close(p[1]); errno = e; return -1; }
  if (!pid) {
    sigset_t all;
    int k;
    close(p[0]);
    for (k = 1; k < NSIG; k++) signal(k, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, 0);
    /* fds 0..3 may be taken by the sources themselves: lift sources out of
     * the way first so that dup2 never clobbers a later source. */
    if (in >= 0 && in < 4) in = fcntl(in, F_DUPFD_CLOEXEC, 10);
    if (out >= 0 && out < 4) out = fcntl(out, F_DUPFD_CLOEXEC, 10);
    if (err >= 0 && err < 4) err = fcntl(err, F_DUPFD_CLOEXEC, 10);
    if (f3 >= 0 && f3 < 4) f3 = fcntl(f3, F_DUPFD_CLOEXEC, 10);
    if (!place(in, 0) || !place(out, 1) || !place(err, 2) || !place(f3, 3)) goto fail;
    if (f3 < 0) close(3);
    /* A delivery dies with a runner that crashed: the next runner starts it
     * again anyway, and an orphan that finished meanwhile would make a
     * duplicate. Only a delivery that had already committed (the peer's 250)
     * can still repeat. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) goto fail;
    execvp(argv[0], (char *const *)argv);
   fail:
    e = errno;
    r = write(p[1], &e, sizeof e);
    (void)r;
    _exit(127);
  }
  close(p[1]);
  do r = read(p[0], &e, sizeof e); while (r < 0 && errno == EINTR);
  close(p[0]);
  if (r > 0) {   /* the exec failed: collect the child now, report why */
    while (waitpid(pid, 0, 0) < 0 && errno == EINTR) ;
    errno = e ? e : EINVAL;
    return -1;
  }
  return pid;
}
