#!/usr/bin/env python3
"""pochta-imapd extensions (issue 15), through Python's imaplib where it has the
command, and with hostile arguments: SORT, THREAD, ESORT, CONTEXT=SEARCH/SORT,
PARTIAL, WITHIN, SAVEDATE, MULTIAPPEND, CATENATE, OBJECTID, STATUS=SIZE,
CREATE-SPECIAL-USE, NOTIFY.

usage: ext.py NAME PORT MAILDIR [ARGS...]   (exit 0 = pass; a failed check raises)
"""
import imaplib, os, re, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scen import conn, ok          # noqa: E402
from concur import raw, main       # noqa: E402

for _c in ('SORT', 'THREAD', 'UID', 'CANCELUPDATE', 'NOTIFY', 'MOVE', 'ENABLE'):
    imaplib.Commands.setdefault(_c, ('AUTH', 'SELECTED'))


def put(md, name, text, sub='cur', t=None):
    """A message file written straight into the Maildir (fast, for big folders)."""
    p = os.path.join(md, sub, name)
    with open(p, 'w') as f:
        f.write(text)
    if t is not None:
        os.utime(p, (t, t))


def mail(subject, frm='bob@example.test', to='alice@example.test', date=None, extra=''):
    return ('From: %s\nTo: %s\nSubject: %s\n%s%s\nbody of %s\n'
            % (frm, to, subject, 'Date: %s\n' % date if date else '', extra, subject))


def numbers(line):
    return [int(x) for x in re.findall(rb'\d+', line)]


# ---------------------------------------------------------------- SORT

def s_sort(port, md):
    """SORT by every criterion through imaplib.sort, REVERSE, UID SORT, ties
    in mailbox order, the charset required, DISPLAYFROM (RFC 5957)."""
    m = conn(port)
    msgs = [('Re: banana', 'Carol <carol@c.org>', 'zed@z.org', 'Tue, 3 Feb 2026 10:00:00 +0000', 300),
            ('apple', 'alice@a.org', 'Anna <anna@a.org>', 'Mon, 2 Feb 2026 10:00:00 +0000', 100),
            ('[list] Fwd: cherry (fwd)', '"Bob" <bob@b.org>', 'yves@y.org', 'Wed, 4 Feb 2026 09:00:00 +0100', 200),
            ('banana', 'dave@d.org', 'bert@b.org', None, 50)]
    for subj, frm, to, date, size in msgs:
        ok(m.append('INBOX', None, '"01-Jan-2026 00:00:%02d +0000"' % (size % 60),
                    mail(subj, frm, to, date, 'X-Pad: %s\n' % ('x' * size)).replace('\n', '\r\n').encode()))
    ok(m.select('INBOX'))

    def srt(crit, *keys):
        return ok(m.sort(crit, 'UTF-8', *(keys or ('ALL',))))[0].split()
    assert srt('(SUBJECT)') == [b'2', b'1', b'4', b'3'], srt('(SUBJECT)')
    assert srt('(REVERSE SUBJECT)') == [b'3', b'1', b'4', b'2'], srt('(REVERSE SUBJECT)')
    assert srt('(FROM)') == [b'2', b'3', b'1', b'4'], srt('(FROM)')
    assert srt('(DISPLAYFROM)') == [b'2', b'3', b'1', b'4'], srt('(DISPLAYFROM)')
    assert srt('(TO)') == [b'2', b'4', b'3', b'1'], srt('(TO)')
    assert srt('(DISPLAYTO)') == [b'2', b'4', b'3', b'1'], srt('(DISPLAYTO)')
    assert srt('(SIZE)') == [b'4', b'2', b'3', b'1'], srt('(SIZE)')
    # DATE: the Date: header in UTC; message 4 has none and sorts by INTERNALDATE
    assert srt('(DATE)') == [b'4', b'2', b'1', b'3'], srt('(DATE)')
    assert srt('(SUBJECT REVERSE DATE)') == [b'2', b'1', b'4', b'3'], srt('(SUBJECT REVERSE DATE)')
    assert srt('(SUBJECT)', 'FROM', 'd.org') == [b'4']
    uids = ok(m.uid('SORT', '(REVERSE SIZE)', 'UTF-8', 'ALL'))[0].split()
    assert uids == [b'1', b'3', b'2', b'4'], uids
    for bad in ('SORT () UTF-8 ALL', 'SORT (BOGUS) UTF-8 ALL', 'SORT (REVERSE) UTF-8 ALL', 'SORT (SUBJECT) ALL',
                'SORT SUBJECT UTF-8 ALL', 'SORT (SUBJECT) UTF-8'):
        out, tag = raw(m, bad.encode())
        assert b' BAD ' in tag, (bad, tag)
    out, tag = raw(m, b'SORT (SUBJECT) KOI8-R ALL')
    assert b'NO [BADCHARSET' in tag, tag
    m.logout()


