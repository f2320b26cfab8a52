#!/usr/bin/env python3
"""CONDSTORE (RFC 7162 section 3.1) scenarios for pochta-imapd, over a raw socket so
that every response line can be checked exactly.

usage: condstore.py NAME PORT [ARGS...]   (exit 0 = pass; a failed check raises)
The environment variable MD names alice's Maildir (for changes made outside IMAP).
"""
import os, re, socket, subprocess, sys

HOST = '127.0.0.1'
USER = 'alice@example.test'
PASS = 'secret'


class Client:
    def __init__(self, port, login=True):
        self.s = socket.create_connection((HOST, port))
        self.s.settimeout(15)
        self.f = self.s.makefile('rb')
        self.n = 0
        self.greeting = self.f.readline()
        assert self.greeting.startswith(b'* OK'), self.greeting
        if login:
            self.ok('LOGIN %s %s' % (USER, PASS))

    def cmd(self, text, literal=None):
        """Send one command (with an optional LITERAL+ literal at its end); return
        (untagged lines, tagged line), CR LF stripped."""
        self.n += 1
        tag = b'c%d' % self.n
        line = tag + b' ' + (text.encode() if isinstance(text, str) else text)
        if literal is not None:
            line += b' {%d+}\r\n' % len(literal) + literal
        self.s.sendall(line + b'\r\n')
        out = []
        while True:
            l = self.f.readline()
            assert l, 'connection closed after %r' % line[:200]
            l = l.rstrip(b'\r\n')
            if l.startswith(tag + b' '):
                return out, l[len(tag) + 1:]
            out.append(l)

    def ok(self, text, literal=None):
        out, t = self.cmd(text, literal)
        assert t.startswith(b'OK'), (text, out, t)
        return out, t

    def bad(self, text):
        out, t = self.cmd(text)
        assert t.startswith(b'BAD'), (text, out, t)
        return out, t

    def close(self):
        self.cmd('LOGOUT')
        self.s.close()


def msg(subject):
    return ('From: bob@example.test\r\nTo: alice@example.test\r\nSubject: %s\r\n'
            'Message-ID: <%s@example.test>\r\n\r\nhello\r\n' % (subject, re.sub(r'\W', '', subject))).encode()


def fill(c, n):
    for i in range(n):
        c.ok('APPEND INBOX', msg('message %d' % (i + 1)))


def hms(lines):
    """HIGHESTMODSEQ from untagged OK lines; None when absent."""
    for l in lines:
        m = re.match(rb'\* OK \[HIGHESTMODSEQ (\d+)\]', l)
        if m:
            return int(m.group(1))
    return None


def fetches(lines):
    """{seq: line} of the FETCH responses."""
    r = {}
    for l in lines:
        m = re.match(rb'\* (\d+) FETCH \((.*)\)$', l)
        if m:
            r[int(m.group(1))] = m.group(2)
    return r


def modseq_of(data):
    m = re.search(rb'MODSEQ \((\d+)\)', data)
    assert m, data
    return int(m.group(1))


def uid_of(data):
    return int(re.search(rb'UID (\d+)', data).group(1))


def modseqs(c, cmd='FETCH 1:* (MODSEQ)'):
    out, _ = c.ok(cmd)
    return {k: modseq_of(v) for k, v in fetches(out).items()}


def select(c, box='INBOX', param=' (CONDSTORE)'):
    out, t = c.ok('SELECT ' + box + param)
    return out, hms(out)


# ---------------------------------------------------------------- scenarios

def s_capability(port):
    c = Client(port, login=False)
    assert b'CONDSTORE' in c.greeting.split(), c.greeting
    out, _ = c.ok('CAPABILITY')
    assert b'CONDSTORE' in out[0].split(), out
    c.ok('LOGIN %s %s' % (USER, PASS))
    out, _ = c.ok('CAPABILITY')
    caps = out[0].split()
    assert b'CONDSTORE' in caps and b'ESEARCH' in caps, out
    c.close()


