/* pochta-send: the queue runner, pochta's one long-running daemon.
 *
 * One process, one poll loop. Events: the trigger FIFO (new messages, and
 * commands from pochta-queuectl), signals through a signalfd (children,
 * TERM, ALRM, HUP), and time (retries, the periodic rescan). Each iteration:
 * reap finished jobs and record their results (state/ written durably once per
 * iteration, before anything that depends on it), start what is due within
 * the concurrency limits, then load at most a bounded number of new messages,
 * so a flood of new mail never starves deliveries (qmail's fault).
 * The on-disk format and the crash windows are in pochta-queue(5). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "account.h"
#include "conf.h"
#include "exitcodes.h"
#include "qcheck.h"
#include "qdir.h"
#include "pickup.h"
#include "qfmt.h"
#include "sched.h"
#include "spawn.h"
#include "users.h"
#include "worker.h"

#define NEW_PER_ROUND 256    /* new messages loaded per loop iteration */
#define DROP_PER_ROUND 64    /* dropped messages (pochta-postdrop) queued per iteration */
#define RESCAN_EVERY 30      /* seconds between scans of new/ without a trigger */
#define MAX_SLOTS 1000
#define REMOTE_RCPT_MAX 100  /* recipients per pochta-remote call */

enum { J_LOCAL, J_REMOTE, J_BOUNCE };

typedef struct job_s job;
struct job_s {
  pid_t pid;
  msg *m;
  int kind;
  size_t *idx, n;        /* recipients this job delivers */
  int outfd, errfd, f3;  /* anonymous files the child writes (or -1) */
  char domain[256];
  uint64_t start;
};

static struct {
  unsigned long lifetime, clocal, cremote, cdomain, retrymin, retrymax, jobtimeout;
  char me[256];   /* this host, for the Received field of picked-up mail */
} cf;

/* The local delivery worker (running as the Maildir owner), or why there is none:
 * local deliveries then wait, as temporary failures. */
static worker wk = WORKER_ZERO;
static char const *noworker;
static uint32_t wk_next = 1;   /* delivery numbers: a local job's pid is -number */

static job jobs[2 * MAX_SLOTS + 1];
static unsigned njobs, nlocal, nremote;
static users ucdb = USERS_ZERO;
static uint64_t now;
static msg *touched;
static int stopping;

/* ---------- logging: one line per event, key=value ---------- */

static void logq(char const *k, char const *v)
{
  /* Quote values that need it; the value was sanitised of controls and '"'. */
  if (!v) v = "";
  if (!*v || strpbrk(v, " \t=")) fprintf(stderr, " %s=\"%s\"", k, v);
  else fprintf(stderr, " %s=%s", k, v);
}

static void logid(char const *event, msg const *m)
{
  char x[QID_LEN + 1];
  fprintf(stderr, "pochta-send: event=%s", event);
  if (m) { qid_fmt(x, m->id); fprintf(stderr, " id=%s", x); }
}

static void logend(void) { fputc('\n', stderr); }

static void logsys(char const *what)
{
  fprintf(stderr, "pochta-send: event=error what=\"%s\" error=\"%s\"\n", what, strerror(errno));
}

/* ---------- configuration ---------- */

static unsigned long conf_num(char const *name, unsigned long def, unsigned long lo, unsigned long hi)
{
  unsigned long v;
  if (conf_ulong(&v, name, def) < 0) {
    fprintf(stderr, "pochta-send: event=config file=%s error=\"%s\" using=%lu\n", name,
            errno == EINVAL ? "not a number" : strerror(errno), def);
    return def;
  }
  return v < lo ? lo : v > hi ? hi : v;
}

static void config_read(void)
{
  stralloc sa = STRALLOC_ZERO;
  if (conf_line(&sa, "me") > 0 && sa.len && sa.len < sizeof cf.me && !strpbrk(sa.s, " \t\r\n")) memcpy(cf.me, sa.s, sa.len + 1);
  else snprintf(cf.me, sizeof cf.me, "localhost");
  stralloc_free(&sa);
  cf.lifetime = conf_num("queuelifetime", 432000, 0, 100UL * 86400);
  cf.clocal = conf_num("concurrencylocal", 10, 1, MAX_SLOTS);
  cf.cremote = conf_num("concurrencyremote", 20, 1, MAX_SLOTS);
  cf.cdomain = conf_num("concurrencydomain", 5, 1, MAX_SLOTS);
  cf.retrymin = conf_num("retrymin", 60, 1, 86400);
  cf.retrymax = conf_num("retrymax", 14400, 1, 7 * 86400);
  cf.jobtimeout = conf_num("jobtimeout", 7200, 10, 7 * 86400);
  fprintf(stderr, "pochta-send: event=config lifetime=%lu local=%lu remote=%lu perdomain=%lu retrymin=%lu retrymax=%lu\n",
    cf.lifetime, cf.clocal, cf.cremote, cf.cdomain, cf.retrymin, cf.retrymax);
}

