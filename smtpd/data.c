/* DATA and BDAT: where the message ends, and what is refused.
 *
 * The body is read octet by octet through one state machine (step below), so
 * that DATA ends at CRLF.CRLF and nowhere else (SMTP smuggling: a bare LF or a
 * bare CR never counts as a line end, it marks the message bad, and the message
 * is then read to its real end and refused). Lines starting with a dot are
 * unstuffed; CRLF becomes LF on the way to the queue (doc/CONTRACTS.md). BDAT
 * chunks go through the same machine without the dot rules. The message is held
 * (hold hooks) as it arrives; once it is whole and clean, the inspect hook says
 * what becomes of it (checks, signature, our fields) and only then is it queued,
 * behind our Received field and the fields the inspection added. A message found
 * bad never reaches the queue. */
#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "smtpd.h"

int smtpd_number(char const *, unsigned long long *);

enum { D_BOL, D_TEXT, D_CR, D_DOT, D_DOTCR };

static void qflush(smtpd *s)
{
  if (s->qlen && !(s->bflags & B_QUEUE) && !s->h->hold_write(s, s->qbuf, s->qlen)) s->bflags |= B_QUEUE;
  s->qlen = 0;
}

/* n octets of message content, counted against the size limit (wire is the
 * number of octets they stood for on the wire: a CRLF is stored as LF but
 * counts two, RFC 1870); once the message is known bad nothing more is
 * written. */
static void emitw(smtpd *s, char const *p, size_t n, size_t wire)
{
  if (s->inhead) head_scan(s, p, n);
  s->msgbytes += wire;
  if (s->msgbytes > s->databytes) s->bflags |= B_BIG;
  if (s->bflags || !n) return;
  s->lastc = p[n - 1];
  while (n) {
    size_t room = sizeof s->qbuf - s->qlen;
    if (room > n) room = n;
    memcpy(s->qbuf + s->qlen, p, room);
    s->qlen += room;
    p += room;
    n -= room;
    if (s->qlen == sizeof s->qbuf) qflush(s);
  }
}

static void emit(smtpd *s, char const *p, size_t n) { emitw(s, p, n, n); }

/* One octet of text inside a line. */
static void text(smtpd *s, int c)
{
  char ch = (char)c;
  if (c == '\r') { s->bstate = D_CR; return; }
  s->bstate = D_TEXT;
  if (c == '\n') { s->bflags |= B_BARE; return; }   /* bare LF: never a line end */
  if (!c) s->bflags |= B_NUL;
  if (++s->tlen > BODYLINE_MAX) s->bflags |= B_LONG;
  emit(s, &ch, 1);
}

/* Feed one octet; dots: DATA rules. 1 when CRLF.CRLF has just ended the data. */
static int step(smtpd *s, int c, int dots)
{
  switch (s->bstate) {
  case D_BOL:
    s->tlen = 0;
    if (dots && c == '.') { s->tlen = 1; s->bstate = D_DOT; return 0; }
    break;
  case D_DOT:   /* the leading dot is dropped (unstuffing); ".\r" may end the data */
    if (c == '\r') { s->bstate = D_DOTCR; return 0; }
    break;
  case D_DOTCR:
    if (c == '\n') return 1;
    s->bflags |= B_BARE;
    break;
  case D_CR:
    if (c == '\n') { emitw(s, "\n", 1, 2); s->bstate = D_BOL; return 0; }
    s->bflags |= B_BARE;
    break;
  }
  text(s, c);
  return 0;
}

/* Inside a line, take the run of ordinary octets from the input buffer at once. */
static size_t fast(smtpd *s, size_t max)
{
  char const *p = s->io.ibuf + s->io.ipos, *q = p;
  char const *end = s->io.ibuf + s->io.ilen;
  size_t n;
  if (s->bstate != D_TEXT) return 0;
  if ((size_t)(end - p) > max) end = p + max;
  while (q < end && *q != '\r' && *q != '\n' && *q) q++;
  n = (size_t)(q - p);
  s->tlen += n;
  if (s->tlen > BODYLINE_MAX) s->bflags |= B_LONG;
  emit(s, p, n);
  s->io.ipos += n;
  return n;
}

