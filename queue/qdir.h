/* The queue directory: layout, durable file operations, trigger, lock.
 * All paths are relative: callers chdir into the queue first (qdir_enter). */
#ifndef POCHTA_QDIR_H
#define POCHTA_QDIR_H

#include <stdint.h>
#include <skalibs/stralloc.h>
#include "qfmt.h"

/* chdir into the queue directory named by the config file `queuedir`.
 * 1 ok, 0 not configured (errno ENOENT), -1 error (errno). */
int qdir_enter(void);

/* Run as root in a queue that belongs to another account (the documented
 * install): become that account for good, so that root never reads the queue's
 * files and never makes one the runner could not read. 1 ok (or nothing to do),
 * 0 error (errno). */
int qdir_become_owner(void);

/* Create whatever part of the layout is missing (directories, trigger FIFO,
 * lock file). 1 ok, 0 error (errno). */
int qdir_layout(void);

/* fsync a directory. 1 ok, 0 error (errno). */
int dir_sync(char const *path);

/* Directory fsyncs that may wait until the end of a runner loop iteration:
 * mark the directory of a path, then flush them all. */
void qdirty_mark(char const *path);
int qdirty_flush(void);

/* Open a queue file for reading as untrusted: never through a symlink, never a
 * FIFO or device, a regular file with one link that belongs to us. The fd is
 * close-on-exec. -1 with errno (EPERM: not such a file). */
int qfile_open(char const *path);

/* Remove the queue file path of message id: moved into trash/ as <id>.<kind>
 * (a rename), or unlinked when there is no trash/. 1 removed, 0 it was not there,
 * -1 error (errno). Its directory is the caller's to fsync (qdirty_mark). */
int qfile_drop(char const *path, uint64_t id, char kind);

/* The janitor (pochta-send's child): unlinks what is in trash/, when poked and
 * every few seconds, but keeps up to QTRASH_KEEP files of at most
 * QTRASH_KEEP_SIZE octets for writers to take over. qjanitor_start forks it (1 ok,
 * 0 error); qjanitor_poke tells it there is work (nothing when it does not run);
 * qtrash_empty unlinks everything there here and now (start-up, pochta-queuectl
 * check). */
#define QTRASH_KEEP 256
#define QTRASH_KEEP_SIZE 65536
int qjanitor_start(void);
void qjanitor_poke(void);
void qtrash_empty(void);

/* A new queue file at path to without making an inode: a file of trash/ renamed
 * there (never over an existing name; its times set to now first), checked as ours,
 * open for writing at offset 0 (its old length remains: the writer truncates).
 * Making and freeing two inodes per message was a good part of an enqueue's cost
 * (ext4 without a journal even scans past every inode freed in the last minutes).
 * The fd, or -1: errno EEXIST when to exists, else nothing to take (the caller
 * creates the file). pick chooses among the candidates (a random value). */
int qtrash_claim(char const *to, uint64_t pick);

/* Read a whole queue file (at most QENV_MAX octets) into sa.
 * 1 ok, 0 absent, -1 error (errno; EFBIG when too large). */
int qfile_read(char const *path, stralloc *sa);

/* Write e durably as state/hh/<id> (tmp file, fsync, rename, fsync the
 * directory), then unlink new/<id> if it was there (its directory fsync is
 * deferred: both files naming the message is a state readers resolve in favour
 * of state/). 1 ok, 0 error (errno). */
int qstate_write(uint64_t id, qenv const *e);

/* Remove a message: new/<id>, then state/hh/<id> (the commit point: the
 * message no longer exists once its envelope is gone); mess/hh/<id> goes in
 * qdirty_flush, after the directory fsyncs. 1 ok, 0 error (errno). */
int qmsg_remove(uint64_t id);

/* Read message id's envelope: state/ if present, else new/.
 * 1 ok (e filled), 0 absent, -1 error, -2 malformed (or not a plain file of
 * ours: see qfile_open). */
int qmsg_load(uint64_t id, qenv *e);

/* Poke the runner: one byte into the trigger FIFO, never blocking.
 * 1 written, 0 nobody listening or FIFO full (both harmless). */
int qtrigger(void);

/* Send a command line to the runner through the FIFO (atomic if at most
 * PIPE_BUF octets). 1 written, 0 no runner listening, -1 error. */
int qcommand(char const *s, size_t len);

/* Take the runner lock (lock file, flock). Returns the fd, or -1: errno
 * EWOULDBLOCK when another process (a running pochta-send) holds it. */
int qlock(void);

#endif
