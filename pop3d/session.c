/* The TRANSACTION and UPDATE states, run after login as the mailbox owner
 * with MAILDIR set. The list of messages is fixed at login (new/ and cur/);
 * DELE only marks; QUIT unlinks the marked files and fsyncs their
 * directories; any other end (drop, timeout) deletes nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/sha256.h>

#include "cmd.h"
#include "exitcodes.h"
#include "io.h"
#include "log.h"
#include "maildir.h"
#include "pop3d.h"
#include "waiter.h"

#define LOCKFILE "pochta-pop3.lock"
#define MAX_ERRORS 20

typedef struct msg_s msg_t;
struct msg_s {
  char *name;
  unsigned long long order;    /* the leading time of the name, for sorting */
  uint64_t size;               /* octets as sent (CRLF) */
  unsigned char sub;           /* 0 new/, 1 cur/ */
  unsigned char del;
};

static char const *const subdir[2] = { "new", "cur" };
static msg_t *msgs;
static unsigned long nmsgs, nalloc;
static io_t io;

/* Delivery order from the name: <seconds>.M<usec>... (djb's and Dovecot's
 * form) gives microseconds; other names sort by their seconds, then name. */
static unsigned long long order_of(char const *name)
{
  char *end;
  unsigned long long sec = strtoull(name, &end, 10), usec = 0;
  if (sec > 100000000000ULL) sec = 100000000000ULL;
  if (end[0] == '.' && end[1] == 'M') {
    usec = strtoull(end + 2, &end, 10);
    if (usec > 999999) usec = 999999;
  }
  return sec * 1000000ULL + usec;
}

