#include <string.h>
#include <unistd.h>

#include "waiter.h"

void waiter_exec(char const *self)
{
  static char const name[] = "/pochta-wait";
  char path[4096 + sizeof name];
  char const *slash = strrchr(self, '/');
  size_t dir;
  if (!slash || (dir = (size_t)(slash - self)) > 4096) return;
  memcpy(path, self, dir);
  memcpy(path + dir, name, sizeof name);
  char const *argv[] = { "pochta-wait", 0 };
  execv(path, (char *const *)argv);
}
