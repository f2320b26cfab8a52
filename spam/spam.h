/* spam/spam.h — spam and virus filtering: what other programs call.
 *
 * Three places use it (pochta-spam(5) says what each does, pochta-bayes(5) how the
 * per-user token database is kept):
 *
 *  - pochta-smtpd, port 25: spam_smtp_rcpt() at each RCPT (greylisting) and
 *    spam_smtp_data() at the end of DATA/BDAT (rate limit, clamd, rules, HELO,
 *    sender-authentication results, DNSBL/DNSWL; the score). Their verdicts are
 *    SMTP replies; on accept, the header fields to add behind our Received field.
 *    On every message (submission too): spam_drops().
 *  - pochta-send's delivery worker, per local recipient: spam_deliver_decide() adds
 *    the user's Bayes opinion to the SMTP-time score and says INBOX or .Junk.
 *  - learning (pochta learn, pochta-imapd on moves into and out of Junk):
 *    spam_learn_*().
 *
 * The engines (tokenizer, classifier, rules, DNS lists, greylisting and rate
 * decisions, the clamd protocol, the configuration parsers) work on memory only;
 * every effect (DNS, clamd's socket, the state files, the clock) goes through the
 * hooks of a spam context, real ones from spam_open(). Nothing here prints or exits.
 *
 * Uses skalibs (stralloc, sha256) and mime/ (MIME_OBJ): a build.mk that links
 * SPAM_OBJ includes spam/build.mk first (it includes mime/build.mk).
 *
 * Return values follow skalibs: 1 success, 0 failure with errno set, unless a
 * function says otherwise. */
#ifndef POCHTA_SPAM_H
#define POCHTA_SPAM_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

/* ---------------------------------------------------------------- bounds */
#define SPAM_SCAN_MAX (2u << 20)     /* octets of a message scored and tokenized */
#define SPAM_TEXT_MAX (512u << 10)   /* decoded text kept of one message */
#define SPAM_PART_MAX (256u << 10)   /* octets of one part's body decoded */
#define SPAM_LEAVES_MAX 100          /* text parts decoded */
#define SPAM_HOSTS_MAX 100           /* distinct URL hosts kept */
#define SPAM_TOKENS_MAX 10000        /* distinct tokens of one message */
#define SPAM_RULES_MAX 5000          /* rules in the rules file */
#define SPAM_HITS_MAX 64             /* rule hits named in X-Spam-Status */
#define SPAM_VALUE_MAX 8192          /* decoded header value a rule looks at */
#define SPAM_FIELDS_MAX 1000         /* header fields of the message looked at */

/* ---------------------------------------------------------------- configuration */

typedef struct spam_rule_s spam_rule;     /* spam-int.h */

typedef struct spam_net_s spam_net;
struct spam_net_s { int v6; unsigned char ip[16]; unsigned bits; };

#define SPAM_OFF 1e9   /* a threshold that is never reached */

typedef struct spam_conf_s spam_conf;
struct spam_conf_s {
  /* <confdir>/spam */
  int score;                 /* score at SMTP time (default on; off: rate limit and clamd only) */
  double reject;             /* SMTP-time score at or above: 550 5.7.1 (default 15) */
  double junk;               /* default per-user Junk threshold (default 5) */
  int bayes;                 /* classify at delivery (default on) */
  unsigned bayes_min;        /* messages of each class learned before an opinion (10) */
  double bayes_spam;         /* points for a Bayes probability of 1 (default 6: alone, p >= 0.92 reaches junk 5) */
  double bayes_ham;          /* points taken for a probability of 0 (default 3) */
  unsigned bayes_tokens;     /* tokens kept per user; more are pruned (150000) */
  unsigned dns_timeout;      /* ms per DNS list question (2000) */
  unsigned dns_budget;       /* ms for all DNS list questions of a message (6000) */
  unsigned dns_urls;         /* URL hosts looked up in domain lists (10) */
  char clamd[120];           /* "" (off), "unix:/path" or "tcp:host:port" */
  int clamd_strict;          /* clamd failed: 1 tempfail (default), 0 accept */
  unsigned clamd_timeout;    /* seconds for one scan (60) */
  unsigned grey_delay;       /* seconds a new triplet waits (300) */
  unsigned grey_window;      /* a retry later than this starts over (172800) */
  unsigned grey_expire;      /* a passed triplet unseen this long is forgotten (3024000) */
  unsigned grey_clients;     /* triplets passed before a client is no longer greylisted (5; 0 never) */
  unsigned grey_net4, grey_net6;   /* client prefix of a triplet (24, 64) */
  unsigned rate_max;         /* messages per client per rate_period; 0: no limit */
  unsigned rate_period;      /* seconds (3600) */
  unsigned rate_net4, rate_net6;   /* client prefix counted together (32, 64) */
  /* <confdir>/spamrules (and the built-in rules) */
  spam_rule *rules;
  unsigned nrules, rulecap;
  /* <confdir>/greylist */
  stralloc grey_domains;     /* lowercase domains, each NUL-terminated */
  int grey_all;              /* "*": every domain */
  spam_net *grey_exempt;     /* clients never greylisted */
  unsigned ngrey_exempt;
  spam_net *rate_exempt;     /* clients never rate-limited (ratelimit-exempt in spam) */
  unsigned nrate_exempt;
};