/* Open the hold for a new message. 1 ok, 0 failed. */
static int msg_begin(smtpd *s)
{
  s->bflags = 0;
  s->msgbytes = 0;
  s->qlen = 0;
  s->lastc = '\n';
  s->bstate = D_BOL;
  head_start(s);
  if (!s->h->hold_open(s)) return 0;
  s->qopen = 1;
  return 1;
}

void msg_abort(smtpd *s)
{
  if (!s->qopen) return;
  s->qopen = 0;
  s->qlen = 0;
  s->h->hold_close(s);
}

/* The held message behind our Received field and the inspection's fields, into
 * the queue, leaving out the fields the inspection dropped. The queue's exit
 * code (0 queued), qid set. */
static int enqueue(smtpd *s, char const *m, size_t len, char *qid)
{
  verdict const *v = &s->v;
  size_t n = received(s, s->qbuf, sizeof s->qbuf), pos = 0;
  int ok;
  if (!n || !s->h->queue_open(s)) return -1;
  ok = s->h->queue_write(s, s->qbuf, n) && (!v->add.len || s->h->queue_write(s, v->add.s, v->add.len));
  for (unsigned i = 0; ok && i <= v->ndrop; i++) {
    size_t end = i < v->ndrop ? v->drop[2 * i] : len;
    if (end > pos) ok = s->h->queue_write(s, m + pos, end - pos);
    if (i < v->ndrop) pos = v->drop[2 * i + 1];
  }
  return s->h->queue_close(s, ok, qid);
}

static void lost(smtpd *s)
{
  msg_abort(s);
  if (s->io.timedout) reply2(s, "421 4.4.2 Timeout, closing connection: ", s->me);
  s->why = s->io.timedout ? "timeout" : "eof";
  s->done = 1;
}

