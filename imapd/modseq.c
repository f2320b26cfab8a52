/* pochta-imapd: persistent mod-sequences of a folder (CONDSTORE, RFC 7162).
 *
 * They live in "pochta-modseq" beside dovecot-uidlist (Dovecot reads that file,
 * so nothing is added to it). The file is a log of text lines, each ending in LF:
 *
 *   P1 V<uidvalidity> H<highest>   first line, written when the log is rebuilt
 *   <uid> <modseq> <flags>         the message got modseq when its flags became
 *                                  <flags> (Maildir letters, "-" for none)
 *   H<highest>                     last line of a rebuilt log
 *
 * The last line of a uid wins. Every line is written under the uid list lock
 * with a modseq above all values before it, so the last complete line holds the
 * highest modseq: a STORE learns it from the file's tail, without reading the
 * whole log. A change is an appended line (one write per command, no fsync:
 * see modseq_append);
 * the log is rewritten (temporary file, fsync, rename) only when it is missing
 * or does not match the uid list, when messages were expunged (the expunge also
 * raises HIGHESTMODSEQ), or when it grew past twice the mailbox. A scan that
 * finds a file whose flags differ from its last line (another program renamed
 * it) gives it a fresh modseq. A rebuilt log starts above every value the old
 * one held and above the current time in microseconds, so a client's cached
 * modseq never appears to go backwards. A torn last line (crash) is ignored:
 * the next writer starts a new line, and the changes it lost are found again by
 * the flag comparison. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "mbox.h"

#define L_BAD 0
#define L_HEAD 1
#define L_ENTRY 2
#define L_HIGH 3

typedef struct {
  int kind;
  uint32_t uid, validity;
  uint64_t ms;              /* the entry's modseq, or the highest of H/P lines */
  char const *fl; size_t fllen;
} logline;

static void log_path(mbox const *mb, char *buf, size_t len)
{
  snprintf(buf, len, "%s/pochta-modseq", mb->dir);
}

/* Decimal number at *c (before end), at most max. */
static int num(char const **c, char const *end, uint64_t max, uint64_t *v)
{
  char const *s = *c;
  uint64_t x = 0;
  if (s == end || *s < '0' || *s > '9') return 0;
  for (; s < end && *s >= '0' && *s <= '9'; s++) {
    if (x > (max - (uint64_t)(*s - '0')) / 10) return 0;
    x = x * 10 + (uint64_t)(*s - '0');
  }
  *c = s; *v = x;
  return 1;
}

/* One line (without its LF). Anything that does not parse exactly is L_BAD. */
static int line_parse(char const *s, size_t len, logline *l)
{
  char const *c = s, *end = s + len;
  uint64_t v;
  memset(l, 0, sizeof *l);
  if (len >= 2 && s[0] == 'P' && s[1] == '1') {
    uint64_t val, h;
    c += 2;
    if (c + 2 > end || memcmp(c, " V", 2)) return L_BAD;
    c += 2;
    if (!num(&c, end, 0xffffffffu, &val) || c + 2 > end || memcmp(c, " H", 2)) return L_BAD;
    c += 2;
    if (!num(&c, end, MODSEQ_MAX, &h) || c != end) return L_BAD;
    l->validity = (uint32_t)val; l->ms = h;
    return l->kind = L_HEAD;
  }
  if (len && s[0] == 'H') {
    c++;
    if (!num(&c, end, MODSEQ_MAX, &v) || c != end) return L_BAD;
    l->ms = v;
    return l->kind = L_HIGH;
  }
  if (!num(&c, end, 0xfffffffeu, &v) || !v || c == end || *c++ != ' ') return L_BAD;
  l->uid = (uint32_t)v;
  if (!num(&c, end, MODSEQ_MAX, &v) || !v || c == end || *c++ != ' ') return L_BAD;
  l->ms = v;
  /* a torn line may have lost its flags: an empty field is not an entry */
  if (c == end) return L_BAD;
  l->fl = c; l->fllen = (size_t)(end - c);
  if (l->fllen == 1 && *c == '-') l->fllen = 0;
  return l->kind = L_ENTRY;
}

/* The highest modseq of any line of sa (used when the tail is not enough). */
static uint64_t log_max(char const *s, size_t len)
{
  uint64_t hi = 0;
  size_t i = 0;
  while (i < len) {
    char const *nl = memchr(s + i, '\n', len - i);
    if (!nl) break;
    logline l;
    if (line_parse(s + i, (size_t)(nl - s - i), &l) != L_BAD && l.ms > hi) hi = l.ms;
    i = (size_t)(nl - s) + 1;
  }
  return hi;
}

