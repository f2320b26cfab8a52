/* pochta-sendmail: the sendmail command line for local programs (cron, scripts,
 * mail user agents). Reads a message on stdin, adds Date, Message-Id and From
 * when missing, expands aliases and hands it to the queue.
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [--] [recipient...]
 * Exit codes are sendmail's (sysexits.h): see pochta-sendmail(8). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/random.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "enqueue.h"
#include "exitcodes.h"
#include "rfc822addr.h"
#include "signer.h"
#include "users.h"

char const *PROG = "pochta-sendmail";

/* sysexits.h values, spelled out: sendmail's callers test them. */
#define SX_USAGE 64
#define SX_DATAERR 65
#define SX_NOUSER 67
#define SX_UNAVAILABLE 69
#define SX_SOFTWARE 70
#define SX_OSERR 71
#define SX_TEMPFAIL 75

#define ADDR_MAX 320
#define RCPT_MAX 10000

static stralloc me = STRALLOC_ZERO;
static users db = USERS_ZERO;
static int db_open;   /* 0: an ordinary user, who may not read it */
static stralloc rcpts = STRALLOC_ZERO;   /* final recipients, NUL-terminated each */
static size_t nrcpts;

static void nomem(void) { strerr_diefu1sys(SX_TEMPFAIL, "allocate"); }

/* An address we are willing to put in an envelope: printable, no blanks, no
 * '<>' or quotes games, at most ADDR_MAX, with a non-empty local part. */
static int addr_ok(char const *s)
{
  size_t n = strlen(s);
  if (!n || n > ADDR_MAX || s[0] == '@' || s[0] == '-' || s[0] == '|') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '(' || c == ')') return 0;
  }
  return 1;
}

static int seen(char const *a)
{
  for (size_t i = 0; i < rcpts.len; i += strlen(rcpts.s + i) + 1)
    if (!strcmp(rcpts.s + i, a)) return 1;
  return 0;
}

static void add_final(char const *a)
{
  if (seen(a)) return;
  if (++nrcpts > RCPT_MAX) strerr_dief(SX_DATAERR, "too many recipients");
  if (!stralloc_catb(&rcpts, a, strlen(a) + 1)) nomem();
}

/* One recipient as given: complete a bare name with @me, expand local aliases
 * (the envelope must hold final recipients, see CONTRACTS), keep remote ones. */
static void add_rcpt(char const *given)
{
  stralloc a = STRALLOC_ZERO, canon = STRALLOC_ZERO, out = STRALLOC_ZERO;
  char const *at;
  int r;
  if (!stralloc_cats(&a, given)) nomem();
  if (!strchr(given, '@') && (!stralloc_catb(&a, "@", 1) || !stralloc_cat(&a, &me))) nomem();
  if (!stralloc_0(&a)) nomem();
  if (!addr_ok(a.s)) strerr_dief(SX_DATAERR, "bad recipient address: ", given);
  if (!users_canon(&canon, a.s, a.len - 1)) strerr_dief(SX_DATAERR, "bad recipient address: ", given);
  at = strrchr(canon.s, '@');
  /* A local user who may not read users.cdb hands the addresses over as they
   * are: pochta-send's pickup resolves them (pochta-postdrop(8)). */
  if (!db_open) { add_final(a.s); goto done; }
  r = users_domain_local(&db, at + 1);
  if (r < 0) strerr_diefu1sys(SX_TEMPFAIL, "read users.cdb");
  if (!r) {
    /* Remote: the local part keeps its case (RFC 5321 2.4), the domain does not. */
    memcpy(strrchr(a.s, '@'), at, strlen(at));
    add_final(a.s);
  } else {
    r = users_resolve(&db, canon.s, &out);
    if (r < 0) strerr_diefu1sys(SX_TEMPFAIL, "read users.cdb");
    if (!r) strerr_dief(SX_NOUSER, "no such local user: ", canon.s);
    for (size_t i = 0; i < out.len; i += strlen(out.s + i) + 1) add_final(out.s + i);
  }
 done:
  stralloc_free(&a); stralloc_free(&canon); stralloc_free(&out);
}

/* Is the header field at h (name then ':') named name? */
static int is_field(char const *h, size_t len, char const *name)
{
  size_t n = strlen(name);
  return len > n && h[n] == ':' && !strncasecmp(h, name, n);
}

static void usage(void)
{
  strerr_dieusage(SX_USAGE, "pochta-sendmail [-t] [-i] [-f sender] [-F fullname] [--] [recipient...]");
}

