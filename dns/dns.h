/* dns/ — pochta's one DNS module: a stub resolver, libc only (no skalibs, no
 * libowfat), so that every program can link it, pochta-remote included.
 *
 * It asks the recursive nameservers of /etc/resolv.conf (or of $POCHTA_DNS, or of
 * <confdir>/dnsservers, see dns_conf_load) over UDP, again over TCP when the answer
 * is truncated, with a timeout per try, retries over the servers, and an overall
 * deadline the caller may set. Answers are parsed with every length and count
 * bounded (dns_parse): a malformed, looping or oversized answer is a temporary
 * failure, never a crash. CNAME chains are followed (at most DNS_CNAME_MAX). The AD
 * bit is reported (set only if every answer of the chain had it), for DANE; it
 * means something only when the nameserver is a validating resolver on a trusted
 * path (127.0.0.1, as Postfix expects with trust-ad).
 *
 * Results are plain structs the caller owns (dns_result, about 100 KB: allocate it,
 * do not put it on a small stack). A per-process cache of raw answers (dns_cache)
 * spares repeated questions within one process; nothing outlives the process.
 *
 * Return conventions: functions return a DNS_* status; errno is not part of the API.
 */
#ifndef POCHTA_DNS_H
#define POCHTA_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define DNS_NAMEMAX 253      /* presentation length of a name, no trailing dot */
#define DNS_RR_MAX 64        /* records kept from one answer (more are ignored) */
#define DNS_ARENA (96 * 1024)   /* decoded names and data of one answer */
#define DNS_CNAME_MAX 8      /* CNAME hops followed */
#define DNS_SERVERS_MAX 4
#define DNS_PKT_MAX 65535

/* Types asked for. */
#define DNS_T_A 1
#define DNS_T_NS 2
#define DNS_T_CNAME 5
#define DNS_T_SOA 6
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_T_OPT 41
#define DNS_T_TLSA 52

/* Status of a question. */
enum dns_status {
  DNS_OK = 0,        /* an answer: n records (0 means the name exists without that type) */
  DNS_NXDOMAIN = 1,  /* the name does not exist (RCODE 3) */
  DNS_TEMP = 2,      /* no usable answer now: timeout, SERVFAIL, REFUSED, malformed,
                        truncated, too many CNAMEs, deadline or query budget spent */
  DNS_BADNAME = 3    /* the question itself is not a valid name: a permanent local error */
};

typedef struct dns_rr_s dns_rr;
struct dns_rr_s {
  uint16_t type;
  uint32_t ttl;
  uint16_t pref;                 /* MX preference */
  uint8_t usage, selector, mtype; /* TLSA parameters */
  unsigned char ip[16];          /* A: 4 octets, AAAA: 16 */
  char const *name;              /* MX exchange, PTR, CNAME target: lowercase,
                                    no trailing dot, NUL-terminated ("" is the root) */
  unsigned char const *data;     /* TXT: the character-strings joined; TLSA: the
                                    association data. NUL-terminated (not counted) */
  size_t len;
};

typedef struct dns_result_s dns_result;
struct dns_result_s {
  int status;                    /* enum dns_status */
  int ad;                        /* AD bit set in every answer of the CNAME chain */
  int truncated;                 /* more than DNS_RR_MAX records: the rest were dropped */
  char qname[DNS_NAMEMAX + 1];   /* the name the records belong to (after CNAMEs) */
  unsigned n;
  dns_rr rr[DNS_RR_MAX];
  size_t used;
  unsigned char arena[DNS_ARENA];
};

/* ---------------------------------------------------------------- parsing (pure) */

/* Parse the answer pkt/len to the question (qname, qtype) with query id id. Fills
 * res with the records of type qtype owned by qname or by the end of a CNAME chain
 * inside the answer; if the chain ends in a CNAME without records, res->status is
 * DNS_OK, res->n is 0 and *next gets the target to ask next (else next[0] = 0).
 * *ttl gets the smallest TTL seen (for the cache); for NXDOMAIN and empty answers the
 * SOA minimum when present, else 0. *tc is set when the TC bit is on (and nothing is
 * parsed). Never reads outside pkt; every loop is bounded. Returns res->status. */
int dns_parse(unsigned char const *pkt, size_t len, uint16_t id, char const *qname,
              uint16_t qtype, dns_result *res, char next[DNS_NAMEMAX + 1],
              uint32_t *ttl, int *tc);

