/* pochta-imapd: the session shared by the command handlers. */
#ifndef IMAPD_IMAPD_H
#define IMAPD_IMAPD_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#include "mbox.h"
#include "parse.h"

#define S_NOAUTH   1
#define S_AUTH     2
#define S_SELECTED 4
#define S_ANY      7

#define LINE_MAX_IMAP 65536          /* one line of a command */
#define CMD_MAX (1024 * 1024)        /* a whole command held in memory */
#define LIT_MEM_MAX 65536            /* larger literals go to a spool file (APPEND) */
#define PRE_LIT_MAX 8192             /* literals before login */

typedef struct sess_s sess;
struct sess_s {
  int state;
  int tls;               /* the session is encrypted */
  int starttls_ok;       /* SSLCTLFD present and not used yet */
  int plain_ok;          /* passwords allowed without TLS */
  int postlogin;
  char root[4096];       /* the user's Maildir */
  mbox mb;               /* selected mailbox */
  char selname[1024];
  int readonly;
  int condstore, qresync, utf8, rev2;
  int idle_ok;
  unsigned long databytes;
  stralloc resp;         /* text of the tagged reply: "OK ..." / "NO ..." / "BAD ..." */
  int expunge_held;      /* this command may not send EXPUNGE (FETCH, STORE, SEARCH) */
  uint64_t kwdigest;     /* the keyword names the client was last told (FLAGS) */
};

extern sess S;

/* spool.c: literals of the command being read that went to files in tmp/
 * (APPEND, MULTIAPPEND, CATENATE after login), in the order they came; the
 * inline form says "{N}\r" for each (parse.h). raw: a literal8, kept as sent;
 * else CR LF was made LF. A file made into a message gets its path emptied. */
#define SPOOL_MAX 64
typedef struct { int fd; size_t len; int raw; char name[300]; char path[4608]; } spoolf;
spoolf *spool_new(int raw);
spoolf *spool_get(int i);
void spool_clear(void);
extern char cur_tag[256];   /* tag of the command being run */

