/* spam/spam-test.c — unit tests of spam/'s engines, and small drivers for the bats
 * files (tests/spam-*.bats):
 *   spam-test unit                  every engine test; TAP-like lines, exit 1 on a failure
 *   spam-test view FILE             the decoded text and URL hosts of a message
 *   spam-test tokens FILE           token count, text octets, hosts, cut; CPU and memory
 *   spam-test db FILE               a token database: valid or not, its counts
 *   spam-test dns NAME              the A records of NAME through the real hook (dns/)
 *   spam-test clamd ADDR FILE [S]   scan FILE with clamd at ADDR (timeout S seconds)
 *   spam-test rate-hammer P N       P processes each add 1 to one rate slot N times
 *                                   through the real state (<statedir>/spam/rate); the total
 * Exit 100 on usage errors, 111 on system errors. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spam-int.h"

static unsigned tests, failed;

static void check(int ok, char const *what, int line)
{
  tests++;
  if (!ok) failed++;
  printf("%s %u - %s%s", ok ? "ok" : "not ok", tests, what, ok ? "\n" : "");
  if (!ok) printf(" (spam-test.c line %d)\n", line);
}
#define CHECK(c, what) check((c) != 0, what, __LINE__)

static void die(char const *what)
{
  fprintf(stderr, "spam-test: %s: %s\n", what, strerror(errno));
  exit(111);
}

/* ---------------------------------------------------------------- fakes */

typedef struct { char const *name; int status; unsigned n; unsigned char ip[2][4]; } fake_dns;
typedef struct { char key[34]; spam_grey_rec r; } fake_grey;
typedef struct {
  fake_dns const *dns; unsigned ndns;
  unsigned asked;
  int64_t now, now_ms, dns_cost_ms;
  spam_clamd clamd;
  unsigned clamd_calls;
  fake_grey grey[64]; unsigned ngrey;
  spam_rate_rec rate[16]; unsigned nrate;
} fake;

static int f_dns(void *ctx, char const *name, unsigned timeout_ms, unsigned char ip[][4], unsigned max, unsigned *n)
{
  fake *f = ctx;
  (void)timeout_ms;
  f->asked++;
  f->now_ms += f->dns_cost_ms;
  *n = 0;
  for (unsigned i = 0; i < f->ndns; i++) {
    if (strcmp(f->dns[i].name, name)) continue;
    for (unsigned k = 0; k < f->dns[i].n && k < max; k++) memcpy(ip[(*n)++], f->dns[i].ip[k], 4);
    return f->dns[i].status;
  }
  return SPAM_DNS_NX;
}

static void f_clamd(void *ctx, char const *addr, unsigned t, char const *msg, size_t len, spam_clamd *r)
{
  fake *f = ctx;
  (void)addr; (void)t; (void)msg; (void)len;
  f->clamd_calls++;
  *r = f->clamd;
}

static int f_grey_get(void *ctx, char const *key, spam_grey_rec *r)
{
  fake *f = ctx;
  for (unsigned i = 0; i < f->ngrey; i++) if (!strcmp(f->grey[i].key, key)) { *r = f->grey[i].r; return 1; }
  return 0;
}

static int f_grey_put(void *ctx, char const *key, spam_grey_rec const *r)
{
  fake *f = ctx;
  for (unsigned i = 0; i < f->ngrey; i++) if (!strcmp(f->grey[i].key, key)) { f->grey[i].r = *r; return 1; }
  if (f->ngrey == 64) return 0;
  strcpy(f->grey[f->ngrey].key, key);
  f->grey[f->ngrey++].r = *r;
  return 1;
}

static int f_rate(void *ctx, uint64_t key, int (*fn)(spam_rate_rec *, void *), void *arg)
{
  fake *f = ctx;
  unsigned i;
  for (i = 0; i < f->nrate && f->rate[i].key != key; i++) ;
  if (i == f->nrate) { if (i == 16) return -1; memset(&f->rate[i], 0, sizeof f->rate[i]); f->rate[i].key = key; f->nrate++; }
  return fn(&f->rate[i], arg);
}

static int64_t f_now(void *ctx) { return ((fake *)ctx)->now; }
static int64_t f_now_ms(void *ctx) { return ((fake *)ctx)->now_ms; }

static spam_hooks const fake_hooks = { f_dns, f_clamd, f_grey_get, f_grey_put, f_rate, f_now, f_now_ms };

static void fake_spam(spam *s, fake *f, char const *settings, char const *rules, char const *grey)
{
  char err[200];
  memset(f, 0, sizeof *f);
  f->now = 1700000000;
  f->now_ms = 1000;
  memset(s, 0, sizeof *s);
  if (!spam_conf_init(&s->conf)
      || !spam_conf_settings(&s->conf, settings, strlen(settings), err, sizeof err)
      || !spam_conf_rules(&s->conf, rules, strlen(rules), err, sizeof err)
      || !spam_conf_greylist(&s->conf, grey, strlen(grey), err, sizeof err)) {
    fprintf(stderr, "spam-test: fake configuration: %s\n", err);
    exit(111);
  }
  s->h = &fake_hooks;
  s->ctx = f;
  strcpy(s->me, "mx.example.test");
}

/* ---------------------------------------------------------------- helpers */

static int view_of(spam_view *v, char const *msg)
{
  spam_view z = SPAM_VIEW_ZERO;
  *v = z;
  return spam_view_make(v, msg, strlen(msg));
}

static int text_has(spam_view const *v, char const *s)
{
  return memmem(v->text.s ? v->text.s : "", v->text.len, s, strlen(s)) != 0;
}

static int host_has(spam_view const *v, char const *h)
{
  for (size_t off = 0; off < v->hosts.len; off += strlen(v->hosts.s + off) + 1)
    if (!strcmp(v->hosts.s + off, h)) return 1;
  return 0;
}

static int has_key(spam_tokens const *t, char const *prefix, char const *w)
{
  uint64_t k = SPAM_TOKEN_KEY(spam_hash2(prefix, strlen(prefix), w, strlen(w)));
  for (uint32_t i = 0; i < t->n; i++) if (t->key[i] == k) return 1;
  return 0;
}

static int hit(spam_score const *s, char const *name)
{
  for (unsigned i = 0; i < s->n; i++) if (!strcmp(s->hit[i].name, name)) return 1;
  return 0;
}

static int conf_err(char const *which, char const *text, char *err, size_t errlen)
{
  spam_conf c;
  int ok;
  spam_conf_init(&c);
  if (!strcmp(which, "spam")) ok = spam_conf_settings(&c, text, strlen(text), err, errlen);
  else if (!strcmp(which, "rules")) ok = spam_conf_rules(&c, text, strlen(text), err, errlen);
  else ok = spam_conf_greylist(&c, text, strlen(text), err, errlen);
  spam_conf_free(&c);
  return !ok;
}

/* ---------------------------------------------------------------- engine tests */