/* Encode a question into buf (at least 512 octets): id, RD and AD set, EDNS0 with a
 * 1232-octet UDP size. Returns the length, 0 if qname is not a valid name. */
size_t dns_query_encode(unsigned char *buf, size_t max, uint16_t id,
                        char const *qname, uint16_t qtype);

/* Is s a name we may ask for: labels of 1..63 octets, at most DNS_NAMEMAX in all, no
 * NUL, a trailing dot allowed. Any other octet is allowed (SPF macros may make them). */
int dns_name_ok(char const *s);

/* ---------------------------------------------------------------- the resolver */

typedef struct dns_cache_s dns_cache;   /* dns_cache.c */

typedef struct dns_resolver_s dns_resolver;
struct dns_resolver_s {
  struct sockaddr_storage server[DNS_SERVERS_MAX];
  socklen_t serverlen[DNS_SERVERS_MAX];
  unsigned nservers;
  unsigned timeout_ms;     /* per try (resolv.conf "options timeout:", default 2000 ms) */
  unsigned attempts;       /* rounds over the servers ("options attempts:", default 2) */
  int64_t deadline_ms;     /* CLOCK_MONOTONIC ms after which every question is DNS_TEMP; 0: none */
  unsigned max_queries;    /* questions sent to the network allowed; 0: no limit */
  unsigned queries;        /* questions sent so far (cache hits are free) */
  dns_cache *cache;        /* NULL: no cache */
};

/* Fill r from, in this order: $POCHTA_DNS ("ip ip#port [ip6]:port ..."), the file
 * <$POCHTA_CONF or /etc/pochta>/dnsservers (resolv.conf syntax), /etc/resolv.conf
 * (or the file $POCHTA_RESOLV_CONF names). Only "nameserver" and "options timeout:
 * attempts:" are read. Without any nameserver, 127.0.0.1 (as the C library does).
 * The cache is off until dns_cache_on. DNS_OK, or DNS_TEMP if a file is unreadable
 * for a reason other than its absence. */
int dns_conf_load(dns_resolver *r);
/* Parse resolv.conf text (for tests and dns_conf_load). Servers accumulate. */
void dns_conf_parse(dns_resolver *r, char const *text, size_t len);
/* Add one server: "1.2.3.4", "1.2.3.4#53", "::1", "[::1]:5353". 1 ok, 0 bad or full. */
int dns_conf_server(dns_resolver *r, char const *spec);

/* Start a per-process cache of at most entries answers (TTL-bounded, at most
 * maxttl seconds, negative answers included). 1 ok, 0 out of memory. */
int dns_cache_on(dns_resolver *r, unsigned entries, uint32_t maxttl);
void dns_cache_off(dns_resolver *r);   /* free it */

/* Now on CLOCK_MONOTONIC, in milliseconds (to set deadline_ms). */
int64_t dns_now_ms(void);

/* Ask (qname, qtype), follow CNAMEs, fill res. Returns res->status. */
int dns_lookup(dns_resolver *r, char const *qname, uint16_t qtype, dns_result *res);

/* Send one question to the servers and return the raw answer in pkt (at least
 * DNS_PKT_MAX octets): its length, or 0 after every try failed (timeout, refusal,
 * a reply that does not match). UDP, then TCP on truncation. Bounded by the
 * resolver's timeouts and deadline. id gets the id used. */
size_t dns_exchange(dns_resolver *r, char const *qname, uint16_t qtype,
                    unsigned char *pkt, uint16_t *id);

/* Convenience wrappers around dns_lookup. */
int dns_get_a(dns_resolver *r, char const *name, dns_result *res);
int dns_get_aaaa(dns_resolver *r, char const *name, dns_result *res);
int dns_get_mx(dns_resolver *r, char const *name, dns_result *res);
int dns_get_txt(dns_resolver *r, char const *name, dns_result *res);
int dns_get_tlsa(dns_resolver *r, char const *name, dns_result *res);
/* PTR of an address (family AF_INET or AF_INET6, ip in network order). */
int dns_get_ptr(dns_resolver *r, int family, unsigned char const *ip, dns_result *res);
/* The reverse name of an address ("4.3.2.1.in-addr.arpa", nibbles for IPv6) into buf
 * (at least 74 octets). */
void dns_revname(char *buf, int family, unsigned char const *ip);

#endif
