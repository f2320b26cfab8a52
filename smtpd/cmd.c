/* The session loop and the command table: a command is a row (verb, the states
 * it is allowed in, what to say otherwise, handler). MAIL/RCPT live in mail.c,
 * DATA/BDAT in data.c, AUTH in auth.c, STARTTLS in starttls.c. */
#include <string.h>
#include <strings.h>

#include "smtpd.h"

#define IN(s) (1u << (s))

void reply(smtpd *s, char const *line)
{
  if (line[0] == '5') s->errors++;
  if (!io_puts(&s->io, line) || !io_put(&s->io, "\r\n", 2)) s->done = 1;
}

/* A reply made of two parts (fixed text + something of ours, never client data
 * that was not validated). */
void reply2(smtpd *s, char const *a, char const *b)
{
  if (a[0] == '5') s->errors++;
  if (!io_puts(&s->io, a) || !io_puts(&s->io, b) || !io_put(&s->io, "\r\n", 2)) s->done = 1;
}

void txn_reset(smtpd *s)
{
  if (s->qopen) msg_abort(s);
  s->env.len = 0;
  s->nrcpt = s->nfinal = 0;
  s->utf8 = 0;
  s->rcpt1[0] = 0;
  s->fwd[0] = 0;
  if (s->state != S_INIT) s->state = S_IDLE;
}

/* Read one line, ended by LF, into s->line (without the line end). Stores at
 * most max-2 octets; reads on to the LF whatever comes. A line end is CRLF only:
 * a bare LF ends the line but marks it bad, a CR not followed by LF marks it bad. */
int line_read(smtpd *s, size_t max)
{
  size_t n = 0;
  int cr = 0, err = 0;
  if (max > sizeof s->line) max = sizeof s->line;
  io_deadline(&s->io, 0);
  for (;;) {
    int c = io_getc(&s->io);
    if (c < 0) return 0;
    if (c == '\n') { if (!cr) err |= L_BARELF; break; }
    if (cr) { err |= L_BARECR; cr = 0; }
    if (c == '\r') { cr = 1; continue; }
    if (!c) err |= L_NUL;
    if (n + 2 < max) s->line[n++] = (char)c;
    else err |= L_LONG;
  }
  s->line[n] = 0;
  s->linelen = n;
  s->lerr = err;
  return 1;
}

static int helo_ok(char const *h)
{
  size_t n = strlen(h);
  if (!n || n > HELO_MAX) return 0;
  for (; *h; h++) {
    unsigned char c = (unsigned char)*h;
    /* what goes into Received and the logs: printable, no comment or quote chars */
    if (c <= 32 || c >= 127 || c == '(' || c == ')' || c == '\\' || c == '"' || c == '<' || c == '>') return 0;
  }
  return 1;
}

static int may_auth(smtpd *s) { return s->tls || s->plainauth; }

static void do_helo(smtpd *s, char *arg, int esmtp)
{
  if (!arg || !*arg) { reply(s, esmtp ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname"); return; }
  if (!helo_ok(arg)) { reply(s, "501 5.5.4 Invalid domain name"); return; }
  txn_reset(s);
  memcpy(s->helo, arg, strlen(arg) + 1);
  s->esmtp = esmtp;
  s->state = S_IDLE;
  slog(s, esmtp ? "ehlo" : "helo", "name", s->helo, (char *)0);
  if (!esmtp) { reply2(s, "250 ", s->me); return; }
  {
    char size[32];
    char const *ext[12];
    size_t n = 0, i;
    unsigned long v = s->databytes;
    char tmp[24];
    size_t k = 0;
    do { tmp[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    memcpy(size, "SIZE ", 5);
    for (i = 0; i < k; i++) size[5 + i] = tmp[k - 1 - i];
    size[5 + k] = 0;
    ext[n++] = "PIPELINING";
    ext[n++] = size;
    ext[n++] = "8BITMIME";
    ext[n++] = "ENHANCEDSTATUSCODES";
    ext[n++] = "SMTPUTF8";
    ext[n++] = "CHUNKING";
    if (s->cantls && !s->tls) ext[n++] = "STARTTLS";
    if (may_auth(s) && !s->user.len) ext[n++] = "AUTH PLAIN LOGIN";
    ext[n++] = "HELP";
    io_puts(&s->io, "250-");
    io_puts(&s->io, s->me);
    io_puts(&s->io, "\r\n");
    for (i = 0; i < n; i++) {
      io_puts(&s->io, i + 1 < n ? "250-" : "250 ");
      io_puts(&s->io, ext[i]);
      if (!io_puts(&s->io, "\r\n")) s->done = 1;
    }
  }
}

static void cmd_ehlo(smtpd *s, char *arg) { do_helo(s, arg, 1); }
static void cmd_helo(smtpd *s, char *arg) { do_helo(s, arg, 0); }

static void cmd_noop(smtpd *s, char *arg) { (void)arg; reply(s, "250 2.0.0 Ok"); }

static void cmd_rset(smtpd *s, char *arg)
{
  if (arg && *arg) { reply(s, "501 5.5.4 Syntax: RSET"); return; }
  txn_reset(s);
  reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(smtpd *s, char *arg)
{
  (void)arg;
  reply2(s, "221 2.0.0 Bye from ", s->me);
  s->done = 1;
  s->why = "quit";
}

static void cmd_vrfy(smtpd *s, char *arg)
{
  if (!arg || !*arg) { reply(s, "501 5.5.4 Syntax: VRFY address"); return; }
  reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_help(smtpd *s, char *arg)
{
  (void)arg;
  reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

struct cmd {
  char const *verb;
  unsigned states;       /* where it is allowed */
  void (*fn)(smtpd *, char *arg);
};

static struct cmd const cmds[] = {
  { "EHLO", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL), cmd_ehlo },
  { "HELO", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL), cmd_helo },
  { "MAIL", IN(S_IDLE), cmd_mail },
  { "RCPT", IN(S_MAIL), cmd_rcpt },
  { "DATA", IN(S_MAIL), cmd_data },
  { "BDAT", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL) | IN(S_BDAT), cmd_bdat },  /* checks inside: it must skip the chunk */
  { "RSET", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL) | IN(S_BDAT), cmd_rset },
  { "NOOP", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL) | IN(S_BDAT), cmd_noop },
  { "QUIT", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL) | IN(S_BDAT), cmd_quit },
  { "VRFY", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL), cmd_vrfy },
  { "HELP", IN(S_INIT) | IN(S_IDLE) | IN(S_MAIL) | IN(S_BDAT), cmd_help },
  { "AUTH", IN(S_IDLE), cmd_auth },
  { "STARTTLS", IN(S_INIT) | IN(S_IDLE), cmd_starttls },
};

