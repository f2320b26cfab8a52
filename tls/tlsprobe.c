/* pochta-tlsprobe [-i] [-r] [-c cafile] [-n name] [-t ms] ip port: exercise
 * libtlsclient the way pochta-remote does. Connects, (without -i: reads the SMTP
 * greeting, EHLO, STARTTLS), does the handshake with SNI/verification name `name`,
 * prints one line "tls=ok verified=0|1 verify=<reason> protocol=.. cipher=..",
 * then says EHLO and QUIT over TLS and prints the server's lines prefixed "S: ".
 * -r requires verification (smarthost mode). Exit 0 ok, 1 TLS failed, 111 other.
 * A test tool: plain libc, no buffering subtleties. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "tlsclient.h"

/* Read one line ending in \n through rd, byte by byte (a test tool: simple beats fast). */
static int getline_fd(tlsclient *t, int fd, char *buf, size_t len)
{
  size_t n = 0;
  while (n + 1 < len) {
    char c;
    ssize_t r = t ? tlsclient_read(t, &c, 1) : read(fd, &c, 1);
    if (r <= 0) return -1;
    buf[n++] = c;
    if (c == '\n') break;
  }
  buf[n] = 0;
  return (int)n;
}

/* Read a (multi-line) SMTP reply, printing it when verbose; returns its code. */
static int reply(tlsclient *t, int fd, int verbose)
{
  char line[1024];
  for (;;) {
    if (getline_fd(t, fd, line, sizeof line) < 4) return -1;
    if (verbose) printf("S: %.*s\n", (int)strcspn(line, "\r\n"), line);
    if (line[3] != '-') return atoi(line);
  }
}

static int say(tlsclient *t, int fd, char const *s)
{
  size_t len = strlen(s);
  return (t ? tlsclient_write(t, s, len) : write(fd, s, len)) == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
  int implicit = 0, opt;
  unsigned int flags = 0, tmo = 10000;
  char const *cafile = NULL, *name = NULL;
  while ((opt = getopt(argc, argv, "irc:n:t:")) != -1) {
    switch (opt) {
      case 'i': implicit = 1; break;
      case 'r': flags |= TLSC_REQUIRE_VERIFY; break;
      case 'c': cafile = optarg; break;
      case 'n': name = optarg; break;
      case 't': tmo = (unsigned int)strtoul(optarg, NULL, 10); break;
      default: goto usage;
    }
  }
  if (argc - optind != 2) goto usage;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[optind + 1])) };
  if (inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1) goto usage;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 111; }
  if (!implicit) {
    if (reply(NULL, fd, 0) != 220 || say(NULL, fd, "EHLO probe.test\r\n") || reply(NULL, fd, 0) != 250
        || say(NULL, fd, "STARTTLS\r\n") || reply(NULL, fd, 0) != 220) {
      fprintf(stderr, "tlsprobe: no STARTTLS\n");
      return 111;
    }
  }
  char const *why;
  tlsclient *t = tlsclient_start(fd, name, cafile, flags, tmo, &why);
  if (!t) { printf("tls=fail reason=\"%s\"\n", why); return 1; }
  printf("tls=ok verified=%d verify=%s protocol=%s cipher=%s\n", tlsclient_verified(t),
         tlsclient_verify_error(t), tlsclient_protocol(t), tlsclient_cipher(t));
  /* the fd-based functions must reach the same session */
  if (tlsclient_fdwrite(fd, "", 0) != 0) { fprintf(stderr, "tlsprobe: fdwrite\n"); return 111; }
  if (implicit && reply(t, fd, 1) != 220) return 111;
  if (say(t, fd, "EHLO probe.test\r\n") || reply(t, fd, 1) != 250) return 111;
  if (say(t, fd, "QUIT\r\n")) return 111;
  reply(t, fd, 1);
  tlsclient_close(t);
  tlsclient_free(t);
  close(fd);
  return 0;
usage:
  fprintf(stderr, "usage: pochta-tlsprobe [-i] [-r] [-c cafile] [-n name] [-t ms] ip port\n");
  return 111;
}
