/* pochta spam: look at what spam filtering does, and set a user's part of it.
 *   check [--ip A] [--helo H] [--from S] [--authres TEXT] [--count] < MESSAGE
 *       the verdict pochta-smtpd's end-of-DATA call gives (nothing counted or
 *       remembered unless --count, which counts the message against the rate limit)
 *   rcpt --ip A [--from S] RCPT...   greylisting as at RCPT (remembered, as the queue's owner)
 *   user ADDRESS [junk N|off|default] [bayes on|off]   show or set the user's settings
 *   classify ADDRESS < MESSAGE       where delivery would file it for that user
 *   conf                             read every configuration file, say what is wrong
 * See pochta(8) and pochta-spam(5). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"
#include "spam.h"

#define SPAM_USAGE "pochta spam check [--ip A] [--helo H] [--from S] [--authres TEXT] [--count] < MESSAGE"\
  " | rcpt --ip A [--from S] RCPT... | user ADDRESS [junk N|off|default] [bayes on|off] | classify ADDRESS < MESSAGE | conf"
#define MSG_MAX (64u << 20)

static void out(char const *s)
{
  if (buffer_puts(buffer_1, s) < 0) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

static void flush(void)
{
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

static void read_stdin(stralloc *m)
{
  for (;;) {
    if (!stralloc_readyplus(m, 65536)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    ssize_t r = read(0, m->s + m->len, 65536);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) strerr_diefu1sys(TEMP_EXIT, "read the message");
    if (!r) break;
    m->len += r;
    if (m->len > MSG_MAX) strerr_dief(USAGE_EXIT, "a message over 64 MB");
  }
}

static void open_spam(spam *s)
{
  char err[300];
  if (!spam_open(s, err, sizeof err)) strerr_dief(TEMP_EXIT, "configuration: ", err);
}

static void verdict(spam_verdict const *v)
{
  static char const *const names[] = { "accept", "reject", "tempfail", "virus" };
  out(names[v->action]);
  out("\n");
  if (v->reply[0]) { out(v->reply); out("\n"); }
  out("log: ");
  out(v->log.s ? v->log.s : "");
  out("\n");
  if (buffer_put(buffer_1, v->headers.s, v->headers.len) < 0) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

static int check(int argc, char const *const *argv)
{
  spam s;
  spam_env e = { 0, 0, "", 0, 1 };
  spam_verdict v = SPAM_VERDICT_ZERO;
  stralloc m = STRALLOC_ZERO;
  for (int i = 2; i < argc; i++) {
    char const *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : 0;
    if (!strcmp(a, "--count")) { e.dryrun = 0; continue; }
    if (!val) strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
    if (!strcmp(a, "--ip")) e.ip = val;
    else if (!strcmp(a, "--helo")) e.helo = val;
    else if (!strcmp(a, "--from")) e.sender = val;
    else if (!strcmp(a, "--authres")) e.authres = val;
    else strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
    i++;
  }
  read_stdin(&m);
  open_spam(&s);
  if (!e.dryrun) spamuser_become_queue();
  if (!spam_smtp_data(&s, &e, m.s ? m.s : "", m.len, &v)) strerr_diefu1sys(TEMP_EXIT, "score the message");
  verdict(&v);
  flush();
  spam_verdict_free(&v);
  spam_close(&s);
  stralloc_free(&m);
  return 0;
}

static int rcpt(int argc, char const *const *argv)
{
  spam s;
  spam_env e = { 0, "", "", 0, 0 };
  spam_verdict v = SPAM_VERDICT_ZERO;
  int i = 2;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (!strcmp(argv[i], "--ip")) e.ip = argv[i + 1];
    else if (!strcmp(argv[i], "--from")) e.sender = argv[i + 1];
    else strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
  }
  if (!e.ip || i >= argc) strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
  open_spam(&s);
  spamuser_become_queue();
  for (; i < argc; i++) {
    if (!spam_smtp_rcpt(&s, &e, argv[i], &v)) strerr_diefu1sys(TEMP_EXIT, "check the recipient");
    out(argv[i]);
    out(": ");
    out(v.action == SPAM_ACCEPT ? "accept" : v.reply);
    if (v.log.len) { out(" ("); out(v.log.s); out(")"); }
    out("\n");
  }
  flush();
  spam_verdict_free(&v);
  spam_close(&s);
  return 0;
}

static void home_of(stralloc *home, char const *md)
{
  char const *slash = strrchr(md, '/');
  home->len = 0;
  if (!slash || slash == md || !stralloc_catb(home, md, slash - md) || !stralloc_0(home))
    strerr_dief(TEMP_EXIT, "a Maildir without a directory above it: ", md);
}

/* The lines of the user's file but those setting key, then "key value". */
static void set_line(stralloc *file, char const *key, char const *value)
{
  stralloc o = STRALLOC_ZERO;
  size_t kl = strlen(key);
  for (size_t i = 0; i < file->len;) {
    char const *nl = memchr(file->s + i, '\n', file->len - i);
    size_t e = nl ? (size_t)(nl - file->s) + 1 : file->len;
    char const *l = file->s + i;
    if (!(e - i > kl && !strncmp(l, key, kl) && (l[kl] == ' ' || l[kl] == '\t')))
      if (!stralloc_catb(&o, l, e - i) || (!nl && !stralloc_catb(&o, "\n", 1))) strerr_diefu1sys(TEMP_EXIT, "allocate");
    i = e;
  }
  if (value && (!stralloc_cats(&o, key) || !stralloc_cats(&o, " ") || !stralloc_cats(&o, value) || !stralloc_cats(&o, "\n")))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  file->len = 0;
  if (!stralloc_catb(file, o.s, o.len)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  stralloc_free(&o);
}

static void write_user_file(char const *home, stralloc const *file)
{
  char p[4200], q[4200];
  snprintf(p, sizeof p, "%s/pochta-spam.new", home);
  snprintf(q, sizeof q, "%s/pochta-spam", home);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "create ", p);
  if (allwrite(fd, file->s, file->len) != file->len || fsync(fd) < 0 || close(fd) < 0) strerr_diefu2sys(TEMP_EXIT, "write ", p);
  if (rename(p, q) < 0) strerr_diefu2sys(TEMP_EXIT, "rename to ", q);
  dir_sync(home);
}

