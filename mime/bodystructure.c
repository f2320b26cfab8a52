/* mime/bodystructure.c — BODY and BODYSTRUCTURE (RFC 3501 7.4.2), as Dovecot writes
 * them: type and subtype as the sender wrote them, the first of each Content-*
 * header wins, parameters with RFC 2231 continuations merged, charset us-ascii added
 * to text parts without one, and a multipart without parts given one empty
 * text/plain child. Recursion follows the part tree, whose depth the parser bounds. */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <skalibs/types.h>
#include "mime-int.h"

#define SAVE(field) do { ct->field = ct->sa.len; } while (0)

static int keepv(mime_ct *ct, size_t *off, size_t *len, char const *s, size_t n)
{
  *off = ct->sa.len;
  *len = n;
  return stralloc_catb(&ct->sa, s, n) && stralloc_0(&ct->sa);
}

/* Read the Content-* fields of the header block [hdr, hdr+len). */
int mime_ct_read(mime_ct *ct, char const *hdr, size_t len)
{
  mime_field f;
  size_t pos = 0;
  stralloc v = STRALLOC_ZERO, tok = STRALLOC_ZERO;
  int ok = 0, e;
  rfcp r;
  ct->sa.len = 0;
  ct->has_type = ct->has_enc = ct->has_id = ct->has_desc = ct->has_md5 = 0;
  ct->has_disp = ct->has_lang = ct->has_loc = 0;
  ct->nparams = ct->ndparams = ct->nlang = 0;
  while (mime_field_next(&f, hdr, len, &pos)) {
    if (f.novalue || f.namelen < 8 || strncasecmp(f.name, "Content-", 8)) continue;
    if (!mime_field_unfold(&v, f.value, f.valuelen)) goto done;
    if (mime_name_is(&f, "Content-Type") && !ct->has_type) {
      tok.len = 0;
      rfcp_init(&r, v.s, v.len, 0);
      rfcp_skip_lwsp(&r);
      e = rfcp_content_type(&r, &tok);
      if (e < -1) goto done;
      if (e < 0) continue;
      char const *slash = memchr(tok.s, '/', tok.len);
      size_t tl = slash ? (size_t)(slash - tok.s) : tok.len;
      if (!keepv(ct, &ct->type, &ct->typelen, tok.s, tl)) goto done;
      if (!keepv(ct, &ct->sub, &ct->sublen, slash ? slash + 1 : "", slash ? tok.len - tl - 1 : 0)) goto done;
      ct->has_type = 1;
      ct->params = ct->sa.len;
      if (rfcp_params(&r, &ct->sa, &ct->nparams) < -1) goto done;
    } else if (mime_name_is(&f, "Content-Transfer-Encoding") && !ct->has_enc) {
      tok.len = 0;
      rfcp_init(&r, v.s, v.len, 0);
      rfcp_skip_lwsp(&r);
      e = rfcp_mime_token(&r, &tok);
      if (e < -1) goto done;
      if (e < 0) continue;
      if (!keepv(ct, &ct->enc, &ct->enclen, tok.s ? tok.s : "", tok.len)) goto done;
      ct->has_enc = 1;
    } else if (mime_name_is(&f, "Content-ID") && !ct->has_id) {
      if (!keepv(ct, &ct->id, &ct->idlen, v.s, v.len)) goto done;
      ct->has_id = 1;
    } else if (mime_name_is(&f, "Content-Description") && !ct->has_desc) {
      if (!keepv(ct, &ct->desc, &ct->desclen, v.s, v.len)) goto done;
      ct->has_desc = 1;
    } else if (mime_name_is(&f, "Content-MD5") && !ct->has_md5) {
      if (!keepv(ct, &ct->md5, &ct->md5len, v.s, v.len)) goto done;
      ct->has_md5 = 1;
    } else if (mime_name_is(&f, "Content-Location") && !ct->has_loc) {
      if (!keepv(ct, &ct->loc, &ct->loclen, v.s, v.len)) goto done;
      ct->has_loc = 1;
    } else if (mime_name_is(&f, "Content-Disposition") && !ct->has_disp) {
      tok.len = 0;
      rfcp_init(&r, v.s, v.len, 0);
      rfcp_skip_lwsp(&r);
      e = rfcp_mime_token(&r, &tok);
      if (e < -1) goto done;
      if (e < 0) continue;
      if (!keepv(ct, &ct->disp, &ct->displen, tok.s ? tok.s : "", tok.len)) goto done;
      ct->has_disp = 1;
      ct->dparams = ct->sa.len;
      if (rfcp_params(&r, &ct->sa, &ct->ndparams) < -1) goto done;
    } else if (mime_name_is(&f, "Content-Language") && !ct->has_lang) {
      /* 1#Language-tag: atoms separated by commas */
      rfcp_init(&r, v.s, v.len, 0);
      rfcp_skip_lwsp(&r);
      ct->lang = ct->sa.len;
      ct->nlang = 0;
      for (;;) {
        tok.len = 0;
        e = rfcp_atom(&r, &tok);
        if (e < -1) goto done;
        if (e < 0) break;
        if (!stralloc_catb(&ct->sa, tok.s, tok.len) || !stralloc_0(&ct->sa)) goto done;
        ct->nlang++;
        if (r.p >= r.end || *r.p != ',') break;
        r.p++;
        rfcp_skip_lwsp(&r);
      }
      if (ct->nlang) ct->has_lang = 1;
    }
  }
  ok = 1;
done:
  stralloc_free(&v);
  stralloc_free(&tok);
  if (!ok) errno = ENOMEM;
  return ok;
}

