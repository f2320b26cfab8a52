/* Reading the instance's configuration directory (POCHTA_CONF). */
#ifndef POCHTA_CONF_H
#define POCHTA_CONF_H

#include <stddef.h>
#include <skalibs/stralloc.h>

#define POCHTA_CONF_DEFAULT "/etc/pochta"

/* The configuration directory: $POCHTA_CONF or the default. Never NULL. */
char const *conf_dir(void);

/* Read the first line of conf_dir()/name into sa (no newline, NUL-terminated,
 * trailing white space removed). 1 read, 0 file absent, -1 error (errno). */
int conf_line(stralloc *sa, char const *name);

/* Read conf_dir()/name as an unsigned number. 1 read, 0 absent (and *n = def),
 * -1 error or not a number. */
int conf_ulong(unsigned long *n, char const *name, unsigned long def);

/* conf_dir()/name into a caller buffer; 0 if it does not fit. */
int conf_path(char *buf, size_t len, char const *name);

#endif
