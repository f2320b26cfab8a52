/* libFuzzer target: the whole session engine (command parser, MAIL/RCPT, AUTH,
 * DATA and BDAT state machines) driven from a buffer. Input: one flags octet
 * (submission, relay, plainauth, STARTTLS available, implicit TLS), one octet of
 * read size (how the input is cut into reads, so split CRLFs get exercised), then
 * the client's bytes. Checks what must always hold: no CR or NUL ever reaches
 * the queue, the envelope is well formed, a commit only follows a clean message. */
#include <stdint.h>
#include <skalibs/stralloc.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"

static uint8_t const *in;
static size_t inlen, inpos, chunk;
static int inmsg;

static ssize_t frd(io *x, char *b, size_t n)
{
  size_t k = inlen - inpos;
  (void)x;
  if (!k) return 0;
  if (chunk && k > chunk) k = chunk;
  if (k > n) k = n;
  memcpy(b, in + inpos, k);
  inpos += k;
  return (ssize_t)k;
}

static int fwr(io *x, char const *b, size_t n) { (void)x; (void)b; (void)n; return 1; }

static int q_open(smtpd *s) { (void)s; if (inmsg) abort(); inmsg = 1; return 1; }

static int q_write(smtpd *s, char const *p, size_t n)
{
  (void)s;
  if (!inmsg) abort();
  if (memchr(p, '\r', n) || memchr(p, 0, n)) abort();   /* LF endings only, never NUL */
  return 1;
}

static int q_close(smtpd *s, int commit, char *qid)
{
  size_t i = 0;
  if (!inmsg) abort();
  inmsg = 0;
  if (!commit) return 54;
  if (s->bflags & ~B_QUEUE) abort();
  if (!s->env.len || s->env.s[0] != 'F' || !s->nfinal) abort();
  while (i < s->env.len) {          /* F..\0 T..\0 ... each entry non-empty, no control chars */
    size_t k = strlen(s->env.s + i);
    if (i && (s->env.s[i] != 'T' || k < 2)) abort();
    for (size_t j = i + 1; j < i + k; j++) if ((unsigned char)s->env.s[j] < 32) abort();
    i += k + 1;
  }
  if (qid) memcpy(qid, "0123456789abcdef", 17);
  return 0;
}

static int auth_check(smtpd *s, char const *user, char const *pass)
{
  (void)s;
  if (strlen(user) > 600 || strlen(pass) > 1000) abort();
  return strcmp(pass, "secret") ? 1 : 0;
}

static int tls_start(smtpd *s) { (void)s; return 1; }

/* The hold in memory; the inspection accepts, as a message without checks. */
static stralloc held = STRALLOC_ZERO;
static int h_open(smtpd *s) { (void)s; held.len = 0; return 1; }
static int h_write(smtpd *s, char const *p, size_t n) { (void)s; return stralloc_catb(&held, p, n); }
static int h_map(smtpd *s, char const **p, size_t *n) { (void)s; *p = held.s ? held.s : ""; *n = held.len; return 1; }
static void h_close(smtpd *s) { (void)s; held.len = 0; }
static int inspect(smtpd *s, char const *m, size_t len, verdict *v)
{
  (void)s; (void)m; (void)len;
  v->action = V_ACCEPT;
  return 1;
}

static hooks const fh = {
  .hold_open = h_open, .hold_write = h_write, .hold_map = h_map, .hold_close = h_close,
  .inspect = inspect, .queue_open = q_open, .queue_write = q_write, .queue_close = q_close,
  .auth_check = auth_check, .tls_start = tls_start
};

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static smtpd S;
  uint8_t flags;
  if (size < 2) return 0;
  flags = data[0];
  chunk = data[1];
  in = data + 2;
  inlen = size - 2;
  inpos = 0;
  inmsg = 0;
  smtpd_init(&S, &fh);
  S.me = "mx.example.test";
  S.remoteip = "127.0.0.1";
  memcpy(S.sid, "00000000000000ff", 17);
  S.databytes = 4096;   /* small, so the limits are reached */
  S.submission = flags & 1;
  S.relayclient = !!(flags & 2);
  S.plainauth = !!(flags & 4);
  S.cantls = !!(flags & 8);
  S.tls = !!(flags & 16);
  S.io.rd = frd;
  S.io.wr = fwr;
  smtpd_run(&S);
  if (inmsg) abort();      /* a message left open */
  stralloc_free(&S.env);
  stralloc_free(&S.user);
  stralloc_free(&S.hdr);
  return 0;
}