int main(int argc, char const *const *argv)
{
  char const *sender = 0, *fullname = 0;
  int opt_t = 0, opt_i = 0, i;
  unsigned long databytes;
  /* static: the program ends soon after, and what statics hold is not a leak */
  static stralloc in = STRALLOC_ZERO, msg = STRALLOC_ZERO, hdr = STRALLOC_ZERO, env = STRALLOC_ZERO;
  static stralloc tmp = STRALLOC_ZERO, found = STRALLOC_ZERO, snd = STRALLOC_ZERO;
  size_t pos, body;
  int have_date = 0, have_msgid = 0, have_from = 0;

  /* Options the way sendmail (and Postfix's sendmail) takes them. */
  for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    char const *o = argv[i] + 1;
    if (!strcmp(argv[i], "--")) { i++; break; }
    switch (*o) {
      case 't': if (o[1]) usage(); opt_t = 1; break;
      case 'i': if (o[1]) usage(); opt_i = 1; break;
      case 'f': case 'r': case 'F': {
        char const *v = o[1] ? o + 1 : (i + 1 < argc ? argv[++i] : 0);
        if (!v) usage();
        if (*o == 'F') fullname = v; else sender = v;
        break;
      }
      case 'o':   /* -oi is -i; other -o options are sendmail.cf knobs: ignored */
        if (!strcmp(o, "oi")) opt_i = 1;
        else if (!o[1]) { if (i + 1 < argc) i++; }
        break;
      case 'b':   /* only -bm (deliver mail, the default) */
        if (strcmp(o, "bm")) strerr_dief(SX_USAGE, "only -bm is supported, not ", argv[i]);
        break;
      case 'v': case 'm': case 'U': case 'n': break;
      case 'B': case 'N': case 'R': case 'V': case 'X': case 'h': case 'L': case 'O': case 'p': case 'q':
        if (*o == 'q') strerr_dief(SX_USAGE, "-q: use pochta queue");
        if (!o[1] && i + 1 < argc) i++;   /* takes an argument: ignored */
        break;
      default: usage();
    }
  }
  if (conf_line(&me, "me") <= 0) strerr_dief(SX_TEMPFAIL, "no me in ", conf_dir(), ": run pochta init");
  if (conf_ulong(&databytes, "databytes", 26214400) < 0) strerr_dief(SX_TEMPFAIL, "bad ", conf_dir(), "/databytes");
  if (users_open(&db) == 1) db_open = 1;
  else if (errno != EACCES) strerr_dief(SX_TEMPFAIL, "cannot use ", conf_dir(), "/users.cdb: ", users_why(errno));

  /* The envelope sender: -f, else the invoking user at me. "<>" or "" is null. */
  if (!sender) {
    char const *u = getenv("MAILUSER");
    if (!u || !*u) u = getenv("USER");
    if (!u || !*u) u = getenv("LOGNAME");
    if (!u || !*u) u = "root";
    if (!stralloc_cats(&tmp, u) || (!strchr(u, '@') && (!stralloc_catb(&tmp, "@", 1) || !stralloc_cat(&tmp, &me)))
     || !stralloc_0(&tmp)) nomem();
    sender = tmp.s;
  } else if (!strcmp(sender, "<>")) sender = "";
  else if (sender[0] == '<' && sender[strlen(sender) - 1] == '>') {
    if (!stralloc_catb(&found, sender + 1, strlen(sender) - 2) || !stralloc_0(&found)) nomem();
    sender = found.s;
  }
  if (*sender && !addr_ok(sender)) strerr_dief(SX_DATAERR, "bad sender address: ", sender);
  if (!stralloc_cats(&snd, sender) || !stralloc_0(&snd)) nomem();
  sender = snd.s;   /* own copy: tmp and found are reused below */

  /* The message: all of stdin, at most databytes. */
  for (;;) {
    if (!stralloc_readyplus(&in, 65536)) nomem();
    ssize_t r = read(0, in.s + in.len, 65536);
    if (r < 0) strerr_diefu1sys(SX_OSERR, "read the message");
    if (!r) break;
    in.len += r;
    if (in.len > databytes + databytes / 32 + 65536) break;   /* before CRLF -> LF */
  }

  /* CRLF -> LF (the queue holds LF, see CONTRACTS); without -i a line "." ends it. */
  for (pos = 0; pos < in.len; ) {
    size_t j = pos;
    while (j < in.len && in.s[j] != '\n') j++;
    size_t len = j - pos;
    if (len && in.s[pos + len - 1] == '\r') len--;
    if (!opt_i && len == 1 && in.s[pos] == '.' && j < in.len) break;
    if (!stralloc_catb(&msg, in.s + pos, len) || !stralloc_catb(&msg, "\n", 1)) nomem();
    pos = j + 1;
  }
  stralloc_free(&in);
  if (msg.len > databytes) strerr_dief(SX_DATAERR, "message larger than databytes");

  /* The header: fields up to the first empty line, or up to the first line that
   * is not a field (then the message has no header worth the name). */
  found.len = 0;
  for (pos = 0; pos < msg.len; ) {
    size_t j = pos, k;
    if (msg.s[pos] == '\n') { pos++; break; }
    /* a field name: printable, no blank, then ':' */
    for (k = pos; k < msg.len && msg.s[k] > ' ' && msg.s[k] < 0x7f && msg.s[k] != ':'; k++) ;
    if (k == pos || k >= msg.len || msg.s[k] != ':') break;
    /* the field with its continuation lines */
    for (;;) {
      while (j < msg.len && msg.s[j] != '\n') j++;
      if (j + 1 < msg.len && (msg.s[j+1] == ' ' || msg.s[j+1] == '\t')) { j++; continue; }
      break;
    }
    char const *f = msg.s + pos;
    size_t flen = j - pos;
    if (is_field(f, flen, "date")) have_date = 1;
    if (is_field(f, flen, "message-id")) have_msgid = 1;
    if (is_field(f, flen, "from")) have_from = 1;
    int is_bcc = is_field(f, flen, "bcc");
    if (opt_t && (is_field(f, flen, "to") || is_field(f, flen, "cc") || is_bcc)) {
      char const *colon = memchr(f, ':', flen);
      if (rfc822_addrs(colon + 1, flen - (colon + 1 - f), &found) < 0) nomem();
    }
    /* Bcc never leaves: that is what it means. */
    if (!is_bcc && (!stralloc_catb(&hdr, f, flen) || !stralloc_catb(&hdr, "\n", 1))) nomem();
    pos = j < msg.len ? j + 1 : j;
  }
  /* The body: after the empty line, or from the first line that is not a field
   * (an empty line is put in front of it below). */
  body = pos;

  for (size_t k = 0; k < found.len; k += strlen(found.s + k) + 1) add_rcpt(found.s + k);
  for (; i < argc; i++) add_rcpt(argv[i]);
  if (!nrcpts) strerr_dief(SX_USAGE, "no recipients (give them as arguments, or use -t)");

  /* Missing fields, after the others. */
  if (!have_date) {
    char d[64];
    time_t now = time(0);
    struct tm tm;
    if (!localtime_r(&now, &tm) || !strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S %z", &tm)) strerr_diefu1sys(SX_OSERR, "format the date");
    if (!stralloc_cats(&hdr, "Date: ") || !stralloc_cats(&hdr, d) || !stralloc_catb(&hdr, "\n", 1)) nomem();
  }
  if (!have_msgid) {
    char id[96];
    unsigned char r[8];
    random_buf((char *)r, sizeof r);
    snprintf(id, sizeof id, "<%lld.%ld.%02x%02x%02x%02x%02x%02x%02x%02x@", (long long)time(0), (long)getpid(),
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    if (!stralloc_cats(&hdr, "Message-Id: ") || !stralloc_cats(&hdr, id) || !stralloc_cat(&hdr, &me)
     || !stralloc_cats(&hdr, ">\n")) nomem();
  }
  if (!have_from) {
    if (!stralloc_cats(&hdr, "From: ")) nomem();
    if (fullname) {
      /* A quoted display name: quotes, backslashes and controls dropped. */
      if (!stralloc_catb(&hdr, "\"", 1)) nomem();
      for (char const *p = fullname; *p; p++)
        if ((unsigned char)*p >= ' ' && *p != '"' && *p != '\\' && *p != 0x7f && !stralloc_catb(&hdr, p, 1)) nomem();
      if (!stralloc_cats(&hdr, "\" ")) nomem();
    }
    if (!stralloc_catb(&hdr, "<", 1) || !stralloc_cats(&hdr, *sender ? sender : "MAILER-DAEMON") || !stralloc_cats(&hdr, ">\n")) nomem();
  }
  if (!stralloc_catb(&hdr, "\n", 1)) nomem();
  if (!stralloc_catb(&hdr, msg.s + body, msg.len - body)) nomem();
  if (hdr.len > databytes) strerr_dief(SX_DATAERR, "message larger than databytes");

  /* Envelope: F<sender>\0 T<rcpt>\0 ... \0 */
  if (!stralloc_catb(&env, "F", 1) || !stralloc_cats(&env, sender) || !stralloc_0(&env)) nomem();
  for (size_t k = 0; k < rcpts.len; k += strlen(rcpts.s + k) + 1)
    if (!stralloc_catb(&env, "T", 1) || !stralloc_catb(&env, rcpts.s + k, strlen(rcpts.s + k) + 1)) nomem();
  if (!stralloc_0(&env)) nomem();

  /* DKIM: the signature fields go in front (nothing when the From: domain does not
   * sign, or pochta-dkimsign is not installed). */
  {
    char sig[SIGNER_OUT_MAX];
    struct iovec iov = { .iov_base = hdr.s, .iov_len = hdr.len };
    size_t siglen;
    int st;
    if (signer_run(&iov, 1, sig, sizeof sig, &siglen, &st) == SIGNER_FAIL)
      strerr_dief(SX_TEMPFAIL, "cannot sign the message now (pochta-dkimsign failed; see its message above)");
    if (siglen && !stralloc_insertb(&hdr, 0, sig, siglen)) nomem();
  }

  int r = enqueue(hdr.s, hdr.len, env.s, env.len);
  if (r == 0) return 0;
  if (r < 0) strerr_diefu1sys(SX_TEMPFAIL, "run the queue program");
  {
    char c[16];
    snprintf(c, sizeof c, "%d", r);
    if (QX_IS_PERMANENT(r)) strerr_dief(SX_UNAVAILABLE, "the queue refused the message for good (exit ", c, ")");
    strerr_dief(SX_TEMPFAIL, "the queue could not take the message now (exit ", c, ")");
  }
}