def s_esort(port, md):
    """ESORT and PARTIAL: RETURN (MIN MAX COUNT ALL PARTIAL) of SORT and
    SEARCH, ranges from the end (RFC 9394)."""
    m = conn(port)
    for i in range(6):
        ok(m.append('INBOX', None, None, mail('s%d' % (5 - i)).replace('\n', '\r\n').encode()))
    ok(m.select('INBOX'))
    out, tag = raw(m, b'SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL')
    assert out == [b'* ESEARCH (TAG "%s") MIN 6 MAX 1 COUNT 6 ALL 6,5,4,3,2,1' % tag.split()[0]], out
    out, tag = raw(m, b'SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL')
    assert out[0].endswith(b'PARTIAL (2:3 5,4)'), out
    out, tag = raw(m, b'UID SEARCH RETURN (PARTIAL -1:-2) ALL')
    assert out[0].endswith(b'UID PARTIAL (-1:-2 5:6)'), out
    out, tag = raw(m, b'SEARCH RETURN (PARTIAL 5:9) ALL')
    assert out[0].endswith(b'PARTIAL (5:9 5:6)'), out
    out, tag = raw(m, b'SEARCH RETURN (PARTIAL 9:10) ALL')
    assert out[0].endswith(b'PARTIAL (9:10 NIL)'), out
    for bad in (b'SEARCH RETURN (PARTIAL 1) ALL', b'SEARCH RETURN (PARTIAL 0:2) ALL', b'SEARCH RETURN (PARTIAL -1:2) ALL',
                b'SEARCH RETURN (PARTIAL 1:*) ALL', b'SEARCH RETURN (MIN MIN) ALL', b'SEARCH RETURN (SAVE) ALL'):
        out, tag = raw(m, bad)
        assert b' BAD ' in tag, (bad, tag)
    m.logout()


def s_context(port, md):
    """CONTEXT=SEARCH/SORT: RETURN (UPDATE) sends ADDTO/REMOVEFROM as another
    session changes flags, appends and expunges; CANCELUPDATE ends it; more
    than eight contexts get NOUPDATE."""
    m, o = conn(port), conn(port)
    for i in range(4):
        ok(m.append('INBOX', None, None, mail('c%d' % i).replace('\n', '\r\n').encode()))
    ok(m.select('INBOX')); ok(o.select('INBOX'))
    out, tag = raw(m, b'UID SEARCH RETURN (UPDATE ALL) SEEN')
    stag = tag.split()[0]
    assert out == [b'* ESEARCH (TAG "%s") UID' % stag], out
    out, tag = raw(m, b'UID SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 UNSEEN')
    ttag = tag.split()[0]
    ok(o.store('2,3', '+FLAGS', r'(\Seen)'))
    out, tag = raw(m, b'NOOP')
    assert b'* ESEARCH (TAG "%s") UID ADDTO (0 2:3)' % stag in out, out
    assert b'* ESEARCH (TAG "%s") UID REMOVEFROM (2 3:2)' % ttag in out or \
        b'* ESEARCH (TAG "%s") UID REMOVEFROM (2 3,2)' % ttag in out, out
    ok(o.store('2', '+FLAGS', r'(\Deleted)'))
    ok(o.expunge())
    ok(o.append('INBOX', r'(\Seen)', None, mail('c9').replace('\n', '\r\n').encode()))
    out, tag = raw(m, b'NOOP')
    assert b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 2)' % stag in out, out
    assert b'* ESEARCH (TAG "%s") UID ADDTO (0 5)' % stag in out, out
    assert out.index(b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 2)' % stag) < out.index(b'* 2 EXPUNGE'), out
    out, tag = raw(m, b'CANCELUPDATE "%s"' % stag)
    assert b' OK' in tag, tag
    ok(o.store('1', '+FLAGS', r'(\Seen)'))
    out, tag = raw(m, b'NOOP')
    assert not any(stag in l for l in out), out
    # a bounded number of them
    tags = []
    for i in range(9):
        out, tag = raw(m, b'SEARCH RETURN (UPDATE) ALL')
        tags.append(tag)
    assert any(b'OK [NOUPDATE' in t for t in tags), tags
    m.logout(); o.logout()


