#!/usr/bin/env python3
"""pochta-imapd conformance cases found by imaptest and the security review:
LSUB and LIST (SUBSCRIBED RECURSIVEMATCH) parents, binary APPEND, SEARCH on
parsed addresses, FETCH labels, RENAME into a child.

usage: conform.py NAME PORT MAILDIR   (exit 0 = pass; a failed check raises)
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scen import conn, ok        # noqa: E402
from concur import raw, main     # noqa: E402


def s_keyword_flags(port, md):
    """Issue 15, 9: a STORE that makes a keyword (even -FLAGS, as Dovecot)
    sends FLAGS and PERMANENTFLAGS with it first; another session is told
    the new FLAGS before a FETCH that uses the keyword."""
    a, b = conn(port), conn(port)
    ok(a.append('INBOX', None, None, b'Subject: k\r\n\r\nbody\r\n'))
    ok(a.select('INBOX')); ok(b.select('INBOX'))
    out, tag = raw(a, b'STORE 1 +FLAGS (fresh1)')
    assert b' OK' in tag, tag
    fl = [i for i, l in enumerate(out) if l.startswith(b'* FLAGS (') and b'fresh1' in l]
    fe = [i for i, l in enumerate(out) if b'FETCH' in l and b'fresh1' in l]
    assert fl and fe and fl[0] < fe[0] and any(b'PERMANENTFLAGS' in l and b'fresh1' in l for l in out), out
    out, tag = raw(a, b'STORE 1 -FLAGS (fresh2)')
    assert any(l.startswith(b'* FLAGS (') and b'fresh2' in l for l in out), out
    out, tag = raw(b, b'NOOP')
    fl = [i for i, l in enumerate(out) if l.startswith(b'* FLAGS (') and b'fresh1' in l]
    fe = [i for i, l in enumerate(out) if b'FETCH' in l and b'fresh1' in l]
    assert fl and fe and fl[0] < fe[0], out
    a.logout(); b.logout()


def s_lsub_parent(port, md):
    """Issue 15, 5: LSUB "" x.% lists an unsubscribed parent of subscribed
    folders with \\Noselect (RFC 3501 6.3.9), existing or not."""
    m = conn(port)
    for f in ('x', 'x.a', 'x.b', 'x.b.c', 'x.d', 'x.d.e'):
        ok(m.create(f))
    ok(m.subscribe('x.a')); ok(m.subscribe('x.b.c')); ok(m.subscribe('x.q.r'))
    out, tag = raw(m, b'LSUB "" x.%')
    assert b' OK' in tag, tag
    assert sorted(out) == [b'* LSUB () "." "x.a"', b'* LSUB (\\Noselect) "." "x.b"',
                           b'* LSUB (\\Noselect) "." "x.q"'], out
    out, tag = raw(m, b'LSUB "" *')
    assert sorted(out) == [b'* LSUB () "." "x.a"', b'* LSUB () "." "x.b.c"',
                           b'* LSUB (\\Noselect) "." "x.q.r"'], out
    m.logout()


def s_list_childinfo(port, md):
    """Issue 15, 6: LIST (SUBSCRIBED RECURSIVEMATCH) gives CHILDINFO for a
    match that is not subscribed but has a subscribed descendant the pattern
    leaves out (RFC 5258 3.5)."""
    m = conn(port)
    for f in ('p', 'p.c', 'q', 'q.q'):
        ok(m.create(f))
    ok(m.subscribe('p.c')); ok(m.subscribe('q.q'))
    out, tag = raw(m, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)')
    assert b' OK' in tag, tag
    p = [l for l in out if l.endswith(b'"p" (CHILDINFO ("SUBSCRIBED"))')]
    assert len(p) == 1 and b'\\HasChildren' in p[0], out
    assert any(l.endswith(b'"q" (CHILDINFO ("SUBSCRIBED"))') for l in out), out
    # a descendant that matches is listed itself: no CHILDINFO for its parent
    out, tag = raw(m, b'LIST (SUBSCRIBED RECURSIVEMATCH) "" (p p.c)')
    assert out == [b'* LIST (\\HasNoChildren \\Subscribed) "." "p.c"'], out
    out, tag = raw(m, b'LIST (SUBSCRIBED) "" %')
    assert not any(b'CHILDINFO' in l for l in out), out
    m.logout()


def s_binary_append(port, md):
    """Issue 15, 7: a literal8 APPEND with bare LF and CR keeps its octets:
    BINARY[1] gives exactly them back (RFC 3516 4.4); BODY[1] is base64."""
    m = conn(port)
    body = b'\x00-\xe4\n\r\n\n'
    msg = (b'From: user@domain.org\r\nMime-Version: 1.0\r\n'
           b'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n' + body)
    tag = m._new_tag()
    m.send(tag + b' APPEND INBOX ~{%d+}\r\n' % len(msg) + msg + b'\r\n')
    line = m.readline()
    assert line.startswith(tag + b' OK'), line
    ok(m.select('INBOX'))
    out, tag = raw(m, b'FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])')
    assert b' OK' in tag, tag
    assert out[0].startswith(b'* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] ~{7}\r\n' + body), out
    out, tag = raw(m, b'FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME])')
    assert b'AC3kCg0KCg==' in out[0] and b'Content-Transfer-Encoding: base64' in out, out
    # a spooled one (over 64 KiB) alike, and a part of a multipart
    big = bytes(range(256)) * 400
    msg = (b'From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n'
           b'--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
           b'--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n' + big +
           b'\r\n--XX--\r\n')
    out, tag = raw(m, b'APPEND INBOX ~{%d+}\r\n' % len(msg) + msg)
    assert b' OK' in tag, tag
    out, tag = raw(m, b'FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2] BODY.PEEK[1])')
    assert b' OK' in tag, tag
    text = b'\r\n'.join(out)
    assert text.startswith(b'* 2 FETCH (BINARY.SIZE[2] %d BINARY[2] ~{%d}\r\n' % (len(big), len(big)) + big), text[:80]
    assert b'BODY[1] {5}\r\nhello)' in text, text[-80:]
    m.logout()


def s_search_address(port, md):
    """Issue 15, 8: SEARCH FROM/TO/CC/BCC match the parsed addresses, comments
    and all (RFC 9051 6.4.4)."""
    m = conn(port)
    for frm in (b'<user-from (comment)@ (comment) domain.org>', b'user-from@domain.org (RealFrom)',
                b'=?utf-8?q?J=C3=BCrgen?= <jurgen@domain.org>', b'other@domain.org'):
        ok(m.append('INBOX', None, None, b'From: ' + frm + b'\r\nTo: group: a@b.org, c@d.org;\r\nSubject: x\r\n\r\nbody\r\n'))
    ok(m.select('INBOX'))

    def s(*crit):
        return ok(m.search('UTF-8', *crit))[0].split()
    assert s('FROM', 'user-from@domain.org') == [b'1', b'2'], s('FROM', 'user-from@domain.org')
    assert s('FROM', 'realfrom') == [b'2']
    assert s('FROM', 'comment') == []
    assert s('TO', 'c@d.org') == [b'1', b'2', b'3', b'4']
    # the decoded name, sent as a literal
    m.literal = 'Jürgen'.encode()
    assert ok(m.search('UTF-8', 'FROM'))[0].split() == [b'3']
    assert s('HEADER', 'FROM', '""') == [b'1', b'2', b'3', b'4']
    m.logout()


def s_fetch_labels(port, md):
    """Issue 10, 9: FETCH item labels are the canonical item names, never the
    command's text (no literal inside, no bare LF)."""
    m = conn(port)
    ok(m.append('INBOX', None, None, b'From: a@b.org\r\nSubject: hi\r\n\r\nbody\r\n'))
    ok(m.select('INBOX'))
    tag = m._new_tag()
    m.send(tag + b' FETCH 1 (body.peek[header.fields (subject {4+}\r\nFrom)] BODY.PEEK[1]<0.2> binary.peek[1])\r\n')
    out = []
    while True:
        l = m.readline()
        out.append(l)
        if l.startswith(tag):
            break
    text = b''.join(out)
    assert out[-1].startswith(tag + b' OK'), out
    assert b'BODY[HEADER.FIELDS (SUBJECT FROM)] {' in text, text
    assert b'BODY[1]<0> {2}' in text and b'BINARY[1] {' in text, text
    assert b'{4' not in text.split(b'\r\n', 1)[0], text
    # a field name that is no atom comes back quoted
    out, tag = raw(m, b'FETCH 1 (BODY.PEEK[HEADER.FIELDS ("x y" subject)])')
    assert b'BODY[HEADER.FIELDS ("x y" SUBJECT)]' in out[0], out
    m.logout()


def s_rename_child(port, md):
    """Issue 10, 10: RENAME of a folder into its own child is refused; a
    rename moves each child once."""
    m = conn(port)
    ok(m.create('Top')); ok(m.create('Top.kid'))
    typ, data = m.rename('Top', 'Top.child')
    assert typ == 'NO' and b'[CANNOT]' in data[0], (typ, data)
    ok(m.rename('Top', 'Moved'))
    names = sorted(re.search(rb'"([^"]+)"$', l).group(1) for l in ok(m.list()) if l)
    assert b'Moved' in names and b'Moved.kid' in names and b'Top' not in names and b'Top.kid' not in names, names
    assert not any(n.count(b'kid') > 1 for n in names), names
    m.logout()


if __name__ == '__main__':
    main(globals())