/* Reopen users.cdb when pochta compile replaced it. A missing, damaged or foreign
 * file is a configuration fault: every delivery waits (blocked, never bounced)
 * until it is mended, and the fault is logged once, when it starts. */
static int ucdb_bad;
static void users_refresh(void)
{
  if (users_reopen(&ucdb) > 0) {
    if (ucdb_bad) { logid("config", 0); logq("file", "users.cdb"); logq("result", "ok"); logend(); }
    ucdb_bad = 0;
    return;
  }
  int e = errno;
  if (!ucdb_bad) {
    logid("config", 0); logq("file", "users.cdb"); logq("result", "fault"); logq("error", users_why(e));
    logq("effect", "every delivery waits until it is mended"); logend();
  }
  ucdb_bad = 1;
}

/* ---------- retry schedule ---------- */

static uint64_t backoff(unsigned attempts)
{
  static unsigned const f[] = { 1, 5, 15, 30, 60, 120, 240 };
  unsigned k = attempts ? attempts - 1 : 0;
  uint64_t d = (uint64_t)cf.retrymin * (k < 7 ? f[k] : f[6] * (uint64_t)(k - 5));
  return d > cf.retrymax ? cf.retrymax : d;
}

/* ---------- messages ---------- */

static void touch(msg *m)
{
  if (m->touched) return;
  m->touched = 1;
  m->tnext = touched;
  touched = m;
}

static void msg_free(msg *m)
{
  sched_unplace(m);
  msgs_del(m);
  qenv_free(&m->e);
  free(m->busy);
  free(m);
}

/* Put a broken message aside in bad/ where pochta-queuectl check shows it. */
static void quarantine(uint64_t id, char const *why)
{
  char x[QID_LEN + 1];
  qid_fmt(x, id);
  fprintf(stderr, "pochta-send: event=quarantine id=%s why=\"%s\"\n", x, why);
  if (!qcheck_quarantine(id)) logsys("quarantine");
}

static msg *msg_load(uint64_t id)
{
  msg *m = calloc(1, sizeof *m);
  int r;
  if (!m) return 0;
  m->id = id;
  r = qmsg_load(id, &m->e);
  if (r <= 0) {
    if (r == -2) quarantine(id, "malformed envelope");
    else if (r < 0) logsys("read envelope");
    qenv_free(&m->e); free(m); return 0;
  }
  m->busy = calloc(m->e.n, 1);
  if (!m->busy || !msgs_add(m)) { qenv_free(&m->e); free(m->busy); free(m); errno = ENOMEM; logsys("load message"); return 0; }
  logid("load", m);
  fprintf(stderr, " rcpts=%zu todo=%zu", m->e.n, qenv_count(&m->e, 'T'));
  logq("from", m->e.sender);
  logend();
  touch(m);
  return m;
}

static int has_failures(msg const *m)
{
  return qenv_count(&m->e, 'D') + qenv_count(&m->e, 'Z') > 0;
}

/* Earliest time one of m's idle recipients is due; 0 if it has none. */
static uint64_t next_due(msg const *m, int *any)
{
  uint64_t d = UINT64_MAX;
  *any = 0;
  for (size_t i = 0; i < m->e.n; i++) {
    if (m->e.r[i].status != 'T' || m->busy[i]) continue;
    *any = 1;
    if (m->e.r[i].next < d) d = m->e.r[i].next;
  }
  return *any ? d : 0;
}

/* ---------- starting jobs ---------- */

static job *job_new(msg *m, int kind)
{
  job *j;
  if (njobs >= sizeof jobs / sizeof *jobs) return 0;
  j = &jobs[njobs];
  memset(j, 0, sizeof *j);
  j->m = m; j->kind = kind; j->outfd = j->errfd = j->f3 = -1;
  j->start = now;
  return j;
}

static void job_closefds(job *j)
{
  if (j->outfd >= 0) close(j->outfd);
  if (j->errfd >= 0) close(j->errfd);
  if (j->f3 >= 0) close(j->f3);
  j->outfd = j->errfd = j->f3 = -1;
}

static int open_mess(msg *m)
{
  char p[QPATH_LEN];
  int fd;
  qpath_mess(p, m->id);
  fd = qfile_open(p);
  if (fd < 0 && errno != ENOENT && errno != EPERM) logsys("open message file");
  return fd;
}

static void result(msg *m, size_t i, char code, char const *text, size_t len, char const *kind);

/* Commit a started job to the table. */
static void job_commit(job *j, pid_t pid)
{
  j->pid = pid;
  njobs++;
  j->m->running++;
  for (size_t k = 0; k < j->n; k++) j->m->busy[j->idx[k]] = 1;
  if (j->kind == J_REMOTE) nremote++; else nlocal++;
}

/* The program is not installed: the recipients stay queued, with a status
 * that says so, and are tried again later; this is no attempt. */
