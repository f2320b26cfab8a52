/* What a login daemon (pochta-imapd, pochta-pop3d) checks before it reads a byte
 * from the network: it must not be root, since before a login it may read no
 * mailbox (DESIGN.md invariant 5). The one exception is a test instance whose
 * Maildir owner is root: there everything is root. */
#ifndef POCHTA_PRELOGIN_H
#define POCHTA_PRELOGIN_H

/* 1 ok to serve, 0 refuse: root, and $POCHTA_CONF/owner is not 0:0 (or cannot be
 * read). *why says what to log. */
int prelogin_ok(char const **why);

#endif
