/* Inside checks/: what the engines share (not for callers; see checks.h). */
#ifndef POCHTA_CHECKS_INT_H
#define POCHTA_CHECKS_INT_H

#include <bearssl.h>

#include "checks.h"

/* ---------------------------------------------------------------- text helpers */
int chk_lower(int c);
int chk_casecmpn(char const *a, size_t al, char const *b, size_t bl);   /* 0 equal */
int chk_is_wsp(int c);                  /* SP, HTAB, CR, LF (FWS parts) */
/* Copy s[0..len) into out (size outmax) NUL-terminated, lowercase; 0 if too long. */
int chk_copy_lower(char *out, size_t outmax, char const *s, size_t len);
/* Is d equal to or a subdomain of parent (both lowercase, no trailing dot)? */
int chk_domain_under(char const *d, char const *parent);
/* Is s a syntactically valid domain for SPF/DKIM/DMARC use (LDH labels, at least one
 * dot unless allow_single)? */
int chk_domain_ok(char const *s, int allow_single);
/* Base64 decode ignoring FWS; 0 on bad characters or too long. */
int chk_b64_decode(unsigned char *out, size_t outmax, size_t *outlen, char const *in, size_t len);
int chk_b64_encode(chk_buf *out, unsigned char const *in, size_t len);

/* "Name: value" into out, folded before words so that lines stay under 78 columns
 * where the value allows, each fold eol and a tab; ends in eol. */
int chk_fold(chk_buf *out, char const *name, char const *value, char const *eol);

/* ---------------------------------------------------------------- tag lists */
#define TAGS_MAX 32
typedef struct tag_s { char const *name; size_t nlen; char const *val; size_t vlen; } tag;
typedef struct tags_s { unsigned n; tag t[TAGS_MAX]; } tags;
/* Parse "a=1; b = x y ;" (RFC 6376 3.2). Values are trimmed of FWS at both ends.
 * 0 on syntax error, duplicate tag or too many tags. */
int tags_parse(tags *, char const *s, size_t len);
tag const *tags_get(tags const *, char const *name);

/* ---------------------------------------------------------------- canonicalization */
/* The header field canonicalized (relaxed or simple), with CRLF unless nocrlf, fed
 * to sha; raw is chk_field.raw. If bstart/bend are given (not NULL), the octets
 * raw[bstart..bend) (the b= value) are left out. */
void canon_header(br_sha256_context *sha, char const *raw, size_t len, int relaxed,
                  int nocrlf, size_t bskip_from, size_t bskip_to);
/* Find the value of tag b in a signature field: raw offsets [*from, *to). 1 found. */
int canon_find_b(char const *raw, size_t len, size_t *from, size_t *to);

/* ---------------------------------------------------------------- signatures */
enum { SIG_DKIM = 0, SIG_AMS, SIG_AS };
typedef struct sig_s sig;
struct sig_s {
  int kind;                  /* SIG_DKIM, SIG_AMS, SIG_AS */
  int ok;                    /* parsed and usable */
  int result;                /* CHK_PERMERROR with why when !ok */
  char why[96];
  unsigned field;            /* index in the message's fields */
  unsigned inst;             /* ARC i= */
  int alg;                   /* DKIM_RSA, DKIM_ED25519 */
  int hrelaxed, brelaxed;
  char d[CHK_DOMAIN_MAX + 1], s[64], i[CHK_DOMAIN_MAX + 66];
  unsigned nh;
  struct { char const *p; size_t len; } h[DKIM_H_MAX];
  int64_t l;                 /* -1: no l= */
  int64_t t, x;              /* -1: absent */
  int cv;                    /* ARC-Seal cv=: CHK_NONE, CHK_PASS, CHK_FAIL */
  unsigned char bh[32];
  unsigned char b[1024];
  size_t blen;
  int hasher;                /* index of the body hash (-1 none) */
};
/* Parse the value of a DKIM-Signature / ARC-Message-Signature / ARC-Seal field.
 * Fills s (s->ok, s->why). */
void sig_parse(sig *s, int kind, char const *value, size_t len);

