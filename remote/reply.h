/* Parsing SMTP replies (RFC 5321 4.2), driven from a buffer so that the
 * network code and the fuzz target feed it the same way. Plain libc. */
#ifndef REMOTE_REPLY_H
#define REMOTE_REPLY_H

#include <stddef.h>

#define REPLY_TEXTMAX 8192   /* text kept per reply; the rest is cut */
#define REPLY_LINEMAX 4096   /* longer lines are read but cut */
#define REPLY_LINESMAX 200   /* more lines than this: a broken peer */

struct reply {
  int code;                  /* 100..599 once complete, 0 before */
  unsigned lines;            /* lines seen so far */
  size_t textlen;
  char text[REPLY_TEXTMAX + 1]; /* line texts after "NNN-", '\n' between, NUL-ended */
  /* state of the line being read */
  size_t linelen;            /* octets of the current line seen */
  char head[4];              /* its first four octets */
  int cr;                    /* the last octet was a CR, held back */
  int cut;                   /* the text was truncated */
};

void reply_init(struct reply *r);

/* Feed octets. Consumes up to len octets, stops right after the reply's last
 * line; *used says how many. Returns 1 reply complete, 0 need more input,
 * -1 malformed (bad code, codes that differ between lines, too many lines). */
int reply_feed(struct reply *r, char const *buf, size_t len, size_t *used);

/* The reply as one printable line (lines joined by a space, controls and
 * tabs made '?'), code first, into out (NUL-ended, cut to fit). */
size_t reply_oneline(struct reply const *r, char *out, size_t outlen);

/* Find the EHLO keyword kw (case-insensitive) among the reply's lines after
 * the first. Returns the parameters (after the keyword and a space, up to
 * the line end, copied to par if not NULL) : 1 found, 0 not. */
int reply_ehlo_has(struct reply const *r, char const *kw, char *par, size_t parlen);

#endif
