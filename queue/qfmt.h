/* The queue's on-disk format, shared by pochta-queue, pochta-send and
 * pochta-queuectl. The format itself is described in pochta-queue(5).
 * Every program chdirs into the queue directory, so paths here are relative. */
#ifndef POCHTA_QFMT_H
#define POCHTA_QFMT_H

#include <stddef.h>
#include <stdint.h>
#include <skalibs/stralloc.h>

#define QID_LEN 16          /* 64-bit id as 16 lowercase hex digits */
#define QADDR_MAX 320       /* local part 64 + '@' + domain 255 */
#define QENV_MAX (1 << 20)  /* largest envelope or state file we accept */
#define QRCPT_MAX 10000     /* recipients per message */
#define QERR_MAX 300        /* last error text kept per recipient */
#define QERR_TAILMAX 330    /* and the Remote-MTA field after it (host[ip]) */
#define QSTALE 129600       /* 36 h: a tmp/ or orphan mess/ file older is debris */

/* Paths (relative to the queue directory). Big enough for every name below. */
#define QPATH_LEN 48

/* One recipient. status: 'T' to do, 'K' delivered, 'D' failed for good,
 * 'Z' expired (temporary failures until the queue lifetime ran out). */
typedef struct qrcpt_s qrcpt;
struct qrcpt_s {
  char const *addr;   /* points into the owning qenv's buffer */
  char *err;          /* malloc'd last error text, or NULL */
  uint64_t next;      /* unix time of the next try (0: now) */
  unsigned attempts;
  char status;
};

/* A parsed envelope or state file. buf holds the file's bytes (addresses point
 * into it); r holds n recipients. */
typedef struct qenv_s qenv;
struct qenv_s {
  stralloc buf;
  char const *sender;
  uint64_t born;
  qrcpt *r;
  size_t n;
};
#define QENV_ZERO { .buf = STRALLOC_ZERO, .sender = 0, .born = 0, .r = 0, .n = 0 }

void qid_fmt(char out[QID_LEN + 1], uint64_t id);
/* 1 and *id set if s (of length len) is exactly 16 lowercase hex digits, non-zero. */
int qid_scan(char const *s, size_t len, uint64_t *id);

/* "mess/hh/<id>", "state/hh/<id>", "new/<id>", "tmp/<id>" (hh: first two digits). */
void qpath_mess(char out[QPATH_LEN], uint64_t id);
void qpath_state(char out[QPATH_LEN], uint64_t id);
void qpath_new(char out[QPATH_LEN], uint64_t id);
void qpath_tmp(char out[QPATH_LEN], uint64_t id, char const *suffix);
void qpath_messdir(char out[QPATH_LEN], uint64_t id);
void qpath_statedir(char out[QPATH_LEN], uint64_t id);

/* Check one address of an incoming envelope. rcpt: a recipient (needs
 * local@domain); else the sender (empty allowed). 0 ok, else a QX_* code. */
int qaddr_check(char const *s, size_t len, int rcpt);

/* Parse an incoming qmail envelope "F<s>\0T<r>\0...\0" of length len, strictly.
 * On success (0) e holds born = now, the sender and the recipients, all 'T'.
 * Else a QX_* code. */
int qenv_from_qmail(qenv *e, char const *s, size_t len, uint64_t now);

/* Parse a queue file (new/ or state/) in e->buf. 1 ok, 0 malformed. */
int qenv_parse(qenv *e);

/* Serialise e into out (replacing its content). 1 ok, 0 out of memory. */
int qenv_format(stralloc *out, qenv const *e);

/* Free everything e holds; e is QENV_ZERO again. */
void qenv_free(qenv *e);

/* Replace r's error text with a sanitised copy of s (no control octets, at most
 * QERR_MAX), but for a last field after a tab (at most QERR_TAILMAX: the host
 * that answered, from pochta-remote), kept after one tab. 1 ok, 0 out of memory. */
int qrcpt_seterr(qrcpt *r, char const *s, size_t len);

/* Counts of recipients by status. */
size_t qenv_count(qenv const *e, char status);

#endif
