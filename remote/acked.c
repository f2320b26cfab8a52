/* conn_all_acked (conn.h): Linux's TCP_INFO counts the octets the peer
 * acknowledged. Apart from conn.c: linux/tcp.h and netinet/tcp.h both
 * define struct tcp_info. */
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "conn.h"

int conn_all_acked(struct conn const *c)
{
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  if (c->fd < 0 || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
      len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked) return -1;
  return ti.tcpi_bytes_acked >= c->sent;
}
