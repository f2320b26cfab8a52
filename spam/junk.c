/* spam/junk.c — the delivery side, per recipient, in pochta-send's delivery worker
 * (as the Maildir owner): the SMTP-time score our smtpd wrote into the message,
 * plus the user's Bayes opinion, against the user's threshold; and the Junk folder.
 * Reads <confdir>/spam, <home>/pochta-spam and <home>/pochta-bayes; writes nothing
 * but a missing .Junk folder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "maildir.h"
#include "spam-int.h"

/* The user's Bayes opinion of the message: 1 computed (*o), 0 no database or a
 * bad one (why says which). */
static int opinion(char const *home, spam_conf const *c, char const *msg, size_t len, bayes_out *o, char *why, size_t wl)
{
  char path[4200];
  struct stat st;
  void *map = 0;
  bayesdb d;
  int ok = 0;
  o->opinion = 0;
  o->p = 0.5;
  o->used = 0;
  snprintf(path, sizeof path, "%s/pochta-bayes", home);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) snprintf(why, wl, "cannot open pochta-bayes: %s", strerror(errno));
    return 0;   /* a new user: neutral */
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > BAYES_FILE_MAX) {
    snprintf(why, wl, "pochta-bayes is not a database");
    close(fd);
    return 0;
  }
  if (st.st_size && (map = mmap(0, st.st_size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    snprintf(why, wl, "cannot map pochta-bayes: %s", strerror(errno));
    close(fd);
    return 0;
  }
  close(fd);
  if (!bayesdb_parse(&d, map, st.st_size)) snprintf(why, wl, "pochta-bayes is not a database");
  else {
    spam_view v = SPAM_VIEW_ZERO;
    spam_tokens t = SPAM_TOKENS_ZERO;
    if (spam_view_make(&v, msg, len) && spam_tokens_make(&t, &v)) {
      bayes_classify(&d, &t, c->bayes_min, o);
      ok = 1;
    } else snprintf(why, wl, "bayes: out of memory");
    spam_tokens_free(&t);
    spam_view_free(&v);
  }
  if (map) munmap(map, st.st_size);
  return ok;
}

int spam_deliver_decide(char const *maildir, char const *msg, size_t len, spam_junk *j)
{
  spam_conf c;
  spam_user u;
  stralloc home = STRALLOC_ZERO, text = STRALLOC_ZERO;
  char err[300], path[4200], bad[240] = "";
  bayes_out o;
  int forced = 0;
  memset(j, 0, sizeof *j);
  j->p = 0.5;
  if (!spam_conf_load(&c, conf_dir(), 1, err, sizeof err)) {
    snprintf(j->why, sizeof j->why, "%.190s", err);
    return 0;
  }
  int found = spam_header_score(msg, len, &j->score, &forced);
  if (!(j->scored = found || forced)) {
    snprintf(j->why, sizeof j->why, "spam=unscored");
    spam_conf_free(&c);
    return 1;
  }
  if (!spam_home_of(&home, maildir)) { snprintf(j->why, sizeof j->why, "spam: out of memory"); goto done; }
  snprintf(path, sizeof path, "%s/pochta-spam", home.s);
  int r = spam_slurp(&text, path, 65536, 1);
  if (r < 0) snprintf(bad, sizeof bad, "cannot read pochta-spam: %s", strerror(errno));
  unsigned badlines = spam_user_parse(&u, &c, r > 0 ? text.s : "", r > 0 ? text.len : 0);
  if (badlines) snprintf(bad, sizeof bad, "pochta-spam: %u lines not understood", badlines);
  if (found && u.bayes && opinion(home.s, &c, msg, len, &o, bad, sizeof bad) && o.opinion) {
    j->p = o.p;
    j->bayes = bayes_points(o.p, c.bayes_spam, c.bayes_ham);
  }
  j->threshold = u.junk;
  j->junk = u.junk < SPAM_OFF && (forced || j->score + j->bayes >= u.junk);
  /* a fixed length, so that a delivery repeated with the same key (pochta-send died
     before it recorded the first) gives the same file size whatever it decides */
  double shown = j->bayes > 99.99 ? 99.99 : j->bayes < -99.99 ? -99.99 : j->bayes;
  snprintf(j->header, sizeof j->header, "X-Spam-Bayes: %.4f %+06.2f\n", j->p, shown);
  char sc[32], bs[32], th[32];
  spam_fmt_score(sc, sizeof sc, j->score + j->bayes);
  snprintf(bs, sizeof bs, "%+.2f", j->bayes);
  if (u.junk < SPAM_OFF) spam_fmt_score(th, sizeof th, u.junk); else snprintf(th, sizeof th, "off");
  snprintf(j->why, sizeof j->why, "spam=%s score=%s bayes=%s p=%.4f threshold=%s%s%s%s%s",
           j->junk ? "junk" : "inbox", sc, bs, j->p, th, forced ? " x-pochta-junk=yes" : "",
           bad[0] ? " problem=\"" : "", bad, bad[0] ? "\"" : "");
done:
  stralloc_free(&home);
  stralloc_free(&text);
  spam_conf_free(&c);
  return 1;
}

int spam_junk_folder(stralloc *sa, char const *maildir)
{
  static char const *const sub[] = { "tmp", "new", "cur" };
  char path[4300];
  sa->len = 0;
  if (!stralloc_cats(sa, maildir) || !stralloc_cats(sa, "/.Junk") || !stralloc_0(sa)) return 0;
  if (maildir_check(sa->s)) return 1;
  /* made here: each new directory entry durable before a message goes into it */
  if (mkdir(sa->s, 0700) < 0 && errno != EEXIST) return 0;
  if (!maildir_syncdir(maildir, 0)) return 0;
  for (unsigned i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", sa->s, sub[i]);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) return 0;
  }
  snprintf(path, sizeof path, "%s/maildirfolder", sa->s);
  int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  close(fd);
  return maildir_syncdir(sa->s, 0);
}
