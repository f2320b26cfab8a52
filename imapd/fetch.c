/* pochta-imapd: FETCH. The message structure, ENVELOPE, BODYSTRUCTURE and section
 * ranges come from the MIME module (mime.h); this file parses the FETCH items,
 * reads the files and writes the answers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>

#include "imapd.h"
#include "io.h"
#include "mime.h"
#include "search.h"

#define FA_UID 1
#define FA_FLAGS 2
#define FA_INTERNALDATE 3
#define FA_SIZE 4
#define FA_ENVELOPE 5
#define FA_BODY 6          /* BODY (no section): non-extensible BODYSTRUCTURE */
#define FA_BODYSTRUCTURE 7
#define FA_SECTION 8       /* BODY[...] / BODY.PEEK[...] / RFC822* */
#define FA_BINARY 9
#define FA_BINARYSIZE 10
#define FA_MODSEQ 11       /* CONDSTORE; needs no file */
#define FA_SAVEDATE 12     /* RFC 8514; from the file name */
#define FA_EMAILID 13      /* RFC 8474 */
#define FA_THREADID 14

typedef struct {
  int type;
  int peek;
  char const *label;      /* name to answer with, e.g. "RFC822.HEADER" */
  size_t labellen;
  mime_section sec;
  uint64_t off, cnt; int partial;
} fatt;

#define MAX_ATTS 64

static stralloc fieldstore = STRALLOC_ZERO;
static stralloc labels = STRALLOC_ZERO;

/* section-spec inside [ ]: fills sec; the raw text is echoed back */
static int parse_section(pcur *p, mime_section *sec, size_t *field_offs)
{
  memset(sec, 0, sizeof *sec);
  sec->what = MIME_SEC_ALL;
  if (p_peek(p, ']')) return 1;
  /* part numbers */
  while (p->pos < p->len && p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
    uint32_t n;
    if (!p_nz_number(p, &n) || sec->npath >= MIME_MAX_DEPTH) return 0;
    sec->path[sec->npath++] = n;
    if (!p_char(p, '.')) return p_peek(p, ']');
  }
  if (p_word(p, "HEADER.FIELDS.NOT")) sec->what = MIME_SEC_FIELDS_NOT;
  else if (p_word(p, "HEADER.FIELDS")) sec->what = MIME_SEC_FIELDS;
  else if (p_word(p, "HEADER")) sec->what = MIME_SEC_HEADER;
  else if (p_word(p, "TEXT")) sec->what = MIME_SEC_TEXT;
  else if (p_word(p, "MIME")) { if (!sec->npath) return 0; sec->what = MIME_SEC_MIME; }
  else return 0;
  if (sec->what == MIME_SEC_FIELDS || sec->what == MIME_SEC_FIELDS_NOT) {
    if (!p_sp(p) || !p_char(p, '(')) return 0;
    *field_offs = fieldstore.len;
    for (int first = 1; !p_char(p, ')'); first = 0) {
      pstr f;
      if (!first && !p_sp(p)) return 0;
      if (!p_astring(p, &f) || !f.len || memchr(f.s, 0, f.len)) return 0;
      if (!stralloc_catb(&fieldstore, f.s, f.len) || !stralloc_0(&fieldstore)) return 0;
    }
    sec->fieldslen = fieldstore.len - *field_offs;
    if (!sec->fieldslen) return 0;
  }
  return 1;
}

static int parse_partial(pcur *p, fatt *a)
{
  if (!p_char(p, '<')) return 1;
  uint32_t o, c;
  if (!p_number(p, &o) || !p_char(p, '.') || !p_nz_number(p, &c) || !p_char(p, '>')) return 0;
  a->partial = 1; a->off = o; a->cnt = c;
  return 1;
}

