/* The organizational domain (RFC 7489 3.2) through libpsl and the public suffix
 * list: Debian's /usr/share/publicsuffix (package publicsuffix), or the file
 * $POCHTA_PSL names; libpsl's built-in copy if neither loads. Loaded once per
 * process: the one piece of state in checks/ that outlives a call. */
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "int.h"

static psl_ctx_t const *psl_get(void)
{
  static psl_ctx_t const *psl;
  static int tried;
  if (!tried) {
    char const *env = getenv("POCHTA_PSL");
    tried = 1;
    psl = psl_load_file(env && *env ? env : "/usr/share/publicsuffix/public_suffix_list.dafsa");
    if (!psl && !(env && *env)) psl = psl_load_file("/usr/share/publicsuffix/public_suffix_list.dat");
    if (!psl) psl = psl_builtin();
  }
  return psl;
}

int chk_orgdomain(char const *domain, char out[CHK_DOMAIN_MAX + 1])
{
  char d[CHK_DOMAIN_MAX + 1];
  char const *r;
  psl_ctx_t const *psl = psl_get();
  size_t l = strlen(domain);
  if (l && domain[l - 1] == '.') l--;
  if (!l || !chk_copy_lower(d, sizeof d, domain, l)) return 0;
  r = psl ? psl_registrable_domain(psl, d) : 0;
  /* a public suffix itself (or no list at all) is its own organizational domain */
  memcpy(out, r ? r : d, strlen(r ? r : d) + 1);
  return 1;
}
