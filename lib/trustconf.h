/* For the programs that run with more rights than their caller (pochta-checkpassword
 * through its setuid bit, pochta-postdrop through its setgid bit): take nothing
 * from the caller that it could use to steer them. */
#ifndef POCHTA_TRUSTCONF_H
#define POCHTA_TRUSTCONF_H

/* 1 if this process runs with other ids than its caller's (set-id bits). */
int trustconf_setid(void);

/* 1 if every directory from / down to path is root's and writable by nobody else
 * (sticky ones like /tmp excepted on the way, never the last), 0 if not. */
int trustconf_root_only(char const *path);

/* Keep only the environment variables keep() accepts (POCHTA_CONF is always kept
 * and checked), set PATH to a fixed value, and make sure the configuration
 * directory is root's alone (trustconf_root_only of its real path, which then
 * becomes POCHTA_CONF). 1 ok, 0 refused or failed: *why says what. */
int trustconf_sanitize(int (*keep)(char const *kv), char const **why);

#endif
