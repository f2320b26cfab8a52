/* pochta-smtpd: one ESMTP session. The protocol engine (cmd.c, mail.c, data.c,
 * auth.c, starttls.c) reads its input through an io (io.c) and does every side
 * effect (enqueue, password check, TLS switch) through a hooks table, so the
 * same engine runs on a socket (main.c) or on a fuzzer's buffer (fuzz.c). */
#ifndef SMTPD_H
#define SMTPD_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>

#include "users.h"

#define CMD_MAX 512      /* RFC 5321 4.5.3.1.4: command line, CRLF included */
#define AUTH_LINE_MAX 1000 /* AUTH lines may be longer (RFC 4954 4): ours fit in this */
/* RFC 5321 4.5.3.1.6 asks every server to take text lines of 1000 octets with
 * their CRLF, and to avoid limits where it can: real mail (badly wrapped HTML)
 * has longer ones, and nothing on our side holds a line in memory. */
#define BODYLINE_MAX 1048576UL   /* octets of one message line, CRLF excluded */
#define RCPT_MAX 100     /* RFC 5321 4.5.3.1.8: recipients per transaction */
#define ERR_MAX 10       /* 5xx replies before the session is closed */
#define ADDR_MAX 254     /* RFC 5321 4.5.3.1.3: 256-octet path minus the brackets */
#define LOCAL_MAX 64     /* 4.5.3.1.1 */
#define HELO_MAX 255
#define DATABYTES_DEFAULT 26214400UL
#define TIMEOUT_DEFAULT 300
#define MINRATE_DEFAULT 500UL  /* octets per second, as Postfix's smtpd_min_data_rate */

/* Deadlines (pochta-smtpd(8), TIMEOUTS): a command line must arrive whole
 * within timeout seconds of the prompt, and every flush of our replies must be
 * taken whole within timeout: a client that trickles a byte now and then, or
 * reads a byte now and then, is closed all the same. A message (DATA, BDAT)
 * starts with the same deadline, and each octet that arrives moves it on by
 * 1/minrate seconds (at most to timeout from now): a client slower than
 * minrate octets per second runs out of time. */
typedef struct io_s io;
struct io_s {
  int rfd, wfd;
  unsigned timeout;        /* seconds; 0: no deadlines at all */
  unsigned minrate;        /* octets per second a message must keep up; 0: the timeout is per read */
  int inmsg;               /* reading a message: the deadline moves with what arrives */
  long long deadline;      /* monotonic ms by which the current read must end; 0: none */
  ssize_t (*rd)(io *, char *, size_t);   /* >0 bytes, 0 EOF, -1 error or timeout */
  int (*wr)(io *, char const *, size_t); /* 1 all written, 0 error */
  void *ctx;
  size_t ipos, ilen, olen;
  int timedout;
  char ibuf[16384];
  char obuf[4096];
};

void io_deadline(io *, int inmsg);    /* a command (0) or a message (1) starts now */
int io_fill(io *);                    /* flush, then read: 1 data, 0 EOF, -1 error */
int io_flush(io *);
int io_put(io *, char const *, size_t);
int io_puts(io *, char const *);
void io_discard(io *);                /* forget buffered input (STARTTLS) */
static inline int io_getc(io *x)      /* next input octet, -1 on EOF/error */
{
  if (x->ipos == x->ilen && io_fill(x) <= 0) return -1;
  return (unsigned char)x->ibuf[x->ipos++];
}
ssize_t io_fd_read(io *, char *, size_t);
void io_nonblock(int fd);
int io_fd_write(io *, char const *, size_t);

typedef struct smtpd_s smtpd;

/* What becomes of a whole message (inspect hook): answered how, with which header
 * fields above it (after our Received), without which of its own. */
#define VERDICT_DROP_MAX 64
enum { V_ACCEPT, V_REJECT, V_TEMPFAIL };
typedef struct verdict_s verdict;
struct verdict_s {
  int action;                 /* V_* */
  char reply[256];            /* the SMTP reply for V_REJECT and V_TEMPFAIL, no CRLF */
  stralloc add;               /* fields to put first, LF line ends */
  size_t drop[2 * VERDICT_DROP_MAX];   /* [start, end) of the message's fields to leave out */
  unsigned ndrop;
};

