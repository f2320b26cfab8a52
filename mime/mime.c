/* mime/mime.c — the MIME structure parser: one pass over the message, no
 * recursion, a bounded part array. Boundaries and broken structure are handled as
 * Dovecot's message parser does (so that BODYSTRUCTURE answers match):
 *  - a boundary line is "--" + any active boundary as a prefix of the line (the
 *    longest match wins; inner and outer boundaries are all active);
 *  - the line end before a boundary line belongs to the boundary, not the body;
 *  - a boundary line inside a part's header ends that header there;
 *  - an outer boundary closes every inner part; a missing final boundary is EOF;
 *  - a multipart without a boundary parameter has no children;
 *  - parts without Content-Type are text/plain, or message/rfc822 in a digest. */
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "mime-int.h"

int mime_msg_map(mime_msg *m, int fd)
{
  struct stat st;
  void *p;
  if (fstat(fd, &st) < 0) return 0;
  m->maplen = 0;
  if (!st.st_size) { m->data = ""; m->len = 0; return 1; }
  p = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 0;
  m->data = p;
  m->len = m->maplen = st.st_size;
  return 1;
}

void mime_msg_mem(mime_msg *m, char const *s, size_t len)
{
  m->data = s; m->len = len; m->maplen = 0;
}

void mime_msg_unmap(mime_msg *m)
{
  if (m->maplen) munmap((void *)m->data, m->maplen);
  m->data = ""; m->len = 0; m->maplen = 0;
}

uint64_t mime_count_lf(char const *s, size_t len)
{
  uint64_t n = 0;
  char const *e = s + len;
  while (s < e) {
    char const *nl = memchr(s, '\n', e - s);
    if (!nl) break;
    n++;
    s = nl + 1;
  }
  return n;
}

uint64_t mime_vsize(char const *s, size_t len)
{
  uint64_t n = len;
  size_t i = 0;
  while (i < len) {
    char const *nl = memchr(s + i, '\n', len - i);
    if (!nl) break;
    size_t k = nl - s;
    if (!k || s[k - 1] != '\r') n++;
    i = k + 1;
  }
  return n;
}

/* What the parser needs from a Content-Type value: type flags and the boundary. */
int mime_ct_classify(char const *v, size_t len, uint32_t *flags, stralloc *b)
{
  stralloc ct = STRALLOC_ZERO, params = STRALLOC_ZERO;
  rfcp r;
  int e, ok = 1;
  unsigned n;
  b->len = 0;
  rfcp_init(&r, v, len, 0);
  rfcp_skip_lwsp(&r);
  e = rfcp_content_type(&r, &ct);
  if (e < -1) { ok = 0; goto done; }
  if (ct.len == 14 && !strncasecmp(ct.s, "message/rfc822", 14)) *flags |= MIME_F_MESSAGE;
  else if (ct.len >= 4 && !strncasecmp(ct.s, "text", 4) && (ct.len == 4 || ct.s[4] == '/')) *flags |= MIME_F_TEXT;
  else if (ct.len >= 10 && !strncasecmp(ct.s, "multipart/", 10)) {
    *flags |= MIME_F_MULTIPART;
    if (ct.len == 16 && !strncasecmp(ct.s + 10, "digest", 6)) *flags |= MIME_F_DIGEST;
  }
  if (e < 0 || !(*flags & MIME_F_MULTIPART)) goto done;
  e = rfcp_params(&r, &params, &n);
  if (e < -1) { ok = 0; goto done; }
  for (size_t k = 0; n--;) {
    char const *key = params.s + k, *val = key + strlen(key) + 1;
    if (!strcasecmp(key, "boundary")) {
      if (!stralloc_catb(b, val, strlen(val))) ok = 0;
      break;
    }
    k = (val - params.s) + strlen(val) + 1;
  }
done:
  stralloc_free(&ct);
  stralloc_free(&params);
  return ok;
}

/* ---------------------------------------------------------------- the parser */

struct bnd { size_t off, len; uint32_t part; };  /* boundary text in pool */

typedef struct pstate_s pstate;
struct pstate_s {
  mime_tree *t;
  char const *s;
  size_t len;
  struct bnd stack[MIME_MAX_DEPTH + 2];
  unsigned nb;
  stralloc pool;       /* boundary strings */
  uint32_t *last;      /* last child of each part, to append siblings */
};

static uint32_t part_new(pstate *ps, uint32_t parent, size_t pos)
{
  mime_tree *t = ps->t;
  /* the parser stops looking for boundaries at the limit, so this cannot happen */
  if (t->n >= MIME_MAX_PARTS) { errno = EOVERFLOW; return MIME_NONE; }
  if (t->n == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 8;
    if (cap > MIME_MAX_PARTS) cap = MIME_MAX_PARTS;
    mime_part *np = realloc(t->parts, cap * sizeof *np);
    if (!np) return MIME_NONE;
    t->parts = np;
    uint32_t *nl = realloc(ps->last, cap * sizeof *nl);
    if (!nl) return MIME_NONE;
    ps->last = nl;
    t->cap = cap;
  }
  uint32_t i = t->n++;
  mime_part *p = &t->parts[i];
  memset(p, 0, sizeof *p);
  p->parent = parent; p->child = p->next = MIME_NONE;
  p->hdr_start = p->hdr_end = p->body_start = p->body_end = pos;
  ps->last[i] = MIME_NONE;
  if (parent != MIME_NONE) {
    mime_part *pp = &t->parts[parent];
    p->depth = pp->depth + 1;
    if (ps->last[parent] == MIME_NONE) pp->child = i;
    else t->parts[ps->last[parent]].next = i;
    ps->last[parent] = i;
    pp->nchildren++;
  }
  return i;
}

