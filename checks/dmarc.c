/* DMARC (RFC 7489): the policy record of the From domain (or of its organizational
 * domain), identifier alignment of SPF and DKIM, and the disposition after pct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int.h"

/* Parse one record. 1 usable (v=DMARC1 first, and a p= or a valid rua=), 0 not. */
static int parse(char const *rec, size_t len, dmarc_out *o)
{
  tags tl;
  tag const *t;
  if (!tags_parse(&tl, rec, len) || !tl.n) return 0;
  if (tl.t[0].nlen != 1 || tl.t[0].name[0] != 'v' || chk_casecmpn(tl.t[0].val, tl.t[0].vlen, "DMARC1", 6)) return 0;
  o->p = -1;
  if ((t = tags_get(&tl, "p"))) {
    if (!chk_casecmpn(t->val, t->vlen, "none", 4)) o->p = DMARC_P_NONE;
    else if (!chk_casecmpn(t->val, t->vlen, "quarantine", 10)) o->p = DMARC_P_QUARANTINE;
    else if (!chk_casecmpn(t->val, t->vlen, "reject", 6)) o->p = DMARC_P_REJECT;
  }
  o->rua[0] = 0;
  if ((t = tags_get(&tl, "rua")) && t->vlen < sizeof o->rua) { memcpy(o->rua, t->val, t->vlen); o->rua[t->vlen] = 0; }
  /* 6.6.3: a record without a valid p= but with a valid rua= counts as p=none */
  if (o->p < 0) {
    if (chk_casecmpn(o->rua, strlen(o->rua) < 7 ? strlen(o->rua) : 7, "mailto:", 7)) return 0;
    o->p = DMARC_P_NONE;
  }
  o->sp = o->p;
  if ((t = tags_get(&tl, "sp"))) {
    if (!chk_casecmpn(t->val, t->vlen, "none", 4)) o->sp = DMARC_P_NONE;
    else if (!chk_casecmpn(t->val, t->vlen, "quarantine", 10)) o->sp = DMARC_P_QUARANTINE;
    else if (!chk_casecmpn(t->val, t->vlen, "reject", 6)) o->sp = DMARC_P_REJECT;
  }
  o->pct = 100;
  if ((t = tags_get(&tl, "pct")) && t->vlen && t->vlen <= 3) {
    int v = 0, ok = 1;
    for (size_t i = 0; i < t->vlen; i++) { if (t->val[i] < '0' || t->val[i] > '9') ok = 0; else v = v * 10 + t->val[i] - '0'; }
    if (ok && v <= 100) o->pct = v;
  }
  o->adkim_strict = (t = tags_get(&tl, "adkim")) && !chk_casecmpn(t->val, t->vlen, "s", 1);
  o->aspf_strict = (t = tags_get(&tl, "aspf")) && !chk_casecmpn(t->val, t->vlen, "s", 1);
  return 1;
}

/* The record at _dmarc.domain: 1 found, 0 none (or several), -1 temperror */
static int fetch(chk_dns *dns, char const *domain, dmarc_out *o)
{
  char name[CHK_DOMAIN_MAX + 8];
  dns_result *res = malloc(sizeof *res);
  int found = 0, st;
  dmarc_out tmp;
  if (!res) return -1;
  snprintf(name, sizeof name, "_dmarc.%s", domain);
  if (!dns_name_ok(name)) { free(res); return 0; }
  st = chk_query(dns, name, DNS_T_TXT, res);
  if (st == DNS_TEMP) { free(res); return -1; }
  if (st == DNS_OK)
    for (unsigned i = 0; i < res->n; i++) {
      char const *d = (char const *)res->rr[i].data;
      if (res->rr[i].len < 8 || chk_casecmpn(d, 8, "v=DMARC1", 8)) continue;
      tmp = *o;
      if (!parse(d, res->rr[i].len, &tmp)) continue;
      if (found++) { free(res); return 0; }   /* several records: no DMARC (6.6.3) */
      *o = tmp;
    }
  free(res);
  return found ? 1 : 0;
}

static int aligned(char const *a, char const *from, char const *org, int strict)
{
  char o2[CHK_DOMAIN_MAX + 1];
  if (!a[0]) return 0;
  if (!strcmp(a, from)) return 1;
  if (strict) return 0;
  return chk_orgdomain(a, o2) && !strcmp(o2, org);
}

int dmarc_check(chk_msg const *m, chk_dns *dns, spf_out const *spf, dkim_results const *dkim,
                unsigned sample, dmarc_out *o)
{
  int r, froms = 0, temp = 0;
  memset(o, 0, sizeof *o);
  o->result = CHK_NONE;
  for (unsigned k = 0; k < m->nfields; k++) froms += chk_field_is(&m->fields[k], "From");
  if (!chk_msg_from_domain(m, o->from)) {
    o->result = froms ? CHK_PERMERROR : CHK_NONE;
    snprintf(o->why, sizeof o->why, froms > 1 ? "several From fields" : froms ? "From without a single domain" : "no From field");
    return o->result;
  }
  if (!chk_orgdomain(o->from, o->org)) snprintf(o->org, sizeof o->org, "%s", o->from);
  r = fetch(dns, o->from, o);
  o->policy = o->p;
  if (!r && strcmp(o->org, o->from)) {
    r = fetch(dns, o->org, o);
    o->policy = o->sp;                 /* the from domain is a subdomain of the org */
  }
  if (r < 0) { o->result = CHK_TEMPERROR; snprintf(o->why, sizeof o->why, "DMARC record lookup failed temporarily"); return o->result; }
  if (!r) { o->result = CHK_NONE; snprintf(o->why, sizeof o->why, "no DMARC record"); return o->result; }
  if (spf && aligned(spf->domain, o->from, o->org, o->aspf_strict)) {
    if (spf->result == CHK_PASS) o->spf_aligned = 1;
    else if (spf->result == CHK_TEMPERROR) temp = 1;
  }
  for (unsigned k = 0; dkim && k < dkim->n; k++) {
    dkim_sigres const *s = &dkim->sig[k];
    if (!aligned(s->d, o->from, o->org, o->adkim_strict)) continue;
    if (s->result == CHK_PASS) o->dkim_aligned = 1;
    else if (s->result == CHK_TEMPERROR) temp = 1;
  }
  if (o->spf_aligned || o->dkim_aligned) {
    o->result = CHK_PASS;
    o->disposition = DMARC_P_NONE;
    return o->result;
  }
  if (temp) {
    /* an aligned identifier could not be checked: the outcome is unknown */
    o->result = CHK_TEMPERROR;
    snprintf(o->why, sizeof o->why, "an aligned identifier failed temporarily");
    return o->result;
  }
  o->result = CHK_FAIL;
  o->disposition = o->policy;
  if (sample >= (unsigned)o->pct && o->disposition > DMARC_P_NONE) o->disposition--;  /* 6.6.4 */
  snprintf(o->why, sizeof o->why, "no aligned SPF or DKIM pass");
  return o->result;
}
