/* pochta-imapd: searching, sorting and threading the selected mailbox.
 *   search.c    the search program (SEARCH, SORT, THREAD keys)
 *   esearch.c   SEARCH, RETURN options (RFC 4731, 5267, 9394) and ESEARCH
 *   msgkeys.c   the header keys SORT and THREAD need, cached per session
 *   sort.c      SORT and ESORT (RFC 5256, 5267, 5957)
 *   thread.c    THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256)
 *   context.c   CONTEXT=SEARCH/SORT: results kept up to date (RFC 5267) */
#ifndef IMAPD_SEARCH_H
#define IMAPD_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* --- the search program --------------------------------------------------- */
typedef struct sprog_s sprog;
/* [CHARSET name] search-keys up to the end of the command. NULL: the reply
 * (BAD, NO [BADCHARSET]) is set. */
sprog *search_compile(pcur *p);
/* Does message idx of the selected mailbox match? (an expunged one never) */
int search_match(sprog *g, size_t idx);
/* The indexes of every match, in mailbox order, into out (room for S.mb.n). */
size_t search_all(sprog *g, size_t *out);
int search_modseq(sprog const *g);   /* the MODSEQ key was used */
void search_free(sprog *g);

/* --- RETURN options ------------------------------------------------------- */
#define R_MIN 1
#define R_MAX 2
#define R_ALL 4
#define R_COUNT 8
#define R_PARTIAL 16
#define R_UPDATE 32
#define R_CONTEXT 64
typedef struct {
  unsigned ret;        /* R_* asked for; 0: no RETURN (plain SEARCH/SORT answer) */
  int64_t plo, phi;    /* PARTIAL: positions lo..hi, 1-based, or negative from the end */
} sret;
/* partial-range (RFC 9394): "a:b" or "-a:-b", either order, into lo <= hi. */
int p_partial(pcur *p, int64_t *lo, int64_t *hi);
/* Positions first..last (1-based; last 0: none) of n results in the range. */
void partial_span(int64_t plo, int64_t phi, size_t n, size_t *first, size_t *last);
/* After "RETURN ": the option list "(...)". 1 ok, 0 BAD (reply set). */
int search_return(pcur *p, sret *r);
/* The ESEARCH response of a result (numbers or UIDs, in order). */
void esearch_put(sret const *r, int uid, uint32_t const *v, size_t n, uint64_t modseq);
/* Write numbers as a sequence set, ranges only where they ascend one by one
 * (a sorted result keeps its order). */
void put_numset(uint32_t const *v, size_t n);

/* --- header keys (msgkeys.c) ---------------------------------------------- */
#define MK_SUBJECT 0
#define MK_FROM 1
#define MK_TO 2
#define MK_CC 3
#define MK_DISPLAYFROM 4
#define MK_DISPLAYTO 5
#define MK_NSTR 6
typedef struct {
  uint32_t uid;
  unsigned have;          /* 1 << MK_* filled, MK_HAVE_DATE, MK_HAVE_IDS */
  int refwd;              /* the subject was a reply or forward */
  int64_t sent;           /* Date:, else INTERNALDATE (UTC seconds) */
  uint32_t str[MK_NSTR];  /* offsets into the key pool (msgkeys_str) */
  uint32_t msgid, refs;   /* msgid: "" when none; refs: NUL-separated, "" ends */
} mkeys;
#define MK_HAVE_DATE (1u << 8)
#define MK_HAVE_IDS (1u << 9)
/* The keys of message idx of the selected mailbox, read from its file the
 * first time (want: the MK_* bits and MK_HAVE_* wanted). NULL: no memory. The
 * pointer holds until the next call. */
mkeys *msgkeys(size_t idx, unsigned want);
char const *msgkeys_str(uint32_t off);
/* The selected mailbox changed: forget every key. */
void msgkeys_reset(void);

/* --- SORT keys, for sort.c and context.c ------------------------------------ */
#define SORT_KEYS_MAX 16
typedef struct { int key, reverse; } skey;
enum { SK_ARRIVAL, SK_CC, SK_DATE, SK_FROM, SK_SIZE, SK_SUBJECT, SK_TO, SK_DISPLAYFROM, SK_DISPLAYTO };
/* "(criteria)": 1 ok, 0 BAD (reply set). */
int sort_criteria(pcur *p, skey *k, int *nk);
/* Sort indexes of the selected mailbox by the criteria, ties by number. 0 ok, -1 no memory. */
int sort_indexes(size_t *idx, size_t n, skey const *k, int nk);

/* --- CONTEXT=SEARCH/SORT (context.c) -------------------------------------- */
/* Keep a result up to date: takes g (and the sort criteria, when nk > 0).
 * 1 kept, 0 no room (reply NOUPDATE). */
int context_add(char const *tag, sprog *g, skey const *k, int nk, int uid, size_t const *idx, size_t n);
/* After the mailbox changed from old to nw (before the view becomes nw, and
 * before any EXPUNGE response): every context's new result, its REMOVEFROM
 * sent; context_added, after EXISTS: its ADDTO. */
struct mbox_s;
void context_update(struct mbox_s const *old, struct mbox_s *nw);
void context_added(void);
void context_reset(void);   /* the mailbox is left: every context ends */

#endif
