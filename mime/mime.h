/* mime/mime.h — the structure of a message, and everything IMAP derives from it:
 * ENVELOPE, BODY/BODYSTRUCTURE, BODY[section], BINARY[section], BINARY.SIZE, SEARCH
 * over decoded text, RFC 5322 dates. Used by
 * pochta-imapd; the parser itself (mime_parse, headers, dates, decoding) serves any
 * program that reads messages.
 *
 * BUILD. mime/build.mk defines MIME_SRC, MIME_OBJ (link these) and MIME_FOBJ (for fuzz
 * targets), the fuzz target fuzz-mime and the unit-test program mime-test. A build.mk
 * that links MIME_OBJ starts with `include mime/build.mk` (guarded), because the top
 * Makefile includes the folders' build.mk files in alphabetical order. Programs find
 * this header with -Imime.
 * The module needs only skalibs (stralloc, buffer) and libc.
 *
 * THE MESSAGE. A message is a byte array (data, len), normally the Maildir file mapped
 * with mime_msg_map(): nothing here copies the whole message to the heap, so 100 MB
 * messages cost address space, not memory. Line ends may be LF (Maildir, as pochta
 * stores them) or CRLF; every size and line count this module reports is what the
 * client sees after LF -> CRLF conversion (RFC822.SIZE, BODYSTRUCTURE sizes, literal
 * lengths), as Dovecot does for Maildirs with LF. Functions that return a byte range
 * of the file also give its converted size; mime_write_crlf() sends such a range with
 * the conversion and an optional <partial> window.
 *
 * Return values follow skalibs: 1 success, 0 failure with errno set (ENOMEM mostly),
 * unless a function says otherwise. Nothing here prints, exits or keeps global state.
 */
#ifndef POCHTA_MIME_H
#define POCHTA_MIME_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>

/* Bounds that keep the parser's memory and work finite on hostile input. A multipart
 * or message/rfc822 deeper than MIME_MAX_DEPTH is treated as a text/plain leaf (its
 * content stays in the parent's body); after MIME_MAX_PARTS parts, further boundaries
 * are ignored (the remaining bytes belong to the last part). */
#define MIME_MAX_DEPTH 100
#define MIME_MAX_PARTS 10000
#define MIME_NONE UINT32_MAX   /* "no such part" in the tree links */

/* ---------------------------------------------------------------- the message */

typedef struct mime_msg_s mime_msg;
struct mime_msg_s {
  char const *data;  /* the octets; never NUL-terminated, never written */
  size_t len;
  size_t maplen;     /* non-zero when data is an mmap that mime_msg_unmap must undo */
};
#define MIME_MSG_ZERO { .data = "", .len = 0, .maplen = 0 }

/* Map the whole regular file open on fd read-only (fd may be closed afterwards).
 * An empty file gives len 0. 1 ok, 0 error (errno). */
int mime_msg_map(mime_msg *m, int fd);
/* Use a caller's buffer instead (tests, APPEND data already in memory). */
void mime_msg_mem(mime_msg *m, char const *s, size_t len);
void mime_msg_unmap(mime_msg *m);

/* Size the client sees: len plus one for every LF not preceded by CR (RFC822.SIZE). */
uint64_t mime_vsize(char const *s, size_t len);

/* ---------------------------------------------------------------- the part tree */

/* One MIME part. Offsets index the message data. The header block runs from
 * hdr_start to body_start and includes the empty line that ends it (if there is
 * one); hdr_end is where the last header field ends (before the empty line).
 * The body runs from body_start to body_end (for a part of a multipart, the line end
 * before the next boundary line belongs to the boundary, not to the body, as RFC 2046
 * says). Sizes are after LF -> CRLF conversion. */
