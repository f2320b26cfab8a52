#!/usr/bin/env python3
"""Clients that hold a connection the slow way, for the deadline tests.

slowclient.py PORT MODE [options]
  trickle     send SEND (after PRE) one octet every --interval seconds
  slowread    send PRE, then read --chunk octets every --interval seconds
  noread      a small receive window; send PRE and never read

PRE and SEND are Python-escaped strings (\\r\\n). --tls wraps the socket in
TLS first (implicit TLS, certificate not checked). With --repeat N, PRE is
sent N times (pipelined commands whose replies fill the server's buffers).

Prints "closed after S s" (in trickle mode with "; last: " and the server's
last line) when the server ends the connection (EOF or reset) and exits 0; "still open after S s" and exit 1 when --max passes first. In
slowread and noread modes an end is only seen when the server resets the
connection or when what it sent was read, so tests look at the server's log
too. Only loopback.
"""
import argparse, socket, ssl, sys, time

p = argparse.ArgumentParser()
p.add_argument('port', type=int)
p.add_argument('mode', choices=['trickle', 'slowread', 'noread'])
p.add_argument('--pre', default='')
p.add_argument('--send', default='NOOP\\r\\n')
p.add_argument('--repeat', type=int, default=1)
p.add_argument('--interval', type=float, default=0.5)
p.add_argument('--chunk', type=int, default=1)
p.add_argument('--max', type=float, default=30)
p.add_argument('--tls', action='store_true')
p.add_argument('--rcvbuf', type=int, default=2048)
p.add_argument('--greeting', action='store_true', help='wait for one line from the server first')
a = p.parse_args()

def esc(s):
    return s.encode('latin-1').decode('unicode_escape').encode('latin-1')

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if a.mode == 'noread':
    # before connect, so that the window offered is small from the start
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
s.connect(('127.0.0.1', a.port))
if a.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)

got = b''   # what the server said (trickle mode): its last line is printed

def closed(t0):
    last = got.rstrip(b'\r\n').rsplit(b'\n', 1)[-1].decode('utf-8', 'replace').strip()
    print('closed after %.1f s' % (time.monotonic() - t0) + ('; last: ' + last if last else ''))
    sys.exit(0)

if a.greeting:
    buf = b''
    while b'\n' not in buf:
        d = s.recv(4096)
        if not d:
            closed(time.monotonic())
        buf += d

pre = esc(a.pre) * a.repeat
t0 = time.monotonic()
try:
    if a.mode == 'trickle':
        s.sendall(pre)
        s.settimeout(a.interval)
        data = esc(a.send)
        i = 0
        while time.monotonic() - t0 < a.max:
            try:
                d = s.recv(65536)
                if not d:
                    closed(t0)
                got = got[-4096:] + d
                continue
            except socket.timeout:
                pass
            s.sendall(data[i % len(data):i % len(data) + 1])
            i += 1
    else:
        s.setblocking(False)
        sent = 0
        while time.monotonic() - t0 < a.max:
            if sent < len(pre):
                try:
                    sent += s.send(pre[sent:sent + 65536])
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
            if a.mode == 'slowread':
                try:
                    d = s.recv(a.chunk)
                    if not d:
                        closed(t0)
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            time.sleep(a.interval)
except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
    closed(t0)
print('still open after %.1f s' % (time.monotonic() - t0))
sys.exit(1)