uint64_t modseq_highest(mbox const *mb)
{
  char p[4700], buf[4096];
  log_path(mb, p, sizeof p);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  uint64_t hi = 0;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    size_t n = st.st_size < (off_t)sizeof buf ? (size_t)st.st_size : sizeof buf;
    off_t at = st.st_size - (off_t)n;
    ssize_t r = pread(fd, buf, n, at);
    if (r == (ssize_t)n) {
      /* the last complete line: between the last two LFs (or the file start) */
      char const *e = 0, *b = 0;
      for (size_t i = n; i > 0; i--) if (buf[i - 1] == '\n') { if (!e) e = buf + i - 1; else { b = buf + i; break; } }
      if (e && !b && at == 0) b = buf;
      logline l;
      if (e && b && line_parse(b, (size_t)(e - b), &l) != L_BAD) hi = l.ms;
    }
  }
  close(fd);
  if (hi) return hi;
  /* no usable tail (torn, or one huge line): read it all */
  stralloc sa = STRALLOC_ZERO;
  if (openslurpclose(&sa, p)) hi = log_max(sa.s, sa.len);
  stralloc_free(&sa);
  return hi;
}

static uint64_t now_us(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) < 0) return 1;
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int modseq_logline(stralloc *sa, msg const *m)
{
  char line[80], fl[40];
  mbox_flagstr(m->flags & F_SYSMASK, m->kw, fl);
  int n = snprintf(line, sizeof line, "%u %llu %s\n", m->uid, (unsigned long long)m->modseq, fl[0] ? fl : "-");
  return n > 0 && (size_t)n < sizeof line && stralloc_catb(sa, line, (size_t)n);
}

/* Write the whole log anew: header, one line per message, the highest. */
static int log_rewrite(mbox const *mb)
{
  char p[4700], line[80];
  stralloc sa = STRALLOC_ZERO;
  snprintf(line, sizeof line, "P1 V%u H%llu\n", mb->uidvalidity, (unsigned long long)mb->hms);
  int ok = stralloc_cats(&sa, line);
  for (size_t i = 0; ok && i < mb->n; i++) ok = modseq_logline(&sa, &mb->m[i]);
  snprintf(line, sizeof line, "H%llu\n", (unsigned long long)mb->hms);
  if (ok) ok = stralloc_cats(&sa, line);
  log_path(mb, p, sizeof p);
  if (ok) ok = openwritenclose_suffix(p, sa.s, sa.len, ".pochta-tmp");
  stralloc_free(&sa);
  if (ok) mbox_sync_dir(mb->dir);
  return ok ? 0 : -1;
}

int modseq_compact(mbox const *mb, uint64_t logsize)
{
  /* lines are 20 octets or more: this is about the bound modseq_scan keeps */
  if (logsize <= (2 * (uint64_t)mb->n + 1024) * 20) return 0;
  return log_rewrite(mb);
}