/* A header field name in a label: an atom in capitals, else a string. */
static void label_field(char const *f, size_t n)
{
  int atom = n > 0, quote = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)f[i];
    if (!is_atom_char(c)) atom = 0;
    if (c == '\r' || c == '\n' || c >= 0x80) quote = 0;
  }
  if (atom) { for (size_t i = 0; i < n; i++) { char c = f[i]; if (c >= 'a' && c <= 'z') c -= 32; stralloc_catb(&labels, &c, 1); } return; }
  if (!quote) {
    char b[32]; int k = snprintf(b, sizeof b, "{%zu}\r\n", n);
    stralloc_catb(&labels, b, (size_t)k); stralloc_catb(&labels, f, n);
    return;
  }
  stralloc_catb(&labels, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    if (f[i] == '"' || f[i] == '\\') stralloc_catb(&labels, "\\", 1);
    stralloc_catb(&labels, f + i, 1);
  }
  stralloc_catb(&labels, "\"", 1);
}

/* The canonical text of a section spec: "1.2.HEADER.FIELDS (FROM TO)".
 * fields: the names parse_section stored, NUL-separated (sec->fieldslen). */
static void section_label(mime_section const *sec, char const *fields)
{
  static char const *const what[] = { "", "HEADER", "TEXT", "MIME", "HEADER.FIELDS", "HEADER.FIELDS.NOT" };
  char b[16];
  for (unsigned i = 0; i < sec->npath; i++) {
    int n = snprintf(b, sizeof b, "%s%u", i ? "." : "", sec->path[i]);
    stralloc_catb(&labels, b, (size_t)n);
  }
  if (sec->what == MIME_SEC_ALL) return;
  if (sec->npath) stralloc_catb(&labels, ".", 1);
  stralloc_cats(&labels, what[sec->what]);
  if (sec->what != MIME_SEC_FIELDS && sec->what != MIME_SEC_FIELDS_NOT) return;
  stralloc_catb(&labels, " (", 2);
  for (size_t o = 0; fields && o < sec->fieldslen; ) {
    size_t n = strlen(fields + o);
    if (o) stralloc_catb(&labels, " ", 1);
    label_field(fields + o, n);
    o += n + 1;
  }
  stralloc_catb(&labels, ")", 1);
}

/* Store a label (the item name we answer with) and point a at it. */
static void set_label(fatt *a, char const *s, size_t n)
{
  a->label = (char const *)(uintptr_t)labels.len;
  stralloc_catb(&labels, s, n);
  a->labellen = n;
}

