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
#include "delivery.h"
#include "exitcodes.h"
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

/* A local delivery costs a process creation on top of its work if every delivery
 * has a process of its own, and on the virtual machines pochta is measured on a
 * fork and an exit cost more than the delivery. So the worker keeps up to POOL_MAX
 * delivery processes of its own, each making one delivery after another in
 * process (delivery.c) and replaced after POOL_USES deliveries, which bounds what a
 * leak in the spam or users code could grow to. A delivery that overruns its time
 * is SIGKILLed with its process, as before; the key makes the repeat safe. An
 * admin's delivery program (POCHTA_DELIVER) still gets a child per delivery. */
#define POOL_MAX 16
#define POOL_USES 1000
#define WAITING_MAX 1024   /* above the runner's highest concurrencylocal */

/* A child per delivery (POCHTA_DELIVER). */
typedef struct { pid_t pid; uint32_t id; int errfd; time_t deadline; } job;

/* A delivery process: fd -1 once it is told to go (it ends when it sees EOF). */
typedef struct { pid_t pid; int fd; int busy; uint32_t id; time_t deadline; unsigned uses; } deliverer;

/* A request waiting for a delivery process. */
typedef struct { size_t n; int fd; char buf[REQ_MAX]; } waiting;

typedef struct {
  int sock;                 /* to the runner */
  job jobs[RUNNING_MAX];
  unsigned njobs;
  deliverer pool[POOL_MAX];
  waiting wait[WAITING_MAX];
  unsigned whead, wlen;
} worker_state;

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

/* One request and the descriptor that came with it; 1 got one, 0 none, -1 EOF or error. */
static int recv_request(int sock, char *buf, size_t cap, size_t *n, int *fd)
{
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
  struct iovec iov = { buf, cap };
  struct msghdr mh;
  ssize_t r;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov; mh.msg_iovlen = 1;
  mh.msg_control = cm.b; mh.msg_controllen = sizeof cm.b;
  *fd = -1;
  r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (r == 0) return -1;
  if (r < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(fd, CMSG_DATA(c), sizeof *fd);
  *n = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? 0 : (size_t)r;
  return 1;
}

/* ----- a delivery process ----- */

static void deliverer_main(int sock) __attribute__((noreturn));
static void deliverer_main(int sock)
{
  users u = USERS_ZERO;   /* kept open from one delivery to the next */
  for (;;) {
    char buf[REQ_MAX], line[WORKER_TEXT_MAX + 1];
    size_t n;
    int fd, r;
    delivery_req q;
    struct pollfd p = { sock, POLLIN, 0 };
    if (poll(&p, 1, -1) < 0 && errno != EINTR) _exit(EX_TEMP);
    r = recv_request(sock, buf, sizeof buf, &n, &fd);
    if (r < 0) _exit(0);   /* told to go, or the worker is gone */
    if (!r) continue;
    if (fd < 0 || !delivery_parse(&q, buf, n)) _exit(EX_TEMP);   /* the worker checked it: cannot be */
    int code = delivery_here(2, fd, &q, &u, line, sizeof line);
    close(fd);
    if (!answer(sock, q.id, W_EXITCODE(code, 0), line, strlen(line))) _exit(EX_TEMP);
  }
}

/* Start a delivery process in slot k. 1 ok, 0 error. */
static int pool_spawn(worker_state *ws, unsigned k, int sfd)
{
  int sv[2];
  pid_t parent = getpid();
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return 0;
  pid_t pid = fork();
  if (pid < 0) { close(sv[0]); close(sv[1]); return 0; }
  if (!pid) {
    sigset_t none;
    sigemptyset(&none);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_SETMASK, &none, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(EX_TEMP);
    close(sv[0]); close(ws->sock); close(sfd);
    for (unsigned i = 0; i < POOL_MAX; i++) if (ws->pool[i].fd >= 0) close(ws->pool[i].fd);
    for (unsigned i = 0; i < ws->wlen; i++) close(ws->wait[(ws->whead + i) % WAITING_MAX].fd);
    for (unsigned i = 0; i < ws->njobs; i++) close(ws->jobs[i].errfd);
    deliverer_main(sv[1]);
  }
  close(sv[1]);
  ws->pool[k] = (deliverer){ .pid = pid, .fd = sv[0], .busy = 0, .uses = 0 };
  return 1;
}

/* Tell delivery process k to go: it sees EOF and ends; reap() frees the slot. */
static void pool_retire(deliverer *d)
{
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
}

/* Hand the waiting requests to idle delivery processes, starting some if needed. */
static void pool_dispatch(worker_state *ws, int sfd)
{
  while (ws->wlen) {
    waiting *w = &ws->wait[ws->whead];
    unsigned k, empty = POOL_MAX;
    for (k = 0; k < POOL_MAX; k++) {
      if (ws->pool[k].pid > 0 && ws->pool[k].fd >= 0 && !ws->pool[k].busy) break;
      if (ws->pool[k].pid <= 0 && empty == POOL_MAX) empty = k;
    }
    if (k == POOL_MAX) {
      if (empty == POOL_MAX || !pool_spawn(ws, empty, sfd)) return;   /* all busy: later */
      k = empty;
    }
    deliverer *d = &ws->pool[k];
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
    struct iovec iov = { w->buf, w->n };
    struct msghdr mh;
    delivery_req q;
    memset(&mh, 0, sizeof mh);
    memset(&cm, 0, sizeof cm);
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    mh.msg_control = cm.b; mh.msg_controllen = sizeof cm.b;
    cm.h.cmsg_level = SOL_SOCKET; cm.h.cmsg_type = SCM_RIGHTS; cm.h.cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(&cm.h), &w->fd, sizeof w->fd);
    (void)delivery_parse(&q, w->buf, w->n);   /* checked when it came */
    ssize_t r;
    do r = sendmsg(d->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT); while (r < 0 && errno == EINTR);
    if (r != (ssize_t)w->n) {
      /* it cannot take a request: let it go; the request waits for another */
      kill(d->pid, SIGKILL);
      pool_retire(d);
      continue;
    }
    d->busy = 1;
    d->id = q.id;
    d->deadline = time(0) + (time_t)q.timeout;
    close(w->fd);
    ws->whead = (ws->whead + 1) % WAITING_MAX;
    ws->wlen--;
  }
}

