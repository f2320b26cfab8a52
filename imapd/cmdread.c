/* pochta-imapd: reading one command from the client, literals included.
 * Literals up to LIT_MEM_MAX are kept inline ("{N}\n" + data, see parse.h); a larger
 * one is accepted only after login, only for APPEND, and is streamed (CR LF turned
 * into LF, unless it is a literal8) into a spool file under the Maildir's tmp/,
 * leaving "{N}\r" inline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imapd.h"
#include "io.h"
#include "maildir.h"

/* The tag at the start of cmd, for replies sent before the command is parsed. */
static void put_tag_of(stralloc const *cmd)
{
  size_t i = 0;
  while (i < cmd->len && i < 64 && (is_atom_char((unsigned char)cmd->s[i]) || cmd->s[i] == ']') && cmd->s[i] != '+') i++;
  /* a tag is followed by a space; anything else is not one to answer with */
  if (i && i < cmd->len && cmd->s[i] == ' ') io_put(cmd->s, i); else io_put("*", 1);
}

/* Is the command in cmd an APPEND (second word)? */
static int is_append(stralloc const *cmd)
{
  char const *sp = memchr(cmd->s, ' ', cmd->len);
  if (!sp) return 0;
  size_t rest = cmd->len - (size_t)(sp + 1 - cmd->s);
  return rest >= 7 && !strncasecmp(sp + 1, "APPEND ", 7);
}

/* Does the line just read end with a literal announcement? Sets n, nonsync
 * and bin (a literal8, "~{n}": kept exactly, RFC 3516). */
static int lit_at_end(char const *s, size_t len, uint64_t *n, int *nonsync, int *bin)
{
  if (len < 3 || s[len - 1] != '}') return 0;
  size_t i = len - 1;
  *nonsync = 0;
  if (i && (s[i - 1] == '+' || s[i - 1] == '-')) { *nonsync = 1; i--; }
  size_t end = i;
  while (i && s[i - 1] >= '0' && s[i - 1] <= '9') i--;
  if (i == end || !i || s[i - 1] != '{') return 0;
  *bin = i >= 2 && s[i - 2] == '~';
  if (end - i > 12) { *n = UINT64_MAX; return 1; }
  uint64_t v = 0;
  for (size_t k = i; k < end; k++) v = v * 10 + (uint64_t)(s[k] - '0');
  *n = v;
  return 1;
}

static stralloc line = STRALLOC_ZERO;

static int read_cmd(stralloc *cmd);

/* With NOTIFY on, the wait for a command is also a wait for what to tell:
 * 1 the client sent something, 0 it left, -2 the idle timeout passed. */
static int notify_wait(void)
{
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t left = (int64_t)io_timeout * 1000 - ((int64_t)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) { io_timed_out = 1; return -2; }
    int fd = notify_fd();
    int r = io_wait(fd, fd >= 0 || left < NOTIFY_POLL_MS ? (int)left : NOTIFY_POLL_MS);
    if (r == 1) return 1;
    if (r < 0) return 0;
    if (r == 2) notify_drain();
    notify_check(1);
  }
}

int cmd_read(stralloc *cmd)
{
  if (notify_on()) {
    int w = notify_wait();
    if (w <= 0) return w ? -2 : 0;
  }
  /* the command's deadlines run from its first octets to its last (io.h) */
  io_cmd_begin();
  int r = read_cmd(cmd);
  io_cmd_end();
  return r;
}

static int read_cmd(stralloc *cmd)
{
  int authed = S.state != S_NOAUTH;
  cmd->len = 0;
  spool_clear();
  for (;;) {
    int r = io_getline(&line, LINE_MAX_IMAP);
    if (r == 0) return cmd->len ? -2 : 0;
    if (r == -2) return -2;
    if (r == -1) {
      /* the tag was read: the answer is tagged, or the client waits for it */
      put_tag_of(cmd->len ? cmd : &line);
      io_puts(" BAD Line too long\r\n");
      return -1;
    }
    if (memchr(line.s, 0, line.len)) {
      if (!stralloc_catb(cmd, line.s, line.len)) return -2;
      put_tag_of(cmd); io_puts(" BAD NUL octet in command\r\n");
      return -1;
    }
    if (cmd->len + line.len > CMD_MAX) {
      put_tag_of(cmd); io_puts(" BAD Command too long\r\n");
      return -1;
    }
    if (!stralloc_catb(cmd, line.s, line.len)) return -2;
    uint64_t n; int nonsync, bin;
    if (!lit_at_end(line.s, line.len, &n, &nonsync, &bin)) return 1;
    size_t limit = authed ? LIT_MEM_MAX : PRE_LIT_MAX;
    if (n <= limit && cmd->len + n <= CMD_MAX) {
      io_cmd_literal(n);
      if (!nonsync) { io_puts("+ Ready for literal data\r\n"); io_flush(); }
      if (!stralloc_catb(cmd, "\n", 1)) return -2;
      r = io_getn(cmd, (size_t)n);
      if (r <= 0) return -2;
      if (memchr(cmd->s + cmd->len - n, 0, (size_t)n) && !is_append(cmd)) {
        /* NUL is allowed only in APPEND data (literal8 in spirit); refuse elsewhere */
        put_tag_of(cmd); io_puts(" BAD NUL octet in literal\r\n");
        /* the rest of the command line follows: drop it */
        io_getline(&line, LINE_MAX_IMAP);
        return -1;
      }
      continue;
    }
    /* a big literal: only in APPEND, after login */
    int ok = authed && is_append(cmd) && n <= S.databytes;
    if (!ok) {
      if (nonsync) {
        /* the client sends the data anyway and we cannot take it: close (RFC 7888) */
        io_puts("* BYE Literal too large\r\n");
        return -3;
      }
      put_tag_of(cmd);
      io_puts(authed && is_append(cmd) ? " NO [TOOBIG] Message too large\r\n" : " BAD Literal too large\r\n");
      return -1;
    }
    spoolf *sf = spool_new(bin);
    if (!sf) {
      put_tag_of(cmd); io_puts(" NO [LIMIT] Too many large literals, or no temporary file\r\n");
      if (nonsync) return -2;
      return -1;
    }
    int fd = sf->fd;
    io_cmd_literal(n);
    if (!nonsync) { io_puts("+ Ready for literal data\r\n"); io_flush(); }
    r = io_copy_to_fd(fd, (size_t)n, !bin);
    if (r == 0 || r == -2) return -2;
    if (r == -3) {
      /* disk full: the data was read and dropped; finish the line and say so */
      io_getline(&line, LINE_MAX_IMAP);
      put_tag_of(cmd); io_puts(" NO [OVERQUOTA] Cannot store the message\r\n");
      return -1;
    }
    sf->len = (size_t)n;
    if (!stralloc_catb(cmd, "\r", 1)) return -2;
  }
}
