/* Delivery of one message into a Maildir: pochta-deliver runs it from its main in a
 * process that ends with the delivery (deliver_exit), pochta-send's delivery worker
 * in long-lived processes of its own, one delivery after another (deliver_run). Exactly as the Maildir specification says:
 * write tmp/<unique>, fsync it, link it into new/, fsync new/, remove the tmp name.
 * Adds Return-Path and Delivered-To above the message and turns CRLF into LF. With
 * a key the name in new/ is <key>.<host>,S=..,W=..: a delivery repeated with the
 * same key (the runner died before it recorded the first) finds it there and stops.
 * See deliver.h and pochta-deliver(8). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "deliver.h"
#include "exitcodes.h"
#include "maildir.h"

#define PROG "pochta-deliver"

/* What is being written, so that a failure (or, in pochta-deliver, a signal)
 * removes it: the handler must find it here. Reset by every delivery. */
static char g_tmp[MAILDIR_NAMEMAX + 1];
static volatile sig_atomic_t g_tmp_made;
static char g_tmppath[4096];

/* Where one delivery's line goes (deliver_run's caller's buffer). */
typedef struct { char *s; size_t cap; } line_t;

/* The delivery failed: remove its tmp file, say why in one line, give the code. */
static int fail(line_t *l, int code, char const *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(line_t *l, int code, char const *fmt, ...)
{
  char why[1024];
  va_list ap;
  int e = errno;
  if (g_tmp_made) unlink(g_tmppath);
  g_tmp_made = 0;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  /* One line, whatever the arguments held. */
  for (char *p = why; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
  if (l->cap) snprintf(l->s, l->cap, PROG ": %s", why);
  errno = e;
  return code;
}

/* Disk full and quota are what a temporary failure is for; everything else on
 * a local disk may also clear up (an admin fixes permissions), so it is
 * temporary too, and the queue's lifetime bounds the retries. */
static int fail_io(line_t *l, char const *what)
{
  return fail(l, EX_TEMP, "temporary failure: %s: %s", what, strerror(errno));
}

/* A signal while writing: remove the tmp file, as for any other failure. */
static void on_signal(int sig)
{
  (void)sig;
  if (g_tmp_made) unlink(g_tmppath);
  _exit(EX_TEMP);
}

/* An argument that would end up inside a header line must be one line. */
static int header_safe(char const *s)
{
  for (; *s; s++) if (*s == '\n' || *s == '\r') return 0;
  return 1;
}

/* A header field of ours: one line ending in its newline. */
static int header_safe_field(char const *s)
{
  size_t n = strlen(s);
  return n >= 2 && s[n - 1] == '\n' && !memchr(s, '\n', n - 1) && !memchr(s, '\r', n);
}

/* Output through a fixed buffer; also counts the size with CRLF line ends. */
typedef struct { int fd; int err; size_t len; maildir_size size; char buf[65536]; } out_t;

/* 1 ok, 0 write error (errno); after an error o->err stays set and the rest is dropped. */
static int out_flush(out_t *o)
{
  errno = 0;
  if (!o->err && o->len && allwrite(o->fd, o->buf, o->len) < o->len) o->err = errno ? errno : EIO;
  o->len = 0;
  return !o->err;
}

static void out_put(out_t *o, char const *s, size_t n)
{
  maildir_size_add(&o->size, s, n);
  while (n) {
    size_t room = sizeof o->buf - o->len;
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->len, s, k);
    o->len += k; s += k; n -= k;
    if (o->len == sizeof o->buf) out_flush(o);
  }
}

/* Copy in to o, turning each CRLF into LF. A CR at the end of one read is
 * held back until the next octet shows whether an LF follows. 1 ok, 0 read error. */
static int copy_message(out_t *o, int in)
{
  char buf[65536];
  int held_cr = 0;
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; return 0; }
    if (!r) break;
    size_t n = (size_t)r, i = 0;
    if (held_cr) {
      held_cr = 0;
      if (buf[0] != '\n') out_put(o, "\r", 1);
    }
    while (i < n) {
      char const *cr = memchr(buf + i, '\r', n - i);
      if (!cr) { out_put(o, buf + i, n - i); break; }
      size_t at = (size_t)(cr - buf);
      out_put(o, buf + i, at - i);
      if (at + 1 == n) { held_cr = 1; break; }
      if (buf[at + 1] != '\n') out_put(o, "\r", 1);
      i = at + 1;
    }
  }
  if (held_cr) out_put(o, "\r", 1);
  return 1;
}

/* A key is 1 to 80 octets of letters, digits and dots: it becomes part of a
 * file name and must not hold '/', ':' or ','. */
static int key_ok(char const *k)
{
  size_t n = strlen(k);
  if (!n || n > 80) return 0;
  for (; *k; k++)
    if (!((*k >= '0' && *k <= '9') || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '.')) return 0;
  return 1;
}

/* A keyed delivery that went to the other folder before (the decision may differ
 * now: the user learned meanwhile) is there under the same final name, since the
 * header the worker adds has a fixed length. -1 not there, else the code. */
static int delivered_elsewhere(line_t *l, char const *alt, char const *final)
{
  char p[4096];
  struct stat st;
  int n = snprintf(p, sizeof p, "%s/new/%s", alt, final);
  if (n < 0 || (size_t)n >= sizeof p || lstat(p, &st) < 0) return -1;
  if (!maildir_syncdir(alt, "new")) return fail_io(l, "cannot fsync new/");
  unlink(g_tmppath);
  g_tmp_made = 0;
  snprintf(l->s, l->cap, PROG ": already delivered: %s/new/%s", alt, final);
  return EX_OK_;
}

