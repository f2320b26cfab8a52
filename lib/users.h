/* Looking up users, domains, aliases and passwords in conf_dir()/users.cdb.
 * The file formats are in doc/CONTRACTS.md and pochta-config(5). */
#ifndef POCHTA_USERS_H
#define POCHTA_USERS_H

#include <sys/stat.h>

#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>

/* An open users.cdb. Open once per process (or per reload), look up many times.
 * id: the file that is open, for users_reopen. */
typedef struct users_s users;
struct users_s { cdb c; struct stat id; };
#define USERS_ZERO { .c = CDB_ZERO }

/* The marker record pochta compile writes into users.cdb and passwords.cdb: its
 * value is the file's own name. A file without it (empty, zero-filled, truncated,
 * foreign) is a configuration fault, never an empty user list. */
#define USERS_MARKER_KEY "!pochta"

/* Open conf_dir()/users.cdb. 1 ok; -1 error, with errno ENOENT (absent: the
 * configuration directory or the file is missing), EBADMSG (not a file pochta
 * compile wrote: empty, zero-filled, truncated, foreign) or the system's. Every
 * caller treats -1 as a temporary failure (4xx, exit 111) and logs users_why(). */
int users_open(users *u);
/* For a process that looks up over a long time (the runner's delivery processes):
 * keep u open, and open users.cdb again only when it is no longer the file that is
 * open (pochta compile renames a new one into place). u starts as USERS_ZERO. 1 ok;
 * -1 as users_open, u then closed. */
int users_reopen(users *u);
void users_close(users *u);
/* A readable reason for errno after users_open (or a lookup) failed. */
char const *users_why(int err);
/* Open conf_dir()/name as a cdb written by pochta compile (the marker checked). */
int users_open_cdb(cdb *c, char const *name);

/* Lowercase addr (of length len) into sa, NUL-terminated. 0 on allocation error or
 * when addr is not local@domain with a non-empty domain. */
int users_canon(stralloc *sa, char const *addr, size_t len);

/* 1 if domain (lowercase) is local, 0 if not, -1 error. */
int users_domain_local(users const *u, char const *domain);

/* Maildir of a real user: 1 found (path appended to sa, NUL-terminated), 0 no such
 * user, -1 error. addr must be canonical (users_canon). */
int users_maildir(users const *u, char const *addr, stralloc *sa);

/* Expand addr one level: the alias's targets (the admin's, else an implicit one
 * pochta compile made: postmaster@, and root@ etc. of the host name), or the
 * catch-all's if addr is not a user and has no alias. Targets are appended to sa as NUL-terminated strings.
 * 1 alias found, 0 none, -1 error. */
int users_alias(users const *u, char const *addr, stralloc *sa);

/* Resolve addr to final recipients, expanding aliases recursively (depth at most 8,
 * loops cut). Final addresses (local users, or remote addresses) are appended to sa as
 * NUL-terminated strings, duplicates removed. 1 ok (at least one recipient),
 * 0 unknown local user, -1 error. An address of a non-local domain resolves to itself. */
int users_resolve(users const *u, char const *addr, stralloc *sa);

/* 1 if the authenticated user `user` may use `from` as sender: it is the user's own
 * address, or an alias of the admin's (aliases file) whose targets include the
 * user. The implicit postmaster@, root@, abuse@ and mailer-daemon@ aliases pochta
 * compile makes, and catch-alls, never count. 0 no, -1 error. */
int users_owns(users const *u, char const *user, char const *from);

#endif