static void missing(msg *m, size_t const *idx, size_t n, char const *prog)
{
  char t[128];
  snprintf(t, sizeof t, "%s is not installed: waiting for it", prog);
  for (size_t k = 0; k < n; k++) {
    qrcpt *r = &m->e.r[idx[k]];
    qrcpt_seterr(r, t, strlen(t));
    r->next = now + backoff(3);
    logid("missing", m);
    logq("rcpt", r->addr); logq("program", prog); logend();
  }
  m->dirty = 1;
  touch(m);
}

/* The message's data, opened as untrusted (qfile_open). Missing, or not a plain
 * file of ours (a symlink, a FIFO, a hard link planted in the queue): the message
 * is quarantined and -1 returned. */
static int open_mess_or_quarantine(msg *m)
{
  int fd = open_mess(m);
  if (fd >= 0) return fd;
  if (errno == ENOENT || errno == EPERM) {
    quarantine(m->id, errno == ENOENT ? "message file missing" : "message file is not a plain file of the queue's");
    m->deleted = 1; m->why = "quarantined"; touch(m);
  }
  return -1;
}

static int start_local(msg *m, size_t i)
{
  job *j;
  char key[64], qid[QID_LEN + 1];
  uint32_t id;
  int in;
  if (noworker) {
    char t[160];
    snprintf(t, sizeof t, "4.3.0 local delivery is off: %s", noworker);
    result(m, i, 'Z', t, strlen(t), "local");
    return 1;
  }
  if (!(j = job_new(m, J_LOCAL))) return 0;
  /* names the Maildir file for good: a repeat after a crash finds it there */
  qid_fmt(qid, m->id);
  snprintf(key, sizeof key, "%llu.Q%sR%zu", (unsigned long long)m->e.born, qid, i);
  j->idx = malloc(sizeof *j->idx);
  if (!j->idx) return 0;
  j->idx[0] = i; j->n = 1;
  if ((in = open_mess_or_quarantine(m)) < 0) { free(j->idx); return 0; }
  id = wk_next++;
  if (!id || id > 0x7fffffff) id = wk_next = 1;
  if (!worker_send(&wk, id, in, key, m->e.sender, m->e.r[i].addr, (unsigned)cf.jobtimeout)) {
    logsys("send a delivery to the worker");
    close(in); free(j->idx);
    return 0;
  }
  close(in);
  job_commit(j, -(pid_t)id);
  return 1;
}

static int start_remote(msg *m, size_t const *idx, size_t n, char const *domain)
{
  job *j = job_new(m, J_REMOTE);
  char const **argv;
  int in;
  pid_t pid;
  if (!j) return 0;
  argv = calloc(n + 4, sizeof *argv);
  j->idx = malloc(n * sizeof *j->idx);
  if (!argv || !j->idx) { free(argv); free(j->idx); return 0; }
  memcpy(j->idx, idx, n * sizeof *idx); j->n = n;
  snprintf(j->domain, sizeof j->domain, "%s", domain);
  argv[0] = "pochta-remote"; argv[1] = j->domain; argv[2] = m->e.sender;
  for (size_t k = 0; k < n; k++) argv[3 + k] = m->e.r[idx[k]].addr;
  if ((in = open_mess_or_quarantine(m)) < 0) { free(argv); free(j->idx); return 0; }
  j->outfd = anonfile();
  if (j->outfd < 0) { logsys("memfd"); close(in); free(argv); free(j->idx); return 0; }
  /* The remote program's stderr is its own log: it goes where ours goes. */
  pid = spawn(argv, in, j->outfd, -1, -1);
  close(in);
  free(argv);
  if (pid < 0) {
    int e = errno;
    job_closefds(j);
    if (e == ENOENT) missing(m, j->idx, n, "pochta-remote");
    else { errno = e; logsys("start pochta-remote"); }
    free(j->idx);
    return 0;
  }
  job_commit(j, pid);
  return 1;
}

static int domain_running(char const *d)
{
  int c = 0;
  for (unsigned k = 0; k < njobs; k++) if (jobs[k].kind == J_REMOTE && !strcmp(jobs[k].domain, d)) c++;
  return c;
}

/* Lowercased domain of addr into d. 0 if it has none (cannot happen for a
 * validated envelope, but state files come from disk). */
