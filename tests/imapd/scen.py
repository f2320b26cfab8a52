#!/usr/bin/env python3
"""IMAP scenarios for pochta-imapd, driven by Python's imaplib against a real server.

usage: scen.py NAME PORT [ARGS...]   (exit 0 = pass; a failed check raises)
Users alice@example.test and bob@example.test have password "secret".
"""
import imaplib, os, re, socket, sys, time, base64

HOST = '127.0.0.1'
USER = 'alice@example.test'
PASS = 'secret'


for _c in ('ID', 'NAMESPACE', 'ENABLE', 'UNSELECT', 'MOVE', 'IDLE', 'BOGUS'):
    imaplib.Commands.setdefault(_c, ('NONAUTH', 'AUTH', 'SELECTED', 'LOGOUT'))


def cmd(m, name, *args):
    """Run a command; return (typ, data) for BAD too instead of raising."""
    imaplib.Commands.setdefault(name, ('NONAUTH', 'AUTH', 'SELECTED', 'LOGOUT'))
    saved = imaplib.Commands[name]
    imaplib.Commands[name] = ('NONAUTH', 'AUTH', 'SELECTED', 'LOGOUT')
    try:
        tag = m._command(name, *args)
        try:
            return m._command_complete(name, tag)
        except m.error as e:
            return 'BAD', [str(e).encode()]
    finally:
        imaplib.Commands[name] = saved


def conn(port, login=True, user=USER):
    m = imaplib.IMAP4(HOST, port)
    if login:
        typ, _ = m.login(user, PASS)
        assert typ == 'OK'
    return m


def ok(r):
    typ, data = r
    assert typ == 'OK', (typ, data)
    return data


def msg(subject, body='hello\r\n', frm='bob@example.test', extra=''):
    return ('From: %s\r\nTo: alice@example.test\r\nSubject: %s\r\n'
            'Date: Mon, 2 Feb 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.test>\r\n%s\r\n%s'
            % (frm, subject, re.sub(r'\W', '', subject) or 'x', extra, body)).encode()


def untagged(m, name):
    return m.untagged_responses.get(name, [])


# ---------------------------------------------------------------- scenarios

def s_capability(port):
    m = conn(port, login=False)
    caps = m.capabilities
    assert 'IMAP4REV1' in caps and 'IMAP4REV2' in caps, caps
    assert 'AUTH=PLAIN' in caps and 'SASL-IR' in caps, caps
    ok(m.noop())
    typ, data = m._simple_command('CAPABILITY')
    assert typ == 'OK'
    m.logout()


def s_logindisabled(port):
    m = conn(port, login=False)
    assert 'LOGINDISABLED' in m.capabilities, m.capabilities
    assert 'AUTH=PLAIN' not in m.capabilities
    try:
        m.login(USER, PASS)
        raise AssertionError('login without TLS accepted')
    except imaplib.IMAP4.error as e:
        assert 'PRIVACYREQUIRED' in str(e), e
    m.logout()


def s_login(port):
    m = conn(port, login=False)
    try:
        m.login(USER, 'wrong')
        raise AssertionError('wrong password accepted')
    except imaplib.IMAP4.error as e:
        assert 'AUTHENTICATIONFAILED' in str(e), e
    try:
        m.login('nobody@example.test', 'secret')
        raise AssertionError('unknown user accepted')
    except imaplib.IMAP4.error as e:
        assert 'AUTHENTICATIONFAILED' in str(e), e
    # the session goes on after failures
    typ, data = m.login(USER, PASS)
    assert typ == 'OK' and b'LOGIN completed' in data[0], data
    assert 'UIDPLUS' in m.capabilities or True
    ok(m.select('INBOX'))
    m.logout()


