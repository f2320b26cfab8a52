/* pochta-queuectl: look at and act on the queue.
 *   list | show ID | delete ID | retry [ID] | check
 * Reading needs no lock (every change is an atomic rename). Changes go
 * through the runner when it runs (a command line on the trigger FIFO), so it
 * never delivers a message while it disappears under it; when no runner runs,
 * this program takes the runner's lock and changes the files itself. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "qcheck.h"
#include "qdir.h"
#include "qfmt.h"

#define PROG "pochta-queuectl"

static void usage(void)
{
  fprintf(stderr, "usage: " PROG " list | show ID | delete ID | retry [ID] | check\n");
  _exit(EX_PERM);
}

static void die(int code, char const *what)
{
  fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
  _exit(code);
}

/* Print a value for key=value output: quoted when it has a space or is empty. */
static void val(char const *s)
{
  if (!*s || strpbrk(s, " \t=\"")) {
    putchar('"');
    for (; *s; s++) { if (*s == '"' || *s == '\\') putchar('\\'); putchar(*s); }
    putchar('"');
  } else fputs(s, stdout);
}

static void list_one(uint64_t id, qenv const *e, uint64_t now)
{
  char x[QID_LEN + 1];
  unsigned att = 0;
  uint64_t next = UINT64_MAX;
  char const *err = "";
  size_t todo = 0;
  qid_fmt(x, id);
  printf("%s age=%llus from=", x, (unsigned long long)(now > e->born ? now - e->born : 0));
  val(*e->sender ? e->sender : "<>");
  fputs(" rcpts=", stdout);
  for (size_t i = 0; i < e->n; i++) {
    qrcpt const *r = &e->r[i];
    if (i) putchar(',');
    fputs(r->addr, stdout);
    if (r->attempts > att) att = r->attempts;
    if (r->status == 'T') { todo++; if (r->next < next) next = r->next; }
    if (r->err && !*err) err = r->err;
  }
  printf(" todo=%zu attempts=%u next=", todo, att);
  if (!todo) fputs("bounce", stdout);
  else if (next <= now) fputs("now", stdout);
  else printf("%llus", (unsigned long long)(next - now));
  fputs(" error=", stdout);
  val(err);
  putchar('\n');
}

static void list_dir(char const *dir, int is_new, uint64_t now, unsigned *count)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  if (!d) { if (errno == ENOENT) return; die(EX_TEMP, "open queue directory"); }   /* never used yet */
  while ((de = readdir(d))) {
    uint64_t id;
    qenv e = QENV_ZERO;
    char p[QPATH_LEN];
    if (!qid_scan(de->d_name, strlen(de->d_name), &id)) continue;
    if (is_new) { qpath_state(p, id); if (access(p, F_OK) == 0) continue; }  /* state supersedes */
    if (qmsg_load(id, &e) == 1) { list_one(id, &e, now); (*count)++; }
    qenv_free(&e);
  }
  closedir(d);
}

static int do_list(void)
{
  uint64_t now = (uint64_t)time(0);
  unsigned count = 0;
  char p[QPATH_LEN];
  for (unsigned h = 0; h < 256; h++) {
    snprintf(p, sizeof p, "state/%02x", h);
    list_dir(p, 0, now, &count);
  }
  list_dir("new", 1, now, &count);
  return 0;
}

static uint64_t arg_id(char const *s)
{
  uint64_t id;
  if (!qid_scan(s, strlen(s), &id)) { fprintf(stderr, PROG ": not a queue id: %s\n", s); _exit(EX_PERM); }
  return id;
}

static int do_show(uint64_t id)
{
  qenv e = QENV_ZERO;
  char p[QPATH_LEN], buf[65536];
  uint64_t now = (uint64_t)time(0);
  int fd, r = qmsg_load(id, &e);
  if (r == 0) { fprintf(stderr, PROG ": no such message\n"); return EX_PERM; }
  if (r == -2) { fprintf(stderr, PROG ": malformed envelope (run " PROG " check)\n"); return EX_TEMP; }
  if (r < 0) die(EX_TEMP, "read envelope");
  qid_fmt(buf, id);
  printf("id: %s\nage: %llus\nfrom: %s\n", buf, (unsigned long long)(now > e.born ? now - e.born : 0), *e.sender ? e.sender : "<>");
  for (size_t i = 0; i < e.n; i++) {
    qrcpt const *r2 = &e.r[i];
    char const *st = r2->status == 'T' ? "todo" : r2->status == 'K' ? "delivered" : r2->status == 'D' ? "failed" : "expired";
    printf("rcpt: %s status=%s attempts=%u", r2->addr, st, r2->attempts);
    if (r2->status == 'T') {
      if (r2->next > now) printf(" next=%llus", (unsigned long long)(r2->next - now)); else fputs(" next=now", stdout);
    }
    if (r2->err) { fputs(" error=", stdout); val(r2->err); }
    putchar('\n');
  }
  qenv_free(&e);
  fputs("\n", stdout);
  fflush(stdout);
  qpath_mess(p, id);
  fd = qfile_open(p);
  if (fd < 0) die(EX_TEMP, "open message");
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(EX_TEMP, "read message");
    if (!n) break;
    if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) die(EX_TEMP, "write");
  }
  close(fd);
  return fflush(stdout) ? EX_TEMP : 0;
}

