/* One line per event on stderr: "pochta-pop3d: event=... key=value ...". */
#ifndef POP3D_LOG_H
#define POP3D_LOG_H

/* Log "event=<event>" followed by pairs of (key, value) ending with a NULL key.
 * Values with spaces, quotes or control characters are quoted and escaped. */
void log_event(char const *event, ...);

/* Log the event with the session's user, then exit 0 (a client gone,
 * a timeout: nothing to answer, nothing deleted). */
void log_event_exit(char const *event) __attribute__((noreturn));

/* Who the log lines are about (set once known). */
void log_set_user(char const *user);

#endif
