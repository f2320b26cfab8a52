/* The text files of the configuration directory: read, lock, atomic rewrite. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

void tf_path(stralloc *sa, char const *name)
{
  sa->len = 0;
  if (!stralloc_cats(sa, confdir) || !stralloc_catb(sa, "/", 1)
   || !stralloc_cats(sa, name) || !stralloc_0(sa))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
}

void tf_lock(void)
{
  stralloc p = STRALLOC_ZERO;
  int fd;
  tf_path(&p, ".lock");
  /* The descriptor stays open (and locked) until the process exits. */
  fd = open(p.s, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "open ", p.s);
  if (flock(fd, LOCK_EX) < 0) strerr_diefu2sys(TEMP_EXIT, "lock ", p.s);
  stralloc_free(&p);
}

int tf_read(stralloc *sa, char const *name)
{
  stralloc p = STRALLOC_ZERO;
  tf_path(&p, name);
  if (!openslurpclose(sa, p.s)) {
    if (errno == ENOENT) { stralloc_free(&p); return 0; }
    strerr_diefu2sys(TEMP_EXIT, "read ", p.s);
  }
  stralloc_free(&p);
  return 1;
}

int tf_line(stralloc *sa, char const *name)
{
  size_t i;
  sa->len = 0;
  if (!tf_read(sa, name)) return 0;
  for (i = 0; i < sa->len && sa->s[i] != '\n'; i++) ;
  while (i > 0 && (sa->s[i-1] == ' ' || sa->s[i-1] == '\t' || sa->s[i-1] == '\r')) i--;
  sa->len = i;
  if (!stralloc_0(sa)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  sa->len--;
  return 1;
}

void dir_sync(char const *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "open directory ", dir);
  if (fsync(fd) < 0) strerr_diefu2sys(TEMP_EXIT, "fsync directory ", dir);
  close(fd);
}

void tf_write(char const *name, char const *s, size_t len, unsigned int mode)
{
  stralloc p = STRALLOC_ZERO, t = STRALLOC_ZERO;
  char pid[32];
  int fd;
  tf_path(&p, name);
  snprintf(pid, sizeof pid, ".tmp.%ld", (long)getpid());
  if (!stralloc_copyb(&t, p.s, p.len) || !stralloc_cats(&t, pid) || !stralloc_0(&t))
    strerr_diefu1sys(TEMP_EXIT, "allocate");
  unlink(t.s);   /* a leftover of a crashed run with the same pid */
  fd = open(t.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) strerr_diefu2sys(TEMP_EXIT, "create ", t.s);
  if (fchmod(fd, mode) < 0) goto err;   /* umask must not widen or narrow it */
  if (allwrite(fd, s, len) < len) goto err;
  if (fsync(fd) < 0) goto err;
  if (close(fd) < 0) { fd = -1; goto err; }
  if (rename(t.s, p.s) < 0) { fd = -1; goto err; }
  dir_sync(confdir);
  stralloc_free(&p);
  stralloc_free(&t);
  return;
 err:
  {
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(t.s);
    errno = e;
    strerr_diefu2sys(TEMP_EXIT, "write ", p.s);
  }
}

int tf_next(stralloc const *sa, size_t *pos, char const **line, size_t *len)
{
  size_t i = *pos, j;
  if (i >= sa->len) return 0;
  for (j = i; j < sa->len && sa->s[j] != '\n'; j++) ;
  *line = sa->s + i;
  *len = j - i;
  if (*len && sa->s[j-1] == '\r') (*len)--;
  *pos = j < sa->len ? j + 1 : j;
  return 1;
}

int tf_skip(char const *line, size_t len)
{
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
  return i == len || line[i] == '#';
}

char const *tf_key(char const *line, size_t len, size_t *klen)
{
  size_t i = 0, c;
  while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
  for (c = i; c < len && line[c] != ':'; c++) ;
  if (c == len) { *klen = 0; return line + i; }
  while (c > i && (line[c-1] == ' ' || line[c-1] == '\t')) c--;
  *klen = c - i;
  return line + i;
}

size_t tf_filter(stralloc *out, stralloc const *in,
                 int (*drop)(char const *line, size_t len, void *ctx), void *ctx)
{
  size_t pos = 0, len, n = 0;
  char const *line;
  while (tf_next(in, &pos, &line, &len)) {
    if (drop(line, len, ctx)) { n++; continue; }
    if (!stralloc_catb(out, line, len) || !stralloc_catb(out, "\n", 1))
      strerr_diefu1sys(TEMP_EXIT, "allocate");
  }
  return n;
}

static int ieq(char const *a, char const *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return 0;
  }
  return 1;
}

int tf_key_is(char const *line, size_t len, char const *key)
{
  size_t klen, n = strlen(key);
  char const *k;
  if (tf_skip(line, len)) return 0;
  k = tf_key(line, len, &klen);
  return klen == n && ieq(k, key, n);
}

int tf_has_key(char const *name, char const *key)
{
  stralloc sa = STRALLOC_ZERO;
  size_t pos = 0, len;
  char const *line;
  int r = 0;
  tf_read(&sa, name);
  while (!r && tf_next(&sa, &pos, &line, &len)) r = tf_key_is(line, len, key);
  stralloc_free(&sa);
  return r;
}

int tf_line_is(char const *line, size_t len, char const *word)
{
  size_t n = strlen(word);
  if (tf_skip(line, len)) return 0;
  while (len && (*line == ' ' || *line == '\t')) { line++; len--; }
  while (len && (line[len-1] == ' ' || line[len-1] == '\t')) len--;
  return len == n && ieq(line, word, n);
}

char const *tf_after_key(char const *line, size_t len, size_t *rlen)
{
  char const *c = memchr(line, ':', len);
  if (!c) { *rlen = 0; return line + len; }
  c++;
  *rlen = len - (c - line);
  while (*rlen && (*c == ' ' || *c == '\t')) { c++; (*rlen)--; }
  while (*rlen && (c[*rlen-1] == ' ' || c[*rlen-1] == '\t')) (*rlen)--;
  return c;
}
