/* pochta-imapd: the big literals of the command being read. An APPEND literal
 * over LIT_MEM_MAX (after login) is streamed into a file of the Maildir's tmp/
 * instead of memory; MULTIAPPEND and CATENATE may send several. They live for
 * one command: spool_clear removes what no message was made of. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd.h"
#include "maildir.h"

static spoolf *files;
static int nfiles;

spoolf *spool_new(int raw)
{
  if (nfiles == SPOOL_MAX) return 0;
  if (!files && !(files = calloc(SPOOL_MAX, sizeof *files))) return 0;
  spoolf *f = &files[nfiles];
  f->fd = maildir_tmp_open(S.root, f->name, sizeof f->name);
  if (f->fd < 0) return 0;
  snprintf(f->path, sizeof f->path, "%s/tmp/%s", S.root, f->name);
  f->len = 0; f->raw = raw;
  nfiles++;
  return f;
}

spoolf *spool_get(int i) { return i >= 0 && i < nfiles ? &files[i] : 0; }

void spool_clear(void)
{
  for (int i = 0; i < nfiles; i++) {
    if (files[i].fd >= 0) close(files[i].fd);
    if (files[i].path[0]) unlink(files[i].path);
    files[i].fd = -1; files[i].path[0] = 0;
  }
  nfiles = 0;
}
