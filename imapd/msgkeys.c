/* pochta-imapd: the header keys SORT and THREAD need (search.h), read from a
 * message's header block once and kept for the session's selected mailbox:
 * a webmail client sorts the same folder on every page it shows. Kept by UID
 * (sorted); strings in one pool. Messages never change their header, so a key
 * holds as long as the mailbox stays selected. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imapd.h"
#include "mime.h"
#include "search.h"

static mkeys *keys;
static size_t nkeys, capkeys;
static stralloc pool = STRALLOC_ZERO;

void msgkeys_reset(void)
{
  free(keys); keys = 0; nkeys = capkeys = 0;
  stralloc_free(&pool);
}

char const *msgkeys_str(uint32_t off) { return pool.s ? pool.s + off : ""; }

/* Where uid is (or goes) in keys. */
static size_t find(uint32_t uid)
{
  size_t lo = 0, hi = nkeys;
  /* (mostly asked in ascending order: the end first) */
  if (nkeys && keys[nkeys - 1].uid < uid) return nkeys;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (keys[mid].uid < uid) lo = mid + 1; else hi = mid;
  }
  return lo;
}

static int keep(uint32_t *off, stralloc const *s)
{
  if (pool.len > 0xfffffff0u) return 0;
  *off = (uint32_t)pool.len;
  return stralloc_catb(&pool, s->s ? s->s : "", s->len) && stralloc_0(&pool);
}

mkeys *msgkeys(size_t idx, unsigned want)
{
  msg *m = &S.mb.m[idx];
  size_t at = find(m->uid);
  if (at == nkeys || keys[at].uid != m->uid) {
    if (nkeys == capkeys) {
      size_t c = capkeys ? capkeys * 2 : 256;
      mkeys *nk = realloc(keys, c * sizeof *nk);
      if (!nk) return 0;
      keys = nk; capkeys = c;
    }
    memmove(keys + at + 1, keys + at, (nkeys - at) * sizeof *keys);
    nkeys++;
    memset(&keys[at], 0, sizeof keys[at]);
    keys[at].uid = m->uid;
    /* empty strings until read: offset 0 must be one */
    if (!pool.len && !stralloc_0(&pool)) return 0;
  }
  mkeys *k = &keys[at];
  unsigned need = want & ~k->have;
  if (!need) return k;
  /* one open and a parse of the header block serve every key */
  mime_tree t = MIME_TREE_ZERO;
  char const *data = "";
  size_t len = 0;
  void *map = 0;
  struct stat st;
  int fd = mbox_open_msg(&S.mb, m);
  if (fd >= 0 && fstat(fd, &st) == 0) {
    len = (size_t)st.st_size;
    if (len && (map = mmap(0, len, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) { map = 0; len = 0; }
    if (map) data = map;
    if (need & MK_HAVE_DATE) k->sent = st.st_mtime;   /* (INTERNALDATE, unless Date: says) */
  }
  if (fd >= 0) close(fd);
  /* (a message gone since, or unreadable, sorts with empty keys) */
  int ok = mime_parse(&t, data, mime_header_len(data, len));
  stralloc s = STRALLOC_ZERO, s2 = STRALLOC_ZERO;
  static char const *const field[MK_NSTR] = { 0, "From", "To", "Cc", "From", "To" };
  for (int i = 0; ok && i < MK_NSTR; i++) {
    if (!(need & (1u << i))) continue;
    ok = (i == MK_SUBJECT ? mime_key_subject(&s, &t, &k->refwd) : mime_key_address(&s, &t, field[i], i >= MK_DISPLAYFROM))
      && keep(&k->str[i], &s);
  }
  if (ok && (need & MK_HAVE_DATE)) { int64_t d; if (mime_key_date(&d, &t)) k->sent = d; }
  if (ok && (need & MK_HAVE_IDS)) {
    ok = mime_key_ids(&s, &s2, &t) && keep(&k->msgid, &s) && stralloc_0(&s2) && keep(&k->refs, &s2);
  }
  stralloc_free(&s); stralloc_free(&s2);
  mime_tree_free(&t);
  if (map) munmap(map, len);
  if (!ok) return 0;
  k->have |= need;
  return k;
}
