/* spam/smtp.c — the two calls pochta-smtpd makes on port 25 (spam.h):
 * spam_smtp_rcpt (greylisting) and spam_smtp_data (rate limit, clamd, score).
 * Every effect goes through the context's hooks. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spam-int.h"

void spam_verdict_free(spam_verdict *v)
{
  stralloc_free(&v->headers);
  stralloc_free(&v->log);
}

static void verdict_reset(spam_verdict *v)
{
  v->action = SPAM_ACCEPT;
  v->reply[0] = 0;
  v->score = 0;
  v->headers.len = 0;
  v->log.len = 0;
}

static int logkv(spam_verdict *v, char const *k, char const *val)
{
  return (!v->log.len || stralloc_cats(&v->log, " ")) && stralloc_cats(&v->log, k)
      && stralloc_cats(&v->log, "=") && stralloc_cats(&v->log, val);
}

static int logend(spam_verdict *v)
{
  /* NUL-terminated for callers that print it, not counted */
  if (!stralloc_0(&v->log)) return 0;
  v->log.len--;
  return 1;
}

static int grey_domain(spam_conf const *c, char const *rcpt)
{
  char const *at = strrchr(rcpt, '@');
  if (c->grey_all) return 1;
  if (!at) return 0;
  for (size_t off = 0; off < c->grey_domains.len; off += strlen(c->grey_domains.s + off) + 1)
    if (!strcasecmp(c->grey_domains.s + off, at + 1)) return 1;
  return 0;
}

int spam_smtp_rcpt(spam *s, spam_env const *e, char const *rcpt, spam_verdict *v)
{
  spam_conf const *c = &s->conf;
  spam_net ip;
  char prefix[64], key[34], ckey[34];
  spam_grey_rec g, cg;
  int store, ok;
  verdict_reset(v);
  if (!grey_domain(c, rcpt) || !e->ip || !spam_ip_parse(&ip, e->ip)) return logend(v);
  if (spam_net_match(c->grey_exempt, c->ngrey_exempt, &ip)) return logkv(v, "grey", "exempt") && logend(v);
  spam_net_prefix(prefix, sizeof prefix, &ip, c->grey_net4, c->grey_net6);
  int64_t now = s->h->now(s->ctx);
  spam_grey_client_key(ckey, prefix);
  int cfound = s->h->grey_get(s->ctx, ckey, &cg);
  if (cfound > 0 && c->grey_clients && cg.passed >= c->grey_clients && now - cg.last <= (int64_t)c->grey_expire)
    return logkv(v, "grey", "client") && logend(v);
  spam_grey_key(key, prefix, e->sender ? e->sender : "", rcpt);
  int found = s->h->grey_get(s->ctx, key, &g);
  if (found < 0) return logkv(v, "grey", "error") && logend(v);
  uint32_t was = found ? g.passed : 0;
  int d = spam_grey_decide(c, &g, found, now, &store);
  ok = 1;
  if (store && !e->dryrun && !s->h->grey_put(s->ctx, key, &g)) ok = logkv(v, "grey_store", "error");
  if (d == GREY_PASS) {
    if (!was && !e->dryrun) {
      /* a triplet passed: one more for its client */
      if (cfound <= 0 || now - cg.last > (int64_t)c->grey_expire) { cg.first = now; cg.passed = 0; }
      cg.passed++;
      cg.last = now;
      s->h->grey_put(s->ctx, ckey, &cg);
    }
    return ok && logkv(v, "grey", was ? "known" : "pass") && logend(v);
  }
  v->action = SPAM_TEMPFAIL;
  long wait = (long)(g.first + c->grey_delay - now);
  snprintf(v->reply, sizeof v->reply, "451 4.7.1 Greylisted: please try again in %ld seconds", wait > 0 ? wait : 1);
  return ok && logkv(v, "grey", "wait") && logend(v);
}

typedef struct { unsigned max, period; int64_t now; } rate_arg;

static int rate_fn(spam_rate_rec *r, void *arg)
{
  rate_arg const *a = arg;
  return spam_rate_take(r, a->now, a->max, a->period);
}

