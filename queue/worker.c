/* See worker.h. Requests and answers are single datagrams (SOCK_SEQPACKET):
 *   request  'D' u32 id, u32 timeout, key\0 sender\0 rcpt\0, and the message's fd
 *   answer   'A' u32 id, i32 wait status, the delivery's line
 * The worker trusts the runner no more than it must: it looks the recipient's
 * Maildir up in users.cdb itself, so a runner in the wrong hands can deliver only
 * to real users, which it could do through the queue anyway. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "deliver.h"
#include "exitcodes.h"
#include "maildir.h"
#include "mime.h"
#include "spam.h"
#include "users.h"
#include "worker.h"

#define REQ_MAX 1024
#ifndef W_EXITCODE   /* (glibc has it, musl not) */
#define W_EXITCODE(ret, sig) ((ret) << 8 | (sig))
#endif
#define RUNNING_MAX 2048

/* ---------- the runner's side ---------- */

int worker_send(worker const *w, uint32_t id, int msgfd, char const *key, char const *sender,
                char const *rcpt, unsigned timeout)
{
  char buf[REQ_MAX];
  size_t n = 9, kl = strlen(key), sl = strlen(sender), rl = strlen(rcpt);
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
  struct iovec iov;
  struct msghdr mh;
  if (n + kl + sl + rl + 3 > sizeof buf) { errno = ENAMETOOLONG; return 0; }
  buf[0] = 'D';
  memcpy(buf + 1, &id, 4);
  memcpy(buf + 5, &(uint32_t){ timeout }, 4);
  memcpy(buf + n, key, kl + 1); n += kl + 1;
  memcpy(buf + n, sender, sl + 1); n += sl + 1;
  memcpy(buf + n, rcpt, rl + 1); n += rl + 1;
  iov.iov_base = buf; iov.iov_len = n;
  memset(&mh, 0, sizeof mh);
  memset(&cm, 0, sizeof cm);
  mh.msg_iov = &iov; mh.msg_iovlen = 1;
  mh.msg_control = cm.b; mh.msg_controllen = sizeof cm.b;
  cm.h.cmsg_level = SOL_SOCKET; cm.h.cmsg_type = SCM_RIGHTS; cm.h.cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(&cm.h), &msgfd, sizeof msgfd);
  for (;;) {
    ssize_t r = sendmsg(w->fd, &mh, MSG_NOSIGNAL);
    if (r == (ssize_t)n) return 1;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) {   /* the worker is behind: wait for room */
      struct pollfd p = { w->fd, POLLOUT, 0 };
      if (poll(&p, 1, 10000) <= 0) { errno = ETIMEDOUT; return 0; }
      continue;
    }
    if (r >= 0) errno = EMSGSIZE;
    return 0;
  }
}

int worker_recv(worker const *w, uint32_t *id, int *status, char *text, size_t textlen)
{
  char buf[16 + WORKER_TEXT_MAX];
  ssize_t r;
  size_t n;
  do r = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT); while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EAGAIN ? 0 : -1;
  if (r < 9 || buf[0] != 'A') { errno = r ? EPROTO : EPIPE; return -1; }
  memcpy(id, buf + 1, 4);
  memcpy(status, buf + 5, 4);
  n = (size_t)r - 9;
  if (n >= textlen) n = textlen - 1;
  memcpy(text, buf + 9, n);
  text[n] = 0;
  return 1;
}

/* ---------- the worker ---------- */

typedef struct { pid_t pid; uint32_t id; int errfd; time_t deadline; } job;

static int answer(int sock, uint32_t id, int status, char const *text, size_t len)
{
  char buf[16 + WORKER_TEXT_MAX];
  if (len > WORKER_TEXT_MAX) len = WORKER_TEXT_MAX;
  buf[0] = 'A';
  memcpy(buf + 1, &id, 4);
  memcpy(buf + 5, &status, 4);
  memcpy(buf + 9, text, len);
  for (;;) {
    ssize_t r = send(sock, buf, 9 + len, MSG_NOSIGNAL);
    if (r >= 0) return 1;
    if (errno != EINTR) return 0;
  }
}

