#include "base64.h"

int base64_value(unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

long base64_decode(char *out, size_t outmax, char const *in, size_t len)
{
  size_t n = 0;
  if (len % 4) return -1;
  for (size_t i = 0; i < len; i += 4) {
    int v[4], pad = 0;
    for (int k = 0; k < 4; k++) {
      unsigned char c = (unsigned char)in[i + k];
      if (c == '=' && i + 4 == len && k >= 2) { v[k] = 0; pad++; continue; }
      if (pad) return -1;                /* data after '=' */
      if ((v[k] = base64_value(c)) < 0) return -1;
    }
    if (n + 3 - (size_t)pad > outmax) return -1;
    out[n++] = (char)(v[0] << 2 | v[1] >> 4);
    if (pad < 2) out[n++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
    if (pad < 1) out[n++] = (char)((v[2] & 3) << 6 | v[3]);
  }
  return (long)n;
}
