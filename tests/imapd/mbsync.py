#!/usr/bin/env python3
"""Server-side steps and checks for the mbsync test (tests/imapd-clients.bats).

usage: mbsync.py STEP PORT LOCALDIR
"""
import imaplib, os, re, sys

port, local = int(sys.argv[2]), sys.argv[3]


def conn():
    m = imaplib.IMAP4('127.0.0.1', port)
    m.login('alice@example.test', 'secret')
    return m


def msg(subject):
    return ('From: bob@example.test\r\nSubject: %s\r\nMessage-ID: <%s@x>\r\n\r\nbody of %s\r\n'
            % (subject, subject.replace(' ', ''), subject)).encode()


def subjects_local(box):
    out = {}
    for sub in ('cur', 'new'):
        d = os.path.join(local, box, sub)
        for f in os.listdir(d):
            txt = open(os.path.join(d, f), 'rb').read()
            s = re.search(rb'^Subject: (.*)$', txt, re.M).group(1).decode()
            out[s] = f.split(':2,')[1] if ':2,' in f else ''
    return out


def subjects_server(m, box):
    typ, d = m.select(box)
    assert typ == 'OK', d
    if d[0] == b'0':
        return {}
    typ, d = m.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])')
    out = {}
    for x in d:
        if isinstance(x, tuple):
            s = re.search(rb'Subject: (.*?)\r\n', x[1]).group(1).decode()
            out[s] = x[0].decode()
    return out


step = sys.argv[1]
m = conn()
if step == 'seed':
    for i in (1, 2, 3):
        assert m.append('INBOX', None, None, msg('srv %d' % i))[0] == 'OK'
    m.create('Work')
    m.append('Work', None, None, msg('work 1'))
elif step == 'change1':
    # server: flag srv 1, delete srv 2, add srv 4
    m.select('INBOX')
    typ, d = m.search(None, 'SUBJECT', '"srv 1"'); m.store(d[0], '+FLAGS', r'\Flagged')
    typ, d = m.search(None, 'SUBJECT', '"srv 2"'); m.store(d[0], '+FLAGS', r'\Deleted')
    m.expunge()
    m.append('INBOX', None, None, msg('srv 4'))
    # local: mark srv 3 seen, add a new message
    for sub in ('cur', 'new'):
        d = os.path.join(local, 'INBOX', sub)
        for f in os.listdir(d):
            if b'Subject: srv 3' in open(os.path.join(d, f), 'rb').read():
                base = f.split(':2,')[0]
                fl = f.split(':2,')[1] if ':2,' in f else ''
                os.rename(os.path.join(d, f), os.path.join(local, 'INBOX', 'cur', base + ':2,' + ''.join(sorted(fl + 'S'))))
    with open(os.path.join(local, 'INBOX', 'new', '1700000000.local1.host'), 'wb') as f:
        f.write(msg('local 1').replace(b'\r\n', b'\n'))
elif step == 'check1':
    srv = subjects_server(m, 'INBOX')
    loc = subjects_local('INBOX')
    assert sorted(srv) == sorted(loc) == ['local 1', 'srv 1', 'srv 3', 'srv 4'], (srv, loc)
    assert '\\Flagged' in srv['srv 1'] and 'F' in loc['srv 1'], (srv, loc)
    assert '\\Seen' in srv['srv 3'], srv
    assert list(subjects_local('Work')) == ['work 1']
elif step == 'change2':
    # local: delete srv 4 (T flag, mbsync expunges it); server: add srv 5, flag local 1
    d = os.path.join(local, 'INBOX', 'cur')
    for sub in ('cur', 'new'):
        dd = os.path.join(local, 'INBOX', sub)
        for f in os.listdir(dd):
            if b'Subject: srv 4' in open(os.path.join(dd, f), 'rb').read():
                base = f.split(':2,')[0]
                os.rename(os.path.join(dd, f), os.path.join(d, base + ':2,T'))
    m.select('INBOX')
    typ, dd = m.search(None, 'SUBJECT', '"local 1"'); m.store(dd[0], '+FLAGS', r'\Answered')
    m.append('INBOX', None, None, msg('srv 5'))
elif step == 'check2':
    srv = subjects_server(m, 'INBOX')
    loc = subjects_local('INBOX')
    assert sorted(srv) == sorted(loc) == ['local 1', 'srv 1', 'srv 3', 'srv 5'], (srv, loc)
    assert 'R' in loc['local 1'], loc
m.logout()
print('ok', step)
