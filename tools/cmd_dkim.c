/* pochta dkim new|use|retire|list: DKIM keys of the instance.
 * Layout (pochta-config(5)): <confdir>/dkim/<domain>/<selector>.key, one private key
 * per selector (PEM; RSA 2048 or Ed25519), mode 0640, owner root, group the signing
 * group (--group, else the file dkimgroup, else root); the directories 0750 alike, so
 * that only root and the signing step can read keys. <confdir>/dkim/<domain>/sign
 * lists the selectors the signing step signs with now, one per line. A key pair is
 * made per "base": BASE-rsa and BASE-ed, signed with side by side. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "account.h"
#include "checks.h"
#include "pochta.h"

#define DKIM_USAGE "pochta dkim new DOMAIN [BASE] [--group GROUP] | use DOMAIN BASE | retire DOMAIN BASE | list [DOMAIN]"

static void put(char const *s)
{
  if (buffer_puts(buffer_1, s) < 0) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

/* A selector base: [a-z0-9-], 1..40 octets, not starting with '-'. */
static int base_ok(char const *b)
{
  size_t n = strlen(b);
  if (!n || n > 40 || b[0] == '-') return 0;
  for (size_t i = 0; i < n; i++)
    if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-')) return 0;
  return 1;
}

/* The signing group: --group, else the file dkimgroup, else root. A name or a number. */
static gid_t signing_group(char const *opt)
{
  stralloc sa = STRALLOC_ZERO;
  char const *g = opt;
  char *end;
  gid_t gid = 0;
  if (!g && tf_line(&sa, "dkimgroup") && sa.len) g = sa.s;
  if (g) {
    unsigned long v = strtoul(g, &end, 10);
    if (*g && !*end) gid = (gid_t)v;
    else {
      int r = account_group(g, &gid);   /* /etc/group itself: the program is static */
      if (r < 0) strerr_diefu1sys(TEMP_EXIT, "read /etc/group");
      if (!r) strerr_dief(USAGE_EXIT, "no such group: ", g);
    }
  }
  stralloc_free(&sa);
  return gid;
}

