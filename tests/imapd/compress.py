#!/usr/bin/env python3
"""COMPRESS=DEFLATE (RFC 4978) scenarios for pochta-imapd, over a raw socket with
Python's zlib doing the raw deflate on the client side.

usage: compress.py NAME PORT   (exit 0 = pass; a failed check raises)
MD names alice's Maildir.
"""
import os, socket, sys, time, zlib

PORT = 0
MD = os.environ.get('MD', '')


class Z:
    """A session that turns compression on after LOGIN."""
    def __init__(self, port, login=True):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.s.settimeout(15)
        self.buf = b''
        self.z = False
        self.n = 0
        assert self.line().startswith(b'* OK')
        if login:
            out, t = self.cmd('LOGIN alice@example.test secret')
            assert t.startswith(b'OK'), t
            assert b'COMPRESS=DEFLATE' in t, t

    def start(self):
        out, t = self.cmd('COMPRESS DEFLATE')
        assert t.startswith(b'OK'), (out, t)
        self.co = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.de = zlib.decompressobj(-15)
        assert not self.buf, self.buf   # nothing may follow the OK uncompressed
        self.z = True

    def send(self, b):
        if self.z:
            b = self.co.compress(b) + self.co.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(b)

    def raw(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError(self.buf)
        return self.de.decompress(d) if self.z else d

    def line(self):
        while b'\r\n' not in self.buf:
            self.buf += self.raw()
        l, self.buf = self.buf.split(b'\r\n', 1)
        return l

    def take(self, n):
        while len(self.buf) < n:
            self.buf += self.raw()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def cmd(self, text, literal=None):
        self.n += 1
        tag = b'z%d' % self.n
        data = tag + b' ' + text.encode()
        if literal is not None:
            data += b' {%d+}\r\n' % len(literal) + literal
        self.send(data + b'\r\n')
        out = []
        while True:
            l = self.line()
            if l.startswith(tag + b' '):
                return out, l[len(tag) + 1:]
            if l.endswith(b'}') and b'{' in l:
                n = int(l[l.rindex(b'{') + 1:-1])
                l = l + b'\r\n' + self.take(n)
            out.append(l)

    def ok(self, text, literal=None):
        out, t = self.cmd(text, literal)
        assert t.startswith(b'OK'), (text, out, t)
        return out, t


def s_basic(port):
    c = Z(port)
    c.start()
    c.ok('SELECT INBOX')
    # a message of 1 MiB that compresses well, and one that does not
    big = b'Subject: big\r\n\r\n' + b'line of text that repeats\r\n' * 40000
    rnd = b'Subject: random\r\n\r\n' + os.urandom(300000).hex().encode() + b'\r\n'
    c.ok('APPEND INBOX', big)
    c.ok('APPEND INBOX', rnd)
    out, _ = c.ok('FETCH 1:2 (BODY.PEEK[])')
    bodies = [l.split(b'\r\n', 1)[1] for l in out if b' FETCH ' in l]
    assert bodies == [big, rnd], [len(b) for b in bodies]
    # pipelined commands in one compressed write
    c.send(b'p1 NOOP\r\np2 SEARCH SUBJECT random\r\np3 NOOP\r\n')
    got = [c.line() for _ in range(4)]
    assert got == [b'p1 OK NOOP completed', b'* SEARCH 2', b'p2 OK SEARCH completed', b'p3 OK NOOP completed'], got
    out, t = c.cmd('LOGOUT')
    assert out == [b'* BYE Logging out'] and t.startswith(b'OK'), (out, t)


def s_idle(port):
    c = Z(port)
    c.start()
    c.ok('SELECT INBOX')
    c.send(b'i IDLE\r\n')
    assert c.line().startswith(b'+ '), 'no continuation'
    name = '%d.M1P1.test,S=20,W=21' % time.time()
    with open(MD + '/tmp/' + name, 'w') as f:
        f.write('Subject: d\n\ndelivered\n')
    os.rename(MD + '/tmp/' + name, MD + '/new/' + name)
    l = c.line()
    assert l == b'* 1 EXISTS', l
    c.send(b'DONE\r\n')
    while True:
        l = c.line()
        if l.startswith(b'i '):
            break
    assert l.startswith(b'i OK'), l
    c.ok('LOGOUT')


def s_errors(port):
    c = Z(port, login=False)
    _, t = c.cmd('COMPRESS DEFLATE')
    assert t.startswith(b'BAD'), t          # not before login
    c.ok('LOGIN alice@example.test secret')
    for bad in ['COMPRESS', 'COMPRESS GZIP', 'COMPRESS DEFLATE x', 'COMPRESS "DEFLATE"']:
        _, t = c.cmd(bad)
        assert t.startswith(b'BAD'), (bad, t)
    c.start()
    _, t = c.cmd('COMPRESS DEFLATE')
    assert t.startswith(b'NO [COMPRESSIONACTIVE]'), t
    c.ok('NOOP')
    c.ok('LOGOUT')


def closes(c):
    """The server hangs up (no crash to wait for, no half answer)."""
    try:
        while True:
            c.raw()
    except (EOFError, ConnectionResetError):
        return True
    except zlib.error:
        return True


def s_garbage(port):
    # bytes that are no deflate stream after COMPRESS: the session ends
    c = Z(port)
    c.start()
    c.ok('SELECT INBOX')
    c.s.sendall(b'\xff' * 64 + b'x NOOP\r\n')
    assert closes(c)
    # plain text where compressed is due (a client that did not switch)
    c = Z(port)
    c.start()
    c.s.sendall(b'x NOOP\r\n')
    assert closes(c)
    # the client ends its deflate stream: the session ends too
    c = Z(port)
    c.start()
    c.s.sendall(c.co.compress(b'x NOOP\r\n') + c.co.flush(zlib.Z_FINISH) + b'more')
    l = c.line()
    assert l == b'x OK NOOP completed', l
    assert closes(c)
    # a bomb: 50 MB of one line in a few kB: the line limit holds, the session goes on or ends
    c = Z(port)
    c.start()
    co = c.co
    chunk = co.compress(b'a' * (50 << 20)) + co.flush(zlib.Z_SYNC_FLUSH)
    assert len(chunk) < 200000
    c.s.sendall(chunk)
    c.send(b'\r\ny NOOP\r\n')
    try:
        got = [c.line() for _ in range(2)]
        assert got[-1] == b'y OK NOOP completed', got
    except (EOFError, ConnectionResetError):
        pass
    # and the server still serves
    d = Z(port)
    d.start()
    d.ok('NOOP')
    d.ok('LOGOUT')


SCEN = {k[2:]: v for k, v in globals().items() if k.startswith('s_')}

if __name__ == '__main__':
    name, port = sys.argv[1], int(sys.argv[2])
    SCEN[name](port)
    print('ok', name)
