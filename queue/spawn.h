/* Starting a delivery program with the descriptors the contracts name. */
#ifndef POCHTA_SPAWN_H
#define POCHTA_SPAWN_H

#include <sys/types.h>

/* fork+exec argv[0] (searched in PATH) with fd 0 = in, fd 1 = out, fd 2 = err
 * (-1: inherit ours), fd 3 = f3 (-1: closed), as the runner's own user. All
 * signals are unblocked and default in the child.
 * Returns the pid, or -1 with errno (ENOENT when the program does not exist,
 * reported by the child through a close-on-exec pipe before we return). */
pid_t spawn(char const *const *argv, int in, int out, int err, int f3);

/* A fresh anonymous file for a child's output (memfd, close-on-exec). -1 on error. */
int anonfile(void);

#endif
