/* pochta user add|del|passwd|list and pochta apppass add|del|list.
 * users: address:maildir; passwords: address:label:hash (label "default" is the
 * main password, any other an app password). */
#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

#define USER_USAGE "pochta user add ADDR [--password P] | del ADDR | passwd ADDR [--password P] | list [DOMAIN]"
#define APPPASS_USAGE "pochta apppass add ADDR LABEL | del ADDR LABEL | list ADDR"

static void nomem(void) { strerr_diefu1sys(TEMP_EXIT, "allocate"); }

static int drop_key(char const *line, size_t len, void *ctx) { return tf_key_is(line, len, ctx); }

struct pw { char const *addr, *label; };

/* A passwords line of ctx->addr with label ctx->label (any label if NULL). */
static int drop_pw(char const *line, size_t len, void *ctx)
{
  struct pw const *p = ctx;
  char const *r, *c;
  size_t rlen;
  if (!tf_key_is(line, len, p->addr)) return 0;
  if (!p->label) return 1;
  r = tf_after_key(line, len, &rlen);
  c = memchr(r, ':', rlen);
  return c && (size_t)(c - r) == strlen(p->label) && !memcmp(r, p->label, c - r);
}

static int user_exists(char const *addr) { return tf_has_key("users", addr); }

/* Append line "a:b:c\n" (c may be NULL) to file name, dropping the lines drop()
 * selects, and rewrite the file. */
static void rewrite(char const *name, unsigned int mode, int (*drop)(char const *, size_t, void *),
                    void *ctx, char const *a, char const *b, char const *c)
{
  stralloc sa = STRALLOC_ZERO, out = STRALLOC_ZERO;
  tf_read(&sa, name);
  tf_filter(&out, &sa, drop, ctx);
  if (a) {
    if (!stralloc_cats(&out, a) || !stralloc_catb(&out, ":", 1) || !stralloc_cats(&out, b)) nomem();
    if (c && (!stralloc_catb(&out, ":", 1) || !stralloc_cats(&out, c))) nomem();
    if (!stralloc_catb(&out, "\n", 1)) nomem();
  }
  tf_write(name, out.s, out.len, mode);
  explicit_bzero(sa.s, sa.len);
  stralloc_free(&sa); stralloc_free(&out);
}

/* --password P: what ps(1), /proc and the shell's history show to others. Kept for
 * scripts, said every time; the documented way is one line on standard input. */
static char const *password_option(int argc, char const *const *argv)
{
  if (argc == 5 && !strcmp(argv[3], "--password")) {
    strerr_warnw("--password puts the password where ps and the shell history show it;"
                 " give it on standard input instead: printf '%s\\n' \"$pw\" | pochta user ",
                 argv[1], " ADDR");
    return argv[4];
  }
  if (argc != 3) strerr_dieusage(USAGE_EXIT, USER_USAGE);
  return 0;
}

static void need_address(stralloc *a, char const *s)
{
  if (!addr_address(a, s)) strerr_dief(USAGE_EXIT, "not a valid address: ", s);
}

static void set_password(char const *addr, char const *label, char const *pass)
{
  stralloc h = STRALLOC_ZERO;
  struct pw p = { addr, label };
  if (strcmp(label, "default")) password_hash_app(&h, pass);   /* random: see password.c */
  else password_hash(&h, pass);
  rewrite("passwords", 0600, drop_pw, &p, addr, label, h.s);
  stralloc_free(&h);
}

static int user_add(int argc, char const *const *argv)
{
  stralloc a = STRALLOC_ZERO, root = STRALLOC_ZERO, md = STRALLOC_ZERO, pass = STRALLOC_ZERO;
  char const *opt = 0, *at;
  struct pw p;
  uid_t uid; gid_t gid;
  opt = password_option(argc, argv);
  need_address(&a, argv[2]);
  at = strrchr(a.s, '@');
  tf_lock();
  if (!domain_is_local(at + 1)) strerr_dief(USAGE_EXIT, "not a local domain: ", at + 1, " (pochta domain add ", at + 1, ")");
  if (user_exists(a.s)) strerr_dief(USAGE_EXIT, "user exists already: ", a.s, " (pochta user passwd to change the password)");
  password_get(&pass, opt);
  owner_get(&uid, &gid);
  if (!tf_line(&root, "mailroot")) strerr_dief(TEMP_EXIT, "no file mailroot in ", confdir, ": run pochta init first");
  /* <mailroot>/<domain>/<local>/Maildir: both parts were validated as path-safe. */
  if (!stralloc_catb(&md, root.s, root.len) || !stralloc_catb(&md, "/", 1)
   || !stralloc_cats(&md, at + 1) || !stralloc_catb(&md, "/", 1)
   || !stralloc_catb(&md, a.s, at - a.s) || !stralloc_cats(&md, "/Maildir") || !stralloc_0(&md)) nomem();
  /* The Maildir first: a user that exists in the cdb always has one. */
  maildir_make(md.s, uid, gid);
  /* Stale passwords of an earlier user of the same name go. */
  p.addr = a.s; p.label = 0;
  rewrite("passwords", 0600, drop_pw, &p, 0, 0, 0);
  set_password(a.s, "default", pass.s);
  explicit_bzero(pass.s, pass.len);
  rewrite("users", 0644, drop_key, a.s, a.s, md.s, 0);
  compile();
  stralloc_free(&a); stralloc_free(&root); stralloc_free(&md); stralloc_free(&pass);
  return 0;
}