static int add_msg(char const *name, unsigned char sub)
{
  msg_t m;
  uint64_t size;
  if (!maildir_nameval(name, 'W', &size)) {
    /* No W= in the name (another program delivered it): count once. */
    char path[MAILDIR_NAMEMAX + 8];
    snprintf(path, sizeof path, "%s/%s", subdir[sub], name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT ? 1 : 0;   /* gone meanwhile: skip */
    int ok = maildir_size_fd(fd, &size);
    close(fd);
    if (!ok) return 0;
  }
  if (nmsgs == nalloc) {
    unsigned long n = nalloc ? nalloc * 2 : 256;
    msg_t *p = realloc(msgs, n * sizeof *msgs);
    if (!p) return 0;
    msgs = p; nalloc = n;
  }
  m.name = strdup(name);
  if (!m.name) return 0;
  m.order = order_of(name);
  m.size = size;
  m.sub = sub;
  m.del = 0;
  msgs[nmsgs++] = m;
  return 1;
}

static int by_order(void const *a, void const *b)
{
  msg_t const *x = a, *y = b;
  if (x->order != y->order) return x->order < y->order ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* new/ first, then cur/: a message that moves from new/ to cur/ while we
 * read is then seen at least once; duplicates are dropped below. */
static int scan(void)
{
  for (unsigned char s = 0; s < 2; s++) {
    DIR *d = opendir(subdir[s]);
    if (!d) return 0;
    struct dirent *e;
    for (;;) {
      errno = 0;
      e = readdir(d);
      if (!e) break;
      if (e->d_name[0] == '.' || strlen(e->d_name) > MAILDIR_NAMEMAX) continue;
      if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
      if (!add_msg(e->d_name, s)) { closedir(d); return 0; }
    }
    if (errno) { closedir(d); return 0; }
    closedir(d);
  }
  if (nmsgs) qsort(msgs, nmsgs, sizeof *msgs, by_order);
  /* Drop a message seen twice (same unique part): keep the later (cur/) one. */
  unsigned long w = 0;
  for (unsigned long i = 0; i < nmsgs; i++) {
    if (w) {
      msg_t *p = &msgs[w-1];
      size_t l = maildir_uniqlen(p->name);
      if (l == maildir_uniqlen(msgs[i].name) && !memcmp(p->name, msgs[i].name, l)) {
        if (msgs[i].sub > p->sub) { free(p->name); *p = msgs[i]; } else free(msgs[i].name);
        continue;
      }
    }
    msgs[w++] = msgs[i];
  }
  nmsgs = w;
  return 1;
}

/* The message's file may have been renamed meanwhile (new/ to cur/, or new
 * flags by IMAP): find it again by its unique part. 1 found, 0 gone. */
static int relocate(msg_t *m)
{
  size_t l = maildir_uniqlen(m->name);
  for (unsigned char s = 2; s-- > 0; ) {
    DIR *d = opendir(subdir[s]);
    if (!d) continue;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (maildir_uniqlen(e->d_name) == l && !memcmp(e->d_name, m->name, l)) {
        char *n = strdup(e->d_name);
        closedir(d);
        if (!n) return 0;
        free(m->name);
        m->name = n;
        m->sub = s;
        return 1;
      }
    }
    closedir(d);
  }
  return 0;
}

static int msg_open(msg_t *m)
{
  char path[MAILDIR_NAMEMAX + 8];
  for (int tries = 0; tries < 3; tries++) {
    snprintf(path, sizeof path, "%s/%s", subdir[m->sub], m->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) return fd;
    if (errno != ENOENT || !relocate(m)) return -1;
  }
  return -1;
}

/* UIDL: the unique part of the name without the ",S=..." fields. RFC 1939
 * allows 1..70 octets in 0x21..0x7E; a name outside that gets a stable hash
 * of itself instead. */
static void uidl_of(msg_t const *m, char *out)
{
  size_t l = maildir_baselen(m->name), i;
  for (i = 0; i < l; i++) if ((unsigned char)m->name[i] < 0x21 || (unsigned char)m->name[i] > 0x7e) break;
  if (l && l <= 70 && i == l) { memcpy(out, m->name, l); out[l] = 0; return; }
  SHA256Schedule ctx;
  char dig[32];
  static char const hex[] = "0123456789abcdef";
  sha256_init(&ctx);
  sha256_update(&ctx, m->name, maildir_uniqlen(m->name));
  sha256_final(&ctx, dig);
  for (i = 0; i < 32; i++) { out[2*i] = hex[(unsigned char)dig[i] >> 4]; out[2*i+1] = hex[(unsigned char)dig[i] & 15]; }
  out[64] = 0;
}

static void putnum(unsigned long long n)
{
  char b[24];
  int l = snprintf(b, sizeof b, "%llu", n);
  io_put(&io, b, (size_t)l);
}

/* Send a message: every LF as CRLF (an existing CRLF as it is), a dot in
 * front of each line starting with a dot, a line end after a last line that
 * lacks one. TOP: the header, the blank line, then `lines` body lines.
 * Streamed in fixed pieces whatever the size. */
static void send_body(int fd, int top, unsigned long long lines)
{
  static char buf[131072];
  int bol = 1, lastcr = 0, inhdr = 1;
  size_t linelen = 0;
  unsigned long long body = 0;
  if (top && !lines) { /* header only: stop at the blank line */ }
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; break; }  /* a read error ends the message early */
    if (!r) break;
    char *p = buf, *end = buf + r;
    while (p < end) {
      char *nl = memchr(p, '\n', (size_t)(end - p));
      char *se = nl ? nl : end;
      if (bol && *p == '.') io_put(&io, ".", 1);
      bol = 0;
      io_put(&io, p, (size_t)(se - p));
      if (se > p) lastcr = se[-1] == '\r';
      linelen += (size_t)(se - p);
      if (!nl) { p = end; continue; }
      io_put(&io, lastcr ? "\n" : "\r\n", lastcr ? 1 : 2);
      if (inhdr) {
        if (linelen == 0 || (linelen == 1 && lastcr)) {
          inhdr = 0;
          if (top && !lines) goto done;
        }
      } else if (top && ++body >= lines) goto done;
      bol = 1; lastcr = 0; linelen = 0;
      p = nl + 1;
    }
  }
  if (!bol) io_put(&io, lastcr ? "\n" : "\r\n", lastcr ? 1 : 2);
done:
  io_puts(&io, ".\r\n");
}

/* A message number argument: 1 ok, else the -ERR has been written. */
static int get_msg(pop3_cmd const *c, int argi, unsigned long *n)
{
  if (!cmd_msgnum(c->arg[argi], c->arglen[argi], nmsgs, n)) {
    io_puts(&io, "-ERR No such message\r\n");
    return 0;
  }
  if (msgs[*n - 1].del) { io_puts(&io, "-ERR Message already deleted\r\n"); return 0; }
  return 1;
}

static void capa(void)
{
  io_puts(&io, "+OK Capability list follows\r\n"
               "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
               "IMPLEMENTATION pochta\r\n.\r\n");
}

