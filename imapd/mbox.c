/* pochta-imapd: Maildir++ folder scanning, the uid list, flags in file names.
 * See mbox.h for the files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "maildir.h"
#include "mbox.h"

/* --- small helpers ------------------------------------------------------ */

static int sync_dir(char const *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = fsync(fd);
  close(fd);
  return r;
}

int mbox_sync_dir(char const *dir) { return sync_dir(dir); }

int maildir_exists(char const *dir)
{
  char p[4200]; struct stat st;
  snprintf(p, sizeof p, "%s/cur", dir);
  return !stat(p, &st) && S_ISDIR(st.st_mode);
}

int maildir_make(char const *dir, int folder)
{
  char p[4200];
  if (mkdir(dir, 0700) < 0) { if (errno != EEXIST) return -1; if (maildir_exists(dir)) return 0; }
  static char const *sub[] = { "tmp", "new", "cur" };
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
    if (mkdir(p, 0700) < 0 && errno != EEXIST) return -1;
  }
  if (folder) {
    snprintf(p, sizeof p, "%s/maildirfolder", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
  }
  sync_dir(dir);
  char parent[4200];
  snprintf(parent, sizeof parent, "%s/..", dir);
  sync_dir(parent);
  return 1;
}

void mbox_uniq(char *buf, size_t len)
{
  static unsigned q;
  struct timeval tv;
  char host[256];
  gettimeofday(&tv, 0);
  if (gethostname(host, sizeof host) < 0) strcpy(host, "localhost");
  host[sizeof host - 1] = 0;
  /* '/' and ':' may not appear in a Maildir name */
  for (char *h = host; *h; h++) if (*h == '/' || *h == ':') *h = '_';
  snprintf(buf, len, "%lld.M%ldP%dQ%u.%s", (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), ++q, host);
}

void mbox_flagstr(uint32_t flags, uint32_t kw, char *buf)
{
  char *o = buf;
  if (flags & F_DRAFT) *o++ = 'D';
  if (flags & F_FLAGGED) *o++ = 'F';
  if (flags & F_PASSED) *o++ = 'P';
  if (flags & F_ANSWERED) *o++ = 'R';
  if (flags & F_SEEN) *o++ = 'S';
  if (flags & F_DELETED) *o++ = 'T';
  for (int i = 0; i < MAXKW; i++) if (kw & (1u << i)) *o++ = (char)('a' + i);
  *o = 0;
}

void mbox_flagparse(char const *letters, size_t len, uint32_t *flags, uint32_t *kw)
{
  *flags = 0; *kw = 0;
  for (char const *c = letters; c < letters + len; c++) {
    switch (*c) {
      case 'D': *flags |= F_DRAFT; break;
      case 'F': *flags |= F_FLAGGED; break;
      case 'P': *flags |= F_PASSED; break;
      case 'R': *flags |= F_ANSWERED; break;
      case 'S': *flags |= F_SEEN; break;
      case 'T': *flags |= F_DELETED; break;
      default: if (*c >= 'a' && *c <= 'z') *kw |= 1u << (*c - 'a');
    }
  }
}

static void parse_info(char const *name, uint32_t *flags, uint32_t *kw)
{
  char const *c = strstr(name, ":2,");
  *flags = 0; *kw = 0;
  if (c) mbox_flagparse(c + 3, strlen(c + 3), flags, kw);
}

static size_t baselen(char const *name)
{
  char const *c = strchr(name, ':');
  return c ? (size_t)(c - name) : strlen(name);
}

char const *mbox_name(mbox const *mb, msg const *m)
{
  return m->name & NAME_OWN ? mb->names.s + (m->name & ~NAME_OWN) : mb->bnames + m->name;
}

/* m's file is now called name: a NAME_OWN name (the view may be a mapping). */
static void set_name(mbox *mb, msg *m, char const *name)
{
  size_t off = mb->names.len;
  if (off >= NAME_OWN || !stralloc_catb(&mb->names, name, strlen(name) + 1)) return;
  m->name = (uint32_t)off | NAME_OWN;
}

int mbox_path(mbox const *mb, msg const *m, char *buf, size_t len)
{
  int n = snprintf(buf, len, "%s/%s/%s", mb->dir, (m->flags & F_INNEW) ? "new" : "cur", mbox_name(mb, m));
  return n > 0 && (size_t)n < len;
}

/* --- keywords ----------------------------------------------------------- */

static void kw_free(mbox *mb)
{
  for (unsigned i = 0; i < MAXKW; i++) { free(mb->kw[i]); mb->kw[i] = 0; }
  mb->nkw = 0;
}