int deliver_run(int in, char const *dir, char const *sender, char const *rcpt, char const *key,
                deliver_opt const *o, char *linebuf, size_t linecap)
{
  static out_t out;
  char final[MAILDIR_NAMEMAX + 1];
  line_t l = { linebuf, linecap };
  int r;

  if (linecap) *linebuf = 0;
  g_tmp_made = 0;
  if (!dir || !*dir) return fail(&l, EX_PERM, "usage: " PROG " [-f sender] [-t recipient] [-k key] maildir");
  if ((sender && !header_safe(sender)) || (rcpt && !header_safe(rcpt)))
    return fail(&l, EX_PERM, "permanent failure: sender or recipient holds a line break");
  if (key && !key_ok(key)) return fail(&l, EX_PERM, "permanent failure: bad delivery key");

  /* A missing or half-made Maildir may be created by the admin later: the
   * queue keeps the message and tries again. */
  if (!maildir_check(dir))
    return fail(&l, EX_TEMP, "temporary failure: %s is not a Maildir (tmp, new, cur): %s", dir, strerror(errno));
  /* what deliveries killed before us left in tmp/ (36 hours untouched, the
   * Maildir rule); a failure here is no reason not to deliver */
  {
    unsigned swept;
    (void)maildir_sweep_tmp(dir, time(0), &swept);
  }

  /* Block the signals while the tmp file is made and named, so that
   * pochta-deliver's handler never sees a half-set path. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM); sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP); sigaddset(&block, SIGALRM);
  sigprocmask(SIG_BLOCK, &block, &old);
  out.fd = maildir_tmp_open(dir, g_tmp, sizeof g_tmp);
  if (out.fd < 0) { sigprocmask(SIG_SETMASK, &old, 0); return fail_io(&l, "cannot create a file in tmp/"); }
  snprintf(g_tmppath, sizeof g_tmppath, "%s/tmp/%s", dir, g_tmp);
  g_tmp_made = 1;
  sigprocmask(SIG_SETMASK, &old, 0);
  out.err = 0;
  out.len = 0;
  memset(&out.size, 0, sizeof out.size);

  if (sender) {
    out_put(&out, "Return-Path: <", 14);
    out_put(&out, sender, strlen(sender));
    out_put(&out, ">\n", 2);
  }
  if (rcpt) {
    out_put(&out, "Delivered-To: ", 14);
    out_put(&out, rcpt, strlen(rcpt));
    out_put(&out, "\n", 1);
  }
  if (o && o->header) {
    if (!header_safe_field(o->header)) { close(out.fd); return fail(&l, EX_PERM, "permanent failure: bad header field"); }
    out_put(&out, o->header, strlen(o->header));
  }
  if (!copy_message(&out, in)) { r = errno; close(out.fd); errno = r; return fail_io(&l, "cannot read the message"); }
  if (!out_flush(&out)) { close(out.fd); errno = out.err; return fail_io(&l, "cannot write the message"); }
  /* The data must be on disk before the name in new/ says it is there. */
  if (fsync(out.fd) < 0) { r = errno; close(out.fd); errno = r; return fail_io(&l, "cannot fsync the message"); }
  if (close(out.fd) < 0) return fail_io(&l, "cannot close the message");

  char base[MAILDIR_NAMEMAX + 1];
  if (key && !maildir_keyname(base, sizeof base, key)) { errno = ENAMETOOLONG; return fail_io(&l, "cannot name the message"); }
  int n = snprintf(final, sizeof final, "%s,S=%llu,W=%llu", key ? base : g_tmp,
                   (unsigned long long)out.size.bytes,
                   (unsigned long long)maildir_size_crlf(&out.size));
  if (n < 0 || (size_t)n >= sizeof final) { errno = ENAMETOOLONG; return fail_io(&l, "cannot name the message"); }
  sigprocmask(SIG_BLOCK, &block, &old);
  r = -1;
  if (key && o && o->alt) r = delivered_elsewhere(&l, o->alt, final);
  if (r < 0 && !maildir_commit(dir, g_tmp, "new", final)) {
    if (!key || errno != EEXIST) r = fail_io(&l, "cannot move the message into new/");
    /* Delivered before under this key by a delivery nobody recorded; its name
     * may not be durable yet (it may have died before its fsync). */
    else if (!maildir_syncdir(dir, "new")) r = fail_io(&l, "cannot fsync new/");
    else {
      unlink(g_tmppath);
      snprintf(l.s, l.cap, PROG ": already delivered: %s", final);
      r = EX_OK_;
    }
  }
  g_tmp_made = 0;
  sigprocmask(SIG_SETMASK, &old, 0);
  return r < 0 ? EX_OK_ : r;
}

void deliver_exit(int in, char const *dir, char const *sender, char const *rcpt, char const *key)
{
  deliver_exit_opt(in, dir, sender, rcpt, key, 0);
}

void deliver_exit_opt(int in, char const *dir, char const *sender, char const *rcpt, char const *key,
                      deliver_opt const *o)
{
  char line[1200];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  sigaction(SIGHUP, &sa, 0);
  sigaction(SIGALRM, &sa, 0);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, 0);
  int code = deliver_run(in, dir, sender, rcpt, key, o, line, sizeof line);
  if (*line) dprintf(2, "%s\n", line);
  _exit(code);
}
