#!/usr/bin/env python3
"""A scriptable SMTP peer for pochta-remote's tests (loopback only).

Prints the port it bound on stdout, then serves connections one after the
other. Every command and the DATA content go to --log, so tests can assert
what the client sent. Replies are chosen by options; --raw-* options send
octets exactly as given (Python escapes) to test hostile replies.
"""
import argparse, os, socket, ssl, sys, time

p = argparse.ArgumentParser()
p.add_argument('--log', required=True)
p.add_argument('--greeting', default='220 fake.test ESMTP')
p.add_argument('--raw-greeting', help='octets sent instead of the greeting')
p.add_argument('--ext', default='PIPELINING,SIZE 10000000,8BITMIME,SMTPUTF8',
               help='EHLO extensions, comma separated')
p.add_argument('--no-ehlo', action='store_true', help='answer EHLO with 502')
p.add_argument('--raw-ehlo', help='octets sent as the EHLO reply')
p.add_argument('--mail', default='250 2.1.0 ok')
p.add_argument('--rcpt', action='append', default=[], help='ADDR=REPLY')
p.add_argument('--data', default='354 go ahead')
p.add_argument('--dot', default='250 2.0.0 queued')
p.add_argument('--raw-dot', help='octets sent as the final-dot reply')
p.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
p.add_argument('--sleep', action='append', default=[], help='STAGE=SECS (greeting, mail, rcpt, data, after354, dot)')
p.add_argument('--close-at', help='stage at which to drop the connection (greeting, mail, rcpt, data, after354, dot)')
p.add_argument('--auth', help='USER:PASS accepted by AUTH PLAIN/LOGIN')
p.add_argument('--max-conn', type=int, default=0)
p.add_argument('--bind', default='127.0.0.1:0', help='ADDR:PORT to listen on ([ADDR]:PORT for IPv6)')
a = p.parse_args()

rcpt_replies = dict(r.split('=', 1) for r in a.rcpt)
sleeps = {k: float(v) for k, v in (s.split('=', 1) for s in a.sleep)}
logf = open(a.log, 'a', buffering=1)

def esc(s):
    return s.encode('latin-1').decode('unicode_escape').encode('latin-1')

class Peer:
    def __init__(self, sock):
        self.s = sock
        self.buf = b''
    def send(self, b):
        self.s.sendall(b)
    def reply(self, text):
        self.send(text.encode('utf-8') + b'\r\n')
    def line(self):
        while b'\n' not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b'\n', 1)
        return l.rstrip(b'\r')

def stage(name, peer):
    if name in sleeps:
        time.sleep(sleeps[name])
    if a.close_at == name:
        raise EOFError

def serve(conn):
    peer = Peer(conn)
    stage('greeting', peer)
    if a.raw_greeting is not None:
        peer.send(esc(a.raw_greeting))
    else:
        peer.reply(a.greeting)
    tls = False
    while True:
        l = peer.line()
        logf.write('C: ' + l.decode('utf-8', 'replace') + '\n')
        u = l.upper()
        if u.startswith(b'EHLO'):
            if a.raw_ehlo is not None:
                peer.send(esc(a.raw_ehlo)); continue
            if a.no_ehlo:
                peer.reply('502 5.5.1 no EHLO here'); continue
            exts = [e for e in a.ext.split(',') if e]
            if a.tls and not tls:
                exts.append('STARTTLS')
            if a.auth:
                exts.append('AUTH PLAIN LOGIN')
            lines = ['fake.test'] + exts
            for i, e in enumerate(lines):
                peer.reply('250%s%s' % ('-' if i < len(lines) - 1 else ' ', e))
        elif u.startswith(b'HELO'):
            peer.reply('250 fake.test')
        elif u == b'STARTTLS' and a.tls and not tls:
            peer.reply('220 2.0.0 go')
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.tls[0], a.tls[1])
            peer.s = ctx.wrap_socket(peer.s, server_side=True)
            peer.buf = b''
            tls = True
            logf.write('TLS: %s %s\n' % (peer.s.version(), peer.s.cipher()[0]))
        elif u.startswith(b'AUTH'):
            import base64
            parts = l.split()
            if parts[1].upper() == b'PLAIN':
                creds = base64.b64decode(parts[2]).split(b'\0')
                ok = a.auth.encode() == creds[1] + b':' + creds[2]
            else:
                peer.reply('334 VXNlcm5hbWU6')
                user = base64.b64decode(peer.line())
                peer.reply('334 UGFzc3dvcmQ6')
                pw = base64.b64decode(peer.line())
                ok = a.auth.encode() == user + b':' + pw
            logf.write('AUTH: %s\n' % ('ok' if ok else 'bad'))
            peer.reply('235 2.7.0 ok' if ok else '535 5.7.8 bad credentials')
        elif u.startswith(b'MAIL'):
            stage('mail', peer)
            peer.reply(a.mail)
        elif u.startswith(b'RCPT'):
            stage('rcpt', peer)
            addr = l[l.index(b'<') + 1:l.rindex(b'>')].decode('utf-8', 'replace')
            peer.reply(rcpt_replies.get(addr, '250 2.1.5 ok'))
        elif u == b'DATA':
            stage('data', peer)
            peer.reply(a.data)
            if not a.data.startswith('354'):
                continue
            stage('after354', peer)
            n = 0
            while True:
                d = peer.line()
                if d == b'.':
                    break
                logf.write('D: ' + d.decode('utf-8', 'replace') + '\n')
                n += 1
            logf.write('END DATA %d\n' % n)
            stage('dot', peer)
            if a.raw_dot is not None:
                peer.send(esc(a.raw_dot))
            else:
                peer.reply(a.dot)
        elif u == b'RSET':
            peer.reply('250 ok')
        elif u == b'QUIT':
            peer.reply('221 bye')
            return
        else:
            peer.reply('500 5.5.2 what')

host, port = a.bind.rsplit(':', 1)
host = host.strip('[]')   # [fd77::2]:25 for IPv6
srv = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, int(port)))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
n = 0
while True:
    c, _ = srv.accept()
    logf.write('CONNECT\n')
    try:
        serve(c)
    except (EOFError, ConnectionError, ssl.SSLError, OSError) as e:
        logf.write('DROP %s\n' % type(e).__name__)
    finally:
        c.close()
    n += 1
    if a.max_conn and n >= a.max_conn:
        break
