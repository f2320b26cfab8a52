/* tlsclient: see tlsclient.h. Plain libc + BearSSL only (no skalibs, no libowfat). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <bearssl.h>

#include "pemfile.h"
#include "tlsclient.h"
#include "tlsnames.h"
#include "x509san.h"

#define EE_MAX 16384   /* an end-entity certificate larger than this cannot match an address */

/* The X.509 engine we give BearSSL: br_x509_minimal does the real validation and
 * we record its verdict; unless verification is required we then accept the chain
 * anyway, with the end-entity key taken by our own decoder (minimal gives no key
 * for a chain it rejected for a reason other than "not trusted"). */
typedef struct xwrap xwrap;
struct xwrap {
  br_x509_class const *vtable;
  br_x509_minimal_context *inner;
  br_x509_decoder_context ee; /* decodes the first (end-entity) certificate */
  int ncert;
  int require;
  unsigned int verdict; /* 0 verified, else BR_ERR_X509_* */
  /* the server is an address (minimal checks DNS names only): the end-entity
   * certificate is kept to look for it among its iPAddress names */
  unsigned char ip[16];
  size_t iplen;          /* 4 or 16; 0: a host name, or none (then nothing verifies) */
  int named;             /* a host name was given to minimal */
  unsigned char eeder[EE_MAX];
  size_t eelen;
  int eebig;
};

/* Trust anchors from the CA bundle, owned by the session. */
typedef struct anchors anchors;
struct anchors {
  br_x509_trust_anchor *ta;
  size_t n, cap;
  unsigned char *dn; /* DN being decoded */
  size_t dnlen, dncap;
  int oom;
};