static void kw_load(mbox *mb)
{
  char p[4200];
  stralloc sa = STRALLOC_ZERO;
  kw_free(mb);
  snprintf(p, sizeof p, "%s/dovecot-keywords", mb->dir);
  if (!openslurpclose(&sa, p)) return;
  size_t i = 0;
  while (i < sa.len) {
    char *nl = memchr(sa.s + i, '\n', sa.len - i);
    size_t e = nl ? (size_t)(nl - sa.s) : sa.len;
    char *line = sa.s + i;
    size_t ll = e - i;
    char *sp = memchr(line, ' ', ll);
    if (sp) {
      unsigned idx = (unsigned)atoi(line);
      size_t kl = ll - (size_t)(sp + 1 - line);
      if (idx < MAXKW && kl && !mb->kw[idx]) {
        mb->kw[idx] = strndup(sp + 1, kl);
        if (idx + 1 > mb->nkw) mb->nkw = idx + 1;
      }
    }
    i = e + 1;
  }
  stralloc_free(&sa);
}

int mbox_keyword(mbox *mb, char const *name, size_t len, int add)
{
  for (unsigned i = 0; i < mb->nkw; i++)
    if (mb->kw[i] && strlen(mb->kw[i]) == len && !strncasecmp(mb->kw[i], name, len)) return (int)i;
  if (!add) return -1;
  /* re-read under the lock in case another session added some */
  char p[4200], t[4300];
  snprintf(p, sizeof p, "%s/pochta-uidlist.lock", mb->dir);
  int lfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0 || flock(lfd, LOCK_EX) < 0) { if (lfd >= 0) close(lfd); return -1; }
  kw_load(mb);
  int idx = -1;
  for (unsigned i = 0; i < mb->nkw; i++)
    if (mb->kw[i] && strlen(mb->kw[i]) == len && !strncasecmp(mb->kw[i], name, len)) { idx = (int)i; break; }
  if (idx < 0 && mb->nkw < MAXKW) {
    idx = (int)mb->nkw;
    mb->kw[idx] = strndup(name, len);
    mb->nkw++;
    stralloc sa = STRALLOC_ZERO;
    for (unsigned i = 0; i < mb->nkw; i++) if (mb->kw[i]) {
      char num[16]; snprintf(num, sizeof num, "%u ", i);
      stralloc_cats(&sa, num); stralloc_cats(&sa, mb->kw[i]); stralloc_catb(&sa, "\n", 1);
    }
    snprintf(p, sizeof p, "%s/dovecot-keywords", mb->dir);
    snprintf(t, sizeof t, "%s/dovecot-keywords.tmp", mb->dir);
    if (!openwritenclose_suffix(p, sa.s, sa.len, ".tmp")) idx = -1;
    stralloc_free(&sa);
  }
  close(lfd);
  return idx;
}

/* --- the uid list ------------------------------------------------------- */

typedef struct { uint32_t uid; uint32_t off; uint32_t blen; uint32_t size; } lent;
typedef struct { uint32_t off; uint32_t blen; uint8_t innew; uint8_t seen2; } dent;

static char const *sortbase;
static int cmp_lent(void const *a, void const *b)
{
  lent const *x = a, *y = b;
  size_t n = x->blen < y->blen ? x->blen : y->blen;
  int c = memcmp(sortbase + x->off, sortbase + y->off, n);
  return c ? c : (int)x->blen - (int)y->blen;
}
static char const *dsortbase;
static int cmp_dent(void const *a, void const *b)
{
  dent const *x = a, *y = b;
  size_t n = x->blen < y->blen ? x->blen : y->blen;
  int c = memcmp(dsortbase + x->off, dsortbase + y->off, n);
  return c ? c : (int)x->blen - (int)y->blen;
}
static int cmp_msg_uid(void const *a, void const *b)
{
  msg const *x = a, *y = b;
  return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Read the uid list: entries point into sa. */
/* The mailbox GUID of the last list read (Dovecot wants 32 hex digits). */
static char list_guid[33];

static int list_read(char const *dir, stralloc *sa, lent **out, size_t *nout,
                     uint32_t *validity, uint32_t *next)
{
  list_guid[0] = 0;
  char p[4200];
  snprintf(p, sizeof p, "%s/dovecot-uidlist", dir);
  sa->len = 0; *out = 0; *nout = 0; *validity = 0; *next = 1;
  if (!openslurpclose(sa, p)) return errno == ENOENT ? 0 : -1;
  size_t cap = 0, n = 0, i = 0;
  lent *e = 0;
  int first = 1;
  uint32_t maxuid = 0;
  while (i < sa->len) {
    char *nl = memchr(sa->s + i, '\n', sa->len - i);
    if (!nl) break;                 /* a torn last line is ignored */
    size_t e0 = (size_t)(nl - sa->s);
    char *line = sa->s + i;
    *nl = 0;
    if (first) {
      first = 0;
      if (line[0] != '3' || line[1] != ' ') { free(e); return -2; }
      for (char *c = line + 2; *c; ) {
        if (*c == 'V') *validity = (uint32_t)strtoul(c + 1, 0, 10);
        else if (*c == 'N') *next = (uint32_t)strtoul(c + 1, 0, 10);
        else if (*c == 'G' && strspn(c + 1, "0123456789abcdef") == 32) { memcpy(list_guid, c + 1, 32); list_guid[32] = 0; }
        c = strchr(c, ' '); if (!c) break; c++;
      }
    } else {
      char *end;
      unsigned long uid = strtoul(line, &end, 10);
      char *colon = strchr(line, ':');
      uint32_t size = 0;
      for (char *c = end; colon && c < colon; c++)
        if (*c == 'W' && c[-1] == ' ') size = (uint32_t)strtoul(c + 1, 0, 10) + 1;
      if (uid && uid < 0xffffffffu && colon && colon[1]) {
        if (n == cap) { cap = cap ? cap * 2 : 1024; lent *ne = realloc(e, cap * sizeof *e); if (!ne) { free(e); return -1; } e = ne; }
        e[n].uid = (uint32_t)uid; e[n].off = (uint32_t)(colon + 1 - sa->s);
        e[n].blen = (uint32_t)baselen(colon + 1); e[n].size = size; n++;
        if (uid > maxuid) maxuid = (uint32_t)uid;
      }
    }
    i = e0 + 1;
  }
  if (maxuid >= *next) *next = maxuid + 1;
  *out = e; *nout = n;
  return 1;
}

static int lock_dir(char const *dir)
{
  char p[4200];
  snprintf(p, sizeof p, "%s/pochta-uidlist.lock", dir);
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  while (flock(fd, LOCK_EX) < 0) { if (errno != EINTR) { close(fd); return -1; } }
  return fd;
}

static int read_dirs(char const *dir, stralloc *names, dent **out, size_t *nout)
{
  static char const *sub[2] = { "new", "cur" };
  size_t n = 0, cap = 0;
  dent *d = 0;
  names->len = 0;
  for (int s = 0; s < 2; s++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, sub[s]);
    DIR *D = opendir(p);
    if (!D) { if (errno == ENOENT) continue; free(d); return -1; }
    struct dirent *de;
    while ((de = readdir(D))) {
      if (de->d_name[0] == '.') continue;
      size_t l = strlen(de->d_name);
      if (n == cap) { cap = cap ? cap * 2 : 1024; dent *nd = realloc(d, cap * sizeof *d); if (!nd) { closedir(D); free(d); return -1; } d = nd; }
      d[n].off = (uint32_t)names->len; d[n].blen = (uint32_t)baselen(de->d_name);
      d[n].innew = s == 0; d[n].seen2 = 0;
      if (!stralloc_catb(names, de->d_name, l + 1)) { closedir(D); free(d); return -1; }
      n++;
    }
    closedir(D);
  }
  *out = d; *nout = n;
  return 0;
}