static int domain_of(char const *addr, char d[256])
{
  char const *at = strrchr(addr, '@');
  size_t n;
  if (!at || !at[1] || (n = strlen(at + 1)) > 255) return 0;
  for (size_t i = 0; i <= n; i++) { char c = at[1 + i]; d[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
  return 1;
}

/* Start every job of m that is due and fits the limits. Returns what something
 * due was left waiting for: WAIT_LOCAL (a local slot, or users.cdb), WAIT_REMOTE
 * (a remote slot or its domain's), or 0. */
#define WAIT_LOCAL 1
#define WAIT_REMOTE 2
static int start_work(msg *m)
{
  int blockedp = 0;
  for (size_t i = 0; i < m->e.n && !m->deleted; i++) {
    qrcpt *r = &m->e.r[i];
    char dom[256];
    stralloc canon = STRALLOC_ZERO, md = STRALLOC_ZERO;
    int loc;
    if (r->status != 'T' || m->busy[i] || r->next > now) continue;
    if (ucdb_bad) { blockedp |= WAIT_LOCAL; continue; }   /* logged by users_refresh */
    if (!domain_of(r->addr, dom)) { result(m, i, 'D', "5.1.3 bad recipient address", 27, "none"); continue; }
    loc = users_domain_local(&ucdb, dom);
    if (loc < 0) { logsys("read users.cdb"); blockedp |= WAIT_LOCAL; continue; }
    if (loc) {
      int u;
      if (nlocal >= cf.clocal) { blockedp |= WAIT_LOCAL; continue; }
      if (!users_canon(&canon, r->addr, strlen(r->addr))) { result(m, i, 'D', "5.1.3 bad recipient address", 27, "local"); continue; }
      u = users_maildir(&ucdb, canon.s, &md);
      stralloc_free(&canon);
      if (u < 0) { logsys("read users.cdb"); blockedp |= WAIT_LOCAL; stralloc_free(&md); continue; }
      if (!u) { result(m, i, 'D', "5.1.1 no such user here", 23, "local"); stralloc_free(&md); continue; }
      if (!start_local(m, i) && !m->deleted && r->next <= now) blockedp |= WAIT_LOCAL;
      stralloc_free(&md);
    } else {
      size_t idx[REMOTE_RCPT_MAX], n = 0;
      if (nremote >= cf.cremote || domain_running(dom) >= (int)cf.cdomain) { blockedp |= WAIT_REMOTE; continue; }
      /* One call per message per domain: gather this domain's due recipients. */
      for (size_t k = i; k < m->e.n && n < REMOTE_RCPT_MAX; k++) {
        char d2[256];
        qrcpt *q = &m->e.r[k];
        if (q->status != 'T' || m->busy[k] || q->next > now) continue;
        if (!domain_of(q->addr, d2) || strcmp(d2, dom)) continue;
        idx[n++] = k;
      }
      if (!start_remote(m, idx, n, dom) && !m->deleted && r->next <= now) blockedp |= WAIT_REMOTE;
    }
  }
  if (njobs >= sizeof jobs / sizeof *jobs && !blockedp) blockedp = WAIT_LOCAL;
  return blockedp;
}

/* The bounce: pochta-bounce SENDER, message on fd 0, failures on fd 3. */
static void start_bounce(msg *m)
{
  job *j = job_new(m, J_BOUNCE);
  char const *argv[] = { "pochta-bounce", m->e.sender, 0 };
  stralloc f = STRALLOC_ZERO;
  int in;
  pid_t pid;
  if (!j) return;
  for (size_t i = 0; i < m->e.n; i++) {
    qrcpt const *r = &m->e.r[i];
    if (r->status != 'D' && r->status != 'Z') continue;
    if (!stralloc_cats(&f, r->addr) || !stralloc_catb(&f, "\t", 1) || !stralloc_catb(&f, r->status == 'D' ? "D\t" : "Z\t", 2)
        || !stralloc_cats(&f, r->err ? r->err : "unknown") || !stralloc_catb(&f, "\n", 1)) { stralloc_free(&f); return; }
  }
  j->f3 = anonfile();
  if (j->f3 < 0 || write(j->f3, f.s, f.len) != (ssize_t)f.len || lseek(j->f3, 0, SEEK_SET) < 0) {
    logsys("write bounce list"); job_closefds(j); stralloc_free(&f); return;
  }
  stralloc_free(&f);
  in = open_mess(m);
  if (in < 0) { job_closefds(j); if (errno == ENOENT) quarantine(m->id, "message file missing"), m->deleted = 1, m->why = "quarantined", touch(m); return; }
  pid = spawn(argv, in, -1, -1, j->f3);
  close(in);
  if (pid < 0) {
    int e = errno;
    job_closefds(j);
    errno = e;
    if (e == ENOENT) {
      logid("bounce", m); logq("result", "missing"); logq("msg", "pochta-bounce is not installed: message kept"); logend();
    } else logsys("start pochta-bounce");
    m->bounce_next = now + backoff(3);
    return;
  }
  job_commit(j, pid);
  m->bouncing = 1;
  logid("bounce", m); logq("result", "started"); logq("to", m->e.sender); logend();
}

/* ---------- results ---------- */

/* Record one recipient's result in memory; settle() makes it durable. */
static void result(msg *m, size_t i, char code, char const *text, size_t len, char const *kind)
{
  qrcpt *r = &m->e.r[i];
  char const *res;
  if (code == 'K') { r->status = 'K'; res = "ok"; }
  else if (code == 'D') { r->status = 'D'; r->attempts++; res = "fail"; }
  else {
    r->attempts++;
    if (now >= m->e.born + cf.lifetime) { r->status = 'Z'; res = "expired"; }
    else {
      uint64_t n = now + backoff(r->attempts), end = m->e.born + cf.lifetime;
      r->next = n > end ? end : n;   /* one last try when the lifetime ends */
      res = "defer";
    }
  }
  if (code != 'K') qrcpt_seterr(r, text, len);
  else { free(r->err); r->err = 0; }
  m->dirty = 1;
  touch(m);
  logid("delivery", m);
  logq("rcpt", r->addr); logq("kind", kind); logq("result", res);
  fprintf(stderr, " attempts=%u", r->attempts);
  if (code == 'Z' && r->status == 'T') fprintf(stderr, " next=%llu", (unsigned long long)(r->next - now));
  if (code != 'K') logq("msg", r->err);
  logend();
}

static size_t slurp_fd(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) return 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  return n;
}

static void finish_local(job *j, int status, char *text)
{
  size_t n = strlen(text);
  int ex = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!ex && n >= 33 && !memcmp(text, "pochta-deliver: already delivered", 33)) {
    /* a delivery before a crash had done it (the key found its file) */
    logid("redelivery", j->m); logq("rcpt", j->m->e.r[j->idx[0]].addr); logq("found", "already in the Maildir"); logend();
  }
  if (!n) n = (size_t)snprintf(text, WORKER_TEXT_MAX, ex < 0 ? "delivery killed by signal %d" : "delivery exit %d", ex < 0 ? WTERMSIG(status) : ex);
  result(j->m, j->idx[0], ex == 0 ? 'K' : ex == 100 ? 'D' : 'Z', text, n, "local");
}

