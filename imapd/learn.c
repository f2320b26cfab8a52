/* Spam learning from what the user does (pochta-spam(5), "spam_learn"): a
 * message copied or moved into the folder with \Junk, or given $Junk, is
 * learned as spam; one copied or moved out of it (but into Trash), or given
 * $NotJunk, as ham. APPEND learns nothing: a client that uploads into Junk
 * (a backup, a migration) says nothing about the message.
 *
 * One learner per command, begun at its first message (it locks the user's
 * token database) and committed once the command's own changes are durable,
 * before the tagged answer. Learning never fails a command: the mail is where
 * the user put it whatever the classifier makes of it; a failure is logged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "imapd.h"
#include "mime.h"
#include "spam.h"

static int has_use(char const *name, char const *use)
{
  char const *u = special_of(name);
  size_t n = strlen(use);
  /* an attribute list: "\Junk" or "\Archive \Junk" */
  for (char const *s = u; s && (s = strstr(s, use)); s += n)
    if ((s == u || s[-1] == ' ') && (!s[n] || s[n] == ' ')) return 1;
  return 0;
}

int learn_class_copy(char const *target, size_t len)
{
  char c[256];
  if (S.state != S_SELECTED || !folder_canon(target, len, c, sizeof c)) return 0;
  if (!strcmp(c, S.selname)) return 0;
  int from_junk = has_use(S.selname, "\\Junk"), to_junk = has_use(c, "\\Junk");
  if (to_junk && !from_junk) return SPAM_LEARN_SPAM;
  if (from_junk && !to_junk && !has_use(c, "\\Trash")) return SPAM_LEARN_HAM;
  return 0;
}

int learn_class_keywords(mbox *mb, uint32_t before, uint32_t after)
{
  uint32_t added = after & ~before;
  int junk = mbox_keyword(mb, "$Junk", 5, 0), notjunk = mbox_keyword(mb, "$NotJunk", 8, 0);
  /* both at once says nothing */
  int is_spam = junk >= 0 && (added & (1u << junk));
  int is_ham = notjunk >= 0 && (added & (1u << notjunk));
  if (is_spam == is_ham) return 0;
  return is_spam ? SPAM_LEARN_SPAM : SPAM_LEARN_HAM;
}

static void fail(learn_batch *b, char const *what)
{
  if (!b->failed++) logf_("event=learn result=error user=%s error=\"%s: %s\"",
                          getenv("USER") ? getenv("USER") : "-", what, strerror(errno));
}

static int begin(learn_batch *b)
{
  if (b->l) return 1;
  if (b->failed) return 0;
  stralloc home = STRALLOC_ZERO;
  spam_conf c;
  char err[300];
  int have = spam_conf_load(&c, conf_dir(), 1, err, sizeof err);
  /* (a broken configuration is the delivery side's to report: defaults here) */
  if (spam_home_of(&home, S.root)) b->l = spam_learn_begin(home.s, have ? &c : 0);
  else errno = ENOMEM;
  if (have) spam_conf_free(&c);
  stralloc_free(&home);
  if (!b->l) { fail(b, "token database"); return 0; }
  return 1;
}

void learn_msg(learn_batch *b, int cls, mbox *mb, msg *m)
{
  if (!cls || !begin(b)) return;
  int fd = mbox_open_msg(mb, m);
  if (fd < 0) { if (errno != ENOENT) fail(b, "message"); return; }
  mime_msg mm = MIME_MSG_ZERO;
  int r = mime_msg_map(&mm, fd);
  close(fd);
  if (!r) { fail(b, "message"); return; }
  r = spam_learn_msg(b->l, mm.data, mm.len, cls);
  mime_msg_unmap(&mm);
  if (r < 0) fail(b, "learning");
  else if (r > 0) b->n[cls == SPAM_LEARN_SPAM]++;
}

void learn_end(learn_batch *b)
{
  if (b->l && !spam_learn_commit(b->l)) fail(b, "writing the token database");
  else if (b->l && (b->n[0] || b->n[1]))
    logf_("event=learn user=%s spam=%u ham=%u", getenv("USER") ? getenv("USER") : "-", b->n[1], b->n[0]);
  b->l = 0;
}