static int list_write(char const *dir, uint32_t validity, uint32_t next, mbox const *mb)
{
  char p[4200];
  stralloc sa = STRALLOC_ZERO;
  char line[128];
  if (strlen(list_guid) != 32) {
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
      /* no entropy: time and pid still make it unique enough for a mailbox id */
      uint32_t t = (uint32_t)time(0), p = (uint32_t)getpid();
      memset(r, 0, sizeof r); memcpy(r, &t, 4); memcpy(r + 4, &p, 4); memcpy(r + 8, &validity, 4);
    }
    for (int i = 0; i < 16; i++) snprintf(list_guid + 2 * i, 3, "%02x", r[i]);
  }
  snprintf(line, sizeof line, "3 V%u N%u G%s\n", validity, next, list_guid);
  int ok = stralloc_cats(&sa, line);
  for (size_t i = 0; ok && i < mb->n; i++) {
    char const *nm = mbox_name(mb, &mb->m[i]);
    if (mb->m[i].size) snprintf(line, sizeof line, "%u W%u :", mb->m[i].uid, mb->m[i].size - 1);
    else snprintf(line, sizeof line, "%u :", mb->m[i].uid);
    ok = stralloc_cats(&sa, line) && stralloc_catb(&sa, nm, baselen(nm)) && stralloc_catb(&sa, "\n", 1);
  }
  snprintf(p, sizeof p, "%s/dovecot-uidlist", dir);
  /* openwritenclose_suffix writes name.tmp, fsyncs, renames */
  if (ok) ok = openwritenclose_suffix(p, sa.s, sa.len, ".pochta-tmp");
  stralloc_free(&sa);
  if (ok) sync_dir(dir);
  return ok ? 0 : -1;
}

void mbox_free(mbox *mb)
{
  index_drop(mb);
  if (mb->chactive) { close(mb->chfd); mb->chactive = 0; }
  stralloc_free(&mb->chlog);
  free(mb->chidx); mb->chidx = 0; mb->chn = mb->chcap = 0;
  kw_free(mb);
}

static int push(mbox *mb, uint32_t uid, uint32_t flags, uint32_t kw, char const *name, uint32_t size)
{
  if (mb->n == mb->cap) {
    size_t c = mb->cap ? mb->cap * 2 : 256;
    msg *nm = realloc(mb->m, c * sizeof *nm);
    if (!nm) return 0;
    mb->m = nm; mb->cap = c;
  }
  msg *m = &mb->m[mb->n];
  m->uid = uid; m->flags = flags; m->kw = kw; m->size = size; m->modseq = 0;
  if (mb->heap.len >= NAME_OWN) return 0;
  m->name = (uint32_t)mb->heap.len;
  if (!stralloc_catb(&mb->heap, name, strlen(name) + 1)) return 0;
  mb->n++;
  return 1;
}

