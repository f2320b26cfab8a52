/* mime/envelope.c — IMAP ENVELOPE (RFC 3501 7.4.2 / RFC 9051), written as Dovecot
 * writes it: header values as they are (encoded words kept), the last occurrence of
 * a field wins, Sender and Reply-To default to From, addresses parsed with groups,
 * comments as display names when there is no phrase, and the placeholders
 * MISSING_MAILBOX / MISSING_DOMAIN / SYNTAX_ERROR / INVALID_ROUTE for broken ones. */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include "mime-int.h"

/* One parsed address, kept as offsets into a string pool (sa). A group start has
 * mailbox = group name and no domain; a group end has nothing. */
typedef struct addr_s addr;
struct addr_s {
  ssize_t name, route, mailbox, domain;   /* -1: NULL; else offset of a NUL-terminated string */
};

typedef struct aparse_s aparse;
struct aparse_s {
  rfcp r;
  stralloc comment;
  stralloc *pool;       /* strings */
  stralloc *list;       /* addr records */
  addr cur;
  stralloc tmp;
  int nomem;
};

static ssize_t keep(aparse *a, char const *s, size_t len)
{
  ssize_t off = a->pool->len;
  if (!stralloc_catb(a->pool, s, len) || !stralloc_0(a->pool)) { a->nomem = 1; return -1; }
  return off;
}

static ssize_t keep_str(aparse *a, char const *s) { return keep(a, s, strlen(s)); }

static void add_addr(aparse *a)
{
  if (!stralloc_catb(a->list, (char const *)&a->cur, sizeof a->cur)) a->nomem = 1;
  a->cur.name = a->cur.route = a->cur.mailbox = a->cur.domain = -1;
}

static void add_fixed(aparse *a)
{
  if (a->cur.mailbox < 0) a->cur.mailbox = keep_str(a, "MISSING_MAILBOX");
  if (a->cur.domain < 0) a->cur.domain = keep_str(a, "MISSING_DOMAIN");
  add_addr(a);
}

static int local_part(aparse *a)
{
  int e;
  a->tmp.len = 0;
  e = *a->r.p == '"' ? rfcp_quoted(&a->r, &a->tmp) : rfcp_dot_atom(&a->r, &a->tmp);
  if (e < -1) { a->nomem = 1; return -1; }
  if (e < 0) return -1;
  a->cur.mailbox = keep(a, a->tmp.s ? a->tmp.s : "", a->tmp.len);
  return e;
}

static int domain(aparse *a)
{
  int e;
  a->tmp.len = 0;
  e = rfcp_domain(&a->r, &a->tmp);
  if (e < -1) { a->nomem = 1; return -1; }
  if (e < 0) return -1;
  a->cur.domain = keep(a, a->tmp.s ? a->tmp.s : "", a->tmp.len);
  return e;
}

/* obs-domain-list: "@" domain *("," "@" domain) */
static int domain_list(aparse *a)
{
  int e;
  a->tmp.len = 0;
  for (;;) {
    if (a->r.p >= a->r.end) return 0;
    if (*a->r.p != '@') break;
    if (a->tmp.len && !stralloc_catb(&a->tmp, ",", 1)) { a->nomem = 1; return -1; }
    if (!stralloc_catb(&a->tmp, "@", 1)) { a->nomem = 1; return -1; }
    e = rfcp_domain(&a->r, &a->tmp);
    if (e < -1) { a->nomem = 1; return -1; }
    if (e <= 0) return e;
    while (rfcp_skip_lwsp(&a->r) > 0 && *a->r.p == ',') a->r.p++;
  }
  a->cur.route = keep(a, a->tmp.s, a->tmp.len);
  return 1;
}

static int angle_addr(aparse *a)
{
  int e;
  a->r.p++;   /* '<' */
  if ((e = rfcp_skip_lwsp(&a->r)) <= 0) return e;
  if (*a->r.p == '>') {
    /* "<>": an empty address, not a syntax error */
    a->r.p++;
    return rfcp_skip_lwsp(&a->r);
  }
  if (*a->r.p == '@') {
    if (domain_list(a) <= 0 || *a->r.p != ':') {
      a->cur.route = keep_str(a, "INVALID_ROUTE");
      return -1;
    }
    a->r.p++;
    if ((e = rfcp_skip_lwsp(&a->r)) <= 0) return e;
  }
  if ((e = local_part(a)) <= 0) return e;
  if (*a->r.p == '@' && (e = domain(a)) <= 0) return e;
  if (*a->r.p != '>') return -1;
  a->r.p++;
  return rfcp_skip_lwsp(&a->r);
}

static int name_addr(aparse *a)
{
  int e;
  a->tmp.len = 0;
  e = rfcp_phrase(&a->r, &a->tmp);
  if (e < -1) { a->nomem = 1; return -1; }
  if (e <= 0 || *a->r.p != '<') return -1;
  a->cur.name = a->tmp.len ? keep(a, a->tmp.s, a->tmp.len) : -1;
  if (angle_addr(a) < 0) a->cur.domain = keep_str(a, "SYNTAX_ERROR");
  return a->r.p < a->r.end;
}

