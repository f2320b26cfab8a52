/* checks/ — sender authentication engines: SPF (RFC 7208), DKIM verification and
 * signing (RFC 6376, RFC 8463), DMARC (RFC 7489), ARC verification and sealing
 * (RFC 8617), forward-confirmed reverse DNS, and the Authentication-Results header
 * (RFC 8601). Pure engines: every DNS question goes through a chk_dns hook table
 * (real DNS through dns/ in production, a table in unit tests and fuzzers); nothing
 * here prints, exits, reads files (except chk_key_load) or keeps global state
 * (except the public suffix list, loaded once per process by chk_orgdomain).
 *
 * Libraries: libc, BearSSL (RSA, SHA-256), libsodium (Ed25519); Debian's
 * publicsuffix data for the organizational domain is read by checks/psl.c (only
 * chk_orgdomain and what calls it: dmarc_check, checks_run). No skalibs, so any
 * program can link it.
 *
 * THE MESSAGE. chk_msg reads a message as octets in any number of pieces, with LF or
 * CRLF line ends (pochta's queue stores LF). It keeps the header (at most
 * CHK_HEADER_MAX octets) and streams the body through the canonicalizers and hashes
 * that the signatures in the header ask for, so a 25 MB body costs no memory.
 *
 * Reentrant: no static buffers; the public suffix list is loaded on first use (call
 * chk_orgdomain once before starting threads, if a program ever has them).
 *
 * Return conventions: functions returning int give 1 for success and 0 for failure
 * (errno ENOMEM, E2BIG or EINVAL) unless their comment says otherwise. Results are
 * CHK_* codes, named as in RFC 8601 by chk_result_name.
 */
#ifndef POCHTA_CHECKS_H
#define POCHTA_CHECKS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns.h"

/* ---------------------------------------------------------------- bounds */
#define CHK_HEADER_MAX (1u << 20)   /* header octets kept; a larger header: permerror */
#define CHK_FIELDS_MAX 2000         /* header fields indexed */
#define DKIM_SIG_MAX 100            /* DKIM-Signature fields examined (the rest ignored) */
#define DKIM_VERIFY_MAX 10          /* of those, at most this many cost a key lookup */
#define DKIM_TAG_MAX 8192           /* a tag value longer than this: permerror */
#define DKIM_H_MAX 64               /* names in h= */
#define ARC_MAX 50                  /* RFC 8617 4.2.1: instances 1..50 */
#define SPF_LOOKUP_MAX 10           /* RFC 7208 4.6.4 */
#define SPF_VOID_MAX 2
#define SPF_MX_MAX 10
#define SPF_PTR_MAX 10
#define CHK_DOMAIN_MAX 253

/* ---------------------------------------------------------------- results */
enum chk_result {
  CHK_NONE = 0, CHK_PASS, CHK_FAIL, CHK_SOFTFAIL, CHK_NEUTRAL,
  CHK_TEMPERROR, CHK_PERMERROR, CHK_POLICY
};
/* "none", "pass", "fail", "softfail", "neutral", "temperror", "permerror", "policy" */
char const *chk_result_name(int result);

/* ---------------------------------------------------------------- DNS hook */
typedef struct chk_dns_s chk_dns;
struct chk_dns_s {
  /* Ask (name, type), CNAMEs followed; fill res (dns/dns.h). Returns res->status:
   * DNS_OK (res->n may be 0), DNS_NXDOMAIN, DNS_TEMP, DNS_BADNAME. */
  int (*query)(chk_dns *, char const *name, uint16_t type, dns_result *res);
  void *ctx;
  unsigned queries;        /* counted by chk_query */
  unsigned max_queries;    /* per message; 0: no limit. Past it: DNS_TEMP */
};
/* Ask through the hook, counting against max_queries. res is the caller's. */
int chk_query(chk_dns *, char const *name, uint16_t type, dns_result *res);
/* The production hook: dns_lookup on r (whose deadline_ms bounds the time). */
void chk_dns_real(chk_dns *, dns_resolver *r);

/* A growable output buffer (NUL-terminated when len > 0). */
typedef struct chk_buf_s { char *s; size_t len, cap; } chk_buf;
#define CHK_BUF_ZERO { 0, 0, 0 }
int chk_buf_put(chk_buf *, char const *, size_t);
int chk_buf_puts(chk_buf *, char const *);
void chk_buf_free(chk_buf *);

/* ---------------------------------------------------------------- the message */
typedef struct chk_msg_s chk_msg;