typedef struct mime_part_s mime_part;
struct mime_part_s {
  uint32_t parent, child, next;  /* tree links (indices into tree->parts), MIME_NONE */
  uint32_t depth;                /* 0 for the message itself */
  uint32_t nchildren;
  uint32_t flags;                /* MIME_F_* */
  size_t hdr_start, hdr_end, body_start, body_end;
  uint64_t hdr_vsize;            /* header block incl. the empty line */
  uint64_t body_vsize;
  uint64_t body_lines;           /* lines of the body as IMAP counts them */
};
#define MIME_F_MULTIPART 0x01  /* multipart/x with a boundary: children are its parts */
#define MIME_F_MESSAGE   0x02  /* message/rfc822: one child, the encapsulated message
                                  (message/global is a leaf, as in Dovecot 2.3) */
#define MIME_F_TEXT      0x04  /* type text (or no Content-Type): BODYSTRUCTURE has lines */
#define MIME_F_HAS_CT    0x08  /* the part has a Content-Type header */

typedef struct mime_tree_s mime_tree;
struct mime_tree_s {
  mime_part *parts;   /* parts[0] is the whole message; children follow in
                         depth-first order, so part numbers are stable */
  uint32_t n, cap;
  char const *data;   /* the message the tree describes (not owned) */
  size_t len;
};
#define MIME_TREE_ZERO { .parts = 0, .n = 0, .cap = 0, .data = 0, .len = 0 }

/* Parse the message. The tree points into data: keep the message mapped as long as
 * the tree is used. Never fails on content (every byte string is some message);
 * 0 only when memory runs out. Work is linear in len (bounded by the limits above). */
int mime_parse(mime_tree *t, char const *data, size_t len);
void mime_tree_free(mime_tree *t);

/* ---------------------------------------------------------------- header fields */

/* One logical header field: name [name, name+namelen), raw value from just after the
 * colon and its leading blanks to the end of the last continuation line (line ends
 * included). A line without a colon gives namelen = whole line and novalue = 1. */
typedef struct mime_field_s mime_field;
struct mime_field_s {
  char const *name;
  size_t namelen;
  char const *value;
  size_t valuelen;
  int novalue;
};

/* Iterate the fields of the header block [s, s+len): *pos starts at 0.
 * 1 a field was read, 0 end of header. (The header of part p is
 * [data + hdr_start, data + hdr_end).) */
int mime_field_next(mime_field *f, char const *s, size_t len, size_t *pos);
/* The value with line ends removed (Dovecot's "full value"), replacing sa's content.
 * sa is NUL-terminated after the value (not counted in len). */
int mime_field_unfold(stralloc *sa, char const *v, size_t len);
int mime_name_is(mime_field const *f, char const *name);

/* ---------------------------------------------------------------- FETCH items */

/* Append the IMAP ENVELOPE of part p (0 = the message; or a MIME_F_MESSAGE part's
 * child) to out: "(date subject from sender reply-to to cc bcc in-reply-to
 * message-id)", exactly as Dovecot writes it. */
int mime_envelope(stralloc *out, mime_tree const *t, uint32_t p);

/* Append BODYSTRUCTURE (extended != 0) or BODY (extended == 0) of the message. */
int mime_bodystructure(stralloc *out, mime_tree const *t, int extended);

/* A section spec, as in BODY[<spec>] and BINARY[<spec>]. */
typedef struct mime_section_s mime_section;
struct mime_section_s {
  uint32_t path[MIME_MAX_DEPTH + 1]; /* part numbers, 1-based, as written: 1.2.3 */
  unsigned npath;
  unsigned what;                     /* MIME_SEC_* */
  char const *fields;                /* HEADER.FIELDS[.NOT]: names, each followed by
                                        '\0' (points into the caller's storage) */
  size_t fieldslen;
};
#define MIME_SEC_ALL        0  /* BODY[] or BODY[1.2]: the whole part */
#define MIME_SEC_HEADER     1
#define MIME_SEC_TEXT       2
#define MIME_SEC_MIME       3
#define MIME_SEC_FIELDS     4
#define MIME_SEC_FIELDS_NOT 5

/* Parse the text between [ and ] of a FETCH item, e.g. `1.2.HEADER.FIELDS (From To)`
 * (field names as atoms or "quoted strings"; a caller whose tokenizer handles literals
 * can fill mime_section itself). Names are stored NUL-separated in store, which
 * sec->fields then points into (so store must outlive sec and not grow meanwhile).
 * 1 ok, 0 syntax error (errno EINVAL: answer BAD) or ENOMEM. */
