#!/usr/bin/env python3
"""QRESYNC (RFC 7162 section 3.2) scenarios for pochta-imapd.

usage: qresync.py NAME PORT   (exit 0 = pass; a failed check raises)
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from condstore import Client, fill, fetches, hms, modseq_of, uid_of  # noqa: E402


def uidvalidity(out):
    for l in out:
        m = re.match(rb'\* OK \[UIDVALIDITY (\d+)\]', l)
        if m:
            return int(m.group(1))
    raise AssertionError(out)


def vanished(out, earlier):
    """The uid set text of the VANISHED (EARLIER) line (earlier) or of the
    VANISHED lines; None when there is none."""
    pre = b'* VANISHED (EARLIER) ' if earlier else b'* VANISHED '
    got = [l[len(pre):] for l in out if l.startswith(pre) and (earlier or not l.startswith(b'* VANISHED ('))]
    assert len(got) <= 1, out
    return got[0].decode() if got else None


def expand(text):
    r = set()
    for part in text.split(','):
        a, _, b = part.partition(':')
        r.update(range(int(a), int(b or a) + 1))
    return r


def s_enable(port):
    c = Client(port, login=False)
    assert b'QRESYNC' in c.greeting.split(), c.greeting
    c.ok('LOGIN alice@example.test secret')
    out, _ = c.ok('CAPABILITY')
    assert b'QRESYNC' in out[0].split(), out
    fill(c, 2)
    # QRESYNC parameters before ENABLE QRESYNC: BAD (RFC 7162 3.2.5)
    c.bad('SELECT INBOX (QRESYNC (1 1))')
    out, _ = c.ok('SELECT INBOX')
    assert hms(out) is None, out
    # ENABLE QRESYNC turns on CONDSTORE as well (3.2.3)
    out, _ = c.ok('ENABLE QRESYNC')
    assert out[0] == b'* ENABLED QRESYNC' and hms(out), out
    out, _ = c.ok('FETCH 1 (FLAGS)')
    assert b'MODSEQ (' in fetches(out)[1], out
    out, _ = c.ok('ENABLE QRESYNC CONDSTORE')
    assert out == [b'* ENABLED'], out
    c.close()
    # both asked at once: both listed, whatever the order
    for two in ('QRESYNC CONDSTORE', 'CONDSTORE QRESYNC'):
        c = Client(port)
        out, _ = c.ok('ENABLE ' + two)
        assert sorted(out[0].split()[2:]) == [b'CONDSTORE', b'QRESYNC'], out
        c.close()


def changes(port):
    """Ten messages; then, remembered as the client's state: uidvalidity and
    HIGHESTMODSEQ. Then flags on 2 and 4, uids 3, 5 and 10 expunged, one new."""
    c = Client(port)
    fill(c, 10)
    c.ok('ENABLE QRESYNC')
    out, _ = c.ok('SELECT INBOX')
    v, h = uidvalidity(out), hms(out)
    c.ok('STORE 2 +FLAGS (\\Flagged)')
    c.ok('STORE 4 +FLAGS (\\Answered)')
    c.ok('UID STORE 3,5,10 +FLAGS (\\Deleted)')
    out, _ = c.ok('UID EXPUNGE 3,5,10')
    # with QRESYNC on, expunges are VANISHED, never EXPUNGE (3.2.10)
    assert vanished(out, False) == '3,5,10', out
    assert not any(l.endswith(b' EXPUNGE') for l in out), out
    c.ok('APPEND INBOX', b'Subject: new\r\n\r\nnew\r\n')
    c.close()
    return v, h


def s_select(port):
    v, h = changes(port)
    c = Client(port)
    c.ok('ENABLE QRESYNC')
    out, t = c.ok('SELECT INBOX (QRESYNC (%d %d))' % (v, h))
    # VANISHED (EARLIER) before the FETCH of what changed, all before the OK
    iv = [i for i, l in enumerate(out) if l.startswith(b'* VANISHED (EARLIER)')]
    ifs = [i for i, l in enumerate(out) if b' FETCH ' in l]
    assert iv and ifs and iv[0] < ifs[0], out
    assert expand(vanished(out, True)) == {3, 5, 10}, out
    f = fetches(out)
    got = {uid_of(x): x for x in f.values()}
    # flags changed on uids 2 and 4; uid 11 is new; each with UID, FLAGS, MODSEQ
    assert set(got) == {2, 4, 11}, out
    assert b'\\Flagged' in got[2] and b'\\Answered' in got[4], got
    assert all(modseq_of(x) > h for x in got.values()), got
    assert t.startswith(b'OK [READ-WRITE]'), t
    # known uids limit both answers
    out, _ = c.ok('SELECT INBOX (QRESYNC (%d %d 1:4))' % (v, h))
    assert out[0] == b'* OK [CLOSED] Previous mailbox closed', out
    assert vanished(out, True) == '3', out
    assert {uid_of(x) for x in fetches(out).values()} == {2, 4}, out
    # with sequence match data (checked, not needed)
    out, _ = c.ok('SELECT INBOX (QRESYNC (%d %d 1:11 (1:3 1,2,4)))' % (v, h))
    assert expand(vanished(out, True)) == {3, 5, 10}, out
    # another UIDVALIDITY: a plain SELECT
    out, _ = c.ok('EXAMINE INBOX (QRESYNC (%d %d))' % (v + 1, h))
    assert vanished(out, True) is None and not fetches(out), out
    # nothing changed since the client's modseq: nothing to say
    now = hms(out)
    out, _ = c.ok('SELECT INBOX (QRESYNC (%d %d))' % (v, now))
    assert vanished(out, True) is None and not fetches(out), out
    c.close()


def s_fetch_vanished(port):
    v, h = changes(port)
    c = Client(port)
    c.ok('ENABLE QRESYNC')
    c.ok('SELECT INBOX')
    out, _ = c.ok('UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)' % h)
    assert expand(vanished(out, True)) == {3, 5, 10}, out
    assert {uid_of(x) for x in fetches(out).values()} == {2, 4, 11}, out
    out, _ = c.ok('UID FETCH 4:6 (FLAGS) (VANISHED CHANGEDSINCE %d)' % h)
    assert vanished(out, True) == '5', out
    # without VANISHED: no VANISHED line
    out, _ = c.ok('UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % h)
    assert vanished(out, True) is None, out
    # VANISHED only with UID FETCH, CHANGEDSINCE and QRESYNC enabled
    c.bad('FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)' % h)
    c.bad('UID FETCH 1:* (FLAGS) (VANISHED)')
    c.bad('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED VANISHED)')
    c.bad('UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)')
    c.bad('UID FETCH 1:* (FLAGS) (VANISHED CHANGEDSINCE)')
    c.bad('UID FETCH 1:* (FLAGS) ()')
    c.close()
    d = Client(port)
    d.ok('ENABLE CONDSTORE')
    d.ok('SELECT INBOX')
    d.bad('UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)' % h)
    d.close()


def s_unsolicited(port):
    """Another session's expunge reaches a QRESYNC session as VANISHED."""
    a = Client(port)
    fill(a, 6)
    a.ok('SELECT INBOX')
    b = Client(port)
    b.ok('ENABLE QRESYNC')
    b.ok('SELECT INBOX')
    a.ok('STORE 2,3,6 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    out, _ = b.ok('NOOP')
    assert vanished(out, False) == '2:3,6', out
    assert not any(l.endswith(b' EXPUNGE') for l in out), out
    # a session without QRESYNC still gets EXPUNGE
    a.ok('STORE 1 +FLAGS (\\Deleted)')
    out, _ = a.ok('EXPUNGE')
    # (the message was recent in this session: RECENT tells the new count)
    assert [l for l in out if not l.endswith(b' RECENT')] == [b'* 1 EXPUNGE'], out
    a.close(); b.close()


def s_hostile(port):
    c = Client(port)
    fill(c, 2)
    c.ok('ENABLE QRESYNC')
    for bad in ['(QRESYNC)', '(QRESYNC ())', '(QRESYNC (0 1))', '(QRESYNC (1))', '(QRESYNC (1 x))',
                '(QRESYNC (1 1 0:3))', '(QRESYNC (1 1 1:3 (1:2)))', '(QRESYNC (1 1 1:3 (1:2 1:2)',
                '(QRESYNC (4294967296 1))', '(QRESYNC (1 99999999999999999999))',
                '(QRESYNC (1 1) QRESYNC (1 1))', '(QRESYNC (1 1 (1 2)) x)', '(QRESYNC (1 1 ' + '1,' * 5000 + '1))']:
        c.bad('SELECT INBOX ' + bad)
    out, _ = c.ok('SELECT INBOX (CONDSTORE QRESYNC (1 1))')
    out, _ = c.ok('NOOP')
    c.close()


SCEN = {k[2:]: v for k, v in globals().items() if k.startswith('s_')}

if __name__ == '__main__':
    name, port = sys.argv[1], int(sys.argv[2])
    SCEN[name](port)
    print('ok', name)