def s_authplain(port):
    # SASL-IR
    m = conn(port, login=False)
    ir = base64.b64encode(b'\0' + USER.encode() + b'\0' + PASS.encode()).decode()
    typ, data = m._simple_command('AUTHENTICATE', 'PLAIN', ir)
    assert typ == 'OK', (typ, data)
    m.state = 'AUTH'
    ok(m.select('INBOX'))
    m.logout()
    # challenge/response, as imaplib does it
    m = conn(port, login=False)
    typ, data = m.authenticate('PLAIN', lambda _: b'\0' + USER.encode() + b'\0' + PASS.encode())
    assert typ == 'OK', (typ, data)
    m.logout()
    # wrong password, then an authzid for someone else
    m = conn(port, login=False)
    try:
        m.authenticate('PLAIN', lambda _: b'\0' + USER.encode() + b'\0nope')
        raise AssertionError('accepted')
    except imaplib.IMAP4.error as e:
        assert 'AUTHENTICATIONFAILED' in str(e), e
    try:
        m.authenticate('PLAIN', lambda _: b'bob@example.test\0' + USER.encode() + b'\0' + PASS.encode())
        raise AssertionError('accepted')
    except imaplib.IMAP4.error as e:
        assert 'AUTHORIZATIONFAILED' in str(e), e
    m.logout()


def s_special_use(port):
    m = conn(port)
    data = ok(m.list('""', '*'))
    text = b'\n'.join(data)
    for name, flag in (('Sent', b'\\Sent'), ('Drafts', b'\\Drafts'), ('Junk', b'\\Junk'),
                       ('Trash', b'\\Trash'), ('Archive', b'\\Archive')):
        assert re.search(rb'\(([^)]*)' + re.escape(flag) + rb'[^)]*\) "\." "?' + name.encode(), text), (name, text)
    assert b'"INBOX"' in text
    # LIST (SPECIAL-USE): only those
    typ, data = m._simple_command('LIST', '(SPECIAL-USE)', '""', '"*"')
    lines = untagged(m, 'LIST')
    assert typ == 'OK' and len(lines) == 5, lines
    m.logout()


def s_folders(port):
    m = conn(port)
    ok(m.create('Work'))
    ok(m.create('Work.Projects'))
    typ, data = m.create('Work')
    assert typ == 'NO' and b'ALREADYEXISTS' in data[0], data
    typ, data = m.create('INBOX')
    assert typ == 'NO', data
    for bad in ('a/b', '.hidden', 'x..y', '../etc'):
        typ, data = m.create(bad)
        assert typ == 'NO', (bad, data)
    text = b'\n'.join(ok(m.list('""', '*')))
    assert b'(\\HasChildren) "." "Work"' in text, text
    assert b'(\\HasNoChildren) "." "Work.Projects"' in text, text
    text = b'\n'.join(ok(m.list('""', '%')))
    assert b'"Work.Projects"' not in text and b'"Work"' in text, text
    text = b'\n'.join(ok(m.list('Work.', '%')))
    assert b'"Work.Projects"' in text, text
    typ, data = m.list('""', '""')
    assert data == [b'(\\Noselect) "." ""'], data
    # RENAME moves children too
    ok(m.rename('Work', 'Job'))
    text = b'\n'.join(ok(m.list('""', '*')))
    assert b'"Job"' in text and b'"Job.Projects"' in text and b'"Work' not in text, text
    typ, data = m.rename('Nope', 'Other')
    assert typ == 'NO' and b'NONEXISTENT' in data[0], data
    typ, data = m.rename('Job', 'Sent')
    assert typ == 'NO' and b'ALREADYEXISTS' in data[0], data
    # SUBSCRIBE / LSUB / LIST (SUBSCRIBED)
    ok(m.subscribe('Job'))
    ok(m.subscribe('INBOX'))
    data = ok(m.lsub('""', '*'))
    assert sorted(data) == sorted([b'() "." "INBOX"', b'() "." "Job"']), data
    typ, _ = m._simple_command('LIST', '(SUBSCRIBED)', '""', '"*"')
    lines = untagged(m, 'LIST')
    assert typ == 'OK' and len(lines) == 2 and all(b'\\Subscribed' in l for l in lines), lines
    ok(m.unsubscribe('Job'))
    data = ok(m.lsub('""', '*'))
    assert data == [b'() "." "INBOX"'], data
    # LIST-STATUS and RETURN (CHILDREN)
    typ, _ = m._simple_command('LIST', '""', '"Job*"', 'RETURN', '(CHILDREN STATUS (MESSAGES UNSEEN))')
    st = untagged(m, 'STATUS')
    assert typ == 'OK' and len(st) == 2, st
    # DELETE
    ok(m.delete('Job.Projects'))
    ok(m.delete('Job'))
    typ, data = m.delete('Job')
    assert typ == 'NO' and b'NONEXISTENT' in data[0], data
    typ, data = m.delete('INBOX')
    assert typ == 'NO', data
    m.untagged_responses.clear()
    text = b'\n'.join(ok(m.list('""', '*')))
    assert b'Job' not in text, text
    m.logout()