static int addr_spec(aparse *a)
{
  int e, e2, quoted = *a->r.p == '"';
  a->comment.len = 0;
  e = local_part(a);
  if (quoted && a->cur.mailbox >= 0 && (a->r.p >= a->r.end || *a->r.p != '@')) {
    /* "Only a name": a quoted string without an address is a display name */
    a->cur.name = a->cur.mailbox;
    a->cur.mailbox = -1;
    return e;
  }
  if (e != 0 && a->r.p < a->r.end && *a->r.p == '@') {
    e2 = domain(a);
    if (e2 <= 0) e = e2;
  }
  if (a->comment.len) a->cur.name = keep(a, a->comment.s, a->comment.len);
  return e;
}

static int mailbox(aparse *a)
{
  unsigned char const *start = a->r.p;
  addr save = a->cur;
  int e = name_addr(a);
  if (e < 0) {
    a->r.p = start;
    a->cur = save;
    e = addr_spec(a);
  }
  add_fixed(a);
  return e;
}

static int group(aparse *a)
{
  int e;
  a->tmp.len = 0;
  e = rfcp_phrase(&a->r, &a->tmp);
  if (e < -1) { a->nomem = 1; return -1; }
  if (e <= 0 || *a->r.p != ':') return -1;
  /* from here on it is a group, whatever follows */
  a->r.p++;
  e = rfcp_skip_lwsp(&a->r);
  a->cur.mailbox = keep(a, a->tmp.s, a->tmp.len);
  add_addr(a);
  if (e > 0 && *a->r.p != ';') {
    for (;;) {
      if (mailbox(a) <= 0) { e = -1; break; }
      if (*a->r.p != ',') break;
      a->r.p++;
      if (rfcp_skip_lwsp(&a->r) <= 0) { e = -1; break; }
    }
  }
  if (e >= 0) {
    if (a->r.p >= a->r.end || *a->r.p != ';') e = -1;
    else { a->r.p++; e = rfcp_skip_lwsp(&a->r); }
  }
  add_addr(a);
  return e == 0 ? 0 : 1;
}

static int address(aparse *a)
{
  unsigned char const *start = a->r.p;
  int e = group(a);
  if (e < 0) {
    a->r.p = start;
    e = mailbox(a);
  }
  return e;
}

/* Parse an address list; records appended to list (addr structs), strings to pool. */
static int parse_addresses(stralloc *list, stralloc *pool, char const *s, size_t len)
{
  aparse a = { .comment = STRALLOC_ZERO, .pool = pool, .list = list, .tmp = STRALLOC_ZERO, .nomem = 0 };
  unsigned guard = 0;
  int e;
  a.cur.name = a.cur.route = a.cur.mailbox = a.cur.domain = -1;
  rfcp_init(&a.r, s, len, &a.comment);
  if (rfcp_skip_lwsp(&a.r) > 0) {
    /* every round consumes input or stops; the guard only bounds pathological input */
    while (guard++ < 100000 && !a.nomem) {
      if ((e = address(&a)) == 0) break;
      if (a.r.p >= a.r.end || *a.r.p != ',') break;
      a.r.p++;
      if ((e = rfcp_skip_lwsp(&a.r)) <= 0) {
        if (e < 0) add_fixed(&a);   /* ends with garbage */
        break;
      }
    }
  }
  stralloc_free(&a.comment);
  stralloc_free(&a.tmp);
  if (a.nomem) { errno = ENOMEM; return 0; }
  return 1;
}

static int write_addresses(stralloc *out, stralloc const *list, stralloc const *pool)
{
  size_t n = list->len / sizeof(addr);
  if (!n) return stralloc_cats(out, "NIL");
  if (!stralloc_catb(out, "(", 1)) return 0;
  for (size_t i = 0; i < n; i++) {
    addr x;
    memcpy(&x, list->s + i * sizeof x, sizeof x);
    if (!stralloc_catb(out, "(", 1)) return 0;
    if (x.name < 0) { if (!stralloc_cats(out, "NIL")) return 0; }
    else if (!imap_for_humans(out, pool->s + x.name, strlen(pool->s + x.name))) return 0;
    if (!stralloc_catb(out, " ", 1)) return 0;
    if (!mime_imap_string(out, x.route < 0 ? 0 : pool->s + x.route, x.route < 0 ? 0 : strlen(pool->s + x.route))) return 0;
    if (!stralloc_catb(out, " ", 1)) return 0;
    if (!mime_imap_string(out, x.mailbox < 0 ? 0 : pool->s + x.mailbox, x.mailbox < 0 ? 0 : strlen(pool->s + x.mailbox))) return 0;
    if (!stralloc_catb(out, " ", 1)) return 0;
    if (!mime_imap_string(out, x.domain < 0 ? 0 : pool->s + x.domain, x.domain < 0 ? 0 : strlen(pool->s + x.domain))) return 0;
    if (!stralloc_catb(out, ")", 1)) return 0;
  }
  return stralloc_catb(out, ")", 1);
}

