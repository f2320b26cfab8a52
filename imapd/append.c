/* pochta-imapd: APPEND, with MULTIAPPEND (RFC 3502: several messages, all or
 * none), CATENATE (RFC 4469: a message made of text and parts of messages
 * named by IMAP URLs) and literal8 (RFC 3516).
 *
 * The whole command is parsed first (a syntax error is BAD before anything is
 * written, a missing mailbox NO [TRYCREATE]); then every message is written to
 * a file of tmp/ (a big literal already is one: spool.c), fsynced, and all go
 * into the mailbox at once (mbox_add_batch: one lock, one fsync of cur/ and of
 * the uid list). When one cannot be made, none is added. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "imapd.h"
#include "io.h"
#include "maildir.h"
#include "mime.h"

#define APPEND_MAX 1000      /* messages in one MULTIAPPEND */
#define CAT_PARTS_MAX 100    /* parts of one CATENATE */

typedef struct { int url; pstr s; int spool; int bin; } catpart;   /* spool: index, or -1 */
typedef struct {
  uint32_t fl, kw; time_t date;
  int cat;                  /* 0: one literal (part[0]); 1: CATENATE parts */
  catpart *part; int nparts;
  char tmp[4800], uq[300], fin[400];
  int made;                 /* tmp is a file of ours */
} newmsg;

static int month(char const *s)
{
  static char const m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (int i = 0; i < 12; i++) if (!strncasecmp(s, m + 3 * i, 3)) return i;
  return -1;
}

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d") into seconds since the epoch. */
static int parse_datetime(char const *s, size_t n, time_t *t)
{
  char b[64];
  if (n < 26 || n > 27 || n >= sizeof b) return 0;
  memcpy(b, s, n); b[n] = 0;
  char const *c = b;
  if (*c == ' ') c++;
  int d, y, H, M, Sx, z; char mon[4]; char sign;
  if (sscanf(c, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &d, mon, &y, &H, &M, &Sx, &sign, &z) != 8) return 0;
  mon[3] = 0;
  int mo = month(mon);
  if (mo < 0 || d < 1 || d > 31 || y < 1970 || y > 9999 || H > 23 || M > 59 || Sx > 60 || (sign != '+' && sign != '-') || z % 100 > 59) return 0;
  struct tm tm = { .tm_sec = Sx, .tm_min = M, .tm_hour = H, .tm_mday = d, .tm_mon = mo, .tm_year = y - 1900 };
  time_t u = timegm(&tm);
  int off = (z / 100) * 3600 + (z % 100) * 60;
  *t = sign == '+' ? u - off : u + off;
  return 1;
}

/* The final base name of a new message: unique part plus Dovecot's size fields. */
static void final_name(char *out, size_t len, char const *uniq, char const *path)
{
  struct stat st; uint64_t w = 0;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 && fstat(fd, &st) == 0 && maildir_size_fd(fd, &w))
    snprintf(out, len, "%s,S=%llu,W=%llu", uniq, (unsigned long long)st.st_size, (unsigned long long)w);
  else snprintf(out, len, "%s", uniq);
  if (fd >= 0) close(fd);
}

/* A literal (or literal8) here: the part it becomes. */
static int p_part_literal(pcur *p, catpart *c)
{
  int spooled = 0;
  c->url = 0;
  c->bin = p_char(p, '~');
  if (!p_literal(p, &c->s, &spooled)) return 0;
  c->spool = spooled ? p->spool_next - 1 : -1;
  return 1;
}

/* One message of the command: [flags] [date] (literal / CATENATE (parts)). */
static int p_message(pcur *p, newmsg *m, mbox *dm, char const **bad)
{
  memset(m, 0, sizeof *m);
  *bad = "BAD Syntax: APPEND mailbox [flags] [date] literal";
  if (p_peek(p, '(')) {
    int r = parse_flags(p, dm, &m->fl, &m->kw, 1, 1);
    if (r < 0) { *bad = "NO [LIMIT] Too many keywords"; return 0; }
    if (!r || !p_sp(p)) { *bad = "BAD Invalid flag list"; return 0; }
  }
  if (p_peek(p, '"')) {
    pstr d;
    if (!p_quoted(p, &d) || !parse_datetime(d.s, d.len, &m->date) || !p_sp(p)) { *bad = "BAD Invalid date-time"; return 0; }
  }
  if (p_word(p, "CATENATE")) {
    m->cat = 1;
    if (!p_sp(p) || !p_char(p, '(')) return 0;
    m->part = malloc(CAT_PARTS_MAX * sizeof *m->part);
    if (!m->part) { *bad = "NO [SERVERBUG] Out of memory"; return 0; }
    for (int first = 1; !p_char(p, ')'); first = 0) {
      if (!first && !p_sp(p)) return 0;
      if (m->nparts == CAT_PARTS_MAX) { *bad = "NO [LIMIT] Too many CATENATE parts"; return 0; }
      catpart *c = &m->part[m->nparts];
      if (p_word(p, "URL")) {
        c->url = 1; c->spool = -1; c->bin = 0;
        if (!p_sp(p) || !p_astring(p, &c->s)) return 0;
      } else if (!p_word(p, "TEXT") || !p_sp(p) || !p_part_literal(p, c)) return 0;
      m->nparts++;
    }
    if (!m->nparts) return 0;
    return 1;
  }
  m->part = malloc(sizeof *m->part);
  if (!m->part) { *bad = "NO [SERVERBUG] Out of memory"; return 0; }
  m->nparts = 1;
  return p_part_literal(p, &m->part[0]);
}