static int parse_att(pcur *p, fatt *a, size_t *foff)
{
  pstr w;
  size_t start = p->pos;
  memset(a, 0, sizeof *a);
  *foff = (size_t)-1;
  size_t i = p->pos;
  while (i < p->len && (is_atom_char((unsigned char)p->s[i]) || p->s[i] == '.') && p->s[i] != '[') i++;
  if (i == p->pos) return 0;
  w.s = p->s + p->pos; w.len = i - p->pos; p->pos = i;
  if (strcase_eq(w.s, w.len, "UID")) a->type = FA_UID;
  else if (strcase_eq(w.s, w.len, "FLAGS")) a->type = FA_FLAGS;
  else if (strcase_eq(w.s, w.len, "INTERNALDATE")) a->type = FA_INTERNALDATE;
  else if (strcase_eq(w.s, w.len, "RFC822.SIZE")) a->type = FA_SIZE;
  else if (strcase_eq(w.s, w.len, "ENVELOPE")) a->type = FA_ENVELOPE;
  else if (strcase_eq(w.s, w.len, "BODYSTRUCTURE")) a->type = FA_BODYSTRUCTURE;
  else if (strcase_eq(w.s, w.len, "MODSEQ")) a->type = FA_MODSEQ;
  else if (strcase_eq(w.s, w.len, "SAVEDATE")) a->type = FA_SAVEDATE;
  else if (strcase_eq(w.s, w.len, "EMAILID")) a->type = FA_EMAILID;
  else if (strcase_eq(w.s, w.len, "THREADID")) a->type = FA_THREADID;
  else if (strcase_eq(w.s, w.len, "RFC822")) { a->type = FA_SECTION; a->sec.what = MIME_SEC_ALL; set_label(a, "RFC822", 6); }
  else if (strcase_eq(w.s, w.len, "RFC822.HEADER")) { a->type = FA_SECTION; a->peek = 1; a->sec.what = MIME_SEC_HEADER; set_label(a, "RFC822.HEADER", 13); }
  else if (strcase_eq(w.s, w.len, "RFC822.TEXT")) { a->type = FA_SECTION; a->sec.what = MIME_SEC_TEXT; set_label(a, "RFC822.TEXT", 11); }
  else if (strcase_eq(w.s, w.len, "BODY") || strcase_eq(w.s, w.len, "BODY.PEEK")
           || strcase_eq(w.s, w.len, "BINARY") || strcase_eq(w.s, w.len, "BINARY.PEEK")
           || strcase_eq(w.s, w.len, "BINARY.SIZE")) {
    int bin = w.len >= 6 && !strncasecmp(w.s, "BINARY", 6);
    int size = strcase_eq(w.s, w.len, "BINARY.SIZE");
    a->peek = w.len > 6 && !strncasecmp(w.s + w.len - 5, ".PEEK", 5);
    if (!p_char(p, '[')) {
      if (!strcase_eq(w.s, w.len, "BODY")) return 0;
      a->type = FA_BODY;
      return 1;
    }
    if (!parse_section(p, &a->sec, foff)) return 0;
    if (bin && a->sec.what != MIME_SEC_ALL) return 0;
    if (!p_char(p, ']')) return 0;
    a->type = size ? FA_BINARYSIZE : bin ? FA_BINARY : FA_SECTION;
    if (!size && !parse_partial(p, a)) return 0;
    /* label: BODY[...] / BINARY[...] made from what was parsed, never the
     * command's text (PEEK is not echoed) */
    char const *base = size ? "BINARY.SIZE[" : bin ? "BINARY[" : "BODY[";
    size_t l0 = labels.len;
    a->label = (char const *)(uintptr_t)l0;
    stralloc_cats(&labels, base);
    section_label(&a->sec, *foff == (size_t)-1 ? 0 : fieldstore.s + *foff);
    stralloc_catb(&labels, "]", 1);
    if (a->partial) {
      char b[32]; int n = snprintf(b, sizeof b, "<%llu>", (unsigned long long)a->off);
      stralloc_catb(&labels, b, (size_t)n);
    }
    a->labellen = labels.len - l0;
  } else { p->pos = start; return 0; }
  return 1;
}

