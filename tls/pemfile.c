/* pemfile_read: see pemfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bearssl.h>

#include "pemfile.h"

/* Growing buffer for one decoded object. */
struct obj { unsigned char *s; size_t len, cap; int oom; };

static void obj_append(void *ctx, void const *buf, size_t len)
{
  struct obj *o = ctx;
  if (o->oom) return;
  if (len > PEMFILE_MAX - o->len) { o->oom = 1; return; }
  if (o->len + len > o->cap) {
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + len) cap *= 2;
    unsigned char *s = malloc(cap);
    if (!s) { o->oom = 1; return; }
    /* copy by hand instead of realloc, so that the old block can be wiped */
    if (o->len) memcpy(s, o->s, o->len);
    if (o->s) { explicit_bzero(o->s, o->cap); free(o->s); }
    o->s = s; o->cap = cap;
  }
  memcpy(o->s + o->len, buf, len);
  o->len += len;
}

/* Whole file into a fresh buffer; *len its size. NULL on error (errno). */
static unsigned char *slurp(char const *path, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) goto err;
  if (!S_ISREG(st.st_mode)) { errno = EINVAL; goto err; }
  if ((unsigned long long)st.st_size > PEMFILE_MAX) { errno = EFBIG; goto err; }
  size_t cap = (size_t)st.st_size + 1, n = 0;
  unsigned char *s = malloc(cap);
  if (!s) goto err;
  for (;;) {
    ssize_t r = read(fd, s + n, cap - n);
    if (r < 0) { if (errno == EINTR) continue; explicit_bzero(s, cap); free(s); goto err; }
    if (!r) break;
    n += (size_t)r;
    if (n == cap) { explicit_bzero(s, cap); free(s); errno = EFBIG; goto err; } /* grew under us */
  }
  close(fd);
  *len = n;
  return s;
err:
  { int e = errno; close(fd); errno = e; }
  return NULL;
}

struct state {
  br_pem_decoder_context pc;
  struct obj o;
  char name[128];
  int inobj, count;
  pemfile_cb *cb;
  void *ctx;
};

/* Push len octets through the decoder, acting on each event. 0 ok, -1 error (errno). */
static int feed(struct state *st, unsigned char const *buf, size_t len)
{
  while (len) {
    size_t n = br_pem_decoder_push(&st->pc, buf, len);
    buf += n; len -= n;
    switch (br_pem_decoder_event(&st->pc)) {
      case BR_PEM_BEGIN_OBJ:
        st->inobj = 1; st->o.len = 0; st->o.oom = 0;
        /* labels longer than our buffer are cut: they match no label we use */
        snprintf(st->name, sizeof st->name, "%s", br_pem_decoder_name(&st->pc));
        br_pem_decoder_setdest(&st->pc, obj_append, &st->o);
        break;
      case BR_PEM_END_OBJ:
        if (!st->inobj) { errno = EINVAL; return -1; }
        st->inobj = 0;
        if (st->o.oom) { errno = ENOMEM; return -1; }
        if (st->cb(st->ctx, st->name, st->o.s, st->o.len) < 0) return -1;
        st->count++;
        break;
      case BR_PEM_ERROR:
        errno = EINVAL; return -1;
      default:
        if (!n) { errno = EINVAL; return -1; } /* no progress, no event: never loop */
        break;
    }
  }
  return 0;
}

int pemfile_parse(unsigned char const *data, size_t len, pemfile_cb *cb, void *ctx)
{
  struct state *st = calloc(1, sizeof *st);
  if (!st) return -1;
  st->cb = cb; st->ctx = ctx;
  br_pem_decoder_init(&st->pc);
  /* the extra newline lets the decoder see the end of a last line without one */
  int r = feed(st, data, len);
  if (!r) r = feed(st, (unsigned char const *)"\n", 1);
  if (!r && st->inobj) { errno = EINVAL; r = -1; }
  int e = errno;
  if (!r) r = st->count;
  if (st->o.s) { explicit_bzero(st->o.s, st->o.cap); free(st->o.s); }
  explicit_bzero(st, sizeof *st); free(st);
  errno = e;
  return r;
}

int pemfile_read(char const *path, pemfile_cb *cb, void *ctx)
{
  size_t len;
  unsigned char *data = slurp(path, &len);
  if (!data) return -1;
  int r = pemfile_parse(data, len, cb, ctx);
  int e = errno;
  explicit_bzero(data, len); free(data);
  errno = e;
  return r;
}
