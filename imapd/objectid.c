/* pochta-imapd: OBJECTID (RFC 8474). MAILBOXID is the folder's GUID (its uid
 * list's G field: it stays with the folder through RENAME and a new folder of
 * the same name gets another). EMAILID names a message's content: a digest of
 * its header block and the size of its body, so every copy of a message (COPY,
 * MOVE, a second APPEND of the same octets) has the same one and no other
 * message has it; it is computed from the first page or so of the file, never
 * the whole of it. THREADID is NIL: threads are computed by THREAD, not kept. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/sha256.h>

#include "imapd.h"
#include "io.h"
#include "mime.h"

int msg_emailid(mbox *mb, msg *m, char *out)
{
  struct stat st;
  int fd = mbox_open_msg(mb, m);
  if (fd < 0) return 0;
  if (fstat(fd, &st) < 0) { close(fd); return 0; }
  size_t len = (size_t)st.st_size;
  void *map = len ? mmap(0, len, PROT_READ, MAP_PRIVATE, fd, 0) : 0;
  close(fd);
  if (map == MAP_FAILED) return 0;
  char const *d = map ? map : "";
  size_t hl = mime_header_len(d, len);
  char sz[32], dg[32];
  int n = snprintf(sz, sizeof sz, "\n%llu", (unsigned long long)mime_vsize(d + hl, len - hl));
  SHA256Schedule c;
  sha256_init(&c);
  sha256_update(&c, d, hl);
  sha256_update(&c, sz, (size_t)n);
  sha256_final(&c, dg);
  if (map) munmap(map, len);
  static char const hex[] = "0123456789abcdef";
  out[0] = 'M';
  for (int i = 0; i < 12; i++) { out[1 + 2 * i] = hex[(unsigned char)dg[i] >> 4]; out[2 + 2 * i] = hex[dg[i] & 15]; }
  out[25] = 0;
  return 1;
}

void put_mailboxid(char const *dir)
{
  char g[33];
  if (!mailbox_guid(dir, g)) return;
  io_puts("MAILBOXID (F"); io_puts(g); io_puts(")");
}