/* The full scan, under the lock: the uid list merged with the files of new/ and
 * cur/ into a view on the heap (out), then written as the index and mapped. */
static int scan_full(mbox *out, int confirm)
{
  char const *dir = out->dir;
  int lfd = lock_dir(dir);
  if (lfd < 0) return -1;
  stralloc ls = STRALLOC_ZERO, ds = STRALLOC_ZERO;
  lent *le = 0; size_t nl = 0;
  dent *de = 0; size_t nd = 0;
  uint32_t validity, next;
  int r = -1, changed = 0;
  /* before the directories are read: a change while we read makes them differ */
  index_stamps(dir, &out->st, &out->confirmed);
  /* Stamps taken without the lock may have caught a writer half way (the
   * rename done, the log line not yet): the index it left may fit now. */
  if (index_map(out, &out->st, confirm) == 1) { close(lfd); return 1; }
  int lr = list_read(dir, &ls, &le, &nl, &validity, &next);
  if (lr < 0 && lr != -2) goto done;
  if (lr <= 0 || !validity) { validity = (uint32_t)time(0); next = 1; nl = 0; changed = 1; }
  sortbase = ls.s; if (nl) qsort(le, nl, sizeof *le, cmp_lent);
  int attempt = 0;
 again:
  if (read_dirs(dir, &ds, &de, &nd) < 0) goto done;
  dsortbase = ds.s; if (nd) qsort(de, nd, sizeof *de, cmp_dent);

  /* merge: both sorted by base name */
  size_t i = 0, j = 0;
  size_t nnew = 0, missing = 0;
  uint32_t *duid = calloc(nd ? nd : 1, sizeof *duid);
  uint32_t *dsize = calloc(nd ? nd : 1, sizeof *dsize);
  if (!duid || !dsize) { free(duid); free(dsize); goto done; }
  while (i < nl || j < nd) {
    int c;
    if (i == nl) c = 1; else if (j == nd) c = -1;
    else {
      size_t n = le[i].blen < de[j].blen ? le[i].blen : de[j].blen;
      c = memcmp(ls.s + le[i].off, ds.s + de[j].off, n);
      if (!c) c = (int)le[i].blen - (int)de[j].blen;
    }
    if (c < 0) { missing++; i++; }
    else if (c > 0) {
      /* a duplicate base (seen in new/ and in cur/ during a rename) counts once */
      if (j && de[j-1].blen == de[j].blen && !memcmp(ds.s + de[j-1].off, ds.s + de[j].off, de[j].blen)) { de[j].seen2 = 1; duid[j] = duid[j-1]; j++; continue; }
      nnew++; j++;
    }
    else {
      duid[j] = le[i].uid; dsize[j] = le[i].size;
      j++;
      while (j < nd && de[j].blen == de[j-1].blen && !memcmp(ds.s + de[j-1].off, ds.s + de[j].off, de[j].blen)) { de[j].seen2 = 1; duid[j] = duid[j-1]; dsize[j] = dsize[j-1]; j++; }
      i++;
    }
  }
  /* readdir(3) may miss a file that another session renames (a flag change) while
   * we read: a file that seems gone is looked for once more before its uid is
   * dropped, or it would come back later with a new uid. */
  if (missing && !attempt++) { free(duid); free(dsize); free(de); de = 0; nd = 0; goto again; }
  if (missing || nnew) changed = 1;
  /* new files: uids in name order (names begin with the delivery time) */
  for (j = 0; j < nd; j++) if (!duid[j] && !de[j].seen2) duid[j] = next++;
  for (j = 0; j < nd; j++) {
    if (de[j].seen2) continue;
    /* of a duplicate pair prefer the cur/ one */
    size_t k = j;
    if (j + 1 < nd && de[j+1].seen2 && de[j].innew) k = j + 1;
    uint32_t fl, kw;
    char const *nm = ds.s + de[k].off;
    parse_info(nm, &fl, &kw);
    if (de[k].innew) fl |= F_INNEW;
    if (!push(out, duid[j], fl, kw, nm, dsize[j])) { free(duid); free(dsize); goto done; }
  }
  free(duid); free(dsize);
  if (out->n) qsort(out->m, out->n, sizeof *out->m, cmp_msg_uid);
  out->bnames = out->heap.s; out->nbnames = out->heap.len;
  out->uidvalidity = validity; out->uidnext = next;
  if (changed && list_write(dir, validity, next, out) < 0) goto done;
  /* modseqs need the final uid list, and the lock we still hold */
  if (modseq_scan(out) < 0) goto done;
  /* the two files were ours to change while we held the lock */
  int dummy;
  mstamps now;
  index_stamps(dir, &now, &dummy);
  out->st.list = now.list; out->st.mod = now.mod;
  out->scanned = 1;
  /* The scan becomes the index, and the session maps it rather than keep the
   * heap copy. Without an index (no space, no permission) the heap view is
   * still right. */
  if (index_write(out, 0, 0) == 0) {
    mbox v = *out;
    if (index_map(&v, &out->st, 0) == 1) {
      free(out->m); stralloc_free(&out->heap);
      *out = v;
      out->heap = stralloc_zero;
    }
  }
  r = 1;
 done:
  close(lfd);
  free(le); free(de); stralloc_free(&ls); stralloc_free(&ds);
  /* a big scan's arrays are gone now (the view is the mapping): give their
   * memory back, or the session keeps it for as long as it lives */
#ifdef __GLIBC__
  if (nd >= 4096) malloc_trim(0);   /* (musl's allocator gives big blocks back itself) */
#endif
  return r;
}

