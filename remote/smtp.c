/* The SMTP client dialogue (RFC 5321, 2920 PIPELINING, 1870 SIZE,
 * 6152 8BITMIME, 6531 SMTPUTF8, 3207 STARTTLS, 4954 AUTH). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "b64.h"
#include "conn.h"
#include "log.h"
#include "smtp.h"
#include "tls.h"

#define PIPE_WINDOW 50   /* RCPTs sent before their replies are read */

struct ext {
  int esmtp, pipelining, size, eightbit, utf8, starttls, auth_plain, auth_login;
  unsigned long maxsize;
};

static struct reply rep;   /* large: kept out of the stack */

static void oneline(char *buf, size_t len)
{
  reply_oneline(&rep, buf, len);
}

static void log_reply(char const *ev, struct target const *t, char const *why)
{
  char ip[64];
  conn_addrfmt(&t->addr, ip, sizeof ip);
  log_start(ev);
  log_kv("host", t->name);
  log_kv("ip", ip);
  log_kv("reason", why);
  log_end();
}

static void ext_parse(struct ext *e)
{
  char par[512];
  memset(e, 0, sizeof *e);
  e->esmtp = 1;
  e->pipelining = reply_ehlo_has(&rep, "PIPELINING", 0, 0);
  e->eightbit = reply_ehlo_has(&rep, "8BITMIME", 0, 0);
  e->utf8 = reply_ehlo_has(&rep, "SMTPUTF8", 0, 0);
  e->starttls = reply_ehlo_has(&rep, "STARTTLS", 0, 0);
  if (reply_ehlo_has(&rep, "SIZE", par, sizeof par)) {
    e->size = 1;
    e->maxsize = strtoul(par, 0, 10);  /* 0 or garbage: no fixed limit */
  }
  if (reply_ehlo_has(&rep, "AUTH", par, sizeof par)) {
    /* mechanisms, space separated, case-insensitive */
    char *p = par, *w;
    while ((w = strsep(&p, " ")))
      if (!strcasecmp(w, "PLAIN")) e->auth_plain = 1;
      else if (!strcasecmp(w, "LOGIN")) e->auth_login = 1;
  }
}

/* EHLO, or HELO when the peer does not know EHLO. 1 ok */
static int hello(struct delivery *d, struct conn *c, struct ext *e, char *why, size_t whylen)
{
  char line[300];
  snprintf(line, sizeof line, "EHLO %s\r\n", d->me);
  c->timeout = d->to.mail;
  if (!conn_puts(c, line) || !conn_reply(c, &rep)) { snprintf(why, whylen, "4.4.2 EHLO: %s", c->err); return 0; }
  if (rep.code == 250) { ext_parse(e); return 1; }
  if (rep.code < 500) { char t[300]; oneline(t, sizeof t); snprintf(why, whylen, "EHLO: %s", t); return 0; }
  memset(e, 0, sizeof *e);
  snprintf(line, sizeof line, "HELO %s\r\n", d->me);
  if (!conn_puts(c, line) || !conn_reply(c, &rep)) { snprintf(why, whylen, "4.4.2 HELO: %s", c->err); return 0; }
  if (rep.code != 250) { char t[300]; oneline(t, sizeof t); snprintf(why, whylen, "HELO: %s", t); return 0; }
  return 1;
}

