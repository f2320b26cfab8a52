/* Reading a small file whole into the caller's buffer, with no allocation. libc
 * only: dns/ (in pochta-remote, which links no skalibs) uses it as lib/conf.c does. */
#ifndef POCHTA_READSMALL_H
#define POCHTA_READSMALL_H

#include <stddef.h>

/* Read the file at path into buf (at most cap octets), *len its length. 1 read
 * whole, 2 buf is full (the file may hold more), 0 absent, -1 error (errno). A FIFO
 * put where a file belongs does not block the reader. */
int read_small(char const *path, char *buf, size_t cap, size_t *len);

#endif