int mbox_scan(mbox *out, mbox *old, int keepgone)
{
  mstamps st;
  int fresh;
  index_stamps(old->dir, &st, &fresh);
  memset(out, 0, sizeof *out);
  memcpy(out->dir, old->dir, sizeof out->dir);
  out->rw = old->rw;
  /* Nothing changed on disk since the view was made: keep it, unless expunged
   * messages held back may go now, or the view is unconfirmed (see index.c):
   * its stamps may hide a change made in their clock tick, so it is looked at
   * again, from a confirmed index or by a scan, until a look is confirmed. */
  int confirm = 0;
  if (old->scanned && index_stamps_same(&st, &old->st)) {
    int gone = 0;
    if (!keepgone) for (size_t i = 0; i < old->n && !gone; i++) gone = (old->m[i].flags & F_GONE) != 0;
    confirm = !old->confirmed;
    if (!gone && !confirm) return 0;
  }
  int r = index_map(out, &st, confirm);
  if (!r) r = scan_full(out, confirm);
  if (r < 0) { mbox_free(out); return -1; }
  kw_load(out);
  /* what this session knows beyond the disk: \Recent, sizes read since, and
   * messages already gone that cannot be reported yet */
  size_t a = 0, b = 0, vanished = 0;
  while (a < old->n) {
    if (b < out->n && out->m[b].uid < old->m[a].uid) { b++; continue; }
    if (b == out->n || out->m[b].uid > old->m[a].uid) { vanished++; a++; continue; }
    if (old->m[a].flags & F_RECENT) out->m[b].flags |= F_RECENT;
    if (!out->m[b].size && old->m[a].size) out->m[b].size = old->m[a].size;
    a++; b++;
  }
  if (keepgone && vanished) {
    for (a = 0, b = 0; a < old->n; a++) {
      while (b < out->n && out->m[b].uid < old->m[a].uid) b++;
      if (b == out->n || out->m[b].uid > old->m[a].uid) old->m[a].flags |= F_GONE;
    }
    mbox_free(out);
    return 0;
  }
  return 1;
}

int mbox_open(mbox *mb, char const *dir, int rw)
{
  mbox tmp;
  if (!maildir_exists(dir)) return 0;
  memset(&tmp, 0, sizeof tmp);
  if (strlen(dir) >= sizeof tmp.dir) return -1;
  strcpy(tmp.dir, dir);
  tmp.rw = rw;
  if (mbox_scan(mb, &tmp, 0) <= 0) return -1;   /* never 0: tmp was not scanned */
  return 1;
}

void mbox_take_new(mbox *mb)
{
  int moved = 0;
  for (size_t i = 0; i < mb->n; i++) {
    msg *m = &mb->m[i];
    if (!(m->flags & F_INNEW) || (m->flags & F_GONE)) continue;
    char from[4300], to[4400], fl[40];
    char const *nm = mbox_name(mb, m);
    mbox_path(mb, m, from, sizeof from);
    mbox_flagstr(m->flags, m->kw, fl);
    snprintf(to, sizeof to, "%s/cur/%.*s:2,%s", mb->dir, (int)baselen(nm), nm, fl);
    if (rename(from, to) == 0) {
      m->flags = (m->flags & ~F_INNEW) | F_RECENT;
      set_name(mb, m, strrchr(to, '/') + 1);
      moved = 1;
    }
  }
  /* The view's stamps stay as they were: a delivery to new/ since the scan
   * changed new/ too, and only a scan can tell the two apart. */
  if (moved) {
    char p[4200]; snprintf(p, sizeof p, "%s/cur", mb->dir);
    sync_dir(p);
  }
}

/* Find the current file of base name `nm` after another session renamed it. */
static int refind(mbox *mb, msg *m)
{
  char const *nm = mbox_name(mb, m);
  size_t bl = baselen(nm);
  static char const *sub[2] = { "cur", "new" };
  for (int s = 0; s < 2; s++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", mb->dir, sub[s]);
    DIR *D = opendir(p);
    if (!D) continue;
    struct dirent *de;
    while ((de = readdir(D))) {
      if (!strncmp(de->d_name, nm, bl) && (de->d_name[bl] == ':' || !de->d_name[bl])) {
        set_name(mb, m, de->d_name);
        if (s == 1) m->flags |= F_INNEW; else m->flags &= ~F_INNEW;
        closedir(D);
        return 1;
      }
    }
    closedir(D);
  }
  return 0;
}

/* The rename itself: 2 renamed, 1 nothing to do, 0 file gone, -1 error. *was
 * gets the flags the file had before (its name's), which may differ from
 * m->flags when another program changed them. */