/* Side effects. Return conventions are written on each. */
typedef struct hooks_s hooks;
struct hooks_s {
  /* A place to hold the message until it is whole (the checks, the signing and our
   * own fields need all of it before the queue gets a byte). 1 ok, 0 failed. */
  int (*hold_open)(smtpd *);
  /* Octets of the held message (LF line ends). 1 ok, 0 failed (temporary). */
  int (*hold_write)(smtpd *, char const *, size_t);
  /* The held message as one array, valid until hold_close. 1 ok, 0 failed. */
  int (*hold_map)(smtpd *, char const **, size_t *);
  void (*hold_close)(smtpd *);
  /* Look at the whole message (msg, len): sender authentication, our own fields,
   * the signature of submitted mail. Fills v. 1 ok, 0 failed (temporary). */
  int (*inspect)(smtpd *, char const *msg, size_t len, verdict *v);
  /* A local recipient of an inbound session (greylisting); may be null. 1 pass, 0
   * refused with the reply in reply, -1 temporary failure. */
  int (*rcpt_check)(smtpd *, char const *rcpt, char *reply, size_t rlen);
  /* Start the enqueue program. 1 ok, 0 failed (temporary). */
  int (*queue_open)(smtpd *);
  /* Message octets (LF line ends). 1 ok, 0 the program stopped reading. */
  int (*queue_write)(smtpd *, char const *, size_t);
  /* commit: give the envelope and wait; !commit: abort so nothing is queued.
   * Returns the program's exit code (0 queued; -1 killed or not run); the queue
   * id, if the program gave one, goes into qid (17 octets). */
  int (*queue_close)(smtpd *, int commit, char *qid);
  /* 0 right password, 1 wrong, 2 temporary failure (checkpassword exit codes). */
  int (*auth_check)(smtpd *, char const *user, char const *pass);
  /* After the 220 is flushed: switch to TLS. 1 ok, 0 handshake failed (end). */
  int (*tls_start)(smtpd *);
};

enum { S_INIT, S_IDLE, S_MAIL, S_BDAT };   /* before HELO, no transaction, MAIL given, BDAT chunks */

/* Line errors found by line_read. */
#define L_LONG 1
#define L_BARELF 2
#define L_BARECR 4
#define L_NUL 8

/* Body errors found while reading DATA or BDAT. */
#define B_LONG 1
#define B_BARE 2
#define B_NUL 4
#define B_BIG 8
#define B_QUEUE 16   /* the enqueue program stopped reading */
#define B_HOPS 32    /* too many Received fields: a mail loop */
#define HOPS_MAX 100 /* RFC 5321 6.3: a large threshold, at least 100 */
#define HDR_MAX 16384 /* octets of From: and Sender: fields checked on submission */

struct smtpd_s {
  io io;
  hooks const *h;
  users u;
  /* fixed for the session */
  char const *me;
  char const *remoteip, *remotehost;
  unsigned long databytes;
  int submission, relayclient, plainauth, cantls;
  char sid[17];
  /* session */
  int state, esmtp, tls, done;
  char const *why;        /* why the session ends, for the log */
  unsigned errors;
  char helo[HELO_MAX + 1];
  stralloc user;          /* authenticated user (canonical), empty if none */
  /* transaction */
  stralloc env;           /* F<sender>\0 T<rcpt>\0 ... (final \0 added at commit) */
  unsigned nrcpt, nfinal;
  int utf8;               /* MAIL had SMTPUTF8 */
  char rcpt1[ADDR_MAX + 1];   /* the first RCPT as given, for Received "for" */
  char fwd[ADDR_MAX + 1];     /* the domain of the first local address that forwards off
                                 this host (an alias to a remote address): it ARC-seals */
  /* message being received */
  int qopen;              /* the hold is open */
  verdict v;
  int bflags, bstate;
  unsigned long msgbytes;  /* as RFC 1870 counts them: CRLF included, stuffing dots not */
  char lastc;             /* last octet given to the queue */
  unsigned long tlen;     /* octets in the current text line */
  /* header scan (header.c) */
  int inhead, hbol, hstate;  /* in the header, at a line start, where in a field */
  char hname[16];         /* the field name so far */
  size_t hnlen;
  unsigned hops;          /* Received fields in the header */
  int hcollect, hbig;     /* From:/Sender: are collected (submission); they overflowed */
  stralloc hdr;           /* F<from field>\0 S<sender field>\0 ..., unfolded */
  pid_t qpid;
  int qmsgfd, qenvfd, qidfd;
  size_t qlen;
  char qbuf[16384];
  /* current command line */
  size_t linelen;
  int lerr;
  char line[AUTH_LINE_MAX + 1];
};

/* cmd.c */
void smtpd_init(smtpd *, hooks const *);
void smtpd_run(smtpd *);                     /* greeting to QUIT or EOF */
int line_read(smtpd *, size_t max);          /* 1 line read (lerr says what was wrong), 0 EOF */
void reply(smtpd *, char const *);           /* one reply line; counts 5xx */
void reply2(smtpd *, char const *, char const *);
void txn_reset(smtpd *);
/* mail.c */
void cmd_mail(smtpd *, char *arg);
void cmd_rcpt(smtpd *, char *arg);
int utf8_valid(char const *, size_t);
/* data.c */
void cmd_data(smtpd *, char *arg);
void cmd_bdat(smtpd *, char *arg);
void msg_abort(smtpd *);
/* header.c */
void head_start(smtpd *);
void head_scan(smtpd *, char const *p, size_t n);
char const *head_owned(smtpd *);   /* NULL, or the reply refusing the message */
/* received.c */
int received(smtpd *, char *buf, size_t len);   /* header into buf: length, 0 if too small */
/* auth.c */
void cmd_auth(smtpd *, char *arg);
/* starttls.c */
void cmd_starttls(smtpd *, char *arg);
/* log.c */
void slog(smtpd *, char const *event, ...);      /* key, value pairs, NULL-terminated */

#endif
