/* pochta-remote's shared state: one delivery = one message, one domain,
 * its recipients, and a result for each. */
#ifndef REMOTE_REMOTE_H
#define REMOTE_REMOTE_H

#include "family.h"
#include "msg.h"
#include "mx.h"

#define RESULT_TEXTMAX 512
#define RESULT_MTAMAX (RDNS_NAMEMAX + 1 + 64 + 2)   /* host[ip] */

struct result {
  char code;                    /* 'K', 'Z', 'D', or 0: not decided yet */
  char text[RESULT_TEXTMAX];
  char mta[RESULT_MTAMAX];      /* the host whose session decided it, host[ip]; "" none */
};

struct timeouts {               /* seconds; RFC 5321 4.5.3.2 defaults */
  unsigned connect, greeting, mail, rcpt, data, block, dot;
  unsigned family;              /* how long a family that failed is skipped (remote-family) */
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
  unsigned families;            /* RDNS_V4 | RDNS_V6 allowed (remotefamily) */
  struct rdns_addr src[2];      /* source address per family (remotesource4, remotesource6) */
  int hassrc[2];
  struct families fam;          /* what is remembered about them, and this run's tally */
};

/* Decide every undecided recipient (code 0) with code and text. */
void results_fill(struct delivery *d, char code, char const *text);

#endif
