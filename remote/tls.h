/* Client side of STARTTLS for pochta-remote, over tls/tlsclient.h.
 * One TLS session per process at a time. */
#ifndef REMOTE_TLS_H
#define REMOTE_TLS_H

#include <stddef.h>
#include "conn.h"

struct tls_info {
  int verified;            /* the chain verified up to a trust anchor, name matched */
  char verify_error[64];   /* why not, e.g. "BR_ERR_X509_NOT_TRUSTED" */
  char cipher[64];         /* e.g. "ECDHE-RSA-AES128-GCM-SHA256" */
  char protocol[16];       /* "TLSv1.2" */
};

/* Handshake over c (whose fd is connected and past the STARTTLS 220),
 * within c->timeout. servername: SNI and the name to verify (NULL: none,
 * never verifies). cafile: PEM trust anchors. require: fail unless the
 * chain verifies. 1 ok (c->tls set, info filled), 0 failed (c->err). */
int tls_start(struct conn *c, char const *servername, char const *cafile, int require, struct tls_info *info);

/* Application data through the session. */
int tls_read(struct conn *c, char *buf, size_t len);
int tls_write(struct conn *c, char const *buf, size_t len);
void tls_close(struct conn *c);

#endif