static int setflags_disk(mbox *mb, msg *m, uint32_t flags, uint32_t kw, uint32_t *was, uint32_t *waskw)
{
  for (int attempt = 0; attempt < 2; attempt++) {
    char from[4300], to[4400], fl[40];
    char const *nm = mbox_name(mb, m);
    uint32_t keep = m->flags & ~F_SYSMASK & ~F_INNEW;
    mbox_path(mb, m, from, sizeof from);
    parse_info(nm, was, waskw);
    mbox_flagstr(flags & F_SYSMASK, kw, fl);
    snprintf(to, sizeof to, "%s/cur/%.*s:2,%s", mb->dir, (int)baselen(nm), nm, fl);
    if (!strcmp(from, to)) { m->flags = keep | (flags & F_SYSMASK); m->kw = kw; return 1; }
    if (rename(from, to) == 0) {
      m->flags = keep | (flags & F_SYSMASK); m->kw = kw;
      set_name(mb, m, strrchr(to, '/') + 1);
      return 2;
    }
    if (errno != ENOENT) return -1;
    if (!refind(mb, m)) return 0;
  }
  return 0;
}

/* One inotify watch on new/ and cur/ of the folder this process changes, kept
 * for the whole session: closing an inotify descriptor waits for the kernel (an
 * RCU grace period, milliseconds), which a STORE holding the lock should not. */
static int watch_fd = -1;
static int watch_wd[2] = { -1, -1 };
static char watch_dir[sizeof ((mbox *)0)->dir];

static int watch_ready(char const *dir)
{
  char p[4700];
  if (watch_fd >= 0 && !strcmp(watch_dir, dir)) return 1;
  if (watch_fd < 0) watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watch_fd < 0) return 0;
  for (int i = 0; i < 2; i++) {
    if (watch_wd[i] >= 0) inotify_rm_watch(watch_fd, watch_wd[i]);
    watch_wd[i] = -1;
  }
  watch_dir[0] = 0;
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, i ? "cur" : "new");
    watch_wd[i] = inotify_add_watch(watch_fd, p, IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF);
    if (watch_wd[i] < 0) return 0;
  }
  snprintf(watch_dir, sizeof watch_dir, "%s", dir);
  return 1;
}

/* The events queued since the last call: their number, or -1 when one of them
 * says the count is not to be trusted (overflow, a directory gone). */
static long watch_events(void)
{
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  long events = 0;
  int bad = 0;
  for (;;) {
    ssize_t r = read(watch_fd, buf, sizeof buf);
    if (r < 0) { if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) bad = 1; if (errno != EINTR) break; continue; }
    if (!r) break;
    for (char *e = buf; e < buf + r; e += sizeof (struct inotify_event) + ((struct inotify_event *)e)->len) {
      if (((struct inotify_event *)e)->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) bad = 1;
      events++;
    }
  }
  if (bad) { watch_dir[0] = 0; return -1; }   /* (set up again next time) */
  return events;
}

/* Under the lock, before a change: the watch ready and emptied first, then the
 * stamps of the folder, so that whatever changes it from here on is counted. */
static void change_check(mbox *mb)
{
  int fresh;
  mb->chwatch = watch_ready(mb->dir);
  if (mb->chwatch) watch_events();
  index_stamps(mb->dir, &mb->chst, &fresh);
  mb->chn = 0;
}

/* Did new/ and cur/ see exactly `expect` changes since change_check (ours),
 * nothing from another program? */
static int change_alone(mbox *mb, size_t expect)
{
  if (!mb->chwatch) return 0;
  mb->chwatch = 0;
  long n = watch_events();
  return n >= 0 && (size_t)n == expect;
}

/* Still under the lock, after this session's change: when the index was the
 * folder's state before it, the index gets the change too (the flags and names
 * of the messages this session renamed, and extra, a message it added), so no
 * session needs a scan to see it. Not when new/ changed meanwhile (a delivery
 * takes no lock): a scan must see that. The stamps are from the tick of the
 * change, so the index is unconfirmed (see index.c). */