typedef struct chk_field_s chk_field;
struct chk_field_s {
  char const *name;  size_t namelen;   /* the field name, as written */
  char const *raw;   size_t rawlen;    /* the whole field: name, colon, value with its
                                          folding, line ends as given, without the
                                          final line end */
};

/* flags for chk_msg_new */
#define CHK_MSG_SIGN 1      /* also hash the body relaxed (for dkim_sign, arc_seal) */

chk_msg *chk_msg_new(int flags);
void chk_msg_free(chk_msg *);
/* Message octets, in order, in pieces of any size. 0 on ENOMEM only. */
int chk_msg_feed(chk_msg *, char const *data, size_t len);
/* End of the message: finish the body hashes. */
int chk_msg_end(chk_msg *);
/* The header as read (for tools); n fields in order of appearance. */
chk_field const *chk_msg_fields(chk_msg const *, unsigned *n);
/* 1 if the header was longer than CHK_HEADER_MAX (signatures cannot be checked). */
int chk_msg_header_overflow(chk_msg const *);
/* The domain of the single address of the single From field (lowercase) into out;
 * 1 ok, 0 no From, several From fields or addresses, or no domain. */
int chk_msg_from_domain(chk_msg const *, char out[CHK_DOMAIN_MAX + 1]);

/* ---------------------------------------------------------------- keys */
enum { DKIM_RSA = 1, DKIM_ED25519 = 2 };
typedef struct dkim_key_s dkim_key;   /* a private key (opaque; wiped when freed) */
/* Read a private key in PEM: RSA ("RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY") or
 * Ed25519 (PKCS#8 "PRIVATE KEY", OID 1.3.101.112). domain and selector are copied.
 * NULL on error (errno; EINVAL for a key of another kind or RSA under 1024 bits). */
dkim_key *dkim_key_load(char const *path, char const *domain, char const *selector);
dkim_key *dkim_key_parse(unsigned char const *pem, size_t len, char const *domain, char const *selector);
void dkim_key_free(dkim_key *);
int dkim_key_alg(dkim_key const *);            /* DKIM_RSA or DKIM_ED25519 */
/* Make a new key: RSA of bits (2048 unless given), or Ed25519. PEM into out. */
int dkim_key_generate(int alg, unsigned bits, chk_buf *pem);
/* The DNS record for the key: "v=DKIM1; k=rsa; p=..." into out. (Not const: the
 * RSA modulus and exponent are derived here once, which signing never needs.) */
int dkim_key_record(dkim_key *, chk_buf *out);

/* ---------------------------------------------------------------- DKIM signing */
/* Signatures over msg (fed with CHK_MSG_SIGN and ended) with each key, relaxed/relaxed,
 * headers From To Cc Subject Date Reply-To Message-ID MIME-Version Content-Type
 * Content-Transfer-Encoding In-Reply-To References (those present) with From,
 * Subject and Date over-signed. The DKIM-Signature fields go into out, in the order
 * of keys, each folded and ending in eol ("\n" or "\r\n"), to be put before the
 * message's header. t= is now. 0 on error (no From field: EINVAL). */
int dkim_sign(chk_msg const *msg, dkim_key *const *keys, unsigned nkeys, time_t now,
              char const *eol, chk_buf *out);

/* The same on a message in memory (octets, LF or CRLF): what a signing step calls. */
int dkim_sign_buf(char const *msg, size_t len, dkim_key *const *keys, unsigned nkeys, time_t now,
                  char const *eol, chk_buf *out);
/* The keys a domain signs with now (pochta dkim's layout, pochta-config(5)):
 * <confdir>/dkim/<domain>/sign lists selectors, each key in <selector>.key. Loads at
 * most max into keys. Returns how many (0: the domain does not sign), -1 on error
 * (errno; a listed key that cannot be read is an error, not a silent skip). */
int dkim_keys_load(char const *confdir, char const *domain, dkim_key **keys, unsigned max);

