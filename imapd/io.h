/* pochta-imapd: client I/O. One input and one output descriptor (fd 0/1, or the
 * UCSPI-TLS descriptors after STARTTLS), bounded buffers, deadlines. */
#ifndef IMAPD_IO_H
#define IMAPD_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>

/* The output buffer (writes go to io_outfd). */
extern buffer io_out;

extern int io_infd, io_outfd;

/* Bytes buffered from the client and not yet consumed. */
size_t io_pending(void);
char const *io_pending_data(void);
/* Throw away everything buffered (STARTTLS: never execute pipelined input). */
void io_discard(void);
/* Put bytes back in front of the input buffer (post-login: what the pre-login
 * process had read ahead). 0 if they do not fit. */
int io_unread(char const *s, size_t n);

/* Read one line (without CR LF) into sa, at most max octets.
 * 1 line read, 0 EOF, -1 line too long (sa holds its first max octets, the
 * rest was discarded), -2 timeout or read error. */
int io_getline(stralloc *sa, size_t max);
/* Read exactly n octets and append them to sa. 1 ok, 0 EOF, -2 timeout/error. */
int io_getn(stralloc *sa, size_t n);
/* Read exactly n octets and write them to fd, turning CR LF into LF when
 * crlf. 1 ok, 0 EOF, -2 timeout/error, -3 write error. */
int io_copy_to_fd(int fd, size_t n, int crlf);
/* Read and drop n octets. */
int io_skip(size_t n);

/* Wait until the client sent something or fd `ev` (may be -1) is readable, at most
 * ms milliseconds. 1 client input, 2 ev readable, 0 timeout, -1 error/hangup. */
int io_wait(int ev, int ms);
/* The same with two descriptors: 2 ev readable, 3 ev2 readable. */
int io_wait2(int ev, int ev2, int ms);

void io_put(char const *s, size_t n);
void io_puts(char const *s);
void io_putu(unsigned long long u);
/* An IMAP string: quoted if it can be, a literal otherwise; NIL for NULL. */
void io_putstr(char const *s, size_t n);
int io_flush(void);

/* Read timeout in seconds (changed after login): the longest wait between
 * commands, and for a client to take output. */
extern unsigned io_timeout;
/* A read or write failed because a deadline passed (for the log). */
extern int io_timed_out;

/* Deadlines of one command (issue 11): io_cmd_begin before it is read; from
 * its first octets the whole of it must arrive within IO_CMD_GRACE seconds,
 * plus the time each literal announced (io_cmd_literal) takes at IO_MIN_RATE
 * octets per second; io_cmd_end when it has (its answer has none but the
 * writes' own). A client trickling a command byte by byte is closed. */
#define IO_CMD_GRACE 60
#define IO_MIN_RATE 1000
void io_cmd_begin(void);
void io_cmd_literal(uint64_t octets);
void io_cmd_end(void);

/* Make an output descriptor non-blocking: writes then wait in poll, at most
 * io_timeout for a client that takes nothing. 0 ok, -1 error. */
int io_set_nonblock(int fd);
/* Write all of s to fd that way. 0 ok, -1 error or timeout. */
int io_write_all(int fd, char const *s, size_t n);
/* Writing to the client failed: a long command may stop, nobody reads it. */
int io_abandoned(void);



/* The output buffer with its descriptor set, for writers that take a buffer. */
buffer *io_outbuf(void);
/* Move the input not consumed yet to buf (at most max octets): its number, or
 * -1 when it does not fit. */
int io_take_pending(char *buf, size_t max);

/* COMPRESS=DEFLATE (RFC 4978), compress.c. */
/* Ready the streams (0 ok, -1 no memory); then, after the tagged OK went out,
 * turn compression on for both directions. Input already buffered is taken as
 * compressed (the client sends nothing after COMPRESS before its OK). */
int io_compress_init(void);
int io_compress_start(void);
int io_compressing(void);
/* Inflate input already read into buf: octets produced, 0 none, -1 bad data. */
ssize_t io_inflate(char *buf, size_t len);
/* Literal octets announced: they do not count against the inflation budget. */
void io_compress_allow(uint64_t octets);
/* Read compressed input from fd: 1 read, 0 EOF, -2 error. */
int io_inflate_read(int fd);
#endif
