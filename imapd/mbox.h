/* pochta-imapd: one Maildir++ folder as an IMAP mailbox.
 * UIDs live in "dovecot-uidlist" (Dovecot's version 3 format, so Dovecot and
 * pochta give the same UIDs), keywords in "dovecot-keywords" (letters a-z in the
 * file name's flags). Updates of the uid list happen under flock(2) on
 * "pochta-uidlist.lock", written to a temporary file, fsynced, renamed.
 * Mod-sequences (CONDSTORE) live in "pochta-modseq", a change log kept under the
 * same lock (see modseq.c for its format). */
#ifndef IMAPD_MBOX_H
#define IMAPD_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <skalibs/stralloc.h>

#define F_SEEN     0x01
#define F_ANSWERED 0x02
#define F_FLAGGED  0x04
#define F_DELETED  0x08
#define F_DRAFT    0x10
#define F_PASSED   0x20   /* Maildir 'P', kept but not shown */
#define F_SYSMASK  0x3f
#define F_RECENT   0x40   /* this session saw it first */
#define F_INNEW    0x80   /* file is in new/ */
#define F_GONE     0x100  /* expunged by someone else, not yet reported */

#define MAXKW 26

typedef struct msg_s msg;
struct msg_s {
  uint32_t uid;
  uint32_t flags;
  uint32_t kw;      /* keyword bits, index into mbox.kw */
  uint32_t name;    /* offset of the file name (no directory) in mbox.names */
  uint32_t size;    /* RFC822.SIZE (CRLF) + 1; 0 = not known yet */
  uint64_t modseq;  /* CONDSTORE mod-sequence, > 0 once scanned */
};

#define MODSEQ_MAX 0x7fffffffffffffffull   /* RFC 7162: 63 bits */

typedef struct mbox_s mbox;
struct mbox_s {
  char dir[4608];         /* the folder: path to the Maildir or .Folder */
  int rw;
  uint32_t uidvalidity, uidnext;
  msg *m; size_t n, cap;
  stralloc names;
  char *kw[MAXKW]; unsigned nkw;
  struct timespec t_new, t_cur, t_list, t_mod;  /* what the last scan saw */
  int scanned;
  uint64_t hms;           /* HIGHESTMODSEQ */
  /* a batch of flag changes (mbox_change_begin .. _end): lock held, log lines */
  int chactive, chfd;
  stralloc chlog;
};

/* Open (and create the uid list of) the folder at dir. 1 ok, 0 no such folder, -1 error. */
int mbox_open(mbox *mb, char const *dir, int rw);
void mbox_free(mbox *mb);

/* Rescan: the new state goes to `out` (a fresh mbox with the same dir). When
 * keepgone, messages of `old` whose files vanished stay in `out` marked F_GONE.
 * Returns 1 ok (out filled), 0 nothing changed since old was scanned (out is
 * empty: keep using old), -1 error. */
int mbox_scan(mbox *out, mbox const *old, int keepgone);

/* Move new/ messages to cur/, marking them F_RECENT (SELECT read-write). */
void mbox_take_new(mbox *mb);

/* The message's path relative to mb->dir into buf; 0 if too long. */
int mbox_path(mbox const *mb, msg const *m, char *buf, size_t len);
char const *mbox_name(mbox const *mb, msg const *m);

/* Set flags/keywords of message m on disk (rename); a change gives m a fresh
 * modseq. 1 ok, 0 file gone, -1 error. Between mbox_change_begin and
 * mbox_change_end (a STORE of many messages) the lock is taken once and the log
 * is written and fsynced once; otherwise each call does both itself. */
int mbox_setflags(mbox *mb, msg *m, uint32_t flags, uint32_t kw);
int mbox_change_begin(mbox *mb);
int mbox_change_end(mbox *mb);   /* -1: the modseqs could not be recorded */

/* Index of a keyword (adding it to dovecot-keywords if add). -1 none/full. */
int mbox_keyword(mbox *mb, char const *name, size_t len, int add);

/* Find by uid: index or -1. */
long mbox_find_uid(mbox const *mb, uint32_t uid);

/* RFC822.SIZE of message m (reads the file once, then cached). */
uint32_t mbox_size(mbox *mb, msg *m);
/* INTERNALDATE (file mtime). */
time_t mbox_date(mbox const *mb, msg const *m);

/* Move a message file (LF endings, already fsynced) at path `from` (same file
 * system) into <dir>/cur/<tmpname>:2,<flags>; fsync the directory; give it the
 * next uid. *uid is 0 if the uid list could not be updated. 1 ok, -1 error. */
int mbox_add(char const *dir, char const *from, char const *tmpname, uint32_t flags, uint32_t kw,
             time_t date, uint32_t *uidvalidity, uint32_t *uid);
/* A unique file name for <dir>/tmp. */
void mbox_uniq(char *buf, size_t len);

/* Maildir flag letters for flags into buf (at least 40 bytes). */
void mbox_flagstr(uint32_t flags, uint32_t kw, char *buf);

/* Flag letters (Maildir info after ":2,") into bits. */
void mbox_flagparse(char const *letters, size_t len, uint32_t *flags, uint32_t *kw);
/* fsync(2) a directory (after a rename in it). */
int mbox_sync_dir(char const *dir);

/* modseq.c: give the messages of mb (just scanned, sorted by uid, lock held)
 * their modseqs from pochta-modseq; new messages and flags changed behind our
 * back get fresh ones, which are recorded. 0 ok, -1 error. */
int modseq_scan(mbox *mb);
/* The highest modseq handed out so far for the folder (lock held). */
uint64_t modseq_highest(mbox const *mb);
/* Raise the modseqs of mb's messages to what the log says now (lock held):
 * changes other pochta sessions made since our last scan. */
void modseq_refresh(mbox *mb);
/* The log line of m's modseq and flags ("uid modseq flags\n") onto sa. 1 ok, 0 no memory. */
int modseq_logline(stralloc *sa, msg const *m);
/* Append mb->chlog to the log, without fsync (lock held). 0 ok, -1 error. */
int modseq_append(mbox *mb);
/* Make the next modseq of mb at least the clock in microseconds, so that values
 * lost with an unsynced log tail are never handed out again (lock held). */
void modseq_raise(mbox *mb);

/* Does dir hold a Maildir (cur/ new/ tmp/)? */
int maildir_exists(char const *dir);
/* Make a Maildir++ folder dir (with maildirfolder file when folder). 1 ok, 0 exists, -1 error. */
int maildir_make(char const *dir, int folder);

#endif
