/* libFuzzer target: a message through chk_msg (cut into reads of a size the first
 * octet picks, so split line ends get exercised), then DKIM verification, ARC
 * validation, DMARC and the A-R writer, with DNS from a fixed table (a real RSA key
 * and a real Ed25519 key, a DMARC record), and authres_claims on every field.
 * What must hold: no crash, no overread (ASan), bounded results. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "checks.h"
#include "dnstable.h"

static char const zone[] =
  "r1._domainkey.example.test TXT v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArcvIDmNhw6MOZizGRbaaGgWCzjFOCigSBASkqUGXfcpkWhYgspqiz7pceIkXQpPtS5byjNVh9WPOjwilvcAD08IckzHVyqt6HtDv5ypld2wA+INGO+vg+lDHfWPqliw0DslEKF/K6XFU48fdMpkoQXtG/mp53Mz2YJ1/pvVsqUs4XaDdYQSUO0wM23ro/lqaPKc2nlECqsxRzZ6TY3K9RkWi7S+Nc6SCyrRUVuFllbUDiv5lZC/3L4HKso3zSIb3Sybu89AJ94mp9uHRPpe+Dgtm5w4yL+t8Zo8Y6iAmI7BANhXrnOMwnP4/vc38mxRYXx3zwjPZvQ95kFtSoSPlnQIDAQAB\n"
  "e1._domainkey.example.test TXT v=DKIM1; k=ed25519; p=Znv7T7B4evCvCF1LbZwB0s7WhsEYhaqtNb+eyJ9jCPI=\n"
  "_dmarc.example.test TXT v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@example.test\n"
  "example.test TXT v=spf1 ip4:192.0.2.0/24 -all\n"
  "x.example.test TIMEOUT\n";

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static dnstable t;
  static int loaded;
  static dkim_results dr;
  static checks_out out;
  chk_dns dns;
  chk_msg *m;
  size_t step, i;
  if (!loaded) { if (!dnstable_load(&t, zone, sizeof zone - 1)) abort(); loaded = 1; }
  if (size < 1) return 0;
  step = (size_t)data[0] + 1;
  data++; size--;
  dnstable_hook(&dns, &t);
  dns.max_queries = 40;
  m = chk_msg_new(CHK_MSG_SIGN);
  if (!m) return 0;
  for (i = 0; i < size; i += step)
    if (!chk_msg_feed(m, (char const *)data + i, size - i < step ? size - i : step)) abort();
  if (!chk_msg_end(m)) abort();
  {
    unsigned n;
    chk_field const *f = chk_msg_fields(m, &n);
    for (unsigned k = 0; k < n; k++) (void)authres_claims(f[k].raw, f[k].rawlen, "mx.example.test");
  }
  dkim_verify(m, &dns, 1796189000, &dr);
  if (dr.n > DKIM_SIG_MAX) abort();
  {
    checks_conf c = { "mx.example.test", "mx.example.test", 0, 0, 0, 40, 0 };
    checks_env e;
    chk_buf ar = CHK_BUF_ZERO;
    memset(&e, 0, sizeof e);
    e.family = AF_INET;
    e.ip[0] = 192; e.ip[2] = 2; e.ip[3] = 7;
    e.helo = "mail.example.test";
    e.mailfrom = "a@example.test";
    e.now = 1796189000;
    e.sample = size % 100;
    dnstable_hook(&dns, &t);
    checks_run_dns(&c, &dns, &e, m, &out);
    if (out.verdict > CHECKS_TEMPFAIL || dns.queries > 40) abort();
    if (!authres_write(&ar, c.authserv_id, &out, &e, "\r\n")) abort();
    for (size_t k = 0; k < ar.len; k++) if (!ar.s[k]) abort();
    chk_buf_free(&ar);
  }
  chk_msg_free(m);
  return 0;
}