static void finish_remote(job *j, int status)
{
  static char buf[1 << 20];
  size_t n = slurp_fd(j->outfd, buf, sizeof buf), p = 0;
  int ex = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (size_t k = 0; k < j->n; k++) {
    qrcpt *r = &j->m->e.r[j->idx[k]];
    char const *line = buf + p, *tab, *nl = memchr(buf + p, '\n', n - p);
    size_t al = strlen(r->addr);
    if (!nl) {   /* no record for this one, nor for the rest: temporary */
      char t[80];
      snprintf(t, sizeof t, "4.4.0 no result from pochta-remote (exit %d)", ex);
      for (; k < j->n; k++) result(j->m, j->idx[k], 'Z', t, strlen(t), "remote");
      break;
    }
    p = (size_t)(nl - buf) + 1;
    tab = memchr(line, '\t', (size_t)(nl - line));
    if (!tab || (*line != 'K' && *line != 'Z' && *line != 'D') || (size_t)(tab - line - 1) != al
        || strncasecmp(line + 1, r->addr, al)) {
      char const *t = "4.3.0 malformed result from pochta-remote";
      result(j->m, j->idx[k], 'Z', t, strlen(t), "remote");
      continue;
    }
    result(j->m, j->idx[k], *line, tab + 1, (size_t)(nl - tab - 1), "remote");
  }
}

static void finish_bounce(job *j, int status)
{
  msg *m = j->m;
  m->bouncing = 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    logid("bounce", m); logq("result", "queued"); logend();
    m->deleted = 1; m->why = "done";   /* settle() removes it */
  } else {
    m->bounce_attempts++;
    m->bounce_next = now + backoff(m->bounce_attempts);
    logid("bounce", m); logq("result", "defer");
    fprintf(stderr, " status=%d next=%llu", status, (unsigned long long)(m->bounce_next - now)); logend();
  }
  touch(m);
}

/* Job k ended with a wait(2) status (and, local, the delivery's line). */
static void job_done(unsigned k, int status, char *text)
{
  job *j = &jobs[k];
  msg *m = j->m;
  int remote = j->kind == J_REMOTE;
  if (!m->deleted) {
    if (j->kind == J_LOCAL) finish_local(j, status, text);
    else if (j->kind == J_REMOTE) finish_remote(j, status);
    else finish_bounce(j, status);
  } else m->bouncing = 0;
  for (size_t i = 0; i < j->n; i++) m->busy[j->idx[i]] = 0;
  m->running--;
  if (j->kind == J_REMOTE) nremote--; else nlocal--;
  job_closefds(j);
  free(j->idx);
  jobs[k] = jobs[--njobs];
  touch(m);
  /* A slot is free: as many of the messages waiting for one of its kind may try
   * now as there are free slots (and one more, for a domain's limit). */
  if (remote) sched_wake(&blocked_remote, cf.cremote - nremote + 1);
  else sched_wake(&blocked, cf.clocal - nlocal + 1);
}

static unsigned job_find(pid_t pid)
{
  unsigned k;
  for (k = 0; k < njobs && jobs[k].pid != pid; k++) ;
  return k;
}

