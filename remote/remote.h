/* pochta-remote's shared state: one delivery = one message, one domain,
 * its recipients, and a result for each. */
#ifndef REMOTE_REMOTE_H
#define REMOTE_REMOTE_H

#include "msg.h"
#include "mx.h"

#define RESULT_TEXTMAX 512

struct result {
  char code;                    /* 'K', 'Z', 'D', or 0: not decided yet */
  char text[RESULT_TEXTMAX];
};

struct timeouts {               /* seconds; RFC 5321 4.5.3.2 defaults */
  unsigned connect, greeting, mail, rcpt, data, block, dot;
};

struct delivery {
  char const *domain;
  char const *sender;           /* "" for the null sender */
  char **rcpt;
  struct result *res;
  unsigned nrcpt;
  struct msg msg;
  int need_utf8;                /* an address is not ASCII: SMTPUTF8 needed */
  char me[256];                 /* our EHLO name */
  struct timeouts to;
  unsigned port;
  char cafile[4096];
  int smarthost;                /* STARTTLS required, AUTH when credentials exist */
  int verify;                   /* the peer certificate must verify */
  char authuser[256], authpass[256];
};

/* Decide every undecided recipient (code 0) with code and text. */
void results_fill(struct delivery *d, char code, char const *text);

#endif
