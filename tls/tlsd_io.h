/* tlsd_io: drive a BearSSL engine over file descriptors with poll(2).
 * The engine's state (br_ssl_engine_current_state) says what it wants next:
 * records to send, records to receive, application data to give or take. */
#ifndef POCHTA_TLSD_IO_H
#define POCHTA_TLSD_IO_H

#include <bearssl.h>

/* Run the handshake on the socket (net_in, net_out) until application data can
 * flow, for at most timeout_ms. 0 done; -1 failed: *why is a static reason
 * ("timeout", "eof", "BR_ERR_...", "read: ..."). On failure a pending alert is sent
 * when the socket takes it at once. */
int tlsd_handshake(br_ssl_engine_context *eng, int net_in, int net_out,
                   unsigned int timeout_ms, char const **why);

/* Relay until the session ends: records between the socket and the engine,
 * plaintext between the engine and the daemon (app_out: it reads; app_in: it writes).
 * EOF from the daemon sends close_notify; close_notify or EOF from the peer closes
 * app_out so that the daemon sees EOF. Records for the peer must be taken whole
 * within write_ms of being ready (0: no limit), else the session ends ("write
 * timeout"). Closes app_in and app_out, half-closes the socket for writing.
 * 0 clean end; -1 abnormal end (*why set). */
int tlsd_relay(br_ssl_engine_context *eng, int net_in, int net_out,
               int app_in, int app_out, unsigned int write_ms, char const **why);

#endif
