/* pochta-smtpd's inspection of a whole message (inspect.c). */
#ifndef SMTPD_INSPECT_H
#define SMTPD_INSPECT_H

#include "smtpd.h"

int real_inspect(smtpd *s, char const *msg, size_t len, verdict *v);

#endif
