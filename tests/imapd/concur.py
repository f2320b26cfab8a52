#!/usr/bin/env python3
"""pochta-imapd under concurrent sessions and programs: no flag change lost,
UIDVALIDITY never reused, expunged messages answered as RFC 2180 and 5530 say,
\\Recent given to exactly one session.

usage: concur.py NAME PORT MAILDIR [ARGS...]   (exit 0 = pass; a failed check raises)
"""
import imaplib, os, re, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scen import conn, ok   # noqa: E402  (login as alice, and the OK check)

for _c in ('MOVE', 'UNSELECT'):
    imaplib.Commands.setdefault(_c, ('SELECTED',))


def raw(m, line):
    """Send one command line, return (untagged lines, tagged line) as bytes."""
    tag = m._new_tag()
    m.send(tag + b' ' + line + b'\r\n')
    out = []
    while True:
        l = m.readline()
        assert l, 'connection closed'
        if l.startswith(tag + b' '):
            return out, l.rstrip(b'\r\n')
        if l.rstrip(b'\r\n').endswith(b'}'):
            n = int(re.search(rb'\{(\d+)\}\r\n$', l).group(1))
            l = l + m.read(n) + m.readline()
        out.append(l.rstrip(b'\r\n'))


def msg(i):
    return ('From: bob@example.test\r\nSubject: message %d\r\n\r\nbody %d\r\n' % (i, i)).encode()


def fill(m, n, box='INBOX'):
    for i in range(n):
        ok(m.append(box, None, None, msg(i + 1)))


def flags_of(m, uid):
    """The flags the message has now (a NOOP first: the session is told)."""
    ok(m.noop())
    m.untagged_responses.clear()
    d = ok(m.uid('FETCH', str(uid), '(FLAGS)'))
    d = [x for x in d if re.search(rb'UID %d\b' % uid, x)]
    assert len(d) == 1, d
    f = re.search(rb'FLAGS \(([^)]*)\)', d[0]).group(1).decode()
    return set(f.split()) - {'\\Recent'}


def files(md):
    return {n.split(':')[0]: n for sub in ('cur', 'new') for n in os.listdir(os.path.join(md, sub))}


def outside_toggle(md, letter, on):
    """Change one flag letter of every message the way mutt and other Maildir
    programs do: rename the file from the name it has now; when another
    program renamed it first (ENOENT), look again. Returns how many files."""
    n = 0
    for base in list(files(md)):
        while True:
            name = files(md).get(base)
            if name is None:
                break
            sub = 'cur' if os.path.exists(os.path.join(md, 'cur', name)) else 'new'
            info = name.split(':2,')[1] if ':2,' in name else ''
            letters = set(info)
            if on:
                letters.add(letter)
            else:
                letters.discard(letter)
            new = base + ':2,' + ''.join(sorted(letters))
            try:
                os.rename(os.path.join(md, sub, name), os.path.join(md, 'cur', new))
                n += 1
                break
            except FileNotFoundError:
                continue
    return n


# ---------------------------------------------------------------- scenarios

def s_store_stale(port, md):
    """Issue 15, 1: a STORE computed from a view that has not seen another
    session's change must not undo it."""
    a, b = conn(port), conn(port)
    fill(a, 2)
    ok(a.select('INBOX')); ok(b.select('INBOX'))
    ok(a.store('1', '+FLAGS', r'(\Answered)'))
    # b has not looked since: its view says message 1 has no flags
    out, tag = raw(b, b'STORE 1 +FLAGS (\\Flagged)')
    assert b' OK' in tag, tag
    # b's answer tells it the whole truth, \Answered included
    assert any(b'\\Answered' in l and b'\\Flagged' in l for l in out), out
    c = conn(port); ok(c.select('INBOX'))
    assert flags_of(c, 1) == {'\\Answered', '\\Flagged'}, flags_of(c, 1)
    # a delete undone in one session does not come back through another
    ok(a.store('2', '+FLAGS', r'(\Deleted)'))
    ok(b.noop())                                   # b sees \Deleted
    ok(a.store('2', '-FLAGS', r'(\Deleted)'))
    ok(b.store('2', '+FLAGS.SILENT', r'(\Seen)'))  # from b's stale view
    ok(b.expunge())
    ok(c.noop())
    assert flags_of(c, 2) == {'\\Seen'}, flags_of(c, 2)
    assert len(files(md)) == 2, files(md)
    # .SILENT still reports a change the client did not know of
    ok(a.store('1', '+FLAGS', r'(\Draft)'))
    out, tag = raw(b, b'STORE 1 +FLAGS.SILENT (\\Seen)')
    assert b' OK' in tag and any(b'\\Draft' in l for l in out), (out, tag)
    # keywords alike
    ok(a.store('2', '+FLAGS', '(kwa)'))
    out, tag = raw(b, b'STORE 2 +FLAGS (kwb)')
    assert b' OK' in tag, tag
    assert flags_of(c, 2) == {'\\Seen', 'kwa', 'kwb'}, flags_of(c, 2)
    for m in (a, b, c):
        m.logout()