/* UPDATE: remove what DELE marked, make it durable, say goodbye. */
static void update(void)
{
  unsigned long deleted = 0, failed = 0;
  int touched[2] = { 0, 0 };
  char path[MAILDIR_NAMEMAX + 8];
  for (unsigned long i = 0; i < nmsgs; i++) {
    msg_t *m = &msgs[i];
    if (!m->del) continue;
    for (int tries = 0; ; tries++) {
      snprintf(path, sizeof path, "%s/%s", subdir[m->sub], m->name);
      if (unlink(path) == 0) { deleted++; touched[m->sub] = 1; break; }
      if (errno == ENOENT && tries < 3 && relocate(m)) continue;
      if (errno == ENOENT) { deleted++; break; }  /* already removed elsewhere (IMAP) */
      failed++;
      break;
    }
  }
  for (int s = 0; s < 2; s++)
    if (touched[s] && !maildir_syncdir(".", subdir[s])) failed++;
  char d[24], f[24];
  snprintf(d, sizeof d, "%lu", deleted);
  snprintf(f, sizeof f, "%lu", failed);
  if (failed) io_puts(&io, "-ERR [SYS/TEMP] Some deleted messages were not removed\r\n");
  else {
    io_puts(&io, "+OK Bye, ");
    putnum(deleted);
    io_puts(&io, " messages deleted\r\n");
  }
  io_flush(&io);
  char out[24];
  snprintf(out, sizeof out, "%llu", io.bytes_out);
  log_event("logout", "deleted", d, "failed", f, "bytes", out, (char const *)0);
  _exit(0);
}

/* What killed deliveries left in tmp/ (36 hours untouched, the Maildir rule):
 * we visit the Maildir anyway. Nothing here stops the login. */
static void sweep(void)
{
  unsigned n;
  char b[16];
  int ok = maildir_sweep_tmp(".", time(0), &n);
  snprintf(b, sizeof b, "%u", n);
  if (n) log_event("tmp-swept", "files", b, (char const *)0);
  if (!ok) log_event("tmp-sweep-failed", "error", strerror(errno), (char const *)0);
}

/* Pipelined commands sent before the login answer, from the pre-login stage. */
static void take_pending(void)
{
  char const *hex = getenv(POP3_PENDING_ENV);
  char buf[sizeof io.rbuf];
  size_t n = 0;
  if (!hex) return;
  for (; hex[0] && hex[1] && n < sizeof buf; hex += 2) {
    int hi = hex[0] <= '9' ? hex[0] - '0' : hex[0] - 'a' + 10;
    int lo = hex[1] <= '9' ? hex[1] - '0' : hex[1] - 'a' + 10;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) break;
    buf[n++] = (char)(hi << 4 | lo);
  }
  io_preload(&io, buf, n);
  unsetenv(POP3_PENDING_ENV);
}