/* SMTP AUTH with the smarthost's credentials. 1 ok */
static int auth(struct delivery *d, struct conn *c, struct ext const *e, char *why, size_t whylen)
{
  char raw[520], enc[800], line[820], t[300];
  size_t ul = strlen(d->authuser), pl = strlen(d->authpass);
  if (e->auth_plain) {
    /* authzid empty, authcid, password, NUL-separated */
    raw[0] = 0;
    memcpy(raw + 1, d->authuser, ul);
    raw[1 + ul] = 0;
    memcpy(raw + 2 + ul, d->authpass, pl);
    if (!b64_encode((unsigned char *)raw, 2 + ul + pl, enc, sizeof enc)) goto toolong;
    snprintf(line, sizeof line, "AUTH PLAIN %s\r\n", enc);
    if (!conn_puts(c, line) || !conn_reply(c, &rep)) goto lost;
  } else if (e->auth_login) {
    if (!conn_puts(c, "AUTH LOGIN\r\n") || !conn_reply(c, &rep)) goto lost;
    if (rep.code != 334) goto refused;
    if (!b64_encode((unsigned char *)d->authuser, ul, enc, sizeof enc)) goto toolong;
    snprintf(line, sizeof line, "%s\r\n", enc);
    if (!conn_puts(c, line) || !conn_reply(c, &rep)) goto lost;
    if (rep.code != 334) goto refused;
    if (!b64_encode((unsigned char *)d->authpass, pl, enc, sizeof enc)) goto toolong;
    snprintf(line, sizeof line, "%s\r\n", enc);
    if (!conn_puts(c, line) || !conn_reply(c, &rep)) goto lost;
  } else {
    snprintf(why, whylen, "4.7.0 smarthost offers neither AUTH PLAIN nor AUTH LOGIN");
    return 0;
  }
  if (rep.code == 235) return 1;
refused:
  oneline(t, sizeof t);
  /* a refused password is the admin's to fix: retry later, never bounce */
  snprintf(why, whylen, "4.7.0 smarthost refused authentication: %s", t);
  return 0;
toolong:
  snprintf(why, whylen, "4.7.0 smarthost credentials too long");
  return 0;
lost:
  snprintf(why, whylen, "4.4.2 AUTH: %s", c->err);
  return 0;
}

/* Every result this session decided names the host that answered, as
 * host[ip] (a literal alone), for the record's Remote-MTA (RFC 3464 2.3.5). */
static void stamp(struct delivery *d, struct target const *t, char const *ip)
{
  char m[RESULT_MTAMAX];
  unsigned i;
  if (t->name[0] == '[') snprintf(m, sizeof m, "%s", t->name);
  else snprintf(m, sizeof m, "%s[%s]", t->name, ip);
  for (i = 0; i < d->nrcpt; i++)
    if (d->res[i].code && !d->res[i].mta[0]) memcpy(d->res[i].mta, m, sizeof m);
}

/* The reply as a result for recipient i */
static void set_result(struct delivery *d, unsigned i, char code)
{
  d->res[i].code = code;
  oneline(d->res[i].text, sizeof d->res[i].text);
}

static char code_of(int smtpcode)
{
  return smtpcode >= 500 ? 'D' : 'Z';
}

/* Connection lost mid-transaction: everything open becomes Z */
static enum smtp_outcome lost(struct delivery *d, struct conn *c, struct target const *t,
                              char *accepted, char const *stage)
{
  char text[RESULT_TEXTMAX];
  unsigned i;
  snprintf(text, sizeof text, "4.4.2 %s: %s (%s)", stage, c->err, t->name);
  for (i = 0; i < d->nrcpt; i++)
    if (accepted[i]) { d->res[i].code = 'Z'; snprintf(d->res[i].text, sizeof d->res[i].text, "%s", text); }
  results_fill(d, 'Z', text);
  conn_close(c);
  return SMTP_DONE;
}

static void quit(struct conn *c, struct delivery *d)
{
  c->timeout = d->to.mail < 30 ? d->to.mail : 30;
  if (conn_puts(c, "QUIT\r\n")) conn_reply(c, &rep);  /* the answer changes nothing */
  conn_close(c);
}