/* confdir/dkim and confdir/dkim/domain, 0750 root:gid. Path of the latter into p. */
static void key_dirs(stralloc *p, char const *domain, gid_t gid)
{
  char const *parts[2] = { "dkim", domain };
  p->len = 0;
  if (!stralloc_cats(p, confdir)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  for (int i = 0; i < 2; i++) {
    if (!stralloc_catb(p, "/", 1) || !stralloc_cats(p, parts[i]) || !stralloc_0(p)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    p->len--;
    mkdir_p(p->s, 0750, 0, gid);
    /* an existing directory gets the layout too (a changed group, a wider mode) */
    if (!geteuid() && chown(p->s, 0, gid) < 0) strerr_diefu2sys(TEMP_EXIT, "chown ", p->s);
    if (chmod(p->s, 0750) < 0) strerr_diefu2sys(TEMP_EXIT, "chmod ", p->s);
  }
  if (!stralloc_0(p)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  p->len--;
}

/* Write dir/name = data durably, created 0640 root:gid before any octet is written. */
static void write_private(char const *dir, char const *name, char const *data, size_t len, gid_t gid)
{
  char path[4096], tmp[4200];
  int fd;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) strerr_dief(TEMP_EXIT, "path too long");
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  unlink(tmp);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "create ", tmp);
  if ((!geteuid() && fchown(fd, 0, gid) < 0) || fchmod(fd, 0640) < 0 || allwrite(fd, data, len) < len ||
      fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    strerr_diefu2sys(TEMP_EXIT, "write ", path);
  }
  dir_sync(dir);
}

/* The selectors the domain signs with now (the sign file), into sa as lines. */
static int active(stralloc *sa, char const *domain)
{
  char name[400];
  snprintf(name, sizeof name, "dkim/%s/sign", domain);
  sa->len = 0;
  return tf_read(sa, name);
}

static int is_active(stralloc const *sign, char const *sel)
{
  size_t pos = 0, len;
  char const *line;
  while (tf_next(sign, &pos, &line, &len))
    if (!tf_skip(line, len) && tf_line_is(line, len, sel)) return 1;
  return 0;
}

/* Print the DNS record of dir/sel.key as a zone line. */
static int print_record(char const *domain, char const *dir, char const *sel)
{
  char path[4096];
  chk_buf rec = CHK_BUF_ZERO;
  dkim_key *k;
  snprintf(path, sizeof path, "%s/%s.key", dir, sel);
  if (!(k = dkim_key_load(path, domain, sel))) return 0;
  if (!dkim_key_record(k, &rec)) strerr_diefu1sys(TEMP_EXIT, "make the record");
  put(sel); put("._domainkey."); put(domain); put(". IN TXT ");
  /* TXT character-strings hold 255 octets: longer records are cut into several */
  for (size_t i = 0; i < rec.len; i += 250) {
    char chunk[260];
    size_t n = rec.len - i < 250 ? rec.len - i : 250;
    snprintf(chunk, sizeof chunk, "%s\"%.*s\"", i ? " " : "", (int)n, rec.s + i);
    put(chunk);
  }
  put("\n");
  chk_buf_free(&rec);
  dkim_key_free(k);
  return 1;
}

int dkim_each_key(char const *domain, keyfn *fn, void *ctx)
{
  char dir[4096];
  struct dirent **ents;
  int n;
  snprintf(dir, sizeof dir, "%s/dkim/%s", confdir, domain);
  n = scandir(dir, &ents, 0, alphasort);
  if (n < 0) { if (errno == ENOENT) return 0; strerr_diefu2sys(TEMP_EXIT, "read ", dir); }
  for (int i = 0; i < n; i++) {
    char sel[256];
    size_t l = strlen(ents[i]->d_name);
    if (l > 4 && l - 4 < sizeof sel && !strcmp(ents[i]->d_name + l - 4, ".key")) {
      memcpy(sel, ents[i]->d_name, l - 4);
      sel[l - 4] = 0;
      fn(domain, dir, sel, ctx);
    }
    free(ents[i]);
  }
  free(ents);
  return 1;
}

void dkim_print_records(char const *domain)
{
  char dir[4096];
  struct dirent **ents;
  int n, any = 0;
  snprintf(dir, sizeof dir, "%s/dkim/%s", confdir, domain);
  n = scandir(dir, &ents, 0, alphasort);
  for (int i = 0; i < n; i++) {
    size_t l = strlen(ents[i]->d_name);
    if (l > 4 && !strcmp(ents[i]->d_name + l - 4, ".key")) {
      ents[i]->d_name[l - 4] = 0;
      if (print_record(domain, dir, ents[i]->d_name)) any = 1;
      else { put("; cannot read the key "); put(ents[i]->d_name); put("\n"); }
    }
    free(ents[i]);
  }
  if (n > 0) free(ents);
  if (!any) { put("; no DKIM key: pochta dkim new "); put(domain); put("\n"); }
}

static void list_one(char const *domain, char const *dir, char const *sel, void *ctx)
{
  stralloc const *sign = ctx;
  char path[4096], line[600];
  dkim_key *k;
  snprintf(path, sizeof path, "%s/%s.key", dir, sel);
  k = dkim_key_load(path, domain, sel);
  snprintf(line, sizeof line, "%s %s %s %s\n", domain, sel,
           !k ? "unreadable" : dkim_key_alg(k) == DKIM_RSA ? "rsa" : "ed25519",
           is_active(sign, sel) ? "signing" : "published-only");
  put(line);
  dkim_key_free(k);
}

static void list_domain(char const *domain)
{
  stralloc sign = STRALLOC_ZERO;
  active(&sign, domain);
  dkim_each_key(domain, list_one, &sign);
  stralloc_free(&sign);
}

static int cmd_new(char const *domain, char const *base, char const *group)
{
  stralloc dir = STRALLOC_ZERO, sign = STRALLOC_ZERO;
  char b[64], sel[80], path[4200];
  gid_t gid = signing_group(group);
  int first;
  struct stat st;
  if (!base) {
    time_t now = time(0);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(b, sizeof b, "s%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    base = b;
  }
  if (!base_ok(base)) strerr_dief(USAGE_EXIT, "a selector base is [a-z0-9-], at most 40 octets: ", base);
  if (!domain_is_local(domain)) strerr_warnw("domain ", domain, " is not a local domain of this instance");
  key_dirs(&dir, domain, gid);
  for (int a = 0; a < 2; a++) {
    snprintf(path, sizeof path, "%s/%s-%s.key", dir.s, base, a ? "ed" : "rsa");
    if (!stat(path, &st)) strerr_dief(USAGE_EXIT, "key exists already: ", path, " (choose another base)");
  }
  for (int a = 0; a < 2; a++) {
    chk_buf pem = CHK_BUF_ZERO;
    snprintf(sel, sizeof sel, "%s-%s.key", base, a ? "ed" : "rsa");
    if (!dkim_key_generate(a ? DKIM_ED25519 : DKIM_RSA, 2048, &pem)) strerr_diefu1sys(TEMP_EXIT, "make a key");
    write_private(dir.s, sel, pem.s, pem.len, gid);
    memset(pem.s, 0, pem.len);
    chk_buf_free(&pem);
  }
  first = !active(&sign, domain) || !sign.len;
  if (first) {
    char text[200];
    snprintf(text, sizeof text, "%s-rsa\n%s-ed\n", base, base);
    write_private(dir.s, "sign", text, strlen(text), gid);
  }
  put("; publish these records in the zone of "); put(domain); put(":\n");
  snprintf(sel, sizeof sel, "%s-rsa", base);
  print_record(domain, dir.s, sel);
  snprintf(sel, sizeof sel, "%s-ed", base);
  print_record(domain, dir.s, sel);
  if (first) put("; the domain signs with them from now on\n");
  else { put("; once they are published: pochta dkim use "); put(domain); put(" "); put(base); put("\n"); }
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
  stralloc_free(&dir);
  stralloc_free(&sign);
  return 0;
}

static int cmd_use(char const *domain, char const *base)
{
  stralloc dir = STRALLOC_ZERO;
  char path[4200], text[200];
  struct stat st;
  gid_t gid = 0;
  snprintf(path, sizeof path, "%s/dkim/%s", confdir, domain);
  if (stat(path, &st) < 0) strerr_dief(USAGE_EXIT, "no DKIM keys for ", domain);
  gid = st.st_gid;
  if (!base_ok(base)) strerr_dief(USAGE_EXIT, "bad selector base: ", base);
  for (int a = 0; a < 2; a++) {
    snprintf(path, sizeof path, "%s/dkim/%s/%s-%s.key", confdir, domain, base, a ? "ed" : "rsa");
    if (stat(path, &st) < 0) strerr_dief(USAGE_EXIT, "no such key: ", path);
  }
  if (!stralloc_cats(&dir, confdir) || !stralloc_cats(&dir, "/dkim/") || !stralloc_cats(&dir, domain) || !stralloc_0(&dir))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  snprintf(text, sizeof text, "%s-rsa\n%s-ed\n", base, base);
  write_private(dir.s, "sign", text, strlen(text), gid);
  put("; "); put(domain); put(" signs with "); put(base); put("-rsa and "); put(base);
  put("-ed from now on; keep the old records published until mail signed with them has left the queue\n");
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
  stralloc_free(&dir);
  return 0;
}

static int cmd_retire(char const *domain, char const *base)
{
  stralloc sign = STRALLOC_ZERO;
  char path[4200], dir[4096], sel[80];
  int gone = 0;
  if (!base_ok(base)) strerr_dief(USAGE_EXIT, "bad selector base: ", base);
  active(&sign, domain);
  for (int a = 0; a < 2; a++) {
    snprintf(sel, sizeof sel, "%s-%s", base, a ? "ed" : "rsa");
    if (is_active(&sign, sel)) strerr_dief(USAGE_EXIT, "selector ", sel, " still signs: pochta dkim use ", domain, " ANOTHER-BASE first");
  }
  snprintf(dir, sizeof dir, "%s/dkim/%s", confdir, domain);
  for (int a = 0; a < 2; a++) {
    snprintf(path, sizeof path, "%s/%s-%s.key", dir, base, a ? "ed" : "rsa");
    if (unlink(path) == 0) gone++;
    else if (errno != ENOENT) strerr_diefu2sys(TEMP_EXIT, "remove ", path);
  }
  if (!gone) strerr_dief(USAGE_EXIT, "no keys with base ", base, " for ", domain);
  dir_sync(dir);
  put("; removed; the records "); put(base); put("-rsa._domainkey."); put(domain); put(" and ");
  put(base); put("-ed._domainkey."); put(domain); put(" may now leave the zone\n");
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
  stralloc_free(&sign);
  return 0;
}

int cmd_dkim(int argc, char const *const *argv)
{
  stralloc d = STRALLOC_ZERO;
  char const *group = 0, *args[4];
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--group") && i + 1 < argc) { group = argv[++i]; continue; }
    if (n == 4) strerr_dieusage(USAGE_EXIT, DKIM_USAGE);
    args[n++] = argv[i];
  }
  if (!n) strerr_dieusage(USAGE_EXIT, DKIM_USAGE);
  if (!strcmp(args[0], "list")) {
    if (n == 2) {
      if (!addr_domain(&d, args[1])) strerr_dief(USAGE_EXIT, "not a domain name: ", args[1]);
      list_domain(d.s);
    } else {
      char dir[4096];
      struct dirent **ents;
      int k;
      snprintf(dir, sizeof dir, "%s/dkim", confdir);
      k = scandir(dir, &ents, 0, alphasort);
      for (int i = 0; i < k; i++) {
        if (ents[i]->d_name[0] != '.') list_domain(ents[i]->d_name);
        free(ents[i]);
      }
      if (k > 0) free(ents);
    }
    if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
    stralloc_free(&d);
    return 0;
  }
  if (n < 2 || !addr_domain(&d, args[1])) strerr_dieusage(USAGE_EXIT, DKIM_USAGE);
  tf_lock();
  if (!strcmp(args[0], "new") && n <= 3) n = cmd_new(d.s, n == 3 ? args[2] : 0, group);
  else if (!strcmp(args[0], "use") && n == 3) n = cmd_use(d.s, args[2]);
  else if (!strcmp(args[0], "retire") && n == 3) n = cmd_retire(d.s, args[2]);
  else strerr_dieusage(USAGE_EXIT, DKIM_USAGE);
  stralloc_free(&d);
  return n;
}
