/* pochta-imapd: one Maildir++ folder as an IMAP mailbox.
 * UIDs live in "dovecot-uidlist" (Dovecot's version 3 format, so Dovecot and
 * pochta give the same UIDs), keywords in "dovecot-keywords" (letters a-z in the
 * file name's flags). Updates of the uid list happen under flock(2) on
 * "pochta-uidlist.lock", written to a temporary file, fsynced, renamed.
 * Mod-sequences (CONDSTORE) live in "pochta-modseq", a change log kept under the
 * same lock (see modseq.c for its format). "pochta-index" caches the last scan
 * and is what a session's view of the folder is (see index.c). */
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
#define F_MOVED    0x200  /* copied by MOVE: its file goes when all are copied */

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

/* What a scan saw of the folder's files: a view is current while they match. */
typedef struct { uint64_t ino, size; int64_t sec, nsec; } mstamp;
typedef struct { mstamp dnew, dcur, list, mod; } mstamps;

/* m[i].name with this bit set is an offset into mbox.names (a name this session
 * gave the file since the view was made), else into mbox.bnames. */
#define NAME_OWN 0x80000000u

/* One file of a folder in a directory snapshot (mbox_find.c). */
typedef struct { uint32_t off, blen, innew; } mfent;

typedef struct mbox_s mbox;
struct mbox_s {
  char dir[4608];         /* the folder: path to the Maildir or .Folder */
  int rw;
  uint32_t uidvalidity, uidnext;
  /* The view: the messages by uid and their names. It is the folder index
   * (index.c) mapped copy-on-write, so a session's memory does not grow with the
   * mailbox; or, when there is no index to map, a scan's arrays on the heap. */
  msg *m; size_t n, cap;
  char const *bnames; size_t nbnames;
  void *map; size_t maplen;   /* the mapping, when the view is one */
  stralloc heap;              /* the names, when the view is on the heap */
  stralloc names;             /* NAME_OWN names */
  char *kw[MAXKW]; unsigned nkw;
  mstamps st;             /* what the view was made from */
  int scanned;
  int confirmed;          /* st was taken after the tick of the last change */
  uint64_t hms;           /* HIGHESTMODSEQ */
  /* a batch of flag changes (mbox_change_begin .. _end): lock held, log lines */
  int chactive, chfd;
  mstamps chst;           /* the folder's stamps when the lock was taken */
  int chwatch;            /* new/ and cur/ are watched since then (mbox.c) */
  size_t *chidx, chn, chcap;  /* the messages renamed in the batch */
  uint32_t *rmuid; size_t nrm, caprm;   /* and the uids removed in it */
  stralloc chlog;
  /* the names of new/ and cur/ read to find renamed files (mbox_find.c) */
  stralloc fsnames; mfent *fse; size_t fsn; int fsvalid;
};

/* Open (and create the uid list of) the folder at dir. 1 ok, 0 no such folder, -1 error. */
int mbox_open(mbox *mb, char const *dir, int rw);
void mbox_free(mbox *mb);

/* Rescan: the new state goes to `out` (a fresh mbox with the same dir).
 * Returns 1 ok (out filled), 0 nothing to change (out is empty: keep using
 * old), -1 error. When keepgone and messages of `old` vanished, old keeps them
 * marked F_GONE and nothing else changes (0): expunges cannot be reported now. */
int mbox_scan(mbox *out, mbox *old, int keepgone);

/* recent.c: \Recent. Mark the messages of mb with uid above `above` that no
 * session took as recent yet F_RECENT; take them for this session when take
 * (a read-write session: no other session will see them recent). */
void recent_mark(mbox *mb, uint32_t above, int take);
/* A folder's uid list is new: every message is recent to someone. */
void recent_init(char const *dir);
/* How many messages of mb no session took as recent yet (STATUS). */
uint32_t recent_count(mbox const *mb);

/* Take the uid-list lock of the folder dir: the lock's fd, or -1. */
int mbox_lock(char const *dir);

/* Move new/ messages to cur/ (SELECT read-write). */
void mbox_take_new(mbox *mb);

/* The message's path relative to mb->dir into buf; 0 if too long. */
int mbox_path(mbox const *mb, msg const *m, char *buf, size_t len);
char const *mbox_name(mbox const *mb, msg const *m);
/* m's file is now called name (a name of the session's own). 1 ok, 0 no memory. */
int mbox_set_name(mbox *mb, msg *m, char const *name);

/* mbox_find.c: m's file under its current name, after someone renamed it
 * (flags changed, new/ to cur/): 1 found (m's name and F_INNEW updated), 0 gone. */
int mbox_refind(mbox *mb, msg *m);
/* Open m's file for reading (O_NOFOLLOW, regular files only), finding it again
 * when it was renamed: the fd, or -1 (errno; ENOENT: the message is gone). */
int mbox_open_msg(mbox *mb, msg *m);
struct stat;
/* The same, with the file's stat (taken once: FETCH needs its size and time). */
int mbox_open_msg_stat(mbox *mb, msg *m, struct stat *st);
/* Forget the directory names read for mbox_refind (end of a command). */
void mbox_find_done(mbox *mb);

/* How a flag change applies: add, remove, or replace (FLAGS, +FLAGS, -FLAGS). */
#define FL_REPLACE 0
#define FL_ADD 1
#define FL_REMOVE (-1)
uint32_t mbox_flags_apply(int mode, uint32_t of, uint32_t fl);