static void put_date(time_t t)
{
  static char const mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct tm tm;
  char b[64];
  gmtime_r(&t, &tm);
  snprintf(b, sizeof b, "\"%02d-%.3s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday, mon + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  io_puts(b);
}

/* The message file: read into small, mapped when large. */
typedef struct { int ok; char const *data; size_t len; size_t maplen; time_t mtime; mime_tree t; int parsed; } mfile;

/* Messages up to this size are read into one buffer kept for the session: a
 * map and an unmap per message (each unmap a TLB flush) cost more than the
 * copy. One message is open at a time (fetch_one). */
#define MFILE_READ_MAX 16384
static stralloc mfile_buf = STRALLOC_ZERO;

/* 1 open, 0 error, -1 the file is gone (expunged by someone else). */
static int mfile_open(mfile *f, msg *m)
{
  struct stat st;
  memset(f, 0, sizeof *f);
  int fd = mbox_open_msg_stat(&S.mb, m, &st);
  if (fd < 0) return errno == ENOENT ? -1 : 0;
  f->len = (size_t)st.st_size;
  f->mtime = st.st_mtime;
  if (!f->len) f->data = "";
  else if (f->len <= MFILE_READ_MAX) {
    /* (message files never change: fewer octets than fstat said is an error) */
    if (!stralloc_ready(&mfile_buf, f->len)) { close(fd); return 0; }
    size_t got = allread(fd, mfile_buf.s, f->len);
    if (got != f->len) { close(fd); errno = EIO; return 0; }
    f->data = mfile_buf.s;
  } else {
    void *p = mmap(0, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) { close(fd); return 0; }
    f->data = p; f->maplen = f->len;
  }
  close(fd);
  f->ok = 1;
  return 1;
}

static int mfile_tree(mfile *f)
{
  if (f->parsed) return 1;
  if (!mime_parse(&f->t, f->data, f->len)) return 0;
  f->parsed = 1;
  return 1;
}

static void mfile_close(mfile *f)
{
  if (f->parsed) mime_tree_free(&f->t);
  if (f->maplen) munmap((void *)f->data, f->maplen);
  memset(f, 0, sizeof *f);
}

static stralloc gen = STRALLOC_ZERO;

#define FETCH_GONE (-3)

/* One message's answer. Returns 1, 0 when the file could not be read,
 * FETCH_GONE (nothing sent) when another session expunged it, or what
 * mime_binary_size said. want_modseq: MODSEQ goes in even if not asked for
 * (CHANGEDSINCE). */
static int fetch_one(size_t idx, fatt *atts, size_t n, int uid, int setseen, int want_modseq)
{
  msg *m = &S.mb.m[idx];
  mfile f;
  int need_file = 0, need_flags = 0;
  for (size_t i = 0; i < n; i++)
    if ((atts[i].type >= FA_ENVELOPE && atts[i].type < FA_MODSEQ) || atts[i].type == FA_INTERNALDATE || atts[i].type == FA_EMAILID) need_file = 1;
  memset(&f, 0, sizeof f);
  /* RFC 2180 4.1: what the view still knows of an expunged message is sent,
   * the rest is left out */
  if (need_file && (m->flags & F_GONE)) return FETCH_GONE;
  if (need_file) {
    int o = mfile_open(&f, m);
    if (o < 0) return FETCH_GONE;
    if (!o) return 0;
  }
  if (setseen && !(m->flags & F_SEEN) && !(m->flags & F_GONE)) {
    if (mbox_setflags(&S.mb, m, FL_ADD, F_SEEN, 0) > 0) need_flags = 1;
  }
  io_puts("* "); io_putu(idx + 1); io_puts(" FETCH (");
  int sp = 0;
  int has_uid = 0, has_flags = 0, has_modseq = 0;
  for (size_t i = 0; i < n; i++) {
    if (atts[i].type == FA_UID) has_uid = 1;
    if (atts[i].type == FA_FLAGS) has_flags = 1;
    if (atts[i].type == FA_MODSEQ) has_modseq = 1;
  }
  /* RFC 7162 3.1: with CONDSTORE on, FLAGS come with MODSEQ, and an implicit
   * \Seen change is reported with UID and MODSEQ like any other flag change */
  if (S.condstore && (has_flags || need_flags)) want_modseq = 1;
  if (S.condstore && need_flags) uid = 1;
  if (uid && !has_uid) { io_puts("UID "); io_putu(m->uid); sp = 1; }
  if (need_flags && !has_flags) { if (sp) io_put(" ", 1); io_puts("FLAGS "); put_flags(&S.mb, m->flags, m->kw); sp = 1; }
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    fatt *a = &atts[i];
    if (sp) io_put(" ", 1);
    sp = 1;
    switch (a->type) {
      case FA_UID: io_puts("UID "); io_putu(m->uid); break;
      case FA_FLAGS: io_puts("FLAGS "); put_flags(&S.mb, m->flags, m->kw); break;
      case FA_MODSEQ: put_modseq(m); break;
      case FA_EMAILID: {
        char id[26];
        if (!msg_emailid(&S.mb, m, id)) { ok = 0; break; }
        io_puts("EMAILID ("); io_puts(id); io_puts(")");
        break;
      }
      case FA_THREADID: io_puts("THREADID NIL"); break;
      case FA_SAVEDATE: {
        int64_t sv = msg_savedate(&S.mb, m);
        io_puts("SAVEDATE ");
        if (sv < 0) io_puts("NIL"); else put_date((time_t)sv);
        break;
      }
      case FA_INTERNALDATE: io_puts("INTERNALDATE "); put_date(f.mtime); break;
      case FA_SIZE: io_puts("RFC822.SIZE "); io_putu(mbox_size(&S.mb, m)); break;
      case FA_ENVELOPE:
        gen.len = 0;
        if (!mfile_tree(&f) || !mime_envelope(&gen, &f.t, 0)) { ok = 0; break; }
        io_puts("ENVELOPE "); io_put(gen.s, gen.len); break;
      case FA_BODY: case FA_BODYSTRUCTURE:
        gen.len = 0;
        if (!mfile_tree(&f) || !mime_bodystructure(&gen, &f.t, a->type == FA_BODYSTRUCTURE)) { ok = 0; break; }
        io_puts(a->type == FA_BODY ? "BODY " : "BODYSTRUCTURE "); io_put(gen.s, gen.len); break;
      case FA_SECTION: {
        mime_body b;
        if (!mfile_tree(&f) || !mime_section_get(&b, &gen, &f.t, &a->sec)) { ok = 0; break; }
        uint64_t total = b.size, skip = 0, max = UINT64_MAX;
        if (a->partial) { skip = a->off; max = a->cnt; total = skip >= b.size ? 0 : (b.size - skip < max ? b.size - skip : max); }
        io_put(labels.s + (size_t)(uintptr_t)a->label, a->labellen);
        io_puts(" {"); io_putu(total); io_puts("}\r\n");
        if (total) {
          if (b.generated) io_put(gen.s + skip, (size_t)total);
          else if (!mime_write_crlf(io_outbuf(), f.data, b.start, b.end, skip, max)) ok = 0;
        }
        break;
      }
      case FA_BINARY: case FA_BINARYSIZE: {
        uint64_t size; int nul = 0;
        if (!mfile_tree(&f)) { ok = 0; break; }
        int r = mime_binary_size(&size, &nul, &f.t, &a->sec);
        if (r == -1) { ok = -1; break; }
        if (r == -2) { ok = -2; break; }
        if (r != 1) { ok = 0; break; }
        io_put(labels.s + (size_t)(uintptr_t)a->label, a->labellen);
        if (a->type == FA_BINARYSIZE) { io_put(" ", 1); io_putu(size); break; }
        uint64_t total = size, skip = 0, max = UINT64_MAX;
        if (a->partial) { skip = a->off; max = a->cnt; total = skip >= size ? 0 : (size - skip < max ? size - skip : max); }
        io_puts(nul ? " ~{" : " {"); io_putu(total); io_puts("}\r\n");
        if (total && mime_binary_write(io_outbuf(), &f.t, &a->sec, skip, max) != 1) ok = 0;
        break;
      }
    }
  }
  /* implied by CHANGEDSINCE or CONDSTORE: after the items asked for */
  if (want_modseq && !has_modseq) { if (sp) io_put(" ", 1); put_modseq(m); }
  io_puts(")\r\n");
  mfile_close(&f);
  return ok;
}

