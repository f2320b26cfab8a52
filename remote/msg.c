/* Message access and the DATA encoding (RFC 5321 4.5.2 transparency). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "msg.h"

#define MSG_PIPEMAX (256UL << 20)   /* a pipe is read into memory up to this */

static void scan(struct msg *m)
{
  size_t i, lines = 0;
  m->eightbit = 0;
  for (i = 0; i < m->len; i++) {
    unsigned char c = (unsigned char)m->s[i];
    if (c == '\n' && !(i && m->s[i - 1] == '\r')) lines++;
    if (c >= 128) m->eightbit = 1;
  }
  m->wiresize = m->len + lines;
}

int msg_load(struct msg *m, int fd)
{
  struct stat st;
  char *buf = 0;
  size_t len = 0, cap = 0;
  if (fstat(fd, &st) < 0) return 0;
  if (S_ISREG(st.st_mode)) {
    m->len = (size_t)st.st_size;
    if (!m->len) m->s = "";
    else {
      void *p = mmap(0, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) return 0;
      m->s = p;
      m->mapped = 1;
    }
    scan(m);
    return 1;
  }
  /* not a regular file (a pipe in tests and shell use): read it all */
  for (;;) {
    ssize_t r;
    if (len == cap) {
      char *nb;
      cap = cap ? cap * 2 : 65536;
      if (cap > MSG_PIPEMAX) { free(buf); errno = EFBIG; return 0; }
      nb = realloc(buf, cap);
      if (!nb) { free(buf); return 0; }
      buf = nb;
    }
    r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { free(buf); return 0; }
    if (!r) break;
    len += (size_t)r;
  }
  m->s = buf ? buf : "";
  m->len = len;
  m->mapped = 0;
  scan(m);
  return 1;
}

void msg_free(struct msg *m)
{
  if (m->mapped) munmap((void *)m->s, m->len);
  else if (m->len) free((void *)m->s);
  m->s = ""; m->len = 0; m->mapped = 0;
}

int msg_send(struct conn *c, struct msg const *m)
{
  char const *s = m->s;
  size_t i = 0, n = m->len;
  while (i < n) {
    size_t j = i;
    /* one line: up to the next CR or LF */
    while (j < n && s[j] != '\n' && s[j] != '\r') j++;
    if (s[i] == '.' && !conn_put(c, ".", 1)) return 0;
    if (!conn_put(c, s + i, j - i) || !conn_put(c, "\r\n", 2)) return 0;
    if (j < n && s[j] == '\r' && j + 1 < n && s[j + 1] == '\n') j++;
    i = j + 1;
  }
  return conn_put(c, ".\r\n", 3);
}