/* Defaults and the built-in rules. 1 ok, 0 ENOMEM. */
int spam_conf_init(spam_conf *c);
void spam_conf_free(spam_conf *c);
/* Parse the text of each file. 0 on a bad line, with err (errlen octets) naming the
 * line and what is wrong (EINVAL), or ENOMEM. */
int spam_conf_settings(spam_conf *c, char const *text, size_t len, char *err, size_t errlen);
int spam_conf_rules(spam_conf *c, char const *text, size_t len, char *err, size_t errlen);
int spam_conf_greylist(spam_conf *c, char const *text, size_t len, char *err, size_t errlen);
/* spam_conf_init, then the three files of dir (absent files keep the defaults).
 * only_settings: read only <dir>/spam (what delivery needs). 0 on a bad file (err
 * says which line) or a read error (err says which file). */
int spam_conf_load(spam_conf *c, char const *dir, int only_settings, char *err, size_t errlen);

/* A user's own settings (<home>/pochta-spam, see pochta-spam(5)): "junk N",
 * "junk off", "bayes off". Starts from the configuration's. Bad lines are ignored
 * (it is the user's file: it may never stop a delivery); returns how many. */
typedef struct spam_user_s spam_user;
struct spam_user_s { double junk; int bayes; };
unsigned spam_user_parse(spam_user *u, spam_conf const *c, char const *text, size_t len);

/* ---------------------------------------------------------------- effects */

enum { SPAM_DNS_OK = 0, SPAM_DNS_NX = 1, SPAM_DNS_TEMP = 2 };
#define SPAM_DNS_MAXA 8

/* The greylisting record of one triplet (or, with key prefix "c", of a client). */
typedef struct spam_grey_rec_s spam_grey_rec;
struct spam_grey_rec_s { int64_t first, last; uint32_t passed; };

/* The rate-limit slot of one client: a sliding window of two fixed ones. */
typedef struct spam_rate_rec_s spam_rate_rec;
struct spam_rate_rec_s { uint64_t key; int64_t start; uint32_t cur, prev; };

enum { CLAMD_CLEAN = 0, CLAMD_INFECTED = 1, CLAMD_ERROR = 2 };
typedef struct spam_clamd_s spam_clamd;
struct spam_clamd_s { int status; char name[128]; char why[160]; };