def s_rename_inbox(port):
    m = conn(port)
    for i in range(3):
        ok(m.append('INBOX', None, None, msg('inbox %d' % i)))
    ok(m.rename('INBOX', 'Old'))
    st = ok(m.status('INBOX', '(MESSAGES)'))
    assert b'MESSAGES 0' in st[0], st
    st = ok(m.status('Old', '(MESSAGES)'))
    assert b'MESSAGES 3' in st[0], st
    m.logout()


def s_append(port):
    m = conn(port)
    data = ok(m.append('INBOX', r'(\Seen \Flagged $Label1)', '"02-Feb-2026 10:00:00 +0100"', msg('appended')))
    mm = re.search(rb'APPENDUID (\d+) (\d+)', data[0])
    assert mm, data
    uidv, uid = int(mm.group(1)), int(mm.group(2))
    typ, data = m.append('NoSuchBox', None, None, msg('x'))
    assert typ == 'NO' and b'TRYCREATE' in data[0], data
    data = ok(m.select('INBOX'))
    data = ok(m.uid('FETCH', str(uid), '(FLAGS INTERNALDATE RFC822.SIZE)'))
    line = data[0]
    assert b'\\Seen' in line and b'\\Flagged' in line and b'$Label1' in line, line
    assert b'INTERNALDATE "02-Feb-2026 09:00:00 +0000"' in line, line
    size = int(re.search(rb'RFC822.SIZE (\d+)', line).group(1))
    assert size == len(msg('appended')), (size, len(msg('appended')))
    # the file on disk has LF line ends
    md = os.environ['MD']
    files = os.listdir(md + '/cur')
    assert any(b'\r' not in open(md + '/cur/' + f, 'rb').read() for f in files)
    # a big literal (streamed to a spool file), byte for byte back
    big = msg('big', body=''.join('line %06d of a big message\r\n' % i for i in range(40000)))
    data = ok(m.append('INBOX', None, None, big))
    uid2 = int(re.search(rb'APPENDUID \d+ (\d+)', data[0]).group(1))
    data = ok(m.uid('FETCH', str(uid2), '(BODY.PEEK[])'))
    assert data[0][1] == big, (len(data[0][1]), len(big))
    # UIDVALIDITY is what SELECT says
    ok(m.select('INBOX'))
    assert int(untagged(m, 'UIDVALIDITY')[-1]) == uidv
    m.logout()


def fill(m, n, box='INBOX'):
    for i in range(n):
        ok(m.append(box, None, None, msg('message %d' % (i + 1), body='body number %d\r\n' % (i + 1))))


def s_select(port):
    m = conn(port)
    fill(m, 3)
    data = ok(m.select('INBOX'))
    assert data == [b'3'], data
    assert untagged(m, 'UIDNEXT')[-1] == b'4'
    typ, data = m.select('NoSuch')
    assert typ == 'NO', data
    typ, data = m.select('INBOX', readonly=True)
    assert typ == 'OK'
    typ, data = m.store('1', '+FLAGS', r'\Seen')
    assert typ == 'NO' and b'READ-ONLY' in data[0], data
    # FETCH BODY[] in EXAMINE does not set \Seen
    ok(m.fetch('1', '(BODY[])'))
    data = ok(m.fetch('1', '(FLAGS)'))
    assert b'\\Seen' not in data[0], data
    ok(m.select('INBOX'))
    typ, data = m._simple_command('UNSELECT')
    assert typ == 'OK'
    m.state = 'AUTH'
    typ, data = cmd(m, 'FETCH', '1', '(FLAGS)')
    assert typ == 'BAD' and b'No mailbox selected' in data[0], (typ, data)
    ok(m.select('INBOX'))
    ok(m.check())
    m.logout()


