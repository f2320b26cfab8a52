/* pemfile: read a PEM file and hand each decoded object to a callback.
 * Plain libc + BearSSL (br_pem_decoder): used by pochta-tlsd (certificate chain,
 * private key) and by tlsclient (trust anchors), which must not use skalibs. */
#ifndef POCHTA_PEMFILE_H
#define POCHTA_PEMFILE_H

#include <stddef.h>

/* Largest PEM file read: a full CA bundle is about 200 KB. */
#define PEMFILE_MAX (4u << 20)

/* Called once per complete object: name is the PEM label ("CERTIFICATE",
 * "PRIVATE KEY", ...), der/len its decoded content (valid only during the call).
 * Return 0 to go on, -1 to stop (pemfile_read then returns -1 with errno kept). */
typedef int pemfile_cb(void *ctx, char const *name, unsigned char const *der, size_t len);

/* Read path (at most PEMFILE_MAX octets) and call cb for each object, in order.
 * Returns the number of objects (>= 0), or -1: errno from open/read, EFBIG if too
 * big, EINVAL if the PEM is malformed or an object is unterminated. Memory holding
 * decoded data is wiped before it is freed (keys pass through here). */
int pemfile_read(char const *path, pemfile_cb *cb, void *ctx);

/* The same on data already in memory (len octets). */
int pemfile_parse(unsigned char const *data, size_t len, pemfile_cb *cb, void *ctx);

#endif
