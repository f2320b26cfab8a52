/* libFuzzer target for the modseq log (modseq.c): the input is the content of
 * pochta-modseq in a scratch folder, read by a scan of a folder of eight
 * messages (which may rewrite or append to it), by a STORE's look at its tail
 * and by a session's refresh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/djbunix.h>

#include "mbox.h"

static char dir[64];

static void cleanup(void)
{
  char p[128];
  static char const *const files[] = { "pochta-modseq", "pochta-modseq.pochta-tmp" };
  for (int i = 0; i < 2; i++) { snprintf(p, sizeof p, "%s/%s", dir, files[i]); unlink(p); }
  rmdir(dir);
}

static void setup(void)
{
  if (dir[0]) return;
  snprintf(dir, sizeof dir, "/tmp/fuzz-modseq.%d", (int)getpid());
  if (mkdir(dir, 0700) < 0) abort();
  atexit(cleanup);
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static char const names[] = "a:2,S\0b:2,\0c:2,FS\0d\0e:2,T\0f:2,a\0g:2,DR\0h:2,S";
  static uint32_t const uids[8] = { 1, 2, 3, 5, 8, 13, 21, 4000000000u };
  char p[128];
  setup();
  snprintf(p, sizeof p, "%s/pochta-modseq", dir);
  if (!openwritenclose_unsafe(p, (char const *)data, size)) return 0;
  msg m[8];
  mbox mb;
  memset(&mb, 0, sizeof mb);
  memset(m, 0, sizeof m);
  snprintf(mb.dir, sizeof mb.dir, "%s", dir);
  mb.uidvalidity = 1234;
  size_t off = 0;
  for (int i = 0; i < 8; i++) {
    char const *nm = names + off;
    char const *c = strstr(nm, ":2,");
    m[i].uid = uids[i];
    m[i].name = (uint32_t)off;
    if (c) mbox_flagparse(c + 3, strlen(c + 3), &m[i].flags, &m[i].kw);
    off += strlen(nm) + 1;
  }
  mb.m = m; mb.n = 8;
  mb.bnames = names; mb.nbnames = sizeof names;
  (void)modseq_scan(&mb);
  (void)modseq_highest(&mb);
  modseq_refresh(&mb);
  stralloc_free(&mb.chlog);
  return 0;
}
