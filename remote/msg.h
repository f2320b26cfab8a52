/* The message to send: fd 0 mapped (or read) into memory, scanned once. */
#ifndef REMOTE_MSG_H
#define REMOTE_MSG_H

#include <stddef.h>
#include "conn.h"

struct msg {
  char const *s;
  size_t len;
  size_t wiresize;   /* octets on the wire with CRLF line ends (for SIZE=) */
  int eightbit;      /* some octet >= 128 */
  int mapped;        /* s is an mmap of the file, else malloc'd (or static) */
};

/* Map or read fd into m. 1 ok, 0 failed (errno). */
int msg_load(struct msg *m, int fd);

/* Release what msg_load took. */
void msg_free(struct msg *m);

/* Send the message as DATA content: every LF, CRLF or bare CR becomes
 * CRLF, lines starting with '.' get another '.', a missing final line end
 * is added, and the closing ".\r\n" follows. 1 ok, 0 failed (c->err). */
int msg_send(struct conn *c, struct msg const *m);

#endif
