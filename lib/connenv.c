/* See connenv.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "connenv.h"

/* "::ffff:a.b.c.d" -> "a.b.c.d" (a pointer into s), anything else unchanged. */
static char const *unmap(char const *s)
{
  struct in_addr a;
  if (!strncasecmp(s, "::ffff:", 7) && inet_pton(AF_INET, s + 7, &a) == 1) return s + 7;
  return s;
}

/* Set name from value, without the IPv4-mapped prefix, unless value is NULL. */
static void put(char const *name, char const *value)
{
  char buf[64];
  if (!value || !*value) return;
  snprintf(buf, sizeof buf, "%s", unmap(value));
  setenv(name, buf, 1);
}

/* TCPxxxIP/TCPxxxPORT (xxx: LOCAL or REMOTE) from the socket on fd 0, when
 * nobody set them (inetd-style starters, systemd-socket-activate). */
static void from_socket(int remote)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char ip[INET6_ADDRSTRLEN], port[8];
  if ((remote ? getpeername : getsockname)(0, (struct sockaddr *)&ss, &len) < 0) return;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in const *s4 = (struct sockaddr_in const *)&ss;
    if (!inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip)) return;
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(s4->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 const *s6 = (struct sockaddr_in6 const *)&ss;
    if (!inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip)) return;
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(s6->sin6_port));
  } else return;
  put(remote ? "TCPREMOTEIP" : "TCPLOCALIP", ip);
  if (!getenv(remote ? "TCPREMOTEPORT" : "TCPLOCALPORT")) setenv(remote ? "TCPREMOTEPORT" : "TCPLOCALPORT", port, 1);
}

void connenv_init(void)
{
  char const *ip = getenv("TCPREMOTEIP");
  if (ip && *ip) put("TCPREMOTEIP", ip);
  else if ((ip = getenv("REMOTE_ADDR")) && *ip) {
    put("TCPREMOTEIP", ip);
    put("TCPREMOTEPORT", getenv("REMOTE_PORT"));
  } else from_socket(1);
  ip = getenv("TCPLOCALIP");
  if (ip && *ip) put("TCPLOCALIP", ip);
  else from_socket(0);
}

char const *connenv_remote(void)
{
  char const *ip = getenv("TCPREMOTEIP");
  return ip && *ip ? ip : 0;
}