/* ---------------------------------------------------------------- DKIM verification */
typedef struct dkim_sigres_s dkim_sigres;
struct dkim_sigres_s {
  int result;                 /* pass, fail, neutral, policy, temperror, permerror */
  int bodyfail;               /* fail: the body hash did not match (bh=) */
  int headerfail;             /* fail: the signature over the header did not verify */
  int alg;                    /* DKIM_RSA, DKIM_ED25519, 0 unknown */
  unsigned keybits;
  char d[CHK_DOMAIN_MAX + 1]; /* header.d */
  char s[64];                 /* selector */
  char i[CHK_DOMAIN_MAX + 66];/* header.i (AUID), if given */
  char b[9];                  /* first 8 characters of b=, for header.b (RFC 6008) */
  char why[96];               /* a short reason for anything but pass */
};
typedef struct dkim_results_s dkim_results;
struct dkim_results_s {
  unsigned n;                 /* signatures reported (at most DKIM_SIG_MAX) */
  unsigned ignored;           /* DKIM-Signature fields beyond DKIM_SIG_MAX */
  dkim_sigres sig[DKIM_SIG_MAX];
};
/* Verify every DKIM-Signature of msg (fed and ended). now is the time for t= and x=.
 * Fills out; returns the best result over all signatures (pass > fail > ... > none). */
int dkim_verify(chk_msg const *msg, chk_dns *dns, time_t now, dkim_results *out);

/* ---------------------------------------------------------------- SPF */
typedef struct spf_req_s spf_req;
struct spf_req_s {
  int family;                 /* AF_INET or AF_INET6 */
  unsigned char ip[16];       /* the client's address (4 octets for IPv4) */
  char const *helo;           /* HELO/EHLO argument */
  char const *sender;         /* MAIL FROM address, "" for the null sender */
  char const *me;             /* this host's name (%{r}) */
  time_t now;                 /* %{t} */
};
typedef struct spf_out_s spf_out;
struct spf_out_s {
  int result;                 /* none, neutral, pass, fail, softfail, temperror, permerror */
  char domain[CHK_DOMAIN_MAX + 1];  /* the domain checked (smtp.mailfrom / smtp.helo) */
  char sender[CHK_DOMAIN_MAX + 66]; /* the identity checked (postmaster@helo if null) */
  char why[128];              /* mechanism that matched, or the error */
  char exp[256];              /* explanation (exp=) on fail, else "" */
  unsigned lookups, voids;    /* DNS-querying terms and void lookups spent */
};
/* RFC 7208 check_host() for one identity: domain and sender as the RFC names them. */
int spf_check_host(chk_dns *, spf_req const *, char const *domain, char const *sender, spf_out *out);
/* The MAIL FROM identity (the HELO name's postmaster for the null sender); helo, if
 * not NULL, gets the HELO identity's result too (none when the name is not a FQDN).
 * Returns the MAIL FROM result. */
int spf_check(chk_dns *, spf_req const *, spf_out *mailfrom, spf_out *helo);

/* ---------------------------------------------------------------- DMARC */
/* Organizational domain (RFC 7489 3.2) of domain into out, by the public suffix
 * list (Debian: /usr/share/publicsuffix/public_suffix_list.dat, or $POCHTA_PSL).
 * 1 ok. */
int chk_orgdomain(char const *domain, char out[CHK_DOMAIN_MAX + 1]);

enum { DMARC_P_NONE = 0, DMARC_P_QUARANTINE, DMARC_P_REJECT };
typedef struct dmarc_out_s dmarc_out;
struct dmarc_out_s {
  int result;                 /* none (no record, or no From domain), pass, fail,
                                 temperror, permerror */
  int policy;                 /* the p or sp that applies: DMARC_P_* */
  int disposition;            /* what to do after pct: DMARC_P_* (none on pass) */
  int p, sp, pct;             /* as published */
  int adkim_strict, aspf_strict;
  int spf_aligned, dkim_aligned;
  char from[CHK_DOMAIN_MAX + 1];    /* header.from */
  char org[CHK_DOMAIN_MAX + 1];     /* its organizational domain */
  char rua[256];
  char why[96];
};
/* DMARC for msg given the SPF result of the MAIL FROM identity and the DKIM results.
 * sample (0..99) decides pct: the policy applies when sample < pct (pass a random
 * number; tests pass fixed ones). Returns out->result. */
int dmarc_check(chk_msg const *msg, chk_dns *, spf_out const *spf, dkim_results const *dkim,
                unsigned sample, dmarc_out *out);

