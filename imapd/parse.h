/* pochta-imapd: the command tokenizer. A command is held in memory as the line
 * text with each literal inlined as "{N}\n" followed by its N octets ("{N}\r" and
 * no octets when the literal was spooled to a file: APPEND only). This form cannot
 * be confused with line text, which never holds LF. */
#ifndef IMAPD_PARSE_H
#define IMAPD_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pcur_s pcur;
/* spool_next: spooled literals passed so far; a spooled one is number spool_next - 1 */
struct pcur_s { char *s; size_t len; size_t pos; int spool_next; };

/* A parsed string: pointer into the command buffer (unescaped in place). */
typedef struct { char *s; size_t len; } pstr;

int p_sp(pcur *p);                 /* exactly one space */
int p_eol(pcur *p);                /* at the end */
int p_peek(pcur *p, char c);       /* next char is c (not consumed) */
int p_char(pcur *p, char c);       /* consume c */
int p_atom(pcur *p, pstr *out);    /* ATOM-CHARs (also ']' allowed when astring) */
int p_tag(pcur *p, pstr *out);
int p_quoted(pcur *p, pstr *out);
/* A literal; sets *spooled when its data is in a spool file (len = size, the
 * file is spool_get(p->spool_next - 1)). */
int p_literal(pcur *p, pstr *out, int *spooled);
int p_string(pcur *p, pstr *out);  /* quoted or literal (not spooled) */
int p_astring(pcur *p, pstr *out);
int p_nstring(pcur *p, pstr *out); /* NIL gives s = NULL */
int p_number(pcur *p, uint32_t *n);        /* 0..4294967295 */
int p_nz_number(pcur *p, uint32_t *n);
int p_number64(pcur *p, uint64_t *n);
/* Case-insensitive keyword, consumed only when followed by a non-atom char. */
int p_word(pcur *p, char const *w);
/* A flag (\Seen or atom) */
int p_flag(pcur *p, pstr *out);

/* Sequence sets: ranges lo:hi as written (either order), '*' given as 0, "$" refused. */
typedef struct { uint32_t lo, hi; } range;
typedef struct { range *r; size_t n; } seqset;
#define SEQSET_MAX 4096
int p_seqset(pcur *p, seqset *ss);   /* ss->r must hold SEQSET_MAX */
/* Does x fall in ss, with '*' meaning max? */
int seqset_has(seqset const *ss, uint32_t x, uint32_t max);

int is_atom_char(unsigned char c);
int strcase_eq(char const *a, size_t alen, char const *b);

#endif
