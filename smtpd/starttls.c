/* STARTTLS (RFC 3207), the daemon side of the UCSPI-TLS convention: the engine
 * (pochta-tlsd) does the handshake; we say 220, hand over, then throw away
 * everything the client sent before the handshake (CVE-2011-0411: a command
 * pipelined after STARTTLS in clear text must never run as if it came over TLS)
 * and forget the session: EHLO, AUTH and any transaction. */
#include "smtpd.h"

void cmd_starttls(smtpd *s, char *arg)
{
  if (!s->cantls) { reply(s, "502 5.5.1 Error: command not implemented"); return; }
  if (s->tls) { reply(s, "503 5.5.1 Error: TLS already active"); return; }
  if (arg && *arg) { reply(s, "501 5.5.4 Syntax: STARTTLS"); return; }
  reply(s, "220 2.0.0 Ready to start TLS");
  if (!io_flush(&s->io)) { s->done = 1; s->why = "write"; return; }
  io_discard(&s->io);
  if (!s->h->tls_start(s)) { s->done = 1; s->why = "tls-failed"; return; }
  io_discard(&s->io);
  txn_reset(s);
  s->state = S_INIT;
  s->esmtp = 0;
  s->helo[0] = 0;
  s->user.len = 0;
  s->tls = 1;
  slog(s, "starttls", "result", "ok", (char *)0);
}