struct tlsclient {
  br_ssl_client_context cc;
  br_x509_minimal_context xc;
  xwrap xw;
  anchors tas;
  int fd;
  unsigned int timeout_ms;
  int eof;
  char const *err;
  char errbuf[96];
  unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

static struct { int fd; tlsclient *t; } reg[TLSC_MAXFD];

/* --- the X.509 wrapper ----------------------------------------------------- */

static void xw_start_chain(br_x509_class const **ctx, char const *server_name)
{
  xwrap *x = (xwrap *)ctx;
  x->ncert = 0;
  x->eelen = 0;
  x->eebig = 0;
  x->verdict = BR_ERR_X509_EMPTY_CHAIN;
  (*x->inner->vtable->start_chain)(&x->inner->vtable, server_name);
}

static void xw_start_cert(br_x509_class const **ctx, uint32_t length)
{
  xwrap *x = (xwrap *)ctx;
  if (!x->ncert) br_x509_decoder_init(&x->ee, 0, 0);
  (*x->inner->vtable->start_cert)(&x->inner->vtable, length);
}

static void xw_append(br_x509_class const **ctx, unsigned char const *buf, size_t len)
{
  xwrap *x = (xwrap *)ctx;
  if (!x->ncert) {
    br_x509_decoder_push(&x->ee, buf, len);
    if (x->iplen && !x->eebig) {
      if (len > sizeof x->eeder - x->eelen) x->eebig = 1;
      else { memcpy(x->eeder + x->eelen, buf, len); x->eelen += len; }
    }
  }
  (*x->inner->vtable->append)(&x->inner->vtable, buf, len);
}

static void xw_end_cert(br_x509_class const **ctx)
{
  xwrap *x = (xwrap *)ctx;
  x->ncert++;
  (*x->inner->vtable->end_cert)(&x->inner->vtable);
}

static int x_ip_match(xwrap const *x)
{
  return x509_san_has_ip(x->eeder, x->eelen, x->ip, x->iplen);
}

static unsigned xw_end_chain(br_x509_class const **ctx)
{
  xwrap *x = (xwrap *)ctx;
  x->verdict = (*x->inner->vtable->end_chain)(&x->inner->vtable);
  /* minimal checked no name: an address must be among the iPAddress names,
   * and without any name nothing verifies (a chain that is merely trusted
   * says nothing about whom we talk to) */
  if (!x->verdict && !x->named)
    if (!x->iplen || x->eebig || x_ip_match(x) != 1) x->verdict = BR_ERR_X509_BAD_SERVER_NAME;
  if (x->verdict && x->require) return x->verdict;
  /* opportunistic: go on if we at least have the server's key */
  if (x->verdict && !br_x509_decoder_get_pkey(&x->ee)) return BR_ERR_X509_EMPTY_CHAIN;
  return 0;
}

static br_x509_pkey const *xw_get_pkey(br_x509_class const *const *ctx, unsigned *usages)
{
  xwrap *x = (xwrap *)ctx;
  if (!x->verdict) return (*x->inner->vtable->get_pkey)(&x->inner->vtable, usages);
  if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
  return br_x509_decoder_get_pkey(&x->ee);
}

static br_x509_class const xw_class = {
  sizeof(xwrap), xw_start_chain, xw_start_cert, xw_append, xw_end_cert, xw_end_chain,
  xw_get_pkey,
};

/* --- trust anchors ---------------------------------------------------------- */

static void dn_append(void *ctx, void const *buf, size_t len)
{
  anchors *a = ctx;
  if (a->oom) return;
  if (a->dnlen + len > a->dncap) {
    size_t cap = a->dncap ? a->dncap * 2 : 256;
    while (cap < a->dnlen + len) cap *= 2;
    unsigned char *p = realloc(a->dn, cap);
    if (!p) { a->oom = 1; return; }
    a->dn = p; a->dncap = cap;
  }
  memcpy(a->dn + a->dnlen, buf, len);
  a->dnlen += len;
}

static void *memdup(void const *p, size_t len)
{
  void *q = malloc(len ? len : 1);
  if (q && len) memcpy(q, p, len);
  return q;
}

static int anchor_cb(void *ctx, char const *name, unsigned char const *der, size_t len)
{
  anchors *a = ctx;
  if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE") && strcmp(name, "TRUSTED CERTIFICATE"))
    return 0;
  br_x509_decoder_context dc;
  a->dnlen = 0; a->oom = 0;
  br_x509_decoder_init(&dc, dn_append, a);
  br_x509_decoder_push(&dc, der, len);
  br_x509_pkey const *pk = br_x509_decoder_get_pkey(&dc);
  if (!pk || a->oom) return 0; /* a certificate BearSSL cannot use: skip it */
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 64;
    br_x509_trust_anchor *p = realloc(a->ta, cap * sizeof *p);
    if (!p) return -1;
    a->ta = p; a->cap = cap;
  }
  br_x509_trust_anchor *ta = &a->ta[a->n];
  memset(ta, 0, sizeof *ta);
  ta->dn.data = memdup(a->dn, a->dnlen);
  ta->dn.len = a->dnlen;
  ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
  ta->pkey.key_type = pk->key_type;
  if (pk->key_type == BR_KEYTYPE_RSA) {
    ta->pkey.key.rsa.n = memdup(pk->key.rsa.n, pk->key.rsa.nlen);
    ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
    ta->pkey.key.rsa.e = memdup(pk->key.rsa.e, pk->key.rsa.elen);
    ta->pkey.key.rsa.elen = pk->key.rsa.elen;
    if (!ta->pkey.key.rsa.n || !ta->pkey.key.rsa.e) goto oom;
  } else if (pk->key_type == BR_KEYTYPE_EC) {
    ta->pkey.key.ec.curve = pk->key.ec.curve;
    ta->pkey.key.ec.q = memdup(pk->key.ec.q, pk->key.ec.qlen);
    ta->pkey.key.ec.qlen = pk->key.ec.qlen;
    if (!ta->pkey.key.ec.q) goto oom;
  } else return 0;
  if (!ta->dn.data) goto oom;
  a->n++;
  return 0;
oom:
  free(ta->dn.data);
  if (pk->key_type == BR_KEYTYPE_RSA) { free(ta->pkey.key.rsa.n); free(ta->pkey.key.rsa.e); }
  else free(ta->pkey.key.ec.q);
  errno = ENOMEM;
  return -1;
}

static void anchors_free(anchors *a)
{
  for (size_t i = 0; i < a->n; i++) {
    br_x509_trust_anchor *ta = &a->ta[i];
    free(ta->dn.data);
    if (ta->pkey.key_type == BR_KEYTYPE_RSA) { free(ta->pkey.key.rsa.n); free(ta->pkey.key.rsa.e); }
    else free(ta->pkey.key.ec.q);
  }
  free(a->ta);
  free(a->dn);
  memset(a, 0, sizeof *a);
}

/* --- I/O ---------------------------------------------------------------------- */

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void seterr(tlsclient *t, char const *what, char const *detail)
{
  snprintf(t->errbuf, sizeof t->errbuf, "%s: %s", what, detail);
  t->err = t->errbuf;
}

/* Drive the engine until its state has one of the bits in want, writing pending
 * records first. deadline 0: none. 0 ok; 1 engine closed cleanly (close_notify) or
 * peer EOF; -1 error (errno, t->err). */
