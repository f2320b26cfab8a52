/* spam/spam-int.h — the engines of spam/, shared by its files (not an API for other
 * programs: use spam.h). Everything declared here works on memory only, except
 * where a comment says "effect". */
#ifndef POCHTA_SPAM_INT_H
#define POCHTA_SPAM_INT_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#include "mime.h"
#include "spam.h"

/* ---------------------------------------------------------------- hashing (hash.c) */

/* 64-bit hash of two strings one after the other (FNV-1a with a final mix). */
uint64_t spam_hash2(char const *a, size_t alen, char const *b, size_t blen);
/* A token's key as the database keeps it: 48 bits, never 0. */
#define SPAM_TOKEN_KEY(h) (((h) >> 16) | 1)

/* ---------------------------------------------------------------- the message (view.c) */

/* What the scorer and the tokenizer read of a message, decoded once, bounded by
 * the SPAM_* limits whatever the message is. */
typedef struct spam_view_s spam_view;
struct spam_view_s {
  char const *msg;           /* the message (the first SPAM_SCAN_MAX octets) */
  size_t len;
  mime_tree tree;
  size_t hdr_len;            /* the top-level header: msg[0 .. hdr_len) */
  size_t body_start;
  stralloc text;             /* text of the text parts, HTML made text, case-folded,
                                every run of blanks one space, parts apart by " \n " */
  stralloc hosts;            /* URL hosts, lowercase, each NUL-terminated, distinct */
  unsigned nhosts;
  unsigned ntext;            /* text parts read */
  int html;                  /* some text part was HTML */
  int cut;                   /* a limit was reached: the view is a prefix */
};
#define SPAM_VIEW_ZERO { .msg = "", .len = 0, .tree = MIME_TREE_ZERO, .text = STRALLOC_ZERO, .hosts = STRALLOC_ZERO }
int spam_view_make(spam_view *v, char const *msg, size_t len);
void spam_view_free(spam_view *v);
/* The first field named name of the top-level header, decoded (RFC 2047), at most
 * SPAM_VALUE_MAX octets, into sa (NUL-terminated). 1 found, 0 none, -1 ENOMEM. */
int spam_view_field(spam_view const *v, char const *name, stralloc *sa);
/* HTML to text (html.c): append the text of [s, s+len) to out, URL hosts of
 * href/src/action attributes to the view's hosts. 1 ok, 0 ENOMEM. */
int spam_html_text(spam_view *v, stralloc *out, char const *s, size_t len);
/* Add the hosts of the URLs written in text (http://, https://, www.). */
int spam_url_scan(spam_view *v, char const *s, size_t len);
/* Add the host of one URL (scheme optional). 1 ok (added or not a URL), 0 ENOMEM. */
int spam_url_add(spam_view *v, char const *url, size_t len);

/* ---------------------------------------------------------------- tokens (tokens.c) */

typedef struct spam_tokens_s spam_tokens;
struct spam_tokens_s {
  uint64_t *key;             /* after spam_tokens_make: n distinct keys, sorted */
  uint32_t n, cap;
  int cut;                   /* more than SPAM_TOKENS_MAX: the rest were dropped */
};
#define SPAM_TOKENS_ZERO { 0, 0, 0, 0 }
int spam_tokens_make(spam_tokens *t, spam_view const *v);
void spam_tokens_free(spam_tokens *t);
/* The identity of a message for "learned before": its Message-ID, else its
 * tokens. */
uint64_t spam_msg_id(spam_view const *v, spam_tokens const *t);

/* ---------------------------------------------------------------- the token database (bayesdb.c) */

#define BAYES_MAGIC "pochtaB1"
#define BAYES_HDR 32
#define BAYES_TOKREC 12          /* key 6, spam 2, ham 2, day 2 (little-endian) */
#define BAYES_SEENREC 12         /* id 8, day 2, class 1, 0 */
#define BAYES_SEEN_MAX 20000     /* messages remembered as learned */
#define BAYES_FILE_MAX (256u << 20)
#define BAYES_COUNT_MAX 65535

/* A database file as read (mapped): validated, never trusted further. */
typedef struct bayesdb_s bayesdb;
struct bayesdb_s {
  unsigned char const *tok, *seen;
  uint32_t nspam, nham, ntok, nseen;
};
/* Check and index len octets (0: an empty database). 1 ok, 0 not a database. */
int bayesdb_parse(bayesdb *d, unsigned char const *data, size_t len);
/* Counts of a token key (0 0 when absent). Binary search: an unsorted file (never
 * written by us) gives wrong counts, never a crash. */
