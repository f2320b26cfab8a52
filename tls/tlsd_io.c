/* tlsd_io: see tlsd_io.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <bearssl.h>

#include "tlsd_io.h"
#include "tlsnames.h"

static char reason[160];

static char const *sysreason(char const *what)
{
  snprintf(reason, sizeof reason, "%s: %s", what, strerror(errno));
  return reason;
}

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One write of pending records. 1 progress, 0 would block, -1 error. */
static int send_records(br_ssl_engine_context *eng, int fd)
{
  size_t len;
  unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
  /* never a blocking write: poll's "writable" may mean room for less than
   * len, and a blocking send would then wait past every deadline */
  ssize_t w = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (w < 0 && errno == ENOTSOCK) w = write(fd, buf, len);   /* a pipe (tests) */
  if (w < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;
  br_ssl_engine_sendrec_ack(eng, (size_t)w);
  return 1;
}

/* One read of records. 1 progress, 0 EOF, -1 error (EINTR/EAGAIN count as progress). */
static int recv_records(br_ssl_engine_context *eng, int fd)
{
  size_t len;
  unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
  ssize_t r = read(fd, buf, len);
  if (r < 0) return errno == EINTR || errno == EAGAIN ? 1 : -1;
  if (!r) return 0;
  br_ssl_engine_recvrec_ack(eng, (size_t)r);
  return 1;
}

int tlsd_handshake(br_ssl_engine_context *eng, int net_in, int net_out,
                   unsigned int timeout_ms, char const **why)
{
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    unsigned int st = br_ssl_engine_current_state(eng);
    if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) return 0;
    if (st & BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(eng);
      *why = e ? tls_error_name(e) : "closed";
      return -1;
    }
    struct pollfd p[2];
    unsigned int n = 0;
    if (st & BR_SSL_SENDREC) p[n++] = (struct pollfd){ .fd = net_out, .events = POLLOUT };
    if (st & BR_SSL_RECVREC) p[n++] = (struct pollfd){ .fd = net_in, .events = POLLIN };
    if (!n) { *why = "engine stalled"; return -1; }
    long long left = deadline - now_ms();
    if (left <= 0) { *why = "timeout"; return -1; }
    int r = poll(p, n, (int)left);
    if (r < 0) {
      if (errno == EINTR) continue;
      *why = sysreason("poll");
      return -1;
    }
    if (!r) { *why = "timeout"; return -1; }
    for (unsigned int i = 0; i < n; i++) {
      if (!p[i].revents) continue;
      if (p[i].events & POLLOUT) {
        if (send_records(eng, net_out) < 0) { *why = sysreason("write"); return -1; }
      } else {
        r = recv_records(eng, net_in);
        if (r < 0) { *why = sysreason("read"); return -1; }
        if (!r) { *why = "eof"; return -1; }
      }
      break; /* the state changed: look at it again before the next I/O */
    }
  }
}