/* Write s[0..n) to fd with CR LF made LF. */
static int write_lf(int fd, char const *s, size_t n)
{
  char buf[8192];
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') continue;
    buf[o++] = s[i];
    if (o == sizeof buf) { if (allwrite(fd, buf, o) != o) return 0; o = 0; }
  }
  return !o || allwrite(fd, buf, o) == o;
}

/* Copy a spool file's octets to fd. */
static int copy_spool(int fd, spoolf const *f)
{
  int in = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  char buf[65536];
  ssize_t r = 0;
  int ok = in >= 0;
  while (ok && (r = read(in, buf, sizeof buf)) > 0) ok = allwrite(fd, buf, (size_t)r) == (size_t)r;
  if (in >= 0) close(in);
  return ok && r == 0;
}

/* A literal8 APPEND (in memory, or spooled as it came): written by mime_store
 * (LF line ends, binary parts in base64). 1 ok, 0 error. */
static int store_binary(int fd, catpart const *c)
{
  char const *data = c->s.s;
  size_t len = c->s.len;
  void *map = 0;
  spoolf *f = c->spool >= 0 ? spool_get(c->spool) : 0;
  if (f && len) {
    int rfd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    map = rfd < 0 ? MAP_FAILED : mmap(0, len, PROT_READ, MAP_PRIVATE, rfd, 0);
    if (rfd >= 0) close(rfd);
    if (map == MAP_FAILED) return 0;
    data = map;
  }
  mime_tree t = MIME_TREE_ZERO;
  int again, ok = mime_parse(&t, data ? data : "", len) && mime_store(fd, &t, &again);
  mime_tree_free(&t);
  if (map) munmap(map, len);
  return ok;
}

/* The file of message m in tmp/: a plain spooled literal already is one. On
 * failure *why says what to answer. 1 ok, 0 failed. */
static int make_file(newmsg *m, char const **why)
{
  catpart *c0 = &m->part[0];
  *why = "NO [OVERQUOTA] Cannot write the message";
  if (!m->cat && !c0->bin && c0->spool >= 0) {
    spoolf *f = spool_get(c0->spool);
    if (!f) return 0;
    snprintf(m->tmp, sizeof m->tmp, "%s", f->path);
    snprintf(m->uq, sizeof m->uq, "%s", f->name);
    if (fsync(f->fd) < 0) return 0;
    f->path[0] = 0;    /* ours now */
    m->made = 1;
    return 1;
  }
  int fd = maildir_tmp_open(S.root, m->uq, sizeof m->uq);
  if (fd < 0) return 0;
  snprintf(m->tmp, sizeof m->tmp, "%s/tmp/%s", S.root, m->uq);
  m->made = 1;
  int ok = 1;
  uint64_t total = 0;
  for (int i = 0; ok && i < m->nparts; i++) {
    catpart *c = &m->part[i];
    spoolf *f = c->spool >= 0 ? spool_get(c->spool) : 0;
    if (c->url) {
      int r = imapurl_append(fd, c->s.s, c->s.len, &total, S.databytes);
      if (r == -1) {
        /* RFC 4469 5: the URL that could not be used, in the response code */
        static char why_url[1200];
        int ul = c->s.len < 1024 ? (int)c->s.len : 1024;
        int at = snprintf(why_url, sizeof why_url, "NO [BADURL ");
        snprintf(why_url + at, sizeof why_url - (size_t)at, "%.*s] Cannot use the URL", ul, c->s.s);
        /* (the URL is text of the response code: no ']' or line end in it) */
        for (int q = at; q < at + ul; q++) if (why_url[q] == ']' || why_url[q] == '\r' || why_url[q] == '\n' || !why_url[q]) why_url[q] = '_';
        *why = why_url;
      } else if (r == -2) *why = "NO [TOOBIG] The message would be too large";
      ok = r == 1;
      continue;
    }
    total += c->s.len;
    if (total > S.databytes) { *why = "NO [TOOBIG] The message would be too large"; ok = 0; break; }
    if (!m->cat && c->bin) ok = store_binary(fd, c);
    else if (f) ok = copy_spool(fd, f);
    else ok = write_lf(fd, c->s.s, c->s.len);
  }
  if (ok && fsync(fd) < 0) ok = 0;
  close(fd);
  return ok;
}

