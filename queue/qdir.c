/* Queue directory operations. Durability rule (DESIGN.md invariant 1): after
 * every link, rename or unlink that changes durable state, the directory is
 * fsynced; Linux does not do it for us. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/fs.h>   /* RENAME_NOREPLACE */
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "account.h"
#include "conf.h"
#include "qdir.h"
#include "qfmt.h"
#include "fdwrite.h"

int qdir_enter(void)
{
  stralloc sa = STRALLOC_ZERO;
  int r = conf_line(&sa, "queuedir");
  if (r <= 0) { stralloc_free(&sa); if (!r) errno = ENOENT; return r; }
  if (!sa.len) { stralloc_free(&sa); errno = ENOENT; return 0; }
  r = chdir(sa.s);
  stralloc_free(&sa);
  return r < 0 ? -1 : 1;
}

int qdir_become_owner(void)
{
  struct stat st;
  account a;
  if (geteuid() || stat(".", &st) < 0 || !st.st_uid) return 1;
  return account_lookup_uid(&a, st.st_uid, st.st_gid) >= 0 && account_become(&a);
}

int dir_sync(char const *path)
{
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  if (fsync(fd) < 0) { int e = errno; close(fd); errno = e; return 0; }
  close(fd);
  return 1;
}

/* The queue belongs to the user that enqueues (pochta-smtpd's user): what
 * root creates in it is given to that user, or pochta-queue could not write. */
static struct stat qst;
static int give(char const *p)
{
  if (geteuid() || !qst.st_uid) return 1;
  return lchown(p, qst.st_uid, qst.st_gid) == 0;
}

static int mkdir_ok(char const *p, mode_t m)
{
  if (mkdir(p, m) == 0) return give(p);
  return errno == EEXIST;
}