/* An answer from delivery process k: pass it on. 0 the runner is gone. */
static int pool_answer(worker_state *ws, deliverer *d)
{
  char buf[16 + WORKER_TEXT_MAX];
  ssize_t r;
  do r = recv(d->fd, buf, sizeof buf, MSG_DONTWAIT); while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN) return 1;
  if (r <= 0 || r < 9 || buf[0] != 'A' || !d->busy || memcmp(buf + 1, &d->id, 4)) {
    /* gone, or saying what it should not: it goes; reap() answers for it */
    if (r != 0) kill(d->pid, SIGKILL);
    pool_retire(d);
    return 1;
  }
  d->busy = 0;
  if (++d->uses >= POOL_USES) pool_retire(d);
  for (;;) {
    ssize_t s = send(ws->sock, buf, (size_t)r, MSG_NOSIGNAL);
    if (s >= 0) return 1;
    if (errno != EINTR) return 0;
  }
}

/* ----- a child per delivery: the admin's program ----- */

/* In the child: fd 0 is the message, fd 2 the line, logfd the runner's log. */
static void exec_program(int logfd, char const *prog, delivery_req const *q) __attribute__((noreturn));
static void exec_program(int logfd, char const *prog, delivery_req const *q)
{
  stralloc md = STRALLOC_ZERO, junk = STRALLOC_ZERO;
  deliver_opt o;
  char header[DELIVERY_HEADER_MAX];
  char const *dir;
  char line[WORKER_TEXT_MAX + 1];
  users u = USERS_ZERO;
  int code = delivery_prepare(logfd, 0, q, &u, &md, &junk, &o, header, &dir, line, sizeof line);
  if (code >= 0) { dprintf(2, "%s\n", line); _exit(code); }
  if (logfd >= 0) close(logfd);
  /* A delivery program of the admin's (pochta-deliver's interface), as in qmail:
     given the folder spam filing chose. */
  char const *argv[] = { prog, "-k", q->key, "-f", q->sender, "-t", q->rcpt, dir, 0 };
  execv(prog, (char *const *)argv);
  dprintf(2, "4.3.0 cannot run %s: %s\n", prog, strerror(errno));
  _exit(EX_TEMP);
}

static void job_start(worker_state *ws, char const *prog, delivery_req const *q, int msgfd)
{
  char line[200];
  job *j;
  if (ws->njobs >= RUNNING_MAX) {
    answer(ws->sock, q->id, W_EXITCODE(EX_TEMP, 0), line, (size_t)snprintf(line, sizeof line, "4.3.0 too many deliveries at once"));
    close(msgfd);
    return;
  }
  j = &ws->jobs[ws->njobs];
  j->id = q->id;
  j->deadline = time(0) + (time_t)q->timeout;
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
    close(ws->sock);
    exec_program(logfd, prog, q);
  }
  close(msgfd);
  ws->njobs++;
  return;
 fail:
  answer(ws->sock, q->id, W_EXITCODE(EX_TEMP, 0), line, (size_t)snprintf(line, sizeof line, "4.3.0 cannot start the delivery: %s", strerror(errno)));
  close(msgfd);
}

/* ----- the worker's loop ----- */

/* A request from the runner: to the pool (or a child of its own), or answered at
 * once if it cannot be taken. */
