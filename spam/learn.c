/* spam/learn.c — learning into a user's token database (pochta-bayes(5)):
 * <home>/pochta-bayes.lock is locked (flock, exclusive) for the whole
 * read-modify-write, the database is read from disk under the lock (never from a
 * reader's earlier view), changed in memory, pruned to bayes-tokens, written to
 * <home>/pochta-bayes.new, fsynced, renamed over <home>/pochta-bayes, and the
 * directory fsynced. Readers (deliveries) take no lock: they map whichever file
 * the name holds, the old one or the new one, each whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "conf.h"
#include "maildir.h"
#include "spam-int.h"

struct spam_learner_s {
  char home[4096];
  int lock;
  bayes_mem m;
  size_t max;
  unsigned day;
  int changed;
};

static int path(char *buf, size_t len, char const *home, char const *name)
{
  int n = snprintf(buf, len, "%s/%s", home, name);
  if (n < 0 || (size_t)n >= len) { errno = ENAMETOOLONG; return 0; }
  return 1;
}

spam_learner *spam_learn_begin(char const *home, spam_conf const *conf)
{
  char p[4200];
  stralloc file = STRALLOC_ZERO;
  bayesdb d;
  spam_learner *l = calloc(1, sizeof *l);
  if (!l) return 0;
  l->lock = -1;
  if (strlen(home) >= sizeof l->home) { errno = ENAMETOOLONG; goto bad; }
  strcpy(l->home, home);
  l->max = conf ? conf->bayes_tokens : 150000;
  l->day = bayes_day(time(0));
  if (!path(p, sizeof p, home, "pochta-bayes.lock")) goto bad;
  l->lock = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (l->lock < 0) goto bad;
  while (flock(l->lock, LOCK_EX) < 0) if (errno != EINTR) goto bad;
  if (!path(p, sizeof p, home, "pochta-bayes")) goto bad;
  int r = spam_slurp(&file, p, BAYES_FILE_MAX, 1);
  if (r < 0) goto bad;
  if (!bayesdb_parse(&d, (unsigned char const *)file.s, r > 0 ? file.len : 0)) {
    /* not ours to fix: keep it for the admin, start anew */
    char q[4200];
    if (!path(q, sizeof q, home, "pochta-bayes.corrupt") || rename(p, q) < 0) goto bad;
    bayesdb_parse(&d, 0, 0);
  }
  if (!bayes_mem_load(&l->m, &d)) goto bad;
  stralloc_free(&file);
  return l;
bad:
  {
    int e = errno;
    stralloc_free(&file);
    spam_learn_abort(l);
    errno = e;
  }
  return 0;
}

int spam_learn_msg(spam_learner *l, char const *msg, size_t len, int cls)
{
  spam_view v = SPAM_VIEW_ZERO;
  spam_tokens t = SPAM_TOKENS_ZERO;
  int r = -1;
  if (cls != SPAM_LEARN_SPAM && cls != SPAM_LEARN_HAM && cls != SPAM_LEARN_FORGET) { errno = EINVAL; return -1; }
  if (spam_view_make(&v, msg, len) && spam_tokens_make(&t, &v)) {
    r = bayes_mem_learn(&l->m, spam_msg_id(&v, &t), t.key, t.n, cls, l->day);
    if (r < 0) errno = ENOMEM;
  } else errno = ENOMEM;
  if (r > 0) l->changed = 1;
  spam_tokens_free(&t);
  spam_view_free(&v);
  return r;
}

void spam_learn_counts(spam_learner const *l, unsigned *nspam, unsigned *nham, unsigned *ntokens)
{
  *nspam = l->m.nspam;
  *nham = l->m.nham;
  *ntokens = bayes_mem_live(&l->m);
}

int spam_learn_commit(spam_learner *l)
{
  char p[4200], q[4200];
  stralloc out = STRALLOC_ZERO;
  int fd = -1, e;
  if (!l->changed) { spam_learn_abort(l); return 1; }
  if (!bayes_mem_prune(&l->m, l->max) || !bayes_mem_write(&l->m, &out)) goto bad;
  if (!path(p, sizeof p, l->home, "pochta-bayes.new") || !path(q, sizeof q, l->home, "pochta-bayes")) goto bad;
  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) goto bad;
  if (allwrite(fd, out.s, out.len) != out.len || fsync(fd) < 0) goto bad;
  if (close(fd) < 0) { fd = -1; goto bad; }
  fd = -1;
  if (rename(p, q) < 0 || !maildir_syncdir(l->home, 0)) goto bad;
  stralloc_free(&out);
  spam_learn_abort(l);
  return 1;
bad:
  e = errno;
  if (fd >= 0) { close(fd); unlink(p); }
  stralloc_free(&out);
  spam_learn_abort(l);
  errno = e;
  return 0;
}

void spam_learn_abort(spam_learner *l)
{
  if (!l) return;
  if (l->lock >= 0) close(l->lock);   /* the lock goes with the descriptor */
  bayes_mem_free(&l->m);
  free(l);
}

int spam_bayes_counts(char const *home, unsigned *nspam, unsigned *nham, unsigned *ntokens)
{
  char p[4200];
  stralloc file = STRALLOC_ZERO;
  bayesdb d;
  *nspam = *nham = *ntokens = 0;
  if (!path(p, sizeof p, home, "pochta-bayes")) return -1;
  int r = spam_slurp(&file, p, BAYES_FILE_MAX, 1);
  if (r <= 0) { stralloc_free(&file); return r; }
  r = bayesdb_parse(&d, (unsigned char const *)file.s, file.len);
  stralloc_free(&file);
  if (!r) { errno = EBADMSG; return -1; }
  *nspam = d.nspam;
  *nham = d.nham;
  *ntokens = d.ntok;
  return 1;
}

int spam_learn(char const *home, char const *msg, size_t len, int cls)
{
  spam_conf c;
  char err[300];
  int have = spam_conf_load(&c, conf_dir(), 1, err, sizeof err);
  spam_learner *l = spam_learn_begin(home, have ? &c : 0);
  if (have) spam_conf_free(&c);
  if (!l) return -1;
  int r = spam_learn_msg(l, msg, len, cls);
  if (r < 0) { int e = errno; spam_learn_abort(l); errno = e; return -1; }
  if (!spam_learn_commit(l)) return -1;
  return r;
}

int spam_learn_fd(char const *home, int fd, int cls)
{
  mime_msg m = MIME_MSG_ZERO;
  if (!mime_msg_map(&m, fd)) return -1;
  int r = spam_learn(home, m.data, m.len, cls);
  int e = errno;
  mime_msg_unmap(&m);
  errno = e;
  return r;
}
