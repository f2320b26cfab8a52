/* The real side effects: run the enqueue program (qmail-queue interface) and the
 * checkpassword program, both with posix_spawn (vfork-cheap), and switch to TLS
 * the UCSPI-TLS way. See doc/CONTRACTS.md for each interface. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcodes.h"
#include "smtpd.h"
#include "inspect.h"
#include "real.h"
#include "fdwrite.h"

extern char **environ;

/* Children get SIGPIPE back at its default (we ignore it for ourselves). */
static posix_spawnattr_t *attr(void)
{
  static posix_spawnattr_t a;
  static int ready;
  sigset_t set;
  if (ready) return &a;
  if (posix_spawnattr_init(&a)) return 0;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  if (posix_spawnattr_setsigdefault(&a, &set) || posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGDEF)) return 0;
  ready = 1;
  return &a;
}

int tls_ctlfd = -1, tls_rfd = -1, tls_wfd = -1;

/* pipe2(O_CLOEXEC) with both ends above fd 3, so that the dup2 onto 0, 1 and 3
 * in the child never meets one of them (dup2 to itself would keep CLOEXEC). */
static int pipe_hi(int p[2])
{
  int i;
  if (pipe2(p, O_CLOEXEC) < 0) return 0;
  for (i = 0; i < 2; i++) {
    if (p[i] > 3) continue;
    int n = fcntl(p[i], F_DUPFD_CLOEXEC, 4);
    if (n < 0) { close(p[0]); close(p[1]); return 0; }
    close(p[i]);
    p[i] = n;
  }
  return 1;
}

/* Exit code of pid, -1 if it died of a signal or cannot be waited for. */
static int reap(pid_t pid)
{
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char const *queue_prog(void)
{
  char const *p = getenv("POCHTA_QUEUE");
  if (!p || !*p) p = getenv("QMAILQUEUE");
  return p && *p ? p : "pochta-queue";
}

static int q_open(smtpd *s)
{
  int m[2], e[2], q[2];
  posix_spawn_file_actions_t fa;
  char *argv[2];
  pid_t pid;
  int r;
  if (!pipe_hi(m)) return 0;
  if (!pipe_hi(e)) { close(m[0]); close(m[1]); return 0; }
  if (!pipe_hi(q)) { close(m[0]); close(m[1]); close(e[0]); close(e[1]); return 0; }
  argv[0] = (char *)queue_prog();
  argv[1] = 0;
  r = posix_spawn_file_actions_init(&fa);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, m[0], 0);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, e[0], 1);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, q[1], QIDFD);
  if (!r) r = posix_spawnp(&pid, argv[0], &fa, attr(), argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(m[0]); close(e[0]); close(q[1]);
  if (r) {
    errno = r;
    slog(s, "queue-failed", "error", strerror(r), "prog", argv[0], (char *)0);
    close(m[1]); close(e[1]); close(q[0]);
    return 0;
  }
  s->qpid = pid;
  s->qmsgfd = m[1];
  s->qenvfd = e[1];
  s->qidfd = q[0];
  return 1;
}

static int q_write(smtpd *s, char const *p, size_t n)
{
  return fd_write_all(s->qmsgfd, p, n);
}

static int q_close(smtpd *s, int commit, char *qid)
{
  char b[64];
  size_t got = 0;
  int code;
  close(s->qmsgfd);
  s->qmsgfd = -1;
  /* The envelope, with its final \0, only when committing: without it the
   * program exits non-zero and queues nothing. */
  if (commit) {
    if (!fd_write_all(s->qenvfd, s->env.s, s->env.len) || !fd_write_all(s->qenvfd, "", 1)) { /* its exit code tells */ }
  }
  close(s->qenvfd);
  s->qenvfd = -1;
  for (;;) {
    ssize_t r = read(s->qidfd, b + got, sizeof b - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
    if (got == sizeof b - 1) break;
  }
  close(s->qidfd);
  s->qidfd = -1;
  code = reap(s->qpid);
  s->qpid = -1;
  if (qid) {
    size_t i;
    for (i = 0; i < got && i < 16; i++) {
      char c = b[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) break;
    }
    if (i == 16) { memcpy(qid, b, 16); qid[16] = 0; }
    else qid[0] = 0;
  }
  return code;
}

static int auth_check(smtpd *s, char const *user, char const *pass)
{
  int p[2], r, code;
  posix_spawn_file_actions_t fa;
  char *argv[3];
  char const *prog = getenv("POCHTA_CHECKPASSWORD");
  char buf[600], ts[128];
  size_t ul = strlen(user), pl = strlen(pass), tl, n = 0;
  pid_t pid;
  tl = (size_t)snprintf(ts, sizeof ts, "<%s@%s>", s->sid, s->me);
  if (tl >= sizeof ts) tl = sizeof ts - 1;
  if (ul + pl + tl + 3 > 512) return 1;   /* the interface's limit: such a login cannot be right */
  memcpy(buf, user, ul + 1); n = ul + 1;
  memcpy(buf + n, pass, pl + 1); n += pl + 1;
  memcpy(buf + n, ts, tl + 1); n += tl + 1;
  if (!prog || !*prog) prog = "pochta-checkpassword";
  argv[0] = (char *)prog;
  argv[1] = (char *)"true";
  argv[2] = 0;
  if (!pipe_hi(p)) { explicit_bzero(buf, sizeof buf); return 2; }
  r = posix_spawn_file_actions_init(&fa);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, p[0], 3);
  if (!r) r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, 2, 1);   /* never the client's socket */
  if (!r) r = posix_spawnp(&pid, prog, &fa, attr(), argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[0]);
  if (r) {
    slog(s, "auth", "result", "tempfail", "error", strerror(r), "prog", prog, (char *)0);
    close(p[1]);
    explicit_bzero(buf, sizeof buf);
    return 2;
  }
  fd_write_all(p[1], buf, n);   /* if it did not read, its exit code tells */
  explicit_bzero(buf, sizeof buf);
  close(p[1]);
  code = reap(pid);
  return code == 0 ? 0 : code == 1 ? 1 : 2;
}

/* UCSPI-TLS: 'Y' on the control fd, then KEY=value\0 ... \0 after the
 * handshake (EOF: it failed); then the TLS stream is on the other two fds. */
static int tls_start(smtpd *s)
{
  char b[4096];
  size_t n = 0;
  if (!fd_write_all(tls_ctlfd, "Y", 1)) return 0;
  for (;;) {
    ssize_t r = read(tls_ctlfd, b + n, sizeof b - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    n += (size_t)r;
    if (b[0] == 0 || (n >= 2 && !b[n - 1] && !b[n - 2])) break;
    if (n == sizeof b) return 0;
  }
  {
    char const *proto = "", *cipher = "";
    size_t i = 0;
    while (i < n && b[i]) {
      char const *kv = b + i;
      size_t k = strlen(kv);
      if (!strncmp(kv, "SSL_PROTOCOL=", 13)) proto = kv + 13;
      else if (!strncmp(kv, "SSL_CIPHER=", 11)) cipher = kv + 11;
      i += k + 1;
    }
    slog(s, "tls", "protocol", proto, "cipher", cipher, (char *)0);
  }
  s->io.rfd = tls_rfd;
  s->io.wfd = tls_wfd;
  io_nonblock(tls_wfd);
  return 1;
}

hooks const real_hooks = {
  .queue_open = q_open, .queue_write = q_write, .queue_close = q_close,
  .auth_check = auth_check, .tls_start = tls_start, .inspect = real_inspect,
  .rcpt_check = real_rcpt_check
};
