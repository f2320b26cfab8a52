/* Passwords: reading a new one, hashing it, making random app passwords. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/random.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "pochta.h"

#define PASS_MAX 256

/* Hash pass with the scheme prefix and cost count (0: libxcrypt's default). */
static void hash_with(stralloc *sa, char const *pass, char const *prefix, unsigned long count)
{
  char rnd[32];
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  struct crypt_data cd;
  char const *h;
  random_buf(rnd, sizeof rnd);
  if (!crypt_gensalt_rn(prefix, count, rnd, sizeof rnd, salt, sizeof salt))
    strerr_diefu1sys(TEMP_EXIT, "make a salt");
  memset(&cd, 0, sizeof cd);
  h = crypt_rn(pass, salt, &cd, sizeof cd);   /* not crypt_r: see lib/users.c */
  if (!h || h[0] == '*') strerr_diefu1sys(TEMP_EXIT, "hash the password");
  sa->len = 0;
  if (!stralloc_cats(sa, h) || !stralloc_0(sa)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  sa->len--;
  explicit_bzero(&cd, sizeof cd);
}

void password_hash(stralloc *sa, char const *pass)
{
  hash_with(sa, pass, "$y$", 0);
}

/* App passwords are random (password_random: about 80 bits), so a slow hash
 * protects nothing and makes every login pay once per app password. */
void password_hash_app(stralloc *sa, char const *pass)
{
  hash_with(sa, pass, "$5$", 1000);
}

static void check(stralloc *sa)
{
  size_t i;
  if (!sa->len) strerr_dief(USAGE_EXIT, "empty password");
  if (sa->len > PASS_MAX) strerr_dief(USAGE_EXIT, "password longer than 256 octets");
  for (i = 0; i < sa->len; i++)
    if (sa->s[i] == '\n' || sa->s[i] == '\r' || !sa->s[i])
      strerr_dief(USAGE_EXIT, "password contains a newline or NUL");
  if (!stralloc_0(sa)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  sa->len--;
}

/* One line from fd into sa (without the newline), at most PASS_MAX + 1 octets. */
static void read_line(int fd, stralloc *sa)
{
  char c;
  sa->len = 0;
  for (;;) {
    ssize_t r = read(fd, &c, 1);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu1sys(TEMP_EXIT, "read the password"); }
    if (!r || c == '\n') break;
    if (sa->len > PASS_MAX) continue;   /* check() refuses it; keep draining the line */
    if (!stralloc_catb(sa, &c, 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  }
  if (sa->len && sa->s[sa->len-1] == '\r') sa->len--;
}

static void prompt(int fd, char const *text, stralloc *sa)
{
  struct termios old, quiet;
  int echo_off = tcgetattr(fd, &old) == 0;
  allwrite(fd, text, strlen(text));
  if (echo_off) {
    quiet = old;
    quiet.c_lflag &= ~(ECHO | ECHONL);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  read_line(fd, sa);
  if (echo_off) tcsetattr(fd, TCSAFLUSH, &old);
  allwrite(fd, "\n", 1);
}

void password_get(stralloc *sa, char const *opt)
{
  sa->len = 0;
  if (opt) {
    if (!stralloc_cats(sa, opt)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  } else if (!isatty(0)) {
    read_line(0, sa);
  } else {
    stralloc again = STRALLOC_ZERO;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) strerr_diefu1sys(TEMP_EXIT, "open /dev/tty");
    prompt(fd, "New password: ", sa);
    prompt(fd, "Again: ", &again);
    close(fd);
    if (again.len != sa->len || memcmp(again.s, sa->s, sa->len))
      strerr_dief(USAGE_EXIT, "the passwords differ");
    explicit_bzero(again.s, again.len);
    stralloc_free(&again);
  }
  check(sa);
}

void password_random(stralloc *sa)
{
  /* 16 letters from 32 (no l, o, 0, 1): 80 bits, in four groups for typing. */
  static char const alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
  unsigned char r[16];
  size_t i;
  random_buf((char *)r, sizeof r);
  sa->len = 0;
  for (i = 0; i < 16; i++) {
    if (i && !(i % 4) && !stralloc_catb(sa, "-", 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
    if (!stralloc_catb(sa, alpha + (r[i] & 31), 1)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  }
  if (!stralloc_0(sa)) strerr_diefu1sys(TEMP_EXIT, "allocate");
  sa->len--;
}