int session_main(unsigned timeout)
{
  static char line[IO_LINEMAX + 1];
  char const *md = getenv("MAILDIR");
  char const *u = getenv("USER");
  size_t len;
  unsigned errors = 0;
  pop3_cmd c;
  unsigned long n;

  if (u) log_set_user(u);
  if (!md || !*md) { log_event("mailbox-error", "error", "MAILDIR is not set", (char const *)0); return POP3_X_TEMP; }
  if (chdir(md) < 0 || !maildir_check(".")) {
    log_event("mailbox-error", "maildir", md, "error", strerror(errno), (char const *)0);
    return POP3_X_TEMP;
  }
  /* One POP3 session per mailbox; the lock goes with the process. IMAP and
   * deliveries do not take it. */
  int lfd = open(LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lfd < 0) { log_event("mailbox-error", "error", strerror(errno), (char const *)0); return POP3_X_TEMP; }
  if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) { log_event("in-use", (char const *)0); return POP3_X_INUSE; }
    log_event("mailbox-error", "error", strerror(errno), (char const *)0);
    return POP3_X_TEMP;
  }
  if (!scan()) { log_event("mailbox-error", "error", strerror(errno), (char const *)0); return POP3_X_TEMP; }
  sweep();
  /* the pre-login process may stop waiting for our exit code now */
  waiter_okfd_signal(POP3_OKFD_ENV);

  io_init(&io, 0, 1, timeout);
  take_pending();
  unsigned long long total = 0;
  for (unsigned long i = 0; i < nmsgs; i++) total += msgs[i].size;
  {
    char a[24], b[24];
    snprintf(a, sizeof a, "%lu", nmsgs);
    snprintf(b, sizeof b, "%llu", total);
    log_event("login", "auth", getenv("AUTHLABEL") ? getenv("AUTHLABEL") : "", "messages", a, "octets", b, (char const *)0);
  }
  io_puts(&io, "+OK Logged in, ");
  putnum(nmsgs); io_puts(&io, " messages ("); putnum(total); io_puts(&io, " octets)\r\n");

  for (;;) {
    if (errors >= MAX_ERRORS) {
      io_puts(&io, "-ERR Too many errors, closing connection\r\n");
      io_flush(&io);
      log_event_exit("too-many-errors");
    }
    int r = io_getline(&io, line, &len);
    if (r == 0) log_event_exit("disconnect");
    if (r == -1) log_event_exit(errno == ETIMEDOUT ? "timeout" : "read-error");
    if (r == -2) { io_puts(&io, "-ERR Line too long\r\n"); errors++; continue; }
    if (!cmd_parse(line, len, &c)) { io_puts(&io, "-ERR Invalid characters in command\r\n"); errors++; continue; }
    switch (c.verb) {
      case V_STAT: {
        unsigned long k = 0; unsigned long long sz = 0;
        if (c.argc) goto syntax;
        for (unsigned long i = 0; i < nmsgs; i++) if (!msgs[i].del) { k++; sz += msgs[i].size; }
        io_puts(&io, "+OK "); putnum(k); io_puts(&io, " "); putnum(sz); io_puts(&io, "\r\n");
        break;
      }
      case V_LIST: case V_UIDL: {
        char uid[72];
        if (c.argc > 1) goto syntax;
        if (c.argc == 1) {
          if (!get_msg(&c, 0, &n)) { errors++; break; }
          io_puts(&io, "+OK "); putnum(n); io_puts(&io, " ");
          if (c.verb == V_LIST) putnum(msgs[n-1].size); else { uidl_of(&msgs[n-1], uid); io_puts(&io, uid); }
          io_puts(&io, "\r\n");
          break;
        }
        io_puts(&io, "+OK\r\n");
        for (unsigned long i = 0; i < nmsgs; i++) {
          if (msgs[i].del) continue;
          putnum(i + 1); io_puts(&io, " ");
          if (c.verb == V_LIST) putnum(msgs[i].size); else { uidl_of(&msgs[i], uid); io_puts(&io, uid); }
          io_puts(&io, "\r\n");
        }
        io_puts(&io, ".\r\n");
        break;
      }
      case V_RETR: case V_TOP: {
        unsigned long long lines = 0;
        if (c.verb == V_RETR && c.argc != 1) goto syntax;
        if (c.verb == V_TOP && (c.argc != 2 || !cmd_count(c.arg[1], c.arglen[1], &lines))) goto syntax;
        if (!get_msg(&c, 0, &n)) { errors++; break; }
        int fd = msg_open(&msgs[n-1]);
        if (fd < 0) {
          io_puts(&io, errno == ENOENT ? "-ERR Message was removed by another session\r\n"
                                        : "-ERR [SYS/TEMP] Cannot open the message\r\n");
          break;
        }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        if (c.verb == V_RETR) { io_puts(&io, "+OK "); putnum(msgs[n-1].size); io_puts(&io, " octets\r\n"); }
        else io_puts(&io, "+OK\r\n");
        send_body(fd, c.verb == V_TOP, lines);
        close(fd);
        break;
      }
      case V_DELE:
        if (c.argc != 1) goto syntax;
        if (!get_msg(&c, 0, &n)) { errors++; break; }
        msgs[n-1].del = 1;
        io_puts(&io, "+OK Message "); putnum(n); io_puts(&io, " deleted\r\n");
        break;
      case V_RSET:
        if (c.argc) goto syntax;
        for (unsigned long i = 0; i < nmsgs; i++) msgs[i].del = 0;
        io_puts(&io, "+OK\r\n");
        break;
      case V_NOOP:
        if (c.argc) goto syntax;
        io_puts(&io, "+OK\r\n");
        break;
      case V_CAPA:
        capa();
        break;
      case V_QUIT:
        update();
        break;
      case V_USER: case V_PASS: case V_AUTH: case V_APOP: case V_STLS:
        io_puts(&io, "-ERR Already logged in\r\n");
        errors++;
        break;
      default:
        io_puts(&io, "-ERR Unknown command\r\n");
        errors++;
        break;
    }
    continue;
  syntax:
    io_puts(&io, "-ERR Syntax error\r\n");
    errors++;
  }
}