int mime_section_parse(mime_section *sec, stralloc *store, char const *s, size_t len);

/* What a section resolved to: either a range of the message (send with
 * mime_write_crlf) or generated octets in the caller's stralloc (already CRLF). */
typedef struct mime_body_s mime_body;
struct mime_body_s {
  int generated;        /* 0: range [start, end) of the message; 1: gen->s[0..gen->len) */
  size_t start, end;
  uint64_t size;        /* octets the client receives: the literal's length */
};

/* Resolve BODY[sec] of the message. A part number that does not exist, or TEXT/HEADER
 * of a part that is not a message/rfc822, gives an empty result (size 0), as Dovecot.
 * gen is emptied first and used for HEADER.FIELDS[.NOT]. 1 ok, 0 ENOMEM. */
int mime_section_get(mime_body *b, stralloc *gen, mime_tree const *t, mime_section const *sec);

/* Write [start, end) of data to out, turning bare LF into CRLF, skipping the first
 * `skip` converted octets and writing at most `max` (UINT64_MAX: all): the
 * <origin.count> window of a partial FETCH. 1 ok, 0 write error (errno). */
int mime_write_crlf(buffer *out, char const *data, size_t start, size_t end, uint64_t skip, uint64_t max);
/* The same, appending to a stralloc. */
int mime_cat_crlf(stralloc *out, char const *data, size_t start, size_t end, uint64_t skip, uint64_t max);

/* BINARY[sec] (RFC 3516): the part's content with its Content-Transfer-Encoding
 * removed. Only part sections (ALL, or a path) and HEADER/MIME/TEXT are allowed;
 * the decoded content is streamed, never held whole in memory.
 * mime_binary_size: *size = octets of the decoded content (BINARY.SIZE).
 * mime_binary_write: write them to out, with the <partial> window as above.
 * Both return 1 ok, 0 error (errno), -1 unknown transfer encoding (answer
 * `NO [UNKNOWN-CTE]`), -2 not a single part (BINARY of a multipart: answer BAD). Text in
 * 7bit/8bit/binary parts is converted to CRLF; quoted-printable hard line breaks
 * become CRLF; base64 gives exactly the decoded octets. *has_nul (may be NULL) is set
 * when the content holds a NUL, or an 8-bit octet after base64/quoted-printable
 * decoding: then answer with a literal8
 * ~{n}, as Dovecot does. BINARY of a multipart gives its body as BODY would
 * (Dovecot re-encodes the parts inside; we do not). */
int mime_binary_size(uint64_t *size, int *has_nul, mime_tree const *t, mime_section const *sec);
int mime_binary_write(buffer *out, mime_tree const *t, mime_section const *sec, uint64_t skip, uint64_t max);

/* ---------------------------------------------------------------- storing */

/* Write the message t describes to fd as it is stored in a Maildir: CR LF made
 * LF, and each leaf part with Content-Transfer-Encoding binary (an APPEND
 * literal8, RFC 3516) written in base64 instead, so BINARY[] gives back
 * exactly its octets, bare CR and LF included. *reencoded tells whether a part
 * was. 1 ok, 0 write error (errno). */
int mime_store(int fd, mime_tree const *t, int *reencoded);

/* ---------------------------------------------------------------- IMAP strings */

/* Append s as an IMAP string: NIL when s is NULL, a "quoted" string when it has no
 * CR, LF, NUL or 8-bit octet and is short, else a literal {n}\r\n... (as Dovecot). */
int mime_imap_string(stralloc *out, char const *s, size_t len);

/* ---------------------------------------------------------------- SEARCH */

/* Every needle is UTF-8 (convert the SEARCH CHARSET first). Matching is a substring
 * test after case folding (ASCII, Latin-1 supplement, Latin Extended-A, Greek, Cyrillic)
 * of both sides; header values are unfolded and their RFC 2047 encoded words decoded;
 * bodies are decoded from their transfer encoding and charset (us-ascii, utf-8,
 * iso-8859-1, iso-8859-15, windows-1252, koi8-r; other charsets are searched raw).
 * Each returns 1 match, 0 no match, -1 error (errno). An empty needle matches
 * whenever the header exists (HEADER) or always (BODY, TEXT). */

