/* Addresses out of RFC 5322 address-list header fields: To, Cc, Bcc for
 * pochta-sendmail -t; From and Sender for pochta-smtpd's submission check. */
#ifndef POCHTA_RFC822ADDR_H
#define POCHTA_RFC822ADDR_H

#include <stddef.h>
#include <skalibs/stralloc.h>

/* Append every address of the list s[0..len) (unfolded field body) to out as
 * NUL-terminated strings: the part inside <...> when there is one, else the
 * mailbox with comments and blanks removed. Groups ("name: a, b;") give their
 * members. Control octets inside an address come out as DEL (0x7f), so that an
 * address with a NUL is refused whole, not cut in two. Returns the number found,
 * or -1 on allocation failure. */
int rfc822_addrs(char const *s, size_t len, stralloc *out);

#endif
