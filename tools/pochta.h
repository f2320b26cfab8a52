/* pochta, the admin tool: what its subcommand files share. */
#ifndef POCHTA_TOOL_H
#define POCHTA_TOOL_H

#include <stddef.h>
#include <sys/types.h>
#include <skalibs/stralloc.h>

#define USAGE_EXIT 100   /* usage errors and refusals: permanent */
#define TEMP_EXIT 111    /* system errors: try again */

/* The configuration directory (-C or $POCHTA_CONF or /etc/pochta). */
extern char const *confdir;

/* Subcommands: argv[0] is the subcommand's name. Each returns the exit code. */
int cmd_init(int argc, char const *const *argv);
int cmd_domain(int argc, char const *const *argv);
int cmd_user(int argc, char const *const *argv);
int cmd_apppass(int argc, char const *const *argv);
int cmd_alias(int argc, char const *const *argv);
int cmd_catchall(int argc, char const *const *argv);
int cmd_compile(int argc, char const *const *argv);
int cmd_learn(int argc, char const *const *argv);
int cmd_spam(int argc, char const *const *argv);

/* spamuser.c: for pochta learn and pochta spam. */
/* The Maildir of a user (users.cdb) into md, NUL-terminated. Dies if none. */
void spamuser_maildir(char const *addr, stralloc *md);
/* Run as root: become the Maildir owner / the queue directory's owner. */
void spamuser_become_owner(void);
void spamuser_become_queue(void);

/* tf.c: the text files of the configuration directory. */
/* Take the instance's exclusive lock (confdir/.lock) for the whole run: admin
 * commands read, change and rewrite whole files, so two must not interleave. */
void tf_lock(void);
/* confdir/name into sa (appended to, not NUL-terminated); an absent file reads as
 * empty. Dies on error. Returns 1 if the file exists, 0 if not. */
int tf_read(stralloc *sa, char const *name);
/* First line of confdir/name into sa (NUL-terminated, trailing white space cut).
 * 1 read, 0 absent. Dies on error. */
int tf_line(stralloc *sa, char const *name);
/* Replace confdir/name with s (len octets) atomically and durably: write a
 * temporary file, fsync it, rename it over the old one, fsync the directory.
 * mode is the new file's mode. Dies on error. */
void tf_write(char const *name, char const *s, size_t len, unsigned int mode);
/* Path confdir/name, NUL-terminated, in sa (reset first). Dies on error. */
void tf_path(stralloc *sa, char const *name);
/* fsync the directory dir (after a link, rename or unlink in it). Dies on error. */
void dir_sync(char const *dir);

/* Line iteration over a file's text: *pos is updated; returns 0 at the end.
 * line/len give the line without its newline. Comments and empty lines are
 * returned too: callers keep them when they rewrite the file. */
int tf_next(stralloc const *sa, size_t *pos, char const **line, size_t *len);
/* Is the line a comment or empty (only blanks)? */
int tf_skip(char const *line, size_t len);
/* The key of a "key:rest" line: the octets before the first ':' with blanks
 * trimmed. *klen is 0 if the line has no ':'. */
char const *tf_key(char const *line, size_t len, size_t *klen);

/* Copy in's lines to out (each ending in '\n'), leaving out those for which
 * drop() says 1. Returns how many were left out. */
size_t tf_filter(stralloc *out, stralloc const *in,
                 int (*drop)(char const *line, size_t len, void *ctx), void *ctx);
/* Is the line a "key:..." line with this key (case-insensitive)? */
int tf_key_is(char const *line, size_t len, char const *key);
/* Has confdir/name a "key:..." line with this key (case-insensitive)? */
int tf_has_key(char const *name, char const *key);
/* Is the line, blanks trimmed, this word (case-insensitive)? */
int tf_line_is(char const *line, size_t len, char const *word);
/* What follows the first ':' of the line, blanks trimmed. */
char const *tf_after_key(char const *line, size_t len, size_t *rlen);

/* addr.c: validation. Every name that becomes a path or a file entry passes here. */
/* Lowercase a domain into sa (NUL-terminated); 0 if it is not a valid DNS name. */
int addr_domain(stralloc *sa, char const *s);
/* Lowercase an address local@domain into sa (NUL-terminated); 0 if invalid. The local
 * part is restricted to what is safe as a directory name (no '/', no leading '.'). */