void mime_ct_free(mime_ct *ct) { stralloc_free(&ct->sa); }

static int str0(stralloc *out, mime_ct const *ct, size_t off, size_t len)
{
  return imap_nstring(out, ct->sa.s ? ct->sa.s + off : "", len);
}

static int params_write(stralloc *out, mime_ct const *ct, size_t off, unsigned n, int def_charset)
{
  int seen = 0;
  if (!def_charset && !n) return stralloc_cats(out, "NIL");
  if (!stralloc_catb(out, "(", 1)) return 0;
  for (unsigned i = 0; i < n; i++) {
    char const *k = ct->sa.s + off, *v = k + strlen(k) + 1;
    if (i && !stralloc_catb(out, " ", 1)) return 0;
    if (def_charset && !strcasecmp(k, "charset")) seen = 1;
    if (!imap_nstring(out, k, strlen(k)) || !stralloc_catb(out, " ", 1) || !imap_nstring(out, v, strlen(v))) return 0;
    off = (v - ct->sa.s) + strlen(v) + 1;
  }
  if (def_charset && !seen) {
    if (n && !stralloc_catb(out, " ", 1)) return 0;
    if (!stralloc_cats(out, "\"charset\" \"us-ascii\"")) return 0;
  }
  return stralloc_catb(out, ")", 1);
}

static int nstr_or_nil(stralloc *out, int has, mime_ct const *ct, size_t off, size_t len)
{
  if (!has) return stralloc_cats(out, "NIL");
  return imap_nstring_nolf(out, ct->sa.s + off, len);
}

static int common_ext(stralloc *out, mime_ct const *ct)
{
  if (!stralloc_catb(out, " ", 1)) return 0;
  if (!ct->has_disp) { if (!stralloc_cats(out, "NIL")) return 0; }
  else if (!stralloc_catb(out, "(", 1) || !str0(out, ct, ct->disp, ct->displen) || !stralloc_catb(out, " ", 1)
           || !params_write(out, ct, ct->dparams, ct->ndparams, 0) || !stralloc_catb(out, ")", 1)) return 0;
  if (!stralloc_catb(out, " ", 1)) return 0;
  if (!ct->has_lang) { if (!stralloc_cats(out, "NIL")) return 0; }
  else {
    size_t off = ct->lang;
    if (!stralloc_catb(out, "(", 1)) return 0;
    for (unsigned i = 0; i < ct->nlang; i++) {
      char const *l = ct->sa.s + off;
      if (i && !stralloc_catb(out, " ", 1)) return 0;
      if (!imap_nstring(out, l, strlen(l))) return 0;
      off += strlen(l) + 1;
    }
    if (!stralloc_catb(out, ")", 1)) return 0;
  }
  if (!stralloc_catb(out, " ", 1)) return 0;
  return nstr_or_nil(out, ct->has_loc, ct, ct->loc, ct->loclen);
}

static int cat_u64(stralloc *out, uint64_t v)
{
  char num[UINT64_FMT];
  size_t n = uint64_fmt(num, v);
  return stralloc_catb(out, " ", 1) && stralloc_catb(out, num, n);
}

static int write_part(stralloc *out, mime_tree const *t, uint32_t i, int ext);

static int write_children(stralloc *out, mime_tree const *t, uint32_t c, int ext)
{
  for (; c != MIME_NONE; c = t->parts[c].next)
    if (!stralloc_catb(out, "(", 1) || !write_part(out, t, c, ext) || !stralloc_catb(out, ")", 1)) return 0;
  return 1;
}

