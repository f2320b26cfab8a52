/* SPF macros (RFC 7208 7): %{s}, %{l}, %{o}, %{d}, %{i}, %{p}, %{v}, %{h}, and in
 * explanations %{c}, %{r}, %{t}; transformers (digits, r) and delimiters. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "int.h"

typedef struct { char *p; size_t n, max; int over; } obuf;
static void o_put(obuf *o, char const *s, size_t n)
{
  if (o->n + n >= o->max) { o->over = 1; n = o->max - 1 - o->n; }
  memcpy(o->p + o->n, s, n);
  o->n += n;
}

static int is_delim(int c) { return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '='; }

/* The validated name of the client (%{p}, RFC 7208 7.3): a PTR name whose address
 * records contain the client's address, preferring domain and its subdomains;
 * "unknown" if none. */
static void validated(chk_dns *dns, spf_req const *rq, char const *domain, char *out, size_t max)
{
  dns_result *ptr = malloc(sizeof *ptr), *addr = malloc(sizeof *addr);
  int found = 0;
  snprintf(out, max, "unknown");
  if (!ptr || !addr) goto end;
  {
    char rev[80];
    dns_revname(rev, rq->family, rq->ip);
    if (chk_query(dns, rev, DNS_T_PTR, ptr) != DNS_OK) goto end;
  }
  for (unsigned i = 0; i < ptr->n && i < SPF_PTR_MAX && found < 2; i++) {
    char const *name = ptr->rr[i].name;
    if (chk_query(dns, name, rq->family == AF_INET ? DNS_T_A : DNS_T_AAAA, addr) != DNS_OK) continue;
    for (unsigned k = 0; k < addr->n; k++) {
      if (memcmp(addr->rr[k].ip, rq->ip, rq->family == AF_INET ? 4 : 16)) continue;
      int under = chk_domain_under(name, domain);
      if (!found || under) { snprintf(out, max, "%s", name); found = under ? 2 : 1; }
      break;
    }
  }
end:
  free(ptr);
  free(addr);
}

int spf_macro(chk_dns *dns, spf_req const *rq, char const *domain, char const *sender,
              char const *s, size_t len, int exp, char *out, size_t outmax)
{
  obuf o = { out, 0, outmax, 0 };
  char val[1024];
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c != '%') {
      if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e) { if (!(exp && c == ' ')) return 0; }
      o_put(&o, &c, 1);
      continue;
    }
    if (++i >= len) return 0;
    c = s[i];
    if (c == '%') { o_put(&o, "%", 1); continue; }
    if (c == '_') { o_put(&o, " ", 1); continue; }
    if (c == '-') { o_put(&o, "%20", 3); continue; }
    if (c != '{' || ++i >= len) return 0;
    {
      char letter = s[i++], lc = (char)chk_lower((unsigned char)letter);
      unsigned digits = 0, hasdig = 0, rev = 0;
      char delims[8];
      size_t nd = 0;
      char const *at;
      /* the value of the letter */
      switch (lc) {
      case 's': snprintf(val, sizeof val, "%s", sender); break;
      case 'l':
        at = strrchr(sender, '@');
        snprintf(val, sizeof val, "%.*s", at ? (int)(at - sender) : 0, sender);
        if (!val[0]) snprintf(val, sizeof val, "postmaster");
        break;
      case 'o':
        at = strrchr(sender, '@');
        snprintf(val, sizeof val, "%s", at ? at + 1 : sender);
        break;
      case 'd': snprintf(val, sizeof val, "%s", domain); break;
      case 'i':
        if (rq->family == AF_INET) snprintf(val, sizeof val, "%u.%u.%u.%u", rq->ip[0], rq->ip[1], rq->ip[2], rq->ip[3]);
        else {
          static char const hex[] = "0123456789ABCDEF";   /* as RFC 7208 7.4 shows */
          size_t k = 0;
          for (int b = 0; b < 16; b++) {
            val[k++] = hex[rq->ip[b] >> 4]; val[k++] = '.';
            val[k++] = hex[rq->ip[b] & 15]; val[k++] = '.';
          }
          val[k - 1] = 0;
        }
        break;
      case 'p':
        if (dns) validated(dns, rq, domain, val, sizeof val); else snprintf(val, sizeof val, "unknown");
        break;
      case 'v': snprintf(val, sizeof val, "%s", rq->family == AF_INET ? "in-addr" : "ip6"); break;
      case 'h': snprintf(val, sizeof val, "%s", rq->helo ? rq->helo : ""); break;
      case 'c': case 'r': case 't':
        if (!exp) return 0;
        if (lc == 'c') inet_ntop(rq->family, rq->ip, val, sizeof val);
        else if (lc == 'r') snprintf(val, sizeof val, "%s", rq->me && *rq->me ? rq->me : "unknown");
        else snprintf(val, sizeof val, "%lld", (long long)rq->now);
        break;
      default: return 0;
      }
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        hasdig = 1;
        if (digits < 1000) digits = digits * 10 + (unsigned)(s[i] - '0');
        i++;
      }
      if (hasdig && !digits) return 0;    /* 7.3: the number must be nonzero */
      if (i < len && (s[i] == 'r' || s[i] == 'R')) { rev = 1; i++; }
      while (i < len && is_delim(s[i])) { if (nd < sizeof delims) delims[nd++] = s[i]; i++; }
      if (i >= len || s[i] != '}') return 0;
      if (hasdig || rev || nd) {
        /* split on the delimiters, maybe reverse, keep the rightmost parts, join with '.' */
        char const *part[256];
        size_t plen[256], np = 0, st = 0, vl = strlen(val);
        char tmp[1024];
        size_t t = 0;
        if (!nd) delims[nd++] = '.';
        for (size_t k = 0; k <= vl && np < 256; k++) {
          if (k == vl || memchr(delims, val[k], nd)) {
            part[np] = val + st; plen[np] = k - st; np++;
            st = k + 1;
          }
        }
        if (rev) for (size_t a = 0, b = np - 1; a < b; a++, b--) {
          char const *tp = part[a]; size_t tl = plen[a];
          part[a] = part[b]; plen[a] = plen[b]; part[b] = tp; plen[b] = tl;
        }
        size_t first = hasdig && digits < np ? np - digits : 0;
        for (size_t k = first; k < np; k++) {
          if (t + plen[k] + 2 >= sizeof tmp) break;
          if (k > first) tmp[t++] = '.';
          memcpy(tmp + t, part[k], plen[k]);
          t += plen[k];
        }
        tmp[t] = 0;
        memcpy(val, tmp, t + 1);
      }
      if (letter >= 'A' && letter <= 'Z') {
        /* uppercase: URL-escape everything but the unreserved characters */
        char tmp[1024];
        size_t t = 0;
        for (char const *v = val; *v && t + 4 < sizeof tmp; v++) {
          unsigned char ch = (unsigned char)*v;
          if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_' || ch == '~') tmp[t++] = (char)ch;
          else t += (size_t)snprintf(tmp + t, 4, "%%%02X", ch);
        }
        tmp[t] = 0;
        memcpy(val, tmp, t + 1);
      }
      o_put(&o, val, strlen(val));
    }
  }
  out[o.n] = 0;
  return 1;
}