static int exists_msg(uint64_t id)
{
  char a[QPATH_LEN], b[QPATH_LEN];
  qpath_new(a, id);
  qpath_state(b, id);
  return access(a, F_OK) == 0 || access(b, F_OK) == 0;
}

static int do_delete(uint64_t id)
{
  char line[2 + QID_LEN + 1];
  int lock;
  if (!exists_msg(id)) { fprintf(stderr, PROG ": no such message\n"); return EX_PERM; }
  lock = qlock();
  if (lock >= 0) {   /* no runner: do it ourselves, under its lock */
    int ok = qmsg_remove(id) && qdirty_flush();
    close(lock);
    if (!ok) die(EX_TEMP, "remove message");
    printf("deleted\n");
    return 0;
  }
  if (errno != EWOULDBLOCK) die(EX_TEMP, "lock queue");
  line[0] = 'D';
  qid_fmt(line + 1, id);
  line[1 + QID_LEN] = '\n';
  if (qcommand(line, 2 + QID_LEN) <= 0) die(EX_TEMP, "tell pochta-send");
  /* The runner removes it at once, or when its running deliveries end. */
  for (int i = 0; i < 100; i++) {
    if (!exists_msg(id)) { printf("deleted\n"); return 0; }
    usleep(50000);
  }
  printf("delete requested: pochta-send removes it when its current delivery ends\n");
  return 0;
}

/* Without a runner: make every pending recipient due now in the state file. */
static int retry_offline(uint64_t id)
{
  qenv e = QENV_ZERO;
  int r = qmsg_load(id, &e);
  if (r <= 0) { qenv_free(&e); return r == 0; }
  for (size_t i = 0; i < e.n; i++) if (e.r[i].status == 'T') e.r[i].next = 0;
  r = qstate_write(id, &e) && qdirty_flush();
  qenv_free(&e);
  return r;
}

static int do_retry(int have_id, uint64_t id)
{
  char line[2 + QID_LEN + 1];
  size_t len = 2;
  int lock;
  if (have_id && !exists_msg(id)) { fprintf(stderr, PROG ": no such message\n"); return EX_PERM; }
  lock = qlock();
  if (lock >= 0) {
    int ok = 1;
    if (have_id) ok = retry_offline(id);
    else {
      char p[QPATH_LEN];
      for (unsigned h = 0; h < 256 && ok; h++) {
        DIR *d;
        struct dirent *de;
        snprintf(p, sizeof p, "state/%02x", h);
        if (!(d = opendir(p))) die(EX_TEMP, "open queue directory");
        while ((de = readdir(d)) && ok) {
          uint64_t x;
          if (qid_scan(de->d_name, strlen(de->d_name), &x)) ok = retry_offline(x);
        }
        closedir(d);
      }
    }
    close(lock);
    if (!ok) die(EX_TEMP, "rewrite state");
    printf("due now (pochta-send is not running)\n");
    return 0;
  }
  if (errno != EWOULDBLOCK) die(EX_TEMP, "lock queue");
  line[0] = 'R';
  if (have_id) { qid_fmt(line + 1, id); len = 2 + QID_LEN; }
  line[len - 1] = '\n';
  if (qcommand(line, len) <= 0) die(EX_TEMP, "tell pochta-send");
  printf("due now\n");
  return 0;
}

static int do_check(void)
{
  qtrash_empty();   /* what removals left to free (a runner's janitor does it as it goes) */
  qcheck_report rep;
  int lock = qlock(), fix = lock >= 0;
  if (!fix && errno != EWOULDBLOCK) die(EX_TEMP, "lock queue");
  if (!fix) printf("check: pochta-send is running: reporting only (it repairs at start)\n");
  if (!qcheck_run(&rep, fix, 1)) die(EX_TEMP, "walk queue");
  if (fix) close(lock);
  printf("check: messages=%u problems=%u repaired=%u\n", rep.messages, rep.problems, rep.repaired);
  return rep.problems > rep.repaired ? 1 : 0;
}

int main(int argc, char **argv)
{
  int r;
  if (argc < 2) usage();
  r = qdir_enter();
  if (r < 0) die(EX_TEMP, "chdir to queuedir");
  if (!r) { fprintf(stderr, PROG ": no queuedir in the configuration\n"); return EX_TEMP; }
  /* an admin runs this as root: the queue's files are read and changed as its own
   * account, never as root (they come from the network daemons' account) */
  if (!qdir_become_owner()) die(EX_TEMP, "become the queue's owner");
  if (!strcmp(argv[1], "list") && argc == 2) return do_list();
  if (!strcmp(argv[1], "show") && argc == 3) return do_show(arg_id(argv[2]));
  if (!strcmp(argv[1], "delete") && argc == 3) return do_delete(arg_id(argv[2]));
  if (!strcmp(argv[1], "retry") && argc <= 3) return argc == 3 ? do_retry(1, arg_id(argv[2])) : do_retry(0, 0);
  if (!strcmp(argv[1], "check") && argc == 2) return do_check();
  usage();
  return EX_PERM;
}
