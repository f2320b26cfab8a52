/* What pochta-checkpassword trusts when it runs through its setuid bit: nothing its
 * caller can change. The caller is a daemon's account (the file's group), which
 * may be in the hands of whoever broke into a pre-login process: an environment
 * with its own POCHTA_CONF would make us read its users and owner files and run
 * its program as root. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "cpsetuid.h"
#include "selfdir.h"
#include "trustconf.h"

#define CP_TEMP 111

int cpsetuid_active(void)
{
  return trustconf_setid();
}

/* Variables a session needs (set by tcpserver, systemd, pochta-tlsd, the daemons). */
static int keep(char const *kv)
{
  static char const *const names[] = {
    "TCPREMOTEIP", "TCPREMOTEPORT", "TCPREMOTEHOST", "TCPREMOTEINFO", "TCPLOCALIP",
    "TCPLOCALPORT", "TCPLOCALHOST", "PROTO", "REMOTE_ADDR", "REMOTE_PORT",
    "SSL_PROTOCOL", "SSL_CIPHER", "SSL_TLS_SNI_SERVERNAME", "SSLCTLFD", "SSLREADFD",
    "SSLWRITEFD", 0
  };
  static char const *const prefixes[] = { "IMAPD_", "POP3D_", "POCHTA_POP3_", 0 };
  size_t n = strcspn(kv, "=");
  for (size_t i = 0; names[i]; i++) if (strlen(names[i]) == n && !memcmp(kv, names[i], n)) return 1;
  for (size_t i = 0; prefixes[i]; i++) if (!strncmp(kv, prefixes[i], strlen(prefixes[i]))) return 1;
  return 0;
}

void cpsetuid_sanitize(void)
{
  char const *why;
  if (!trustconf_sanitize(keep, &why)) strerr_dief(CP_TEMP, "refusing to run through the setuid bit: ", why, " (", conf_dir(), ")");
}

int cpsetuid_prog(stralloc *prog, char const *arg, int setuid_mode)
{
  char path[PATH_MAX];
  char const *base = strrchr(arg, '/');
  prog->len = 0;
  if (!strcmp(arg, "true")) return stralloc_0(prog) && (prog->len = 0, 1);
  if (!setuid_mode) return stralloc_cats(prog, arg) && stralloc_0(prog);
  base = base ? base + 1 : arg;
  if (strncmp(base, "pochta-", 7) || !base[7] || strlen(base) > 64) return 0;
  if (!self_sibling(path, sizeof path, base)) return 0;
  return stralloc_cats(prog, path) && stralloc_0(prog);
}