static int write_part(stralloc *out, mime_tree const *t, uint32_t i, int ext)
{
  mime_part const *p = &t->parts[i];
  mime_ct ct = MIME_CT_ZERO;
  int ok = 0, text;
  if (!mime_ct_read(&ct, t->data + p->hdr_start, p->hdr_end - p->hdr_start)) goto done;
  if (!(p->flags & MIME_F_HAS_CT) && !(p->flags & MIME_F_MULTIPART)) {
    /* no Mime-Version and no Content-Type: every Content-* field is forgotten */
    int mimechild = p->parent != MIME_NONE && (t->parts[p->parent].flags & MIME_F_MULTIPART);
    if (!mimechild && !(p->flags & MIME_F_ISMIME)) {
      ct.has_type = ct.has_enc = ct.has_id = ct.has_desc = ct.has_md5 = 0;
      ct.has_disp = ct.has_lang = ct.has_loc = 0;
      ct.nparams = 0;
    }
  }
  if (p->flags & MIME_F_MULTIPART) {
    if (p->child != MIME_NONE) { if (!write_children(out, t, p->child, ext)) goto done; }
    else if (!stralloc_cats(out, ext
        ? "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
        : "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)")) goto done;
    if (!stralloc_catb(out, " ", 1) || !str0(out, &ct, ct.sub, ct.sublen)) goto done;
    if (ext) {
      if (!stralloc_catb(out, " ", 1) || !params_write(out, &ct, ct.params, ct.nparams, 0)) goto done;
      if (!common_ext(out, &ct)) goto done;
    }
    ok = 1;
    goto done;
  }
  if (p->flags & MIME_F_MESSAGE) {
    if (!stralloc_cats(out, "\"message\" \"rfc822\"")) goto done;
    text = 0;
  } else if (p->flags & MIME_F_TRUNC) {
    /* nested too deep to open: Dovecot calls it application/octet-stream */
    if (!stralloc_cats(out, "\"application\" \"octet-stream\"")) goto done;
    text = 0;
  } else if (!ct.has_type) {
    text = 1;
    if (!stralloc_cats(out, "\"text\" \"plain\"")) goto done;
  } else {
    text = ct.typelen == 4 && !strncasecmp(ct.sa.s + ct.type, "text", 4);
    if (!str0(out, &ct, ct.type, ct.typelen) || !stralloc_catb(out, " ", 1) || !str0(out, &ct, ct.sub, ct.sublen)) goto done;
  }
  if (!stralloc_catb(out, " ", 1) || !params_write(out, &ct, ct.params, ct.has_type ? ct.nparams : 0, text)) goto done;
  if (!stralloc_catb(out, " ", 1) || !nstr_or_nil(out, ct.has_id, &ct, ct.id, ct.idlen)) goto done;
  if (!stralloc_catb(out, " ", 1) || !nstr_or_nil(out, ct.has_desc, &ct, ct.desc, ct.desclen)) goto done;
  if (!stralloc_catb(out, " ", 1)) goto done;
  if (ct.has_enc) { if (!str0(out, &ct, ct.enc, ct.enclen)) goto done; }
  else if (!stralloc_cats(out, "\"7bit\"")) goto done;
  if (!cat_u64(out, p->body_vsize)) goto done;
  if (text) {
    if (!cat_u64(out, p->body_lines)) goto done;
  } else if ((p->flags & MIME_F_MESSAGE) && p->child != MIME_NONE) {
    if (!stralloc_catb(out, " ", 1) || !mime_envelope(out, t, p->child) || !stralloc_catb(out, " ", 1)) goto done;
    if (!stralloc_catb(out, "(", 1) || !write_part(out, t, p->child, ext) || !stralloc_catb(out, ")", 1)) goto done;
    if (!cat_u64(out, p->body_lines)) goto done;
  }
  if (ext) {
    if (!stralloc_catb(out, " ", 1) || !nstr_or_nil(out, ct.has_md5, &ct, ct.md5, ct.md5len)) goto done;
    if (!common_ext(out, &ct)) goto done;
  }
  ok = 1;
done:
  mime_ct_free(&ct);
  return ok;
}

int mime_bodystructure(stralloc *out, mime_tree const *t, int extended)
{
  if (!t->n) { errno = EINVAL; return 0; }
  return stralloc_catb(out, "(", 1) && write_part(out, t, 0, extended) && stralloc_catb(out, ")", 1);
}
