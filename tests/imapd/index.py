#!/usr/bin/env python3
"""The folder index of pochta-imapd (pochta-index): used when current, rebuilt
when damaged or stale, kept current by the sessions' own changes, and what a
session holds in memory.

usage: index.py NAME PORT   (exit 0 = pass; a failed check raises)
MD names alice's Maildir.
"""
import os, re, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from condstore import Client, msg, fill  # noqa: E402

MD = os.environ.get('MD', '')
INDEX = os.path.join(MD, 'pochta-index')
HEAD = 184          # header octets (see imapd/index.c)
REC = 32            # one message record


def put_files(n, start=0):
    """n messages written straight into cur/, as another program would."""
    t = int(time.time()) - 100000
    for i in range(start, start + n):
        body = 'From: bob@example.test\nSubject: file %d\n\nbody %d\n' % (i, i)
        name = '%d.M%dP1.test,S=%d,W=%d:2,%s' % (t + i, i, len(body), len(body) + body.count('\n'),
                                                  'S' if i % 3 else '')
        with open(os.path.join(MD, 'cur', name), 'w') as f:
            f.write(body)


def state(c, extra=''):
    """Every message's UID and FLAGS (and MODSEQ with extra), as one list;
    without \\Recent, which is the session's own."""
    out, _ = c.ok('FETCH 1:* (UID FLAGS%s)' % extra)
    return sorted(re.sub(rb' ?\\Recent', b'', l).replace(b'( ', b'(') for l in out if b' FETCH ' in l)


def select(c, box='INBOX'):
    out, _ = c.ok('SELECT ' + box)
    n = [int(l.split()[1]) for l in out if l.endswith(b' EXISTS')]
    return n[0]


def ino():
    return os.stat(INDEX).st_ino


def s_warm(port):
    put_files(500)
    c = Client(port)
    assert select(c) == 500
    first = state(c)
    c.close()
    assert os.path.exists(INDEX)
    i0 = ino()
    # later opens map the index: it is not written again
    for _ in range(3):
        c = Client(port)
        assert select(c) == 500
        assert state(c) == first
        c.close()
    assert ino() == i0, 'the index was rewritten without a change'
    # a change by another program (a flag in a file name) is a change
    time.sleep(0.01)
    name = sorted(os.listdir(MD + '/cur'))[0]
    base = name.split(':')[0]
    os.rename(MD + '/cur/' + name, MD + '/cur/' + base + ':2,F')
    c = Client(port)
    select(c)
    now = state(c)
    c.close()
    assert now != first and any(b'\\Flagged' in l for l in now), now[:3]
    assert ino() != i0


