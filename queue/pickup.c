/* The pickup: each file in drop/ is a message a local user handed to
 * pochta-postdrop. It is untrusted input from another account: opened without
 * following links, a regular file with one link, its envelope checked as
 * pochta-queue checks one, its recipients resolved through users.cdb (the user
 * could not read it), and the submitter named by the file's owner, which only the
 * kernel sets. Then it is queued as pochta-queue would, and the file removed: a
 * crash between the two queues it twice (pochta-queue(5), the duplicate window). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "account.h"
#include "exitcodes.h"
#include "pickup.h"
#include "qdir.h"
#include "qfmt.h"
#include "qwrite.h"

#define DROP_HEADER 17

static void logline(char const *event, char const *file, char const *what)
{
  fprintf(stderr, "pochta-send: event=%s file=%s%s%s%s\n", event, file, what ? " why=\"" : "", what ? what : "", what ? "\"" : "");
}

/* Put a file that cannot be queued aside for the admin (bad/drop-<name>). */
static void reject(char const *name, char const *why)
{
  char from[64], to[64];
  snprintf(from, sizeof from, "drop/%s", name);
  snprintf(to, sizeof to, "bad/drop-%s", name);
  logline("pickup-bad", name, why);
  if (rename(from, to) < 0) unlink(from);
  dir_sync("drop");
}

