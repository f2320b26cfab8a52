/* tlsclient: wrap a connected socket in TLS as a client (BearSSL), for pochta-remote.
 *
 * Plain libc + BearSSL only: no skalibs, no libowfat, so pochta-remote (which links
 * libowfat) can use it. Build: add $(O)/tls/libtlsclient.a to the program's
 * prerequisites and link with $(BEARSSL), e.g. in remote/build.mk:
 *
 *   $(O)/bin/pochta-remote: $(call objs,remote/a.c remote/b.c) $(O)/tls/libtlsclient.a
 *   	$(call link,$(OWFAT) $(BEARSSL))
 *
 * Policy: TLS 1.2 only, ECDHE with AES-GCM or ChaCha20-Poly1305 only (as our server).
 * SNI is the server name given (the MX host name). The peer's chain is checked against
 * the trust anchors of a PEM bundle (default /etc/ssl/certs/ca-certificates.crt) and
 * against the server name. Opportunistic by default: a chain that does not verify
 * (unknown CA, self-signed, expired, wrong name) does not stop the handshake; the
 * caller asks tlsclient_verified() afterwards. With TLSC_REQUIRE_VERIFY (smarthost)
 * such a chain makes the handshake fail.
 *
 * One session per connection; at most TLSC_MAXFD sessions registered at once for the
 * fd-based I/O functions (tlsclient_fdread/fdwrite) that libowfat buffers can use.
 * Every function sets errno on failure; tlsclient_error() gives a short reason. */
#ifndef POCHTA_TLSCLIENT_H
#define POCHTA_TLSCLIENT_H

#include <stddef.h>
#include <sys/types.h>

#define TLSC_CAFILE_DEFAULT "/etc/ssl/certs/ca-certificates.crt"
#define TLSC_MAXFD 8

/* flags for tlsclient_start */
#define TLSC_REQUIRE_VERIFY 1 /* fail the handshake unless the chain verifies */

typedef struct tlsclient tlsclient;

/* Do a TLS handshake on the connected socket fd (already past the SMTP STARTTLS
 * "220"). servername: SNI and name to verify (an MX host name); an IPv4 or IPv6
 * address in text form (a smarthost given as [192.0.2.1]) sends no SNI and
 * verifies only when the certificate names that address in an iPAddress
 * subjectAltName; NULL or "" sends no SNI and can never verify. cafile: PEM bundle of trust anchors, NULL for the
 * default; an unreadable bundle counts as "nothing verifies" (and so fails only
 * with TLSC_REQUIRE_VERIFY). timeout_ms: for the whole handshake (0: 60000).
 * Returns a session on success; NULL on failure (errno set; *why, if why is not NULL,
 * points to a static string: the reason, e.g. "handshake: BR_ERR_X509_NOT_TRUSTED").
 * The fd stays the caller's: tlsclient_free does not close it. */
tlsclient *tlsclient_start(int fd, char const *servername, char const *cafile,
                           unsigned int flags, unsigned int timeout_ms, char const **why);

/* After tlsclient_start: 1 if the peer's chain verified against the trust anchors
 * and matches servername, 0 if not. */
int tlsclient_verified(tlsclient const *t);
/* Why the chain did not verify ("ok" when it did), e.g. "BR_ERR_X509_NOT_TRUSTED". */
char const *tlsclient_verify_error(tlsclient const *t);
/* "TLSv1.2" and the OpenSSL name of the cipher suite, e.g. "ECDHE-RSA-AES128-GCM-SHA256". */
char const *tlsclient_protocol(tlsclient const *t);
char const *tlsclient_cipher(tlsclient const *t);
/* The last error on this session, a static string ("" if none). */
char const *tlsclient_error(tlsclient const *t);

/* Per-operation timeout for read/write in milliseconds (default 300000; 0 = none). */
void tlsclient_set_timeout(tlsclient *t, unsigned int timeout_ms);

/* Read decrypted data: >0 octets, 0 end of stream (close_notify or EOF), -1 error
 * (errno: ETIMEDOUT, EPROTO for a TLS failure, or the system's). */
ssize_t tlsclient_read(tlsclient *t, char *buf, size_t len);
/* Write all len octets and flush them to the network. len on success, -1 error. */
ssize_t tlsclient_write(tlsclient *t, char const *buf, size_t len);

/* The same, found by socket fd: signatures fit libowfat's buffer_init(op, fd, ...).
 * Work only for a session started and not yet freed; -1 EBADF otherwise. */
ssize_t tlsclient_fdread(int fd, char *buf, size_t len);
ssize_t tlsclient_fdwrite(int fd, char const *buf, size_t len);

/* Send close_notify (best effort, bounded by the timeout). 0 ok, -1 error. */
int tlsclient_close(tlsclient *t);
/* Forget the session and release its memory. Does not close the fd. NULL is fine. */
void tlsclient_free(tlsclient *t);

#endif
