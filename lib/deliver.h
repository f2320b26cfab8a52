/* One local delivery into a Maildir (see deliver.c, pochta-deliver(8)). */
#ifndef POCHTA_DELIVER_H
#define POCHTA_DELIVER_H

#include <stddef.h>

/* Deliver the message read from in into the Maildir (or Maildir++ folder) dir and
 * end the process: exit 0 delivered and durable, 100 permanent failure, 111
 * temporary failure, with one line on fd 2 saying why ("pochta-deliver: already
 * delivered: ..." when key finds an earlier delivery). sender (Return-Path), rcpt
 * (Delivered-To) and key may be NULL. Takes over the process's signal handling:
 * call it in a process of its own. */
void deliver_exit(int in, char const *dir, char const *sender, char const *rcpt, char const *key) __attribute__((noreturn));

/* What pochta-send's delivery worker adds (spam filing, spam/spam.h). */
typedef struct deliver_opt_s deliver_opt;
struct deliver_opt_s {
  char const *header;   /* one more header field, ending in \n, written below Delivered-To */
  char const *alt;      /* another folder the same keyed delivery may have gone to (INBOX or
                           .Junk): a file of the final name in its new/ means delivered */
};
/* deliver_exit with those (o may be NULL). */
void deliver_exit_opt(int in, char const *dir, char const *sender, char const *rcpt, char const *key,
                      deliver_opt const *o) __attribute__((noreturn));

/* The same delivery without ending the process: returns the exit code deliver_exit
 * would give (0, 100, 111) and puts the line it would print, without its newline,
 * into line (empty when there is nothing to say). Installs no signal handler: a
 * delivery killed halfway leaves its file in tmp/, which a later delivery sweeps
 * after 36 hours. */
int deliver_run(int in, char const *dir, char const *sender, char const *rcpt, char const *key,
                deliver_opt const *o, char *line, size_t linecap);

#endif