def s_fetch(port):
    m = conn(port)
    mp = (b'From: bob@example.test\r\nTo: alice@example.test\r\nSubject: parts\r\n'
          b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
          b'preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n'
          b'--b1\r\nContent-Type: text/html\r\n\r\n<p>second</p>\r\n--b1--\r\n')
    ok(m.append('INBOX', None, None, msg('plain one')))
    ok(m.append('INBOX', None, None, mp))
    ok(m.select('INBOX'))
    data = ok(m.fetch('1', '(UID FLAGS RFC822.SIZE ENVELOPE)'))
    assert b'ENVELOPE ("Mon, 2 Feb 2026 10:00:00 +0000" "plain one"' in data[0], data
    data = ok(m.fetch('2', '(BODYSTRUCTURE)'))
    assert b'"mixed"' in data[0] and b'"html"' in data[0], data
    data = ok(m.fetch('2', '(BODY.PEEK[1])'))
    assert data[0][1] == b'first part', data
    data = ok(m.fetch('2', '(BODY.PEEK[2.MIME])'))
    assert data[0][1].startswith(b'Content-Type: text/html'), data
    data = ok(m.fetch('2', '(BODY.PEEK[HEADER.FIELDS (Subject To)])'))
    assert data[0][1] == b'To: alice@example.test\r\nSubject: parts\r\n\r\n', data
    data = ok(m.fetch('2', '(BODY.PEEK[HEADER.FIELDS.NOT (Subject To From MIME-Version)])'))
    assert data[0][1].startswith(b'Content-Type: multipart/mixed'), data
    data = ok(m.fetch('1', '(BODY.PEEK[TEXT])'))
    assert data[0][1] == b'hello\r\n', data
    data = ok(m.fetch('1', '(BODY.PEEK[]<6.5>)'))
    assert b'BODY[]<6> {5}' in data[0][0] and data[0][1] == msg('plain one')[6:11], data
    data = ok(m.fetch('1', '(RFC822.HEADER)'))
    assert data[0][1].endswith(b'\r\n\r\n') and b'Subject: plain one' in data[0][1], data
    data = ok(m.fetch('1', '(BINARY.PEEK[1] BINARY.SIZE[1])'))
    assert b'BINARY.SIZE[1] 7' in b''.join(x if isinstance(x, bytes) else x[0] for x in data), data
    data = ok(m.fetch('1:2', 'FAST'))
    assert len(data) == 2 and all(b'RFC822.SIZE' in d and b'ENVELOPE' not in d for d in data), data
    data = ok(m.fetch('1', 'ALL'))
    assert b'ENVELOPE' in data[0] and b'BODY' not in data[0], data
    data = ok(m.fetch('1', 'FULL'))
    assert b'ENVELOPE' in data[0] and b'BODY (' in data[0], data
    # non-peek sets \Seen and reports it
    data = ok(m.fetch('1', '(BODY[TEXT])'))
    assert b'\\Seen' in data[0][0], data
    data = ok(m.fetch('1', '(FLAGS)'))
    assert b'\\Seen' in data[0], data
    # UID FETCH always returns UID
    data = ok(m.uid('FETCH', '1:*', '(FLAGS)'))
    assert all(b'UID ' in d for d in data), data
    typ, data = cmd(m, 'FETCH', '99', '(FLAGS)')
    assert typ == 'BAD', data
    typ, data = cmd(m, 'FETCH', '1', '(NOSUCHITEM)')
    assert typ == 'BAD', data
    m.logout()