static int user(int argc, char const *const *argv)
{
  stralloc md = STRALLOC_ZERO, home = STRALLOC_ZERO, file = STRALLOC_ZERO;
  spam_conf c;
  spam_user u;
  char err[300], line[300], path[4200];
  if (argc < 3 || argc % 2 == 0) strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
  if (!spam_conf_load(&c, confdir, 1, err, sizeof err)) strerr_dief(TEMP_EXIT, "configuration: ", err);
  spamuser_maildir(argv[2], &md);
  home_of(&home, md.s);
  spamuser_become_owner();
  snprintf(path, sizeof path, "%s/pochta-spam", home.s);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) strerr_diefu2sys(TEMP_EXIT, "open ", path);
  if (fd >= 0) {
    for (;;) {
      if (!stralloc_readyplus(&file, 4096)) strerr_diefu1sys(TEMP_EXIT, "allocate");
      ssize_t r = read(fd, file.s + file.len, 4096);
      if (r < 0) strerr_diefu2sys(TEMP_EXIT, "read ", path);
      if (!r) break;
      file.len += r;
    }
    close(fd);
  }
  for (int i = 3; i < argc; i += 2) {
    char const *k = argv[i], *v = argv[i + 1];
    spam_user test;
    if (!strcmp(k, "junk") && !strcmp(v, "default")) { set_line(&file, "junk", 0); continue; }
    snprintf(line, sizeof line, "%s %s\n", k, v);
    if ((strcmp(k, "junk") && strcmp(k, "bayes")) || spam_user_parse(&test, &c, line, strlen(line)))
      strerr_dief(USAGE_EXIT, "not a setting: ", k, " ", v, " (junk N|off|default, bayes on|off)");
    set_line(&file, k, v);
  }
  if (argc > 3) write_user_file(home.s, &file);
  if (spam_user_parse(&u, &c, file.s ? file.s : "", file.len))
    strerr_warnw3x(path, " has lines that are not understood", "");
  unsigned ns, nh, nt;
  if (spam_bayes_counts(home.s, &ns, &nh, &nt) < 0) strerr_warnwu3sys("read the token database in ", home.s, " (pochta-bayes)");
  char th[40];
  if (u.junk >= SPAM_OFF) snprintf(th, sizeof th, "off");
  else snprintf(th, sizeof th, "%.1f", u.junk);
  snprintf(line, sizeof line, "junk %s%s\nbayes %s%s\nlearned %u spam, %u ham, %u tokens%s\n", th, u.junk == c.junk ? " (default)" : "",
           u.bayes ? "on" : "off", c.bayes ? "" : " (off for everyone)", ns, nh, nt,
           ns < c.bayes_min || nh < c.bayes_min ? " (too few for an opinion)" : "");
  out(line);
  flush();
  spam_conf_free(&c);
  stralloc_free(&md); stralloc_free(&home); stralloc_free(&file);
  return 0;
}

static int classify(int argc, char const *const *argv)
{
  stralloc md = STRALLOC_ZERO, m = STRALLOC_ZERO;
  spam_junk j;
  if (argc != 3) strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
  read_stdin(&m);
  spamuser_maildir(argv[2], &md);
  spamuser_become_owner();
  if (!spam_deliver_decide(md.s, m.s ? m.s : "", m.len, &j)) strerr_dief(TEMP_EXIT, "configuration: ", j.why);
  out(!j.scored ? "INBOX (not scored by our smtpd)\n" : j.junk ? "Junk\n" : "INBOX\n");
  out(j.why);
  out("\n");
  out(j.header);
  flush();
  stralloc_free(&md);
  stralloc_free(&m);
  return 0;
}

static int conf(void)
{
  spam s;
  char line[200];
  open_spam(&s);
  unsigned n = s.conf.nrules;
  snprintf(line, sizeof line, "ok: %u rules (built-in ones included), reject at %.1f, junk at %.1f\n", n,
           s.conf.reject, s.conf.junk);
  out(line);
  flush();
  spam_close(&s);
  return 0;
}

int cmd_spam(int argc, char const *const *argv)
{
  if (argc < 2) strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
  if (!strcmp(argv[1], "check")) return check(argc, argv);
  if (!strcmp(argv[1], "rcpt")) return rcpt(argc, argv);
  if (!strcmp(argv[1], "user")) return user(argc, argv);
  if (!strcmp(argv[1], "classify")) return classify(argc, argv);
  if (!strcmp(argv[1], "conf") && argc == 2) return conf();
  strerr_dieusage(USAGE_EXIT, SPAM_USAGE);
}