static void change_publish(mbox *mb, msg const *extra, char const *extraname)
{
  mstamps now;
  int fresh;
  mbox ix;
  /* each rename is two events (from, to), an added message one (to) */
  int alone = change_alone(mb, mb->chn * 2 + (extra != 0));
  index_stamps(mb->dir, &now, &fresh);
  if (memcmp(&now.dnew, &mb->chst.dnew, sizeof now.dnew)) return;
  memset(&ix, 0, sizeof ix);
  memcpy(ix.dir, mb->dir, sizeof ix.dir);
  if (index_map(&ix, &mb->chst, 0) != 1) return;
  int ok = ix.uidvalidity == mb->uidvalidity;
  for (size_t k = 0; ok && k < mb->chn; k++) {
    msg const *m = &mb->m[mb->chidx[k]];
    long x = mbox_find_uid(&ix, m->uid);
    if (x < 0) { ok = 0; break; }
    msg *t = &ix.m[x];
    t->flags = (t->flags & ~(uint32_t)(F_SYSMASK | F_INNEW)) | (m->flags & F_SYSMASK);
    t->kw = m->kw;
    /* (a rename that kept the flags gave no new modseq: never go back) */
    if (m->modseq > t->modseq) t->modseq = m->modseq;
    set_name(&ix, t, mbox_name(mb, m));
    if (!(t->name & NAME_OWN)) ok = 0;
  }
  if (ok && extra && extra->uid <= (ix.n ? ix.m[ix.n - 1].uid : 0)) ok = 0;
  if (ok) {
    if (mb->hms > ix.hms) ix.hms = mb->hms;
    /* the log grows with every change; between scans it is kept short here,
     * from the index, which holds every message's modseq (not with extra: its
     * line is in the log only) */
    if (!extra && now.mod.size && modseq_compact(&ix, now.mod.size) < 0) ok = 0;
    else if (!extra) index_stamps(mb->dir, &now, &fresh);
    if (memcmp(&now.dnew, &mb->chst.dnew, sizeof now.dnew)) ok = 0;
  }
  if (ok) {
    /* Confirmed only when the index was, nothing but this change touched new/
     * and cur/ meanwhile, and the stamps will show the next change (see
     * index.c); else the next look at the folder scans it. */
    ix.confirmed = ix.confirmed && alone && fresh;
    ix.st = now;
    index_write(&ix, extra, extraname);
  }
  mbox_free(&ix);
}

int mbox_change_begin(mbox *mb)
{
  if (mb->chactive) return 0;
  int fd = lock_dir(mb->dir);
  if (fd < 0) return -1;
  mb->chfd = fd; mb->chactive = 1; mb->chlog.len = 0;
  change_check(mb);
  /* other sessions may have handed out modseqs since our last scan */
  uint64_t h = modseq_highest(mb);
  if (h > mb->hms) mb->hms = h;
  modseq_raise(mb);
  return 0;
}

int mbox_change_end(mbox *mb)
{
  if (!mb->chactive) return 0;
  int r = mb->chlog.len ? modseq_append(mb) : 0;
  mb->chlog.len = 0;
  /* (chn is SIZE_MAX when the list of renamed messages was lost) */
  if (r == 0 && mb->chn && mb->chn != SIZE_MAX) change_publish(mb, 0, 0);
  mb->chn = 0;
  close(mb->chfd); mb->chactive = 0;
  return r;
}

/* Remember that m was renamed in this batch (for change_publish). When the
 * list cannot grow, the index is simply not updated: a scan will be. */
static void change_note(mbox *mb, msg const *m)
{
  if (mb->chn == SIZE_MAX) return;
  if (mb->chn == mb->chcap) {
    size_t c = mb->chcap ? mb->chcap * 2 : 16;
    size_t *n = realloc(mb->chidx, c * sizeof *n);
    if (!n) { mb->chn = SIZE_MAX; return; }
    mb->chidx = n; mb->chcap = c;
  }
  mb->chidx[mb->chn++] = (size_t)(m - mb->m);
}

int mbox_setflags(mbox *mb, msg *m, uint32_t flags, uint32_t kw)
{
  int own = !mb->chactive;
  uint32_t was, waskw;
  /* the rename happens under the lock, so a scan never sees the new file name
   * without its log line (it would take it for a change by another program) */
  if (own && mbox_change_begin(mb) < 0) return -1;
  int r = setflags_disk(mb, m, flags, kw, &was, &waskw);
  if (r == 2 && ((was & F_SYSMASK) != (flags & F_SYSMASK) || waskw != kw) && mb->hms < MODSEQ_MAX) {
    m->modseq = ++mb->hms;
    if (!modseq_logline(&mb->chlog, m)) r = -1;
  }
  if (r == 2) change_note(mb, m);
  if (r > 0) r = 1;
  if (own && mbox_change_end(mb) < 0 && r > 0) r = -1;
  return r;
}

long mbox_find_uid(mbox const *mb, uint32_t uid)
{
  size_t lo = 0, hi = mb->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (mb->m[mid].uid < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo < mb->n && mb->m[lo].uid == uid ? (long)lo : -1;
}

uint32_t mbox_size(mbox *mb, msg *m)
{
  if (m->size) return m->size - 1;
  char p[4300];
  uint64_t w;
  if (maildir_nameval(mbox_name(mb, m), 'W', &w) && w < 0xfffffffeu) { m->size = (uint32_t)w + 1; return (uint32_t)w; }
  if (!mbox_path(mb, m, p, sizeof p)) return 0;
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && refind(mb, m)) { mbox_path(mb, m, p, sizeof p); fd = open(p, O_RDONLY | O_CLOEXEC); }
  if (fd < 0) return 0;
  char buf[65536];
  uint64_t size = 0; char prev = 0;
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < r; i++) { if (buf[i] == '\n' && prev != '\r') size++; prev = buf[i]; }
    size += (uint64_t)r;
  }
  close(fd);
  if (size >= 0xfffffffeu) size = 0xfffffffeu;
  m->size = (uint32_t)size + 1;
  return (uint32_t)size;
}

