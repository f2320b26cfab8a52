/* pochta-imapd: COMPRESS=DEFLATE (RFC 4978). Raw deflate both ways under the
 * IMAP I/O of io.c: output goes through a writev function that deflates what
 * the output buffer flushes (a sync flush each time, so the client gets every
 * response when it is sent); input is inflated into the input buffer by fill().
 * The streams exist only in sessions that asked for them (zlib's state, up to
 * about 300 kB as it is used). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
/* zlib and skalibs both name a type free_func: zlib's is renamed here */
#define free_func zlib_free_func
#define alloc_func zlib_alloc_func
#include <zlib.h>
#undef free_func
#undef alloc_func

#include "imapd.h"
#include "io.h"

static z_stream zin, zout;
static int zready, zon;
static int zmore;   /* the last inflate filled its output: it may hold more */
static int zended;  /* the client's stream ended */
static unsigned char zibuf[16384];   /* compressed input not inflated yet */
static uint64_t zallow;   /* literal octets announced: they may inflate as they like */

/* What the client's stream may inflate to (issue 10, 8): deflate can expand
 * 1032 times, so a megabyte sent could cost a gigabyte of inflating and
 * discarding. Commands compress far less than ZRATIO to one; literals
 * (messages) are allowed as announced. Past the budget the session ends. */
#define ZBASE (1024 * 1024)
#define ZRATIO 64

void io_compress_allow(uint64_t octets) { zallow += octets; }

int io_compressing(void) { return zon; }

int io_compress_init(void)
{
  if (zready) return 0;
  memset(&zin, 0, sizeof zin); memset(&zout, 0, sizeof zout);
  /* negative window bits: raw deflate, no zlib header (RFC 4978 section 3) */
  if (inflateInit2(&zin, -15) != Z_OK) return -1;
  if (deflateInit2(&zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    inflateEnd(&zin);
    return -1;
  }
  zready = 1;
  return 0;
}

/* The output buffer's write function while compression is on. */
static ssize_t deflate_writev(int fd, struct iovec const *v, unsigned int n)
{
  unsigned char out[16384];
  size_t total = 0;
  for (unsigned int i = 0; i < n; i++) {
    zout.next_in = v[i].iov_base; zout.avail_in = (uInt)v[i].iov_len;
    int flush = i + 1 == n ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      zout.next_out = out; zout.avail_out = sizeof out;
      if (deflate(&zout, flush) == Z_STREAM_ERROR) { errno = EIO; return -1; }
      size_t have = sizeof out - zout.avail_out;
      if (have && io_write_all(fd, (char *)out, have) < 0) return -1;
    } while (!zout.avail_out || zout.avail_in);
    total += v[i].iov_len;
  }
  return (ssize_t)total;
}

int io_compress_start(void)
{
  if (!zready || zon) return -1;
  int n = io_take_pending((char *)zibuf, sizeof zibuf);
  if (n < 0) return -1;
  zin.next_in = zibuf; zin.avail_in = (uInt)n;
  io_out.op = &deflate_writev;
  zon = 1;
  return 0;
}

ssize_t io_inflate(char *buf, size_t len)
{
  if (zended) return -1;
  if (!len || (!zin.avail_in && !zmore)) return 0;
  uint64_t limit = ZBASE + ZRATIO * (uint64_t)zin.total_in + zallow;
  if ((uint64_t)zin.total_out >= limit) {
    logf_("event=compress error=\"inflates too much\" in=%llu out=%llu", (unsigned long long)zin.total_in, (unsigned long long)zin.total_out);
    zended = 1;
    return -1;
  }
  if (len > limit - (uint64_t)zin.total_out) len = (size_t)(limit - (uint64_t)zin.total_out);
  zin.next_out = (unsigned char *)buf; zin.avail_out = (uInt)len;
  int r = inflate(&zin, Z_SYNC_FLUSH);
  size_t got = len - zin.avail_out;
  /* A client ends its stream only to close: what came before it is served,
   * then the session ends. */
  if (r == Z_STREAM_END) { zended = 1; return got ? (ssize_t)got : -1; }
  if (r != Z_OK && r != Z_BUF_ERROR) return -1;
  zmore = !zin.avail_out;
  return (ssize_t)got;
}

int io_inflate_read(int fd)
{
  /* (inflate takes all its input while it has room for output, so little or
   * nothing is left here; what is stays in front) */
  size_t keep = zin.avail_in;
  if (keep) memmove(zibuf, zin.next_in, keep);
  zin.next_in = zibuf;
  if (keep == sizeof zibuf) return 1;
  for (;;) {
    ssize_t n = read(fd, zibuf + keep, sizeof zibuf - keep);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* (nothing after all: the caller polls again) */
      if (errno == EAGAIN || errno == EWOULDBLOCK) { zin.avail_in = (uInt)keep; return 1; }
      return -2;
    }
    if (!n) return 0;
    zin.avail_in = (uInt)(keep + (size_t)n);
    return 1;
  }
}
