/* One line per event on stderr: "pochta-remote: key=value ..." */
#ifndef REMOTE_LOG_H
#define REMOTE_LOG_H

/* Start a line with its first key=value pair, add more, then end it.
 * Values with spaces, quotes or controls are quoted and escaped. */
void log_start(char const *event);
void log_kv(char const *key, char const *val);
void log_kvu(char const *key, unsigned long val);
void log_end(void);

#endif
