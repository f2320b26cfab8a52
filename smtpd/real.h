/* The hooks pochta-smtpd runs with on a real connection (real.c). */
#ifndef SMTPD_REAL_H
#define SMTPD_REAL_H

#include "smtpd.h"

#define QIDFD 3                  /* POCHTA_QIDFD given to the enqueue program */
extern hooks const real_hooks;
extern int tls_ctlfd, tls_rfd, tls_wfd;   /* UCSPI-TLS descriptors, -1 if none */

#endif
