#ifndef REMOTE_B64_H
#define REMOTE_B64_H
#include <stddef.h>
/* Base64 (RFC 4648) of in into out (NUL-ended). 0 if out is too small. */
int b64_encode(unsigned char const *in, size_t len, char *out, size_t outlen);
#endif