int tlsd_relay(br_ssl_engine_context *eng, int net_in, int net_out,
               int app_in, int app_out, unsigned int write_ms, char const **why)
{
  int ret = 0, net_eof = 0, closing = 0;
  long long wdeadline = 0;   /* records waiting for the peer must be taken by then */
  *why = "";
  for (;;) {
    unsigned int st = br_ssl_engine_current_state(eng);
    /* a deadline per write, not per poll: a peer that keeps a zero window,
     * or takes a few octets now and then, is dropped all the same */
    if (!(st & BR_SSL_SENDREC)) wdeadline = 0;
    else if (!wdeadline && write_ms) wdeadline = now_ms() + write_ms;
    if (st == BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(eng);
      if (e != BR_ERR_OK) { *why = tls_error_name(e); ret = -1; }
      break;
    }
    /* the daemon went away: what the peer still sends has nowhere to go */
    if ((st & BR_SSL_RECVAPP) && app_out < 0) {
      size_t len;
      br_ssl_engine_recvapp_buf(eng, &len);
      br_ssl_engine_recvapp_ack(eng, len);
      continue;
    }
    /* our close_notify is out: the peer's answer is not worth waiting for */
    if (closing && !(st & BR_SSL_SENDREC)) break;
    struct pollfd p[4];
    unsigned int n = 0;
    if (st & BR_SSL_SENDREC) p[n++] = (struct pollfd){ .fd = net_out, .events = POLLOUT };
    if ((st & BR_SSL_RECVREC) && !net_eof) p[n++] = (struct pollfd){ .fd = net_in, .events = POLLIN };
    if (st & BR_SSL_RECVAPP) p[n++] = (struct pollfd){ .fd = app_out, .events = POLLOUT };
    if ((st & BR_SSL_SENDAPP) && app_in >= 0) p[n++] = (struct pollfd){ .fd = app_in, .events = POLLIN };
    if (!n) {
      /* nothing left to do: either we sent close_notify and flushed it, or the
       * peer is gone and we have nothing more to send */
      break;
    }
    int wait = -1;
    if (wdeadline) {
      long long left = wdeadline - now_ms();
      if (left <= 0) { *why = "write timeout"; ret = -1; break; }
      wait = left > 86400000 ? 86400000 : (int)left;
    }
    int r = poll(p, n, wait);
    if (r < 0) {
      if (errno == EINTR) continue;
      *why = sysreason("poll"); ret = -1;
      break;
    }
    if (!r) continue;   /* the deadline: seen at the top */
    for (unsigned int i = 0; i < n; i++) {
      if (!p[i].revents) continue;
      int fd = p[i].fd;
      if (fd == net_out && (p[i].events & POLLOUT)) {
        if (send_records(eng, net_out) < 0) { *why = sysreason("write"); ret = -1; goto end; }
      } else if (fd == net_in && (p[i].events & POLLIN)) {
        r = recv_records(eng, net_in);
        if (r < 0) { *why = sysreason("read"); ret = -1; goto end; }
        if (!r) {
          /* peer closed TCP without close_notify: tell the daemon, and still
           * send what it has to say until it closes */
          net_eof = 1;
          if (app_out >= 0) { close(app_out); app_out = -1; }
          if (!closing && app_in < 0) goto end;
        }
      } else if (fd == app_out) {
        size_t len;
        unsigned char *buf = br_ssl_engine_recvapp_buf(eng, &len);
        ssize_t w = write(app_out, buf, len);
        if (w < 0) {
          if (errno == EINTR || errno == EAGAIN) break;
          /* EPIPE: the daemon closed its input; drop, and close the session */
          close(app_out); app_out = -1;
          if (!closing) { br_ssl_engine_close(eng); closing = 1; }
          break;
        }
        br_ssl_engine_recvapp_ack(eng, (size_t)w);
      } else if (fd == app_in) {
        size_t len;
        unsigned char *buf = br_ssl_engine_sendapp_buf(eng, &len);
        ssize_t rd = read(app_in, buf, len);
        if (rd < 0) {
          if (errno == EINTR || errno == EAGAIN) break;
          rd = 0;
        }
        if (!rd) {
          /* the daemon closed its output: end the session with close_notify */
          close(app_in); app_in = -1;
          if (!closing) { br_ssl_engine_close(eng); closing = 1; }
          if (net_eof) goto end;
        } else {
          br_ssl_engine_sendapp_ack(eng, (size_t)rd);
          /* the daemon writes whole replies: send them now, not when full */
          br_ssl_engine_flush(eng, 0);
        }
      }
      break; /* re-read the state before the next I/O */
    }
  }
end:
  if (app_out >= 0) close(app_out);
  if (app_in >= 0) close(app_in);
  /* the daemon may still hold the socket (STARTTLS mode): make the peer see EOF now */
  shutdown(net_out, SHUT_WR);
  return ret;
}