static int readall(int fd, char *buf, size_t len, off_t off)
{
  while (len) {
    ssize_t r = pread(fd, buf, len, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    buf += r; len -= (size_t)r; off += r;
  }
  return 1;
}

/* The envelope for the queue: recipients resolved (a local address to its users,
 * a remote one as it is), in qmail form in out. 1 ok, 0 no recipient left, -1
 * error. */
static int resolve(users const *u, qenv const *in, stralloc *out)
{
  stralloc canon = STRALLOC_ZERO, r = STRALLOC_ZERO;
  int any = 0, res = -1;
  out->len = 0;
  if (!stralloc_catb(out, "F", 1) || !stralloc_catb(out, in->sender, strlen(in->sender) + 1)) goto end;
  for (size_t i = 0; i < in->n; i++) {
    char const *a = in->r[i].addr;
    int k;
    r.len = 0; canon.len = 0;
    if (!users_canon(&canon, a, strlen(a))) continue;
    k = users_resolve(u, canon.s, &r);
    if (k < 0) goto end;
    /* an unknown local user stays: the runner bounces it to the local sender */
    if (!k && !stralloc_catb(&r, canon.s, canon.len + 1)) goto end;
    for (size_t p = 0; p < r.len; p += strlen(r.s + p) + 1) {
      if (!stralloc_catb(out, "T", 1) || !stralloc_catb(out, r.s + p, strlen(r.s + p) + 1)) goto end;
      any = 1;
    }
  }
  res = any ? (stralloc_catb(out, "", 1) ? 1 : -1) : 0;
 end:
  stralloc_free(&canon); stralloc_free(&r);
  return res;
}

/* 1 queued (or put aside), 0 leave it for later (a temporary trouble). */
static int pickup_one(users const *u, char const *me, int dfd, char const *name)
{
  struct stat st;
  char head[DROP_HEADER + 1], uname[64], rcv[512], date[64];
  uint64_t mlen = 0;
  stralloc env = STRALLOC_ZERO, qmail = STRALLOC_ZERO;
  qenv in = QENV_ZERO, out = QENV_ZERO;
  qwrite w;
  int fd, r, ok = 0;
  fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { if (errno == ELOOP) reject(name, "a symlink"); return errno == ENOENT || errno == ELOOP; }
  if (fstat(fd, &st) < 0) { close(fd); return 0; }
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1) { close(fd); reject(name, "not a plain file"); return 1; }
  if (st.st_size < DROP_HEADER || !readall(fd, head, DROP_HEADER, 0) || head[DROP_HEADER - 1] != '\n') { close(fd); reject(name, "no header"); return 1; }
  for (int i = 0; i < DROP_HEADER - 1; i++) {
    char c = head[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) { close(fd); reject(name, "bad header"); return 1; }
    mlen = mlen << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  if (mlen > (uint64_t)st.st_size - DROP_HEADER || (uint64_t)st.st_size - DROP_HEADER - mlen > QENV_MAX) { close(fd); reject(name, "bad length"); return 1; }
  {
    size_t elen = (size_t)((uint64_t)st.st_size - DROP_HEADER - mlen);
    if (!stralloc_ready(&env, elen + 1) || !readall(fd, env.s, elen, (off_t)(DROP_HEADER + mlen))) { close(fd); stralloc_free(&env); return 0; }
    env.len = elen;
  }
  if (qenv_from_qmail(&in, env.s, env.len, (uint64_t)time(0))) { close(fd); stralloc_free(&env); reject(name, "bad envelope"); return 1; }
  r = resolve(u, &in, &qmail);
  if (!r) { close(fd); reject(name, "no valid recipient"); ok = 1; goto done; }
  if (r < 0 || qenv_from_qmail(&out, qmail.s, qmail.len, (uint64_t)time(0))) { close(fd); goto done; }
  if (account_name(st.st_uid, uname, sizeof uname) <= 0) snprintf(uname, sizeof uname, "unknown");
  {
    time_t t = time(0);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm)) snprintf(date, sizeof date, "unknown");
  }
  if (qwrite_begin(&w)) { close(fd); goto done; }
  {
    char x[QID_LEN + 1];
    qid_fmt(x, w.id);
    snprintf(rcv, sizeof rcv, "Received: (from userid %lu %s)\n\tby %s (pochta-postdrop) id %s;\n\t%s\n",
             (unsigned long)st.st_uid, uname, me, x, date);
  }
  if (qwrite_data(&w, rcv, strlen(rcv))) { close(fd); qwrite_abort(&w); goto done; }
  for (uint64_t off = 0; off < mlen;) {
    char buf[65536];
    size_t n = mlen - off > sizeof buf ? sizeof buf : (size_t)(mlen - off);
    if (!readall(fd, buf, n, (off_t)(DROP_HEADER + off)) || qwrite_data(&w, buf, n)) { close(fd); qwrite_abort(&w); goto done; }
    off += n;
  }
  close(fd);
  if (qwrite_commit(&w, &out)) { if (w.have_mess) qwrite_abort(&w); goto done; }
  if (unlinkat(dfd, name, 0) < 0 || fsync(dfd) < 0) logline("pickup-error", name, "cannot remove the picked file: it may be queued twice");
  {
    char x[QID_LEN + 1];
    qid_fmt(x, w.id);
    fprintf(stderr, "pochta-send: event=pickup file=%s id=%s uid=%lu user=%s rcpts=%zu\n", name, x, (unsigned long)st.st_uid, uname, out.n);
  }
  ok = 1;
 done:
  if (!ok) logline("pickup-defer", name, strerror(errno));
  qenv_free(&in); qenv_free(&out);
  stralloc_free(&env); stralloc_free(&qmail);
  return ok;
}

int pickup_round(users const *u, char const *me, size_t limit)
{
  int dfd = open("drop", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  size_t done = 0;
  time_t now = time(0);
  if (dfd < 0) return 0;   /* no drop/: no local users' mail to pick (a test instance) */
  if (!(d = fdopendir(dup(dfd)))) { close(dfd); return 0; }
  while ((de = readdir(d))) {
    uint64_t id;
    struct stat st;
    if (de->d_name[0] == 't' && qid_scan(de->d_name + 1, strlen(de->d_name + 1), &id)) {
      /* a pochta-postdrop that died before its rename: debris after 36 hours */
      if (!fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) && st.st_mtime + QSTALE < now) unlinkat(dfd, de->d_name, 0);
      continue;
    }
    if (!qid_scan(de->d_name, strlen(de->d_name), &id)) continue;
    if (done >= limit) { closedir(d); close(dfd); return 1; }
    pickup_one(u, me, dfd, de->d_name);
    done++;
  }
  closedir(d);
  close(dfd);
  return 0;
}