static void reap(void)
{
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    unsigned k;
    if (pid <= 0) break;
    if (pid == wk.pid) {
      /* Without it no local mail moves, and only root could start another: let
       * the supervisor start us again (running deliveries died with it; their
       * keys make the repeats safe). */
      fprintf(stderr, "pochta-send: event=fatal what=\"the delivery worker ended\" status=%d\n", status);
      _exit(EX_TEMP);
    }
    k = job_find(pid);
    if (k == njobs) continue;   /* not ours (a child of an exec that failed) */
    job_done(k, status, (char[]){ 0 });
  }
}

/* Answers of the delivery worker. */
static void worker_answers(void)
{
  for (;;) {
    char text[WORKER_TEXT_MAX + 1];
    uint32_t id;
    int status, r = worker_recv(&wk, &id, &status, text, sizeof text);
    unsigned k;
    if (!r) return;
    if (r < 0) {
      fprintf(stderr, "pochta-send: event=fatal what=\"the delivery worker\" error=\"%s\"\n", strerror(errno));
      _exit(EX_TEMP);
    }
    k = job_find(-(pid_t)id);
    if (k < njobs && jobs[k].kind == J_LOCAL) job_done(k, status, text);
  }
}

static void kill_overdue(void)
{
  for (unsigned k = 0; k < njobs; k++) {
    /* local deliveries: the worker keeps their time */
    if (jobs[k].kind != J_LOCAL && now - jobs[k].start > cf.jobtimeout) {
      logid("timeout", jobs[k].m); fprintf(stderr, " pid=%d", (int)jobs[k].pid); logend();
      kill(jobs[k].pid, SIGKILL);
      jobs[k].start = now;   /* one kill per timeout period */
    }
  }
}

/* ---------- settling: durable state, removal, placement ---------- */

static void remove_msg(msg *m, char const *event)
{
  if (!qmsg_remove(m->id)) { logsys("remove message"); return; }
  logid(event, m); logend();
  msg_free(m);
}

/* Decide what happens next to a message whose situation changed. */
static void settle_one(msg *m)
{
  int any;
  uint64_t due;
  if (m->deleted) {
    if (!m->running) remove_msg(m, m->why ? m->why : "done");
    else sched_unplace(m);
    return;
  }
  if (!qenv_count(&m->e, 'T') && !m->running) {
    if (!has_failures(m)) { remove_msg(m, "done"); return; }
    /* Failures: make the results durable before the bounce goes out, so a
     * crash never delivers the good recipients again. */
    if (m->dirty) { if (!qstate_write(m->id, &m->e)) { logsys("write state"); sched_heap(m, now + 5); return; } m->dirty = 0; }
    if (m->bouncing) return;
    if (m->bounce_next <= now && !stopping) {
      if (nlocal >= cf.clocal) { sched_blocked(m); return; }
      start_bounce(m);
      if (m->bouncing) { sched_unplace(m); return; }
    }
    sched_heap(m, m->bounce_next > now ? m->bounce_next : now + 5);
    return;
  }
  if (m->dirty) {
    if (qstate_write(m->id, &m->e)) m->dirty = 0;
    else logsys("write state");   /* stays dirty: tried again next round */
  }
  due = next_due(m, &any);
  if (!any) sched_unplace(m);            /* everything runs: a job's end brings it back */
  else if (due <= now) { if (m->where != W_BLOCKED && m->where != W_BLOCKED_REMOTE) sched_ready(m); }   /* blocked waits for a slot */
  else sched_heap(m, due);
}

static void settle(void)
{
  while (touched) {
    msg *m = touched;
    touched = m->tnext;
    m->touched = 0;
    settle_one(m);
  }
}

/* Once per loop iteration: one fsync per changed directory covers every
 * removal of the iteration (a removal only has to be durable to avoid a
 * duplicate, see pochta-queue(5)). */
static void flush(void)
{
  if (!qdirty_flush()) logsys("fsync queue directory");
}

static void run_ready(void)
{
  msg *m;
  int was_bad = ucdb_bad;
  if (stopping) return;
  users_refresh();
  /* mended: what waited for it goes now, not at the next rescan */
  if (was_bad && !ucdb_bad) sched_wake(&blocked, blocked.n);
  while (njobs < sizeof jobs / sizeof *jobs && (m = sched_pop_ready())) {
    int w = start_work(m);
    if (w & WAIT_LOCAL) sched_blocked(m);
    else if (w) sched_blocked_remote(m);
    touch(m);
    settle();
  }
}

/* ---------- finding messages ---------- */

/* Load up to limit messages of new/ that we do not know yet.
 * Returns 1 if it stopped at the limit (more may wait). */
static int scan_new(size_t limit)
{
  DIR *d = opendir("new");
  struct dirent *de;
  size_t loaded = 0;
  if (!d) { logsys("open new/"); return 0; }
  while ((de = readdir(d))) {
    uint64_t id;
    if (!qid_scan(de->d_name, strlen(de->d_name), &id)) continue;
    if (msgs_find(id)) continue;
    if (loaded >= limit) { closedir(d); return 1; }
    msg_load(id);
    loaded++;
  }
  closedir(d);
  return 0;
}

