/* mime/mime-int.h — internals shared by the files of the MIME module (not an API
 * for the rest of pochta-imapd: use mime.h). */
#ifndef POCHTA_MIME_INT_H
#define POCHTA_MIME_INT_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include "mime.h"

/* Private part flags, beside the public MIME_F_* ones. */
#define MIME_F_DIGEST  0x100   /* multipart/digest: children default to message/rfc822 */
#define MIME_F_ISMIME  0x200   /* Mime-Version or Content-Type seen (or a MIME part) */
#define MIME_F_TRUNC   0x400   /* a multipart or message/rfc822 too deep to open: a leaf
                                  written as application/octet-stream (as Dovecot) */

/* ---- RFC 822 tokens (mime-rfc822.c), after Dovecot's lexical rules */
typedef struct rfcp_s rfcp;
struct rfcp_s {
  unsigned char const *p, *end;
  stralloc *comment;   /* when not NULL: the content of the last comment skipped */
};
void rfcp_init(rfcp *r, char const *s, size_t len, stralloc *comment);
int rfcp_skip_lwsp(rfcp *r);                  /* 1 more data, 0 end, -1 broken */
int rfcp_atom(rfcp *r, stralloc *out);
int rfcp_dot_atom(rfcp *r, stralloc *out);
int rfcp_mime_token(rfcp *r, stralloc *out);
int rfcp_quoted(rfcp *r, stralloc *out);
int rfcp_phrase(rfcp *r, stralloc *out);
int rfcp_domain(rfcp *r, stralloc *out);
int rfcp_content_type(rfcp *r, stralloc *out);
/* Parameters after a content type or disposition, RFC 2231 continuations merged:
 * appended to out as name\0value\0 pairs; *n counts them. -1 broken (pairs still
 * valid), 0 ok. Memory errors: -2. */
int rfcp_params(rfcp *r, stralloc *out, unsigned *n);
#define RFC_ATEXT(c) (rfc_chars[(unsigned char)(c)] != 0)
#define RFC_TOKEN(c) (rfc_chars[(unsigned char)(c)] & 3)
extern unsigned char const rfc_chars[256];

/* ---- IMAP strings (mime-imapstr.c) */
int imap_nstring(stralloc *out, char const *s, size_t len);      /* s != NULL */
int imap_nstring_nolf(stralloc *out, char const *s, size_t len); /* CR/LF dropped */
int imap_for_humans(stralloc *out, char const *s, size_t len);

/* ---- content headers of one part (bodystructure.c) */
typedef struct mime_ct_s mime_ct;
struct mime_ct_s {
  stralloc sa;                    /* all strings below point into sa.s by offset */
  int has_type;
  size_t type, typelen, sub, sublen;
  size_t params; unsigned nparams;        /* name\0value\0 ... */
  int has_enc; size_t enc, enclen;
  int has_id; size_t id, idlen;
  int has_desc; size_t desc, desclen;
  int has_md5; size_t md5, md5len;
  int has_disp; size_t disp, displen; size_t dparams; unsigned ndparams;
  int has_lang; size_t lang; unsigned nlang;   /* value\0 ... */
  int has_loc; size_t loc, loclen;
};
#define MIME_CT_ZERO { .sa = STRALLOC_ZERO }
int mime_ct_read(mime_ct *ct, char const *hdr, size_t len);
void mime_ct_free(mime_ct *ct);

/* ---- addresses (envelope.c) */
/* The addresses of an address header value, parsed as ENVELOPE parses them
 * (comments as names, routes dropped, groups as "name:"), appended to out as
 * "Name <mailbox@domain>, ..." with encoded words decoded: what SEARCH FROM,
 * TO, CC and BCC match (RFC 9051 6.4.4). 1 ok, 0 ENOMEM. */
int mime_address_text(stralloc *out, char const *v, size_t len);
/* The first address of an address header value: mailbox, domain and decoded
 * display name (empty when none); a group's start is an address with its name
 * as mailbox and no domain. 1 found, 0 no address, -1 ENOMEM. */
int mime_first_address(char const *v, size_t len, stralloc *mailbox, stralloc *domain, stralloc *name);

/* ---- misc */
/* The part a section path names (an empty path: the message), or MIME_NONE. */
uint32_t mime_find_part(mime_tree const *t, mime_section const *sec);
/* Feed [start, end) of data with LF -> CRLF to put (mime-section.c). */
int mime_crlf_feed(int (*put)(void *, char const *, size_t), void *ctx, char const *data, size_t start, size_t end);
uint64_t mime_count_lf(char const *s, size_t len);
/* Classify a Content-Type value for the parser: MIME_F_* flags, and the boundary
 * (offset/length into *b) when multipart. */
int mime_ct_classify(char const *v, size_t len, uint32_t *flags, stralloc *b);

#endif