int addr_address(stralloc *sa, char const *s);
/* An alias target: a valid address (any domain). Same as addr_address. */
#define addr_target addr_address
/* A password label: [a-z0-9._-], 1..32 octets, not starting with '.'. */
int addr_label(char const *s);

/* owner.c: the instance's owner. */
/* Parse "uid:gid" (numeric) or a user name (looked up in /etc/passwd). */
int owner_parse(char const *s, uid_t *uid, gid_t *gid);
/* The instance's owner from confdir/owner. Dies if absent or bad. */
void owner_get(uid_t *uid, gid_t *gid);

/* password.c */
/* Hash pass with crypt(3), yescrypt ($y$) and a fresh random salt, into sa
 * (NUL-terminated). Dies on error. */
void password_hash(stralloc *sa, char const *pass);
/* The same for a random app password: SHA-256 crypt ($5$), 1000 rounds. */
void password_hash_app(stralloc *sa, char const *pass);
/* Get a new password: from opt if not NULL, else one line of stdin if it is not a
 * terminal, else prompted twice on the terminal without echo. Into sa, NUL-terminated.
 * Dies if empty, has a ':' or newline, or longer than 256. */
void password_get(stralloc *sa, char const *opt);
/* A random app password, e.g. "abcd-efgh-jkmn-pqrs", into sa (NUL-terminated). */
void password_random(stralloc *sa);

/* maildir_make.c */
/* Create the Maildir dir (and its missing parents) with tmp/new/cur and the
 * special-use Maildir++ folders, owned by uid:gid when run as root. Dies on error. */
void maildir_make(char const *dir, uid_t uid, gid_t gid);
/* mkdir -p dir, each created directory with mode and (as root) owner uid:gid; the
 * parent of each created directory is fsynced. Dies on error. */
void mkdir_p(char const *dir, unsigned int mode, uid_t uid, gid_t gid);

/* system.c: the least-privilege layout of pochta init --system (pochta(8)). */
/* Make the accounts and groups that are missing (useradd, groupadd, usermod). */
void system_accounts(void);
/* uid:gid of one of them, or the gid of a group; die if missing. */
void system_ids(char const *name, uid_t *uid, gid_t *gid);
gid_t system_gid(char const *name);
/* Owners and modes of the instance's files and directories (the mail root for
 * the Maildir owner muid:mgid), and of the two privileged programs installed
 * beside this one. */
void system_modes(char const *conf, char const *queue, char const *mail, char const *state, uid_t muid, gid_t mgid);

/* cmd_alias.c: warn (stderr) about the aliases and catch-alls that name addr. */
void alias_warn_naming(char const *addr);

int cmd_dkim(int argc, char const *const *argv);
int cmd_dns(int argc, char const *const *argv);
int cmd_check(int argc, char const *const *argv);

/* cmd_dkim.c: the keys under confdir/dkim/<domain>/ (see pochta-config(5)). */
/* For each <selector>.key of domain, sorted: fn(domain, dir, selector, ctx).
 * 0 if the domain has no key directory. */
typedef void keyfn(char const *domain, char const *dir, char const *sel, void *ctx);
int dkim_each_key(char const *domain, keyfn *fn, void *ctx);
/* Print the DKIM TXT record of each key of domain as zone lines on stdout. */
void dkim_print_records(char const *domain);

/* cmd_dns.c: the addresses the MX name should have: --ip4/--ip6 given, else this
 * host's global addresses. Fills up to max; returns how many. */
#include <sys/socket.h>
struct hostaddr { int family; unsigned char ip[16]; };
unsigned host_addrs(struct hostaddr *a, unsigned max, char const *ip4, char const *ip6);

/* cmd_domain.c: is d (lowercase) in the domains file? */
int domain_is_local(char const *d);

/* compile.c: text files -> users.cdb (atomic). Dies on error. Prints warnings. */
void compile(void);
/* Warn about a domain without postmaster (pochta compile sets it; a domain just
 * added has no user yet, which is no news). */
extern int compile_verbose;

#endif