static int run_until(tlsclient *t, unsigned int want, long long deadline)
{
  br_ssl_engine_context *eng = &t->cc.eng;
  for (;;) {
    unsigned int st = br_ssl_engine_current_state(eng);
    if (st & BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(eng);
      if (e == BR_ERR_OK) return 1;
      seterr(t, "tls", tls_error_name(e));
      errno = EPROTO;
      return -1;
    }
    short ev;
    if (st & BR_SSL_SENDREC) ev = POLLOUT;
    else if (!want || (st & want)) return 0;
    else if (st & BR_SSL_RECVREC) {
      if (t->eof) return 1;
      ev = POLLIN;
    } else {
      seterr(t, "tls", "engine stalled");
      errno = EPROTO;
      return -1;
    }
    struct pollfd p = { .fd = t->fd, .events = ev };
    int left = -1;
    if (deadline) {
      long long l = deadline - now_ms();
      if (l <= 0) { seterr(t, "tls", "timeout"); errno = ETIMEDOUT; return -1; }
      left = l > 0x7fffffff ? 0x7fffffff : (int)l;
    }
    int r = poll(&p, 1, left);
    if (r < 0) {
      if (errno == EINTR) continue;
      seterr(t, "poll", strerror(errno));
      return -1;
    }
    if (!r) { seterr(t, "tls", "timeout"); errno = ETIMEDOUT; return -1; }
    size_t len;
    if (ev == POLLOUT) {
      unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
      ssize_t w = write(t->fd, buf, len);
      if (w < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        seterr(t, "write", strerror(errno));
        return -1;
      }
      br_ssl_engine_sendrec_ack(eng, (size_t)w);
    } else {
      unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
      ssize_t rd = read(t->fd, buf, len);
      if (rd < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        seterr(t, "read", strerror(errno));
        return -1;
      }
      if (!rd) { t->eof = 1; continue; }
      br_ssl_engine_recvrec_ack(eng, (size_t)rd);
    }
  }
}

static long long deadline_of(tlsclient const *t)
{
  return t->timeout_ms ? now_ms() + t->timeout_ms : 0;
}

/* --- the API ------------------------------------------------------------------ */

tlsclient *tlsclient_start(int fd, char const *servername, char const *cafile,
                           unsigned int flags, unsigned int timeout_ms, char const **why)
{
  static char reason[128];
  char const *dummy;
  if (!why) why = &dummy;
  tlsclient *t = calloc(1, sizeof *t);
  if (!t) { *why = "out of memory"; return NULL; }
  t->fd = fd;
  t->timeout_ms = 300000;
  t->err = "";
  if (!cafile) cafile = TLSC_CAFILE_DEFAULT;
  /* an unreadable bundle leaves no anchors: nothing verifies, which is only fatal
   * when verification is required */
  if (pemfile_read(cafile, anchor_cb, &t->tas) < 0 && errno == ENOMEM) {
    *why = "out of memory";
    goto err;
  }
  br_ssl_client_init_full(&t->cc, &t->xc, t->tas.ta, t->tas.n);
  br_ssl_engine_context *eng = &t->cc.eng;
  br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
  br_ssl_engine_set_suites(eng, tls_suites, tls_nsuites);
  br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
  t->xw.vtable = &xw_class;
  t->xw.inner = &t->xc;
  t->xw.require = !!(flags & TLSC_REQUIRE_VERIFY);
  t->xw.verdict = BR_ERR_X509_EMPTY_CHAIN;
  br_ssl_engine_set_x509(eng, &t->xw.vtable);
  br_ssl_engine_set_buffer(eng, t->iobuf, sizeof t->iobuf, 1);
  unsigned char seed[32];
  if (getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed) {
    br_ssl_engine_inject_entropy(eng, seed, sizeof seed);
    explicit_bzero(seed, sizeof seed);
  }
  if (servername && !*servername) servername = NULL;
  /* an address is no name for SNI (RFC 6066 3), nor for minimal's check */
  if (servername && inet_pton(AF_INET, servername, t->xw.ip) == 1) { t->xw.iplen = 4; servername = NULL; }
  else if (servername && inet_pton(AF_INET6, servername, t->xw.ip) == 1) { t->xw.iplen = 16; servername = NULL; }
  t->xw.named = servername != NULL;
  if (!br_ssl_client_reset(&t->cc, servername, 0)) {
    snprintf(reason, sizeof reason, "reset: %s", tls_error_name(br_ssl_engine_last_error(eng)));
    *why = reason;
    errno = EPROTO;
    goto err;
  }
  long long deadline = now_ms() + (timeout_ms ? timeout_ms : 60000);
  int r = run_until(t, BR_SSL_SENDAPP, deadline);
  if (r) {
    if (r > 0) { seterr(t, "handshake", "connection closed"); errno = ECONNRESET; }
    snprintf(reason, sizeof reason, "handshake: %s", t->err);
    *why = reason;
    goto err;
  }
  for (unsigned int i = 0; i < TLSC_MAXFD; i++)
    if (!reg[i].t) { reg[i].fd = fd; reg[i].t = t; break; }
  return t;
err:
  {
    int e = errno;
    anchors_free(&t->tas);
    free(t);
    errno = e;
  }
  return NULL;
}

