/* pochta: the admin tool. pochta [-C confdir] command [args...]
 * One table of commands; each lives in its own file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/strerr.h>

#include "conf.h"
#include "pochta.h"

char const *PROG = "pochta";
char const *confdir;

static int cmd_queue(int argc, char const *const *argv)
{
  /* The queue tools belong to the queue: pochta queue ... is pochta-queuectl ... */
  char const **av = calloc(argc + 1, sizeof *av);
  if (!av) strerr_diefu1sys(TEMP_EXIT, "allocate");
  av[0] = "pochta-queuectl";
  for (int i = 1; i < argc; i++) av[i] = argv[i];
  execvp(av[0], (char *const *)av);
  strerr_diefu2sys(TEMP_EXIT, "exec ", av[0]);
}

static struct { char const *name; int (*run)(int, char const *const *); } const cmds[] = {
  { "init", cmd_init },
  { "domain", cmd_domain },
  { "user", cmd_user },
  { "apppass", cmd_apppass },
  { "alias", cmd_alias },
  { "catchall", cmd_catchall },
  { "compile", cmd_compile },
  { "queue", cmd_queue },
  { "dkim", cmd_dkim },
  { "dns", cmd_dns },
  { "check", cmd_check },
  { "learn", cmd_learn },
  { "spam", cmd_spam },
  { 0, 0 }
};

#define USAGE "pochta [-C confdir] init|domain|user|apppass|alias|catchall|compile|queue|dkim|dns|check|learn|spam ... (see pochta(8))"

int main(int argc, char const *const *argv)
{
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    if (!strcmp(argv[i], "-C") && i + 1 < argc) { confdir = argv[i+1]; i += 2; continue; }
    if (!strncmp(argv[i], "-C", 2) && argv[i][2]) { confdir = argv[i] + 2; i++; continue; }
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) strerr_dieusage(0, USAGE);
    strerr_dieusage(USAGE_EXIT, USAGE);
  }
  if (i >= argc) strerr_dieusage(USAGE_EXIT, USAGE);
  if (confdir) {
    if (!*confdir) strerr_dief(USAGE_EXIT, "empty configuration directory name");
    /* Children (pochta-queuectl) and lib/conf.c find the same instance. */
    if (setenv("POCHTA_CONF", confdir, 1) < 0) strerr_diefu1sys(TEMP_EXIT, "setenv");
  } else confdir = conf_dir();
  for (int c = 0; cmds[c].name; c++)
    if (!strcmp(argv[i], cmds[c].name)) return cmds[c].run(argc - i, argv + i);
  strerr_dief(USAGE_EXIT, "unknown command ", argv[i], ": usage: ", USAGE);
}
