/* See delivery.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include "delivery.h"
#include "exitcodes.h"
#include "maildir.h"
#include "mime.h"
#include "spam.h"
#include "users.h"

int delivery_parse(delivery_req *q, char const *buf, size_t n)
{
  char const *end = buf + n;
  if (n < 12 || buf[0] != 'D' || buf[n - 1]) return 0;
  memcpy(&q->id, buf + 1, 4);
  memcpy(&q->timeout, buf + 5, 4);
  q->key = buf + 9;
  q->sender = q->key + strlen(q->key) + 1;
  if (q->sender >= end) return 0;
  q->rcpt = q->sender + strlen(q->sender) + 1;
  return q->rcpt < end && q->rcpt + strlen(q->rcpt) + 1 == end;
}

/* Spam filing (spam/spam.h, pochta-spam(5)): INBOX or its .Junk folder for a
 * message our smtpd scored, the X-Spam-Bayes field, and one log line on logfd (the
 * runner's log). Looking may fail in many ways and none fails the delivery; only a
 * broken <confdir>/spam does, as every configuration fault (a temporary failure:
 * 0, the line in line). *dir is where the message goes; o->alt the other folder,
 * where a repeat of this keyed delivery may find it. */
static int spam_stage(int logfd, int msgfd, char const *key, char const *rcpt, char const *md,
                      stralloc *junk, deliver_opt *o, char *header, char const **dir,
                      char *line, size_t linecap)
{
  mime_msg m = MIME_MSG_ZERO;
  spam_junk j;
  *dir = md;
  if (!mime_msg_map(&m, msgfd)) {
    dprintf(logfd, "pochta-send: event=spam key=%s rcpt=\"%s\" problem=\"cannot map the message: %s\"\n", key, rcpt, strerror(errno));
    return 1;
  }
  int ok = spam_deliver_decide(md, m.data, m.len, &j);
  mime_msg_unmap(&m);
  if (!ok) { snprintf(line, linecap, "4.3.0 %s", j.why); return 0; }
  if (!j.scored) return 1;   /* not from port 25: nothing to say */
  /* j dies with this function: the field goes where the caller keeps it */
  _Static_assert(sizeof j.header <= DELIVERY_HEADER_MAX, "room for the spam header field");
  memcpy(header, j.header, sizeof j.header);
  o->header = header;
  if (j.junk) {
    if (!spam_junk_folder(junk, md)) {
      dprintf(logfd, "pochta-send: event=spam key=%s rcpt=\"%s\" %s problem=\"no Junk folder, INBOX instead: %s\"\n", key, rcpt, j.why, strerror(errno));
      return 1;
    }
    *dir = junk->s;
    o->alt = md;
  } else if (stralloc_cats(junk, md) && stralloc_cats(junk, "/.Junk") && stralloc_0(junk) && maildir_check(junk->s))
    o->alt = junk->s;
  dprintf(logfd, "pochta-send: event=spam key=%s rcpt=\"%s\" %s\n", key, rcpt, j.why);
  return 1;
}

int delivery_prepare(int logfd, int msgfd, delivery_req const *q, users *u, stralloc *md, stralloc *junk,
                     deliver_opt *o, char header[DELIVERY_HEADER_MAX], char const **dir,
                     char *line, size_t linecap)
{
  stralloc canon = STRALLOC_ZERO;
  int r, code = -1;
  o->header = o->alt = 0;
  if (users_reopen(u) < 0) {
    snprintf(line, linecap, "4.3.0 cannot use users.cdb: %s", users_why(errno));
    return EX_TEMP;
  }
  if (!users_canon(&canon, q->rcpt, strlen(q->rcpt))) { snprintf(line, linecap, "5.1.3 bad recipient address"); code = EX_PERM; }
  else if ((r = users_maildir(u, canon.s, md)) < 0) { snprintf(line, linecap, "4.3.0 cannot read users.cdb: %s", users_why(errno)); code = EX_TEMP; }
  else if (!r) { snprintf(line, linecap, "5.1.1 no such user here"); code = EX_PERM; }
  stralloc_free(&canon);
  if (code >= 0) return code;
  if (!spam_stage(logfd, msgfd, q->key, q->rcpt, md->s, junk, o, header, dir, line, linecap)) return EX_TEMP;
  return -1;
}

int delivery_here(int logfd, int msgfd, delivery_req const *q, users *u, char *line, size_t linecap)
{
  stralloc md = STRALLOC_ZERO, junk = STRALLOC_ZERO;
  deliver_opt o;
  char header[DELIVERY_HEADER_MAX];
  char const *dir;
  *line = 0;
  int code = delivery_prepare(logfd, msgfd, q, u, &md, &junk, &o, header, &dir, line, linecap);
  if (code < 0) code = deliver_run(msgfd, dir, q->sender, q->rcpt, q->key, &o, line, linecap);
  stralloc_free(&md);
  stralloc_free(&junk);
  return code;
}