/* Is the line at pos a boundary line? Index into the stack (longest match), or -1. */
static int boundary_at(pstate *ps, size_t pos, int *closing)
{
  int best = -1;
  size_t bestlen = 0, avail;
  if (pos + 2 > ps->len || ps->s[pos] != '-' || ps->s[pos + 1] != '-') return -1;
  avail = ps->len - pos - 2;
  for (unsigned i = ps->nb; i--;) {
    struct bnd *b = &ps->stack[i];
    if (b->len <= avail && !memcmp(ps->s + pos + 2, ps->pool.s + b->off, b->len)
        && (best < 0 || bestlen < b->len)) { best = i; bestlen = b->len; }
  }
  if (best >= 0)
    *closing = avail >= bestlen + 2 && ps->s[pos + 2 + bestlen] == '-' && ps->s[pos + 3 + bestlen] == '-';
  return best;
}

/* Close every open part from cur up to (not including) the owner, at offset end. */
static void close_to(pstate *ps, uint32_t cur, uint32_t owner, size_t end)
{
  while (cur != owner && cur != MIME_NONE) {
    ps->t->parts[cur].body_end = end;
    cur = ps->t->parts[cur].parent;
  }
}

static void sizes(mime_tree *t)
{
  for (uint32_t i = 0; i < t->n; i++) {
    mime_part *p = &t->parts[i];
    p->hdr_vsize = mime_vsize(t->data + p->hdr_start, p->body_start - p->hdr_start);
    p->body_vsize = mime_vsize(t->data + p->body_start, p->body_end - p->body_start);
    p->body_lines = mime_count_lf(t->data + p->body_start, p->body_end - p->body_start);
  }
}

enum { ST_HEADER, ST_BODY, ST_SCAN, ST_DONE };

