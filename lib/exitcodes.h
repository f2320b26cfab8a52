/* Exit codes shared by pochta programs. Frozen: other programs and admins'
 * scripts depend on them. See doc/CONTRACTS.md and each program's man page. */
#ifndef POCHTA_EXITCODES_H
#define POCHTA_EXITCODES_H

/* Delivery programs and most tools (qmail-local / skarnet convention). */
#define EX_OK_ 0
#define EX_PERM 100     /* permanent failure, or usage error */
#define EX_TEMP 111     /* temporary failure: try again later */

/* Enqueue interface (qmail-queue compatible). 11..40 are permanent. */
#define QX_OK 0
#define QX_ADDR_TOO_LONG 11
#define QX_PERM_REFUSED 31   /* a filter refuses the message for good */
#define QX_NOMEM 51
#define QX_TIMEOUT 52
#define QX_WRITE 53          /* write error, e.g. disk full */
#define QX_READ 54           /* could not read message or envelope */
#define QX_CONFIG 55
#define QX_NETWORK 56
#define QX_QUEUEDIR 62       /* trouble in the queue directory */
#define QX_TRIGGER 63
#define QX_BUG 81
#define QX_TEMP_REFUSED 71   /* a filter refuses the message for now */
#define QX_ENVELOPE 91       /* envelope format error */
#define QX_IS_PERMANENT(c) ((c) >= 11 && (c) <= 40)

#endif
