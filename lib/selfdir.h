#ifndef POCHTA_SELFDIR_H
#define POCHTA_SELFDIR_H
/* The programs of an install are found beside the one running, not through PATH:
 * a sendmail run from cron with a short PATH, or a daemon started with a foreign
 * one, still runs pochta's own programs. libc only. */
#include <stddef.h>

/* The running program's path into out (len bytes): 1, or 0 (errno set). */
int self_path(char *out, size_t len);

/* The path of name in the running program's directory into out: 1, or 0 when it
 * cannot be made (errno set). Whether the file is there is the caller's question. */
int self_sibling(char *out, size_t len, char const *name);

#endif
