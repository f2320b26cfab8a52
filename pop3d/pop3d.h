/* pochta-pop3d: the two stages of a POP3 session.
 *
 * auth.c (AUTHORIZATION state) talks to the client until it logs in, then
 * runs the checkpassword program with fd 3, which execs "pochta-pop3d -m"
 * as the mailbox's owner with MAILDIR set: session.c (TRANSACTION and UPDATE
 * states). The pre-login process waits and reads the post-login exit code. */
#ifndef POP3D_H
#define POP3D_H

/* Exit codes of the post-login stage, read by the pre-login stage. */
#define POP3_OKFD_ENV "POP3D_OKFD"   /* the session says on this fd that it runs */
#define POP3_X_DONE 0        /* it answered +OK to the login: the session ran */
#define POP3_X_INUSE 12      /* the mailbox is locked by another POP3 session */
#define POP3_X_TEMP 111      /* could not open the mailbox */

/* Env var that carries pipelined input from pre- to post-login (hex). */
#define POP3_PENDING_ENV "POCHTA_POP3_PENDING"

#define POP3_TIMEOUT_DEFAULT 600  /* RFC 1939: at least 10 minutes */

int auth_main(char const *prog, unsigned timeout);
int session_main(unsigned timeout);

#endif
