/* The instance's configuration directory, read with plain libc (this
 * binary links no skalibs, so it cannot use lib/conf). */
#ifndef REMOTE_CFG_H
#define REMOTE_CFG_H

#include <stddef.h>

/* $POCHTA_CONF or /etc/pochta. */
char const *cfg_dir(void);

/* First meaningful line of cfg_dir()/name (comments and empty lines
 * skipped, surrounding white space removed) into buf. 1 read, 0 absent,
 * -1 error or too long (errno). */
int cfg_line(char const *name, char *buf, size_t len);

/* Whole file cfg_dir()/name into buf (NUL-ended). Refused (-1, EPERM) when
 * private is set and the file is readable by group or others. 1, 0, -1. */
int cfg_file(char const *name, char *buf, size_t len, int private);

/* cfg_dir()/name into buf; 0 if it does not fit. */
int cfg_path(char *buf, size_t len, char const *name);

#endif
