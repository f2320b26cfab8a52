#ifndef POCHTA_SIGNER_H
#define POCHTA_SIGNER_H
/* Running pochta-dkimsign (checks/dkimsign.c), the one step that can read the DKIM
 * keys: the message goes to its fd 0 as the pieces of iov (LF line ends, as it will
 * be queued), the DKIM-Signature fields come back from its fd 1. Shared by
 * pochta-smtpd (submitted mail) and pochta-sendmail (local mail). libc only. */
#include <stddef.h>
#include <sys/uio.h>

#define SIGNER_OUT_MAX 65536   /* what the fields of a few signatures take, and more */

enum { SIGNER_FAIL = -1, SIGNER_ABSENT = 0, SIGNER_OK = 1 };

/* The fields into out (at most max bytes, *outlen set; nothing when the domain does
 * not sign). SIGNER_ABSENT: no pochta-dkimsign beside the running program (nothing
 * signs in this install); SIGNER_FAIL: it could not run, failed or said too much
 * (errno, when it is a system error; *status its wait status or -1). */
int signer_run(struct iovec const *iov, unsigned niov, char *out, size_t max, size_t *outlen, int *status);

/* The same, the signer run with args (at most 8, then a null pointer): its ARC
 * sealing (-a DOMAIN -c CV -r AUTHRES), which pochta-smtpd asks for mail it forwards. */
int signer_run_args(char const *const *args, struct iovec const *iov, unsigned niov, char *out, size_t max,
                    size_t *outlen, int *status);

#endif