/* The message is complete: refuse it or commit it, and say which. */
static void msg_end(smtpd *s)
{
  char qid[17] = "";
  char nb[24];
  char const *own;
  int code;
  unsigned long long v = s->msgbytes;
  size_t k = sizeof nb - 1;
  nb[k] = 0;
  do { nb[--k] = (char)('0' + v % 10); v /= 10; } while (v);
  if (!s->bflags && s->lastc != '\n') emitw(s, "\n", 1, 0);   /* BDAT text without final line end: not on the wire */
  if (!s->bflags) qflush(s);
  if (!(s->bflags & ~B_QUEUE) && (own = head_owned(s))) {
    msg_abort(s);
    slog(s, "reject", "bytes", nb + k, "reply", own, (char *)0);
    reply(s, own);
    txn_reset(s);
    return;
  }
  if (s->bflags & ~B_QUEUE) {
    char const *r = (s->bflags & B_BIG) ? "552 5.3.4 Error: message size exceeds fixed maximum message size"
      : (s->bflags & B_HOPS) ? "554 5.4.6 Error: too many hops (Received fields): mail loop"
      : (s->bflags & B_NUL) ? "554 5.6.0 Error: message refused: NUL character in message"
      : (s->bflags & B_BARE) ? "554 5.6.0 Error: message refused: bare LF or CR in message"
      : "554 5.6.0 Error: message refused: line longer than 1048576 octets";
    msg_abort(s);
    slog(s, "reject", "bytes", nb + k, "reply", r, (char *)0);
    reply(s, r);
    txn_reset(s);
    return;
  }
  {
    char const *m;
    size_t len;
    verdict *v = &s->v;
    v->action = V_ACCEPT; v->reply[0] = 0; v->add.len = 0; v->ndrop = 0;
    if ((s->bflags & B_QUEUE) || !s->h->hold_map(s, &m, &len)) code = -1;
    else if (!s->h->inspect(s, m, len, v)) code = -1;
    else if (v->action != V_ACCEPT) {
      msg_abort(s);
      slog(s, "reject", "bytes", nb + k, "reply", v->reply, (char *)0);
      reply(s, v->reply);
      txn_reset(s);
      return;
    } else code = enqueue(s, m, len, qid);
    msg_abort(s);   /* the hold is done with */
  }
  if (!code) {
    slog(s, "queued", "qid", qid[0] ? qid : s->sid, "bytes", nb + k, (char *)0);
    reply2(s, "250 2.0.0 Ok: queued as ", qid[0] ? qid : s->sid);
  } else {
    char c[12];
    unsigned u = code < 0 ? 0u : (unsigned)code;
    size_t i = sizeof c - 1;
    c[i] = 0;
    do { c[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    slog(s, "queue-failed", "exit", code < 0 ? "signal" : c + i, (char *)0);
    if (code > 0 && QX_IS_PERMANENT(code)) reply(s, "554 5.3.0 Error: message refused by the queue");
    else reply(s, "451 4.3.0 Error: temporary queue failure, try again later");
  }
  txn_reset(s);
}

void cmd_data(smtpd *s, char *arg)
{
  if (arg && *arg) { reply(s, "501 5.5.4 Syntax: DATA"); return; }
  if (!s->nfinal) { reply(s, "554 5.5.1 Error: no valid recipients"); return; }
  if (!msg_begin(s)) { reply(s, "451 4.3.0 Error: queue unavailable, try again later"); return; }
  reply(s, "354 End data with <CR><LF>.<CR><LF>");
  if (!io_flush(&s->io)) { lost(s); return; }
  io_deadline(&s->io, 1);
  for (;;) {
    int c;
    while (fast(s, (size_t)-1)) ;
    c = io_getc(&s->io);
    if (c < 0) { lost(s); return; }
    if (step(s, c, 1)) break;
  }
  msg_end(s);
}

/* BDAT size [LAST] (RFC 3030). A chunk whose size we know is always read, even
 * when the command is refused, so the stream stays in step; a size we cannot
 * read (or will not read) ends the session after the reply. */
void cmd_bdat(smtpd *s, char *arg)
{
  unsigned long long size, left;
  char *sz = arg, *rest = 0;
  int last = 0;
  char const *err = 0;
  if (arg) {
    rest = strchr(arg, ' ');
    if (rest) { *rest++ = 0; while (*rest == ' ') rest++; }
  }
  if (rest && *rest) {
    if (!strcasecmp(rest, "LAST")) last = 1;
    else sz = 0;
  }
  if (!sz || !smtpd_number(sz, &size)) {
    reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
    txn_reset(s);
    s->done = 1; s->why = "bdat-syntax";
    return;
  }
  if (size > s->databytes) {   /* more than we would ever take: do not read it */
    reply(s, "552 5.3.4 Error: message size exceeds fixed maximum message size");
    txn_reset(s);
    s->done = 1; s->why = "bdat-size";
    return;
  }
  if (s->state == S_INIT) err = "503 5.5.1 Error: send EHLO first";
  else if (!s->esmtp) err = "503 5.5.1 Error: BDAT needs EHLO";
  else if (s->state == S_IDLE) err = "503 5.5.1 Error: need MAIL command";
  else if (!s->nfinal) err = "554 5.5.1 Error: no valid recipients";
  else if (s->state == S_MAIL && !msg_begin(s)) err = "451 4.3.0 Error: queue unavailable, try again later";
  io_deadline(&s->io, 1);
  if (err) {
    for (left = size; left; left--) if (io_getc(&s->io) < 0) { lost(s); return; }
    reply(s, err);
    if (s->state == S_MAIL) txn_reset(s);
    return;
  }
  s->state = S_BDAT;
  for (left = size; left; ) {
    int c;
    size_t n = fast(s, left);
    left -= n;
    if (n || !left) continue;
    c = io_getc(&s->io);
    if (c < 0) { lost(s); return; }
    step(s, c, 0);
    left--;
  }
  if (s->bflags & B_BIG) {
    msg_abort(s);
    reply(s, "552 5.3.4 Error: message size exceeds fixed maximum message size");
    txn_reset(s);
    return;
  }
  if (!last) {
    char b[64];
    size_t k = sizeof b - 1;
    unsigned long long v = size;
    b[k] = 0;
    do { b[--k] = (char)('0' + v % 10); v /= 10; } while (v);
    reply2(s, "250 2.0.0 Ok: octets received: ", b + k);
    return;
  }
  if (s->bstate == D_CR) s->bflags |= B_BARE;   /* a CR that nothing followed */
  msg_end(s);
}