def s_store(port):
    m = conn(port)
    fill(m, 4)
    ok(m.select('INBOX'))
    data = ok(m.store('1:2', '+FLAGS', r'(\Flagged \Answered)'))
    assert len(data) == 2 and b'\\Flagged' in data[0], data
    data = ok(m.store('2', '-FLAGS', r'(\Flagged)'))
    assert b'\\Flagged' not in data[0] and b'\\Answered' in data[0], data
    data = ok(m.store('3', 'FLAGS', r'(\Draft custom1)'))
    assert b'\\Draft' in data[0] and b'custom1' in data[0], data
    data = ok(m.store('4', '+FLAGS.SILENT', r'(\Seen)'))
    assert data == [None], data
    data = ok(m.uid('STORE', '4', '-FLAGS', r'(\Seen)'))
    assert b'UID 4' in data[0], data
    data = ok(m.fetch('1:4', '(FLAGS)'))
    assert b'\\Flagged \\Answered' in data[0] or b'\\Answered \\Flagged' in data[0], data
    typ, data = cmd(m, 'STORE', '1', '+FLAGS', r'(\Bogus)')
    assert typ == 'BAD', data
    # flags survive a new session (they are in the file names)
    m.logout()
    m = conn(port)
    ok(m.select('INBOX'))
    data = ok(m.fetch('3', '(FLAGS)'))
    assert b'custom1' in data[0] and b'\\Draft' in data[0], data
    assert b'custom1' in b' '.join(untagged(m, 'FLAGS')), untagged(m, 'FLAGS')
    m.logout()


def s_search(port):
    m = conn(port)
    ok(m.append('INBOX', r'(\Seen)', '"01-Jan-2025 10:00:00 +0000"', msg('apple pie', body='sweet apple\r\n', frm='carol@example.org')))
    ok(m.append('INBOX', r'(\Flagged)', '"01-Jun-2025 10:00:00 +0000"', msg('banana split', body='x' * 3000 + '\r\n')))
    ok(m.append('INBOX', r'(\Deleted)', None, msg('cherry', extra='X-Color: red\r\n')))
    ok(m.select('INBOX'))

    def s(*crit, uid=False):
        r = m.uid('SEARCH', *crit) if uid else m.search(None, *crit)
        return ok(r)[0].split()
    assert s('ALL') == [b'1', b'2', b'3']
    assert s('SEEN') == [b'1'] and s('UNSEEN') == [b'2', b'3']
    assert s('FLAGGED') == [b'2'] and s('UNFLAGGED') == [b'1', b'3']
    assert s('DELETED') == [b'3'] and s('UNDELETED') == [b'1', b'2']
    assert s('ANSWERED') == [] and s('UNANSWERED') == [b'1', b'2', b'3']
    assert s('DRAFT') == [] and s('UNDRAFT') == [b'1', b'2', b'3']
    assert s('SUBJECT', 'banana') == [b'2']
    assert s('FROM', 'carol') == [b'1']
    assert s('TO', 'alice') == [b'1', b'2', b'3']
    assert s('CC', 'nobody') == [] and s('BCC', 'nobody') == []
    assert s('HEADER', 'X-Color', 'red') == [b'3']
    assert s('BODY', 'sweet') == [b'1']
    assert s('TEXT', 'cherry') == [b'3']
    assert s('LARGER', '2000') == [b'2'] and s('SMALLER', '2000') == [b'1', b'3']
    assert s('BEFORE', '1-Feb-2025') == [b'1']
    assert s('ON', '1-Jun-2025') == [b'2']
    assert s('SINCE', '1-Mar-2025') == [b'2', b'3']
    assert s('SENTON', '2-Feb-2026') == [b'1', b'2', b'3']
    assert s('SENTBEFORE', '2-Feb-2026') == [] and s('SENTSINCE', '3-Feb-2026') == []
    assert s('NOT', 'SEEN') == [b'2', b'3']
    assert s('OR', 'SEEN', 'FLAGGED') == [b'1', b'2']
    assert s('(SEEN', 'SUBJECT', 'apple)') == [b'1']
    assert s('2:3') == [b'2', b'3'] and s('*') == [b'3']
    assert s('UID', '1,3') == [b'1', b'3']
    assert s('KEYWORD', 'nokw') == [] and s('UNKEYWORD', 'nokw') == [b'1', b'2', b'3']
    # appended before this SELECT, seen by no session yet: recent here (RFC 3501 2.3.2)
    assert s('NEW') == [b'2', b'3'] and s('OLD') == [] and s('RECENT') == [b'1', b'2', b'3']
    assert s('CHARSET', 'UTF-8', 'SUBJECT', 'apple') == [b'1']
    assert s('FLAGGED', uid=True) == [b'2']
    typ, data = m.search('KOI8-R', 'ALL')
    assert typ == 'NO' and b'BADCHARSET' in data[0], data
    typ, data = cmd(m, 'SEARCH', 'BOGUS')
    assert typ == 'BAD', data
    # ESEARCH
    typ, data = m._simple_command('SEARCH', 'RETURN', '(MIN MAX COUNT)', 'ALL')
    es = untagged(m, 'ESEARCH')
    assert typ == 'OK' and es and b'MIN 1 MAX 3 COUNT 3' in es[-1], es
    typ, data = m._simple_command('UID', 'SEARCH', 'RETURN', '()', 'ALL')
    es = untagged(m, 'ESEARCH')
    assert typ == 'OK' and es and b'UID ALL 1:3' in es[-1], es
    m.logout()