/* ---------------------------------------------------------------- ARC */
typedef struct arc_out_s arc_out;
struct arc_out_s {
  int cv;                     /* CHK_NONE (no sets), CHK_PASS, CHK_FAIL, CHK_TEMPERROR */
  unsigned n;                 /* instances found (the highest i=) */
  int oldest_pass;            /* lowest instance whose AMS still verifies (0: all) */
  char sealer[CHK_DOMAIN_MAX + 1];  /* d= of the newest ARC-Seal (when cv is pass) */
  char why[96];
};
/* The number of ARC sets msg carries (the highest i= of any ARC field), whole or not. */
unsigned arc_count(chk_msg const *msg);
/* Validate the ARC chain of msg (fed and ended). Returns out->cv. */
int arc_verify(chk_msg const *msg, chk_dns *, time_t now, arc_out *out);
/* Seal msg (fed with CHK_MSG_SIGN) as instance in->n + 1: ARC-Seal,
 * ARC-Message-Signature, ARC-Authentication-Results (in that order, to be put before
 * the header) into out, lines ending in eol. authres is this hop's A-R payload
 * ("authserv-id; spf=... dkim=..."), cv the chain's state as arc_verify found it.
 * 0 on error; a chain already at ARC_MAX, or failed, is not sealed, and key must be
 * RSA (RFC 8617 defines rsa-sha256 only; verifiers such as dkimpy know no other):
 * EINVAL. */
int arc_seal(chk_msg const *msg, dkim_key *key, arc_out const *in, char const *authres,
             time_t now, char const *eol, chk_buf *out);

/* ---------------------------------------------------------------- iprev */
typedef struct iprev_out_s iprev_out;
struct iprev_out_s {
  int result;                 /* pass (a PTR name resolves back), fail, temperror, permerror */
  char name[CHK_DOMAIN_MAX + 1];  /* the confirmed name, else the first PTR name or "" */
};
int iprev_check(chk_dns *, int family, unsigned char const *ip, iprev_out *out);

/* ---------------------------------------------------------------- the whole check */
typedef struct checks_conf_s checks_conf;
struct checks_conf_s {
  char const *authserv_id;    /* our name in Authentication-Results (usually me) */
  char const *me;             /* this host (SPF %{r}) */
  char const *const *trusted_sealers;  /* ARC sealers whose pass overrides DMARC */
  unsigned ntrusted;
  unsigned budget_ms;         /* overall DNS time per message (0: 20000) */
  unsigned max_queries;       /* DNS questions per message (0: 60) */
  int spf_reject;             /* reject SPF fail (without DMARC policy) with 550 */
};
typedef struct checks_env_s checks_env;
struct checks_env_s {
  int family;                 /* AF_INET or AF_INET6 */
  unsigned char ip[16];
  char const *helo, *mailfrom;
  time_t now;
  unsigned sample;            /* 0..99 for DMARC pct; callers pass a random number */
};
enum checks_verdict {
  CHECKS_ACCEPT = 0,          /* deliver */
  CHECKS_QUARANTINE,          /* deliver into Junk (DMARC quarantine) */
  CHECKS_REJECT,              /* answer reply (550 5.7.1 ...) and do not queue */
  CHECKS_TEMPFAIL             /* answer reply (451 4.7.x ...): a DNS failure mattered */
};
typedef struct checks_out_s checks_out;
struct checks_out_s {
  int verdict;                /* enum checks_verdict */
  char reply[160];            /* the SMTP reply for REJECT and TEMPFAIL, no CRLF */
  spf_out spf, spf_helo;
  dkim_results dkim;
  dmarc_out dmarc;
  arc_out arc;
  iprev_out iprev;
  unsigned queries;           /* DNS questions asked for this message */
};
/* Everything for one received message (msg fed and ended) from one client. r's
 * deadline and query count are set for the message and restored. out->verdict says
 * what to do; authres_write makes the header. */
int checks_run(checks_conf const *, dns_resolver *r, checks_env const *, chk_msg const *msg,
               checks_out *out);
/* The same through any hook (tests). */
int checks_run_dns(checks_conf const *, chk_dns *, checks_env const *, chk_msg const *msg,
                   checks_out *out);

/* ---------------------------------------------------------------- Authentication-Results */
/* The A-R payload of out ("authserv-id; iprev=...; spf=...; dkim=...; arc=...;
 * dmarc=...") into buf (appended), without the field name. */
int authres_payload(chk_buf *buf, char const *authserv_id, checks_out const *out,
                    checks_env const *env);
/* The whole field "Authentication-Results: <payload>" folded, ending in eol. */
int authres_write(chk_buf *buf, char const *authserv_id, checks_out const *out,
                  checks_env const *env, char const *eol);
/* Is field (a whole header field, as chk_field.raw) an Authentication-Results that
 * claims authserv_id (RFC 8601 5: to be removed when it comes from outside)? */
int authres_claims(char const *field, size_t len, char const *authserv_id);

#endif