static char const *sequence_error(smtpd *s, char const *verb)
{
  if (s->state == S_BDAT) return "503 5.5.1 Error: BDAT transaction in progress";
  if (s->state == S_INIT && strcasecmp(verb, "STARTTLS")) return "503 5.5.1 Error: send EHLO or HELO first";
  if (!strcasecmp(verb, "MAIL")) return "503 5.5.1 Error: nested MAIL command";
  if (!strcasecmp(verb, "AUTH")) return "503 5.5.1 Error: AUTH not allowed during a mail transaction";
  if (!strcasecmp(verb, "STARTTLS")) return "503 5.5.1 Error: STARTTLS not allowed during a mail transaction";
  return "503 5.5.1 Error: need MAIL command";
}

static void dispatch(smtpd *s)
{
  char *verb = s->line, *arg = 0;
  size_t i;
  if (s->lerr & L_LONG) { reply(s, "500 5.5.2 Error: line too long"); return; }
  if (s->lerr & L_NUL) { reply(s, "500 5.5.2 Error: NUL character in command"); return; }
  if (s->lerr & (L_BARELF | L_BARECR)) { reply(s, "500 5.5.2 Error: bare LF or CR in command"); return; }
  for (i = 0; i < s->linelen && s->line[i] != ' '; i++) ;
  if (i < s->linelen) {
    s->line[i] = 0;
    arg = s->line + i + 1;
    while (*arg == ' ') arg++;
  }
  /* Every line but AUTH's must fit in the 512-octet limit. */
  if (s->linelen > CMD_MAX - 2 && strcasecmp(verb, "AUTH")) { reply(s, "500 5.5.2 Error: line too long"); return; }
  for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (strcasecmp(verb, cmds[i].verb)) continue;
    if (!(cmds[i].states & IN(s->state))) {
      reply(s, sequence_error(s, verb));
      return;
    }
    cmds[i].fn(s, arg);
    return;
  }
  if (!s->linelen) { reply(s, "500 5.5.2 Error: empty command"); return; }
  reply(s, "500 5.5.1 Error: command not recognized");
}

void smtpd_init(smtpd *s, hooks const *h)
{
  memset(s, 0, offsetof(smtpd, qbuf));
  s->h = h;
  s->state = S_INIT;
  s->qpid = -1;
  s->qmsgfd = s->qenvfd = s->qidfd = -1;
  s->user = stralloc_zero;
  s->env = stralloc_zero;
  s->hdr = stralloc_zero;
  s->databytes = DATABYTES_DEFAULT;
  s->me = "localhost";
}

void smtpd_run(smtpd *s)
{
  slog(s, "connect", "ip", s->remoteip, "tls", s->tls ? "implicit" : "no", (char *)0);
  if (!io_puts(&s->io, "220 ") || !io_puts(&s->io, s->me) || !io_puts(&s->io, " ESMTP pochta\r\n")) s->done = 1;
  while (!s->done) {
    if (!line_read(s, sizeof s->line)) {
      if (s->io.timedout) {
        reply2(s, "421 4.4.2 Timeout, closing connection: ", s->me);
        s->why = "timeout";
      } else s->why = "eof";
      break;
    }
    dispatch(s);
    if (!s->done && s->errors >= ERR_MAX) {
      reply(s, "421 4.7.0 Too many errors, closing connection");
      s->why = "errors";
      break;
    }
  }
  if (s->qopen) msg_abort(s);
  io_flush(&s->io);
  if (!s->why) s->why = s->io.timedout ? "timeout" : "write";
  slog(s, "close", "reason", s->why, (char *)0);
}