/* ---------------------------------------------------------------- the message */
typedef struct bodyhash_s bodyhash;
struct bodyhash_s {
  int relaxed;
  int64_t limit;             /* -1: whole body */
  uint64_t hashed;
  br_sha256_context sha;
  unsigned char digest[32];
};
typedef struct bcanon_s bcanon;
struct bcanon_s {
  int on, relaxed;
  int content, wsp, cr;      /* the current line has content; a WSP run or a CR is pending */
  uint64_t pending;          /* empty lines not yet emitted */
  uint64_t total;            /* canonical octets of the whole body */
};
#define HASHERS_MAX (DKIM_SIG_MAX + ARC_MAX + 1)
struct chk_msg_s {
  int flags;
  int inbody, overflow, ended;
  char *hdr; size_t hlen, hcap;
  unsigned nfields;
  chk_field *fields;
  int eol_state;             /* header end detection: 0 mid-line, 1 after LF, 2 after LF CR */
  unsigned nsigs, ignored;   /* DKIM-Signature fields parsed / beyond DKIM_SIG_MAX */
  sig *sigs;                 /* DKIM_SIG_MAX */
  unsigned nams, nas, naar, arc_bad;
  sig *ams, *as;             /* ARC_MAX each, indexed by instance - 1 */
  unsigned aar[ARC_MAX];     /* field index + 1 of each instance's AAR, 0 none */
  bcanon canon[2];           /* simple, relaxed */
  unsigned nhashers;
  bodyhash *hashers;
  int sign_hasher;           /* relaxed whole-body hash for signing, -1 none */
};
/* Header field name equals name (case-insensitive)? */
int chk_field_is(chk_field const *, char const *name);
/* The value of a field (after the colon). */
char const *chk_field_value(chk_field const *, size_t *len);

/* ---------------------------------------------------------------- keys and crypto */
typedef struct pubkey_s pubkey;
struct pubkey_s {
  int alg;
  unsigned bits;
  unsigned char n[512]; size_t nlen;   /* RSA modulus */
  unsigned char e[8]; size_t elen;
  unsigned char ed[32];                /* Ed25519 */
  int testing, strict;                 /* t=y, t=s */
};
/* Look up and parse selector._domainkey.domain. CHK_PASS with *pk filled; else
 * CHK_TEMPERROR or CHK_PERMERROR with why. */
int key_fetch(chk_dns *, char const *domain, char const *selector, int alg, pubkey *pk,
              char *why, size_t whylen);
/* Parse a key record's text (for tests and key_fetch). CHK_PASS or CHK_PERMERROR. */
int key_parse(char const *rec, size_t len, int alg, pubkey *pk, char *why, size_t whylen);
/* Verify sig (b) over hash (32 octets) with pk. 1 good. */
int key_verify(pubkey const *pk, unsigned char const *hash, unsigned char const *b, size_t blen);
/* Sign hash (32 octets) with a private key: signature into out (max 512). */
int key_sign(dkim_key *k, unsigned char const *hash, unsigned char *out, size_t *outlen);
char const *dkim_key_domain(dkim_key const *);
char const *dkim_key_selector(dkim_key const *);

/* The hash over the header fields a signature names, then the signature field itself
 * without its b= value (RFC 6376 3.7), into out. Fields are chosen bottom-up, each
 * used once. For ARC-Seal, the chain instead (arc.c). */
void sig_header_hash(chk_msg const *m, sig const *s, unsigned char out[32]);
/* Only the fields s->h names, canonicalized per s->hrelaxed, into sha. */
void sig_hash_fields(chk_msg const *m, sig const *s, br_sha256_context *sha);

/* Emit a signature field: name, then the tokens ("v=1;", "a=rsa-sha256;", ...; the
 * last is "b="), folded at 78 columns with eol and a tab, then b= signed by key over
 * sha (the caller fed it the canonical header fields it covers) plus this field
 * canonicalized relaxed without the b= value. Appended to out, ending in eol. */
int sig_emit(br_sha256_context *sha, dkim_key *key, char const *name,
             char const *const *tokens, unsigned ntokens, char const *eol, chk_buf *out);

/* dkim.c, for dkim_sign and arc_seal: the fields to sign (0 without From) and the
 * tokens of a signature up to "b=" (store holds their text). */
int sign_fields(chk_msg const *m, sig *s, char const *extra);
int sign_tokens(chk_msg const *m, dkim_key *key, sig const *s, char const *first, time_t now,
                char store[][80], char const **tok, unsigned *ntok);

/* ---------------------------------------------------------------- SPF macros */
/* Expand an SPF macro-string (RFC 7208 7). exp: 1 in an explanation (c, r, t allowed).
 * 1 ok, 0 syntax error (permerror). The result may be longer than a name: the caller
 * truncates domain-specs (7.3). */
int spf_macro(chk_dns *, spf_req const *, char const *domain, char const *sender,
              char const *s, size_t len, int exp, char *out, size_t outmax);

#endif
