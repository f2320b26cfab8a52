/* pochta-deliver [-f sender] [-t recipient] [-k key] MAILDIR: the message on fd 0
 * into MAILDIR. The delivery itself is lib/deliver.c, which pochta-send's delivery
 * worker runs without this exec. See pochta-deliver(8). */
#include <unistd.h>

#include "deliver.h"

int main(int argc, char **argv)
{
  char const *sender = 0, *rcpt = 0, *key = 0;
  int opt;
  while ((opt = getopt(argc, argv, "+f:t:k:")) != -1) {
    switch (opt) {
      case 'f': sender = optarg; break;
      case 't': rcpt = optarg; break;
      case 'k': key = optarg; break;
      default: deliver_exit(0, 0, 0, 0, 0);   /* prints the usage */
    }
  }
  deliver_exit(0, argc - optind == 1 ? argv[optind] : 0, sender, rcpt, key);
}
