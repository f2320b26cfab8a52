/* Every check for one received message, and what to do with it: DMARC reject is a
 * 550 at the end of DATA, quarantine goes to Junk, and a DNS failure that could
 * change the outcome is a 451, never a pass and never a 5xx. */
#include <stdio.h>
#include <string.h>

#include "int.h"

#define BUDGET_MS_DEFAULT 20000
#define QUERIES_DEFAULT 60

static int trusted(checks_conf const *c, char const *d)
{
  for (unsigned i = 0; i < c->ntrusted; i++)
    if (c->trusted_sealers[i] && !chk_casecmpn(c->trusted_sealers[i], strlen(c->trusted_sealers[i]), d, strlen(d))) return 1;
  return 0;
}

int checks_run_dns(checks_conf const *c, chk_dns *dns, checks_env const *env, chk_msg const *m,
                   checks_out *o)
{
  spf_req rq;
  memset(o, 0, offsetof(checks_out, spf));
  if (!dns->max_queries) dns->max_queries = c->max_queries ? c->max_queries : QUERIES_DEFAULT;
  memset(&rq, 0, sizeof rq);
  rq.family = env->family;
  memcpy(rq.ip, env->ip, 16);
  rq.helo = env->helo ? env->helo : "";
  rq.sender = env->mailfrom ? env->mailfrom : "";
  rq.me = c->me;
  rq.now = env->now;
  iprev_check(dns, env->family, env->ip, &o->iprev);
  spf_check(dns, &rq, &o->spf, &o->spf_helo);
  dkim_verify(m, dns, env->now, &o->dkim);
  arc_verify(m, dns, env->now, &o->arc);
  dmarc_check(m, dns, &o->spf, &o->dkim, env->sample % 100, &o->dmarc);
  o->queries = dns->queries;
  o->verdict = CHECKS_ACCEPT;

  if (o->dmarc.result == CHK_FAIL && o->dmarc.disposition != DMARC_P_NONE) {
    if (o->arc.cv == CHK_PASS && trusted(c, o->arc.sealer)) {
      /* a sealer we trust vouches for the message as it was before it forwarded it */
      snprintf(o->dmarc.why, sizeof o->dmarc.why, "overridden: ARC sealed by %s", o->arc.sealer);
      o->dmarc.disposition = DMARC_P_NONE;
    } else if (o->dmarc.disposition == DMARC_P_REJECT) {
      o->verdict = CHECKS_REJECT;
      snprintf(o->reply, sizeof o->reply, "550 5.7.1 DMARC policy of %s rejects this message (no aligned SPF or DKIM pass)", o->dmarc.from);
    } else o->verdict = CHECKS_QUARANTINE;
  } else if (o->dmarc.result == CHK_TEMPERROR) {
    o->verdict = CHECKS_TEMPFAIL;
    snprintf(o->reply, sizeof o->reply, "451 4.7.5 DMARC check of %s failed temporarily (DNS), try again later", o->dmarc.from);
  } else if (o->dmarc.result == CHK_PERMERROR && strstr(o->dmarc.why, "several From")) {
    o->verdict = CHECKS_REJECT;
    snprintf(o->reply, sizeof o->reply, "550 5.7.1 message has several From fields (RFC 5322 3.6)");
  } else if (c->spf_reject && o->dmarc.result != CHK_PASS) {
    if (o->spf.result == CHK_FAIL) {
      o->verdict = CHECKS_REJECT;
      snprintf(o->reply, sizeof o->reply, "550 5.7.23 SPF of %s does not allow this host%s%.80s", o->spf.domain,
               o->spf.exp[0] ? ": " : "", o->spf.exp);
    } else if (o->spf.result == CHK_TEMPERROR) {
      o->verdict = CHECKS_TEMPFAIL;
      snprintf(o->reply, sizeof o->reply, "451 4.7.24 SPF check of %s failed temporarily (DNS), try again later", o->spf.domain);
    }
  }
  return o->verdict;
}

int checks_run(checks_conf const *c, dns_resolver *r, checks_env const *env, chk_msg const *m,
               checks_out *o)
{
  chk_dns d;
  int64_t saved = r->deadline_ms, end;
  int v;
  chk_dns_real(&d, r);
  d.max_queries = c->max_queries ? c->max_queries : QUERIES_DEFAULT;
  end = dns_now_ms() + (c->budget_ms ? c->budget_ms : BUDGET_MS_DEFAULT);
  if (!saved || end < saved) r->deadline_ms = end;
  v = checks_run_dns(c, &d, env, m, o);
  r->deadline_ms = saved;
  return v;
}