def s_store_outside(port, md):
    """A program that renames the file (mutt, Dovecot, pop3d) and then a STORE
    from a view made before: both changes stay."""
    a = conn(port)
    fill(a, 3)
    ok(a.select('INBOX'))
    ok(a.fetch('1:*', '(FLAGS)'))
    assert outside_toggle(md, 'F', True) == 3
    ok(a.store('1:3', '+FLAGS', r'(\Seen)'))
    ok(a.store('2', '-FLAGS', r'(\Seen)'))
    c = conn(port); ok(c.select('INBOX'))
    assert flags_of(c, 1) == {'\\Flagged', '\\Seen'}, flags_of(c, 1)
    assert flags_of(c, 2) == {'\\Flagged'}, flags_of(c, 2)
    # FLAGS (replace) replaces, from what is on disk
    assert outside_toggle(md, 'D', True) == 3
    ok(a.store('3', 'FLAGS', r'(\Answered)'))
    assert flags_of(c, 3) == {'\\Answered'}, flags_of(c, 3)
    a.logout(); c.logout()


def s_concurrent_flags(port, md):
    """Two sessions and an outside program change flags of the same messages
    at once, each its own flag, on and off in rounds; at the end every
    message has exactly what each party did last: no change lost."""
    n, rounds = 20, 6
    a = conn(port)
    fill(a, n)
    a.logout()
    errors = []

    def session(flag, stride):
        try:
            m = conn(port)
            ok(m.select('INBOX'))
            for r in range(rounds):
                for i in range(1, n + 1):
                    # on in even rounds, off in odd ones; the last round (odd)
                    # leaves the flag on where (i % stride == 0)
                    if r == rounds - 1:
                        op = '+FLAGS' if i % stride == 0 else '-FLAGS'
                    else:
                        op = '+FLAGS' if r % 2 == 0 else '-FLAGS'
                    ok(m.store(str(i), op, '(%s)' % flag))
            m.logout()
        except Exception as e:   # reported by the main thread
            errors.append(repr(e))

    def outside():
        try:
            for r in range(rounds):
                outside_toggle(md, 'D', r % 2 == 0)
                time.sleep(0.01)
            outside_toggle(md, 'D', True)
        except Exception as e:
            errors.append(repr(e))

    ts = [threading.Thread(target=session, args=(r'\Answered', 2)),
          threading.Thread(target=session, args=(r'\Flagged', 3)),
          threading.Thread(target=outside)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    c = conn(port)
    ok(c.select('INBOX'))
    lost = []
    for i in range(1, n + 1):
        want = {'\\Draft'}
        if i % 2 == 0:
            want.add('\\Answered')
        if i % 3 == 0:
            want.add('\\Flagged')
        got = flags_of(c, i)   # (uid i: the messages were appended in order)
        if got != want:
            lost.append((i, sorted(want), sorted(got)))
    assert not lost, lost
    assert len(files(md)) == n
    c.logout()
    print('%d messages, %d rounds, 3 writers: no change lost' % (n, rounds))


def s_uidvalidity(port, md):
    """Issue 15, 2: DELETE then CREATE of a name in the same second, and a
    folder renamed onto a name, never give an old UIDVALIDITY back."""
    a = conn(port)
    seen = set()

    def status(name):
        d = ok(a.status(name, '(UIDVALIDITY UIDNEXT)'))[0]
        v = int(re.search(rb'UIDVALIDITY (\d+)', d).group(1))
        n = int(re.search(rb'UIDNEXT (\d+)', d).group(1))
        return v, n

    for i in range(3):
        ok(a.create('box'))
        fill(a, 1, 'box')
        v, n = status('box')
        assert v not in seen and n == 2, (v, n, seen)
        seen.add(v)
        ok(a.delete('box'))
    # two folders made in the same second, one renamed onto the other's name
    ok(a.create('one')); ok(a.create('two'))
    fill(a, 1, 'one'); fill(a, 1, 'two')
    v1, _ = status('one')
    v2, _ = status('two')
    assert v1 != v2, (v1, v2)
    ok(a.rename('one', 'three'))
    ok(a.rename('two', 'one'))
    assert status('one')[0] == v2
    ok(a.create('two'))
    v3, _ = status('two')
    assert v3 not in (v1, v2) and v3 not in seen, (v1, v2, v3)
    a.logout()


def s_expunged(port, md):
    """Issue 15, 3: messages another session expunged (or renamed) are no
    reason for NO: OK [EXPUNGEISSUED] and what can be answered (RFC 2180 4,
    RFC 5530); COPY of them is refused as a whole."""
    a, b = conn(port), conn(port)
    fill(a, 3)
    ok(a.select('INBOX')); ok(b.select('INBOX'))
    ok(b.fetch('1:3', '(FLAGS)'))
    # a renames message 1 (a flag): b's name for the file is stale
    ok(a.store('1', '+FLAGS', r'(\Flagged)'))
    out, tag = raw(b, b'FETCH 1 (BODY.PEEK[TEXT])')
    assert tag.endswith(b'OK FETCH completed'), tag
    assert any(b'body 1' in l for l in out), out
    # a expunges message 2; b cannot be told during FETCH
    ok(a.store('2', '+FLAGS', r'(\Deleted)'))
    ok(a.expunge())
    out, tag = raw(b, b'FETCH 1:3 (FLAGS BODY.PEEK[TEXT])')
    assert b' OK [EXPUNGEISSUED]' in tag, tag
    assert not any(l.startswith(b'* 2 FETCH') for l in out), out
    assert any(l.startswith(b'* 1 FETCH') for l in out) and any(l.startswith(b'* 3 FETCH') for l in out), out
    assert not any(b'EXPUNGE' in l for l in out), out
    # what the view still knows needs no file
    out, tag = raw(b, b'FETCH 2 (UID FLAGS)')
    assert b' OK' in tag and out and out[0].startswith(b'* 2 FETCH (UID 2 FLAGS'), (out, tag)
    # STORE answers for every message asked (RFC 2180 4.2.1)
    out, tag = raw(b, b'STORE 1:3 +FLAGS (\\Seen)')
    assert b' OK' in tag, tag
    assert sorted(l.split()[1] for l in out if b' FETCH ' in l) == [b'1', b'2', b'3'], out
    # COPY: all or nothing
    out, tag = raw(b, b'COPY 1:3 Trash')
    assert b' NO [EXPUNGEISSUED]' in tag, tag
    st = ok(a.status('Trash', '(MESSAGES)'))[0]
    assert b'MESSAGES 0' in st, st
    # COPY may tell of the expunge (it is no FETCH, STORE or SEARCH)
    assert out == [b'* 2 EXPUNGE'], out
    out, tag = raw(b, b'COPY 1:2 Trash')
    assert b' OK' in tag, tag
    a.logout(); b.logout()


def s_recent(port, md, deliver=None):
    """Issue 15, 4: \\Recent for messages APPENDed, COPYed, MOVEd or delivered
    while a session has the folder selected: recent there, in exactly one
    session; EXAMINE and STATUS count them without taking them."""
    import subprocess
    a, b = conn(port), conn(port)
    ok(a.create('box'))
    ok(a.select('box'))
    assert a.untagged_responses.get('RECENT') == [b'0'], a.untagged_responses
    # APPEND by another session
    fill(b, 2, 'box')
    ok(a.noop())
    assert a.untagged_responses.get('RECENT', [])[-1:] == [b'2'], a.untagged_responses
    d = ok(a.fetch('1:2', '(FLAGS)'))
    assert all(b'\\Recent' in x for x in d), d
    # b sees them, but not as recent
    st = ok(b.status('box', '(RECENT)'))[0]
    assert b'RECENT 0' in st, st
    ok(b.select('box'))
    assert b.untagged_responses.get('RECENT') == [b'0'], b.untagged_responses
    # COPY and MOVE from INBOX by b
    fill(b, 2, 'INBOX')
    ok(b.select('INBOX'))
    ok(b.copy('1', 'box'))
    ok(b._simple_command('MOVE', '2', 'box'))
    a.untagged_responses.clear()
    ok(a.noop())
    assert a.untagged_responses.get('RECENT', [])[-1:] == [b'4'], a.untagged_responses
    # a delivery into the folder while a has it selected
    if deliver:
        subprocess.check_call(deliver % os.path.join(md, '.box'), shell=True)
        a.untagged_responses.clear()
        ok(a.noop())
        assert a.untagged_responses.get('RECENT', [])[-1:] == [b'5'], a.untagged_responses
    n = len(ok(a.search(None, 'RECENT'))[0].split())
    # a closes: nobody gets them again
    ok(a.close())
    ok(b.select('box'))
    assert b.untagged_responses.get('RECENT') == [b'0'], b.untagged_responses
    # EXAMINE counts the new ones and leaves them for a SELECT
    fill(a, 1, 'box')
    c = conn(port)
    ok(c.select('box', readonly=True))
    assert c.untagged_responses.get('RECENT') == [b'1'], c.untagged_responses
    st = ok(c.status('box', '(RECENT)'))[0]
    assert b'RECENT 1' in st, st
    ok(a.select('box'))
    assert a.untagged_responses.get('RECENT') == [b'1'], a.untagged_responses
    # an expunge of a recent message tells the new count (checkpoints add them)
    last = int(a.untagged_responses['EXISTS'][-1])
    ok(a.store(str(last), '+FLAGS', r'(\Deleted)'))
    out, tag = raw(a, b'EXPUNGE')
    assert b'* 0 RECENT' in out, out
    print('recent in the selecting session: %d' % n)
    for m in (a, b, c):
        m.logout()


def main(scenarios):
    """Run the scenario argv[1] of a module's s_* functions: (port, maildir, args...)."""
    scen = {k[2:]: v for k, v in scenarios.items() if k.startswith('s_')}
    name, port, md = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    scen[name](port, md, *sys.argv[4:])
    print('ok', name)


if __name__ == '__main__':
    main(globals())
