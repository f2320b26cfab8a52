#!/usr/bin/env python3
"""pochta-imapd against clients that would hold it or burn its CPU: wildcard
patterns, clients that stop reading or trickle, deflate bombs, password
guessing, planted links (issue 10: 2, 3, 8, 12; issue 11: 4).

usage: limits.py NAME PORT MAILDIR [ARGS...]   (exit 0 = pass; a failed check raises)
The instance's pochta-imapd runs with -t 2 -T 2 where a scenario says so.
"""
import os, socket, sys, time, zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from concur import main   # noqa: E402

HOST = '127.0.0.1'
USER = b'alice@example.test'


def connect(port, timeout=10):
    s = socket.create_connection((HOST, port), timeout=timeout)
    f = s.makefile('rb')
    assert f.readline().startswith(b'* OK')
    return s, f


def until(f, tag):
    out = []
    while True:
        l = f.readline()
        assert l, ('closed', out[-3:])
        out.append(l)
        if l.startswith(tag + b' '):
            return out


def login(port, timeout=10):
    s, f = connect(port, timeout)
    s.sendall(b'L LOGIN ' + USER + b' secret\r\n')
    assert until(f, b'L')[-1].startswith(b'L OK'), 'login'
    return s, f


def closed_within(s, f, secs):
    """Read (and drop) until the server closes: the seconds it took, or None."""
    t0 = time.time()
    s.settimeout(0.5)
    while time.time() - t0 < secs:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - t0
        if not d:
            return time.time() - t0
    return None


def s_list_wildcards(port, md):
    """Issue 10, 2: LIST patterns cost at most pattern x name, however many
    wildcards: 300 '*', or '%' and a letter 200 times, answer at once."""
    s, f = login(port)
    names = [b'a' * 40, b'a' * 20 + b'.' + b'a' * 19, b'b.' + b'a' * 30]
    for i, n in enumerate(names):
        s.sendall(b'C%d CREATE %s\r\n' % (i, n))
        until(f, b'C%d' % i)
    t0 = time.time()
    s.sendall(b'X1 LIST "" "' + b'*' * 300 + b'x"\r\n')
    out = until(f, b'X1')
    assert out == [b'X1 OK LIST completed\r\n'], out
    s.sendall(b'X2 LIST "" "' + b'%a' * 200 + b'b"\r\n')
    out = until(f, b'X2')
    assert out[-1].startswith(b'X2 OK'), out
    s.sendall(b'X3 LIST "" "*' + b'a*' * 30 + b'"\r\n')
    out = until(f, b'X3')
    assert sum(1 for l in out if l.startswith(b'* LIST')) == 3, out
    print('three pathological LISTs: %.3f s' % (time.time() - t0))   # a figure, not asserted
    # patterns made of more letters than any name match nothing, fast
    s.sendall(b'X4 LIST "" "' + b'a*' * 3000 + b'"\r\n')
    out = until(f, b'X4')
    assert out == [b'X4 OK LIST completed\r\n'], out
    s.close()


def s_slow_reader(port, md, phase):
    """Issue 10, 3: a client that stops reading is dropped within the idle
    timeout (the instance runs -t 2 -T 2), before and after login."""
    if phase == 'pre':
        s, f = connect(port)
    else:
        s, f = login(port)
        body = (b'y' * 999 + b'\r\n') * 4000
        s.sendall(b'A APPEND INBOX {%d+}\r\n' % (len(body) + 20) + b'Subject: big\r\n\r\n' + b'x' * 4 + body + b'\r\n')
        until(f, b'A')
        s.sendall(b'S SELECT INBOX\r\n')
        until(f, b'S')
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    cmd = b'a CAPABILITY\r\n' if phase == 'pre' else b'f FETCH 1 BODY.PEEK[]\r\n'
    s.settimeout(20)
    t0 = time.time()
    # ask for far more than the socket buffers hold, then read nothing
    try:
        for _ in range(200):
            s.sendall(cmd * 200)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    time.sleep(6)
    print('client stopped reading for %.1f s' % (time.time() - t0))
    s.close()


def s_trickle(port, md, phase):
    """Issue 11, 4: a command trickling in byte by byte is closed on its
    deadline (-t 2 -T 2: two seconds for a command), before and after login;
    a client sending at a normal pace is not."""
    if phase == 'pre':
        s, f = connect(port)
        cmd = b'a LOGIN ' + USER + b' secret-but-slowly-typed-password\r\n'
    else:
        s, f = login(port)
        cmd = b'a SEARCH TEXT "a rather long search string that dribbles in"\r\n'
    t0 = time.time()
    for c in cmd:
        try:
            s.sendall(bytes([c]))
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.3)
        if time.time() - t0 > 10:
            break
    took = closed_within(s, f, 15 - (time.time() - t0))
    assert took is not None, 'never closed'
    total = time.time() - t0
    assert total < len(cmd) * 0.3, (total, len(cmd))
    print('closed after %.1f s of a %d-octet command at 3 octets/s' % (total, len(cmd)))
    # one that idles between commands but sends each at once is served
    s, f = login(port)
    for i in range(3):
        time.sleep(1.2)
        s.sendall(b'n%d NOOP\r\n' % i)
        assert until(f, b'n%d' % i)[-1].startswith(b'n%d OK' % i)
    s.close()


