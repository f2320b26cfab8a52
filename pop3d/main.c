/* pochta-pop3d [-t seconds] — POP3 server for one connection on fd 0/1.
 * pochta-pop3d -m [-t seconds] — the post-login stage, run by the
 * checkpassword program with MAILDIR set. See pochta-pop3d(8). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "connenv.h"
#include "exitcodes.h"
#include "log.h"
#include "pop3d.h"

int main(int argc, char **argv)
{
  int opt, mailbox = 0;
  unsigned long timeout = POP3_TIMEOUT_DEFAULT;
  char *end;

  while ((opt = getopt(argc, argv, "+mt:")) != -1) {
    switch (opt) {
      case 'm': mailbox = 1; break;
      case 't':
        timeout = strtoul(optarg, &end, 10);
        if (*end || !*optarg || timeout > 86400) { log_event("usage", "error", "bad -t", (char const *)0); return EX_PERM; }
        break;
      default:
        log_event("usage", "error", "pochta-pop3d [-m] [-t seconds]", (char const *)0);
        return EX_PERM;
    }
  }
  /* A client that goes away must not kill us in the middle of a write:
   * write errors are handled where they happen. */
  signal(SIGPIPE, SIG_IGN);
  connenv_init();
  if (mailbox) return session_main((unsigned)timeout);
  return auth_main(argv[0], (unsigned)timeout);
}
