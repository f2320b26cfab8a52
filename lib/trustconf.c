/* See trustconf.h. A caller that could name its own configuration directory would
 * make a set-id program read its users, owner and queue files, and run its
 * programs with our rights. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "trustconf.h"

extern char **environ;

int trustconf_setid(void)
{
  return getuid() != geteuid() || getgid() != getegid();
}

int trustconf_root_only(char const *path)
{
  char buf[PATH_MAX];
  size_t n = strlen(path);
  struct stat st;
  if (n >= sizeof buf || path[0] != '/') return 0;
  memcpy(buf, path, n + 1);
  for (;;) {
    if (lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid) return 0;
    if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) return 0;
    if ((st.st_mode & 022) && !strcmp(buf, path)) return 0;   /* the directory itself */
    char *slash = strrchr(buf, '/');
    if (slash == buf) {
      if (!buf[1]) return 1;
      buf[1] = 0;
    } else *slash = 0;
  }
}

int trustconf_sanitize(int (*keep)(char const *kv), char const **why)
{
  char real[PATH_MAX];
  char const *conf = conf_dir();
  char **env = environ;
  size_t k = 0;
  if (!realpath(conf, real)) { *why = "cannot resolve the configuration directory"; return 0; }
  if (!trustconf_root_only(real)) {
    *why = "the configuration directory (and every directory above it) must belong to root and be writable by root alone";
    return 0;
  }
  for (size_t i = 0; env[i]; i++)
    if (!strncmp(env[i], "POCHTA_CONF=", 12) || keep(env[i])) env[k++] = env[i];
  env[k] = 0;
  if (setenv("POCHTA_CONF", real, 1) < 0 || setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1) < 0) {
    *why = "cannot set the environment";
    return 0;
  }
  return 1;
}