/* Set the tagged reply. */
void resp(char const *s);
void respf(char const *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a command into cmd (see parse.h for the inline literal form). 1 ok, 0 EOF,
 * -1 bad (the reply was sent), -2 error/timeout: close, -3 close (BYE sent). */
int cmd_read(stralloc *cmd);
/* Run one command held in cmd. Returns 1 to go on, 0 to close. */
int cmd_run(stralloc *cmd);
void cmd_greeting(void);
/* The pre-login process keeps its connection slot (lib/connlimit.h) across
 * its exec into pochta-wait: 0 ok, -1 it cannot (then it must not exec). */
int slot_keep_on_exec(void);
void capability_line(void);
/* The capabilities of the session's state, space-separated. */
void caps(void);

/* CONDSTORE (RFC 7162 3.1): turn it on for the session (a CONDSTORE-enabling
 * command); a modseq argument (0 allowed when zero_ok, at most 2^63-1); the
 * FETCH item "MODSEQ (n)". */
void condstore_on(void);
int p_modseq(pcur *p, int zero_ok, uint64_t *v);
/* RFC 4466 modifiers holding one "(NAME modseq)" (CHANGEDSINCE, UNCHANGEDSINCE):
 * 1 given (*v set), 0 no "(" here, -1 malformed, unknown or repeated. */
int p_modseq_modifier(pcur *p, char const *name, uint64_t *v);
void put_modseq(msg const *m);
/* QRESYNC (RFC 7162 3.2). */
/* A compact uid set text ("1:3,7") built uid by uid, ascending: start with
 * last = start = 0, add, end. */
void uidset_add(stralloc *sa, uint32_t *last, uint32_t *start, uint32_t uid);
void uidset_end(stralloc *sa, uint32_t last, uint32_t start);
/* "* VANISHED (EARLIER) set": the uids of ss (as uids; * is UIDNEXT-1)
 * below UIDNEXT that are not in the mailbox. Not one when nothing was expunged
 * since modseq `since` (it is not below HIGHESTMODSEQ). */
void put_vanished_earlier(seqset const *ss, uint64_t since);

/* notify.c: NOTIFY (RFC 5465). notify_check tells what changed in the
 * mailboxes asked for (between: no command is running, so the selected
 * mailbox's changes go too); notify_fd is the descriptor that wakes it (-1:
 * none, look every NOTIFY_POLL_MS); notify_drain empties it; notify_selected
 * after SELECT, EXAMINE, CLOSE, UNSELECT. */
#define NOTIFY_POLL_MS 30000
void notify_check(int between);
int notify_on(void);
int notify_fd(void);
void notify_drain(void);
void notify_selected(void);

/* Report changes of the selected mailbox as untagged responses. */
void sess_update(int allow_expunge);
void sess_unselect(void);

/* folders.c. A folder name is at most FOLDER_NAME_MAX octets; folder_name_ok:
 * is it a name (no '/', no empty level, no control octet)? */
#define FOLDER_NAME_MAX 200
int folder_name_ok(char const *s, size_t n);
/* Every folder but INBOX, sorted (NULL-terminated; free with folders_free);
 * the subscriptions as written. NULL when out of memory. */
char **folders_all(size_t *count);
char **subs_read(size_t *count);
void folders_free(char **v);
/* The SPECIAL-USE attributes of a folder name ("\\Sent", the fixed ones by
 * name, others as CREATE (USE ...) gave them), or NULL. */
char const *special_of(char const *name);

/* learn.c: spam learning from copies, moves and $Junk/$NotJunk (pochta-spam(5)).
 * learn_class_*: SPAM_LEARN_SPAM, SPAM_LEARN_HAM or 0 (nothing to learn). */
typedef struct spam_learner_s spam_learner;
typedef struct { spam_learner *l; unsigned n[2]; unsigned failed; } learn_batch;
#define LEARN_BATCH_ZERO { 0, { 0, 0 }, 0 }
int learn_class_copy(char const *target, size_t len);
int learn_class_keywords(mbox *mb, uint32_t before, uint32_t after);
void learn_msg(learn_batch *b, int cls, mbox *mb, msg *m);
void learn_end(learn_batch *b);
/* CREATE (USE (...)): "(\\Sent ...)" into out, space-separated: 1, 0 syntax,
 * -1 an attribute that is not one (USEATTR). Keep them for the folder dir. */
int special_use_parse(pcur *p, char *out, size_t len);
int special_use_write(char const *dir, char const *use);
/* STATUS items "(MESSAGES ...)" into bits; "* STATUS" of a folder: 1, 0 no
 * such folder, -1 error. */
int parse_status_items(pcur *p, unsigned *items);
int put_status(char const *name, char const *dir, unsigned items);

/* Mailbox name (IMAP, modified UTF-7 as sent) to folder directory; 0 if invalid. */
int folder_dir(char const *name, size_t len, char *dir, size_t dirlen);
int folder_canon(char const *name, size_t len, char *out, size_t outlen);

/* Flag lists: parse "(\Seen foo)" or a single flag into bits. 1 ok, 0 bad. */
int parse_flags(pcur *p, mbox *mb, uint32_t *flags, uint32_t *kw, int add_kw, int paren_required);
void put_flags(mbox const *mb, uint32_t flags, uint32_t kw);
/* The FLAGS and PERMANENTFLAGS responses of the mailbox; flags_announce sends
 * them again when its keywords changed since the client was told. */
void put_flag_lists(mbox const *mb);
void flags_announce(mbox const *mb);
/* Sequence or UID set to a list of message indexes test. */
int msg_in_set(seqset const *ss, int uid, size_t idx);
/* Message numbers beyond the mailbox are an error (UIDs are not). */
int seqset_valid(seqset const *ss, int uid);

/* Command handlers: each consumes the rest of its line from p. */
typedef int (*cmd_fn)(pcur *p, int uid);
int c_capability(pcur *, int), c_noop(pcur *, int), c_logout(pcur *, int);
int c_starttls(pcur *, int), c_login(pcur *, int), c_authenticate(pcur *, int);
int c_select(pcur *, int), c_examine(pcur *, int), c_create(pcur *, int), c_delete(pcur *, int);
int c_rename(pcur *, int), c_subscribe(pcur *, int), c_unsubscribe(pcur *, int);
int c_list(pcur *, int), c_lsub(pcur *, int), c_status(pcur *, int), c_append(pcur *, int);
int c_check(pcur *, int), c_close(pcur *, int), c_unselect(pcur *, int), c_expunge(pcur *, int);
int c_search(pcur *, int), c_fetch(pcur *, int), c_store(pcur *, int), c_copy(pcur *, int);
int c_move(pcur *, int), c_uid(pcur *, int), c_idle(pcur *, int), c_enable(pcur *, int);
int c_id(pcur *, int), c_namespace(pcur *, int), c_compress(pcur *, int);
int c_sort(pcur *, int), c_thread(pcur *, int), c_cancelupdate(pcur *, int), c_notify(pcur *, int);

/* objectid.c (RFC 8474): the EMAILID of message m into out (26 octets): 1,
 * or 0 when its file cannot be read; "MAILBOXID (id)" of the folder dir
 * (nothing when it has no uid list yet). */
int msg_emailid(mbox *mb, msg *m, char *out);
void put_mailboxid(char const *dir);

/* imapurl.c: append to fd the octets the IMAP URL s[0..n) names (CATENATE),
 * stored with LF line ends, adding them to *total, at most max in all.
 * 1 ok, 0 write error, -1 not a URL of a message part that exists, -2 too big. */
int imapurl_append(int fd, char const *s, size_t n, uint64_t *total, uint64_t max);

/* Login (login.c): check user/pass through the checkpassword program and, on
 * success, hand the connection to the post-login process. Returns only on failure. */
void login_try(char const *tag, size_t taglen, char const *user, size_t ulen,
               char const *pass, size_t plen, char const *cmdname);
/* Post-login start (called in the process checkpassword ran). */
void postlogin_main(void);

/* Special-use folders made at first login. */
extern char const *const special_use[5][2];

void logf_(char const *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