time_t mbox_date(mbox const *mb, msg const *m)
{
  char p[4300]; struct stat st;
  if (!mbox_path(mb, m, p, sizeof p) || stat(p, &st) < 0) return 0;
  return st.st_mtime;
}

/* The uid validity and the next uid of the uid list, from its first line and
 * its last complete one (uids are appended in ascending order), without reading
 * the whole list. *torn when it does not end in LF. 1 ok, 0 no list, -1 error. */
static int list_next(int fd, uint32_t *validity, uint32_t *next, int *torn)
{
  char head[256], tail[4096];
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  ssize_t hn = pread(fd, head, sizeof head - 1, 0);
  if (hn < 0) return -1;
  head[hn] = 0;
  char *nl = memchr(head, '\n', (size_t)hn);
  if (!nl || head[0] != '3' || head[1] != ' ') return 0;
  *nl = 0;
  *validity = 0; *next = 1;
  for (char *c = head + 2; c && *c; c = strchr(c, ' '), c = c ? c + 1 : 0) {
    if (*c == 'V') *validity = (uint32_t)strtoul(c + 1, 0, 10);
    else if (*c == 'N') *next = (uint32_t)strtoul(c + 1, 0, 10);
  }
  size_t headlen = (size_t)(nl - head) + 1;
  size_t n = st.st_size < (off_t)sizeof tail ? (size_t)st.st_size : sizeof tail;
  off_t at = st.st_size - (off_t)n;
  if (pread(fd, tail, n, at) != (ssize_t)n) return -1;
  *torn = n && tail[n - 1] != '\n';
  /* the last complete line: after the LF before the last LF */
  size_t e = n;
  while (e && tail[e - 1] != '\n') e--;
  if (!e) return 1;
  size_t b = e - 1;
  while (b && tail[b - 1] != '\n') b--;
  if (at + (off_t)b < (off_t)headlen) return 1;   /* only the header */
  if (!b && at) return -1;                         /* a line over 4 KB: not a uid list */
  char *end;
  unsigned long uid = strtoul(tail + b, &end, 10);
  if (end == tail + b || uid >= 0xffffffffu) return -1;
  if (uid >= *next) *next = (uint32_t)uid + 1;
  return 1;
}

int mbox_add(char const *dir, char const *from, char const *tmpname, uint32_t flags, uint32_t kw,
             time_t date, mbox *view, uint32_t *uidvalidity, uint32_t *uid)
{
  char to[4400], fl[40], lp[4200];
  mbox_flagstr(flags & F_SYSMASK, kw, fl);
  snprintf(to, sizeof to, "%s/cur/%s:2,%s", dir, tmpname, fl);
  *uid = 0; *uidvalidity = 0;
  if (view && strcmp(view->dir, dir)) view = 0;
  /* a folder never opened has no uid list yet: make it first (a scan takes the lock) */
  snprintf(lp, sizeof lp, "%s/dovecot-uidlist", dir);
  if (access(lp, F_OK) < 0) {
    mbox tmp;
    if (mbox_open(&tmp, dir, 0) > 0) mbox_free(&tmp);
  }
  if (date > 0) { struct timeval tv[2] = { { date, 0 }, { date, 0 } }; utimes(from, tv); }
  int lfd = lock_dir(dir);
  if (lfd < 0) return -1;
  if (view) change_check(view);
  snprintf(lp, sizeof lp, "%s/cur", dir);
  if (rename(from, to) < 0 || sync_dir(lp) < 0) { close(lfd); return -1; }
  /* give it the next uid right away, so APPENDUID/COPYUID can say which */
  snprintf(lp, sizeof lp, "%s/dovecot-uidlist", dir);
  int fd = open(lp, O_RDWR | O_APPEND | O_CLOEXEC);
  uint32_t v = 0, next = 0;
  int torn = 0;
  if (fd >= 0 && list_next(fd, &v, &next, &torn) == 1 && v) {
    char line[4400];
    int n = snprintf(line, sizeof line, "%s%u :%s\n", torn ? "\n" : "", next, tmpname);
    if (n > 0 && (size_t)n < sizeof line && allwrite(fd, line, (size_t)n) == (size_t)n && fsync(fd) == 0) {
      *uid = next; *uidvalidity = v;
    }
  }
  if (fd >= 0) close(fd);
  if (view && *uid && v == view->uidvalidity) {
    /* the new message's modseq and its log line, then the index with it */
    msg m;
    uint64_t w;
    memset(&m, 0, sizeof m);
    m.uid = *uid; m.flags = flags & F_SYSMASK; m.kw = kw;
    if (maildir_nameval(tmpname, 'W', &w) && w < 0xfffffffeu) m.size = (uint32_t)w + 1;
    uint64_t h = modseq_highest(view);
    if (h > view->hms) view->hms = h;
    modseq_raise(view);
    if (view->hms < MODSEQ_MAX) {
      m.modseq = ++view->hms;
      view->chlog.len = 0;
      view->chn = 0;
      if (modseq_logline(&view->chlog, &m) && modseq_append(view) == 0)
        change_publish(view, &m, strrchr(to, '/') + 1);
      view->chlog.len = 0;
    }
  }
  close(lfd);
  return 1;
}
