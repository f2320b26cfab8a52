/* Maildir helpers shared by pochta-deliver, pochta-pop3d and pochta-imapd.
 *
 * Maildir as djb specified it (https://cr.yp.to/proto/maildir.html):
 * a message is written under tmp/<unique>, fsynced, linked into new/ (or cur/),
 * and the tmp name removed. Names are <time>.M<usec>P<pid>Q<n>.<host>; pochta
 * adds Dovecot's size fields ",S=<file size>,W=<size with CRLF line ends>"
 * so that POP3 and IMAP know sizes without reading the file; flags follow
 * ":2," in cur/. On Linux the directory is fsynced after every link or unlink
 * that changes durable state (DESIGN.md, invariant 1). */
#ifndef POCHTA_MAILDIR_H
#define POCHTA_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest file name we make or accept (NAME_MAX). */
#define MAILDIR_NAMEMAX 255

/* 1 if dir holds the directories tmp, new and cur; 0 if not (errno says why:
 * ENOENT missing, ENOTDIR not a directory, EACCES...). */
int maildir_check(char const *dir);

/* A fresh unique base name <time>.M<usec>P<pid>Q<counter>.<host> into buf
 * (NUL-terminated). The host part has '/' and ':' escaped as the spec says
 * (\057, \072). Returns the length, 0 if it does not fit in len. */
size_t maildir_uniq(char *buf, size_t len);

/* The base name <key>.<host> for a delivery that must happen once: key names
 * it for good (pochta-send gives <queue time>.Q<queue id>R<recipient>), so a
 * repeated delivery finds the name taken. Same escaping and return as
 * maildir_uniq. */
size_t maildir_keyname(char *buf, size_t len, char const *key);

/* Create dir/tmp/<unique> (O_EXCL, mode 0600); the base name goes into name
 * (at least MAILDIR_NAMEMAX+1 octets). Returns the fd (close-on-exec), or -1
 * (errno). Tries fresh names a few times if one exists. */
int maildir_tmp_open(char const *dir, char *name, size_t namelen);

/* Remove dir/tmp/<name> (after a failure). Keeps errno. */
void maildir_tmp_abort(char const *dir, char const *name);

/* Remove the regular files of dir/tmp/ that nobody read or wrote for 36
 * hours (access and modification times) (the Maildir rule for what a killed delivery leaves behind),
 * at most MAILDIR_SWEEP_MAX per call. *removed gets their number. 1 ok, 0 an
 * error (errno: tmp/ cannot be read, or a file cannot be removed). Called by
 * pochta-deliver and by pochta-pop3d at login; any program that visits a
 * Maildir may call it. */
#define MAILDIR_TMP_STALE (36 * 3600)
#define MAILDIR_SWEEP_MAX 1000
int maildir_sweep_tmp(char const *dir, time_t now, unsigned *removed);

/* Move dir/tmp/<tmpname> to dir/<sub>/<final> (sub is "new" or "cur"):
 * link (rename where the filesystem has no hard links), fsync dir/<sub>,
 * unlink the tmp name. The caller has fsynced and closed the file first.
 * 1 ok, 0 error (errno; the tmp file is left for the caller to remove,
 * EEXIST if the final name is taken). */
int maildir_commit(char const *dir, char const *tmpname, char const *sub, char const *final);

/* fsync the directory dir/<sub> (sub may be NULL for dir itself). 1 ok, 0 error. */
int maildir_syncdir(char const *dir, char const *sub);

/* Length of the unique part of a file name: everything before ':'. */
size_t maildir_uniqlen(char const *name);

/* Length of the base name: the unique part without Dovecot-style ",X=..."
 * fields (everything before the first ',' or ':'). */
size_t maildir_baselen(char const *name);

/* The flags of a name in cur/: the text after ":2,", or "" when none. */
char const *maildir_flags(char const *name);

/* 1 if the flags of name include the letter flag. */
int maildir_hasflag(char const *name, char flag);

/* The value of the field ",<key>=<digits>" in the unique part of name
 * (key 'S': file size, 'W': size with CRLF). 1 found (*v set), 0 not. */
int maildir_nameval(char const *name, char key, uint64_t *v);

/* Counting the size a message has when sent over POP3/IMAP: every LF goes
 * out as CRLF (an LF already preceded by CR stays as it is), and a last line
 * without LF gets its line end (CRLF, or LF after a final CR). Fed in pieces. */
typedef struct maildir_size_s maildir_size;
struct maildir_size_s { uint64_t bytes; uint64_t crlf; int lastcr; int lastlf; };
#define MAILDIR_SIZE_ZERO { 0, 0, 0, 0 }
void maildir_size_add(maildir_size *z, char const *s, size_t n);
/* The size in CRLF form of what was fed so far. */
uint64_t maildir_size_crlf(maildir_size const *z);

/* The CRLF size of an open file, read from the start (fd position moves).
 * 1 ok (*v set), 0 read error. */
int maildir_size_fd(int fd, uint64_t *v);

#endif