/* Change flags/keywords of message m on disk (rename): mode applies fl and kw
 * to the flags the file has at that moment, whoever set them; m gets the
 * result. A change gives m a fresh modseq. 1 ok, 0 file gone, -1 error. Between mbox_change_begin and
 * mbox_change_end (a STORE of many messages) the lock is taken once and the log
 * is written and fsynced once; otherwise each call does both itself. */
int mbox_setflags(mbox *mb, msg *m, int mode, uint32_t flags, uint32_t kw);
int mbox_change_begin(mbox *mb);
int mbox_change_end(mbox *mb);   /* -1: the modseqs could not be recorded */
/* In a batch: m's file was removed (EXPUNGE, MOVE). The batch's end raises
 * HIGHESTMODSEQ and puts the removal into the index, as it does renames, so
 * other sessions need no rescan to see it. */
void mbox_note_removed(mbox *mb, msg const *m);

/* Index of a keyword (adding it to dovecot-keywords if add). -1 none/full. */
int mbox_keyword(mbox *mb, char const *name, size_t len, int add);

/* Find by uid: index or -1. */
long mbox_find_uid(mbox const *mb, uint32_t uid);

/* RFC822.SIZE of message m (reads the file once, then cached). */
uint32_t mbox_size(mbox *mb, msg *m);
/* SAVEDATE (RFC 8514): when the message was put in this folder, from its
 * file name; -1 when the name does not say. */
int64_t msg_savedate(mbox const *mb, msg const *m);
/* INTERNALDATE (file mtime). */
time_t mbox_date(mbox *mb, msg *m);

/* Move a message file (LF endings, already fsynced) at path `from` (same file
 * system) into <dir>/cur/<tmpname>:2,<flags>; fsync the directory; give it the
 * next uid. *uid is 0 if the uid list could not be updated. 1 ok, -1 error.
 * view, when not null, is this session's view of dir: if it was current, the
 * index gets the new message at once (no scan needed to see it). */
int mbox_add(char const *dir, char const *from, char const *tmpname, uint32_t flags, uint32_t kw,
             time_t date, mbox *view, uint32_t *uidvalidity, uint32_t *uid);
/* The same for n messages at once (COPY, MOVE, MULTIAPPEND): one lock, one
 * fsync of cur/ and one of the uid list for all. Each nm[i] gets added (it is
 * in cur/) and uid (0 when the uid list could not be updated). view is used
 * only for one message. Returns how many were added: all or none when cur/
 * could not be fsynced (then -1 if some had been moved, and those went back
 * to their first names). */
typedef struct { char const *from, *name; uint32_t flags, kw; time_t date; uint32_t uid; int added; } mbox_new;
int mbox_add_batch(char const *dir, mbox_new *nm, size_t n, mbox *view, uint32_t *uidvalidity);
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
/* Rewrite the log from mb (all its messages and modseqs, lock held) when it is
 * logsize octets, far more than mb needs. 0 ok or not needed, -1 error. */
int modseq_compact(mbox const *mb, uint64_t logsize);
/* Append mb->chlog to the log, without fsync (lock held). 0 ok, -1 error. */
int modseq_append(mbox *mb);
/* Make the next modseq of mb at least the clock in microseconds, so that values
 * lost with an unsynced log tail are never handed out again (lock held). */
void modseq_raise(mbox *mb);

/* index.c: the folder index "pochta-index", a cache of the last scan. */
/* The stamps of dir's files now; *fresh unless a change in this clock tick could
 * leave them unchanged. */
void index_stamps(char const *dir, mstamps *st, int *fresh);
int index_stamps_same(mstamps const *a, mstamps const *b);
/* Write mb's view, and extra (a message added after it, named extraname) when
 * not null, as the index (lock held). 0 ok, -1 error. */
int index_write(mbox const *mb, msg const *extra, char const *extraname);
/* Make mb's view the index, when it was made from exactly st (and confirmed,
 * if asked). 1 ok, 0 no usable index. */
int index_map(mbox *mb, mstamps const *st, int confirmed);
/* Is the len octets at p (8-aligned) an index made from st (any, when null)? */
int index_image_ok(void const *p, size_t len, mstamps const *st, int confirmed);
/* Drop the view (mapping or heap), keep dir and rw. */
void index_drop(mbox *mb);

/* uidvalidity.c: a UIDVALIDITY for the folder dir never handed out before in
 * its user's Maildir (for a folder without a uid list). */
uint32_t uidvalidity_new(char const *dir);
/* Before the folder dir goes away or changes its name (DELETE, RENAME): its
 * UIDVALIDITY counts as handed out, so its old name never gets it again. */
void uidvalidity_seen(char const *dir);
/* The folder's GUID (its uid list's G field, 32 hex digits) into out (33
 * octets): its MAILBOXID (RFC 8474), kept across RENAME. 1 ok, 0 none yet. */
int mailbox_guid(char const *dir, char *out);

/* Does dir hold a Maildir (cur/ new/ tmp/)? */
int maildir_exists(char const *dir);
/* Make a Maildir++ folder dir (with maildirfolder file when folder). 1 ok, 0 exists, -1 error. */
int maildir_make(char const *dir, int folder);

#endif