int c_append(pcur *p, int uid)
{
  (void)uid;
  pstr n;
  char dir[4500];
  newmsg *msgs = 0;
  int nm = 0, ok = 0;
  char const *bad = "BAD Syntax: APPEND mailbox [flags] [date] literal";
  if (!p_sp(p) || !p_astring(p, &n) || !p_sp(p)) { resp(bad); return 1; }
  int have_dir = folder_dir(n.s, n.len, dir, sizeof dir) && maildir_exists(dir);
  mbox dm;
  memset(&dm, 0, sizeof dm);
  if (have_dir) snprintf(dm.dir, sizeof dm.dir, "%s", dir);
  /* every message first: nothing is written before the command is whole */
  for (;;) {
    if (nm == APPEND_MAX) { bad = "NO [LIMIT] Too many messages in one APPEND"; goto out; }
    if (!(nm & 15)) {
      newmsg *nw = realloc(msgs, (size_t)(nm + 16) * sizeof *nw);
      if (!nw) { bad = "NO [SERVERBUG] Out of memory"; goto out; }
      msgs = nw;
    }
    if (!p_message(p, &msgs[nm++], have_dir ? &dm : 0, &bad)) goto out;
    if (p_eol(p)) break;
    if (!p_sp(p)) { bad = "BAD Syntax: APPEND mailbox [flags] [date] literal [...]"; goto out; }
  }
  if (!have_dir) { bad = "NO [TRYCREATE] No such mailbox"; goto out; }
  for (int i = 0; i < nm; i++) {
    if (!make_file(&msgs[i], &bad)) goto out;
    final_name(msgs[i].fin, sizeof msgs[i].fin, msgs[i].uq, msgs[i].tmp);
  }
  {
    mbox_new *add = malloc((size_t)nm * sizeof *add);
    if (!add) { bad = "NO [SERVERBUG] Out of memory"; goto out; }
    time_t now = time(0);
    for (int i = 0; i < nm; i++) {
      add[i].from = msgs[i].tmp; add[i].name = msgs[i].fin;
      add[i].flags = msgs[i].fl; add[i].kw = msgs[i].kw;
      add[i].date = msgs[i].date ? msgs[i].date : now;
    }
    uint32_t v = 0;
    int r = mbox_add_batch(dir, add, (size_t)nm, S.state == S_SELECTED ? &S.mb : 0, &v);
    if (r != nm) {
      /* (all or none: what went in is taken out again) */
      for (int i = 0; i < nm; i++) if (add[i].added) {
        char f[4800], fl[40];
        mbox_flagstr(add[i].flags & F_SYSMASK, add[i].kw, fl);
        snprintf(f, sizeof f, "%s/cur/%s:2,%s", dir, add[i].name, fl);
        unlink(f);
      }
      free(add);
      respf("NO [SERVERBUG] Cannot store the messages: %s", strerror(errno));
      goto cleanup;
    }
    for (int i = 0; i < nm; i++) msgs[i].made = 0;   /* in cur/ now */
    stralloc uids = STRALLOC_ZERO;
    uint32_t last = 0, start = 0;
    int all = 1;
    for (int i = 0; i < nm; i++) { if (!add[i].uid) all = 0; else uidset_add(&uids, &last, &start, add[i].uid); }
    uidset_end(&uids, last, start);
    free(add);
    if (all && v && stralloc_0(&uids)) respf("OK [APPENDUID %u %s] APPEND completed", v, uids.s);
    else resp("OK APPEND completed");
    stralloc_free(&uids);
    ok = 1;
  }
 out:
  if (!ok) resp(bad);
 cleanup:
  for (int i = 0; i < nm; i++) {
    if (msgs[i].made) unlink(msgs[i].tmp);
    free(msgs[i].part);
  }
  free(msgs);
  for (unsigned k = 0; k < MAXKW; k++) free(dm.kw[k]);
  return 1;
}