int c_fetch(pcur *p, int uid)
{
  range rr[SEQSET_MAX];
  seqset ss = { rr, 0 };
  fatt atts[MAX_ATTS];
  size_t foffs[MAX_ATTS];
  size_t n = 0;
  S.expunge_held = !uid;
  fieldstore.len = 0; labels.len = 0;
  if (!p_sp(p) || !p_seqset(p, &ss) || !p_sp(p)) { resp("BAD Syntax: FETCH set items"); return 1; }
  int macro = p_word(p, "ALL") ? 1 : p_word(p, "FAST") ? 2 : p_word(p, "FULL") ? 3 : 0;
  if (macro) {
    int all = macro == 1, full = macro == 3;
    atts[n++] = (fatt){ .type = FA_FLAGS };
    atts[n++] = (fatt){ .type = FA_INTERNALDATE };
    atts[n++] = (fatt){ .type = FA_SIZE };
    if (all || full) atts[n++] = (fatt){ .type = FA_ENVELOPE };
    if (full) atts[n++] = (fatt){ .type = FA_BODY };
    for (size_t i = 0; i < n; i++) foffs[i] = (size_t)-1;
  } else {
    int paren = p_char(p, '(');
    for (int first = 1; ; first = 0) {
      if (paren && p_char(p, ')')) break;
      if (!first && !p_sp(p)) { resp("BAD Invalid FETCH items"); return 1; }
      if (n == MAX_ATTS || !parse_att(p, &atts[n], &foffs[n])) { resp("BAD Invalid FETCH item"); return 1; }
      n++;
      if (!paren) break;
    }
    if (!n) { resp("BAD Empty FETCH item list"); return 1; }
  }
  /* RFC 4466 fetch modifiers: CHANGEDSINCE and (UID FETCH, QRESYNC) VANISHED */
  uint64_t since = 0; int changedsince = 0, vanished = 0, partial = 0;
  int64_t plo = 0, phi = 0;
  if (p_sp(p)) {
    int ok = p_char(p, '(');
    for (int first = 1; ok && !p_char(p, ')'); first = 0) {
      if (!first && !p_sp(p)) ok = 0;
      else if (!changedsince && p_word(p, "CHANGEDSINCE")) ok = changedsince = p_sp(p) && p_modseq(p, 1, &since);
      else if (!vanished && p_word(p, "VANISHED")) vanished = 1;
      /* PARTIAL (RFC 9394 3): a window of the messages the set gives */
      else if (!partial && uid && p_word(p, "PARTIAL")) ok = partial = p_sp(p) && p_partial(p, &plo, &phi);
      else ok = 0;
    }
    if (!ok || (!changedsince && !vanished && !partial)) { resp("BAD Syntax: FETCH set items (CHANGEDSINCE modseq [VANISHED] / PARTIAL range)"); return 1; }
    /* RFC 7162 3.2.6 */
    if (vanished && (!uid || !S.qresync || !changedsince)) { resp("BAD VANISHED needs UID FETCH, ENABLE QRESYNC and CHANGEDSINCE"); return 1; }
  }
  if (!p_eol(p)) { resp("BAD Unexpected arguments"); return 1; }
  if (!seqset_valid(&ss, uid)) { resp("BAD Invalid message sequence number"); return 1; }
  if (vanished) put_vanished_earlier(&ss, since);
  int modseq_item = changedsince;
  for (size_t i = 0; i < n; i++) if (atts[i].type == FA_MODSEQ) modseq_item = 1;
  if (modseq_item) condstore_on();
  /* fieldstore is complete now: point the sections at it */
  for (size_t i = 0; i < n; i++) if (foffs[i] != (size_t)-1) atts[i].sec.fields = fieldstore.s + foffs[i];
  int setseen = 0;
  if (!S.readonly) for (size_t i = 0; i < n; i++) if ((atts[i].type == FA_SECTION || atts[i].type == FA_BINARY) && !atts[i].peek) setseen = 1;
  int failed = 0, cte = 0, notsingle = 0, gone = 0;
  size_t pfirst = 1, plast = SIZE_MAX, pos = 0;
  if (partial) {
    size_t total = 0;
    for (size_t i = 0; i < S.mb.n; i++)
      if (msg_in_set(&ss, uid, i) && !(changedsince && S.mb.m[i].modseq <= since)) total++;
    partial_span(plo, phi, total, &pfirst, &plast);
  }
  for (size_t i = 0; i < S.mb.n && pos < plast && !io_abandoned(); i++) {
    if (!msg_in_set(&ss, uid, i)) continue;
    if (changedsince && S.mb.m[i].modseq <= since) continue;
    if (++pos < pfirst) continue;
    int r = fetch_one(i, atts, n, uid, setseen, changedsince);
    if (r == -1) cte = 1; else if (r == -2) notsingle = 1; else if (r == FETCH_GONE) gone = 1; else if (r <= 0) failed = 1;
  }
  if (cte) resp("NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding");
  else if (notsingle) resp("BAD BINARY of a multipart");
  else if (failed) resp("NO [SERVERBUG] Some messages could not be read");
  /* RFC 5530, as Dovecot: the messages another session expunged are left out */
  else if (gone) resp("OK [EXPUNGEISSUED] Some messages were already expunged");
  else resp("OK FETCH completed");
  return 1;
}