static void t_view(void)
{
  spam_view v;
  view_of(&v, "Subject: x\n\nHello   World\n\tagain\n");
  CHECK(text_has(&v, "hello world again"), "view: plain text folded, blanks one space");
  spam_view_free(&v);

  view_of(&v, "Content-Type: text/html\n\n<html><head><style>p{color:red}</style><script>var x='hidden';</script></head>"
              "<body><p>Fr<b></b>ee &amp; cheap &#80;ills</p><!-- invisible comment --><a href=\"http://Shop.Example.TEST/buy?x\">click</a>"
              "<img src='https://cdn.example.test/a.png'><a href=\"mailto:x@y.test\">m</a><a href=\"http&#58;//enc.example.test/\">e</a></body></html>\n");
  CHECK(text_has(&v, "free & cheap pills"), "view: HTML tags inside a word keep it whole, references decoded");
  CHECK(!text_has(&v, "hidden") && !text_has(&v, "color") && !text_has(&v, "invisible"), "view: script, style and comments are not text");
  CHECK(host_has(&v, "shop.example.test") && host_has(&v, "cdn.example.test"), "view: href and src hosts, lowercase");
  CHECK(host_has(&v, "enc.example.test"), "view: an attribute's character references are decoded before its URL is read");
  CHECK(!host_has(&v, "y.test"), "view: mailto: is not a URL host");
  CHECK(v.html, "view: HTML noticed");
  spam_view_free(&v);

  view_of(&v, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nUHJpdmV0LCDQnNCY0KAh\n");
  CHECK(text_has(&v, "privet, \xd0\xbc\xd0\xb8\xd1\x80!"), "view: base64 UTF-8 text decoded and folded (Cyrillic too)");
  spam_view_free(&v);

  view_of(&v, "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9 cr=\n=E8me\n");
  CHECK(text_has(&v, "caf\xc3\xa9 cr\xc3\xa8me"), "view: quoted-printable Latin-1 to UTF-8, soft breaks joined");
  spam_view_free(&v);

  view_of(&v, "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nvisible words\n--b\n"
              "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nc2VjcmV0IHBheWxvYWQ=\n--b--\n");
  CHECK(text_has(&v, "visible words") && !text_has(&v, "secret"), "view: attachments are not text");
  CHECK(v.ntext == 1, "view: one text part read");
  spam_view_free(&v);

  view_of(&v, "\nsee http://bank.example.test@evil.example.test:8080/x and https://[2001:DB8::1]/p, www.plain.example.test.\n"
              "also http://evil.example.test/again and http://nodot/ and http://%65vil.test/\n");
  CHECK(host_has(&v, "evil.example.test") && !host_has(&v, "bank.example.test"), "view: the host after userinfo@ is the host");
  CHECK(host_has(&v, "2001:db8::1"), "view: an IPv6 literal host");
  CHECK(host_has(&v, "www.plain.example.test"), "view: www. without a scheme, trailing dot dropped");
  CHECK(v.nhosts == 3, "view: hosts are distinct; no host without a dot, none percent-encoded");
  spam_view_free(&v);

  stralloc big = STRALLOC_ZERO;
  stralloc_cats(&big, "\n");
  for (int i = 0; i < 300; i++) { char b[64]; snprintf(b, sizeof b, "http://h%d.example.test/ ", i); stralloc_cats(&big, b); }
  spam_view vv = SPAM_VIEW_ZERO;
  spam_view_make(&vv, big.s, big.len);
  CHECK(vv.nhosts == SPAM_HOSTS_MAX && vv.cut, "view: at most SPAM_HOSTS_MAX hosts, and the view says it was cut");
  spam_view_free(&vv);
  stralloc_free(&big);

  view_of(&v, "Subject: =?utf-8?B?0J/RgNC40LLQtdGC?=\nX-Long: a\n b\n\nbody\n");
  stralloc f = STRALLOC_ZERO;
  CHECK(spam_view_field(&v, "subject", &f) == 1 && !strcmp(f.s, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), "view: header fields decoded (RFC 2047)");
  CHECK(spam_view_field(&v, "X-None", &f) == 0, "view: a missing field");
  stralloc_free(&f);
  spam_view_free(&v);
}

static void t_tokens(void)
{
  spam_view v;
  spam_tokens t = SPAM_TOKENS_ZERO;
  view_of(&v, "From: \"Cheap Meds\" <Sales@Pharma.Example.TEST>\nReply-To: x@reply.example.test\nSubject: Free offer\n"
              "Message-ID: <1@mid.example.test>\nX-Mailer: SpamBot 2.0\nContent-Type: text/plain; charset=UTF-8\n\n"
              "Free money! 12345678 is a number, 2024 a year. Supercalifragilisticexpialidocious-and-more\n"
              "visit http://www.shop.example.test/\n");
  spam_tokens_make(&t, &v);
  CHECK(has_key(&t, "", "free") && has_key(&t, "s:", "free"), "tokens: a word of Subject and of the text are two tokens");
  CHECK(has_key(&t, "fa:", "sales@pharma.example.test") && has_key(&t, "fd:", "pharma.example.test"), "tokens: From address and domain, lowercase");
  CHECK(has_key(&t, "fn:", "cheap") && has_key(&t, "fn:", "meds"), "tokens: From's name words");
  CHECK(has_key(&t, "rd:", "reply.example.test") && has_key(&t, "mi:", "mid.example.test"), "tokens: Reply-To and Message-ID domains");
  CHECK(has_key(&t, "xm:", "spambot 2.0"), "tokens: the mailer");
  CHECK(has_key(&t, "h:", "x-mailer") && has_key(&t, "h:", "reply-to"), "tokens: names of the header fields present");
  CHECK(has_key(&t, "ct:", "text/plain") && has_key(&t, "cs:", "utf-8"), "tokens: content type and charset");
  CHECK(has_key(&t, "u:", "www.shop.example.test") && has_key(&t, "ud:", "example.test"), "tokens: URL host and its last two labels");
  CHECK(!has_key(&t, "", "12345678") && has_key(&t, "", "2024"), "tokens: long numbers are no tokens, short ones are");
  CHECK(has_key(&t, "l:", "superc:f"), "tokens: a long word becomes its start and length");
  int sorted = 1;
  for (uint32_t i = 1; i < t.n; i++) if (t.key[i - 1] >= t.key[i]) sorted = 0;
  CHECK(sorted && t.n > 10, "tokens: distinct and sorted");
  spam_tokens_free(&t);
  spam_view_free(&v);

  /* many distinct words: the table stops at SPAM_TOKENS_MAX */
  stralloc big = STRALLOC_ZERO;
  stralloc_cats(&big, "\n");
  for (int i = 0; i < 40000; i++) { char b[32]; snprintf(b, sizeof b, "w%xq ", i * 7919); stralloc_cats(&big, b); }
  spam_view vv = SPAM_VIEW_ZERO;
  spam_view_make(&vv, big.s, big.len);
  spam_tokens_make(&t, &vv);
  CHECK(t.n == SPAM_TOKENS_MAX && t.cut, "tokens: at most SPAM_TOKENS_MAX, the rest dropped");
  spam_tokens_free(&t);
  spam_view_free(&vv);
  stralloc_free(&big);

  spam_view a, b;
  spam_tokens ta = SPAM_TOKENS_ZERO, tb = SPAM_TOKENS_ZERO;
  view_of(&a, "Message-ID: <same@x.test>\n\none text\n");
  view_of(&b, "Message-ID:  <same@x.test> \n\nother text\n");
  spam_tokens_make(&ta, &a);
  spam_tokens_make(&tb, &b);
  CHECK(spam_msg_id(&a, &ta) == spam_msg_id(&b, &tb), "tokens: a message's identity is its Message-ID");
  spam_tokens_free(&ta); spam_tokens_free(&tb); spam_view_free(&a); spam_view_free(&b);
  view_of(&a, "\nno id one\n");
  view_of(&b, "\nno id two\n");
  spam_tokens_make(&ta, &a);
  spam_tokens_make(&tb, &b);
  CHECK(spam_msg_id(&a, &ta) != spam_msg_id(&b, &tb), "tokens: without one, its tokens");
  spam_tokens_free(&ta); spam_tokens_free(&tb); spam_view_free(&a); spam_view_free(&b);
}

static void keys(uint64_t *k, unsigned n, unsigned base)
{
  for (unsigned i = 0; i < n; i++) k[i] = SPAM_TOKEN_KEY(spam_hash2("k", 1, (char *)&(unsigned){ base + i }, sizeof(unsigned)));
}

static void t_bayesdb(void)
{
  bayes_mem m = BAYES_MEM_ZERO;
  bayesdb d, e;
  stralloc out = STRALLOC_ZERO;
  uint64_t k[100];
  unsigned s, h;
  bayesdb_parse(&d, 0, 0);
  CHECK(d.nspam == 0 && d.ntok == 0, "bayesdb: an empty file is an empty database");
  bayes_mem_load(&m, &d);
  keys(k, 100, 0);
  CHECK(bayes_mem_learn(&m, 1, k, 60, SPAM_LEARN_SPAM, 9000) == 1, "bayesdb: learn a spam");
  CHECK(bayes_mem_learn(&m, 1, k, 60, SPAM_LEARN_SPAM, 9000) == 0, "bayesdb: the same message again changes nothing");
  CHECK(bayes_mem_learn(&m, 2, k + 40, 60, SPAM_LEARN_HAM, 9000) == 1, "bayesdb: learn a ham");
  bayes_mem_write(&m, &out);
  CHECK(bayesdb_parse(&e, (unsigned char *)out.s, out.len) && e.nspam == 1 && e.nham == 1 && e.ntok == 100 && e.nseen == 2, "bayesdb: written and read back");
  bayesdb_get(&e, k[50], &s, &h);
  CHECK(s == 1 && h == 1, "bayesdb: a token in both");
  bayesdb_get(&e, k[0], &s, &h);
  CHECK(s == 1 && h == 0, "bayesdb: a token in one");
  bayesdb_get(&e, 12345, &s, &h);
  CHECK(s == 0 && h == 0, "bayesdb: an unknown token");
  CHECK(bayes_mem_learn(&m, 1, k, 60, SPAM_LEARN_HAM, 9001) == 1 && m.nspam == 0 && m.nham == 2, "bayesdb: learned in the other class, it moves");
  bayes_mem_write(&m, &out);
  bayesdb_parse(&e, (unsigned char *)out.s, out.len);
  bayesdb_get(&e, k[10], &s, &h);
  CHECK(s == 0 && h == 1 && e.ntok == 100, "bayesdb: its tokens moved with it");
  CHECK(bayes_mem_learn(&m, 2, k + 40, 60, SPAM_LEARN_FORGET, 9001) == 1 && m.nham == 1, "bayesdb: forget");
  CHECK(bayes_mem_learn(&m, 2, k + 40, 60, SPAM_LEARN_FORGET, 9001) == 0, "bayesdb: forget twice changes nothing");
  bayes_mem_write(&m, &out);
  bayesdb_parse(&e, (unsigned char *)out.s, out.len);
  CHECK(e.ntok == 60 && e.nseen == 1, "bayesdb: tokens without counts are not written");

  /* hostile files */
  stralloc bad = STRALLOC_ZERO;
  stralloc_copyb(&bad, out.s, out.len);
  bad.s[0] = 'X';
  CHECK(!bayesdb_parse(&e, (unsigned char *)bad.s, bad.len), "bayesdb: a bad magic is refused");
  CHECK(!bayesdb_parse(&e, (unsigned char *)out.s, out.len - 1), "bayesdb: a truncated file is refused");
  stralloc_copyb(&bad, out.s, out.len);
  memset(bad.s + 16, 0xff, 4);
  CHECK(!bayesdb_parse(&e, (unsigned char *)bad.s, bad.len), "bayesdb: counts that do not add up are refused");
  memset(bad.s, 0, bad.len);
  CHECK(!bayesdb_parse(&e, (unsigned char *)bad.s, bad.len), "bayesdb: zeros are refused");
  CHECK(!bayesdb_parse(&e, (unsigned char *)out.s, 20), "bayesdb: a short file is refused");
  stralloc_free(&bad);

  /* pruning: the oldest, rarest go first, down to 90% */
  bayes_mem_free(&m);
  bayesdb_parse(&d, 0, 0);
  bayes_mem_load(&m, &d);
  uint64_t *many = malloc(3000 * sizeof *many);
  keys(many, 3000, 1000);
  bayes_mem_learn(&m, 10, many, 1000, SPAM_LEARN_SPAM, 100);
  bayes_mem_learn(&m, 11, many + 1000, 2000, SPAM_LEARN_HAM, 200);
  bayes_mem_prune(&m, 2000);
  bayes_mem_write(&m, &out);
  bayesdb_parse(&e, (unsigned char *)out.s, out.len);
  bayesdb_get(&e, many[0], &s, &h);
  unsigned s2, h2;
  bayesdb_get(&e, many[2999], &s2, &h2);
  CHECK(e.ntok == 1800 && s == 0 && h2 == 1, "bayesdb: pruned to 90% of the limit, oldest first");
  free(many);

  /* the seen list is bounded */
  bayes_mem_free(&m);
  bayes_mem_load(&m, &d);
  for (unsigned i = 0; i < BAYES_SEEN_MAX + 5; i++) bayes_mem_learn(&m, 100 + i, k, 1, SPAM_LEARN_SPAM, 9000);
  CHECK(m.nseen <= BAYES_SEEN_MAX && m.nspam == BAYES_SEEN_MAX + 5, "bayesdb: the messages remembered are bounded");
  CHECK(m.t[0].spam <= BAYES_COUNT_MAX, "bayesdb: counts saturate");
  bayes_mem_free(&m);
  stralloc_free(&out);
}

static void t_bayes(void)
{
  bayes_mem m = BAYES_MEM_ZERO;
  bayesdb d;
  stralloc out = STRALLOC_ZERO;
  uint64_t spamk[40], hamk[40], mixed[40];
  bayes_out o;
  spam_tokens t;
  bayesdb_parse(&d, 0, 0);
  bayes_mem_load(&m, &d);
  keys(spamk, 40, 0);
  keys(hamk, 40, 500);
  for (unsigned i = 0; i < 20; i++) {
    bayes_mem_learn(&m, 1000 + i, spamk, 40, SPAM_LEARN_SPAM, 9000);
    bayes_mem_learn(&m, 2000 + i, hamk, 40, SPAM_LEARN_HAM, 9000);
  }
  bayes_mem_write(&m, &out);
  bayesdb_parse(&d, (unsigned char *)out.s, out.len);
  t.n = 40; t.cut = 0;
  t.key = spamk;
  bayes_classify(&d, &t, 10, &o);
  CHECK(o.opinion && o.p > 0.99, "bayes: spam tokens: spam");
  t.key = hamk;
  bayes_classify(&d, &t, 10, &o);
  CHECK(o.opinion && o.p < 0.01, "bayes: ham tokens: ham");
  memcpy(mixed, spamk, 20 * sizeof *mixed);
  memcpy(mixed + 20, hamk, 20 * sizeof *mixed);
  t.key = mixed;
  bayes_classify(&d, &t, 10, &o);
  CHECK(o.opinion && o.p > 0.3 && o.p < 0.7, "bayes: evidence both ways: unsure");
  keys(mixed, 40, 9000);
  bayes_classify(&d, &t, 10, &o);
  CHECK(o.opinion && o.used == 0 && o.p == 0.5, "bayes: unknown tokens: neutral");
  t.key = spamk;
  bayes_classify(&d, &t, 21, &o);
  CHECK(!o.opinion && o.p == 0.5, "bayes: too little learned: no opinion");
  bayesdb_parse(&d, 0, 0);
  bayes_classify(&d, &t, 0, &o);
  CHECK(!o.opinion, "bayes: a new user has no opinion");
  CHECK(fabs(bayes_points(1, 5, 3) - 5) < 1e-9 && fabs(bayes_points(0, 5, 3) + 3) < 1e-9 && bayes_points(0.5, 5, 3) == 0, "bayes: points");
  bayes_mem_free(&m);
  stralloc_free(&out);
}

/* The file is refused, with exactly that reason. */
static void refused(char const *which, char const *text, char const *want)
{
  char err[300], what[200];
  int no = conf_err(which, text, err, sizeof err);
  snprintf(what, sizeof what, "conf: refused with a reason: %s", want);
  CHECK(no && !strcmp(err, want), what);
  if (!no || strcmp(err, want)) printf("#   got: %s\n", no ? err : "(accepted)");
}

static void t_conf(void)
{
  spam_conf c;
  char err[300];
  spam_conf_init(&c);
  char const *set = "# comment\n\nreject 12.5\njunk off\nbayes off\nbayes-min 3\nbayes-spam 4\nbayes-ham 2.5\n"
                    "bayes-tokens 5000\ndns-timeout 500\ndns-budget 1500\ndns-urls 3\nclamd /run/clamav/clamd.ctl\n"
                    "clamd-failure accept\nclamd-timeout 9\ngreylist-delay 60\ngreylist-window 3600\ngreylist-expire 7200\n"
                    "greylist-clients 0\ngreylist-network 32/128\nratelimit 20/60\nratelimit-network 24/48\n"
                    "ratelimit-exempt 192.0.2.0/24 2001:db8::/32\n";
  CHECK(spam_conf_settings(&c, set, strlen(set), err, sizeof err), "conf: every setting");
  CHECK(c.reject == 12.5 && c.junk == SPAM_OFF && !c.bayes && c.bayes_min == 3 && c.bayes_tokens == 5000 && c.dns_urls == 3
        && !strcmp(c.clamd, "unix:/run/clamav/clamd.ctl") && !c.clamd_strict && c.grey_net4 == 32 && c.grey_net6 == 128
        && c.rate_max == 20 && c.rate_period == 60 && c.nrate_exempt == 2 && c.rate_net6 == 48, "conf: values as written");
  char const *tcp = "clamd tcp:127.0.0.1:3310\n";
  CHECK(spam_conf_settings(&c, tcp, strlen(tcp), err, sizeof err) && !strcmp(c.clamd, "tcp:127.0.0.1:3310"), "conf: clamd over TCP");
  spam_conf_free(&c);
  struct { char const *text, *want; } const bad[] = {
    { "rejekt 5\n", "spam line 1: unknown setting rejekt" },
    { "\n\nreject\n", "spam line 3: reject wants a value" },
    { "reject five\n", "spam line 1: reject wants a number" },
    { "reject 1e99\n", "spam line 1: reject wants a number" },
    { "reject nan\n", "spam line 1: reject wants a number" },
    { "bayes maybe\n", "spam line 1: bayes wants on or off" },
    { "bayes-tokens 10\n", "spam line 1: bayes-tokens wants a number from 1000 to 10000000" },
    { "dns-urls 99999999999\n", "spam line 1: dns-urls wants a number from 0 to 100" },
    { "clamd 127.0.0.1\n", "spam line 1: clamd wants off, unix:/path or tcp:host:port" },
    { "clamd-failure ignore\n", "spam line 1: clamd-failure wants tempfail or accept" },
    { "greylist-network 24\n", "spam line 1: greylist-network wants IPv4/IPv6 prefix lengths, like 24/64" },
    { "ratelimit 10 per hour\n", "spam line 1: ratelimit wants messages/seconds, like 100/3600, or off" },
    { "ratelimit-exempt 300.1.1.1\n", "spam line 1: not an address or network: 300.1.1.1" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refused("spam", bad[i].text, bad[i].want);

  spam_conf_init(&c);
  char const *rules = "header SUBJ_VIAGRA 2.5 Subject *viagra*\nheader FROM_RE 1 From /^[0-9]+@/\nmissing NO_UA 0.1 User-Agent\n"
                      "body BUY_NOW 1.5 Buy   NOW\nuri BAD_HOST 4 Bad.Example.TEST\ndnsbl ZEN 3.5 zen.example.test 127.0.0.2-11\n"
                      "dnswl WL -2 wl.example.test 127.0.*.2-3\nurlbl DBL 2 dbl.example.test\nscore GTUBE 500\nscore HELO_NO_DOT 0\n";
  CHECK(spam_conf_rules(&c, rules, strlen(rules), err, sizeof err), "conf: every kind of rule");
  CHECK(spam_builtin_weight(&c, "GTUBE") == 500 && spam_builtin_weight(&c, "HELO_NO_DOT") == 0, "conf: score changes a built-in weight");
  spam_rule const *r = 0;
  for (unsigned i = 0; i < c.nrules; i++) if (!strcmp(c.rules[i].name, "BUY_NOW")) r = &c.rules[i];
  CHECK(r && !strcmp(r->pat, "buy now"), "conf: a body phrase is folded, blanks one space");
  spam_conf_free(&c);
  struct { char const *text, *want; } const badr[] = {
    { "frobnicate X 1 y\n", "spamrules line 1: unknown kind of rule frobnicate" },
    { "body bad-name 1 x\n", "spamrules line 1: a rule name is 1 to 40 letters, digits and _" },
    { "body X 1e6 x\n", "spamrules line 1: a weight is a number from -10000 to 10000" },
    { "body X 1\n", "spamrules line 1: body wants a phrase" },
    { "header X 1 Subject\n", "spamrules line 1: header wants a pattern" },
    { "header X 1 Sub:ject x\n", "spamrules line 1: header wants a header field name" },
    { "header X 1 Subject /a(/\n", "spamrules line 1: not a regular expression (POSIX extended)" },
    { "missing X 1 Subject extra\n", "spamrules line 1: missing NAME WEIGHT FIELD takes nothing more" },
    { "uri X 1 bad..host\n", "spamrules line 1: uri wants a host name" },
    { "uri X 1 a.test 127.0.0.2\n", "spamrules line 1: uri NAME WEIGHT HOST takes nothing more" },
    { "dnsbl X 1 zen.test 127.0.0.300\n", "spamrules line 1: bad return codes (like 127.0.0.2,127.0.0.4-11,127.0.*.&8)" },
    { "dnsbl X 1 zen.test 127.0.0.5-2\n", "spamrules line 1: bad return codes (like 127.0.0.2,127.0.0.4-11,127.0.*.&8)" },
    { "dnsbl X 1 zen.test 127.0.0.2,\n", "spamrules line 1: bad return codes (like 127.0.0.2,127.0.0.4-11,127.0.*.&8)" },
    { "body X 1 a\nbody X 2 b\n", "spamrules line 2: a rule named X exists already (to change its weight: score X WEIGHT)" },
    { "body GTUBE 1 a\n", "spamrules line 1: a rule named GTUBE exists already (to change its weight: score GTUBE WEIGHT)" },
    { "score NOPE 1\n", "spamrules line 1: score: no rule named NOPE" },
  };
  for (size_t i = 0; i < sizeof badr / sizeof *badr; i++) refused("rules", badr[i].text, badr[i].want);

  spam_conf_init(&c);
  char const *grey = "Example.TEST\nexempt 192.0.2.1 198.51.100.0/24\nother.test\n";
  CHECK(spam_conf_greylist(&c, grey, strlen(grey), err, sizeof err) && c.ngrey_exempt == 2 && !c.grey_all
        && !strcmp(c.grey_domains.s, "example.test"), "conf: greylist domains (lowercase) and exempt clients");
  spam_conf_free(&c);
  CHECK(conf_err("grey", "a.test b.test\n", err, sizeof err) && !strcmp(err, "greylist line 1: one domain per line"), "conf: greylist: one domain per line");
  CHECK(conf_err("grey", "exempt\n", err, sizeof err) && !strcmp(err, "greylist line 1: exempt wants addresses or networks"), "conf: greylist: exempt wants something");
  CHECK(conf_err("grey", "exempt 10.0.0.0/33\n", err, sizeof err), "conf: greylist: a prefix too long");

  spam_user u;
  spam_conf_init(&c);
  CHECK(spam_user_parse(&u, &c, "", 0) == 0 && u.junk == 5 && u.bayes, "conf: a user without a file has the defaults");
  char const *ut = "junk 3.5\nbayes off\nnonsense here\njunk\n";
  CHECK(spam_user_parse(&u, &c, ut, strlen(ut)) == 2 && u.junk == 3.5 && !u.bayes, "conf: a user's file; bad lines counted, not fatal");
  CHECK(spam_user_parse(&u, &c, "junk off\n", 9) == 0 && u.junk == SPAM_OFF, "conf: a user turns Junk off");
  spam_conf_free(&c);
}

static void t_rules(void)
{
  spam_conf c;
  spam_view v;
  spam_score s;
  char err[200];
  spam_conf_init(&c);
  char const *rules = "header SUBJ 2.5 Subject *v?agra*\nheader FROM_RE 1 From /^[0-9]+@/\nmissing NO_UA 0.1 User-Agent\n"
                      "body BUY_NOW 1.5 Buy Now\nuri BAD_HOST 4 bad.example.test\nheader MULTI 1 X-Tag two\n";
  spam_conf_rules(&c, rules, strlen(rules), err, sizeof err);
  view_of(&v, "From: 12345@x.test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <a@b>\nSubject: =?utf-8?Q?cheap_VIAGRA_here?=\n"
              "X-Tag: one\nX-Tag: two\n\nplease buy\nnow at http://www.bad.example.test/x\n");
  memset(&s, 0, sizeof s);
  spam_rules_run(&c, &v, &s);
  CHECK(hit(&s, "SUBJ"), "rules: a header glob on the decoded value, case-insensitive");
  CHECK(hit(&s, "FROM_RE"), "rules: a header regular expression");
  CHECK(hit(&s, "NO_UA"), "rules: a missing field");
  CHECK(hit(&s, "BUY_NOW"), "rules: a body phrase across a line break");
  CHECK(hit(&s, "BAD_HOST"), "rules: a URL host below the rule's");
  CHECK(hit(&s, "MULTI"), "rules: any field of that name");
  CHECK(!hit(&s, "MISSING_DATE") && !hit(&s, "MISSING_FROM") && !hit(&s, "GTUBE"), "rules: nothing else");
  CHECK(fabs(s.total - (2.5 + 1 + 0.1 + 1.5 + 4 + 1)) < 1e-9, "rules: the weights add up");
  spam_view_free(&v);
  view_of(&v, "\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n");
  memset(&s, 0, sizeof s);
  spam_rules_run(&c, &v, &s);
  CHECK(hit(&s, "GTUBE") && s.total >= 1000 && hit(&s, "MISSING_FROM") && hit(&s, "MISSING_DATE"), "rules: GTUBE, and fields missing");
  spam_view_free(&v);
  view_of(&v, "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
              "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=\n--q--\n");
  memset(&s, 0, sizeof s);
  spam_rules_run(&c, &v, &s);
  CHECK(!hit(&s, "GTUBE"), "rules: GTUBE inside a base64 attachment is not GTUBE (as SpamAssassin)");
  spam_view_free(&v);
  view_of(&v, "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
              "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=\n");
  memset(&s, 0, sizeof s);
  spam_rules_run(&c, &v, &s);
  CHECK(hit(&s, "GTUBE"), "rules: GTUBE in base64 text");
  spam_view_free(&v);
  spam_conf_free(&c);

  CHECK(spam_glob("a*b?c", 5, "AxxxbYc", 7) && spam_glob("*", 1, "", 0) && !spam_glob("a*b", 3, "axxc", 4)
        && spam_glob("**a**", 5, "bab", 3) && !spam_glob("abc", 3, "abcd", 4), "rules: glob");
  char x[20001];
  memset(x, 'a', 20000);
  x[20000] = 0;
  CHECK(!spam_glob("*a*a*a*a*a*a*b", 14, x, 20000), "rules: a glob on a long value ends (no exponential backtracking)");

  spam_code codes[SPAM_CODES_MAX];
  unsigned n;
  unsigned char a2[4] = { 127, 0, 0, 2 }, a11[4] = { 127, 0, 0, 11 }, a12[4] = { 127, 0, 0, 12 }, ax[4] = { 127, 0, 5, 3 },
                a9[4] = { 127, 0, 0, 9 }, err255[4] = { 127, 255, 255, 254 }, pub[4] = { 192, 0, 2, 1 };
  CHECK(spam_codes_parse(codes, &n, "127.0.0.2-11", 12) && spam_codes_match(codes, n, a2) && spam_codes_match(codes, n, a11)
        && !spam_codes_match(codes, n, a12), "codes: a range");
  CHECK(spam_codes_parse(codes, &n, "127.0.*.2-3", 11) && spam_codes_match(codes, n, ax) && !spam_codes_match(codes, n, a9), "codes: a wildcard octet");
  unsigned char a3[4] = { 127, 0, 0, 3 };
  CHECK(spam_codes_parse(codes, &n, "127.0.0.&8,127.0.0.2", 20) && spam_codes_match(codes, n, a9) && spam_codes_match(codes, n, a2)
        && !spam_codes_match(codes, n, a3), "codes: a bit mask and a list");
  CHECK(spam_codes_match(codes, 0, a2) && !spam_codes_match(codes, 0, err255) && !spam_codes_match(codes, 0, pub), "codes: the default: 127/8 but 127.255.255/24");
  CHECK(!spam_codes_parse(codes, &n, "127.0.0", 7) && !spam_codes_parse(codes, &n, "127.0.0.1.1", 11) && !spam_codes_parse(codes, &n, "1234.0.0.1", 10)
        && !spam_codes_parse(codes, &n, "127.0.0.&0", 10), "codes: malformed ones are refused");
}

static void t_helo(void)
{
  spam_conf c;
  spam_score s;
  spam_conf_init(&c);
  struct { char const *helo, *ip, *rule; } const cases[] = {
    { "", "192.0.2.1", "HELO_MISSING" }, { "192.0.2.1", "192.0.2.1", "HELO_BARE_IP" },
    { "[192.0.2.9]", "192.0.2.1", "HELO_LITERAL_MISMATCH" }, { "[IPv6:2001:db8::1]", "2001:db8::2", "HELO_LITERAL_MISMATCH" },
    { "desktop", "192.0.2.1", "HELO_NO_DOT" }, { "localhost", "192.0.2.1", "HELO_LOCALHOST" },
    { "MX.example.test", "192.0.2.1", "HELO_IS_ME" }, { "bad_host!.test", "192.0.2.1", "HELO_BAD_CHARS" },
    { "[not an ip]", "192.0.2.1", "HELO_BAD_CHARS" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char what[120];
    memset(&s, 0, sizeof s);
    spam_helo_run(&c, cases[i].helo, cases[i].ip, "mx.example.test", &s);
    snprintf(what, sizeof what, "helo: %s gives %s", cases[i].helo[0] ? cases[i].helo : "(none)", cases[i].rule);
    CHECK(s.n == 1 && hit(&s, cases[i].rule), what);
  }
  char const *good[][2] = { { "mail.sender.test", "192.0.2.1" }, { "[192.0.2.1]", "192.0.2.1" }, { "localhost", "127.0.0.1" },
                            { "mx.example.test", "127.0.0.1" }, { "[IPv6:2001:db8::1]", "2001:db8::1" } };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    char what[120];
    memset(&s, 0, sizeof s);
    spam_helo_run(&c, good[i][0], good[i][1], "mx.example.test", &s);
    snprintf(what, sizeof what, "helo: %s from %s is fine", good[i][0], good[i][1]);
    CHECK(s.n == 0, what);
  }
  spam_conf_free(&c);
}

static void t_authres(void)
{
  spam_conf c;
  spam_score s;
  spam_conf_init(&c);
  memset(&s, 0, sizeof s);
  spam_authres_run(&c, "mx.example.test 1; spf=fail (sender SPF (nested) fail) smtp.mailfrom=a@b.test;"
                       " dkim=fail header.d=b.test; dkim=pass header.d=b.test header.b=\"ab;cd\"; dmarc=fail (p=none) header.from=b.test;"
                       " iprev=permerror policy.iprev=192.0.2.1; arc=none; x-unknown=fail", &s);
  CHECK(hit(&s, "SPF_FAIL") && hit(&s, "DKIM_PASS") && !hit(&s, "DKIM_FAIL") && hit(&s, "DMARC_FAIL") && hit(&s, "IPREV_FAIL") && s.n == 4,
        "authres: results read, comments and quoted strings skipped, one good DKIM signature wins");
  memset(&s, 0, sizeof s);
  spam_authres_run(&c, "Authentication-Results: mx.example.test; spf=softfail; dkim/1=fail; dmarc=pass; iprev=fail; arc=fail", &s);
  CHECK(hit(&s, "SPF_SOFTFAIL") && hit(&s, "DKIM_FAIL") && hit(&s, "DMARC_PASS") && hit(&s, "IPREV_FAIL") && hit(&s, "ARC_FAIL"),
        "authres: a whole field, a method version");
  memset(&s, 0, sizeof s);
  spam_authres_run(&c, "mx.example.test; none", &s);
  spam_authres_run(&c, "", &s);
  spam_authres_run(&c, "(((((", &s);
  spam_authres_run(&c, 0, &s);
  CHECK(s.n == 0, "authres: none, empty, broken, absent: nothing");
  spam_conf_free(&c);
}

struct spans { size_t (*at)[2]; unsigned *n; };
static int collect(void *ctx, size_t start, size_t end)
{
  struct spans *s = ctx;
  if (*s->n == 8) return 0;
  s->at[*s->n][0] = start;
  s->at[(*s->n)++][1] = end;
  return 1;
}

static void t_report(void)
{
  spam_conf c;
  spam_score s;
  stralloc h = STRALLOC_ZERO;
  spam_conf_init(&c);
  memset(&s, 0, sizeof s);
  for (int i = 0; i < 12; i++) { char n[40]; snprintf(n, sizeof n, "SOME_LONG_RULE_NAME_%d", i); spam_score_add(&s, n, 0.5); }
  spam_report_headers(&h, &c, &s);
  stralloc_0(&h);
  CHECK(!strncmp(h.s, "X-Spam-Score: 6.0\nX-Spam-Status: Yes, score=6.0 required=5.0 tests=SOME_LONG_RULE_NAME_0=0.5,", 89),
        "report: X-Spam-Score and X-Spam-Status");
  int longest = 0, cur = 0;
  for (char *p = h.s; *p; p++) { if (*p == '\n') { if (cur > longest) longest = cur; cur = 0; } else cur++; }
  CHECK(longest <= 80 && strstr(h.s, "\n\tSOME_LONG") && h.s[h.len - 2] == '\n', "report: X-Spam-Status folded within 80 columns");
  h.len = 0;
  memset(&s, 0, sizeof s);
  spam_score_add(&s, "A", -0.04);
  spam_report_headers(&h, &c, &s);
  stralloc_0(&h);
  CHECK(!strcmp(h.s, "X-Spam-Score: 0.0\nX-Spam-Status: No, score=0.0 required=5.0 tests=A=0.0\n"), "report: no -0.0");
  stralloc_free(&h);
  spam_conf_free(&c);

  char const *m = "X-Spam-Score: -50\nReceived: from x\nx-spam-status: Yes,\n forged\nSubject: s\nX-Virus-Status: Clean\n\nX-Spam-Score: body\n";
  stralloc o = STRALLOC_ZERO;
  size_t spans[8][2];
  unsigned nspans = 0;
  spam_drops(m, strlen(m), collect, &(struct spans){ spans, &nspans });
  for (unsigned i = 0, at = 0; i <= nspans; i++) {
    size_t end = i < nspans ? spans[i][0] : strlen(m);
    stralloc_catb(&o, m + at, end - at);
    if (i < nspans) at = spans[i][1];
  }
  stralloc_0(&o);
  CHECK(nspans == 3 && !strcmp(o.s, "Received: from x\nSubject: s\n\nX-Spam-Score: body\n"), "report: our fields (folded too) found in the header only, to be dropped");
  stralloc_free(&o);

  double x;
  int forced;
  char const *ok = "X-Spam-Score: -100\nReceived: from us\nAuthentication-Results: mx; spf=pass\nX-Spam-Score: 7.3\n"
                   "X-Spam-Status: Yes, score=7.3 required=5.0 tests=\n\tA=7.3\nX-Pochta-Junk: dmarc=quarantine\nSubject: s\nX-Spam-Score: -100\n\nb\n";
  CHECK(spam_header_score(ok, strlen(ok), &x, &forced) && fabs(x - 7.3) < 1e-9 && forced, "report: our score in the block right behind the first Received field");
  char const *after = "Received: from us\nSubject: x\nX-Spam-Score: -100\nX-Pochta-Junk: yes\n\nb\n";
  CHECK(!spam_header_score(after, strlen(after), &x, &forced) && !forced, "report: a field of the message ends our block");
  char const *second = "Received: from us\nReceived: from them\nX-Spam-Score: -100\n\nb\n";
  CHECK(!spam_header_score(second, strlen(second), &x, &forced), "report: a score behind another Received field is not ours");
  char const *none = "X-Spam-Score: -100\nSubject: x\n\nReceived: in the body\nX-Spam-Score: 1\n";
  CHECK(!spam_header_score(none, strlen(none), &x, &forced), "report: without a Received field, no score is ours");
  char const *junk = "Received: x\nX-Spam-Score: 1e9\n\n";
  CHECK(!spam_header_score(junk, strlen(junk), &x, &forced), "report: a value that is not a plain number is no score");
  char const *neg = "Received: x\r\nX-Spam-Score: -2.5\r\n\r\n";
  CHECK(spam_header_score(neg, strlen(neg), &x, &forced) && x == -2.5 && !forced, "report: negative, CRLF");
  char const *forcedonly = "Received: x\nX-Pochta-Junk: dmarc=quarantine\n\n";
  CHECK(!spam_header_score(forcedonly, strlen(forcedonly), &x, &forced) && forced, "report: X-Pochta-Junk without a score");
}

static void t_dnsbl(void)
{
  spam s;
  fake f;
  spam_score sc;
  stralloc log = STRALLOC_ZERO;
  char name[320];
  CHECK(spam_dnsbl_name(name, sizeof name, "192.0.2.10", "zen.test") && !strcmp(name, "10.2.0.192.zen.test"), "dnsbl: IPv4 reversed");
  CHECK(spam_dnsbl_name(name, sizeof name, "2001:db8::1", "zen.test")
        && !strcmp(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test"), "dnsbl: IPv6 in nibbles");
  CHECK(spam_dnsbl_name(name, sizeof name, "::ffff:192.0.2.10", "z.test") && !strcmp(name, "10.2.0.192.z.test"), "dnsbl: IPv4-mapped is IPv4");
  CHECK(!spam_dnsbl_name(name, sizeof name, "not-an-ip", "z.test"), "dnsbl: no address, no question");

  fake_dns const answers[] = {
    { "10.2.0.192.zen.test", SPAM_DNS_OK, 1, { { 127, 0, 0, 4 } } },
    { "10.2.0.192.pbl.test", SPAM_DNS_OK, 1, { { 127, 0, 0, 10 } } },
    { "10.2.0.192.wl.test", SPAM_DNS_OK, 2, { { 127, 0, 15, 1 }, { 127, 0, 5, 3 } } },
    { "10.2.0.192.down.test", SPAM_DNS_TEMP, 0, { { 0 } } },
    { "10.2.0.192.refuse.test", SPAM_DNS_OK, 1, { { 127, 255, 255, 254 } } },
    { "evil.test.dbl.test", SPAM_DNS_OK, 1, { { 127, 0, 1, 2 } } },
    { "shop.co.uk.dbl.test", SPAM_DNS_OK, 1, { { 127, 0, 1, 2 } } },
  };
  char const *rules = "dnsbl ZEN 3.5 zen.test 127.0.0.2-9\ndnsbl PBL 1 pbl.test 127.0.0.2-9\ndnswl WL -2 wl.test 127.0.*.2-3\n"
                      "dnsbl DOWN 5 down.test\ndnsbl REFUSE 5 refuse.test\ndnsbl NX 5 nx.test\nurlbl DBL 2 dbl.test 127.0.1.2-99\n";
  fake_spam(&s, &f, "", rules, "");
  f.dns = answers;
  f.ndns = sizeof answers / sizeof *answers;
  spam_view v;
  view_of(&v, "\nhttp://www.evil.test/ http://a.b.shop.co.uk/ http://fine.test/\n");
  memset(&sc, 0, sizeof sc);
  spam_dnsbl_run(&s, "192.0.2.10", &v, &sc, &log);
  stralloc_0(&log);
  CHECK(hit(&sc, "ZEN") && !hit(&sc, "PBL") && hit(&sc, "WL") && hit(&sc, "DBL") && sc.n == 3, "dnsbl: listed with the rule's codes, allow lists, URL domains");
  CHECK(fabs(sc.total - (3.5 - 2 + 2)) < 1e-9, "dnsbl: their weights");
  CHECK(strstr(log.s, "dns=down.test:temp") && strstr(log.s, "dns=refuse.test:refused") && !hit(&sc, "DOWN") && !hit(&sc, "REFUSE"),
        "dnsbl: a temporary failure and a refusal code count nothing and are logged");
  unsigned asked = f.asked;
  CHECK(asked == 7, "dnsbl: each question once (the URL domains until one is listed)");
  spam_view_free(&v);

  /* the budget: questions that take all the time stop the rest */
  f.asked = 0;
  f.dns_cost_ms = 2500;
  log.len = 0;
  memset(&sc, 0, sizeof sc);
  spam_dnsbl_run(&s, "192.0.2.10", 0, &sc, &log);
  stralloc_0(&log);
  CHECK(f.asked == 3 && strstr(log.s, ":budget"), "dnsbl: the DNS budget bounds the questions of a message");
  stralloc_free(&log);
  spam_conf_free(&s.conf);
}

static void t_grey(void)
{
  spam_conf c;
  spam_grey_rec r;
  int store;
  char k1[34], k2[34], k3[34], k4[34];
  spam_conf_init(&c);
  c.grey_delay = 300;
  c.grey_window = 3600;
  c.grey_expire = 86400;
  CHECK(spam_grey_decide(&c, &r, 0, 1000, &store) == GREY_WAIT && store && r.first == 1000, "grey: a new triplet waits");
  CHECK(spam_grey_decide(&c, &r, 1, 1200, &store) == GREY_WAIT && !store && r.first == 1000, "grey: too early: waits, the first time kept");
  CHECK(spam_grey_decide(&c, &r, 1, 1300, &store) == GREY_PASS && store && r.passed == 1, "grey: after the delay: passes");
  CHECK(spam_grey_decide(&c, &r, 1, 1400, &store) == GREY_PASS && !store, "grey: passed: passes without a write");
  CHECK(spam_grey_decide(&c, &r, 1, 1300 + 7200, &store) == GREY_PASS && store && r.last == 8500, "grey: kept alive once an hour");
  CHECK(spam_grey_decide(&c, &r, 1, 8500 + 86401, &store) == GREY_WAIT && store && !r.passed, "grey: unseen past expire: starts over");
  r.first = 1000; r.last = 1000; r.passed = 0;
  CHECK(spam_grey_decide(&c, &r, 1, 1000 + 3601, &store) == GREY_WAIT && r.first == 4601, "grey: a retry after the window starts over");
  r.first = 5000; r.last = 5000; r.passed = 1;
  CHECK(spam_grey_decide(&c, &r, 1, 4000, &store) == GREY_WAIT, "grey: a record from the future (clock went back) starts over");
  spam_grey_key(k1, "192.0.2.0/24", "prvs=1234abcd=bounce-17@list.test", "Bob@Example.test");
  spam_grey_key(k2, "192.0.2.0/24", "bounce-99@LIST.test", "bob@example.test");
  spam_grey_key(k3, "192.0.2.0/24", "bounce-99@list.test", "alice@example.test");
  spam_grey_key(k4, "198.51.100.0/24", "bounce-99@list.test", "bob@example.test");
  CHECK(!strcmp(k1, k2) && k1[0] == 't' && strlen(k1) == 33, "grey: BATV tags, VERP numbers and case do not make a new triplet");
  CHECK(strcmp(k1, k3) && strcmp(k1, k4), "grey: another recipient or network does");
  spam_grey_client_key(k3, "192.0.2.0/24");
  CHECK(k3[0] == 'c' && strcmp(k3 + 1, k1 + 1), "grey: a client's key");
  char buf[96];
  size_t n = spam_grey_fmt(buf, sizeof buf, &r);
  spam_grey_rec back;
  CHECK(n && spam_grey_parse(&back, buf, n) && back.first == r.first && back.last == r.last && back.passed == r.passed, "grey: a record written and read");
  CHECK(!spam_grey_parse(&back, "5 4 1\n", 6) && !spam_grey_parse(&back, "1 2 3", 5) && !spam_grey_parse(&back, "", 0)
        && !spam_grey_parse(&back, "x y z\n", 6), "grey: a bad record is no record");
  spam_conf_free(&c);
}

static void t_rate(void)
{
  spam_rate_rec r;
  memset(&r, 0, sizeof r);
  int taken = 0;
  for (int i = 0; i < 15; i++) taken += spam_rate_take(&r, 3600 * 100 + 10, 10, 3600);
  CHECK(taken == 10, "rate: at most max in a window");
  /* half a window later, half the previous window still counts */
  taken = 0;
  for (int i = 0; i < 15; i++) taken += spam_rate_take(&r, 3600 * 101 + 1800, 10, 3600);
  CHECK(taken == 5, "rate: the window slides: half of the previous one still counts");
  taken = 0;
  for (int i = 0; i < 15; i++) taken += spam_rate_take(&r, 3600 * 105, 10, 3600);
  CHECK(taken == 10, "rate: after a quiet while, the full rate again");
  CHECK(spam_rate_key("192.0.2.1/32") != spam_rate_key("192.0.2.2/32") && spam_rate_key("x") != 0, "rate: keys");
}

static void t_clamd(void)
{
  spam_clamd r;
  spam_clamd_reply(&r, "stream: OK", 11);
  CHECK(r.status == CLAMD_CLEAN, "clamd: OK is clean");
  spam_clamd_reply(&r, "stream: Eicar-Signature FOUND\n", 30);
  CHECK(r.status == CLAMD_INFECTED && !strcmp(r.name, "Eicar-Signature"), "clamd: FOUND is infected, with the name");
  spam_clamd_reply(&r, "INSTREAM size limit exceeded. ERROR", 36);
  CHECK(r.status == CLAMD_ERROR && !strcmp(r.why, "INSTREAM size limit exceeded. ERROR"), "clamd: ERROR is an error, with the reason");
  spam_clamd_reply(&r, "", 0);
  CHECK(r.status == CLAMD_ERROR && r.why[0], "clamd: no answer is an error");
  spam_clamd_reply(&r, "stream: OKAY", 12);
  CHECK(r.status == CLAMD_ERROR, "clamd: an answer we do not know is an error, never clean");
  spam_clamd_reply(&r, "stream:  FOUND", 14);
  CHECK(r.status == CLAMD_ERROR, "clamd: FOUND without a name is an error");
  spam_clamd_reply(&r, "stream: Bad\"Name\x01\xff FOUND", 24);
  CHECK(r.status == CLAMD_INFECTED && !strcmp(r.name, "Bad?Name??"), "clamd: names made printable");
}

static void t_smtp(void)
{
  spam s;
  fake f;
  spam_verdict v = SPAM_VERDICT_ZERO;
  spam_env e = { "192.0.2.10", "mail.sender.test", "a@sender.test", "mx.example.test; spf=pass smtp.mailfrom=sender.test", 0 };
  char const *ham = "From: a@sender.test\nTo: b@example.test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@sender.test>\nSubject: hi\n\nhello\n";
  char const *gtube = "From: a@sender.test\nSubject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n";
  fake_dns const listed[] = { { "10.2.0.192.zen.test", SPAM_DNS_OK, 1, { { 127, 0, 0, 2 } } } };

  fake_spam(&s, &f, "clamd unix:/nowhere\n", "dnsbl ZEN 3.5 zen.test\n", "");
  f.dns = listed; f.ndns = 1;
  spam_smtp_data(&s, &e, ham, strlen(ham), &v);
  stralloc_0(&v.headers);
  CHECK(v.action == SPAM_ACCEPT && !v.reply[0] && fabs(v.score - 3.5) < 1e-9, "smtp: a listed client: accepted with its score");
  CHECK(!strcmp(v.headers.s, "X-Spam-Score: 3.5\nX-Spam-Status: No, score=3.5 required=5.0 tests=ZEN=3.5\nX-Virus-Status: Clean\n"),
        "smtp: the headers to add");
  CHECK(strstr(v.log.s, "score=3.5 tests=ZEN") != 0, "smtp: the log pairs");
  f.asked = 0;
  spam_smtp_data(&s, &e, gtube, strlen(gtube), &v);
  CHECK(v.action == SPAM_REJECT && !strncmp(v.reply, "550 5.7.1 ", 10) && f.asked == 0, "smtp: GTUBE: 550 5.7.1, and no DNS asked");
  f.clamd.status = CLAMD_INFECTED;
  strcpy(f.clamd.name, "Pochta.Test.Sig");
  spam_smtp_data(&s, &e, ham, strlen(ham), &v);
  CHECK(v.action == SPAM_VIRUS && !strcmp(v.reply, "554 5.7.1 Message refused: it contains a virus (Pochta.Test.Sig)"), "smtp: a virus: 554 5.7.1");
  f.clamd.status = CLAMD_ERROR;
  strcpy(f.clamd.why, "connect to clamd: No such file or directory");
  spam_smtp_data(&s, &e, ham, strlen(ham), &v);
  CHECK(v.action == SPAM_TEMPFAIL && !strncmp(v.reply, "451 4.3.0 ", 10), "smtp: clamd failed, strict: 451 4.3.0");
  s.conf.clamd_strict = 0;
  spam_smtp_data(&s, &e, ham, strlen(ham), &v);
  stralloc_0(&v.headers);
  CHECK(v.action == SPAM_ACCEPT && strstr(v.headers.s, "X-Virus-Status: Unscanned (connect to clamd: No such file or directory)\n"),
        "smtp: clamd failed, lenient: accepted and said so");
  spam_conf_free(&s.conf);

  fake_spam(&s, &f, "ratelimit 3/60\nratelimit-exempt 198.51.100.7\n", "", "");
  int acc = 0;
  for (int i = 0; i < 5; i++) { spam_smtp_data(&s, &e, ham, strlen(ham), &v); acc += v.action == SPAM_ACCEPT; }
  CHECK(acc == 3 && v.action == SPAM_TEMPFAIL && !strncmp(v.reply, "451 4.7.1 ", 10), "smtp: over the rate limit: 451 4.7.1");
  f.now += 120;
  spam_smtp_data(&s, &e, ham, strlen(ham), &v);
  CHECK(v.action == SPAM_ACCEPT, "smtp: the rate limit frees up");
  spam_env x = e;
  x.ip = "198.51.100.7";
  acc = 0;
  for (int i = 0; i < 5; i++) { spam_smtp_data(&s, &x, ham, strlen(ham), &v); acc += v.action == SPAM_ACCEPT; }
  CHECK(acc == 5, "smtp: exempt clients are not counted");
  x.ip = "192.0.2.99";
  x.dryrun = 1;
  acc = 0;
  for (int i = 0; i < 5; i++) { spam_smtp_data(&s, &x, ham, strlen(ham), &v); acc += v.action == SPAM_ACCEPT; }
  CHECK(acc == 5, "smtp: a dry run counts nothing");
  spam_conf_free(&s.conf);

  fake_spam(&s, &f, "greylist-delay 300\ngreylist-clients 2\n", "", "example.test\nexempt 203.0.113.0/24\n");
  spam_smtp_rcpt(&s, &e, "bob@other.test", &v);
  CHECK(v.action == SPAM_ACCEPT && f.ngrey == 0, "rcpt: a domain without greylisting");
  spam_smtp_rcpt(&s, &e, "bob@Example.TEST", &v);
  CHECK(v.action == SPAM_TEMPFAIL && !strcmp(v.reply, "451 4.7.1 Greylisted: please try again in 300 seconds"), "rcpt: a new triplet: 451 4.7.1");
  f.now += 100;
  spam_smtp_rcpt(&s, &e, "bob@example.test", &v);
  CHECK(v.action == SPAM_TEMPFAIL && strstr(v.reply, "in 200 seconds"), "rcpt: too early: still 451");
  f.now += 200;
  spam_smtp_rcpt(&s, &e, "bob@example.test", &v);
  CHECK(v.action == SPAM_ACCEPT && strstr(v.log.s, "grey=pass"), "rcpt: after the delay: passes");
  spam_env n2 = e;
  n2.ip = "192.0.2.77";   /* the same /24 */
  spam_smtp_rcpt(&s, &n2, "bob@example.test", &v);
  CHECK(v.action == SPAM_ACCEPT, "rcpt: the same network is the same client");
  spam_smtp_rcpt(&s, &e, "carol@example.test", &v);
  CHECK(v.action == SPAM_TEMPFAIL, "rcpt: another recipient is another triplet");
  f.now += 400;
  spam_smtp_rcpt(&s, &e, "carol@example.test", &v);
  spam_smtp_rcpt(&s, &e, "dave@example.test", &v);
  CHECK(v.action == SPAM_ACCEPT && strstr(v.log.s, "grey=client"), "rcpt: a client that passed greylist-clients triplets is let through");
  spam_env ex = e;
  ex.ip = "203.0.113.5";
  spam_smtp_rcpt(&s, &ex, "erin@example.test", &v);
  CHECK(v.action == SPAM_ACCEPT && strstr(v.log.s, "grey=exempt"), "rcpt: exempt clients");
  spam_verdict_free(&v);
  spam_conf_free(&s.conf);
}

static int unit(void)
{
  t_view();
  t_tokens();
  t_bayesdb();
  t_bayes();
  t_conf();
  t_rules();
  t_helo();
  t_authres();
  t_report();
  t_dnsbl();
  t_grey();
  t_rate();
  t_clamd();
  t_smtp();
  printf("1..%u\n# %u of %u failed\n", tests, failed, tests);
  return failed ? 1 : 0;
}

/* ---------------------------------------------------------------- drivers */

static void map_file(mime_msg *m, char const *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  if (!mime_msg_map(m, fd)) die("mmap");
  close(fd);
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int add_one(spam_rate_rec *r, void *arg) { (void)arg; r->cur++; return 1; }
static int read_cur(spam_rate_rec *r, void *arg) { *(uint32_t *)arg = r->cur; return 1; }

/* Many processes on one slot of the real rate file: a lost update shows. */
static int rate_hammer(unsigned procs, unsigned n)
{
  spam s;
  char err[300];
  if (!spam_open(&s, err, sizeof err)) { fprintf(stderr, "spam-test: %s\n", err); return 111; }
  uint64_t key = spam_rate_key("hammer");
  for (unsigned p = 0; p < procs; p++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (!pid) {
      for (unsigned i = 0; i < n; i++) if (s.h->rate(s.ctx, key, add_one, 0) != 1) _exit(1);
      _exit(0);
    }
  }
  int bad = 0, st;
  while (wait(&st) > 0) bad |= !WIFEXITED(st) || WEXITSTATUS(st);
  uint32_t cur = 0;
  s.h->rate(s.ctx, key, read_cur, &cur);
  printf("%u%s\n", cur, bad ? " (a process failed)" : "");
  spam_close(&s);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 4 && !strcmp(argv[1], "rate-hammer")) return rate_hammer((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]));
  if (argc >= 2 && !strcmp(argv[1], "unit")) return unit();
  if (argc == 3 && (!strcmp(argv[1], "view") || !strcmp(argv[1], "tokens"))) {
    mime_msg m = MIME_MSG_ZERO;
    spam_view v = SPAM_VIEW_ZERO;
    spam_tokens t = SPAM_TOKENS_ZERO;
    map_file(&m, argv[2]);
    double c0 = cpu_s();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!spam_view_make(&v, m.data, m.len) || !spam_tokens_make(&t, &v)) die("tokenize");
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (!strcmp(argv[1], "view")) {
      fwrite(v.text.s ? v.text.s : "", 1, v.text.len, stdout);
      printf("\n--hosts\n");
      for (size_t off = 0; off < v.hosts.len; off += strlen(v.hosts.s + off) + 1) printf("%s\n", v.hosts.s + off);
    } else {
      struct rusage ru;
      getrusage(RUSAGE_SELF, &ru);
      printf("size=%zu tokens=%u text=%zu hosts=%u parts=%u textparts=%u cut=%d wall_ms=%.1f cpu_ms=%.1f maxrss_kb=%ld\n",
             m.len, t.n, v.text.len, v.nhosts, v.tree.n, v.ntext, v.cut || t.cut,
             (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, (cpu_s() - c0) * 1e3, ru.ru_maxrss);
    }
    spam_tokens_free(&t);
    spam_view_free(&v);
    mime_msg_unmap(&m);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "db")) {
    stralloc sa = STRALLOC_ZERO;
    bayesdb d;
    int r = spam_slurp(&sa, argv[2], BAYES_FILE_MAX, 0);
    if (r < 0) die(argv[2]);
    int ok = bayesdb_parse(&d, (unsigned char *)sa.s, r > 0 ? sa.len : 0);
    if (ok) printf("spam=%u ham=%u tokens=%u seen=%u\n", d.nspam, d.nham, d.ntok, d.nseen);
    else printf("invalid\n");
    stralloc_free(&sa);
    return !ok;
  }
  if (argc == 3 && !strcmp(argv[1], "dns")) {
    /* the production hook, as spam_open wires it (dns/) */
    spam s;
    char err[300];
    unsigned char ip[SPAM_DNS_MAXA][4];
    unsigned n;
    if (!spam_open(&s, err, sizeof err)) { fprintf(stderr, "spam-test: %s\n", err); return 111; }
    int r = s.h->dns_a(s.ctx, argv[2], 2000, ip, SPAM_DNS_MAXA, &n);
    printf("%s", r == SPAM_DNS_OK ? "ok" : r == SPAM_DNS_NX ? "nxdomain" : "temp");
    for (unsigned i = 0; r == SPAM_DNS_OK && i < n; i++) printf(" %u.%u.%u.%u", ip[i][0], ip[i][1], ip[i][2], ip[i][3]);
    printf("\n");
    spam_close(&s);
    return 0;
  }
  if ((argc == 4 || argc == 5) && !strcmp(argv[1], "clamd")) {
    mime_msg m = MIME_MSG_ZERO;
    spam_clamd r;
    map_file(&m, argv[3]);
    spam_clamd_scan(argv[2], argc == 5 ? (unsigned)atoi(argv[4]) : 30, m.data, m.len, &r);
    if (r.status == CLAMD_CLEAN) printf("clean\n");
    else if (r.status == CLAMD_INFECTED) printf("infected %s\n", r.name);
    else printf("error %s\n", r.why);
    mime_msg_unmap(&m);
    return 0;
  }
  fprintf(stderr, "usage: spam-test unit | view FILE | tokens FILE | db FILE | dns NAME | clamd ADDR FILE [SECONDS] | rate-hammer P N\n");
  return 100;
}
