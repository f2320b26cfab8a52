/* Queue consistency check and repair. What a crash can leave, by stage
 * (pochta-queue(5)), and what is done about it:
 *   tmp/<id>*            older than 36 h: debris of an enqueue or state write, removed;
 *   mess/hh/<id> alone   older than 36 h: an enqueue that died before its commit, removed
 *                        (younger: an enqueue may still be running, left alone);
 *   new/<id> + state/hh/<id>: the runner died between writing state and removing the
 *                        fresh envelope; state supersedes, new/<id> removed;
 *   envelope without mess, malformed envelope, stray names: moved to bad/. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qcheck.h"
#include "qdir.h"
#include "qfmt.h"

static int quiet_verbose;

static void finding(qcheck_report *rep, char const *path, char const *what, int fixed)
{
  rep->problems++;
  if (fixed) rep->repaired++;
  if (quiet_verbose) printf("check: path=%s problem=\"%s\" repaired=%s\n", path, what, fixed ? "yes" : "no");
  else if (fixed) fprintf(stderr, "pochta-send: event=repair path=%s problem=\"%s\"\n", path, what);
}

static int old(struct stat const *st)
{
  return (uint64_t)time(0) > (uint64_t)st->st_mtime + QSTALE;
}

static int exists(char const *p)
{
  struct stat st;
  return lstat(p, &st) == 0;
}

int qcheck_quarantine(uint64_t id)
{
  char p[QPATH_LEN], b[QPATH_LEN + 16], x[QID_LEN + 1];
  static char const *const suf[] = { ".new", ".state", ".mess" };
  int ok = 1;
  qid_fmt(x, id);
  for (int k = 0; k < 3; k++) {
    if (k == 0) qpath_new(p, id); else if (k == 1) qpath_state(p, id); else qpath_mess(p, id);
    snprintf(b, sizeof b, "bad/%s%s", x, suf[k]);
    if (rename(p, b) < 0 && errno != ENOENT) ok = 0;
  }
  /* The envelope's disappearance must be durable, or the runner sees it again. */
  qpath_statedir(p, id);
  if (!dir_sync("bad") || !dir_sync("new") || !dir_sync(p)) ok = 0;
  return ok;
}

/* Move a stray file (not a queue name) into bad/. */
static int stray(char const *dir, char const *name)
{
  char p[512], b[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  snprintf(b, sizeof b, "bad/stray-%.40s", name);
  return rename(p, b) == 0 && dir_sync(dir) && dir_sync("bad");
}

static int check_tmp(qcheck_report *rep, int fix)
{
  DIR *d = opendir("tmp");
  struct dirent *de;
  if (!d) return 0;
  while ((de = readdir(d))) {
    char p[512];
    struct stat st;
    if (de->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "tmp/%.255s", de->d_name);
    if (lstat(p, &st) < 0 || !old(&st)) continue;
    finding(rep, p, "stale temporary file", fix && unlink(p) == 0);
  }
  closedir(d);
  return 1;
}

/* An envelope file (new/ or state/): readable, well-formed, with its data. */
static void check_env(qcheck_report *rep, int fix, char const *dir, char const *name, int is_new)
{
  char p[512], other[QPATH_LEN];
  uint64_t id;
  qenv e = QENV_ZERO;
  int r;
  snprintf(p, sizeof p, "%s/%.255s", dir, name);
  if (!qid_scan(name, strlen(name), &id)) {
    if (name[0] == '.') return;
    finding(rep, p, "not a queue file name", fix && stray(dir, name));
    return;
  }
  if (is_new) {
    qpath_state(other, id);
    if (exists(other)) { finding(rep, p, "fresh envelope beside its state file", fix && unlink(p) == 0 && dir_sync("new")); return; }
  }
  r = qfile_read(p, &e.buf);
  if (r <= 0) { qenv_free(&e); return; }   /* gone meanwhile */
  if (!qenv_parse(&e)) { qenv_free(&e); finding(rep, p, "malformed envelope", fix && qcheck_quarantine(id)); return; }
  qenv_free(&e);
  qpath_mess(other, id);
  if (!exists(other)) {
    if (!exists(p)) return;   /* removed meanwhile: mess goes after the envelope */
    finding(rep, p, "envelope without message data", fix && qcheck_quarantine(id));
    return;
  }
  rep->messages++;
}

static int check_dir(qcheck_report *rep, int fix, char const *dir, int is_new)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  if (!d) return 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    check_env(rep, fix, dir, de->d_name, is_new);
  }
  closedir(d);
  return 1;
}

static int check_mess(qcheck_report *rep, int fix, char const *dir)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  if (!d) return 0;
  while ((de = readdir(d))) {
    char p[512], a[QPATH_LEN], b[QPATH_LEN];
    uint64_t id;
    struct stat st;
    if (de->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%.255s", dir, de->d_name);
    if (!qid_scan(de->d_name, strlen(de->d_name), &id)) { finding(rep, p, "not a queue file name", fix && stray(dir, de->d_name)); continue; }
    qpath_new(a, id);
    qpath_state(b, id);
    if (exists(a) || exists(b)) continue;
    if (lstat(p, &st) < 0 || !old(&st)) continue;   /* an enqueue may be under way */
    finding(rep, p, "message data without envelope (enqueue died)", fix && unlink(p) == 0);
  }
  closedir(d);
  return 1;
}

int qcheck_run(qcheck_report *rep, int fix, int verbose)
{
  char p[QPATH_LEN];
  int ok = 1;
  memset(rep, 0, sizeof *rep);
  quiet_verbose = verbose;
  if (fix && !qdir_layout()) return 0;
  ok &= check_tmp(rep, fix);
  ok &= check_dir(rep, fix, "new", 1);
  for (unsigned h = 0; h < 256; h++) {
    snprintf(p, sizeof p, "state/%02x", h);
    if (!check_dir(rep, fix, p, 0)) { finding(rep, p, "missing directory", 0); ok = 0; }
    snprintf(p, sizeof p, "mess/%02x", h);
    if (!check_mess(rep, fix, p)) { finding(rep, p, "missing directory", 0); ok = 0; }
  }
  return ok;
}