static int user_del(char const *s)
{
  stralloc a = STRALLOC_ZERO, sa = STRALLOC_ZERO, out = STRALLOC_ZERO;
  struct pw p;
  size_t pos = 0, len;
  char const *line;
  need_address(&a, s);
  tf_lock();
  tf_read(&sa, "users");
  while (tf_next(&sa, &pos, &line, &len)) {
    if (!tf_key_is(line, len, a.s)) continue;
    size_t rlen;
    char const *r = tf_after_key(line, len, &rlen);
    if (!stralloc_catb(&out, r, rlen) || !stralloc_0(&out)) nomem();
    break;
  }
  if (!out.len) strerr_dief(USAGE_EXIT, "no such user: ", a.s);
  rewrite("users", 0644, drop_key, a.s, 0, 0, 0);
  p.addr = a.s; p.label = 0;
  rewrite("passwords", 0600, drop_pw, &p, 0, 0, 0);
  compile();
  /* Mail is never removed by a typo: the admin deletes the Maildir himself. */
  strerr_warni("user ", a.s, " deleted; the Maildir is kept: ", out.s);
  alias_warn_naming(a.s);
  stralloc_free(&a); stralloc_free(&sa); stralloc_free(&out);
  return 0;
}

static int user_passwd(int argc, char const *const *argv)
{
  stralloc a = STRALLOC_ZERO, pass = STRALLOC_ZERO;
  char const *opt = password_option(argc, argv);
  need_address(&a, argv[2]);
  tf_lock();
  if (!user_exists(a.s)) strerr_dief(USAGE_EXIT, "no such user: ", a.s);
  password_get(&pass, opt);
  set_password(a.s, "default", pass.s);
  explicit_bzero(pass.s, pass.len);
  compile();
  stralloc_free(&a); stralloc_free(&pass);
  return 0;
}

static void out(char const *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) < 0 || buffer_put(buffer_1, "\n", 1) < 0)
    strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

static void out_flush(void)
{
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(TEMP_EXIT, "write to stdout");
}

static int user_list(char const *domain)
{
  stralloc d = STRALLOC_ZERO, sa = STRALLOC_ZERO;
  size_t pos = 0, len, klen;
  char const *line, *k;
  if (domain && !addr_domain(&d, domain)) strerr_dief(USAGE_EXIT, "not a domain name: ", domain);
  tf_read(&sa, "users");
  while (tf_next(&sa, &pos, &line, &len)) {
    if (tf_skip(line, len)) continue;
    k = tf_key(line, len, &klen);
    if (!klen) continue;
    if (domain) {
      char const *at = memchr(k, '@', klen);
      if (!at || (size_t)(k + klen - at - 1) != d.len || strncasecmp(at + 1, d.s, d.len)) continue;
    }
    out(k, klen);
  }
  out_flush();
  stralloc_free(&d); stralloc_free(&sa);
  return 0;
}

int cmd_user(int argc, char const *const *argv)
{
  if (argc < 2) strerr_dieusage(USAGE_EXIT, USER_USAGE);
  if (!strcmp(argv[1], "add")) return user_add(argc, argv);
  if (!strcmp(argv[1], "passwd")) return user_passwd(argc, argv);
  if (!strcmp(argv[1], "del") && argc == 3) return user_del(argv[2]);
  if (!strcmp(argv[1], "list") && argc <= 3) return user_list(argc == 3 ? argv[2] : 0);
  strerr_dieusage(USAGE_EXIT, USER_USAGE);
}

int cmd_apppass(int argc, char const *const *argv)
{
  stralloc a = STRALLOC_ZERO, pass = STRALLOC_ZERO, sa = STRALLOC_ZERO, tmp = STRALLOC_ZERO;
  struct pw p;
  if (argc < 3) strerr_dieusage(USAGE_EXIT, APPPASS_USAGE);
  need_address(&a, argv[2]);
  p.addr = a.s; p.label = argc > 3 ? argv[3] : 0;
  if (!strcmp(argv[1], "list") && argc == 3) {
    size_t pos = 0, len, rlen;
    char const *line, *r, *c;
    tf_read(&sa, "passwords");
    while (tf_next(&sa, &pos, &line, &len)) {
      if (!tf_key_is(line, len, a.s)) continue;
      r = tf_after_key(line, len, &rlen);
      c = memchr(r, ':', rlen);
      if (!c || (c - r == 7 && !memcmp(r, "default", 7))) continue;
      out(r, c - r);
    }
    out_flush();
    goto done;
  }
  if (argc != 4) strerr_dieusage(USAGE_EXIT, APPPASS_USAGE);
  if (!addr_label(argv[3]) || !strcmp(argv[3], "default"))
    strerr_dief(USAGE_EXIT, "bad label (want [a-z0-9._-], at most 32, not \"default\"): ", argv[3]);
  tf_lock();
  if (!user_exists(a.s)) strerr_dief(USAGE_EXIT, "no such user: ", a.s);
  tf_read(&sa, "passwords");
  if (!strcmp(argv[1], "add")) {
    if (tf_filter(&tmp, &sa, drop_pw, &p)) strerr_dief(USAGE_EXIT, "app password exists already: ", a.s, " ", argv[3]);
    password_random(&pass);
    set_password(a.s, argv[3], pass.s);
    compile();
    /* Shown once: only its hash is kept. */
    out(pass.s, pass.len);
    out_flush();
    goto done;
  }
  if (!strcmp(argv[1], "del")) {
    if (!tf_filter(&tmp, &sa, drop_pw, &p)) strerr_dief(USAGE_EXIT, "no such app password: ", a.s, " ", argv[3]);
    rewrite("passwords", 0600, drop_pw, &p, 0, 0, 0);
    compile();
    goto done;
  }
  strerr_dieusage(USAGE_EXIT, APPPASS_USAGE);
 done:
  stralloc_free(&a); stralloc_free(&pass); stralloc_free(&sa); stralloc_free(&tmp);
  return 0;
}