static enum smtp_outcome transaction(struct delivery *d, struct conn *c, struct target const *t,
                                     struct ext const *e)
{
  char line[1200], text[RESULT_TEXTMAX];
  char *accepted = calloc(d->nrcpt ? d->nrcpt : 1, 1);
  unsigned i, nacc = 0;
  int mailpending;
  enum smtp_outcome out = SMTP_DONE;
  if (!accepted) { results_fill(d, 'Z', "4.3.0 out of memory"); conn_close(c); return SMTP_DONE; }
  if (e->size && e->maxsize && d->msg.wiresize > e->maxsize) {
    snprintf(text, sizeof text, "5.3.4 message size %zu exceeds the limit of %s (%lu)", d->msg.wiresize, t->name, e->maxsize);
    results_fill(d, 'D', text);
    goto done;
  }
  if (d->need_utf8 && !e->utf8) {
    snprintf(text, sizeof text, "5.6.7 the address needs SMTPUTF8, which %s does not offer", t->name);
    results_fill(d, 'D', text);
    goto done;
  }
  {
    int n = snprintf(line, sizeof line, "MAIL FROM:<%s>", d->sender);
    if (e->size) n += snprintf(line + n, sizeof line - (size_t)n, " SIZE=%zu", d->msg.wiresize);
    /* an 8-bit body goes out as it is even without 8BITMIME, as qmail does */
    if (d->msg.eightbit && e->eightbit) n += snprintf(line + n, sizeof line - (size_t)n, " BODY=8BITMIME");
    if (d->need_utf8) n += snprintf(line + n, sizeof line - (size_t)n, " SMTPUTF8");
    snprintf(line + n, sizeof line - (size_t)n, "\r\n");
  }
  c->timeout = d->to.mail;
  if (!conn_puts(c, line)) { out = lost(d, c, t, accepted, "MAIL"); goto out; }
  mailpending = 1;
  if (!e->pipelining) {
    if (!conn_reply(c, &rep)) { out = lost(d, c, t, accepted, "MAIL"); goto out; }
    mailpending = 0;
    if (rep.code != 250) { oneline(text, sizeof text); results_fill(d, code_of(rep.code), text); goto done; }
  }
  for (i = 0; i < d->nrcpt;) {
    unsigned w = e->pipelining ? PIPE_WINDOW : 1, k, end = i + w < d->nrcpt ? i + w : d->nrcpt;
    for (k = i; k < end; k++) {
      snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", d->rcpt[k]);
      if (!conn_puts(c, line)) { out = lost(d, c, t, accepted, "RCPT"); goto out; }
    }
    /* RFC 2920: DATA may follow the last RCPT in the same group */
    if (end == d->nrcpt && e->pipelining && !conn_puts(c, "DATA\r\n")) { out = lost(d, c, t, accepted, "DATA"); goto out; }
    if (mailpending) {
      c->timeout = d->to.mail;
      if (!conn_reply(c, &rep)) { out = lost(d, c, t, accepted, "MAIL"); goto out; }
      mailpending = 0;
      if (rep.code != 250) {
        /* the RCPT and DATA replies that follow are refusals too: do not wait for them */
        oneline(text, sizeof text); results_fill(d, code_of(rep.code), text);
        conn_close(c);
        goto out;
      }
    }
    c->timeout = d->to.rcpt;
    for (k = i; k < end; k++) {
      if (!conn_reply(c, &rep)) { out = lost(d, c, t, accepted, "RCPT"); goto out; }
      if (rep.code / 100 == 2) { accepted[k] = 1; nacc++; }
      else set_result(d, k, rep.code / 100 == 5 ? 'D' : 'Z');
    }
    i = end;
  }
  c->timeout = d->to.data;
  if (!e->pipelining) {
    if (!nacc) goto done;
    if (!conn_puts(c, "DATA\r\n")) { out = lost(d, c, t, accepted, "DATA"); goto out; }
  }
  if (!conn_reply(c, &rep)) { out = lost(d, c, t, accepted, "DATA"); goto out; }
  if (rep.code != 354) {
    oneline(text, sizeof text);
    for (i = 0; i < d->nrcpt; i++)
      if (accepted[i]) { d->res[i].code = code_of(rep.code); snprintf(d->res[i].text, sizeof d->res[i].text, "%s", text); }
    goto done;
  }
  if (!nacc) {
    /* a pipelined DATA that a broken peer accepted without recipients:
     * end it empty, its answer does not matter */
    c->timeout = d->to.block;
    if (conn_puts(c, ".\r\n")) conn_reply(c, &rep);
    goto done;
  }
  c->timeout = d->to.block;
  if (!msg_send(c, &d->msg) || !conn_flush(c)) { out = lost(d, c, t, accepted, "sending the message"); goto out; }
  c->timeout = d->to.dot;
  if (!conn_reply(c, &rep)) {
    /* a peer that went away after 354 fails this read too, though it never
     * had the message: the octets it acknowledged tell the two apart */
    int all = conn_all_acked(c);
    out = lost(d, c, t, accepted, all > 0 ? "after the final dot" : all == 0 ? "after 354, before the peer had the whole message"
                                   : "after the final dot (whether the peer had it all is unknown)");
    goto out;
  }
  for (i = 0; i < d->nrcpt; i++)
    if (accepted[i]) set_result(d, i, rep.code / 100 == 2 ? 'K' : code_of(rep.code));
done:
  quit(c, d);
out:
  free(accepted);
  return out;
}