int modseq_append(mbox *mb)
{
  char p[4700];
  log_path(mb, p, sizeof p);
  /* created when missing: the next scan finds no header and rebuilds above it */
  int fd = open(p, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  struct stat st;
  char last = '\n';
  int ok = fstat(fd, &st) == 0;
  if (ok && st.st_size > 0) ok = pread(fd, &last, 1, st.st_size - 1) == 1;
  /* after a torn line, start a new one so ours stays whole */
  if (ok && last != '\n') ok = allwrite(fd, "\n", 1) == 1;
  if (ok) ok = allwrite(fd, mb->chlog.s, mb->chlog.len) == mb->chlog.len;
  /* No fsync: a line lost with the page cache is found again by the flag
   * comparison of the next scan, and new values start at the clock
   * (modseq_raise), above any value handed out before the crash. */
  close(fd);
  return ok ? 0 : -1;
}

void modseq_raise(mbox *mb)
{
  uint64_t t = now_us();
  if (t > MODSEQ_MAX) t = MODSEQ_MAX;
  if (mb->hms < t) mb->hms = t;
}

/* Index of uid in mb, trying the one after *j first (logs are mostly in order). */
static long find(mbox const *mb, uint32_t uid, size_t *j)
{
  if (*j < mb->n && mb->m[*j].uid == uid) return (long)*j;
  if (*j + 1 < mb->n && mb->m[*j + 1].uid == uid) return (long)++*j;
  long k = mbox_find_uid(mb, uid);
  if (k >= 0) *j = (size_t)k;
  return k;
}

#define REC_HAS 0x80000000u

int modseq_scan(mbox *mb)
{
  char p[4700];
  stralloc sa = STRALLOC_ZERO;
  log_path(mb, p, sizeof p);
  if (!openslurpclose(&sa, p)) {
    if (errno != ENOENT) return -1;
    sa.len = 0;
  }
  uint32_t *recf = calloc(mb->n ? mb->n : 1, sizeof *recf);
  uint32_t *reck = calloc(mb->n ? mb->n : 1, sizeof *reck);
  if (!recf || !reck) { free(recf); free(reck); stralloc_free(&sa); return -1; }
  uint64_t hi = 0;
  size_t i = 0, j = 0, entries = 0, vanished = 0;
  int good = 0, first = 1;
  for (size_t k = 0; k < mb->n; k++) mb->m[k].modseq = 0;
  while (i < sa.len) {
    char *nl = memchr(sa.s + i, '\n', sa.len - i);
    if (!nl) break;                 /* a torn last line is ignored */
    logline l;
    int kind = line_parse(sa.s + i, (size_t)(nl - sa.s - i), &l);
    i = (size_t)(nl - sa.s) + 1;
    if (kind != L_BAD && l.ms > hi) hi = l.ms;
    if (first) { first = 0; good = kind == L_HEAD && l.validity == mb->uidvalidity; continue; }
    if (kind != L_ENTRY) continue;
    entries++;
    long x = find(mb, l.uid, &j);
    if (x < 0) { vanished++; continue; }
    mb->m[x].modseq = l.ms;
    mbox_flagparse(l.fl, l.fllen, &recf[x], &reck[x]);
    recf[x] |= REC_HAS;
  }
  stralloc_free(&sa);
  int r = 0;
  mb->chlog.len = 0;
  if (!good) {
    /* missing, unreadable or for another uid list: everything starts over above
     * any value seen, and above the clock so a lost file cannot go backwards */
    uint64_t base = now_us();
    if (hi >= base) base = hi + 1;
    if (base > MODSEQ_MAX) base = MODSEQ_MAX;
    for (size_t k = 0; k < mb->n; k++) mb->m[k].modseq = base;
    mb->hms = base;
    r = log_rewrite(mb);
  } else {
    /* new messages, and flags changed by another program, get fresh modseqs
     * (from the clock on, see modseq_append) */
    int raised = 0;
    for (size_t k = 0; k < mb->n && r == 0; k++) {
      msg *m = &mb->m[k];
      if ((recf[k] & REC_HAS) && (recf[k] & F_SYSMASK) == (m->flags & F_SYSMASK) && reck[k] == m->kw) continue;
      if (!raised) { uint64_t t = now_us(); if (t > hi && t <= MODSEQ_MAX) hi = t; raised = 1; }
      if (hi < MODSEQ_MAX) hi++;
      m->modseq = hi;
      if (!modseq_logline(&mb->chlog, m)) r = -1;
    }
    /* an expunge raises HIGHESTMODSEQ too; the rewrite drops the old lines */
    if (vanished && hi < MODSEQ_MAX) hi++;
    mb->hms = hi;
    if (r == 0) {
      if (vanished || entries > 2 * mb->n + 1024) r = log_rewrite(mb);
      else if (mb->chlog.len) r = modseq_append(mb);
    }
  }
  /* the buffer is the session's for its STOREs: do not keep a scan's worth */
  stralloc_free(&mb->chlog);
  free(recf); free(reck);
  return r;
}

void modseq_refresh(mbox *mb)
{
  char p[4700];
  stralloc sa = STRALLOC_ZERO;
  log_path(mb, p, sizeof p);
  if (!openslurpclose(&sa, p)) return;
  size_t i = 0, j = 0;
  while (i < sa.len) {
    char *nl = memchr(sa.s + i, '\n', sa.len - i);
    if (!nl) break;
    logline l;
    int kind = line_parse(sa.s + i, (size_t)(nl - sa.s - i), &l);
    i = (size_t)(nl - sa.s) + 1;
    if (kind != L_ENTRY) continue;
    long x = find(mb, l.uid, &j);
    if (x >= 0 && l.ms > mb->m[x].modseq) mb->m[x].modseq = l.ms;
    if (l.ms > mb->hms) mb->hms = l.ms;
  }
  stralloc_free(&sa);
}