def s_enable(port):
    c = Client(port)
    fill(c, 2)
    # not enabled: SELECT says nothing of modseqs, FETCH FLAGS carries none
    out, h = select(c, param='')
    assert h is None, out
    out, _ = c.ok('FETCH 1 (FLAGS)')
    assert b'MODSEQ' not in fetches(out)[1], out
    out, _ = c.ok('ENABLE CONDSTORE')
    assert out[0] == b'* ENABLED CONDSTORE' and len(out) == 2, out
    # enabled while selected: the client learns HIGHESTMODSEQ now
    assert hms(out) and hms(out) > 0, out
    out, _ = c.ok('ENABLE CONDSTORE')
    assert out == [b'* ENABLED'], out
    out, _ = c.ok('FETCH 1 (FLAGS)')
    assert b'MODSEQ (' in fetches(out)[1], out
    out, h = select(c, param='')
    assert h and h > 0, out
    c.close()
    # ENABLE before SELECT
    c = Client(port)
    c.ok('ENABLE CONDSTORE')
    out, h = select(c, param='')
    assert h and h > 0, out
    c.close()


def s_select(port):
    c = Client(port)
    fill(c, 3)
    out, h = select(c)
    assert h and h > 0, out
    assert b'* 3 EXISTS' in out, out
    ms = modseqs(c)
    assert sorted(ms) == [1, 2, 3] and all(0 < v <= h for v in ms.values()), (ms, h)
    assert max(ms.values()) == h, (ms, h)
    out, t = c.ok('EXAMINE INBOX (CONDSTORE)')
    assert hms(out) == h and b'READ-ONLY' in t, (out, t)
    # QRESYNC before ENABLE QRESYNC, and unknown parameters, are refused; the mailbox stays selected
    c.bad('SELECT INBOX (QRESYNC (1 2))')
    c.bad('SELECT INBOX (FOO)')
    c.ok('FETCH 1 (FLAGS)')
    c.close()


def s_fetch_store(port):
    c = Client(port)
    fill(c, 3)
    out, h0 = select(c)
    before = modseqs(c)
    out, _ = c.ok('STORE 2 +FLAGS (\\Seen)')
    f = fetches(out)
    assert list(f) == [2] and b'\\Seen' in f[2], out
    m2 = modseq_of(f[2])
    assert m2 > h0 and m2 > before[2], (m2, h0, before)
    after = modseqs(c)
    assert after[2] == m2 and after[1] == before[1] and after[3] == before[3], (before, after)
    # each change gets a fresh one, also a keyword
    out, _ = c.ok('STORE 2 +FLAGS (Junk)')
    m2b = modseq_of(fetches(out)[2])
    assert m2b > m2, (m2b, m2)
    # storing what is already there changes nothing
    out, _ = c.ok('STORE 2 +FLAGS (Junk)')
    assert modseq_of(fetches(out)[2]) == m2b, out
    # FETCH FLAGS carries MODSEQ now; UID FETCH MODSEQ too
    out, _ = c.ok('FETCH 1:3 (FLAGS)')
    assert all(b'MODSEQ (' in v for v in fetches(out).values()), out
    out, _ = c.ok('UID FETCH 1:* (MODSEQ)')
    assert all(b'UID ' in v and b'MODSEQ (' in v for v in fetches(out).values()), out
    # the implicit \Seen of BODY[] reports FLAGS, UID and a new MODSEQ
    out, _ = c.ok('FETCH 3 (BODY[])')
    d = b' '.join(out)
    assert b'\\Seen' in d and b'UID 3' in d and modseq_of(d) > m2b, out
    out, h1 = select(c)
    assert h1 == max(modseqs(c).values()) and h1 > m2b, (out, h1)
    # .SILENT still tells the new modseq (RFC 7162 3.1.3)
    out, _ = c.ok('STORE 1 +FLAGS.SILENT (\\Answered)')
    f = fetches(out)
    assert list(f) == [1] and b'FLAGS' not in f[1] and modseq_of(f[1]) > h1, out
    c.close()