static void take(worker_state *ws, char const *buf, size_t n, int fd, int sfd)
{
  char line[200];
  delivery_req q;
  char const *prog = getenv("POCHTA_DELIVER");
  if (fd < 0 || !delivery_parse(&q, buf, n)) {
    /* a malformed request is the runner's bug: say so where it is logged */
    fprintf(stderr, "pochta-send: event=error what=\"malformed request to the delivery worker\"\n");
    if (fd >= 0) close(fd);
    return;
  }
  if (prog && *prog) { job_start(ws, prog, &q, fd); return; }
  if (ws->wlen >= WAITING_MAX) {
    answer(ws->sock, q.id, W_EXITCODE(EX_TEMP, 0), line, (size_t)snprintf(line, sizeof line, "4.3.0 too many deliveries at once"));
    close(fd);
    return;
  }
  waiting *w = &ws->wait[(ws->whead + ws->wlen) % WAITING_MAX];
  memcpy(w->buf, buf, n);
  w->n = n;
  w->fd = fd;
  ws->wlen++;
  pool_dispatch(ws, sfd);
}

static void reap(worker_state *ws)
{
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    unsigned k;
    char text[WORKER_TEXT_MAX];
    if (pid <= 0) return;
    for (k = 0; k < POOL_MAX && ws->pool[k].pid != pid; k++) ;
    if (k < POOL_MAX) {
      deliverer *d = &ws->pool[k];
      /* an answer it sent before it ended counts: read it first */
      if (d->fd >= 0 && d->busy && !pool_answer(ws, d)) _exit(EX_TEMP);
      if (d->busy) {
        /* Never "delivered" without its own answer: an exit without one is a
           temporary failure, a kill (the deadline) is passed on as it was. */
        int as = WIFSIGNALED(st) ? st : W_EXITCODE(EX_TEMP, 0);
        size_t n = WIFSIGNALED(st) ? 0 : (size_t)snprintf(text, sizeof text, "4.3.0 the delivery process ended without an answer");
        if (!answer(ws->sock, d->id, as, text, n)) _exit(EX_TEMP);
      }
      pool_retire(d);
      *d = (deliverer){ .pid = 0, .fd = -1 };
      continue;
    }
    for (k = 0; k < ws->njobs && ws->jobs[k].pid != pid; k++) ;
    if (k == ws->njobs) continue;
    size_t n = first_line(ws->jobs[k].errfd, text, sizeof text);
    close(ws->jobs[k].errfd);
    if (!answer(ws->sock, ws->jobs[k].id, st, text, n)) _exit(EX_TEMP);   /* the runner is gone */
    ws->jobs[k] = ws->jobs[--ws->njobs];
  }
}

static void kill_overdue(worker_state const *ws, time_t now)
{
  /* SIGKILL, as the runner always did: the key makes a repeat safe. */
  for (unsigned k = 0; k < ws->njobs; k++) if (now > ws->jobs[k].deadline) kill(ws->jobs[k].pid, SIGKILL);
  for (unsigned k = 0; k < POOL_MAX; k++)
    if (ws->pool[k].pid > 0 && ws->pool[k].busy && now > ws->pool[k].deadline) kill(ws->pool[k].pid, SIGKILL);
}

static void worker_main(int sock) __attribute__((noreturn));
static void worker_main(int sock)
{
  static worker_state ws;
  sigset_t set;
  int sfd;
  ws.sock = sock;
  for (unsigned k = 0; k < POOL_MAX; k++) ws.pool[k] = (deliverer){ .pid = 0, .fd = -1 };
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, 0) < 0 || (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) _exit(EX_TEMP);
  for (;;) {
    struct pollfd p[2 + POOL_MAX];
    unsigned np = 2, busy = ws.njobs, at[POOL_MAX];
    p[0] = (struct pollfd){ sock, POLLIN, 0 };
    p[1] = (struct pollfd){ sfd, POLLIN, 0 };
    for (unsigned k = 0; k < POOL_MAX; k++) {
      if (ws.pool[k].pid <= 0 || ws.pool[k].fd < 0) continue;
      busy += (unsigned)ws.pool[k].busy;
      at[np - 2] = k;
      p[np++] = (struct pollfd){ ws.pool[k].fd, POLLIN, 0 };
    }
    if (poll(p, np, busy || ws.wlen ? 1000 : -1) < 0 && errno != EINTR) _exit(EX_TEMP);
    for (unsigned i = 2; i < np; i++)
      if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) && ws.pool[at[i - 2]].fd >= 0 && !pool_answer(&ws, &ws.pool[at[i - 2]]))
        _exit(EX_TEMP);   /* the runner is gone */
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) ;
      reap(&ws);
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      for (int i = 0; i < 64; i++) {
        char buf[REQ_MAX];
        size_t n;
        int fd, r = recv_request(sock, buf, sizeof buf, &n, &fd);
        if (r < 0) _exit(0);   /* the runner stopped: so do we (running deliveries are killed with us) */
        if (!r) break;
        take(&ws, buf, n, fd, sfd);
      }
    }
    pool_dispatch(&ws, sfd);
    kill_overdue(&ws, time(0));
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
