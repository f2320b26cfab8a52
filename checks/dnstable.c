/* A chk_dns hook over a table of records, for unit tests, test drivers and fuzzers:
 * no network. Zone text, one record a line:
 *   name A 192.0.2.1 | name AAAA 2001:db8::1 | name MX 10 host | name PTR host
 *   name CNAME target | name TXT text up to the end of the line | name TIMEOUT
 * "\n", "\\" and "\xHH" in names and TXT text stand for a newline, a backslash,
 * any octet. A name with
 * TIMEOUT answers DNS_TEMP for every type it has no record of; a name with records of other types
 * answers DNS_OK with none; any other name NXDOMAIN. Names are case-insensitive. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnstable.h"
#include "int.h"

/* Undo the escapes in place; returns the new length. */
static size_t unesc(char *s)
{
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p == '\\' && p[1] == 'n') { *o++ = '\n'; p++; }
    else if (*p == '\\' && p[1] == '\\') { *o++ = '\\'; p++; }
    else if (*p == '\\' && p[1] == 'x' && p[2] && p[3]) {
      char hx[3] = { p[2], p[3], 0 };
      *o++ = (char)strtoul(hx, 0, 16);
      p += 3;
    } else *o++ = *p;
  }
  *o = 0;
  return (size_t)(o - s);
}

int dnstable_load(dnstable *t, char const *text, size_t len)
{
  size_t i = 0;
  t->n = 0;
  t->text = malloc(len + 1);
  if (!t->text) return 0;
  memcpy(t->text, text, len);
  t->text[len] = 0;
  while (i < len) {
    char *l = t->text + i, *e = memchr(l, '\n', len - i), *sp, *sp2;
    if (!e) e = t->text + len;
    *e = 0;
    i = (size_t)(e - t->text) + 1;
    if (!*l || *l == '#') continue;
    if (!(sp = strchr(l, ' '))) continue;
    *sp++ = 0;
    sp2 = strchr(sp, ' ');
    if (sp2) *sp2++ = 0; else sp2 = sp + strlen(sp);
    if (t->n >= DNSTABLE_MAX) return 0;
    struct dnstable_rr *r = &t->rr[t->n++];
    unesc(l);
    for (char *p = l; *p; p++) *p = (char)chk_lower((unsigned char)*p);
    size_t nl = strlen(l);
    if (nl && l[nl - 1] == '.') l[nl - 1] = 0;
    r->name = l;
    r->data = sp2;
    if (!strcmp(sp, "A")) r->type = DNS_T_A;
    else if (!strcmp(sp, "AAAA")) r->type = DNS_T_AAAA;
    else if (!strcmp(sp, "MX")) r->type = DNS_T_MX;
    else if (!strcmp(sp, "PTR")) r->type = DNS_T_PTR;
    else if (!strcmp(sp, "CNAME")) r->type = DNS_T_CNAME;
    else if (!strcmp(sp, "TXT")) {
      r->type = DNS_T_TXT;
      r->len = unesc(sp2);
    } else if (!strcmp(sp, "TIMEOUT")) r->type = 0;
    else return 0;
  }
  return 1;
}

void dnstable_free(dnstable *t) { free(t->text); t->text = 0; t->n = 0; }

static int put(dns_result *res, struct dnstable_rr const *r)
{
  dns_rr *rr;
  if (res->n >= DNS_RR_MAX) { res->truncated = 1; return 1; }
  rr = &res->rr[res->n];
  memset(rr, 0, sizeof *rr);
  rr->type = r->type;
  rr->ttl = 300;
  switch (r->type) {
  case DNS_T_A: if (inet_pton(AF_INET, r->data, rr->ip) != 1) return 0; break;
  case DNS_T_AAAA: if (inet_pton(AF_INET6, r->data, rr->ip) != 1) return 0; break;
  case DNS_T_MX: {
    char *sp = strchr(r->data, ' ');
    rr->pref = (uint16_t)atoi(r->data);
    rr->name = sp ? sp + 1 : "";
    break;
  }
  case DNS_T_PTR: case DNS_T_CNAME: rr->name = r->data; break;
  case DNS_T_TXT:
    rr->data = (unsigned char const *)r->data;
    rr->len = r->len;
    break;
  }
  res->n++;
  return 1;
}

int dnstable_query(chk_dns *d, char const *qname, uint16_t type, dns_result *res)
{
  dnstable *t = d->ctx;
  char name[DNS_NAMEMAX + 2];
  int exists = 0;
  size_t l = strlen(qname);
  t->asked++;
  memset(res, 0, offsetof(dns_result, rr));
  if (!dns_name_ok(qname)) return res->status = DNS_BADNAME;
  if (l && qname[l - 1] == '.') l--;
  chk_copy_lower(name, sizeof name, qname, l);
  for (unsigned hop = 0; hop <= DNS_CNAME_MAX; hop++) {
    char const *cname = 0;
    int timeout = 0;
    for (unsigned i = 0; i < t->n; i++) {
      struct dnstable_rr const *r = &t->rr[i];
      if (strcmp(r->name, name)) continue;
      if (!r->type) { timeout = 1; continue; }
      exists = 1;
      if (r->type == type) { if (!put(res, r)) return res->status = DNS_TEMP; }
      else if (r->type == DNS_T_CNAME) cname = r->data;
    }
    snprintf(res->qname, sizeof res->qname, "%s", name);
    if (!res->n && !cname && timeout) return res->status = DNS_TEMP;
    if (res->n || !cname) break;
    chk_copy_lower(name, sizeof name, cname, strlen(cname));
    exists = 0;
  }
  return res->status = exists ? DNS_OK : DNS_NXDOMAIN;
}

void dnstable_hook(chk_dns *d, dnstable *t)
{
  memset(d, 0, sizeof *d);
  d->query = dnstable_query;
  d->ctx = t;
}