/* SEARCH HEADER name needle, and SUBJECT/FROM/TO/CC/BCC (name = "Subject", ...).
 * Only the top-level header of the message is searched. */
int mime_search_header(mime_tree const *t, char const *name, char const *needle, size_t needlelen);
/* SEARCH BODY: the text of every leaf part (not headers, not attachments' names). */
int mime_search_body(mime_tree const *t, char const *needle, size_t needlelen);
/* SEARCH TEXT: every header and every body. */
int mime_search_text(mime_tree const *t, char const *needle, size_t needlelen);

/* Decode a header value (unfold, RFC 2047 words to UTF-8) and append it to out. */
int mime_header_decode(stralloc *out, char const *s, size_t len);

/* ---------------------------------------------------------------- SORT and THREAD keys */

/* What SORT and THREAD compare (RFC 5256, RFC 5957), from the top header of a
 * message (t may be the parse of the header block alone). Keys written to out
 * are case-mapped for an octet comparison (letters folded, ASCII in upper case)
 * and NUL-terminated (not counted). 1 ok, 0 ENOMEM.
 * mime_key_subject: the base subject (RFC 5256 2.1, encoded words decoded);
 *   *refwd tells whether reply/forward markers ("Re:", "Fwd:", "(fwd)",
 *   "[fwd: ...]") were taken off.
 * mime_key_address: of the first address of field ("From", "To", "Cc"): the
 *   mailbox (its local part, SORT FROM/TO/CC), or with display the display
 *   name, else mailbox@domain (SORT DISPLAYFROM/DISPLAYTO); empty when none.
 * mime_key_date: the Date: header in seconds since the epoch, UTC: 1, or 0
 *   when missing or unreadable (the caller uses INTERNALDATE).
 * mime_key_ids: the Message-ID without angle brackets (empty when there is no
 *   valid one), and refs: the ids of References, else the first of
 *   In-Reply-To, each NUL-terminated. */
int mime_key_subject(stralloc *out, mime_tree const *t, int *refwd);
/* The length of the header block of data: up to and with its first empty
 * line (all of it when there is none). Parsing that alone gives the keys. */
size_t mime_header_len(char const *d, size_t len);
int mime_key_address(stralloc *out, mime_tree const *t, char const *field, int display);
int mime_key_date(int64_t *utc, mime_tree const *t);
int mime_key_ids(stralloc *msgid, stralloc *refs, mime_tree const *t);

/* The text of leaf part `part` appended to out in UTF-8: its transfer encoding and
 * charset removed as for SEARCH BODY, from at most max octets of its body (the
 * memory a hostile part can cost is bounded by max). *html (may be NULL) is set
 * when the part is text/html. A part number past the tree appends nothing. 1 ok,
 * 0 ENOMEM. */
int mime_part_text(stralloc *out, mime_tree const *t, uint32_t part, size_t max, int *html);
/* Case-fold UTF-8 text as SEARCH does (ASCII, Latin-1, Latin Extended-A, Greek,
 * Cyrillic), replacing out's content. 1 ok, 0 ENOMEM. */
int mime_text_fold(stralloc *out, char const *s, size_t len);

/* ---------------------------------------------------------------- dates */

/* Parse an RFC 5322 date-time (obsolete forms too: two-digit years, missing
 * seconds, named zones like EST, comments). *utc = seconds since the epoch in UTC,
 * *tzmin = the zone offset in minutes (east positive). 1 ok, 0 not a date. */
int mime_date_parse(char const *s, size_t len, int64_t *utc, int *tzmin);

/* The message's Date: header as for SENTBEFORE/SENTON/SENTSINCE: *day = days since
 * 1970-01-01 of the date as written (time and zone disregarded, RFC 3501).
 * 1 found, 0 no Date header or not parsable (the caller then uses INTERNALDATE). */
int mime_sent_day(mime_tree const *t, int64_t *day);

#endif