def s_changedsince(port):
    c = Client(port)
    fill(c, 4)
    out, h0 = select(c)
    out, _ = c.ok('FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % h0)
    assert fetches(out) == {}, out
    c.ok('STORE 3 +FLAGS (\\Flagged)')
    out, _ = c.ok('FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % h0)
    f = fetches(out)
    assert list(f) == [3] and modseq_of(f[3]) > h0 and b'\\Flagged' in f[3], out
    out, _ = c.ok('UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % h0)
    f = fetches(out)
    assert list(f) == [3] and b'UID 3' in f[3], out
    # CHANGEDSINCE implies MODSEQ in the answer even when not asked for
    out, _ = c.ok('FETCH 1:* (UID) (CHANGEDSINCE 1)')
    f = fetches(out)
    assert len(f) == 4 and all(b'MODSEQ (' in v for v in f.values()), out
    # and enables CONDSTORE in a fresh session
    d = Client(port)
    d.ok('SELECT INBOX')
    out, _ = d.ok('FETCH 1:* (UID) (CHANGEDSINCE %d)' % h0)
    assert hms(out) and list(fetches(out)) == [3], out
    d.close()
    c.close()


def s_unchangedsince(port):
    c = Client(port)
    fill(c, 3)
    out, h0 = select(c)
    ms = modseqs(c)
    out, t = c.ok('STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)' % ms[1])
    assert b'MODIFIED' not in t, t
    f = fetches(out)
    assert b'\\Flagged' in f[1] and modseq_of(f[1]) > h0, out
    # the same condition again fails: the message changed since
    out, t = c.ok('STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)' % ms[1])
    assert b'[MODIFIED 1]' in t and fetches(out) == {}, (out, t)
    out, _ = c.ok('FETCH 1 (FLAGS)')
    assert b'\\Seen' not in fetches(out)[1], out
    # a set: 1 fails, 2 and 3 change
    out, t = c.ok('STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Draft)' % ms[3])
    assert b'[MODIFIED 1]' in t and sorted(fetches(out)) == [2, 3], (out, t)
    # UID STORE names UIDs
    out, t = c.ok('UID STORE 1:3 (UNCHANGEDSINCE %d) -FLAGS (\\Draft)' % ms[3])
    assert b'[MODIFIED 1:3]' in t, t
    # UNCHANGEDSINCE 0 always fails (every message has a modseq)
    out, t = c.ok('STORE 2 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)')
    assert b'[MODIFIED 2]' in t, t
    # another session's change makes ours fail
    now = modseqs(c)
    d = Client(port)
    d.ok('SELECT INBOX')
    d.ok('STORE 2 +FLAGS (\\Seen)')
    d.close()
    out, t = c.ok('STORE 2 (UNCHANGEDSINCE %d) +FLAGS (\\Answered)' % now[2])
    assert b'[MODIFIED 2]' in t, (out, t)
    # a file renamed by another program (no log line yet) counts as changed
    md = os.environ['MD']
    now = modseqs(c)
    name = [f for f in os.listdir(md + '/cur')][0]
    base, _, fl = name.partition(':2,')
    os.rename(md + '/cur/' + name, md + '/cur/' + base + ':2,' + ''.join(sorted(fl + 'R')))
    out, t = c.ok('STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (Tag)' % max(now.values()))
    assert b'MODIFIED' in t, (out, t)
    # the read-only mailbox refuses, the session goes on
    c.ok('EXAMINE INBOX (CONDSTORE)')
    out, t = c.cmd('STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)')
    assert t.startswith(b'NO'), t
    c.close()


def s_search(port):
    c = Client(port)
    fill(c, 5)
    d = Client(port)
    out, h0 = select(d)
    d.close()
    out, h = select(c, param='')
    assert h is None, out
    c.ok('STORE 2,4 +FLAGS (\\Flagged)')
    # SEARCH MODSEQ enables CONDSTORE and answers with the highest of the matches
    out, _ = c.ok('SEARCH MODSEQ %d' % (h0 + 1))
    assert hms(out), out
    ms = modseqs(c)
    s = [l for l in out if l.startswith(b'* SEARCH')]
    assert s == [b'* SEARCH 2 4 (MODSEQ %d)' % max(ms[2], ms[4])], (out, ms)
    out, _ = c.ok('SEARCH MODSEQ "/flags/\\\\draft" all %d' % (h0 + 1))
    assert out[-1] == b'* SEARCH 2 4 (MODSEQ %d)' % max(ms[2], ms[4]), out
    out, _ = c.ok('UID SEARCH MODSEQ "/flags/$x" priv %d NOT 2' % (h0 + 1))
    assert out[-1] == b'* SEARCH 4 (MODSEQ %d)' % ms[4], out
    # no match: no MODSEQ
    out, _ = c.ok('SEARCH MODSEQ %d' % (max(ms.values()) + 1))
    assert out[-1] == b'* SEARCH', out
    # without MODSEQ in the program, none in the answer
    out, _ = c.ok('SEARCH FLAGGED')
    assert out[-1] == b'* SEARCH 2 4', out
    # ESEARCH
    out, _ = c.ok('SEARCH RETURN (ALL COUNT) MODSEQ %d' % (h0 + 1))
    assert out[-1].endswith(b'COUNT 2 ALL 2,4 MODSEQ %d' % max(ms[2], ms[4])), out
    out, _ = c.ok('SEARCH RETURN (MIN) MODSEQ %d' % (h0 + 1))
    assert out[-1].endswith(b'MIN 2 MODSEQ %d' % ms[2]), out
    out, _ = c.ok('SEARCH RETURN (COUNT) MODSEQ %d' % (max(ms.values()) + 1))
    assert out[-1].endswith(b'COUNT 0'), out
    c.close()


def s_status(port):
    c = Client(port)
    fill(c, 2)
    c.ok('CREATE Other')
    out, _ = c.ok('STATUS INBOX (HIGHESTMODSEQ MESSAGES)')
    st = [l for l in out if l.startswith(b'* STATUS')][0]
    h0 = int(re.search(rb'HIGHESTMODSEQ (\d+)', st).group(1))
    assert b'MESSAGES 2' in st and h0 > 0, st
    out, h = select(c)
    assert h == h0, (h, h0)
    c.ok('STORE 1 +FLAGS (\\Seen)')
    out, _ = c.ok('STATUS INBOX (HIGHESTMODSEQ)')
    h1 = int(re.search(rb'HIGHESTMODSEQ (\d+)', out[-1]).group(1))
    assert h1 > h0 and h1 == modseqs(c)[1], (h1, h0)
    # an empty folder has one too, and LIST-STATUS gives it
    out, _ = c.ok('LIST "" "*" RETURN (STATUS (HIGHESTMODSEQ))')
    sts = [l for l in out if l.startswith(b'* STATUS')]
    assert len(sts) >= 2 and all(re.search(rb'HIGHESTMODSEQ [1-9]\d*', l) for l in sts), out
    c.close()


def s_two_sessions(port):
    a, b = Client(port), Client(port)
    fill(a, 3)
    select(a)
    out, h = select(b)
    out, _ = a.ok('STORE 2 +FLAGS (\\Answered)')
    ma = modseq_of(fetches(out)[2])
    out, _ = b.ok('NOOP')
    f = fetches(out)
    assert list(f) == [2], out
    assert b'\\Answered' in f[2] and b'UID 2' in f[2] and modseq_of(f[2]) == ma, out
    # a keyword change too
    out, _ = a.ok('UID STORE 3 +FLAGS (Work)')
    ma = modseq_of(fetches(out)[3])
    out, _ = b.ok('NOOP')
    f = fetches(out)
    assert list(f) == [3] and b'Work' in f[3] and modseq_of(f[3]) == ma, out
    # not enabled: the flag change comes without MODSEQ
    c = Client(port)
    c.ok('SELECT INBOX')
    a.ok('STORE 1 +FLAGS (\\Seen)')
    out, _ = c.ok('NOOP')
    f = fetches(out)
    assert list(f) == [1] and b'MODSEQ' not in f[1], out
    a.close(); b.close(); c.close()


def flag_by_rename(md, letter):
    """Add a flag letter to the first file of cur/ by renaming it; return its base."""
    name = sorted(os.listdir(md + '/cur'))[0]
    base, _, fl = name.partition(':2,')
    os.rename(md + '/cur/' + name, md + '/cur/' + base + ':2,' + ''.join(sorted(fl + letter)))
    return base


def s_rename(port):
    md = os.environ['MD']
    c = Client(port)
    fill(c, 3)
    out, h0 = select(c)
    before = modseqs(c, 'UID FETCH 1:* (MODSEQ)')
    flag_by_rename(md, 'F')
    out, _ = c.ok('NOOP')
    f = fetches(out)
    assert len(f) == 1, out
    seq, data = list(f.items())[0]
    assert b'\\Flagged' in data and modseq_of(data) > h0 and modseq_of(data) > before[seq], (out, h0)
    m1 = modseq_of(data)
    # the new value is recorded: a new session sees the same, HIGHESTMODSEQ with it
    d = Client(port)
    out, h = select(d)
    assert h == m1 and modseqs(d)[seq] == m1, (h, m1)
    d.close()
    # a rename noticed by SELECT (no session watching)
    c.close()
    flag_by_rename(md, 'S')
    d = Client(port)
    out, h = select(d)
    assert h > m1, (h, m1)
    d.close()


def s_persist(port):
    md = os.environ['MD']
    c = Client(port)
    fill(c, 3)
    out, h0 = select(c)
    c.ok('STORE 3 +FLAGS (\\Deleted)')
    out, h1 = select(c)
    assert h1 > h0, (h1, h0)
    c.close()
    # the same value in a later session: nothing changed
    c = Client(port)
    out, h = select(c)
    assert h == h1, (h, h1)
    ms = modseqs(c)
    c.ok('EXPUNGE')
    out, h2 = select(c)
    assert h2 >= h1 and b'* 2 EXISTS' in out, (out, h2, h1)
    assert modseqs(c) == {1: ms[1], 2: ms[2]}, (modseqs(c), ms)
    c.close()
    c = Client(port)
    out, _ = c.ok('STATUS INBOX (HIGHESTMODSEQ)')
    assert b'HIGHESTMODSEQ %d' % h2 in out[-1], (out, h2)
    # all messages expunged: still no lower
    c.ok('SELECT INBOX')
    c.ok('STORE 1:* +FLAGS (\\Deleted)')
    c.ok('EXPUNGE')
    out, h3 = select(c)
    assert b'* 0 EXISTS' in out and h3 >= h2, (out, h3, h2)
    fill(c, 2)
    out, h4 = select(c)
    assert h4 > h3 and min(modseqs(c).values()) > h3, (h4, h3)
    c.close()
    # the log is lost, or damaged: everything gets values above the old ones
    for damage in ('rm', 'garbage', 'other-uidvalidity'):
        p = md + '/pochta-modseq'
        if damage == 'rm':
            os.unlink(p)
        elif damage == 'garbage':
            open(p, 'wb').write(b'\x00junk\nmore junk\n12')
        else:
            lines = open(p, 'rb').read().split(b'\n')
            lines[0] = re.sub(rb'V\d+', b'V1', lines[0])
            open(p, 'wb').write(b'\n'.join(lines))
        c = Client(port)
        out, h5 = select(c)
        assert h5 > h4 and min(modseqs(c).values()) > h4, (damage, h5, h4)
        assert open(p, 'rb').read().startswith(b'P1 V'), damage
        h4 = h5
        c.close()
    # a torn last line (a crash while appending) is ignored, and the next change
    # is still recorded and seen by a new session
    open(md + '/pochta-modseq', 'ab').write(b'1 99')
    c = Client(port)
    out, h = select(c)
    assert h == h4, (h, h4)
    out, _ = c.ok('STORE 1 +FLAGS (\\Seen)')
    m = modseq_of(fetches(out)[1])
    assert m > h4, (m, h4)
    c.close()
    c = Client(port)
    out, h = select(c)
    assert h == m and modseqs(c)[1] == m, (h, m)
    c.close()


def s_new_messages(port):
    c = Client(port)
    fill(c, 2)
    out, h0 = select(c)
    out, t = c.ok('APPEND INBOX', msg('appended'))
    out2, _ = c.ok('NOOP')
    assert b'* 3 EXISTS' in out + out2, (out, out2)
    ms = modseqs(c)
    assert ms[3] > h0, (ms, h0)
    h1 = max(ms.values())
    # a delivery by pochta-deliver
    subprocess.check_call(sys.argv[3], shell=True)
    out, _ = c.ok('NOOP')
    assert b'* 4 EXISTS' in out, out
    ms = modseqs(c)
    assert ms[4] > h1, (ms, h1)
    # COPY and MOVE targets get fresh ones
    c.ok('CREATE Target')
    out, h2 = select(c, 'Target')
    c.ok('SELECT INBOX')
    c.ok('COPY 1 Target')
    c.ok('MOVE 2 Target')
    out, h3 = select(c, 'Target')
    t = modseqs(c)
    assert len(t) == 2 and min(t.values()) > h2 and h3 == max(t.values()), (t, h2, h3)
    c.close()


def s_hostile(port):
    c = Client(port)
    fill(c, 2)
    c.ok('SELECT INBOX')
    for bad in ['FETCH 1 (FLAGS) (CHANGEDSINCE)',
                'FETCH 1 (FLAGS) (CHANGEDSINCE x)',
                'FETCH 1 (FLAGS) (CHANGEDSINCE -1)',
                'FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)',
                'FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999999999)',
                'FETCH 1 (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)',
                'FETCH 1 (FLAGS) (CHANGEDSINCE 1',
                'FETCH 1 (FLAGS) (CHANGEDSINCE 1))',
                'FETCH 1 (FLAGS) (VANISHED)',
                'FETCH 1 (FLAGS) ()',
                'FETCH 1 (FLAGS) CHANGEDSINCE 1',
                'FETCH 1 (FLAGS MODSEQ.X)',
                'STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)',
                'STORE 1 (UNCHANGEDSINCE abc) +FLAGS (\\Seen)',
                'STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (\\Seen)',
                'STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS (\\Seen)',
                'STORE 1 (UNCHANGEDSINCE 5)+FLAGS (\\Seen)',
                'STORE 1 (FOO 5) +FLAGS (\\Seen)',
                'STORE 1 () +FLAGS (\\Seen)',
                'STORE 1 (UNCHANGEDSINCE 5',
                'SEARCH MODSEQ',
                'SEARCH MODSEQ abc',
                'SEARCH MODSEQ -5',
                'SEARCH MODSEQ 9223372036854775808',
                'SEARCH MODSEQ "/flags/\\\\seen" bogus 5',
                'SEARCH MODSEQ "/other/x" all 5',
                'SEARCH MODSEQ "/flags/" all 5',
                'SEARCH MODSEQ "/flags/\\\\seen" all',
                'SELECT INBOX (CONDSTORE',
                'SELECT INBOX ()',
                'SELECT INBOX (CONDSTORE FOO)',
                'SELECT INBOX CONDSTORE',
                'STATUS INBOX (HIGHESTMODSEQ FOO)',
                'ENABLE',
                ]:
        c.bad(bad)
    # 2^63-1 is the largest modseq: accepted
    out, _ = c.ok('FETCH 1:* (FLAGS) (CHANGEDSINCE 9223372036854775807)')
    assert fetches(out) == {}, out
    out, t = c.ok('STORE 1 (UNCHANGEDSINCE 9223372036854775807) +FLAGS (\\Seen)')
    assert b'MODIFIED' not in t, t
    out, _ = c.ok('SEARCH MODSEQ 9223372036854775807')
    assert out[-1] == b'* SEARCH', out
    out, _ = c.ok('SEARCH MODSEQ 0')
    assert out[-1].startswith(b'* SEARCH 1 2 (MODSEQ '), out
    # a huge log line cannot upset the reader
    md = os.environ['MD']
    open(md + '/pochta-modseq', 'ab').write(b'1 ' + b'9' * 5000 + b' S\n')
    c.ok('NOOP')
    out, _ = c.ok('FETCH 1:* (MODSEQ)')
    assert len(fetches(out)) == 2, out
    c.close()
    c = Client(port)
    out, h = select(c)
    assert h and h < 2 ** 63, (out, h)
    c.close()


def s_compact(port):
    md = os.environ['MD']
    c = Client(port)
    fill(c, 2)
    out, h0 = select(c)
    last = None
    for i in range(1200):
        out, _ = c.ok('STORE 1 %sFLAGS (\\Seen)' % ('+-'[i % 2]))
        last = modseq_of(fetches(out)[1])
    assert last >= h0 + 1200, (last, h0)
    c.ok('NOOP')
    # the log was rewritten on the way: far fewer lines than changes, same values
    lines = open(md + '/pochta-modseq', 'rb').read().split(b'\n')
    assert len(lines) < 1100, len(lines)
    ms = modseqs(c)
    c.close()
    c = Client(port)
    out, h = select(c)
    assert h == last and modseqs(c) == ms and ms[1] == last, (h, last, ms)
    c.close()


def s_concurrent(port):
    """Four sessions STORE at once, each on its own message: every change gets
    its own modseq, each session's grow, and a new session sees the last ones."""
    import threading
    c = Client(port)
    fill(c, 4)
    out, h0 = select(c)
    c.close()
    seen, errors = {}, []

    def storer(k):
        try:
            s = Client(port)
            select(s)
            vals = []
            for i in range(40):
                out, _ = s.ok('STORE %d %sFLAGS (\\Flagged)' % (k, '+-'[i % 2]))
                vals.append(modseq_of(fetches(out)[k]))
            s.close()
            seen[k] = vals
        except Exception as e:
            errors.append(repr(e))

    ts = [threading.Thread(target=storer, args=(k,)) for k in (1, 2, 3, 4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    allv = [v for k in seen for v in seen[k]]
    assert len(allv) == 160 and len(set(allv)) == 160 and min(allv) > h0, allv
    for k in seen:
        assert seen[k] == sorted(seen[k]), seen[k]
    c = Client(port)
    out, h = select(c)
    ms = modseqs(c)
    assert h == max(allv) and all(ms[k] == seen[k][-1] for k in seen), (h, ms, seen)
    c.close()


SCEN = {k[2:]: v for k, v in globals().items() if k.startswith('s_')}

if __name__ == '__main__':
    name, port = sys.argv[1], int(sys.argv[2])
    SCEN[name](port)
    print('ok', name)
