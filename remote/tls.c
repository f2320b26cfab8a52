/* STARTTLS for pochta-remote through tls/tlsclient (BearSSL, TLS 1.2,
 * ECDHE with AES-GCM or ChaCha20-Poly1305, written by the TLS part). This
 * file adapts it to struct conn: timeouts come from c->timeout, failures
 * land in c->err. Opportunistic unless the caller requires verification. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "tls.h"
#include "tlsclient.h"

static tlsclient *sess;   /* one session per process: one connection at a time */

static unsigned ms(unsigned secs)
{
  return secs > 4000000 ? 4000000000u : secs * 1000u;
}

int tls_start(struct conn *c, char const *servername, char const *cafile, int require, struct tls_info *info)
{
  char const *why = 0;
  tlsclient_free(sess);
  sess = tlsclient_start(c->fd, servername, cafile, require ? TLSC_REQUIRE_VERIFY : 0, ms(c->timeout), &why);
  if (!sess) {
    snprintf(c->err, sizeof c->err, "TLS handshake failed: %s", why ? why : strerror(errno));
    return 0;
  }
  c->tls = 1;
  info->verified = tlsclient_verified(sess);
  snprintf(info->verify_error, sizeof info->verify_error, "%s", tlsclient_verify_error(sess));
  snprintf(info->cipher, sizeof info->cipher, "%s", tlsclient_cipher(sess));
  snprintf(info->protocol, sizeof info->protocol, "%s", tlsclient_protocol(sess));
  return 1;
}

int tls_read(struct conn *c, char *buf, size_t len)
{
  ssize_t r;
  tlsclient_set_timeout(sess, ms(c->timeout));
  r = tlsclient_read(sess, buf, len);
  if (r > 0) return (int)r;
  if (!r) snprintf(c->err, sizeof c->err, "connection closed by peer");
  else if (errno == ETIMEDOUT) snprintf(c->err, sizeof c->err, "read: timed out");
  else snprintf(c->err, sizeof c->err, "TLS read: %s", tlsclient_error(sess));
  return -1;
}

int tls_write(struct conn *c, char const *buf, size_t len)
{
  tlsclient_set_timeout(sess, ms(c->timeout));
  if (tlsclient_write(sess, buf, len) < 0) {
    if (errno == ETIMEDOUT) snprintf(c->err, sizeof c->err, "write: timed out");
    else snprintf(c->err, sizeof c->err, "TLS write: %s", tlsclient_error(sess));
    return 0;
  }
  return 1;
}

void tls_close(struct conn *c)
{
  (void)c;
  /* close_notify is a courtesy; do not wait long for it */
  tlsclient_set_timeout(sess, 2000);
  tlsclient_close(sess);
  tlsclient_free(sess);
  sess = 0;
}