typedef struct spam_hooks_s spam_hooks;
struct spam_hooks_s {
  /* The A records of name, at most max into ip. SPAM_DNS_OK (*n may be 0: the name
   * exists without A records), SPAM_DNS_NX (NXDOMAIN), SPAM_DNS_TEMP (timeout,
   * SERVFAIL, anything else: the list's answer is unknown). */
  int (*dns_a)(void *ctx, char const *name, unsigned timeout_ms,
               unsigned char ip[][4], unsigned max, unsigned *n);
  /* Scan the message with clamd at addr (spam_conf.clamd); fill r. */
  void (*clamd)(void *ctx, char const *addr, unsigned timeout_s, char const *msg, size_t len, spam_clamd *r);
  /* Greylisting records by key (32 hex digits, prefixed 't' triplet or 'c'
   * client). get: 1 found, 0 none, -1 error. put: 1 ok, 0 error. */
  int (*grey_get)(void *ctx, char const *key, spam_grey_rec *r);
  int (*grey_put)(void *ctx, char const *key, spam_grey_rec const *r);
  /* Run fn on the client's slot under a lock that no other process can hold
   * meanwhile, and store what fn left in it. r->key is set; a fresh slot is zero
   * apart from it. Returns fn's result (1 or 0), -1 on error. */
  int (*rate)(void *ctx, uint64_t key, int (*fn)(spam_rate_rec *r, void *arg), void *arg);
  int64_t (*now)(void *ctx);   /* seconds since the epoch */
  int64_t (*now_ms)(void *ctx);   /* a monotonic clock in ms (DNS budget) */
};

typedef struct spam_s spam;
struct spam_s {
  spam_conf conf;
  spam_hooks const *h;
  void *ctx;
  char me[256];              /* this host's name (conf `me`) */
};

/* The configuration of conf_dir() and the real hooks: DNS through spam/dns*.c (the
 * nameservers of $POCHTA_DNS, <confdir>/dnsservers or /etc/resolv.conf), clamd's
 * socket, the state under <statedir>/spam (made when missing), the system clocks.
 * 1 ok; 0 a configuration fault (err says what; answer 451 4.3.0 and log it). */
int spam_open(spam *s, char *err, size_t errlen);
void spam_close(spam *s);

/* ---------------------------------------------------------------- SMTP time */

typedef struct spam_env_s spam_env;
struct spam_env_s {
  char const *ip;            /* the client's address (TCPREMOTEIP), IPv4 as a.b.c.d */
  char const *helo;          /* HELO/EHLO argument ("" if none; NULL: not known, not checked) */
  char const *sender;        /* MAIL FROM ("" for <>) */
  char const *authres;       /* this host's Authentication-Results value, or NULL */
  int dryrun;                /* count and remember nothing (pochta spam check) */
};

enum { SPAM_ACCEPT = 0, SPAM_REJECT = 1, SPAM_TEMPFAIL = 2, SPAM_VIRUS = 3 };

typedef struct spam_verdict_s spam_verdict;
struct spam_verdict_s {
  int action;                /* SPAM_* */
  char reply[256];           /* the SMTP reply without CRLF; "" when accepted */
  double score;
  stralloc headers;          /* accepted: fields to put at the top, each ending in \n */
  stralloc log;              /* key=value pairs for the log line (no newline) */
};
#define SPAM_VERDICT_ZERO { .action = SPAM_ACCEPT, .reply = "", .score = 0, .headers = STRALLOC_ZERO, .log = STRALLOC_ZERO }
void spam_verdict_free(spam_verdict *v);

/* At each RCPT of port 25 mail (after the recipient is known to be local):
 * greylisting, when the recipient's domain has it. SPAM_ACCEPT or SPAM_TEMPFAIL
 * ("451 4.7.1 ..."). 1 ok (v set), 0 ENOMEM (answer 451 4.3.0). A state error
 * lets the recipient through (logged in v->log), as greylisting is advisory. */
int spam_smtp_rcpt(spam *s, spam_env const *e, char const *rcpt, spam_verdict *v);

/* At the end of DATA/BDAT of port 25 mail (pochta-smtpd's inspect hook): msg is the
 * whole message as received (LF or CRLF line ends). In this order: the rate limit
 * (451 4.7.1), clamd (554 5.7.1 infected; failure: 451 4.3.0 or accept with
 * X-Virus-Status, as configured), the score (550 5.7.1 at or above `reject`).
 * Accepted: v->headers holds X-Spam-Score and X-Spam-Status (and X-Virus-Status
 * when clamd is on), to be added with the inspection's other fields right behind
 * our Received field (verdict.add); the message's own fields of those names are
 * dropped (spam_drops). 1 ok, 0 ENOMEM. */
int spam_smtp_data(spam *s, spam_env const *e, char const *msg, size_t len, spam_verdict *v);

