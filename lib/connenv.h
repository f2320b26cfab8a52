/* The client's address the same way under every superserver: tcpserver sets
 * TCPREMOTEIP and friends, systemd's Accept=yes sets REMOTE_ADDR and REMOTE_PORT,
 * inetd-style starters nothing (then the socket on fd 0 is asked).
 * Daemons (and pochta-tlsd in front of them) call connenv_init() first; from then
 * on TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP and TCPLOCALPORT are set when they can
 * be known, and an IPv4 client that reached an IPv6 socket is written as IPv4
 * (1.2.3.4, not ::ffff:1.2.3.4), so that logs, limits and rules see one form. */
#ifndef POCHTA_CONNENV_H
#define POCHTA_CONNENV_H

void connenv_init(void);

/* The client's address (TCPREMOTEIP after connenv_init), or NULL. */
char const *connenv_remote(void);

#endif