/* The rate limit: 1 within it (or none, or the state is unusable), 0 over it. */
static int rate_ok(spam *s, spam_env const *e, spam_verdict *v)
{
  spam_conf const *c = &s->conf;
  spam_net ip;
  char prefix[64];
  if (!c->rate_max || e->dryrun || !e->ip || !spam_ip_parse(&ip, e->ip)) return 1;
  if (spam_net_match(c->rate_exempt, c->nrate_exempt, &ip)) return 1;
  spam_net_prefix(prefix, sizeof prefix, &ip, c->rate_net4, c->rate_net6);
  rate_arg a = { c->rate_max, c->rate_period, s->h->now(s->ctx) };
  int r = s->h->rate(s->ctx, spam_rate_key(prefix), rate_fn, &a);
  if (r < 0) { logkv(v, "rate", "error"); return 1; }
  return r;
}

int spam_smtp_data(spam *s, spam_env const *e, char const *msg, size_t len, spam_verdict *v)
{
  spam_conf const *c = &s->conf;
  spam_view view = SPAM_VIEW_ZERO;
  spam_score sc;
  char num[32], virus[200] = "";
  int ok = 0;
  verdict_reset(v);
  memset(&sc, 0, sizeof sc);
  if (!rate_ok(s, e, v)) {
    v->action = SPAM_TEMPFAIL;
    snprintf(v->reply, sizeof v->reply, "451 4.7.1 Too many messages from your address: please try again later");
    return logkv(v, "rate", "over") && logend(v);
  }
  if (c->clamd[0]) {
    spam_clamd r;
    s->h->clamd(s->ctx, c->clamd, c->clamd_timeout, msg, len, &r);
    if (r.status == CLAMD_INFECTED) {
      v->action = SPAM_VIRUS;
      snprintf(v->reply, sizeof v->reply, "554 5.7.1 Message refused: it contains a virus (%.100s)", r.name);
      return logkv(v, "virus", r.name) && logend(v);
    }
    if (r.status == CLAMD_ERROR) {
      if (!logkv(v, "clamd", "error") || !stralloc_cats(&v->log, " clamd_why=\"") || !stralloc_cats(&v->log, r.why) || !stralloc_cats(&v->log, "\"")) return 0;
      if (c->clamd_strict) {
        v->action = SPAM_TEMPFAIL;
        snprintf(v->reply, sizeof v->reply, "451 4.3.0 The virus scanner is not available: please try again later");
        return logend(v);
      }
      snprintf(virus, sizeof virus, "X-Virus-Status: Unscanned (%.160s)\n", r.why);
    } else snprintf(virus, sizeof virus, "X-Virus-Status: Clean\n");
  }
  if (!c->score) {   /* scoring off: the rate limit and clamd alone */
    if (!stralloc_cats(&v->headers, virus)) return 0;
    return logkv(v, "score", "off") && logend(v);
  }
  if (!spam_view_make(&view, msg, len)) goto end;
  spam_rules_run(c, &view, &sc);
  if (e->helo) spam_helo_run(c, e->helo, e->ip, s->me[0] ? s->me : 0, &sc);
  spam_authres_run(c, e->authres, &sc);
  /* DNS costs time: a message refused already needs none */
  if (sc.total < c->reject && !spam_dnsbl_run(s, e->ip, &view, &sc, &v->log)) goto end;
  v->score = sc.total;
  spam_fmt_score(num, sizeof num, sc.total);
  if (!logkv(v, "score", num) || !logkv(v, "tests", "")) goto end;
  for (unsigned i = 0; i < sc.n; i++)
    if ((i && !stralloc_cats(&v->log, ",")) || !stralloc_cats(&v->log, sc.hit[i].name)) goto end;
  if (!sc.n && !stralloc_cats(&v->log, "none")) goto end;
  if (sc.total >= c->reject) {
    v->action = SPAM_REJECT;
    snprintf(v->reply, sizeof v->reply, "550 5.7.1 Message refused as spam (score %s)", num);
  } else if (!spam_report_headers(&v->headers, c, &sc) || !stralloc_cats(&v->headers, virus)) goto end;
  ok = logend(v);
end:
  spam_view_free(&view);
  return ok;
}
