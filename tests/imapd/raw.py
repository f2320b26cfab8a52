#!/usr/bin/env python3
"""Send raw IMAP input and print every line the server answers.

usage: raw.py PORT [--login USER] [--select BOX] < input
The input is sent as it is (bytes, no line-end conversion), in one write unless it
holds lines starting with "#WAIT" (wait for the answer to the previous tag first).
Output: the server's lines, CR LF stripped, the greeting and login lines left out.
"""
import socket, sys, time

port = int(sys.argv[1])
args = sys.argv[2:]
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(10)
f = s.makefile('rb')
f.readline()  # greeting


def until(tag):
    out = []
    while True:
        line = f.readline()
        if not line:
            return out, False
        out.append(line)
        if line.startswith(tag + b' '):
            return out, True


while args:
    a = args.pop(0)
    if a == '--login':
        u = args.pop(0)
        s.sendall(b'L0 LOGIN ' + u.encode() + b' secret\r\n')
        until(b'L0')
    elif a == '--select':
        s.sendall(b'S0 SELECT ' + args.pop(0).encode() + b'\r\n')
        until(b'S0')

data = sys.stdin.buffer.read()
s.sendall(data)
try:
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
while True:
    try:
        line = f.readline()
    except (socket.timeout, ConnectionResetError):
        break
    if not line:
        break
    sys.stdout.write(line.decode('utf-8', 'replace').rstrip('\r\n') + '\n')
