#ifndef POCHTA_FDWRITE_H
#define POCHTA_FDWRITE_H
/* Writing all of a buffer to a blocking descriptor, through EINTR and short
 * writes. libc only (pochta-remote and the TLS engine use it too). */
#include <stddef.h>

/* 1 when all len bytes are written, 0 on an error (errno set). */
int fd_write_all(int fd, char const *s, size_t len);

#endif
