/* pochta-wait: what a login daemon's pre-login process becomes once the
 * session runs in its child. It must stay the parent (tcpserver counts its
 * connections by it, systemd ends the unit with it), but it has nothing left
 * to do but wait. Built without libc, so that it holds a few pages instead
 * of the ~700 kB any glibc program touches at start, and costs no CPUID
 * probing at exec. Waits for every child, then exits 0.
 *
 * Linux on x86_64 only; elsewhere the daemons fall back to waiting in a
 * fresh image of themselves. */

#if !defined(__x86_64__) || !defined(__linux__)
#error "pochta-wait is built for Linux x86_64 only (see wait/build.mk)"
#endif

#define SYS_exit 60
#define SYS_wait4 61
#define EINTR_ 4
#define ECHILD_ 10

static long syscall4(long n, long a, long b, long c, long d)
{
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return r;
}

void _start(void) __attribute__((noreturn));
void _start(void)
{
  long r;
  /* until no child is left (ECHILD); EINTR cannot happen without handlers,
   * but costs nothing to allow */
  do r = syscall4(SYS_wait4, -1, 0, 0, 0);
  while (r >= 0 || r == -EINTR_);
  syscall4(SYS_exit, r == -ECHILD_ ? 0 : 111, 0, 0, 0);
  for (;;) ;
}