def s_expunge(port):
    m = conn(port)
    fill(m, 5)
    ok(m.select('INBOX'))
    ok(m.store('2,4', '+FLAGS', r'\Deleted'))
    data = ok(m.expunge())
    assert data == [b'2', b'3'], data   # 2, then 4 which became 3
    ok(m.store('1', '+FLAGS', r'\Deleted'))
    ok(m.store('2', '+FLAGS', r'\Deleted'))
    typ, data = m._simple_command('UID', 'EXPUNGE', '3')
    assert typ == 'OK', data
    assert untagged(m, 'EXPUNGE') == [b'2'], untagged(m, 'EXPUNGE')
    data = ok(m.uid('SEARCH', 'ALL'))
    assert data[0].split() == [b'1', b'5'], data
    ok(m.close())
    st = ok(m.status('INBOX', '(MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE DELETED)'))
    assert b'MESSAGES 1' in st[0] and b'UIDNEXT 6' in st[0], st
    m.logout()


def s_copy_move(port):
    m = conn(port)
    fill(m, 3)
    ok(m.create('Dest'))
    ok(m.select('INBOX'))
    ok(m.store('1', '+FLAGS', r'(\Flagged kw1)'))
    data = ok(m.copy('1:2', 'Dest'))
    assert re.search(rb'COPYUID \d+ 1:2 1:2', data[0]), data
    typ, data = m.copy('1', 'Nope')
    assert typ == 'NO' and b'TRYCREATE' in data[0], data
    typ, data = m._simple_command('MOVE', '3', 'Dest')
    assert typ == 'OK', data
    assert untagged(m, 'EXPUNGE') == [b'3'], m.untagged_responses
    data = ok(m.uid('MOVE', '2', 'Dest'))
    ok(m.select('Dest'))
    assert untagged(m, 'EXISTS')[-1] == b'4'
    data = ok(m.fetch('1', '(FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])'))
    assert b'\\Flagged' in data[0][0] and b'kw1' in data[0][0] and b'message 1' in data[0][1], data
    st = ok(m.status('INBOX', '(MESSAGES)'))
    assert b'MESSAGES 1' in st[0], st
    m.logout()


def s_misc(port):
    m = conn(port)
    typ, data = m._simple_command('NAMESPACE')
    assert typ == 'OK' and untagged(m, 'NAMESPACE') == [b'(("" ".")) NIL NIL'], m.untagged_responses
    typ, data = m._simple_command('ID', '("name" "test")')
    assert typ == 'OK' and b'pochta' in untagged(m, 'ID')[0]
    typ, data = m._simple_command('ID', 'NIL')
    assert typ == 'OK'
    typ, data = m._simple_command('ENABLE', 'IMAP4rev2')
    assert typ == 'OK' and untagged(m, 'ENABLED') == [b'IMAP4rev2'], m.untagged_responses
    fill(m, 2)
    ok(m.select('INBOX'))
    # IMAP4rev2: SEARCH answers ESEARCH
    typ, data = m._simple_command('SEARCH', 'ALL')
    assert typ == 'OK' and b'ALL 1:2' in untagged(m, 'ESEARCH')[-1]
    typ, data = m._simple_command('CHECK')
    assert typ == 'OK'
    typ, data = cmd(m, 'BOGUS')
    assert typ == 'BAD'
    m.logout()


