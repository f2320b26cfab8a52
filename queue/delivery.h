/* One local delivery as pochta-send's delivery worker makes it (worker.c): the
 * request's fields, the recipient's Maildir from users.cdb, spam filing, and the
 * delivery itself (lib/deliver.c) in the calling process. Shared by the worker's
 * long-lived delivery processes and by the child it forks when the admin names a
 * delivery program of their own (POCHTA_DELIVER). */
#ifndef POCHTA_DELIVERY_H
#define POCHTA_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include "deliver.h"
#include "users.h"

/* A request: 'D' u32 id, u32 timeout, key\0 sender\0 rcpt\0 (worker.c). */
typedef struct delivery_req_s delivery_req;
struct delivery_req_s { uint32_t id, timeout; char const *key, *sender, *rcpt; };

/* Parse the n octets at buf (pointers into buf). 1 ok, 0 malformed. */
int delivery_parse(delivery_req *q, char const *buf, size_t n);

/* Room for the header field spam filing adds (o->header points there). */
#define DELIVERY_HEADER_MAX 48

/* Where the message goes: the recipient's Maildir (looked up in u, kept open and
 * opened again when users.cdb changed: users_reopen) or its Junk folder (*dir, which
 * points into md or junk), and what deliver_run needs to know of spam filing (o,
 * whose header points into header). Log lines go to logfd. -1 go on, else the
 * exit code of a delivery that cannot be made, its line in line. */
int delivery_prepare(int logfd, int msgfd, delivery_req const *q, users *u, stralloc *md, stralloc *junk,
                     deliver_opt *o, char header[DELIVERY_HEADER_MAX], char const **dir,
                     char *line, size_t linecap);

/* The whole delivery in this process: an exit code as pochta-deliver's, the line
 * in line (empty when nothing to say). */
int delivery_here(int logfd, int msgfd, delivery_req const *q, users *u, char *line, size_t linecap);

#endif