/* The first line a delivery wrote on its fd 2. */
static size_t first_line(int fd, char *out, size_t cap)
{
  size_t n = 0;
  if (lseek(fd, 0, SEEK_SET) < 0) return 0;
  while (n < cap) {
    ssize_t r = read(fd, out + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  char *nl = memchr(out, '\n', n);
  return nl ? (size_t)(nl - out) : n;
}

/* Spam filing (spam/spam.h, pochta-spam(5)): INBOX or its .Junk folder for a
 * message our smtpd scored, the X-Spam-Bayes field, and one log line on logfd (the
 * runner's log). Looking may fail in many ways and none fails the delivery; only a
 * broken <confdir>/spam does, as every configuration fault (a temporary failure).
 * *dir is where the message goes; o->alt the other folder, where a repeat of this
 * keyed delivery may find it. */
static void spam_stage(int logfd, char const *key, char const *rcpt, char const *md,
                       stralloc *junk, deliver_opt *o, char const **dir)
{
  mime_msg m = MIME_MSG_ZERO;
  spam_junk j;
  *dir = md;
  if (!mime_msg_map(&m, 0)) {
    dprintf(logfd, "pochta-send: event=spam key=%s rcpt=\"%s\" problem=\"cannot map the message: %s\"\n", key, rcpt, strerror(errno));
    return;
  }
  int ok = spam_deliver_decide(md, m.data, m.len, &j);
  mime_msg_unmap(&m);
  if (!ok) { dprintf(2, "4.3.0 %s\n", j.why); _exit(EX_TEMP); }
  if (!j.scored) return;   /* not from port 25: nothing to say */
  o->header = j.header;
  if (j.junk) {
    if (!spam_junk_folder(junk, md)) {
      dprintf(logfd, "pochta-send: event=spam key=%s rcpt=\"%s\" %s problem=\"no Junk folder, INBOX instead: %s\"\n", key, rcpt, j.why, strerror(errno));
      return;
    }
    *dir = junk->s;
    o->alt = md;
  } else if (stralloc_cats(junk, md) && stralloc_cats(junk, "/.Junk") && stralloc_0(junk) && maildir_check(junk->s))
    o->alt = junk->s;
  dprintf(logfd, "pochta-send: event=spam key=%s rcpt=\"%s\" %s\n", key, rcpt, j.why);
}

/* In the child: one delivery, never returns. fd 0 is the message, fd 2 the line,
 * logfd the runner's log. */
static void deliver_one(int logfd, char const *key, char const *sender, char const *rcpt) __attribute__((noreturn));
static void deliver_one(int logfd, char const *key, char const *sender, char const *rcpt)
{
  users u = USERS_ZERO;
  stralloc canon = STRALLOC_ZERO, md = STRALLOC_ZERO;
  char const *prog = getenv("POCHTA_DELIVER");
  int r;
  if (users_open(&u) < 0) {
    dprintf(2, "4.3.0 cannot use users.cdb: %s\n", users_why(errno));
    _exit(EX_TEMP);
  }
  if (!users_canon(&canon, rcpt, strlen(rcpt))) { dprintf(2, "5.1.3 bad recipient address\n"); _exit(EX_PERM); }
  r = users_maildir(&u, canon.s, &md);
  if (r < 0) { dprintf(2, "4.3.0 cannot read users.cdb: %s\n", users_why(errno)); _exit(EX_TEMP); }
  if (!r) { dprintf(2, "5.1.1 no such user here\n"); _exit(EX_PERM); }
  users_close(&u);
  stralloc junk = STRALLOC_ZERO;
  deliver_opt o = { 0, 0 };
  char const *dir;
  spam_stage(logfd, key, rcpt, md.s, &junk, &o, &dir);
  if (logfd >= 0) close(logfd);
  if (prog && *prog) {
    /* A delivery program of the admin's (pochta-deliver's interface), as in qmail:
       given the folder spam filing chose. */
    char const *argv[] = { prog, "-k", key, "-f", sender, "-t", rcpt, dir, 0 };
    execv(prog, (char *const *)argv);
    dprintf(2, "4.3.0 cannot run %s: %s\n", prog, strerror(errno));
    _exit(EX_TEMP);
  }
  deliver_exit_opt(0, dir, sender, rcpt, key, &o);
}

/* Parse a request and start its delivery; answer at once if it cannot start. */
static void start(int sock, char *buf, size_t n, int msgfd, job *jobs, unsigned *njobs)
{
  uint32_t id, timeout;
  char const *key, *sender, *rcpt, *end = buf + n;
  char line[200];
  job *j;
  if (n < 12 || buf[n - 1]) goto bad;
  memcpy(&id, buf + 1, 4);
  memcpy(&timeout, buf + 5, 4);
  key = buf + 9;
  sender = key + strlen(key) + 1;
  if (sender >= end) goto bad;
  rcpt = sender + strlen(sender) + 1;
  if (rcpt >= end || rcpt + strlen(rcpt) + 1 != end) goto bad;
  if (*njobs >= RUNNING_MAX) {
    answer(sock, id, W_EXITCODE(EX_TEMP, 0), line, (size_t)snprintf(line, sizeof line, "4.3.0 too many deliveries at once"));
    close(msgfd);
    return;
  }
  j = &jobs[*njobs];
  j->id = id;
  j->deadline = time(0) + (time_t)timeout;
  j->errfd = memfd_create("pochta-delivery", MFD_CLOEXEC);
  if (j->errfd < 0) goto fail;
  j->pid = fork();
  if (j->pid < 0) { close(j->errfd); goto fail; }
  if (!j->pid) {
    sigset_t none;
    sigemptyset(&none);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) _exit(EX_TEMP);
    /* the worker's stderr (the runner's log) stays reachable for a log line */
    int logfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (dup2(msgfd, 0) < 0 || dup2(j->errfd, 2) < 0) _exit(EX_TEMP);
    close(sock);
    deliver_one(logfd, key, sender, rcpt);
  }
  close(msgfd);
  ++*njobs;
  return;
 fail:
  answer(sock, id, W_EXITCODE(EX_TEMP, 0), line, (size_t)snprintf(line, sizeof line, "4.3.0 cannot start the delivery: %s", strerror(errno)));
  close(msgfd);
  return;
 bad:
  /* a malformed request is the runner's bug: say so where it is logged */
  fprintf(stderr, "pochta-send: event=error what=\"malformed request to the delivery worker\"\n");
  if (msgfd >= 0) close(msgfd);
}

static void reap(int sock, job *jobs, unsigned *njobs)
{
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    unsigned k;
    char text[WORKER_TEXT_MAX];
    if (pid <= 0) return;
    for (k = 0; k < *njobs && jobs[k].pid != pid; k++) ;
    if (k == *njobs) continue;
    size_t n = first_line(jobs[k].errfd, text, sizeof text);
    close(jobs[k].errfd);
    if (!answer(sock, jobs[k].id, st, text, n)) _exit(EX_TEMP);   /* the runner is gone */
    jobs[k] = jobs[--*njobs];
  }
}

