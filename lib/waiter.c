#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int waiter_okfd_pass(int fd, char const *env)
{
  char num[24];
  /* F_DUPFD: the copy is not close-on-exec */
  if (fd <= 3 && (fd = fcntl(fd, F_DUPFD, 10)) < 0) return -1;
  if (fcntl(fd, F_SETFD, 0) < 0) return -1;
  snprintf(num, sizeof num, "%d", fd);
  return setenv(env, num, 1);
}

void waiter_okfd_signal(char const *env)
{
  char const *v = getenv(env);
  struct stat st;
  if (!v) return;
  int fd = atoi(v);
  /* only our pipe: a checkpassword program that closed it may have put
   * something else on that number */
  if (fd > 3 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) { (void)!write(fd, "1", 1); close(fd); }
  unsetenv(env);
}
