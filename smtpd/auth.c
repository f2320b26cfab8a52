/* AUTH PLAIN and AUTH LOGIN (RFC 4954, RFC 4616). The password goes to the
 * checkpassword program through the auth_check hook and is wiped here after. */
#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include "base64.h"
#include "smtpd.h"

/* A client response: the initial one, or a line read after "334 prompt".
 * Decoded into out. Length, -1 after a reply has been given, -2 session over. */
static int response(smtpd *s, char const *initial, char const *prompt, char *out, size_t max)
{
  char const *p = initial;
  int n;
  if (!p) {
    reply2(s, "334 ", prompt);
    if (!line_read(s, AUTH_LINE_MAX)) { s->done = 1; s->why = s->io.timedout ? "timeout" : "eof"; return -2; }
    if (s->lerr) { reply(s, "501 5.5.2 Error: bad AUTH response line"); return -1; }
    p = s->line;
  }
  if (!strcmp(p, "*")) { reply(s, "501 5.7.0 Error: authentication cancelled"); return -1; }
  if (!strcmp(p, "=")) return 0;   /* RFC 4954: empty initial response */
  n = (int)base64_decode(out, max, p, strlen(p));
  if (n < 0) { reply(s, "501 5.5.2 Error: cannot decode response"); return -1; }
  return n;
}

static void check(smtpd *s, char *user, char const *pass, char const *mech)
{
  stralloc c = STRALLOC_ZERO;
  int r;
  size_t i, n = strlen(user);
  for (i = 0; i < n; i++) {   /* a login name goes into logs and argv-free fd 3 only, but keep it sane */
    unsigned char ch = (unsigned char)user[i];
    if (ch <= 32 || ch == 127) { reply(s, "535 5.7.8 Error: authentication credentials invalid"); return; }
  }
  r = s->h->auth_check(s, user, pass);
  if (!r) {
    if (!users_canon(&c, user, n)) { c.len = 0; if (!stralloc_catb(&c, user, n) || !stralloc_0(&c)) r = 2; }
  }
  if (!r) {
    s->user.len = 0;
    if (!stralloc_catb(&s->user, c.s, strlen(c.s) + 1)) { s->user.len = 0; r = 2; }
    else s->user.len--;
  }
  stralloc_free(&c);
  if (!r) {
    slog(s, "auth", "result", "ok", "mech", mech, "user", s->user.s, (char *)0);
    reply(s, "235 2.7.0 Authentication successful");
  } else if (r == 1) {
    slog(s, "auth", "result", "fail", "mech", mech, "user", user, (char *)0);
    reply(s, "535 5.7.8 Error: authentication credentials invalid");
  } else {
    slog(s, "auth", "result", "tempfail", "mech", mech, "user", user, (char *)0);
    reply(s, "454 4.7.0 Temporary authentication failure");
  }
}

void cmd_auth(smtpd *s, char *arg)
{
  char buf[AUTH_LINE_MAX], user[520];
  char *mech = arg, *init = 0;
  int n;
  if (s->user.len) { reply(s, "503 5.5.1 Error: already authenticated"); return; }
  if (!s->esmtp) { reply(s, "503 5.5.1 Error: send EHLO first"); return; }
  if (!mech || !*mech) { reply(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]"); return; }
  init = strchr(mech, ' ');
  if (init) { *init++ = 0; while (*init == ' ') init++; if (!*init) init = 0; }
  if (!s->tls && !s->plainauth) { reply(s, "538 5.7.11 Encryption required for requested authentication mechanism"); return; }
  if (!strcasecmp(mech, "PLAIN")) {
    char const *authz, *authc, *pass;
    size_t a, b;
    n = response(s, init, "", buf, sizeof buf - 1);
    if (n < 0) goto out;
    buf[n] = 0;
    /* authzid \0 authcid \0 passwd */
    authz = buf;
    a = strlen(authz);
    if ((size_t)n <= a) goto bad;
    authc = buf + a + 1;
    b = strlen(authc);
    if ((size_t)n <= a + 1 + b) goto bad;
    pass = authc + b + 1;
    if (strlen(pass) != (size_t)n - a - b - 2 || !b || b >= sizeof user) goto bad;
    if (a && (a != b || strncasecmp(authz, authc, a))) {   /* no acting as someone else */
      reply(s, "535 5.7.8 Error: authentication credentials invalid");
      goto out;
    }
    memcpy(user, authc, b + 1);
    check(s, user, pass, "plain");
    goto out;
  }
  if (!strcasecmp(mech, "LOGIN")) {
    n = response(s, init, "VXNlcm5hbWU6", buf, sizeof buf - 1);   /* "Username:" */
    if (n < 0) goto out;
    if (!n || (size_t)n >= sizeof user || memchr(buf, 0, (size_t)n)) goto bad;
    memcpy(user, buf, (size_t)n);
    user[n] = 0;
    n = response(s, 0, "UGFzc3dvcmQ6", buf, sizeof buf - 1);      /* "Password:" */
    if (n < 0) goto out;
    buf[n] = 0;
    if (memchr(buf, 0, (size_t)n)) goto bad;
    check(s, user, buf, "login");
    goto out;
  }
  reply(s, "504 5.5.4 Error: unsupported authentication mechanism");
  return;
 bad:
  reply(s, "501 5.5.2 Error: malformed authentication response");
 out:
  explicit_bzero(buf, sizeof buf);
  explicit_bzero(s->line, sizeof s->line);
}