def s_two_sessions(port):
    a = conn(port)
    b = conn(port)
    fill(a, 2)
    ok(a.select('INBOX'))
    ok(b.select('INBOX'))
    # b changes flags, a sees FETCH at NOOP
    ok(b.store('1', '+FLAGS', r'\Flagged'))
    ok(a.noop())
    f = untagged(a, 'FETCH')
    assert f and b'\\Flagged' in f[-1], a.untagged_responses
    # a appends, b sees EXISTS
    ok(a.append('INBOX', None, None, msg('third')))
    ok(b.noop())
    assert untagged(b, 'EXISTS')[-1] == b'3', b.untagged_responses
    # b expunges, a sees EXPUNGE at NOOP (not during FETCH)
    ok(b.store('2', '+FLAGS', r'\Deleted'))
    ok(b.expunge())
    a.untagged_responses.clear()
    ok(a.fetch('1', '(FLAGS)'))
    assert 'EXPUNGE' not in a.untagged_responses, a.untagged_responses
    ok(a.noop())
    assert untagged(a, 'EXPUNGE') == [b'2'], a.untagged_responses
    # UIDs agree
    ua = ok(a.uid('SEARCH', 'ALL'))[0]
    ub = ok(b.uid('SEARCH', 'ALL'))[0]
    assert ua == ub == b'1 3', (ua, ub)
    a.logout()
    b.logout()


def s_uid_stable(port):
    m = conn(port)
    fill(m, 3)
    ok(m.select('INBOX'))
    v1 = untagged(m, 'UIDVALIDITY')[-1]
    u1 = ok(m.uid('SEARCH', 'ALL'))[0]
    m.logout()
    m = conn(port)
    ok(m.select('INBOX'))
    assert untagged(m, 'UIDVALIDITY')[-1] == v1
    assert ok(m.uid('SEARCH', 'ALL'))[0] == u1
    m.logout()


def s_idle(port):
    """IDLE, then a delivery by the caller (argument: a command to run)."""
    import subprocess
    m = conn(port)
    n = int(ok(m.select('INBOX'))[0])
    tag = m._new_tag().decode()
    m.send(('%s IDLE\r\n' % tag).encode())
    line = m.readline()
    assert line.startswith(b'+'), line
    t0 = time.time()
    subprocess.check_call(sys.argv[3], shell=True)
    m.sock.settimeout(5)
    line = m.readline()
    took = time.time() - t0
    assert line == b'* %d EXISTS\r\n' % (n + 1), line
    print('idle-latency %.3f' % took)   # a figure, never asserted
    m.send(b'DONE\r\n')
    while True:
        line = m.readline()
        if line.startswith(tag.encode()):
            assert b' OK ' in line, line
            break
    m.logout()


def s_append_many(port):
    """APPEND argv[3] messages (run several at once with deliveries)."""
    m = conn(port)
    for i in range(int(sys.argv[3])):
        ok(m.append('INBOX', None, None, msg('parallel %d %d' % (os.getpid(), i))))
        if i % 5 == 0:
            ok(m.select('INBOX'))
            ok(m.store('1:*', '+FLAGS', r'\Seen'))
    m.logout()


def s_check_uids(port):
    """Every message has one UID, UIDs are unique, two sessions agree; argv[3] = count."""
    want = int(sys.argv[3])
    a, b = conn(port), conn(port)
    ok(a.select('INBOX')); ok(b.select('INBOX'))
    da = ok(a.fetch('1:*', '(UID BODY.PEEK[HEADER.FIELDS (Subject)])'))
    db = ok(b.fetch('1:*', '(UID BODY.PEEK[HEADER.FIELDS (Subject)])'))
    pa = [(x[0], x[1]) for x in da if isinstance(x, tuple)]
    pb = [(x[0], x[1]) for x in db if isinstance(x, tuple)]
    assert len(pa) == want, (len(pa), want)
    assert pa == pb
    uids = [int(re.search(rb'UID (\d+)', h).group(1)) for h, _ in pa]
    assert len(set(uids)) == want and uids == sorted(uids), uids
    subjects = [s for _, s in pa]
    assert len(set(subjects)) == want, 'a message was listed twice'
    a.logout(); b.logout()


SCEN = {k[2:]: v for k, v in globals().items() if k.startswith('s_')}

if __name__ == '__main__':
    name, port = sys.argv[1], int(sys.argv[2])
    SCEN[name](port)
    print('ok', name)
