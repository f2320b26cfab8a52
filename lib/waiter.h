/* The pre-login process of a login daemon, once the session runs in its child,
 * must stay the parent (tcpserver counts connections by it, systemd ends a
 * socket unit with it) but needs none of its memory. */
#ifndef POCHTA_WAITER_H
#define POCHTA_WAITER_H

/* exec pochta-wait from the directory of the running program (self: its path,
 * as /proc/self/exe gives it). Returns only if that failed: the caller then
 * waits for the session itself. */
void waiter_exec(char const *self);

#endif
