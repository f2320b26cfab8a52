#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "selfdir.h"
#include "signer.h"
#include "fdwrite.h"

extern char **environ;

int signer_run(struct iovec const *iov, unsigned niov, char *out, size_t max, size_t *outlen, int *status)
{
  return signer_run_args(0, iov, niov, out, max, outlen, status);
}

int signer_run_args(char const *const *args, struct iovec const *iov, unsigned niov, char *out, size_t max,
                    size_t *outlen, int *status)
{
  char prog[PATH_MAX];
  char *argv[10] = { (char *)"pochta-dkimsign", 0 };
  posix_spawn_file_actions_t fa;
  struct sigaction ign = { .sa_handler = SIG_IGN }, old;
  int in[2], res[2], st = -1, r, ok = 1;
  pid_t pid;
  *outlen = 0;
  *status = -1;
  for (unsigned i = 0; args && args[i]; i++) {
    if (i == 8) { errno = E2BIG; return SIGNER_FAIL; }
    argv[i + 1] = (char *)args[i];
    argv[i + 2] = 0;
  }
  if (!self_sibling(prog, sizeof prog, "pochta-dkimsign")) return SIGNER_FAIL;
  if (access(prog, X_OK) < 0) return SIGNER_ABSENT;
  if (pipe2(in, O_CLOEXEC) < 0) return SIGNER_FAIL;
  if (pipe2(res, O_CLOEXEC) < 0) { close(in[0]); close(in[1]); return SIGNER_FAIL; }
  r = posix_spawn_file_actions_init(&fa);
  if (!r) {
    r = posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    if (!r) r = posix_spawn_file_actions_adddup2(&fa, res[1], 1);
    if (!r) r = posix_spawn(&pid, prog, &fa, 0, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
  }
  close(in[0]); close(res[1]);
  if (r) { close(in[1]); close(res[0]); errno = r; return SIGNER_FAIL; }
  /* A signer that dies early must give us its status, not a SIGPIPE. It reads
   * everything before it writes, so feeding it first cannot deadlock. */
  sigaction(SIGPIPE, &ign, &old);
  for (unsigned i = 0; ok && i < niov; i++) ok = fd_write_all(in[1], iov[i].iov_base, iov[i].iov_len);
  close(in[1]);
  for (;;) {
    ssize_t n;
    if (*outlen == max) {   /* more than any signature: refuse it, but let it finish */
      char sink[512];
      n = read(res[0], sink, sizeof sink);
      if (n > 0) { ok = 0; continue; }
    } else n = read(res[0], out + *outlen, max - *outlen);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    *outlen += (size_t)n;
  }
  close(res[0]);
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) { st = -1; break; }
  sigaction(SIGPIPE, &old, 0);
  *status = st;
  if (!ok || st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) { errno = 0; *outlen = 0; return SIGNER_FAIL; }
  return SIGNER_OK;
}