/* At start: every message with a state file, then new/ (all of it). */
static void scan_all(void)
{
  char p[QPATH_LEN];
  for (unsigned h = 0; h < 256; h++) {
    DIR *d;
    struct dirent *de;
    snprintf(p, sizeof p, "state/%02x", h);
    if (!(d = opendir(p))) { logsys("open state/"); continue; }
    while ((de = readdir(d))) {
      uint64_t id;
      if (!qid_scan(de->d_name, strlen(de->d_name), &id) || msgs_find(id)) continue;
      msg_load(id);
    }
    closedir(d);
  }
  while (scan_new(SIZE_MAX)) ;
}

static void make_due(msg *m)
{
  for (size_t i = 0; i < m->e.n; i++) if (m->e.r[i].status == 'T') m->e.r[i].next = 0;
  m->bounce_next = 0;
  m->dirty = 1;
  touch(m);
}

/* ---------- commands through the trigger FIFO ---------- */

/* Lines "D<id>" (delete), "R<id>" (retry one), "R" (retry all); NUL octets
 * are plain triggers (pochta-queue). Partial lines wait for the rest. */
static stralloc cmdbuf = STRALLOC_ZERO;
static int want_scan;

static void command(char const *s, size_t len)
{
  uint64_t id;
  msg *m;
  if (len == 1 && s[0] == 'R') {
    logid("retry", 0); logq("what", "all"); logend();
    msgs_each(make_due);
    return;
  }
  if (len != 1 + QID_LEN || (s[0] != 'D' && s[0] != 'R') || !qid_scan(s + 1, QID_LEN, &id)) {
    fprintf(stderr, "pochta-send: event=command error=\"unknown command\"\n");
    return;
  }
  m = msgs_find(id);
  if (!m) { want_scan = 1; if (s[0] == 'D') { qmsg_remove(id); qdirty_flush(); } return; }
  if (s[0] == 'R') { logid("retry", m); logend(); make_due(m); return; }
  m->deleted = 1; m->why = "deleted";
  logid("delete", m); fprintf(stderr, " running=%u", m->running); logend();
  touch(m);
}

static void read_fifo(int fd)
{
  char buf[4096];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    want_scan = 1;
    for (ssize_t i = 0; i < r; i++) {
      if (!buf[i]) continue;
      if (buf[i] == '\n') {
        command(cmdbuf.s, cmdbuf.len);
        cmdbuf.len = 0;
      } else if (cmdbuf.len < 64) stralloc_append(&cmdbuf, buf[i]);
    }
  }
}

/* ---------- privileges ---------- */

/* The gid that may read users.cdb ($POCHTA_CONF/group, else the owner's), which
 * the worker needs beside the owner's own groups. */
static int users_gid(account const *owner, gid_t *gid)
{
  stralloc sa = STRALLOC_ZERO;
  unsigned long g;
  int r = conf_line(&sa, "group");
  if (r < 0) { stralloc_free(&sa); return 0; }
  if (!r) { *gid = owner->gid; stralloc_free(&sa); return 1; }
  r = account_parse_id(sa.s, sa.len, &g);
  stralloc_free(&sa);
  if (r) *gid = (gid_t)g;
  return r;
}

/* Started as root (the documented install): fork the delivery worker as the
 * Maildir owner ($POCHTA_CONF/owner), then become the queue's owner for good.
 * No part of pochta-send keeps root. Without a usable owner file local
 * deliveries wait (noworker says why) rather than run as root. A queue that
 * belongs to root is a test instance: there everything stays root. */
static void privileges(void)
{
  struct stat st;
  stralloc sa = STRALLOC_ZERO;
  account owner, queue;
  gid_t ugid = 0;
  int r;
  if (stat(".", &st) < 0) { logsys("stat the queue directory"); _exit(EX_TEMP); }
  if (geteuid()) {
    /* already unprivileged: the worker runs as we do */
    if (!worker_start(&wk, 0)) { logsys("start the delivery worker"); _exit(EX_TEMP); }
    return;
  }
  r = conf_line(&sa, "owner");
  if (r <= 0) noworker = r < 0 ? "cannot read the owner file" : "no owner file: refusing to deliver as root";
  else if (!strchr(sa.s, ':') || account_lookup(&owner, sa.s) <= 0) noworker = "the owner file is not uid:gid";
  else if (!owner.uid && st.st_uid) noworker = "the owner file names root: refusing to deliver as root";
  else if (!users_gid(&owner, &ugid)) noworker = "the group file is not a gid";
  stralloc_free(&sa);
  if (noworker) {
    fprintf(stderr, "pochta-send: event=config file=owner result=fault error=\"%s\" effect=\"local deliveries wait; fix it and restart pochta-send\"\n", noworker);
  } else {
    account_addgroup(&owner, ugid);
    if (!worker_start(&wk, owner.uid ? &owner : 0)) { logsys("start the delivery worker"); _exit(EX_TEMP); }
  }
  if (!st.st_uid) {
    fprintf(stderr, "pochta-send: event=config warning=\"the queue belongs to root: everything runs as root (a test instance)\"\n");
    return;
  }
  if (account_lookup_uid(&queue, st.st_uid, st.st_gid) < 0 || !account_become(&queue)) {
    logsys("become the queue's owner");
    _exit(EX_TEMP);
  }
}