static void kill_overdue(job const *jobs, unsigned njobs, time_t now)
{
  /* SIGKILL, as the runner always did: the key makes a repeat safe. */
  for (unsigned k = 0; k < njobs; k++) if (now > jobs[k].deadline) kill(jobs[k].pid, SIGKILL);
}

static void worker_main(int sock) __attribute__((noreturn));
static void worker_main(int sock)
{
  static job jobs[RUNNING_MAX];
  unsigned njobs = 0;
  sigset_t set;
  int sfd;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, 0) < 0 || (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) _exit(EX_TEMP);
  for (;;) {
    struct pollfd p[2] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 } };
    if (poll(p, 2, njobs ? 1000 : -1) < 0 && errno != EINTR) _exit(EX_TEMP);
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) ;
      reap(sock, jobs, &njobs);
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[REQ_MAX];
      union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
      struct iovec iov = { buf, sizeof buf };
      struct msghdr mh;
      int fd = -1;
      ssize_t r;
      memset(&mh, 0, sizeof mh);
      mh.msg_iov = &iov; mh.msg_iovlen = 1;
      mh.msg_control = cm.b; mh.msg_controllen = sizeof cm.b;
      r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (r == 0) _exit(0);   /* the runner stopped: so do we (running deliveries finish) */
      if (r < 0 && errno != EAGAIN && errno != EINTR) _exit(EX_TEMP);
      if (r > 0) {
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
          memcpy(&fd, CMSG_DATA(c), sizeof fd);
        if (buf[0] == 'D' && fd >= 0 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) start(sock, buf, (size_t)r, fd, jobs, &njobs);
        else start(sock, buf, 0, fd, jobs, &njobs);   /* answers nothing, logs, closes fd */
      }
    }
    kill_overdue(jobs, njobs, time(0));
  }
}

int worker_start(worker *w, account const *as)
{
  int sv[2];
  pid_t parent = getpid();
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return 0;
  w->pid = fork();
  if (w->pid < 0) { int e = errno; close(sv[0]); close(sv[1]); errno = e; return 0; }
  if (!w->pid) {
    close(sv[0]);
    if (as && !account_become(as)) {
      fprintf(stderr, "pochta-send: event=fatal what=\"delivery worker: become the Maildir owner\" error=\"%s\"\n", strerror(errno));
      _exit(EX_TEMP);
    }
    /* set after the switch, which clears it; the runner may have died meanwhile */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(EX_TEMP);
    worker_main(sv[1]);
  }
  close(sv[1]);
  w->fd = sv[0];
  if (fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0) return 0;
  return 1;
}
