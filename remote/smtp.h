/* One SMTP session with one host, for one delivery. */
#ifndef REMOTE_SMTP_H
#define REMOTE_SMTP_H

#include "remote.h"

enum smtp_outcome {
  SMTP_DONE,         /* the transaction ran: every recipient has a result */
  SMTP_NEXTHOST,     /* this host failed before the transaction: try the next */
  SMTP_RETRY_PLAIN   /* the TLS handshake failed: try this host again without TLS */
};

/* Talk to target t. notls: do not try STARTTLS. why gets the reason for
 * SMTP_NEXTHOST. */
enum smtp_outcome smtp_session(struct delivery *d, struct target const *t, int notls, char *why, size_t whylen);

#endif