int qdir_layout(void)
{
  static char const *const top[] = { "mess", "state", "new", "tmp", "bad", "trash" };
  char p[QPATH_LEN];
  int fd;
  if (stat(".", &qst) < 0) return 0;
  for (size_t i = 0; i < sizeof top / sizeof *top; i++) if (!mkdir_ok(top[i], 0700)) return 0;
  for (unsigned h = 0; h < 256; h++) {
    snprintf(p, sizeof p, "mess/%02x", h);
    if (!mkdir_ok(p, 0700)) return 0;
    snprintf(p, sizeof p, "state/%02x", h);
    if (!mkdir_ok(p, 0700)) return 0;
  }
  if (mkfifo("trigger", 0622) == 0) { if (!give("trigger")) return 0; }
  else if (errno != EEXIST) return 0;
  fd = open("lock", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  close(fd);
  return dir_sync("mess") && dir_sync("state") && dir_sync(".");
}

/* Dirty directories: bit 0 "new", 1+h "state/hh", 257+h "mess/hh". */
static unsigned char dirty[(1 + 256 + 256 + 7) / 8];

static int dirindex(char const *path)
{
  unsigned h;
  if (!strncmp(path, "new/", 4)) return 0;
  if (!strncmp(path, "state/", 6) && sscanf(path + 6, "%2x", &h) == 1) return 1 + (int)h;
  if (!strncmp(path, "mess/", 5) && sscanf(path + 5, "%2x", &h) == 1) return 257 + (int)h;
  return -1;
}

void qdirty_mark(char const *path)
{
  int i = dirindex(path);
  if (i >= 0) dirty[i / 8] |= (unsigned char)(1u << (i % 8));
}

/* Remove a queue file: into trash/ (a rename: cheap), where pochta-send's janitor
 * frees its blocks (an unlink of a file with data costs a third of a millisecond
 * here, which the runner's one loop should not pay per message); without trash/
 * (a queue laid out by an older pochta), an unlink. 1 gone, 0 absent, -1 error. */
int qfile_drop(char const *path, uint64_t id, char kind)
{
  char t[QPATH_LEN];
  char x[QID_LEN + 1];
  qid_fmt(x, id);
  snprintf(t, sizeof t, "trash/%s.%c", x, kind);
  if (rename(path, t) == 0) return 1;
  if (errno == ENOENT) {
    struct stat st;
    if (lstat(path, &st) < 0) return 0;   /* the file itself is gone */
  }
  if (unlink(path) == 0) return 1;
  return errno == ENOENT ? 0 : -1;
}

/* Message files whose envelope removal waits for the directory fsync. */
static uint64_t *pend;
static size_t npend, cpend;

int qdirty_flush(void)
{
  int ok = 1;
  char p[QPATH_LEN];
  for (int i = 0; i < 513; i++) {
    if (!(dirty[i / 8] & (1u << (i % 8)))) continue;
    if (i == 0) snprintf(p, sizeof p, "new");
    else if (i <= 256) snprintf(p, sizeof p, "state/%02x", i - 1);
    else snprintf(p, sizeof p, "mess/%02x", i - 257);
    if (!dir_sync(p)) ok = 0;
    dirty[i / 8] &= (unsigned char)~(1u << (i % 8));
  }
  /* The envelopes' removal is durable: now their data may go (reverse order of
   * creation). Its own directory entry need not be durable: a leftover is debris. */
  if (ok) {
    for (size_t k = 0; k < npend; k++) {
      qpath_mess(p, pend[k]);
      if (qfile_drop(p, pend[k], 'm') < 0) ok = 0;
    }
    if (npend) qjanitor_poke();
    npend = 0;
  }
  return ok;
}

/* ---------- the janitor: frees the blocks of what is in trash/ ---------- */

static int janitor_fd = -1;   /* the write end of its pipe, in the runner */

/* One read of trash/'s entries into buf; the names of files that may be ours
 * (id.kind) into names. Their number. */
struct qdirent { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };
static size_t trash_names(char *buf, size_t cap, char const **names, size_t max)
{
  size_t k = 0;
  int d = open("trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return 0;
  long n = syscall(SYS_getdents64, d, buf, cap);
  close(d);
  for (long at = 0; n > 0 && at < n && k < max; ) {
    struct qdirent const *e = (struct qdirent const *)(buf + at);
    at += e->reclen;
    if ((e->type == DT_REG || e->type == DT_UNKNOWN) && strlen(e->name) == QID_LEN + 2) names[k++] = e->name;
  }
  return k;
}

int qtrash_claim(char const *to, uint64_t pick)
{
  char buf[4096], p[QPATH_LEN + 8];
  char const *names[64];
  size_t n = trash_names(buf, sizeof buf, names, 64);
  for (size_t t = 0; t < n && t < 4; t++) {
    struct stat st;
    int fd;
    snprintf(p, sizeof p, "trash/%s", names[(pick + t) % n]);
    /* its times say "now" before it has its new name: the age checks of debris
       (pochta-queuectl check) must never find an old file there */
    if (utimensat(AT_FDCWD, p, 0, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
      if (errno == ENOENT) continue;   /* another writer took that one */
      return -1;                       /* EEXIST: the name is taken; else no such rename here */
    }
    /* O_NONBLOCK: a FIFO among them (on a file system without d_type) must not
       hang the writer; on a regular file it changes nothing */
    fd = open(to, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { unlink(to); continue; }
    /* only a plain file of ours, small enough that rewriting it frees nothing
       worth freeing */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()
        || st.st_size > QTRASH_KEEP_SIZE) {
      close(fd);
      unlink(to);
      continue;
    }
    return fd;
  }
  errno = ENOENT;
  return -1;
}

/* Unlink what is in trash/ (relative to the working directory: the queue) but
 * at most keep small files, which writers take over (qtrash_claim). */
static void qtrash_trim(unsigned keep)
{
  DIR *d = opendir("trash");
  struct dirent *de;
  char p[QPATH_LEN + 8];
  unsigned kept = 0;
  if (!d) return;
  while ((de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] == '.' || strlen(de->d_name) > QID_LEN + 2) continue;
    snprintf(p, sizeof p, "trash/%s", de->d_name);
    if (kept < keep && lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1
        && st.st_uid == geteuid() && st.st_size <= QTRASH_KEEP_SIZE) { kept++; continue; }
    unlink(p);
  }
  closedir(d);
}

void qtrash_empty(void)
{
  qtrash_trim(0);
}

void qjanitor_poke(void)
{
  if (janitor_fd >= 0) { ssize_t w = write(janitor_fd, "", 1); (void)w; }
}

int qjanitor_start(void)
{
  int p[2];
  pid_t pid, parent = getpid();
  if (pipe2(p, O_CLOEXEC) < 0) return 0;
  pid = fork();
  if (pid < 0) { close(p[0]); close(p[1]); return 0; }
  if (!pid) {
    /* dies with the runner; nothing it holds matters to anyone else */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(0);
    close(p[1]);
    for (;;) {
      char buf[256];
      struct pollfd pf = { p[0], POLLIN, 0 };
      if (poll(&pf, 1, 5000) < 0 && errno != EINTR) _exit(0);
      if (pf.revents & POLLIN) { if (read(p[0], buf, sizeof buf) == 0) _exit(0); }
      else if (pf.revents & (POLLHUP | POLLERR)) _exit(0);
      qtrash_trim(QTRASH_KEEP);
    }
  }
  close(p[0]);
  janitor_fd = p[1];
  if (fcntl(janitor_fd, F_SETFL, O_NONBLOCK) < 0) return 0;   /* a full pipe is a poke enough */
  return 1;
}

int qfile_open(char const *path)
{
  struct stat st;
  /* O_NONBLOCK: a FIFO planted under a queue name must not hang the runner. */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno == ELOOP ? (errno = EPERM, -1) : -1;
  if (fstat(fd, &st) < 0) { int e = errno; close(fd); errno = e; return -1; }
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  if (fcntl(fd, F_SETFL, 0) < 0) { int e = errno; close(fd); errno = e; return -1; }
  return fd;
}

int qfile_read(char const *path, stralloc *sa)
{
  char buf[8192];
  int fd = qfile_open(path);
  sa->len = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; int e = errno; close(fd); errno = e; return -1; }
    if (!r) break;
    if (sa->len + (size_t)r > QENV_MAX) { close(fd); errno = EFBIG; return -1; }
    if (!stralloc_catb(sa, buf, (size_t)r)) { close(fd); errno = ENOMEM; return -1; }
  }
  close(fd);
  return 1;
}

