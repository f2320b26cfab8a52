/* The signing keys of a domain as pochta dkim lays them out (pochta-config(5)):
 * <confdir>/dkim/<domain>/sign names the selectors, one per line, and each key is
 * <confdir>/dkim/<domain>/<selector>.key. For the signing step. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "int.h"

int dkim_keys_load(char const *confdir, char const *domain, dkim_key **keys, unsigned max)
{
  char path[4096], list[2048], d[CHK_DOMAIN_MAX + 1];
  size_t len = 0, l = strlen(domain);
  unsigned n = 0;
  int fd;
  if (l && domain[l - 1] == '.') l--;
  /* the domain becomes a path: only a valid domain name may */
  if (!chk_copy_lower(d, sizeof d, domain, l) || !chk_domain_ok(d, 1)) { errno = EINVAL; return -1; }
  if ((size_t)snprintf(path, sizeof path, "%s/dkim/%s/sign", confdir, d) >= sizeof path) { errno = ENAMETOOLONG; return -1; }
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  for (;;) {
    ssize_t r = read(fd, list + len, sizeof list - 1 - len);
    if (r < 0) { if (errno == EINTR) continue; close(fd); return -1; }
    if (!r || (len += (size_t)r) == sizeof list - 1) break;
  }
  close(fd);
  list[len] = 0;
  for (char *p = list, *e; *p && n < max; p = e) {
    char *s;
    e = strchr(p, '\n');
    if (e) *e++ = 0; else e = p + strlen(p);
    while (*p == ' ' || *p == '\t') p++;
    for (s = p + strlen(p); s > p && (s[-1] == ' ' || s[-1] == '\t' || s[-1] == '\r'); ) *--s = 0;
    if (!*p || *p == '#') continue;
    if (!chk_domain_ok(p, 1)) { errno = EINVAL; goto fail; }   /* a selector is a name too */
    if ((size_t)snprintf(path, sizeof path, "%s/dkim/%s/%s.key", confdir, d, p) >= sizeof path) { errno = ENAMETOOLONG; goto fail; }
    if (!(keys[n] = dkim_key_load(path, d, p))) goto fail;
    n++;
  }
  return (int)n;
fail:
  {
    int e = errno;
    while (n) dkim_key_free(keys[--n]);
    errno = e;
  }
  return -1;
}

int dkim_sign_buf(char const *msg, size_t len, dkim_key *const *keys, unsigned nkeys, time_t now,
                  char const *eol, chk_buf *out)
{
  chk_msg *m = chk_msg_new(CHK_MSG_SIGN);
  int ok;
  if (!m) return 0;
  ok = chk_msg_feed(m, msg, len) && chk_msg_end(m) && dkim_sign(m, keys, nkeys, now, eol, out);
  {
    int e = errno;
    chk_msg_free(m);
    errno = e;
  }
  return ok;
}
