/* spam/hash.c — the 64-bit hash of tokens and keys: FNV-1a over the octets, then
 * the splitmix64 finalizer, so that every bit (the database keeps the top 48)
 * depends on every octet. Not keyed: a token's key must be the same in every
 * process that reads the user's database. */
#include "spam-int.h"

static uint64_t fnv(uint64_t h, char const *s, size_t n)
{
  for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 0x100000001b3ULL; }
  return h;
}

uint64_t spam_hash2(char const *a, size_t alen, char const *b, size_t blen)
{
  uint64_t h = fnv(0xcbf29ce484222325ULL, a, alen);
  h = fnv(h ^ 0xff, b, blen);
  h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27; h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}