void bayesdb_get(bayesdb const *d, uint64_t key, unsigned *spam, unsigned *ham);

/* The database in memory while learning: an open-addressed table. */
typedef struct btok_s btok;
struct btok_s { uint64_t key; uint16_t spam, ham, day; };
typedef struct bseen_s bseen;
struct bseen_s { uint64_t id; uint16_t day; uint8_t cls; };
typedef struct bayes_mem_s bayes_mem;
struct bayes_mem_s {
  uint32_t nspam, nham;
  btok *t; size_t n, cap;        /* n: slots used (live or emptied) */
  bseen *seen; size_t nseen, seencap;
};
#define BAYES_MEM_ZERO { 0, 0, 0, 0, 0, 0, 0, 0 }
int bayes_mem_load(bayes_mem *m, bayesdb const *d);
/* Learn the tokens of message id as cls (SPAM_LEARN_*) on day. 1 changed,
 * 0 nothing to change, -1 ENOMEM. */
int bayes_mem_learn(bayes_mem *m, uint64_t id, uint64_t const *key, size_t n, int cls, unsigned day);
/* Tokens with a count. */
size_t bayes_mem_live(bayes_mem const *m);
/* Keep at most max tokens: the oldest and rarest go first, down to 90% of max. */
int bayes_mem_prune(bayes_mem *m, size_t max);
/* The file's octets into out (replaced). 1 ok, 0 ENOMEM. */
int bayes_mem_write(bayes_mem const *m, stralloc *out);
void bayes_mem_free(bayes_mem *m);
/* Days since 2000-01-01 of t (what the database stores). */
unsigned bayes_day(int64_t t);

/* ---------------------------------------------------------------- the classifier (bayes.c) */

typedef struct bayes_out_s bayes_out;
struct bayes_out_s {
  int opinion;               /* 0: too little learned (min not reached), p = 0.5 */
  double p;                  /* spam probability, 0..1 */
  unsigned used;             /* tokens that counted */
};
/* Robinson's f(w) per token, Fisher's chi-square combining (as SpamBayes). */
void bayes_classify(bayesdb const *d, spam_tokens const *t, unsigned min, bayes_out *o);
/* The points of a probability: + (p - 0.5) * 2 * spam above 0.5, else * ham. */
double bayes_points(double p, double spam, double ham);

/* ---------------------------------------------------------------- rules (rules.c) */

enum { R_BUILTIN, R_HEADER, R_MISSING, R_BODY, R_URI, R_DNSBL, R_DNSWL, R_URIBL };

/* Return codes a DNS list answers with (127.0.0.2, 127.0.0.2-11, 127.0.*.2, &8). */
#define SPAM_CODES_MAX 16
typedef struct spam_code_s spam_code;
struct spam_code_s { unsigned char lo[4], hi[4], mask[4]; };

#define SPAM_NAME_MAX 40
struct spam_rule_s {
  char name[SPAM_NAME_MAX + 1];
  int kind;                  /* R_* */
  double weight;
  char *field;               /* R_HEADER, R_MISSING: the field name */
  char *pat;                 /* header glob, body phrase (folded, blanks one space),
                                uri host, DNS list zone */
  size_t patlen;
  int isregex;
  regex_t re;
  spam_code codes[SPAM_CODES_MAX];
  unsigned ncodes;           /* 0: the default codes */
};

/* Built-in rules: their names and default weights. */
#define RULE_GTUBE "GTUBE"
double spam_builtin_weight(spam_conf const *c, char const *name);

/* Glob match (* and ?), ASCII case-insensitive. */
int spam_glob(char const *pat, size_t plen, char const *s, size_t slen);
/* Parse "127.0.0.2", "127.0.0.2-11", "127.0.*.2", "127.0.0.&8", items separated by
 * commas, into codes. 1 ok, 0 bad. */
int spam_codes_parse(spam_code *codes, unsigned *n, char const *s, size_t len);
int spam_codes_match(spam_code const *codes, unsigned n, unsigned char const ip[4]);

/* ---------------------------------------------------------------- scoring (score.c) */