int mime_first_address(char const *v, size_t len, stralloc *mailbox, stralloc *domain, stralloc *name)
{
  stralloc list = STRALLOC_ZERO, pool = STRALLOC_ZERO;
  int r = parse_addresses(&list, &pool, v, len) ? 0 : -1;
  size_t n = list.len / sizeof(addr);
  mailbox->len = domain->len = name->len = 0;
  for (size_t i = 0; !r && i < n; i++) {
    addr x;
    memcpy(&x, list.s + i * sizeof x, sizeof x);
    if (x.mailbox < 0) continue;   /* a group's end */
    /* a group's start counts with its name (as Dovecot sorts), an address
     * that lost its domain with its mailbox alone */
    int nodomain = x.domain < 0 || !strcmp(pool.s + x.domain, "MISSING_DOMAIN");
    r = stralloc_cats(mailbox, pool.s + x.mailbox) && (nodomain || stralloc_cats(domain, pool.s + x.domain))
        && (x.name < 0 || mime_header_decode(name, pool.s + x.name, strlen(pool.s + x.name))) ? 1 : -1;
  }
  stralloc_free(&list); stralloc_free(&pool);
  return r;
}

int mime_address_text(stralloc *out, char const *v, size_t len)
{
  stralloc list = STRALLOC_ZERO, pool = STRALLOC_ZERO;
  int ok = parse_addresses(&list, &pool, v, len);
  size_t n = list.len / sizeof(addr);
  for (size_t i = 0; ok && i < n; i++) {
    addr x;
    memcpy(&x, list.s + i * sizeof x, sizeof x);
    if (i && !stralloc_catb(out, ", ", 2)) ok = 0;
    if (ok && x.name >= 0 && !mime_header_decode(out, pool.s + x.name, strlen(pool.s + x.name))) ok = 0;
    if (!ok) break;
    if (x.mailbox < 0) continue;                     /* a group's end */
    if (x.domain < 0) { ok = stralloc_cats(out, pool.s + x.mailbox) && stralloc_catb(out, ":", 1); continue; }
    ok = (x.name < 0 || stralloc_catb(out, " ", 1)) && stralloc_catb(out, "<", 1)
      && stralloc_cats(out, pool.s + x.mailbox) && stralloc_catb(out, "@", 1)
      && stralloc_cats(out, pool.s + x.domain) && stralloc_catb(out, ">", 1);
  }
  stralloc_free(&list); stralloc_free(&pool);
  return ok;
}

enum { E_DATE, E_SUBJECT, E_FROM, E_SENDER, E_REPLYTO, E_TO, E_CC, E_BCC, E_INREPLYTO, E_MSGID, E_N };
static char const *const env_names[E_N] = {
  "Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "In-Reply-To", "Message-ID"
};

int mime_envelope(stralloc *out, mime_tree const *t, uint32_t p)
{
  mime_part const *pt;
  char const *hdr;
  size_t hlen, pos = 0;
  mime_field f, last[E_N];
  int have[E_N] = { 0 };
  stralloc v = STRALLOC_ZERO, lists[E_N], pool = STRALLOC_ZERO;
  int ok = 0;
  if (p >= t->n) { errno = EINVAL; return 0; }
  pt = &t->parts[p];
  hdr = t->data + pt->hdr_start;
  hlen = pt->hdr_end - pt->hdr_start;
  for (int i = 0; i < E_N; i++) lists[i] = (stralloc)STRALLOC_ZERO;
  while (mime_field_next(&f, hdr, hlen, &pos))
    for (int i = 0; i < E_N; i++) {
      if (!mime_name_is(&f, env_names[i])) continue;
      last[i] = f;
      have[i] = 1;
      /* address fields that appear twice add up (Dovecot); strings: the last wins */
      if (i >= E_FROM && i <= E_BCC) {
        if (!mime_field_unfold(&v, f.value, f.valuelen) || !parse_addresses(&lists[i], &pool, v.s, v.len)) goto done;
      }
    }
  if (!stralloc_catb(out, "(", 1)) goto done;
  for (int i = 0; i < E_N; i++) {
    if (i && !stralloc_catb(out, " ", 1)) goto done;
    if (have[i] && !mime_field_unfold(&v, last[i].value, last[i].valuelen)) goto done;
    switch (i) {
    case E_DATE: case E_INREPLYTO: case E_MSGID:
      if (!(have[i] ? imap_nstring_nolf(out, v.s, v.len) : stralloc_cats(out, "NIL"))) goto done;
      break;
    case E_SUBJECT:
      if (!(have[i] ? imap_for_humans(out, v.s, v.len) : stralloc_cats(out, "NIL"))) goto done;
      break;
    default: {
      int src = i;
      /* Sender and Reply-To default to From */
      if ((i == E_SENDER || i == E_REPLYTO) && !lists[i].len) src = E_FROM;
      if (!write_addresses(out, &lists[src], &pool)) goto done;
    }
    }
  }
  if (!stralloc_catb(out, ")", 1)) goto done;
  ok = 1;
done:
  stralloc_free(&v);
  stralloc_free(&pool);
  for (int i = 0; i < E_N; i++) stralloc_free(&lists[i]);
  return ok;
}
