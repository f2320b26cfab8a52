/* Base64 for SMTP AUTH (RFC 4954). */
#include "b64.h"

int b64_encode(unsigned char const *in, size_t len, char *out, size_t outlen)
{
  static char const tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i, o = 0;
  if (outlen < (len + 2) / 3 * 4 + 1) return 0;
  for (i = 0; i + 2 < len; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = tab[v >> 18]; out[o++] = tab[(v >> 12) & 63];
    out[o++] = tab[(v >> 6) & 63]; out[o++] = tab[v & 63];
  }
  if (i < len) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
    out[o++] = tab[v >> 18]; out[o++] = tab[(v >> 12) & 63];
    out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = 0;
  return 1;
}