typedef struct spam_hit_s spam_hit;
struct spam_hit_s { char name[SPAM_NAME_MAX + 1]; double w; };
typedef struct spam_score_s spam_score;
struct spam_score_s {
  double total;
  spam_hit hit[SPAM_HITS_MAX];
  unsigned n, more;          /* hits named, hits not named (beyond SPAM_HITS_MAX) */
};
void spam_score_add(spam_score *s, char const *name, double w);
/* The rules of the message itself: header, missing, body, uri and GTUBE. */
void spam_rules_run(spam_conf const *c, spam_view const *v, spam_score *s);
/* HELO sanity (helo.c): HELO_* rules. ip may be NULL. */
void spam_helo_run(spam_conf const *c, char const *helo, char const *ip, char const *me, spam_score *s);
/* The results in an Authentication-Results value (authres.c): SPF_*, DKIM_*,
 * DMARC_*, IPREV_*, ARC_* rules. */
void spam_authres_run(spam_conf const *c, char const *authres, spam_score *s);

/* DNS lists (dnsbl.c) for the client's address and the view's URL hosts, through
 * the hooks, within the DNS budget. Notes (temporary failures, list errors) go to
 * log as key=value pairs. 1 ok, 0 ENOMEM. */
int spam_dnsbl_run(spam const *sp, char const *ip, spam_view const *v, spam_score *s, stralloc *log);
/* The question for ip in zone: "4.3.2.1.zone" or 32 nibbles. 1 ok, 0 not an address. */
int spam_dnsbl_name(char *out, size_t outlen, char const *ip, char const *zone);

/* Headers (report.c). */
int spam_report_headers(stralloc *out, spam_conf const *c, spam_score const *s);
/* Score as the headers write it: one decimal. */
void spam_fmt_score(char *buf, size_t len, double x);
/* Is name one of the fields spam_drops finds? */
int spam_header_ours(char const *name, size_t len);

/* ---------------------------------------------------------------- addresses */

/* Parse an IPv4 or IPv6 address; 1 ok. */
int spam_ip_parse(spam_net *n, char const *s);
/* Parse "addr" or "addr/bits". 1 ok. */
int spam_net_parse(spam_net *n, char const *s, size_t len);
int spam_net_match(spam_net const *nets, unsigned n, spam_net const *ip);
/* ip cut to its first bits (v4: bits4, v6: bits6), as text: the key of a client. */
void spam_net_prefix(char *out, size_t len, spam_net const *ip, unsigned bits4, unsigned bits6);

/* ---------------------------------------------------------------- greylisting (grey.c) */

enum { GREY_PASS = 0, GREY_WAIT = 1 };
/* The triplet's key: 't' and 32 hex digits of SHA-256(prefix \0 sender \0 rcpt),
 * the sender's BATV/VERP tags taken out. */
void spam_grey_key(char out[34], char const *prefix, char const *sender, char const *rcpt);
void spam_grey_client_key(char out[34], char const *prefix);
/* Decide for a triplet record (found: 1 if r holds one) at now; r is updated to
 * what must be stored; *store says whether it must be. */
int spam_grey_decide(spam_conf const *c, spam_grey_rec *r, int found, int64_t now, int *store);
/* Text form of a record: "first last passed\n". 1 ok (parse). */
int spam_grey_parse(spam_grey_rec *r, char const *s, size_t len);
size_t spam_grey_fmt(char *buf, size_t len, spam_grey_rec const *r);

/* ---------------------------------------------------------------- rate limits (rate.c) */

/* Count one message in r at now, if it fits: 1 counted, 0 over the limit. */
int spam_rate_take(spam_rate_rec *r, int64_t now, unsigned max, unsigned period);
uint64_t spam_rate_key(char const *prefix);

/* ---------------------------------------------------------------- clamd (clamd.c) */

/* A clamd INSTREAM reply (NUL or newline at the end, or neither). */
void spam_clamd_reply(spam_clamd *r, char const *s, size_t len);
/* Effect (clamdnet.c): scan through the socket at addr. */
void spam_clamd_scan(char const *addr, unsigned timeout_s, char const *msg, size_t len, spam_clamd *r);

/* ---------------------------------------------------------------- files (effects) */

/* Read a whole small file into sa (replaced). 1 read, 0 absent, -1 error (EFBIG
 * over max). nofollow: a symlink is an error (ELOOP): what a user's directory holds
 * is not followed; the configuration directory is root's and may link. */
int spam_slurp(stralloc *sa, char const *path, size_t max, int nofollow);

#endif