def s_append_rate(port, md):
    """Issue 11, 4: an APPEND literal must arrive at IO_MIN_RATE (1000 octets
    a second) after the grace: one byte every half second is closed, nothing
    is stored, and another session is served meanwhile."""
    before = sum(len(os.listdir(os.path.join(md, d))) for d in ('cur', 'new'))
    s, f = login(port)
    s.sendall(b'A APPEND INBOX {4000}\r\n')
    assert f.readline().startswith(b'+')
    t0 = time.time()
    other = None
    sent = 0
    while time.time() - t0 < 20:
        try:
            s.sendall(b'x')
            sent += 1
        except (BrokenPipeError, ConnectionResetError):
            break
        if other is None and time.time() - t0 > 1:
            o, of = login(port)
            o.sendall(b'z NOOP\r\n')
            assert until(of, b'z')[-1].startswith(b'z OK')
            o.close()
            other = True
        s.settimeout(0.5)
        try:
            d = s.recv(4096)
            if not d or b'BYE' in d:
                break
        except socket.timeout:
            pass
    took = time.time() - t0
    assert took < 15, took
    assert sent < 4000
    after = sum(len(os.listdir(os.path.join(md, d))) for d in ('cur', 'new'))
    assert after == before, (before, after)
    assert not [n for n in os.listdir(os.path.join(md, 'tmp')) if not n.startswith('.')], os.listdir(os.path.join(md, 'tmp'))
    print('closed after %.1f s, %d of 4000 octets sent' % (took, sent))


def s_compress_bomb(port, md):
    """Issue 10, 8: under COMPRESS=DEFLATE, a stream that inflates far beyond
    what was sent ends the session instead of burning CPU."""
    s, f = login(port)
    s.sendall(b'c COMPRESS DEFLATE\r\n')
    assert until(f, b'c')[-1].startswith(b'c OK')
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b'x' * (1 << 20)
    t0 = time.time()
    sent = 0
    try:
        # a line of 256 MiB would cost the server seconds of inflating
        s.sendall(z.compress(b'a NOOP '))
        for _ in range(256):
            d = z.compress(chunk)
            s.sendall(d)
            sent += len(d)
        s.sendall(z.flush(zlib.Z_SYNC_FLUSH) + z.compress(b'\r\n') + z.flush(zlib.Z_SYNC_FLUSH))
    except (BrokenPipeError, ConnectionResetError):
        pass
    took = closed_within(s, f, 20)
    assert took is not None, 'still open'
    print('closed after %.2f s, %d octets sent compressed' % (time.time() - t0, sent))


def s_login_limit(port, md):
    """Issue 10, 12: three failed logins on one connection, then BYE; the
    right password is no longer tried."""
    s, f = connect(port)
    for i in range(2):
        s.sendall(b'l%d LOGIN ' % i + USER + b' wrong\r\n')
        out = until(f, b'l%d' % i)
        assert b'NO [AUTHENTICATIONFAILED]' in out[-1], out
    s.sendall(b'l2 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==\r\nl3 LOGIN ' + USER + b' secret\r\n')
    rest = b''
    s.settimeout(10)
    while True:
        d = s.recv(4096)
        if not d:
            break
        rest += d
    assert b'* BYE Too many failed login attempts' in rest, rest
    assert b'l3 OK' not in rest, rest


def s_planted_link(port, md, secret):
    """Issue 10, 12: a symbolic link (or FIFO) planted as a message file is
    never followed (O_NOFOLLOW, regular files only): FETCH gives nothing of
    its target and does not hang."""
    os.symlink(secret, os.path.join(md, 'cur', '1700000000.M1P1.planted:2,S'))
    os.mkfifo(os.path.join(md, 'cur', '1700000001.M1P1.fifo:2,S'))
    s, f = login(port)
    s.sendall(b'S SELECT INBOX\r\n')
    until(f, b'S')
    s.sendall(b'F FETCH 1:* (BODY.PEEK[] RFC822.SIZE)\r\n')
    out = b''.join(until(f, b'F'))
    assert b'TOP SECRET' not in out, out
    s.sendall(b'G SEARCH TEXT SECRET\r\n')
    out = b''.join(until(f, b'G'))
    assert b'* SEARCH\r\n' in out, out
    s.close()


if __name__ == '__main__':
    main(globals())
