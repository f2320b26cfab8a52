/* spam/spam-bench.c — the figures of tests/bench/spam-*.sh (printed, never asserted):
 *   spam-bench corpus DIR NTRAIN   train the first NTRAIN messages of DIR/ham and
 *        DIR/spam (sorted by name) into DIR/home/pochta-bayes through the learning
 *        calls, classify the others as delivery does: accuracy, false positives and
 *        negatives at the default Junk threshold (a message without other score),
 *        the unsure share, CPU per learned and per classified message, memory
 *   spam-bench classify DIR HOME NTRAIN   the same classification against
 *        HOME/pochta-bayes, learned elsewhere (over IMAP)
 *   spam-bench score FILE...       the SMTP-time score of each file (no DNS lists,
 *        rules from a generated rules file of 200 rules): CPU per message, memory */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spam-int.h"

static void die(char const *what)
{
  fprintf(stderr, "spam-bench: %s: %s\n", what, strerror(errno));
  exit(111);
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long maxrss_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static int cmp_str(void const *a, void const *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The file names of dir, sorted. */
static char **list(char const *dir, unsigned *n)
{
  DIR *d = opendir(dir);
  if (!d) die(dir);
  char **v = 0;
  unsigned cap = 0;
  struct dirent *e;
  *n = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (*n == cap) { cap = cap ? cap * 2 : 256; if (!(v = realloc(v, cap * sizeof *v))) die("allocate"); }
    if (asprintf(&v[(*n)++], "%s/%s", dir, e->d_name) < 0) die("allocate");
  }
  closedir(d);
  qsort(v, *n, sizeof *v, cmp_str);
  return v;
}

typedef struct { char *data; size_t len; } file;

static file load(char const *path)
{
  file f = { 0, 0 };
  struct stat st;
  int fd = open(path, O_RDONLY);
  if (fd < 0 || fstat(fd, &st) < 0) die(path);
  f.len = st.st_size;
  f.data = f.len ? mmap(0, f.len, PROT_READ, MAP_PRIVATE, fd, 0) : "";
  if (f.data == MAP_FAILED) die("mmap");
  close(fd);
  return f;
}

static void unload(file f) { if (f.len) munmap(f.data, f.len); }

/* Classify the messages of ham and spam from ntrain on against the database at
 * db_path, as delivery does: accuracy, false positives and negatives at the
 * default Junk threshold (a message without other score), the unsure share. */
static int classify(char **ham, unsigned nh, char **spam, unsigned ns, unsigned ntrain, char const *db_path, spam_conf const *c)
{
  /* classifying the rest against the mapped database, as delivery does */
  file db = load(db_path);
  bayesdb d;
  if (!bayesdb_parse(&d, (unsigned char *)db.data, db.len)) { fprintf(stderr, "spam-bench: the database does not parse\n"); return 111; }
  unsigned tested[2] = { 0, 0 }, junked[2] = { 0, 0 }, unsure[2] = { 0, 0 };
  static double const cut[] = { 0.5, 0.8, 0.9, 0.95, 0.99 };
  unsigned above[2][5] = { { 0 } };
  double c0 = cpu_s();
  for (int k = 0; k < 2; k++) {
    char **v = k ? spam : ham;
    unsigned n = k ? ns : nh;
    for (unsigned i = ntrain; i < n; i++) {
      file f = load(v[i]);
      spam_view view = SPAM_VIEW_ZERO;
      spam_tokens t = SPAM_TOKENS_ZERO;
      bayes_out o;
      if (!spam_view_make(&view, f.data, f.len) || !spam_tokens_make(&t, &view)) die("tokenize");
      bayes_classify(&d, &t, c->bayes_min, &o);
      double points = o.opinion ? bayes_points(o.p, c->bayes_spam, c->bayes_ham) : 0;
      tested[k]++;
      junked[k] += points >= c->junk;
      for (unsigned q = 0; q < 5; q++) above[k][q] += o.p >= cut[q];
      unsure[k] += o.p > 0.2 && o.p < 0.9;
      spam_tokens_free(&t);
      spam_view_free(&view);
      unload(f);
    }
  }
  double cls_cpu = cpu_s() - c0;
  unsigned all = tested[0] + tested[1];
  printf("spam-bench: database %zu KB, %u tokens, %u ham and %u spam learned\n", db.len / 1024, d.ntok, d.nham, d.nspam);
  printf("spam-bench: classified %u ham + %u spam held out: accuracy %.2f%%, false positives %.2f%% (%u of %u ham into Junk),"
         " false negatives %.2f%% (%u of %u spam in INBOX), unsure (0.2 < p < 0.9) %.1f%%\n",
         tested[0], tested[1], all ? 100.0 * (tested[0] - junked[0] + junked[1]) / all : 0,
         tested[0] ? 100.0 * junked[0] / tested[0] : 0, junked[0], tested[0],
         tested[1] ? 100.0 * (tested[1] - junked[1]) / tested[1] : 0, tested[1] - junked[1], tested[1],
         all ? 100.0 * (unsure[0] + unsure[1]) / all : 0);
  printf("spam-bench: at other cut-offs (what other scores add moves it):");
  for (unsigned q = 0; q < 5; q++)
    printf(" p>=%.2f: FP %.2f%% FN %.2f%%%s", cut[q], tested[0] ? 100.0 * above[0][q] / tested[0] : 0,
           tested[1] ? 100.0 * (tested[1] - above[1][q]) / tested[1] : 0, q < 4 ? "," : "\n");
  printf("spam-bench: %.3f ms CPU per message classified (parse, tokens, lookups), max RSS %ld KB\n",
         all ? cls_cpu * 1e3 / all : 0, maxrss_kb());
  unload(db);
  return 0;
}

static int corpus(char const *dir, unsigned ntrain)
{
  char p[8200], home[4096];
  unsigned nh, ns;
  snprintf(p, sizeof p, "%s/ham", dir);
  char **ham = list(p, &nh);
  snprintf(p, sizeof p, "%s/spam", dir);
  char **spam = list(p, &ns);
  snprintf(home, sizeof home, "%s/home", dir);
  mkdir(home, 0700);
  snprintf(p, sizeof p, "%s/pochta-bayes", home);
  unlink(p);
  if (ntrain > nh || ntrain > ns) { fprintf(stderr, "spam-bench: only %u ham and %u spam\n", nh, ns); return 100; }
  spam_conf c;
  spam_conf_init(&c);

  /* learning, in batches as pochta learn does; alternately, as a user would */
  double c0 = cpu_s();
  spam_learner *l = spam_learn_begin(home, &c);
  if (!l) die("begin learning");
  for (unsigned i = 0; i < ntrain; i++) {
    for (int k = 0; k < 2; k++) {
      file f = load(k ? spam[i] : ham[i]);
      if (spam_learn_msg(l, f.data, f.len, k ? SPAM_LEARN_SPAM : SPAM_LEARN_HAM) < 0) die("learn");
      unload(f);
    }
    if ((i + 1) % 250 == 0) {
      if (!spam_learn_commit(l)) die("commit");
      if (!(l = spam_learn_begin(home, &c))) die("begin learning");
    }
  }
  if (!spam_learn_commit(l)) die("commit");
  double learn_cpu = cpu_s() - c0;
  snprintf(p, sizeof p, "%s/pochta-bayes", home);
  printf("spam-bench: trained %u ham + %u spam (%.3f ms CPU per message learned)\n",
         ntrain, ntrain, learn_cpu * 1e3 / (2.0 * ntrain));
  int r = classify(ham, nh, spam, ns, ntrain, p, &c);
  spam_conf_free(&c);
  return r;
}

/* The held-out part of a corpus against a database learned elsewhere (through
 * pochta-imapd, tests/bench/spam-learn-imap.sh). */
static int classify_only(char const *dir, char const *home, unsigned ntrain)
{
  char p[8200];
  unsigned nh, ns;
  snprintf(p, sizeof p, "%s/ham", dir);
  char **ham = list(p, &nh);
  snprintf(p, sizeof p, "%s/spam", dir);
  char **spam = list(p, &ns);
  snprintf(p, sizeof p, "%s/pochta-bayes", home);
  spam_conf c;
  spam_conf_init(&c);
  int r = classify(ham, nh, spam, ns, ntrain, p, &c);
  spam_conf_free(&c);
  return r;
}

/* ---- the SMTP-time score, without DNS */

static int z_dns(void *ctx, char const *n, unsigned t, unsigned char ip[][4], unsigned max, unsigned *k) { (void)ctx; (void)n; (void)t; (void)ip; (void)max; *k = 0; return SPAM_DNS_NX; }
static void z_clamd(void *ctx, char const *a, unsigned t, char const *m, size_t l, spam_clamd *r) { (void)ctx; (void)a; (void)t; (void)m; (void)l; memset(r, 0, sizeof *r); }
static int z_get(void *ctx, char const *k, spam_grey_rec *r) { (void)ctx; (void)k; (void)r; return 0; }
static int z_put(void *ctx, char const *k, spam_grey_rec const *r) { (void)ctx; (void)k; (void)r; return 1; }
static int z_rate(void *ctx, uint64_t k, int (*fn)(spam_rate_rec *, void *), void *a) { spam_rate_rec r = { k, 0, 0, 0 }; (void)ctx; return fn(&r, a); }
static int64_t z_now(void *ctx) { (void)ctx; return 1700000000; }
static spam_hooks const zero_hooks = { z_dns, z_clamd, z_get, z_put, z_rate, z_now, z_now };

static int score(int argc, char **argv)
{
  spam s;
  stralloc rules = STRALLOC_ZERO;
  char err[200], line[200];
  memset(&s, 0, sizeof s);
  spam_conf_init(&s.conf);
  for (int i = 0; i < 100; i++) {
    snprintf(line, sizeof line, "body BODY_%d 0.5 some phrase number %d here\nheader HDR_%d 0.5 Subject *offer %d*\n", i, i, i, i);
    stralloc_cats(&rules, line);
  }
  if (!spam_conf_rules(&s.conf, rules.s, rules.len, err, sizeof err)) { fprintf(stderr, "spam-bench: %s\n", err); return 111; }
  s.h = &zero_hooks;
  strcpy(s.me, "mx.example.test");
  spam_env e = { "192.0.2.1", "mail.example.test", "a@example.test", "mx.example.test; spf=pass; dkim=pass", 1 };
  spam_verdict v = SPAM_VERDICT_ZERO;
  for (int i = 2; i < argc; i++) {
    file f = load(argv[i]);
    long rss0 = maxrss_kb();
    double c0 = cpu_s();
    unsigned reps = f.len < 100000 ? 200 : f.len < 5000000 ? 10 : 2;
    for (unsigned r = 0; r < reps; r++) if (!spam_smtp_data(&s, &e, f.data, f.len, &v)) die("score");
    double ms = (cpu_s() - c0) * 1e3 / reps;
    printf("spam-bench: score %s: %zu octets, %.3f ms CPU per message, max RSS %ld KB (%+ld KB), score %.1f\n",
           strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i], f.len, ms, maxrss_kb(), maxrss_kb() - rss0, v.score);
    unload(f);
  }
  spam_verdict_free(&v);
  stralloc_free(&rules);
  spam_conf_free(&s.conf);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 4 && !strcmp(argv[1], "corpus")) return corpus(argv[2], (unsigned)atoi(argv[3]));
  if (argc >= 3 && !strcmp(argv[1], "score")) return score(argc, argv);
  if (argc == 5 && !strcmp(argv[1], "classify")) return classify_only(argv[2], argv[3], (unsigned)atoi(argv[4]));
  fprintf(stderr, "usage: spam-bench corpus DIR NTRAIN | score FILE...\n");
  return 100;
}