int tlsclient_verified(tlsclient const *t) { return t->xw.verdict == 0; }

char const *tlsclient_verify_error(tlsclient const *t)
{
  return t->xw.verdict ? tls_error_name((int)t->xw.verdict) : "ok";
}

char const *tlsclient_protocol(tlsclient const *t)
{
  return tls_version_name(br_ssl_engine_get_version(&t->cc.eng));
}

char const *tlsclient_cipher(tlsclient const *t)
{
  br_ssl_session_parameters sp;
  br_ssl_engine_get_session_parameters(&t->cc.eng, &sp);
  return tls_suite_name(sp.cipher_suite);
}

char const *tlsclient_error(tlsclient const *t) { return t->err; }

void tlsclient_set_timeout(tlsclient *t, unsigned int timeout_ms) { t->timeout_ms = timeout_ms; }

ssize_t tlsclient_read(tlsclient *t, char *buf, size_t len)
{
  if (!len) return 0;
  int r = run_until(t, BR_SSL_RECVAPP, deadline_of(t));
  if (r < 0) return -1;
  if (r > 0) return 0;
  size_t avail;
  unsigned char *p = br_ssl_engine_recvapp_buf(&t->cc.eng, &avail);
  if (avail > len) avail = len;
  memcpy(buf, p, avail);
  br_ssl_engine_recvapp_ack(&t->cc.eng, avail);
  return (ssize_t)avail;
}

ssize_t tlsclient_write(tlsclient *t, char const *buf, size_t len)
{
  br_ssl_engine_context *eng = &t->cc.eng;
  long long deadline = deadline_of(t);
  size_t done = 0;
  while (done < len) {
    int r = run_until(t, BR_SSL_SENDAPP, deadline);
    if (r) { if (r > 0) { seterr(t, "write", "connection closed"); errno = EPIPE; } return -1; }
    size_t room;
    unsigned char *p = br_ssl_engine_sendapp_buf(eng, &room);
    if (room > len - done) room = len - done;
    memcpy(p, buf + done, room);
    br_ssl_engine_sendapp_ack(eng, room);
    done += room;
  }
  /* push it out now: SMTP waits for the answer to what we just wrote */
  br_ssl_engine_flush(eng, 0);
  int r = run_until(t, BR_SSL_SENDAPP, deadline);
  if (r) { if (r > 0) { seterr(t, "write", "connection closed"); errno = EPIPE; } return -1; }
  return (ssize_t)len;
}

static tlsclient *byfd(int fd)
{
  for (unsigned int i = 0; i < TLSC_MAXFD; i++)
    if (reg[i].t && reg[i].fd == fd) return reg[i].t;
  return NULL;
}

ssize_t tlsclient_fdread(int fd, char *buf, size_t len)
{
  tlsclient *t = byfd(fd);
  if (!t) { errno = EBADF; return -1; }
  return tlsclient_read(t, buf, len);
}

ssize_t tlsclient_fdwrite(int fd, char const *buf, size_t len)
{
  tlsclient *t = byfd(fd);
  if (!t) { errno = EBADF; return -1; }
  return tlsclient_write(t, buf, len);
}

int tlsclient_close(tlsclient *t)
{
  br_ssl_engine_close(&t->cc.eng);
  /* send our close_notify; do not wait for the peer's */
  long long deadline = now_ms() + (t->timeout_ms && t->timeout_ms < 10000 ? t->timeout_ms : 10000);
  for (;;) {
    unsigned int st = br_ssl_engine_current_state(&t->cc.eng);
    if (!(st & BR_SSL_SENDREC)) return 0;
    int r = run_until(t, 0, deadline);
    if (r < 0) return -1;
    if (r > 0) return 0;
  }
}

void tlsclient_free(tlsclient *t)
{
  if (!t) return;
  for (unsigned int i = 0; i < TLSC_MAXFD; i++)
    if (reg[i].t == t) reg[i].t = NULL;
  anchors_free(&t->tas);
  explicit_bzero(t, sizeof *t);
  free(t);
}