# ---------------------------------------------------------------- THREAD

def parse_thread(line):
    """A THREAD answer into nested lists (raises on unbalanced parentheses)."""
    out, stack = [], []
    cur = out
    for tok in re.findall(rb'\(|\)|\d+', line):
        if tok == b'(':
            stack.append(cur); n = []; cur.append(n); cur = n
        elif tok == b')':
            cur = stack.pop()
        else:
            cur.append(int(tok))
    assert not stack, 'unbalanced'
    return out


def s_thread(port, md):
    """THREAD REFERENCES and ORDEREDSUBJECT through imaplib.thread: RFC 5256's
    example shapes, loops and duplicate ids."""
    m = conn(port)
    spec = [  # (message-id, references, subject, date)
        ('<1@x>', '', 'tree', 'Mon, 2 Feb 2026 10:00:00 +0000'),
        ('<2@x>', '<1@x>', 'Re: tree', 'Mon, 2 Feb 2026 11:00:00 +0000'),
        ('<3@x>', '<1@x>', 'Re: tree', 'Mon, 2 Feb 2026 12:00:00 +0000'),
        ('<4@x>', '<1@x> <3@x>', 'Re: tree', 'Mon, 2 Feb 2026 13:00:00 +0000'),
        ('<5@x>', '<gone@x>', 'orphan', 'Mon, 2 Feb 2026 14:00:00 +0000'),
        ('<6@x>', '<gone@x>', 'orphan', 'Mon, 2 Feb 2026 15:00:00 +0000'),
        ('<7@x>', '<8@x>', 'loop', 'Mon, 2 Feb 2026 16:00:00 +0000'),
        ('<8@x>', '<7@x>', 'loop', 'Mon, 2 Feb 2026 17:00:00 +0000'),
        ('<9@x>', '<9@x>', 'self', 'Mon, 2 Feb 2026 18:00:00 +0000'),
        ('<1@x>', '', 'duplicate id', 'Mon, 2 Feb 2026 19:00:00 +0000'),
    ]
    for mid, refs, subj, date in spec:
        ok(m.append('INBOX', None, None, mail(subj, date=date, extra='Message-ID: %s\n%s' % (
            mid, 'References: %s\n' % refs if refs else '')).replace('\n', '\r\n').encode()))
    ok(m.select('INBOX'))
    t = ok(m.thread('REFERENCES', 'UTF-8', 'ALL'))[0]
    # 8 refers to 7, which refers to 8: the link that would close the loop is not made
    assert t == b'(1 (2)(3 4))((5)(6))(8 7)(9)(10)', t
    t = ok(m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL'))[0]
    assert t == b'(1 (2)(3)(4))(5 6)(7 8)(9)(10)', t
    t = ok(m.uid('THREAD', 'REFERENCES', 'UTF-8', 'SUBJECT', 'tree'))[0]
    assert t == b'(1 (2)(3 4))', t
    for bad in ('THREAD BOGUS UTF-8 ALL', 'THREAD REFERENCES ALL', 'THREAD'):
        out, tag = raw(m, bad.encode())
        assert b' BAD ' in tag, (bad, tag)
    m.logout()


def s_thread_deep(port, md):
    """Hostile: a reply tree nested N deep (each reply has a reply and a leaf),
    a chain of N, and References of 20,000 ids: THREAD answers with every
    message once, parentheses balanced; the session goes on."""
    n = 3000
    t0 = 1770000000
    m = conn(port)
    ok(m.create('deep'))
    d = os.path.join(md, '.deep')
    for i in range(n):
        parent = '<s%d@x>' % (i - 1) if i else ''
        for kind in ('s', 'l'):
            if kind == 'l' and not i:
                continue
            put(d, '%d.M%d%sP1.deep:2,S' % (t0 + i, i, kind), mail('deep', extra='Message-ID: <%s%d@x>\n%s' % (
                kind, i, 'In-Reply-To: %s\n' % parent if parent else '')), t=t0 + i)
    for i in range(n):
        put(d, '%d.M%dcP1.chain:2,S' % (t0 + n + i, i), mail('chain', extra='Message-ID: <c%d@x>\n%s' % (
            i, 'References: %s\n' % ' '.join('<c%d@x>' % k for k in range(max(0, i - 50), i)) if i else '')), t=t0 + n + i)
    refs = ' '.join('<r%d@x>' % k for k in range(20000))
    put(d, '%d.Mbig.refs:2,S' % (t0 + 3 * n), mail('refs', extra='Message-ID: <big@x>\nReferences: %s\n' % refs), t=t0 + 3 * n)
    ok(m.select('deep'))
    total = 3 * n
    start = time.time()
    t = ok(m.thread('REFERENCES', 'UTF-8', 'ALL'))[0]
    took = time.time() - start
    tree = parse_thread(t)
    flat = []
    stack = [tree]
    while stack:
        x = stack.pop()
        for y in x:
            (stack.append(y) if isinstance(y, list) else flat.append(y))
    assert sorted(flat) == list(range(1, total + 1)), (len(flat), total)
    depth = level = 0
    for ch in t:
        level += ch == 0x28
        level -= ch == 0x29
        depth = max(depth, level)
    print('THREAD REFERENCES of %d messages, nested %d deep: %.2f s' % (total, depth, took))
    assert depth > n // 2, depth
    t = ok(m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL'))[0]
    assert len(parse_thread(t)) == 3, t[:200]
    ok(m.noop())
    m.logout()


def s_sort_huge(port, md):
    """Hostile: SORT of 20,000 messages by subject, and a search set of 4096
    ranges: answered, the session goes on (times printed)."""
    n = 20000
    m = conn(port)
    ok(m.create('huge'))
    d = os.path.join(md, '.huge')
    for i in range(n):
        put(d, '%d.M%dP1.huge:2,S' % (1770000000 + i, i), mail('Re: subject %05d' % ((i * 7919) % n)))
    ok(m.select('huge'))
    start = time.time()
    s = ok(m.sort('(SUBJECT)', 'UTF-8', 'ALL'))[0].split()
    took = time.time() - start
    assert len(s) == n and s[0] == b'1', (len(s), s[:3])
    start = time.time()
    s2 = ok(m.sort('(SUBJECT)', 'UTF-8', 'ALL'))[0].split()
    took2 = time.time() - start
    assert s2 == s
    ranges = ','.join('%d:%d' % (k, k + 1) for k in range(1, 4 * 4096, 4))
    start = time.time()
    out, tag = raw(m, b'SORT (REVERSE SUBJECT) UTF-8 ' + ranges.encode())
    took3 = time.time() - start
    assert b' OK' in tag and len(out[0].split()) == 2 + 2 * 4096, (tag, len(out[0].split()))
    print('SORT of %d messages: %.2f s, again (keys cached): %.2f s, of 4096 ranges: %.2f s' % (n, took, took2, took3))
    out, tag = raw(m, b'SORT (SUBJECT) UTF-8 ' + ','.join(str(k) for k in range(1, 9000)).encode())
    assert b' BAD ' in tag, tag   # over 4096 ranges: refused, not served
    ok(m.noop())
    m.logout()


# ---------------------------------------------------------------- small ones

def s_within_savedate_size(port, md):
    """WITHIN (OLDER/YOUNGER, RFC 5032), SAVEDATE (FETCH and SAVED* keys,
    RFC 8514) and STATUS SIZE (RFC 8438)."""
    m = conn(port)
    now = int(time.time())
    ok(m.append('INBOX', None, '"01-Jan-2020 10:00:00 +0000"', mail('old').replace('\n', '\r\n').encode()))
    ok(m.append('INBOX', None, None, mail('new').replace('\n', '\r\n').encode()))
    # a file another program put there with no time in its name: no save date
    put(md, 'handmade:2,S', mail('handmade'))
    ok(m.select('INBOX'))
    assert ok(m.search(None, 'OLDER', '3600'))[0].split() == [b'1'], ok(m.search(None, 'OLDER', '3600'))
    assert ok(m.search(None, 'YOUNGER', '3600'))[0].split() == [b'2', b'3']
    for bad in ('OLDER 0', 'YOUNGER -5', 'OLDER', 'YOUNGER x'):
        out, tag = raw(m, b'SEARCH ' + bad.encode())
        assert b' BAD ' in tag, (bad, tag)
    d = ok(m.fetch('1:3', '(SAVEDATE INTERNALDATE)'))
    assert b'SAVEDATE NIL' in d[2], d
    sd = re.search(rb'SAVEDATE "(\d+)-(\w+)-(\d+)', d[0])
    assert sd and int(sd.group(3)) == time.gmtime(now).tm_year, d[0]
    today = time.strftime('%d-%b-%Y', time.gmtime(now))
    assert ok(m.search(None, 'SAVEDON', today))[0].split() == [b'1', b'2'], ok(m.search(None, 'SAVEDON', today))
    assert ok(m.search(None, 'SAVEDBEFORE', today))[0].split() == []
    assert ok(m.search(None, 'SAVEDATESUPPORTED'))[0].split() == [b'1', b'2', b'3']
    st = ok(m.status('INBOX', '(SIZE MESSAGES)'))[0]
    sizes = sum(int(x) for x in re.findall(rb'RFC822.SIZE (\d+)', b' '.join(ok(m.fetch('1:3', '(RFC822.SIZE)')))))
    assert b'SIZE %d' % sizes in st and b'MESSAGES 3' in st, (st, sizes)
    m.logout()


def s_objectid(port, md):
    """OBJECTID (RFC 8474): MAILBOXID in CREATE, SELECT and STATUS, kept by
    RENAME, new after DELETE+CREATE; EMAILID the same for copies and moves,
    different for another message; SEARCH EMAILID; THREADID NIL."""
    m = conn(port)
    typ, d = m.create('obj')
    assert typ == 'OK' and re.search(rb'\[MAILBOXID \((F[0-9a-f]{32})\)\]', d[0]), d
    mid = re.search(rb'MAILBOXID \((F[0-9a-f]{32})\)', d[0]).group(1)
    ok(m.append('obj', None, None, mail('one').replace('\n', '\r\n').encode()))
    ok(m.append('obj', None, None, mail('two').replace('\n', '\r\n').encode()))
    st = ok(m.status('obj', '(MAILBOXID MESSAGES)'))[0]
    assert b'MAILBOXID (' + mid + b')' in st, st
    ok(m.rename('obj', 'obj2'))
    assert b'MAILBOXID (' + mid + b')' in ok(m.status('obj2', '(MAILBOXID)'))[0]
    ok(m.select('obj2'))
    assert any(b'MAILBOXID (' + mid + b')' in x for x in m.untagged_responses.get('OK', [])), m.untagged_responses
    d = ok(m.fetch('1:2', '(EMAILID THREADID)'))
    ids = [re.search(rb'EMAILID \((M[0-9a-f]{24})\)', x).group(1) for x in d]
    assert ids[0] != ids[1] and all(b'THREADID NIL' in x for x in d), d
    ok(m.copy('1', 'INBOX'))
    ok(m._simple_command('MOVE', '2', 'INBOX'))
    ok(m.select('INBOX'))
    d = ok(m.fetch('1:2', '(EMAILID)'))
    assert [re.search(rb'EMAILID \((M[0-9a-f]{24})\)', x).group(1) for x in d] == ids, (d, ids)
    assert ok(m.search(None, 'EMAILID', ids[1].decode()))[0].split() == [b'2']
    assert ok(m.search(None, 'THREADID', 'T1'))[0].split() == []
    ok(m.delete('obj2'))
    typ, d = m.create('obj2')
    assert mid not in d[0], d
    m.logout()


def s_create_special_use(port, md):
    """CREATE-SPECIAL-USE (RFC 6154): CREATE name (USE (\\Sent \\Archive))
    shows in LIST and LIST (SPECIAL-USE), survives RENAME; an unknown
    attribute is NO [USEATTR] and makes nothing."""
    m = conn(port)
    out, tag = raw(m, b'CREATE "Outbox" (USE (\\Sent \\Archive))')
    assert b' OK' in tag, tag
    out, tag = raw(m, b'LIST (SPECIAL-USE) "" "Out*"')
    assert out == [b'* LIST (\\HasNoChildren \\Archive \\Sent) "." "Outbox"'], out
    ok(m.rename('Outbox', 'SentMail'))
    out, tag = raw(m, b'LIST "" "SentMail" RETURN (SPECIAL-USE)')
    assert b'\\Sent' in out[0], out
    out, tag = raw(m, b'CREATE "Weird" (USE (\\Bogus))')
    assert b'NO [USEATTR]' in tag, tag
    out, tag = raw(m, b'CREATE "Weird" (USE ())')
    assert b' BAD ' in tag, tag
    assert not os.path.exists(os.path.join(md, '.Weird'))
    m.logout()


def s_fetch_partial(port, md):
    """PARTIAL (RFC 9394): UID FETCH ... (PARTIAL range), from the start and
    from the end; only for UID FETCH."""
    m = conn(port)
    for i in range(10):
        ok(m.append('INBOX', None, None, mail('p%d' % i).replace('\n', '\r\n').encode()))
    ok(m.select('INBOX'))
    out, tag = raw(m, b'UID FETCH 1:* (FLAGS) (PARTIAL -1:-3)')
    assert [numbers(l)[0] for l in out] == [8, 9, 10], out
    out, tag = raw(m, b'UID FETCH 3:* (UID) (PARTIAL 2:4)')
    assert [numbers(l)[1] for l in out] == [4, 5, 6], out
    out, tag = raw(m, b'UID FETCH 1:* (UID) (PARTIAL 20:30)')
    assert out == [] and b' OK' in tag, (out, tag)
    out, tag = raw(m, b'FETCH 1:* (UID) (PARTIAL 1:2)')
    assert b' BAD ' in tag, tag
    m.logout()


# ---------------------------------------------------------------- NOTIFY

def wait_lines(m, want, secs=5):
    """Read unsolicited lines (no command sent) until every one of want was
    seen: the lines read."""
    # (a read that times out leaves the connection unusable: only on failure)
    m.sock.settimeout(secs)
    got = []
    try:
        while not all(any(w in l for l in got) for w in want):
            got.append(m.readline().rstrip())
    except OSError:
        pass
    m.sock.settimeout(None)
    missing = [w for w in want if not any(w in l for l in got)]
    assert not missing, (missing, got)
    return got


def s_notify(port, md, deliver):
    """NOTIFY (RFC 5465), told between commands and in IDLE with nothing sent
    by the client: STATUS of other mailboxes, LIST for new mailboxes and
    subscriptions, EXISTS and FETCH of new messages in the selected one (also
    a pochta-deliver delivery); NOTIFY NONE stops it."""
    a, b = conn(port), conn(port)
    ok(a.create('watched'))
    ok(a.select('INBOX'))
    out, tag = raw(a, b'NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))'
                      b' (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))')
    assert b' OK' in tag, (out, tag)
    assert any(l.startswith(b'* STATUS "watched" (MESSAGES 0') for l in out), out
    # another mailbox: STATUS, with no command from a
    ok(b.append('watched', None, None, mail('w1').replace('\n', '\r\n').encode()))
    wait_lines(a, [b'* STATUS "watched" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY'])
    # the selected one: EXISTS and the FETCH asked for
    ok(b.append('INBOX', None, None, mail('i1').replace('\n', '\r\n').encode()))
    wait_lines(a, [b'* 1 EXISTS', b'Subject: i1'])
    # mailboxes and subscriptions
    ok(b.create('newbox'))
    wait_lines(a, [b'* LIST () "." "newbox"'])
    ok(b.subscribe('newbox'))
    wait_lines(a, [b'* LIST (\\Subscribed) "." "newbox"'])
    ok(b.delete('newbox'))
    wait_lines(a, [b'* LIST (\\NonExistent) "." "newbox"'])
    # in IDLE too, a delivery by pochta-deliver
    tag = a._new_tag()
    a.send(tag + b' IDLE\r\n')
    assert a.readline().startswith(b'+')
    import subprocess
    subprocess.check_call(deliver % md, shell=True)
    wait_lines(a, [b'* 2 EXISTS'])
    ok(b.select('INBOX'))
    ok(b.store('1', '+FLAGS', r'(\Flagged)'))
    wait_lines(a, [b'FLAGS (\\Flagged'])
    a.send(b'DONE\r\n')
    while not a.readline().startswith(tag):
        pass
    out, tag = raw(a, b'NOTIFY NONE')
    assert b' OK' in tag
    ok(b.append('watched', None, None, mail('w2').replace('\n', '\r\n').encode()))
    time.sleep(1)
    out, tag = raw(a, b'NOOP')
    assert not any(b'STATUS' in l for l in out), out
    a.logout(); b.logout()


def s_notify_hostile(port, md):
    """Hostile NOTIFY: 600 mailboxes watched (a change in the last one is
    told), 1001 refused, unknown events, fetch attributes that are none,
    broken syntax; the session goes on."""
    a, b = conn(port), conn(port)
    for i in range(600):
        os.makedirs(os.path.join(md, '.n%03d' % i, 'cur'))
        os.makedirs(os.path.join(md, '.n%03d' % i, 'new'))
        os.makedirs(os.path.join(md, '.n%03d' % i, 'tmp'))
    names = b' '.join(b'n%03d' % i for i in range(600))
    t0 = time.time()
    out, tag = raw(a, b'NOTIFY SET STATUS (mailboxes (' + names + b') (MessageNew MessageExpunge))')
    assert b' OK' in tag and sum(1 for l in out if l.startswith(b'* STATUS')) == 600, (tag, len(out))
    print('NOTIFY SET of 600 mailboxes: %.2f s' % (time.time() - t0))
    ok(b.append('n599', None, None, mail('x').replace('\n', '\r\n').encode()))
    wait_lines(a, [b'* STATUS "n599" (MESSAGES 1'])
    many = b' '.join(b'm%04d' % i for i in range(1001))
    out, tag = raw(a, b'NOTIFY SET (mailboxes (' + many + b') (MessageNew MessageExpunge))')
    assert b'NO [LIMIT]' in tag, tag
    out, tag = raw(a, b'NOTIFY SET (personal (AnnotationChange))')
    assert b'NO [BADEVENT' in tag, tag
    ok(a.select('INBOX'))
    for bad in (b'NOTIFY SET (selected (MessageNew (BOGUS[) MessageExpunge))', b'NOTIFY SET', b'NOTIFY SET ()',
                b'NOTIFY SET (nowhere (MessageNew))', b'NOTIFY SET (personal (MessageNew)', b'NOTIFY BOGUS',
                b'NOTIFY SET (selected (MailboxName))'):
        out, tag = raw(a, bad)
        assert b' BAD ' in tag, (bad, tag)
    ok(a.noop())
    a.logout(); b.logout()


# ---------------------------------------------------------------- APPEND

def send_literals(m, head, parts, tail=b''):
    """A command of several synchronizing literals over imaplib's connection
    (imaplib itself sends one): head {n} data ... tail. The untagged and
    tagged answer lines."""
    tag = m._new_tag()
    m.send(tag + b' ' + head)
    for i, (pre, data) in enumerate(parts):
        m.send(pre + b'{%d}\r\n' % len(data))
        cont = m.readline()
        if not cont.startswith(b'+'):
            return [], cont.rstrip()
        m.send(data)
    m.send(tail + b'\r\n')
    out = []
    while True:
        l = m.readline()
        if l.startswith(tag + b' '):
            return out, l.rstrip()
        out.append(l.rstrip())


def count(md, box=''):
    d = os.path.join(md, '.' + box) if box else md
    return sum(len(os.listdir(os.path.join(d, x))) for x in ('cur', 'new'))


def s_multiappend(port, md):
    """MULTIAPPEND (RFC 3502) over an imaplib connection: several messages,
    big ones spooled, flags and dates each, one APPENDUID set; all or none:
    a bad third message stores nothing; a thousand and one are refused."""
    m = conn(port)
    big = ('x' * 998 + '\r\n') * 120
    msgs = [(b'', mail('one').replace('\n', '\r\n').encode()),
            (b' (\\Flagged) "02-Feb-2026 10:00:00 +0000" ', mail('two', extra='X-Big: yes\n').replace('\n', '\r\n').encode() + big.encode()),
            (b' (\\Seen kw1) ', mail('three').replace('\n', '\r\n').encode() + big.encode())]
    out, tag = send_literals(m, b'APPEND INBOX ', msgs)
    assert b'OK [APPENDUID' in tag and tag.split()[4] == b'1:3]', tag
    ok(m.select('INBOX'))
    d = ok(m.fetch('1:3', '(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
    text = b' '.join(x[0] + x[1] if isinstance(x, tuple) else x for x in d)
    assert b'Subject: one' in text and b'Subject: two' in text and b'Subject: three' in text, text
    assert b'02-Feb-2026 10:00:00' in text and b'\\Flagged' in text and b'kw1' in text, text
    before = count(md)
    out, tag = send_literals(m, b'APPEND INBOX ', [(b'', b'Subject: a\r\n\r\nx\r\n'), (b' ', b'Subject: b\r\n\r\nx\r\n')], b' (\\Bogus) {1+}\r\nx')
    assert b' BAD ' in tag, tag
    assert count(md) == before and not os.listdir(os.path.join(md, 'tmp')), (count(md), os.listdir(os.path.join(md, 'tmp')))
    out, tag = send_literals(m, b'APPEND Nonexistent ', [(b'', b'Subject: a\r\n\r\nx\r\n'), (b' ', b'Subject: b\r\n\r\nx\r\n')])
    assert b'NO [TRYCREATE]' in tag, tag
    tag = m._new_tag()
    m.send(tag + b' APPEND INBOX' + b' {1+}\r\nx' * 1001 + b'\r\n')
    while True:
        l = m.readline()
        if l.startswith(tag):
            break
    assert b'NO [LIMIT]' in l, l
    assert count(md) == before
    m.logout()


def s_catenate(port, md):
    """CATENATE (RFC 4469): text and URL parts (absolute, with UIDVALIDITY,
    relative, SECTION, PARTIAL); hostile: a URL to an expunged message, to a
    path outside the user's folders, broken escapes, a wrong UIDVALIDITY,
    too many parts: NO [BADURL ...] and nothing stored."""
    m = conn(port)
    src = ('From: a@b.org\r\nSubject: source\r\nMime-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n'
           '--B\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--B\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--B--\r\n')
    ok(m.append('INBOX', None, None, src.encode()))
    st = ok(m.status('INBOX', '(UIDVALIDITY)'))[0]
    v = int(re.search(rb'UIDVALIDITY (\d+)', st).group(1))
    ok(m.create('out'))
    out, tag = send_literals(m, b'APPEND out CATENATE (', [(b'TEXT ', b'From: me@x.org\r\nSubject: made\r\n\r\n')],
                             b' URL "/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=1" URL "/INBOX/;uid=1/;section=2/;partial=0.6" URL "imap://alice@localhost/INBOX/;UID=1/;SECTION=HEADER.FIELDS%%20(SUBJECT)")' % v)
    assert b' OK [APPENDUID' in tag, tag
    ok(m.select('out'))
    body = ok(m.fetch('1', '(BODY.PEEK[])'))[0][1]
    assert body == b'From: me@x.org\r\nSubject: made\r\n\r\nfirst partsecondSubject: source\r\n\r\n', body
    # relative to the selected mailbox
    ok(m.select('INBOX'))
    out, tag = send_literals(m, b'APPEND out CATENATE (', [(b'TEXT ', b'Subject: rel\r\n\r\n')], b' URL ";UID=1/;SECTION=1")')
    assert b' OK' in tag, tag
    before = count(md, 'out')
    for url in (b'/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=1' % (v + 1), b'/INBOX/;UID=99', b'/INBOX/../../etc/;UID=1',
                b'/IN%zzBOX/;UID=1', b'/INBOX/;UID=0', b'/INBOX/;UID=1/;SECTION=9.9.HEADER.FIELDS (', b'/Nope/;UID=1', b'garbage'):
        out, tag = send_literals(m, b'APPEND out CATENATE (', [(b'TEXT ', b'Subject: x\r\n\r\n')], b' URL "' + url + b'")')
        assert b' NO [BADURL' in tag or b' BAD ' in tag, (url, tag)
    # a URL to a message another session expunged
    o = conn(port)
    ok(o.select('INBOX'))
    ok(o.store('1', '+FLAGS', r'(\Deleted)'))
    ok(o.expunge())
    out, tag = send_literals(m, b'APPEND out CATENATE (', [(b'TEXT ', b'Subject: x\r\n\r\n')], b' URL "/INBOX/;UID=1/;SECTION=1")')
    assert b' NO [BADURL /INBOX/;UID=1/;SECTION=1]' in tag, tag
    tag = m._new_tag()
    m.send(tag + b' APPEND out CATENATE (' + b' '.join([b'URL "/out/;UID=1"'] * 101) + b')\r\n')
    l = m.readline()
    while not l.startswith(tag):
        l = m.readline()
    assert b'NO [LIMIT]' in l, l
    assert count(md, 'out') == before and not os.listdir(os.path.join(md, 'tmp')), os.listdir(os.path.join(md, 'tmp'))
    m.logout(); o.logout()


if __name__ == '__main__':
    main(globals())
