/* spam/dnsbl.c — DNS block and allow lists: the client's address reversed under
 * each dnsbl/dnswl zone (d.c.b.a.zone; 32 nibbles for IPv6), the URL hosts'
 * domains under each urlbl zone. An A record in the answer that matches the rule's
 * return codes is a hit; NXDOMAIN is no hit; a temporary failure is no hit either,
 * noted in the log, and so is an answer in 127.255.255.0/24 (the big lists refuse
 * questions that way). Each question is asked once per message, within the DNS
 * budget, through the hooks' dns_a. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spam-int.h"

#define ASKED_MAX 64   /* questions per message */

typedef struct { char name[320]; int status; unsigned n; unsigned char ip[SPAM_DNS_MAXA][4]; } answer;
typedef struct { answer a[ASKED_MAX]; unsigned n; int64_t deadline; int spent; } asked;

int spam_dnsbl_name(char *out, size_t outlen, char const *ip, char const *zone)
{
  spam_net n;
  int k;
  if (!spam_ip_parse(&n, ip)) return 0;
  if (!n.v6) k = snprintf(out, outlen, "%u.%u.%u.%u.%s", n.ip[3], n.ip[2], n.ip[1], n.ip[0], zone);
  else {
    static char const hex[] = "0123456789abcdef";
    char nib[65];
    for (int i = 15, j = 0; i >= 0; i--) {
      nib[j++] = hex[n.ip[i] & 15]; nib[j++] = '.';
      nib[j++] = hex[n.ip[i] >> 4]; nib[j++] = '.';
    }
    nib[64] = 0;
    k = snprintf(out, outlen, "%s%s", nib, zone);
  }
  return k > 0 && (size_t)k < outlen;
}

static void note(stralloc *log, char const *zone, char const *what)
{
  if (log && (!stralloc_cats(log, " dns=") || !stralloc_cats(log, zone) || !stralloc_cats(log, ":") || !stralloc_cats(log, what))) log->len = 0;
}

/* The answer to name, asked now if it was not asked before. NULL: not asked (the
 * budget is spent). */
static answer const *ask(spam const *sp, asked *q, char const *name, char const *zone, stralloc *log)
{
  for (unsigned i = 0; i < q->n; i++) if (!strcmp(q->a[i].name, name)) return &q->a[i];
  int64_t left = q->deadline - sp->h->now_ms(sp->ctx);
  if (q->n >= ASKED_MAX || left <= 0) {
    if (!q->spent) note(log, zone, "budget");
    q->spent = 1;
    return 0;
  }
  answer *a = &q->a[q->n++];
  snprintf(a->name, sizeof a->name, "%s", name);
  a->n = 0;
  unsigned t = sp->conf.dns_timeout < left ? sp->conf.dns_timeout : (unsigned)left;
  a->status = sp->h->dns_a(sp->ctx, name, t, a->ip, SPAM_DNS_MAXA, &a->n);
  if (a->n > SPAM_DNS_MAXA) a->n = SPAM_DNS_MAXA;
  if (a->status == SPAM_DNS_TEMP) note(log, zone, "temp");
  for (unsigned i = 0; a->status == SPAM_DNS_OK && i < a->n; i++)
    if (a->ip[i][0] == 127 && a->ip[i][1] == 255 && a->ip[i][2] == 255) { note(log, zone, "refused"); break; }
  return a;
}

static int listed(spam_rule const *r, answer const *a)
{
  if (!a || a->status != SPAM_DNS_OK) return 0;
  for (unsigned i = 0; i < a->n; i++) if (spam_codes_match(r->codes, r->ncodes, a->ip[i])) return 1;
  return 0;
}

/* The part of a host a domain list knows: its last two labels (three under a
 * two-letter country code with a short second level, as co.uk). */
static char const *registered(char const *h)
{
  char const *l1 = strrchr(h, '.');
  if (!l1) return h;
  char const *l2 = l1;
  while (l2 > h && l2[-1] != '.') l2--;
  if (strlen(l1 + 1) == 2 && l1 - l2 <= 3 && l2 > h) {
    char const *l3 = l2 - 1;
    while (l3 > h && l3[-1] != '.') l3--;
    return l3;
  }
  return l2;
}

int spam_dnsbl_run(spam const *sp, char const *ip, spam_view const *v, spam_score *s, stralloc *log)
{
  asked *q;
  char name[320];
  int any = 0;
  for (unsigned i = 0; i < sp->conf.nrules; i++)
    any |= sp->conf.rules[i].kind == R_DNSBL || sp->conf.rules[i].kind == R_DNSWL || sp->conf.rules[i].kind == R_URIBL;
  if (!any) return 1;
  q = malloc(sizeof *q);
  if (!q) return 0;
  q->n = 0;
  q->spent = 0;
  q->deadline = sp->h->now_ms(sp->ctx) + sp->conf.dns_budget;
  /* allow lists first: a client they vouch for costs the block lists nothing more
     than their questions, but its score is known early */
  for (int pass = 0; pass < 3; pass++) {
    int kind = pass == 0 ? R_DNSWL : pass == 1 ? R_DNSBL : R_URIBL;
    for (unsigned i = 0; i < sp->conf.nrules; i++) {
      spam_rule const *r = &sp->conf.rules[i];
      if (r->kind != kind) continue;
      if (kind != R_URIBL) {
        if (ip && spam_dnsbl_name(name, sizeof name, ip, r->pat) && listed(r, ask(sp, q, name, r->pat, log)))
          spam_score_add(s, r->name, r->weight);
        continue;
      }
      unsigned hosts = 0;
      for (size_t off = 0; v && off < v->hosts.len && hosts < sp->conf.dns_urls; off += strlen(v->hosts.s + off) + 1) {
        char const *h = v->hosts.s + off;
        spam_net lit;
        int k;
        hosts++;
        if (spam_ip_parse(&lit, h)) k = spam_dnsbl_name(name, sizeof name, h, r->pat);
        else k = snprintf(name, sizeof name, "%s.%s", registered(h), r->pat) < (int)sizeof name;
        if (k && listed(r, ask(sp, q, name, r->pat, log))) { spam_score_add(s, r->name, r->weight); break; }
      }
    }
  }
  free(q);
  return 1;
}
