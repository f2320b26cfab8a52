/* One outgoing SMTP connection: connect with a deadline, buffered writes,
 * reply reads with a deadline, optionally through TLS. Plain libc. */
#ifndef REMOTE_CONN_H
#define REMOTE_CONN_H

#include <stddef.h>
#include "rdns.h"
#include "reply.h"

struct conn {
  int fd;
  int tls;                 /* 1 once STARTTLS succeeded */
  unsigned timeout;        /* seconds for the next read or write */
  char rbuf[4096];
  size_t rpos, rlen;
  char wbuf[16384];
  size_t wlen;
  char err[160];           /* why the last call failed */
  int errnum;              /* and its errno (ETIMEDOUT for our own timeouts), for conn_open */
  unsigned long long sent; /* octets written to the socket (TLS records included) */
};

/* Connect to addr:port within timeout seconds, from src when given (its
 * family must be addr's). 1 ok, 0 failed (c->err, c->errnum). */
int conn_open(struct conn *c, struct rdns_addr const *addr, unsigned port, unsigned timeout,
              struct rdns_addr const *src);

/* Did the peer acknowledge (at the TCP level) every octet we sent? 1 yes,
 * 0 no, -1 unknown. After a failed read it tells whether the peer had the
 * whole message (a lost reply to the final dot) or not (lost while sending). */
int conn_all_acked(struct conn const *c);
void conn_close(struct conn *c);

/* Queue octets for sending; flushes when the buffer fills. 1 ok, 0 failed. */
int conn_put(struct conn *c, char const *s, size_t len);
int conn_puts(struct conn *c, char const *s);
int conn_flush(struct conn *c);

/* Flush, then read one complete reply. 1 ok, 0 failed (timeout, EOF,
 * malformed: c->err says which). */
int conn_reply(struct conn *c, struct reply *r);

/* Raw transport used by the TLS layer: poll with c->timeout, then one
 * read or write. Bytes moved, or -1. */
int conn_rawread(struct conn *c, unsigned char *buf, size_t len);
int conn_rawwrite(struct conn *c, unsigned char const *buf, size_t len);

/* Format an address for logs. */
void conn_addrfmt(struct rdns_addr const *a, char *buf, size_t len);

#endif