int mime_parse(mime_tree *t, char const *data, size_t len)
{
  pstate ps = { .t = t, .s = data, .len = len, .nb = 0, .pool = STRALLOC_ZERO, .last = 0 };
  stralloc bound = STRALLOC_ZERO, val = STRALLOC_ZERO;
  uint32_t cur;
  size_t pos = 0;
  int state = ST_HEADER, ok = 0, pushed = 0, bhit = -1, closing = 0;

  t->n = 0;
  t->data = data;
  t->len = len;
  cur = part_new(&ps, MIME_NONE, 0);
  if (cur == MIME_NONE) goto done;

  while (state != ST_DONE) {
    if (state == ST_HEADER) {
      mime_part *p = &t->parts[cur];
      int seen_ct = 0, mime = p->parent != MIME_NONE && (t->parts[p->parent].flags & MIME_F_MULTIPART);
      size_t prevnl = 0;
      uint32_t flags = 0;
      int eoh = 0;
      bhit = -1;
      bound.len = 0;
      pushed = 0;
      p->hdr_start = pos;
      for (;;) {
        if (pos >= len) { p->hdr_end = p->body_start = len; break; }
        if (ps.nb && (bhit = boundary_at(&ps, pos, &closing)) >= 0) {
          /* the header ends here; the line end before belongs to the boundary */
          p->hdr_end = p->body_start = pos - prevnl;
          break;
        }
        if (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n')) {
          p->hdr_end = pos;
          p->body_start = pos + (data[pos] == '\n' ? 1 : 2);
          eoh = 1;
          break;
        }
        mime_field f;
        size_t fpos = pos;
        /* mime_field_next reads from fpos to the end of the logical field */
        mime_field_next(&f, data, len, &fpos);
        prevnl = data[fpos - 1] != '\n' ? 0 : (fpos >= pos + 2 && data[fpos - 2] == '\r') ? 2 : 1;
        pos = fpos;
        if (mime_name_is(&f, "Mime-Version")) mime = 1;
        else if (mime_name_is(&f, "Content-Type")) {
          mime = 1;
          if (!seen_ct) {
            seen_ct = 1;
            if (!mime_field_unfold(&val, f.value, f.valuelen)) goto done;
            if (!mime_ct_classify(val.s, val.len, &flags, &bound)) goto done;
          }
        }
      }
      if (!mime) flags = 0;
      if (seen_ct && mime) flags |= MIME_F_HAS_CT;
      if (mime) flags |= MIME_F_ISMIME;
      if (!seen_ct || !mime) {
        if (p->parent != MIME_NONE && (t->parts[p->parent].flags & MIME_F_DIGEST)) flags |= MIME_F_MESSAGE;
        else flags |= MIME_F_TEXT;
      }
      if ((flags & (MIME_F_MULTIPART | MIME_F_MESSAGE)) && (p->depth + 1 >= MIME_MAX_DEPTH || t->n >= MIME_MAX_PARTS)) {
        /* its parts would be too deep (or too many): keep it closed, as a leaf */
        flags &= ~(MIME_F_MULTIPART | MIME_F_MESSAGE | MIME_F_DIGEST);
        flags |= MIME_F_TRUNC;
      }
      p->flags = flags;
      p->body_end = p->body_start;
      if (eoh && (flags & MIME_F_MULTIPART) && bound.len && mime && ps.nb < MIME_MAX_DEPTH + 1) {
        struct bnd *b = &ps.stack[ps.nb++];
        b->off = ps.pool.len; b->len = bound.len; b->part = cur;
        if (!stralloc_catb(&ps.pool, bound.s, bound.len)) goto done;
        pushed = 1;
      }
      if (eoh && ps.nb && (bhit = boundary_at(&ps, p->body_start, &closing)) >= 0) {
        if (ps.stack[bhit].part == cur) bhit = -1;   /* our own first boundary */
        else {
          /* the body is empty and a boundary follows at once: the empty line is the
           * line end that belongs to that boundary (as Dovecot counts it) */
          pos = p->body_start;
          p->body_start = p->hdr_end;
        }
      }
      p->body_end = p->body_start;
      if (bhit >= 0) {
        /* a boundary ends the header (pos is at the boundary line). A message/rfc822
         * part still gets its (empty) message, as in Dovecot. */
        if (p->flags & MIME_F_MESSAGE) {
          size_t bs = p->body_start;   /* p may move when the table grows */
          uint32_t c = part_new(&ps, cur, bs);
          if (c == MIME_NONE) goto done;
          t->parts[c].flags = MIME_F_TEXT;
          cur = c;
          if (t->n >= MIME_MAX_PARTS) ps.nb = 0;
          if (!ps.nb) {   /* no boundaries any more: the rest is this part's */
            pos = bs;
            state = ST_SCAN;
            continue;
          }
        }
        goto boundary;
      }
      pos = p->body_start;
      state = ST_BODY;
      continue;
    }
    if (state == ST_BODY) {
      mime_part *p = &t->parts[cur];
      if (!pushed && (p->flags & MIME_F_MESSAGE)) {
        uint32_t c = part_new(&ps, cur, pos);
        if (c == MIME_NONE) goto done;
        cur = c;
        /* the last part allowed: boundaries are no longer looked for, the rest of
         * the message belongs to it (as Dovecot) */
        if (t->n >= MIME_MAX_PARTS) ps.nb = 0;
        state = ST_HEADER;
        continue;
      }
      pushed = 0;
      state = ST_SCAN;
      /* fall into the scan: the body runs to a boundary or to the end */
    }
    /* ST_SCAN: pos is at a line start; look at each line start for a boundary */
    {
      size_t line = pos, nl = pos;
      bhit = -1;
      if (ps.nb) {
        for (;;) {
          if ((bhit = boundary_at(&ps, line, &closing)) >= 0) break;
          char const *q = line < len ? memchr(data + line, '\n', len - line) : 0;
          if (!q) break;
          nl = q - data;
          if (nl > pos && data[nl - 1] == '\r') nl--;
          line = (q - data) + 1;
        }
      }
      if (bhit < 0) {
        close_to(&ps, cur, MIME_NONE, len);
        state = ST_DONE;
        continue;
      }
      /* the line end before the boundary line belongs to it (not on the first line) */
      pos = line == pos ? line : nl;
      t->parts[cur].body_end = pos;   /* for leaves; close_to covers the rest */
      pos = line;
boundary:
      {
        size_t end = t->parts[cur].body_end;
        struct bnd *b = &ps.stack[bhit];
        close_to(&ps, cur, b->part, end);
        cur = b->part;
        ps.nb = closing ? (unsigned)bhit : (unsigned)bhit + 1;
        char const *q = pos < len ? memchr(data + pos, '\n', len - pos) : 0;
        if (!q) {            /* boundary line at EOF: nothing follows */
          close_to(&ps, cur, MIME_NONE, len);
          state = ST_DONE;
          continue;
        }
        pos = (q - data) + 1;
        if (!closing) {
          uint32_t c = part_new(&ps, cur, pos);
          if (c == MIME_NONE) goto done;
          t->parts[c].flags = 0;
          cur = c;
          if (t->n >= MIME_MAX_PARTS) ps.nb = 0;
          state = ST_HEADER;
        } else state = ST_SCAN;   /* epilogue */
      }
    }
  }
  sizes(t);
  ok = 1;
done:
  stralloc_free(&ps.pool);
  stralloc_free(&bound);
  stralloc_free(&val);
  free(ps.last);
  if (!ok && errno != EOVERFLOW) errno = ENOMEM;
  return ok;
}

void mime_tree_free(mime_tree *t)
{
  free(t->parts);
  t->parts = 0;
  t->n = t->cap = 0;
}
