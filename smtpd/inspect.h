/* pochta-smtpd's inspection of a whole message (inspect.c). */
#ifndef SMTPD_INSPECT_H
#define SMTPD_INSPECT_H

#include "smtpd.h"

int real_inspect(smtpd *s, char const *msg, size_t len, verdict *v);
/* At RCPT of a local recipient: greylisting (spam/). 1 pass, 0 refused (reply
 * set), -1 temporary failure. */
int real_rcpt_check(smtpd *s, char const *rcpt, char *reply, size_t rlen);

#endif
