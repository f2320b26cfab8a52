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
 * caller but a configuration directory only root can change (lib/trustconf.h).
 *
 * pochta-dkimsign -a DOMAIN -c none|pass -r AUTHRES seals instead (ARC, RFC 8617):
 * the ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results fields of a
 * new set, with DOMAIN's RSA key, the chain's state as the caller found it (cv) and
 * the caller's Authentication-Results payload. A seal vouches for checks the caller
 * made, so only root and the queue's account (pochta-smtpd) may ask for one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "checks.h"
#include "conf.h"
#include "trustconf.h"
#include "fdwrite.h"
#include "lsan_setid.h"

#define KEYS_MAX 8
#define MSG_MAX (64u << 20)   /* what any databytes setting allows, and more */

static int keep_nothing(char const *kv) { (void)kv; return 0; }

static void die(int code, char const *what, char const *why)
{
  fprintf(stderr, "pochta-dkimsign: event=fail exit=%d what=\"%s\" error=\"%s\"\n", code, what, why);
  _exit(code);
}

/* Is the caller one whose checks a seal may vouch for: root, or the account that
 * owns the queue (the one pochta-smtpd runs as)? */
static int may_seal(void)
{
  stralloc q = STRALLOC_ZERO;
  struct stat st;
  int ok;
  if (!getuid()) return 1;
  ok = conf_line(&q, "queuedir") > 0 && stat(q.s, &st) == 0 && st.st_uid == getuid();
  stralloc_free(&q);
  return ok;
}

static void read_message(chk_buf *in)
{
  for (;;) {
    char buf[65536];
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; die(111, "read the message", strerror(errno)); }
    if (!r) break;
    if (in->len + (size_t)r > MSG_MAX) die(100, "read the message", "larger than 64 MiB");
    if (!chk_buf_put(in, buf, (size_t)r)) die(111, "read the message", strerror(errno));
  }
}

static void free_keys(dkim_key **keys, int n)
{
  for (int i = 0; i < n; i++) dkim_key_free(keys[i]);
}

static int seal(chk_msg *m, char const *domain, char const *cv, char const *authres, chk_buf *out)
{
  dkim_key *keys[KEYS_MAX];
  arc_out in;
  int n, k;
  memset(&in, 0, sizeof in);
  if (!strcmp(cv, "none")) in.cv = CHK_NONE;
  else if (!strcmp(cv, "pass")) in.cv = CHK_PASS;
  else die(100, "usage", "-c none or -c pass");
  in.n = arc_count(m);
  n = dkim_keys_load(conf_dir(), domain, keys, KEYS_MAX);
  if (n < 0) die(111, "load the keys", strerror(errno));
  for (k = 0; k < n && dkim_key_alg(keys[k]) != DKIM_RSA; k++) ;
  if (k == n) {   /* RFC 8617 seals with RSA only: no RSA key, no seal */
    fprintf(stderr, "pochta-dkimsign: event=unsealed domain=%s why=\"no RSA key\"\n", domain);
    free_keys(keys, n);
    return 0;
  }
  if (!arc_seal(m, keys[k], &in, authres, time(0), "\n", out)) {
    int e = errno;
    free_keys(keys, n);
    if (e == EINVAL) die(100, "seal", "the chain does not allow a new set");
    die(111, "seal", strerror(e));
  }
  fprintf(stderr, "pochta-dkimsign: event=sealed domain=%s i=%u\n", domain, in.cv == CHK_NONE ? 1 : in.n + 1);
  free_keys(keys, n);
  return 1;
}


int main(int argc, char **argv)
{
  chk_buf in = CHK_BUF_ZERO, out = CHK_BUF_ZERO;
  char domain[CHK_DOMAIN_MAX + 1];
  char const *sealdom = 0, *cv = 0, *authres = 0;
  dkim_key *keys[KEYS_MAX];
  chk_msg *m;
  int n;
  if (argc == 7 && !strcmp(argv[1], "-a") && !strcmp(argv[3], "-c") && !strcmp(argv[5], "-r")) {
    sealdom = argv[2]; cv = argv[4]; authres = argv[6];
  } else if (argc != 1) die(100, "usage", "pochta-dkimsign < message > fields, or -a DOMAIN -c CV -r AUTHRES");
  if (trustconf_setid()) {
    char const *why;
    if (!trustconf_sanitize(keep_nothing, &why)) die(111, "check the configuration directory", why);
  }
  if (sealdom && !may_seal()) die(100, "seal", "only root and the queue's account may ask for an ARC seal");
  if (sealdom && (!*sealdom || strchr(sealdom, '/') || sealdom[0] == '.')) die(100, "usage", "bad domain");
  read_message(&in);
  if (!(m = chk_msg_new(CHK_MSG_SIGN)) || !chk_msg_feed(m, in.s ? in.s : "", in.len) || !chk_msg_end(m))
    die(111, "read the message", strerror(errno));
  if (sealdom) {
    if (seal(m, sealdom, cv, authres, &out) && !fd_write_all(1, out.s, out.len)) die(111, "write the fields", strerror(errno));
    chk_msg_free(m);
    chk_buf_free(&in);
    chk_buf_free(&out);
    return 0;
  }
  n = 0;
  if (!chk_msg_from_domain(m, domain))   /* no single From: domain: nobody signs it */
    fprintf(stderr, "pochta-dkimsign: event=unsigned why=\"no single From: domain\"\n");
  else if ((n = dkim_keys_load(conf_dir(), domain, keys, KEYS_MAX)) < 0) die(111, "load the keys", strerror(errno));
  else if (n) {
    if (!dkim_sign(m, keys, (unsigned)n, time(0), "\n", &out)) die(111, "sign", strerror(errno));
    if (!fd_write_all(1, out.s, out.len)) die(111, "write the fields", strerror(errno));
    fprintf(stderr, "pochta-dkimsign: event=signed domain=%s keys=%d\n", domain, n);
    free_keys(keys, n);
  }
  chk_msg_free(m);
  chk_buf_free(&in);
  chk_buf_free(&out);
  return 0;
}
