/* spam/fuzz-spamconf.c — libFuzzer target fuzz-spamconf: arbitrary octets as each
 * configuration file (spam, spamrules, greylist, a user's pochta-spam) and as DNS
 * list return codes. Every line is accepted or refused with a reason; nothing may
 * crash or leak, whatever is refused halfway. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spam-int.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len);
int LLVMFuzzerTestOneInput(uint8_t const *data, size_t len)
{
  char const *s = (char const *)data;
  char err[200];
  spam_conf c;
  spam_user u;
  spam_code codes[SPAM_CODES_MAX];
  unsigned n;
  spam_conf_init(&c);
  spam_conf_settings(&c, s, len, err, sizeof err);
  spam_conf_rules(&c, s, len, err, sizeof err);
  spam_conf_greylist(&c, s, len, err, sizeof err);
  spam_user_parse(&u, &c, s, len);
  spam_codes_parse(codes, &n, s, len);
  spam_conf_free(&c);
  return 0;
}
