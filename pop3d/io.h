/* pochta-pop3d's line I/O: bounded lines in, buffered replies out, with a
 * deadline on both: a command line must arrive whole within the timeout of the
 * moment we wait for it, and each flush of our output must be taken whole
 * within the timeout, so a client that trickles or reads a byte now and then
 * is closed as one that is silent. Output is flushed before every blocking
 * read, which is all PIPELINING needs. */
#ifndef POP3D_IO_H
#define POP3D_IO_H

#include <stddef.h>

#define IO_LINEMAX 1024      /* longest command line we take, CRLF excluded */

typedef struct io_s io_t;
struct io_s {
  int rfd, wfd;
  unsigned timeout;          /* seconds a command line may take to arrive, and a flush to be taken */
  size_t rpos, rlen;
  size_t wlen;
  unsigned long long bytes_out;
  char rbuf[4096];
  char wbuf[65536];
};

void io_init(io_t *io, int rfd, int wfd, unsigned timeout);

/* Switch to new descriptors (after STLS): everything buffered from the client
 * is thrown away, as the UCSPI-TLS convention demands. */
void io_switch(io_t *io, int rfd, int wfd);

/* Put bytes in front of the input (pipelined commands handed over by the
 * pre-login process). 0 if they do not fit. */
int io_preload(io_t *io, char const *s, size_t n);

/* Read one line into line (NUL-terminated, CRLF or LF removed, at most
 * IO_LINEMAX octets). *len gets its length (NULs inside are kept and counted).
 * 1 a line, 0 end of input, -1 read error or timeout (errno ETIMEDOUT),
 * -2 the line was too long (it has been skipped up to its LF). */
int io_getline(io_t *io, char *line, size_t *len);

/* Output. Errors (a dead client, a timeout) end the process quietly: there is
 * nobody left to tell. */
void io_put(io_t *io, char const *s, size_t n);
void io_puts(io_t *io, char const *s);
void io_flush(io_t *io);

/* Octets read but not yet used as lines (to hand over at login). */
size_t io_pending(io_t const *io, char const **s);

#endif
