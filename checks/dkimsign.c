/* pochta-dkimsign: the signing step. The message on fd 0 (LF or CRLF line ends, as
 * it will be queued); the DKIM-Signature fields to put above it on fd 1 (LF line
 * ends), one per key its From: domain signs with now (pochta dkim, pochta-config(5));
 * nothing when that domain does not sign. Exit 0 (signed, or nothing to sign), 100
 * usage or a message over the size limit, 111 temporary failure (a key listed but
 * unreadable, no memory).
 *
 * In the documented install it is the one program that can read the private keys:
 * setgid pochta-dkim (mode 2755), the keys 0640 root:pochta-dkim. pochta-smtpd runs
 * it for submitted mail and pochta-send for mail of local users, so the network
 * daemons never hold a key. Any local user may run it, as any local user may send
 * mail that gets signed; run through its set-group-id bit it takes nothing from its
 * caller but a configuration directory only root can change (lib/trustconf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "conf.h"
#include "trustconf.h"

#define KEYS_MAX 8
#define MSG_MAX (64u << 20)   /* what any databytes setting allows, and more */

static int keep_nothing(char const *kv) { (void)kv; return 0; }

static void die(int code, char const *what, char const *why)
{
  fprintf(stderr, "pochta-dkimsign: event=fail exit=%d what=\"%s\" error=\"%s\"\n", code, what, why);
  _exit(code);
}

static int writeall(int fd, char const *s, size_t len)
{
  while (len) {
    ssize_t w = write(fd, s, len);
    if (w < 0) { if (errno == EINTR) continue; return 0; }
    s += w; len -= (size_t)w;
  }
  return 1;
}

int main(int argc, char **argv)
{
  chk_buf in = CHK_BUF_ZERO, out = CHK_BUF_ZERO;
  char domain[CHK_DOMAIN_MAX + 1];
  dkim_key *keys[KEYS_MAX];
  chk_msg *m;
  int n;
  (void)argv;
  if (argc != 1) die(100, "usage", "pochta-dkimsign < message > fields");
  if (trustconf_setid()) {
    char const *why;
    if (!trustconf_sanitize(keep_nothing, &why)) die(111, "check the configuration directory", why);
  }
  for (;;) {
    char buf[65536];
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; die(111, "read the message", strerror(errno)); }
    if (!r) break;
    if (in.len + (size_t)r > MSG_MAX) die(100, "read the message", "larger than 64 MiB");
    if (!chk_buf_put(&in, buf, (size_t)r)) die(111, "read the message", strerror(errno));
  }
  if (!(m = chk_msg_new(CHK_MSG_SIGN)) || !chk_msg_feed(m, in.s ? in.s : "", in.len) || !chk_msg_end(m))
    die(111, "read the message", strerror(errno));
  if (!chk_msg_from_domain(m, domain)) {   /* no single From: domain: nobody signs it */
    fprintf(stderr, "pochta-dkimsign: event=unsigned why=\"no single From: domain\"\n");
    return 0;
  }
  n = dkim_keys_load(conf_dir(), domain, keys, KEYS_MAX);
  if (n < 0) die(111, "load the keys", strerror(errno));
  if (!n) return 0;
  if (!dkim_sign(m, keys, (unsigned)n, time(0), "\n", &out)) die(111, "sign", strerror(errno));
  if (!writeall(1, out.s, out.len)) die(111, "write the fields", strerror(errno));
  fprintf(stderr, "pochta-dkimsign: event=signed domain=%s keys=%d\n", domain, n);
  for (int i = 0; i < n; i++) dkim_key_free(keys[i]);
  chk_msg_free(m);
  chk_buf_free(&in);
  chk_buf_free(&out);
  return 0;
}