enum smtp_outcome smtp_session(struct delivery *d, struct target const *t, int notls, char *why, size_t whylen)
{
  struct conn *c = malloc(sizeof *c);
  struct ext e;
  char ip[64], tx[300];
  int fi;
  enum smtp_outcome out = SMTP_NEXTHOST;
  if (!c) { snprintf(why, whylen, "4.3.0 out of memory"); return SMTP_NEXTHOST; }
  conn_addrfmt(&t->addr, ip, sizeof ip);
  fi = fam_index(t->addr.family);
  if (!conn_open(c, &t->addr, d->port, d->to.connect, d->hassrc[fi] ? &d->src[fi] : 0)) {
    enum fam_fail ff = fam_classify(c->errnum);
    if (ff > d->fam.failed[fi]) d->fam.failed[fi] = ff;
    snprintf(why, whylen, "4.4.1 %s [%s]: %s", t->name, ip, c->err);
    log_reply("connect", t, c->err);
    free(c);
    return SMTP_NEXTHOST;
  }
  d->fam.connected[fi] = 1;
  log_start("connect"); log_kv("host", t->name); log_kv("ip", ip); log_kvu("port", d->port); log_kv("result", "ok"); log_end();
  c->timeout = d->to.greeting;
  if (!conn_reply(c, &rep)) { snprintf(why, whylen, "4.4.2 %s [%s]: greeting: %s", t->name, ip, c->err); goto fail; }
  if (rep.code != 220) { oneline(tx, sizeof tx); snprintf(why, whylen, "4.4.2 %s [%s] greeted: %s", t->name, ip, tx); goto fail; }
  if (!hello(d, c, &e, why, whylen)) goto fail;
  if (e.starttls && !notls) {
    struct tls_info ti;
    if (!conn_puts(c, "STARTTLS\r\n") || !conn_reply(c, &rep)) { snprintf(why, whylen, "4.4.2 STARTTLS: %s", c->err); goto fail; }
    if (rep.code != 220) {
      oneline(tx, sizeof tx);
      log_reply("tls", t, tx);
      if (d->smarthost) { snprintf(why, whylen, "4.7.0 smarthost refused STARTTLS: %s", tx); goto fail; }
    } else {
      /* anything the peer sent before the handshake is discarded (RFC 3207 4.2) */
      c->rpos = c->rlen = 0;
      c->timeout = d->to.mail;
      /* a literal is verified as the address itself (iPAddress names) */
      if (!tls_start(c, t->name[0] != '[' ? t->name : ip, d->cafile, d->verify, &ti)) {
        log_start("tls"); log_kv("host", t->name); log_kv("ip", ip); log_kv("result", "failed"); log_kv("reason", c->err); log_end();
        snprintf(why, whylen, "4.7.0 %s [%s]: %s", t->name, ip, c->err);
        conn_close(c);
        free(c);
        return d->smarthost ? SMTP_NEXTHOST : SMTP_RETRY_PLAIN;
      }
      log_start("tls"); log_kv("host", t->name); log_kv("ip", ip); log_kv("result", "ok");
      log_kv("protocol", ti.protocol); log_kv("cipher", ti.cipher);
      log_kv("verified", ti.verified ? "yes" : "no");
      if (!ti.verified) log_kv("verify_error", ti.verify_error);
      log_end();
      if (d->verify && !ti.verified) {
        snprintf(why, whylen, "4.7.5 certificate of %s did not verify: %s", t->name, ti.verify_error);
        goto fail;
      }
      /* RFC 3207: forget what was learnt before TLS and greet again */
      if (!hello(d, c, &e, why, whylen)) goto fail;
    }
  } else if (d->smarthost) {
    snprintf(why, whylen, "4.7.0 smarthost %s does not offer STARTTLS", t->name);
    goto fail;
  }
  if (d->smarthost && d->authuser[0] && !auth(d, c, &e, why, whylen)) goto fail;
  out = transaction(d, c, t, &e);
  stamp(d, t, ip);
  free(c);
  return out;
fail:
  log_reply("hostfail", t, why);
  quit(c, d);
  free(c);
  return SMTP_NEXTHOST;
}
