/* spam/fuzz-spammsg.c — libFuzzer target fuzz-spammsg: arbitrary octets as a
 * message (the first line as an Authentication-Results value, the second as a HELO
 * name, the rest the message): view, tokens, every kind of rule, HELO and
 * Authentication-Results scoring, the headers, the fields to drop, reading our score back, and
 * learning it into an in-memory database. Nothing may crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spam-int.h"

static int sink(void *ctx, size_t start, size_t end) { *(size_t *)ctx += end - start; return 1; }

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len);
int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len)
{
  static char const rules[] = "header H 1 Subject *a?b*\nheader R 1 From /^[0-9]+@x/\nmissing M 1 Date\n"
                              "body B 1 buy now\nuri U 1 example.test\n";
  char const *s = (char const *)data;
  char line1[256] = "", line2[256] = "";
  char const *nl = memchr(s, '\n', len);
  size_t a = nl ? (size_t)(nl - s) : len;
  if (a < sizeof line1) { memcpy(line1, s, a); line1[a] = 0; }
  size_t off = nl ? a + 1 : len;
  nl = memchr(s + off, '\n', len - off);
  size_t b = nl ? (size_t)(nl - s) - off : len - off;
  if (b < sizeof line2) { memcpy(line2, s + off, b); line2[b] = 0; }
  off = nl ? off + b + 1 : len;

  spam_conf c;
  char err[200];
  spam_conf_init(&c);
  spam_conf_rules(&c, rules, sizeof rules - 1, err, sizeof err);
  spam_view v = SPAM_VIEW_ZERO;
  spam_tokens t = SPAM_TOKENS_ZERO;
  spam_score sc;
  memset(&sc, 0, sizeof sc);
  if (spam_view_make(&v, s + off, len - off) && spam_tokens_make(&t, &v)) {
    spam_rules_run(&c, &v, &sc);
    spam_helo_run(&c, line2, "192.0.2.1", "mx.example.test", &sc);
    spam_authres_run(&c, line1, &sc);
    stralloc h = STRALLOC_ZERO;
    spam_report_headers(&h, &c, &sc);
    stralloc_free(&h);
    bayes_mem m = BAYES_MEM_ZERO;
    bayesdb d;
    bayesdb_parse(&d, 0, 0);
    if (bayes_mem_load(&m, &d)) {
      bayes_mem_learn(&m, spam_msg_id(&v, &t), t.key, t.n, SPAM_LEARN_SPAM, 9000);
      bayes_mem_learn(&m, spam_msg_id(&v, &t), t.key, t.n, SPAM_LEARN_HAM, 9000);
    }
    bayes_mem_free(&m);
  }
  spam_tokens_free(&t);
  spam_view_free(&v);
  size_t n = 0;
  spam_drops(s, len, sink, &n);
  double x;
  int forced;
  spam_header_score(s, len, &x, &forced);
  spam_conf_free(&c);
  return 0;
}
