/* The pre-login process of a login daemon, once the session runs in its child,
 * must stay the parent (tcpserver counts connections by it, systemd ends a
 * socket unit with it) but needs none of its memory. */
#ifndef POCHTA_WAITER_H
#define POCHTA_WAITER_H

/* exec pochta-wait from the directory of the running program (self: its path,
 * as /proc/self/exe gives it). Returns only if that failed: the caller then
 * waits for the session itself. */
void waiter_exec(char const *self);

/* The handshake that lets the pre-login process become pochta-wait: it keeps
 * the read end of a pipe; the child that will become the session passes the
 * write end on in the environment variable env (waiter_okfd_pass: moved off
 * fds 0 to 3, which checkpassword and the session fill, and kept across exec),
 * and the session writes one octet once it holds the mailbox
 * (waiter_okfd_signal). End of file instead means the login failed. */
int waiter_okfd_pass(int fd, char const *env);   /* 0 ok, -1 error */
void waiter_okfd_signal(char const *env);

#endif