/* ---------- main ---------- */

static uint64_t now_s(void) { return (uint64_t)time(0); }

int main(int argc, char **argv)
{
  sigset_t set;
  int sfd, ffd, lock, more_new = 0, more_drop = 0;
  uint64_t last_scan;
  (void)argc; (void)argv;

  {
    int r = qdir_enter();
    if (r <= 0) { fprintf(stderr, "pochta-send: event=fatal what=\"chdir to queuedir\" error=\"%s\"\n", strerror(errno)); return EX_TEMP; }
  }
  umask(077);
  privileges();
  if (!qdir_layout()) { logsys("create queue layout"); return EX_TEMP; }
  lock = qlock();
  if (lock < 0) {
    fprintf(stderr, "pochta-send: event=fatal what=\"lock queue\" error=\"%s\"\n",
      errno == EWOULDBLOCK ? "another pochta-send runs on this queue" : strerror(errno));
    return EX_TEMP;
  }
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT);
  sigaddset(&set, SIGALRM); sigaddset(&set, SIGHUP);
  signal(SIGPIPE, SIG_IGN);
  if (sigprocmask(SIG_BLOCK, &set, 0) < 0 || (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
    logsys("signalfd"); return EX_TEMP;
  }
  /* Read-write, so that the FIFO never reports end of file. */
  ffd = open("trigger", O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (ffd < 0) { logsys("open trigger"); return EX_TEMP; }

  config_read();
  now = now_s();
  {
    qcheck_report rep;
    qcheck_run(&rep, 1, 0);
  }
  /* what an earlier run left to free, then the janitor for what this one removes */
  qtrash_empty();
  if (!qjanitor_start()) logsys("start the janitor (removed files are freed at the next start)");
  users_refresh();
  scan_all();
  logid("start", 0); fprintf(stderr, " messages=%zu pid=%d", msgs_count(), (int)getpid()); logend();
  last_scan = now;

  for (;;) {
    /* the worker's answers are polled even when stopping: it finishes its work */
    struct pollfd pf[3] = { { sfd, POLLIN, 0 }, { wk.fd, POLLIN, 0 }, { ffd, POLLIN, 0 } };
    int timeout = 30000, npf = stopping ? 2 : 3;
    msg *top;

    now = now_s();
    while ((top = sched_heap_top()) && top->due <= now) sched_ready(top);
    settle();
    run_ready();
    if (stopping && !njobs) { settle(); flush(); break; }
    flush();

    if (!stopping && (more_new || more_drop || (ready.head && njobs < sizeof jobs / sizeof *jobs && !ready.head->running))) timeout = 0;
    if ((top = sched_heap_top())) {
      uint64_t w = top->due > now ? top->due - now : 0;
      if (w * 1000 < (uint64_t)timeout) timeout = (int)(w * 1000);
    }
    /* watch for overdue jobs, and for a broken users.cdb being mended */
    if ((njobs || ucdb_bad) && timeout > 1000) timeout = 1000;
    if (poll(pf, (nfds_t)npf, timeout) < 0 && errno != EINTR) { logsys("poll"); sleep(1); }
    now = now_s();

    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
          case SIGTERM: case SIGINT:
            if (!stopping) { logid("stop", 0); fprintf(stderr, " running=%u", njobs); logend(); }
            stopping = 1; break;
          case SIGALRM:
            logid("retry", 0); logq("what", "all"); logend();
            msgs_each(make_due); want_scan = 1; break;
          case SIGHUP:
            config_read(); break;
          default: break;
        }
      }
      reap();
    }
    if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) worker_answers();
    if (npf > 2 && (pf[2].revents & POLLIN)) read_fifo(ffd);
    kill_overdue();
    settle();
    if (!stopping && now >= last_scan + RESCAN_EVERY) {
      want_scan = 1;
      sched_wake(&blocked, blocked.n);   /* (a domain's limit may have left one behind) */
      sched_wake(&blocked_remote, blocked_remote.n);
    }
    if (!stopping && (want_scan || more_new || more_drop)) {
      /* Bounded: new and dropped mail is taken in rounds between deliveries. */
      more_drop = ucdb_bad ? 0 : pickup_round(&ucdb, cf.me, DROP_PER_ROUND);
      more_new = scan_new(NEW_PER_ROUND);
      want_scan = 0;
      last_scan = now;
    }
  }
  logid("exit", 0); logend();
  return 0;
}