/* Call drop(ctx, start, end) for each top-level header field of msg named
 * X-Spam-Score, X-Spam-Status, X-Spam-Flag, X-Spam-Level, X-Spam-Bayes or
 * X-Virus-Status ([start, end): the whole field with its line end), in order:
 * what pochta-smtpd leaves out of every message it receives (verdict.drop), port
 * 25 and submission alike. Returns 1, or 0 when drop did (too many). */
int spam_drops(char const *msg, size_t len, int (*drop)(void *ctx, size_t start, size_t end), void *ctx);

/* What this host's smtpd wrote into a message: the block of fields right behind
 * the first Received field that its inspection writes (Authentication-Results,
 * X-Pochta-Junk, X-Spam-*, X-Virus-Status, DKIM-Signature, ARC-*; any other field
 * ends it). pochta-smtpd drops incoming fields of those names, and every way into
 * the queue prepends a Received field. *score: the X-Spam-Score there (1 found,
 * 0 none); *forced: X-Pochta-Junk there (the checks' DMARC quarantine). */
int spam_header_score(char const *msg, size_t len, double *score, int *forced);

/* ---------------------------------------------------------------- delivery */

typedef struct spam_junk_s spam_junk;
struct spam_junk_s {
  int junk;                  /* deliver into the Junk folder */
  int scored;                /* the message carried our X-Spam-Score or X-Pochta-Junk */
  double score, bayes, threshold, p;
  char header[48];           /* "X-Spam-Bayes: ...\n" of fixed length, or "" */
  char why[200];             /* one line for the delivery's log */
};

/* For one recipient whose Maildir is maildir (home = its parent directory): the
 * message's SMTP-time score (spam_header_score) plus the user's Bayes opinion,
 * against the user's threshold; X-Pochta-Junk files it whatever the score. A
 * message with neither is never filed as Junk (submission, local mail). Nothing here fails a delivery: an unreadable
 * token database or user file counts as no opinion and is said in why.
 * 1 decided, 0 the configuration (<confdir>/spam) is broken: a temporary failure. */
int spam_deliver_decide(char const *maildir, char const *msg, size_t len, spam_junk *j);

/* The Junk folder of maildir into sa (NUL-terminated), made (tmp, new, cur,
 * maildirfolder) when missing. 1 ok, 0 error (errno). */
int spam_junk_folder(stralloc *sa, char const *maildir);

/* ---------------------------------------------------------------- learning */

/* The parent directory of maildir (the user's home, where pochta-bayes lives)
 * into sa, NUL-terminated. 1 ok, 0 ENOMEM. */
int spam_home_of(stralloc *sa, char const *maildir);

enum { SPAM_LEARN_HAM = 'h', SPAM_LEARN_SPAM = 's', SPAM_LEARN_FORGET = 'f' };

typedef struct spam_learner_s spam_learner;

/* Lock the user's token database (<home>/pochta-bayes), read it from disk, and
 * keep it in memory until commit or abort. Learning a message that was learned
 * before in the same class changes nothing; in the other class, it moves. conf
 * may be NULL (defaults). NULL on error (errno). */
spam_learner *spam_learn_begin(char const *home, spam_conf const *conf);
/* 1 learned, 0 nothing to change (already known so), -1 error (errno). */
int spam_learn_msg(spam_learner *l, char const *msg, size_t len, int cls);
/* Write the database (atomically: a new file fsynced, renamed over the old one),
 * unlock, free. 1 ok, 0 error (errno; nothing changed on disk). */
int spam_learn_commit(spam_learner *l);
void spam_learn_abort(spam_learner *l);
/* Counts of the database as it is in memory now. */
void spam_learn_counts(spam_learner const *l, unsigned *nspam, unsigned *nham, unsigned *ntokens);

/* What <home>/pochta-bayes holds, read without a lock and changing nothing.
 * 1 read, 0 no database yet (all 0), -1 unreadable or not a database (errno). */
int spam_bayes_counts(char const *home, unsigned *nspam, unsigned *nham, unsigned *ntokens);

/* One message, begin to commit: what pochta-imapd calls per moved message (or, for
 * several in one command, begin/msg.../commit). fd: a regular file. 1 learned,
 * 0 nothing to change, -1 error (errno). */
int spam_learn(char const *home, char const *msg, size_t len, int cls);
int spam_learn_fd(char const *home, int fd, int cls);

#endif