int qstate_write(uint64_t id, qenv const *e)
{
  stralloc out = STRALLOC_ZERO;
  char tmp[QPATH_LEN], dst[QPATH_LEN], dir[QPATH_LEN], nw[QPATH_LEN];
  int fd, err;
  if (!qenv_format(&out, e)) { errno = ENOMEM; return 0; }
  qpath_tmp(tmp, id, ".s");
  qpath_state(dst, id);
  qpath_statedir(dir, id);
  qpath_new(nw, id);
  /* A name left there (a crash, or planted) is replaced, never written through. */
  if (unlink(tmp) < 0 && errno != ENOENT) goto fail;
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) goto fail;
  if (!fd_write_all(fd, out.s, out.len) || fsync(fd) < 0) { err = errno; close(fd); unlink(tmp); errno = err; goto fail; }
  if (close(fd) < 0) { err = errno; unlink(tmp); errno = err; goto fail; }
  /* The commit point of a state change: the rename replaces the old state. */
  if (rename(tmp, dst) < 0) { err = errno; unlink(tmp); errno = err; goto fail; }
  if (!dir_sync(dir)) goto fail;
  /* Only now may the fresh envelope go: state/ is durable and supersedes it. */
  {
    int r = qfile_drop(nw, id, 'n');
    if (r > 0) qdirty_mark(nw);
    else if (r < 0) goto fail;
  }
  stralloc_free(&out);
  return 1;
 fail:
  err = errno;
  stralloc_free(&out);
  errno = err;
  return 0;
}

int qmsg_remove(uint64_t id)
{
  char p[QPATH_LEN];
  int r;
  qpath_new(p, id);
  if ((r = qfile_drop(p, id, 'n')) > 0) qdirty_mark(p);
  else if (r < 0) return 0;
  qpath_state(p, id);
  if ((r = qfile_drop(p, id, 's')) > 0) qdirty_mark(p);
  else if (r < 0) return 0;
  /* The data goes once the envelope's removal is durable (qdirty_flush). */
  if (npend == cpend) {
    size_t n = cpend ? cpend * 2 : 256;
    uint64_t *x = realloc(pend, n * sizeof *x);
    if (!x) { qpath_mess(p, id); unlink(p); return 1; }   /* debris at worst */
    pend = x; cpend = n;
  }
  pend[npend++] = id;
  return 1;
}

int qmsg_load(uint64_t id, qenv *e)
{
  char p[QPATH_LEN];
  int r;
  qenv_free(e);
  qpath_state(p, id);
  r = qfile_read(p, &e->buf);
  if (!r) {
    qpath_new(p, id);
    r = qfile_read(p, &e->buf);
  }
  if (r < 0 && errno == EPERM) return -2;
  if (r <= 0) return r;
  return qenv_parse(e) ? 1 : -2;
}

int qtrigger(void)
{
  int fd = open("trigger", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  ssize_t w;
  if (fd < 0) return 0;
  w = write(fd, "", 1);
  close(fd);
  return w == 1;
}

int qcommand(char const *s, size_t len)
{
  int fd = open("trigger", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENXIO || errno == ENOENT ? 0 : -1;
  /* Blocking from here: a command must not be lost to a full FIFO. */
  if (fcntl(fd, F_SETFL, 0) < 0 || !fd_write_all(fd, s, len)) { int e = errno; close(fd); errno = e; return -1; }
  close(fd);
  return 1;
}

int qlock(void)
{
  int fd = open("lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) { int e = errno; close(fd); errno = e; return -1; }
  return fd;
}
