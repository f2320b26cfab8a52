/* pochta learn spam|ham|forget ADDRESS [FOLDER...]: train the user's classifier
 * from every message of the folders (spam: Junk by default; ham: INBOX), as the
 * Maildir owner, through the library call pochta-imapd uses (spam_learn_*). A
 * message learned before in the same class counts once; in the other class, it
 * moves. The database is written every 500 messages, so deliveries and other
 * learners never wait long for its lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"
#include "spam.h"

#define LEARN_USAGE "pochta learn spam|ham|forget ADDRESS [FOLDER...]"
#define BATCH 500

typedef struct { unsigned learned, known, bad; } tally;

/* The Maildir of an IMAP folder name: INBOX, or Maildir++ ".a.b" for a/b and a.b. */
static void folder_dir(stralloc *d, char const *md, char const *name)
{
  d->len = 0;
  if (!*name || strstr(name, "..") || *name == '.' || *name == '/' || strchr(name, '\n'))
    strerr_dief(USAGE_EXIT, "not a folder name: ", name);
  if (!stralloc_cats(d, md)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  if (strcasecmp(name, "INBOX")) {
    if (!stralloc_cats(d, "/.")) strerr_diefu1sys(TEMP_EXIT, "allocate");
    for (char const *p = name; *p; p++) if (!stralloc_catb(d, *p == '/' ? "." : p, 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  }
  if (!stralloc_0(d)) strerr_diefu1sys(TEMP_EXIT, "allocate");
}

static spam_learner *begin(char const *home, spam_conf const *c)
{
  spam_learner *l = spam_learn_begin(home, c);
  if (!l) strerr_diefu3sys(TEMP_EXIT, "open the token database in ", home, " (pochta-bayes)");
  return l;
}

static void commit(spam_learner *l, char const *home)
{
  if (!spam_learn_commit(l)) strerr_diefu3sys(TEMP_EXIT, "write the token database in ", home, " (pochta-bayes)");
}

/* One message file; untrusted as every file of a Maildir: no symlink, regular. */
static void learn_file(spam_learner *l, int dfd, char const *name, int cls, tally *t)
{
  struct stat st;
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { t->bad++; if (fd >= 0) close(fd); return; }
  void *m = st.st_size ? mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : 0;
  close(fd);
  if (m == MAP_FAILED) { t->bad++; return; }
  int r = spam_learn_msg(l, m ? m : "", st.st_size, cls);
  if (m) munmap(m, st.st_size);
  if (r < 0) strerr_diefu1sys(TEMP_EXIT, "learn");
  if (r) t->learned++; else t->known++;
}

static void learn_folder(spam_learner **l, char const *home, spam_conf const *c, char const *dir, int cls, tally *t)
{
  static char const *const sub[] = { "cur", "new" };
  unsigned since = 0;
  for (int s = 0; s < 2; s++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, sub[s]);
    DIR *d = opendir(p);
    if (!d) {
      if (errno == ENOENT) strerr_dief(USAGE_EXIT, "not a Maildir folder: ", dir);
      strerr_diefu2sys(TEMP_EXIT, "open ", p);
    }
    struct dirent *e;
    while ((errno = 0, e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      learn_file(*l, dirfd(d), e->d_name, cls, t);
      if (++since == BATCH) { commit(*l, home); *l = begin(home, c); since = 0; }
    }
    if (errno) strerr_diefu2sys(TEMP_EXIT, "read ", p);
    closedir(d);
  }
}

int cmd_learn(int argc, char const *const *argv)
{
  stralloc md = STRALLOC_ZERO, home = STRALLOC_ZERO, dir = STRALLOC_ZERO;
  spam_conf c;
  char err[300];
  int cls;
  tally t = { 0, 0, 0 };
  if (argc < 3) strerr_dieusage(USAGE_EXIT, LEARN_USAGE);
  if (!strcmp(argv[1], "spam")) cls = SPAM_LEARN_SPAM;
  else if (!strcmp(argv[1], "ham")) cls = SPAM_LEARN_HAM;
  else if (!strcmp(argv[1], "forget")) cls = SPAM_LEARN_FORGET;
  else strerr_dieusage(USAGE_EXIT, LEARN_USAGE);
  if (cls == SPAM_LEARN_FORGET && argc < 4) strerr_dief(USAGE_EXIT, "pochta learn forget wants the folders to forget");
  if (!spam_conf_load(&c, confdir, 1, err, sizeof err)) strerr_dief(TEMP_EXIT, "configuration: ", err);
  spamuser_maildir(argv[2], &md);
  /* the home is the Maildir's directory, as pochta-checkpassword's HOME */
  char const *slash = strrchr(md.s, '/');
  if (!slash || slash == md.s || !stralloc_catb(&home, md.s, slash - md.s) || !stralloc_0(&home))
    strerr_dief(TEMP_EXIT, "a Maildir without a directory above it: ", md.s);
  spamuser_become_owner();
  spam_learner *l = begin(home.s, &c);
  if (argc == 3) {
    folder_dir(&dir, md.s, cls == SPAM_LEARN_SPAM ? "Junk" : "INBOX");
    learn_folder(&l, home.s, &c, dir.s, cls, &t);
  }
  for (int i = 3; i < argc; i++) {
    folder_dir(&dir, md.s, argv[i]);
    learn_folder(&l, home.s, &c, dir.s, cls, &t);
  }
  unsigned ns, nh, nt;
  spam_learn_counts(l, &ns, &nh, &nt);
  commit(l, home.s);
  char line[300];
  snprintf(line, sizeof line, "%s: %u learned, %u known already, %u unreadable; the database holds %u spam, %u ham, %u tokens\n",
           argv[1], t.learned, t.known, t.bad, ns, nh, nt);
  if (buffer_putsflush(buffer_1, line) < 0) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
  spam_conf_free(&c);
  stralloc_free(&md); stralloc_free(&home); stralloc_free(&dir);
  return 0;
}
