#!/usr/bin/env python3
"""Open connections and report what each was told first (connection limits).

connhold.py PORT N [--src ADDR] [--hold SECONDS] [--login USER:PASS] [--pidfile F]
Opens N connections to 127.0.0.1:PORT (from ADDR if given), all at once, and
prints for each the first line the server sent ("<timeout>" when it said
nothing within --wait seconds, "<closed>" when it closed without a word).
With --hold, keeps the connections that were greeted open that long (or
until killed) after printing, flushing stdout first, so that a test can act
meanwhile. With --login, logs in on each greeted one: POP3 (USER/PASS) or
IMAP (LOGIN), by the greeting.
"""
import argparse, os, socket, sys, time

p = argparse.ArgumentParser()
p.add_argument('port', type=int)
p.add_argument('n', type=int)
p.add_argument('--src', default='')
p.add_argument('--hold', type=float, default=0)
p.add_argument('--wait', type=float, default=10)
p.add_argument('--login')
a = p.parse_args()

socks = []
for i in range(a.n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if a.src:
        s.bind((a.src, 0))
    s.settimeout(a.wait)
    s.connect(('127.0.0.1', a.port))
    socks.append(s)

def line(s):
    b = b''
    try:
        while not b.endswith(b'\n'):
            d = s.recv(1)
            if not d:
                return b.decode('utf-8', 'replace').strip() or '<closed>'
            b += d
    except socket.timeout:
        return '<timeout>'
    except ConnectionResetError:
        return '<reset>'
    return b.decode('utf-8', 'replace').strip()

greeted = []
for s in socks:
    l = line(s)
    if l.startswith('+OK') and a.login:
        u, pw = a.login.split(':', 1)
        s.sendall(('USER %s\r\nPASS %s\r\n' % (u, pw)).encode())
        line(s)
        l = l + ' | ' + line(s)
    elif l.startswith('* OK') and a.login:
        u, pw = a.login.split(':', 1)
        s.sendall(('a LOGIN %s %s\r\n' % (u, pw)).encode())
        l = l + ' | ' + line(s)
    print(l)
    if l.startswith('220') or l.startswith('+OK') or l.startswith('* OK'):
        greeted.append(s)
sys.stdout.flush()
if a.hold:
    time.sleep(a.hold)