def damage_cases(data):
    """(what, damaged bytes) for an index of at least two messages."""
    n = struct.unpack_from('<Q', data, 40)[0]
    assert n >= 2 and len(data) > HEAD + 2 * REC
    yield 'empty', b''
    yield 'garbage', os.urandom(len(data))
    yield 'short', data[:len(data) // 2]
    yield 'longer', data + b'x' * 100
    yield 'magic', b'X' + data[1:]
    swapped = bytearray(data)
    a, b = HEAD, HEAD + REC
    swapped[a:a + REC], swapped[b:b + REC] = data[b:b + REC], data[a:a + REC]
    yield 'order', bytes(swapped)
    far = bytearray(data)
    struct.pack_into('<I', far, HEAD + 12, 0x7ffffff0)
    yield 'name offset', bytes(far)
    flags = bytearray(data)
    struct.pack_into('<I', flags, HEAD + 4, 0x40 | 0x100)
    yield 'session flags', bytes(flags)
    unterminated = bytearray(data)
    unterminated[-1] = ord('x')
    yield 'names', bytes(unterminated)
    huge = bytearray(data)
    struct.pack_into('<Q', huge, 40, 0xffffffff)
    yield 'count', bytes(huge)


def s_damaged(port):
    put_files(40)
    c = Client(port)
    select(c)
    c.ok('STORE 2 +FLAGS (\\Answered)')
    c.ok('APPEND INBOX (\\Draft)', msg('appended'))
    select(c)
    want = state(c, ' MODSEQ')
    c.close()
    good = open(INDEX, 'rb').read()
    for what, bad in damage_cases(good):
        # (the folder's own files keep their stamps: only the index is wrong)
        with open(INDEX, 'wb') as f:
            f.write(bad)
        c = Client(port)
        assert select(c) == 41, what
        got = state(c, ' MODSEQ')
        c.close()
        assert got == want, (what, got[:2], want[:2])
        now = open(INDEX, 'rb').read()
        assert now[:8] == b'pochtaI1' and len(now) > HEAD, (what, len(now))


def s_published(port):
    """What sessions put into the index is what a scan finds."""
    put_files(200)
    a, b = Client(port), Client(port)
    select(a); select(b)
    a.ok('ENABLE CONDSTORE'); b.ok('ENABLE CONDSTORE')
    for i in range(30):
        a.ok('STORE %d +FLAGS (\\Seen $Work)' % (i + 1))
        b.ok('STORE %d -FLAGS (\\Seen)' % (i + 2))
        b.ok('APPEND INBOX', msg('published %d' % i))
        a.ok('NOOP')
    a.ok('STORE 5:9 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    b.ok('NOOP')
    sa, sb = state(a, ' MODSEQ'), state(b, ' MODSEQ')
    assert sa == sb, 'two sessions disagree'
    a.close(); b.close()
    c = Client(port)
    select(c)
    mapped = state(c, ' MODSEQ')
    c.close()
    os.unlink(INDEX)
    c = Client(port)
    select(c)
    scanned = state(c, ' MODSEQ')
    c.close()
    assert mapped == sa, 'the index differs from the sessions'
    assert scanned == mapped, [(x, y) for x, y in zip(mapped, scanned) if x != y][:3]


def s_same_tick(port):
    """A file renamed by another program right after a STORE (often in the same
    clock tick, which leaves the directory's time as it was) still shows."""
    put_files(50)
    c, d = Client(port), Client(port)
    select(c); select(d)
    files = sorted(os.listdir(MD + '/cur'))
    for i in range(20):
        c.ok('STORE 1 %sFLAGS (\\Flagged)' % '+-'[i % 2])
        cur = [f for f in os.listdir(MD + '/cur') if f.startswith(files[10].split(':')[0])][0]
        want = 'R' if i % 2 == 0 else ''
        os.rename(MD + '/cur/' + cur, MD + '/cur/' + cur.split(':')[0] + ':2,' + want)
        time.sleep(0.01)
        for s in (c, d):
            s.ok('NOOP')
            out, _ = s.ok('FETCH 11 (FLAGS)')
            has = b'\\Answered' in out[-1]
            assert has == (want == 'R'), (i, out)
    c.close(); d.close()


def s_stress(port):
    """Four sessions storing, appending and expunging, deliveries into new/ and
    another program renaming files, all at once for a few seconds: then the
    index a new session maps equals a full scan, and holds every file."""
    import random, threading
    put_files(300)
    stop = time.time() + 4
    errors = []

    def imap_worker(k):
        try:
            r = random.Random(k)
            c = Client(port)
            select(c)
            while time.time() < stop:
                out, _ = c.ok('NOOP')
                n = select(c) if r.random() < 0.1 else None
                op = r.random()
                if op < 0.5:
                    c.cmd('STORE %d %sFLAGS (%s)' % (r.randint(1, 250), r.choice('+-'),
                                                     r.choice(['\\Seen', '\\Flagged', '$Work', '\\Answered'])))
                elif op < 0.8:
                    c.ok('APPEND INBOX', msg('stress %d' % k))
                elif op < 0.9:
                    c.cmd('STORE %d +FLAGS (\\Deleted)' % r.randint(1, 250))
                    c.ok('EXPUNGE')
                else:
                    c.ok('SEARCH UNSEEN')
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def deliverer():
        i = 0
        while time.time() < stop:
            name = '%d.M%dP2.deliver,S=20,W=21' % (time.time(), i)
            with open(MD + '/tmp/' + name, 'w') as f:
                f.write('Subject: d\n\ndelivered\n')
            os.rename(MD + '/tmp/' + name, MD + '/new/' + name)
            i += 1
            time.sleep(0.02)

    def renamer():
        r = random.Random(99)
        while time.time() < stop:
            try:
                f = r.choice(os.listdir(MD + '/cur'))
                os.rename(MD + '/cur/' + f, MD + '/cur/' + f.split(':')[0] + ':2,' + r.choice(['', 'S', 'FS', 'R']))
            except (OSError, IndexError):
                pass
            time.sleep(0.003)

    ts = [threading.Thread(target=imap_worker, args=(k,)) for k in range(4)]
    ts += [threading.Thread(target=deliverer), threading.Thread(target=renamer)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not errors, errors
    # the last change is a STORE, so the index compared below is one a session
    # wrote its change into (on top of whatever the others left)
    time.sleep(0.01)
    c = Client(port)
    select(c)
    c.ok('NOOP')
    i0 = ino()
    c.ok('STORE 1:20 +FLAGS (\\Flagged)')
    c.close()
    assert ino() != i0, 'the STORE did not write the index'
    c = Client(port)
    n = select(c)
    mapped = state(c, ' MODSEQ')
    c.close()
    files = len(os.listdir(MD + '/cur')) + len(os.listdir(MD + '/new'))
    assert n == files == len(mapped), (n, files, len(mapped))
    os.unlink(INDEX)
    c = Client(port)
    select(c)
    scanned = state(c, ' MODSEQ')
    c.close()
    assert scanned == mapped, [(x, y) for x, y in zip(mapped, scanned) if x != y][:3]
    uids = [int(re.search(rb'UID (\d+)', l).group(1)) for l in mapped]
    assert len(set(uids)) == len(uids)


def s_uidlist_tail(port):
    """APPEND reads only the first and last lines of dovecot-uidlist: a torn,
    garbled, overlong, out-of-range or missing last line, or a list of the
    header alone, never gives a uid twice and never loses the message."""
    c = Client(port)
    fill(c, 3)
    c.close()
    lst = MD + '/dovecot-uidlist'
    head = open(lst, 'rb').read().split(b'\n')[0] + b'\n'
    cases = [('torn', lambda d: d + b'99 :torn-name'),
             ('garbage', lambda d: d + b'xyz\n'),
             ('overlong', lambda d: d + b'5 :' + b'a' * 5000 + b'\n'),
             ('uid out of range', lambda d: d + b'4294967295 :x\n'),
             ('header only', lambda d: head),
             ('missing', None)]
    for k, (what, damage) in enumerate(cases):
        data = open(lst, 'rb').read()
        if damage:
            with open(lst, 'wb') as f:
                f.write(damage(data))
        else:
            os.unlink(lst)
        c = Client(port)
        out, t = c.ok('APPEND INBOX', msg('tail %d' % k))
        m = re.search(rb'APPENDUID \d+ (\d+)', t)
        c.close()
        c = Client(port)
        n = select(c)
        st = state(c)
        out, _ = c.ok('UID SEARCH SUBJECT "tail %d"' % k)
        c.close()
        uids = [int(re.search(rb'UID (\d+)', l).group(1)) for l in st]
        files = len(os.listdir(MD + '/cur')) + len(os.listdir(MD + '/new'))
        assert n == files == len(uids) == len(set(uids)), (what, n, files, uids)
        found = out[0].split()[2:]
        assert len(found) == 1, (what, out)
        # when APPEND named a uid, it is the one the message has
        if m:
            assert found[0] == m.group(1), (what, t, out)


def anon_kb(pid):
    for l in open('/proc/%d/status' % pid):
        if l.startswith('RssAnon:'):
            return int(l.split()[1])
    return 0


def session_pid():
    """The pochta-imapd process serving alice (its MAILDIR is hers)."""
    found = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            if open('/proc/%s/comm' % d).read().strip() != 'pochta-imapd':
                continue
            env = open('/proc/%s/environ' % d, 'rb').read().split(b'\0')
        except OSError:
            continue
        if ('MAILDIR=' + MD).encode() in env or ('MAILDIR=' + MD + '/').encode() in env:
            found.append(int(d))
    assert len(found) == 1, found
    return found[0]


def s_memory(port):
    """A session's own memory does not grow with the mailbox it has selected."""
    put_files(100)
    c = Client(port)
    select(c)
    state(c)
    small = anon_kb(session_pid())
    c.close()
    put_files(30000, 100)
    for run in ('first open', 'later open'):
        c = Client(port)
        assert select(c) == 30100
        assert len(state(c)) == 30100
        big = anon_kb(session_pid())
        c.close()
        print(run, 'RssAnon with 100 messages:', small, 'kB, with 30100:', big, 'kB')
        # the list of 30,100 names alone is over 2 MB
        assert big - small < 1024, (run, small, big)


SCEN = {k[2:]: v for k, v in globals().items() if k.startswith('s_')}

if __name__ == '__main__':
    name, port = sys.argv[1], int(sys.argv[2])
    SCEN[name](port)
    print('ok', name)
