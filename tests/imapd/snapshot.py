#!/usr/bin/env python3
"""Print what an IMAP server shows of one user's mailboxes, as JSON: folder names and,
per folder, UIDVALIDITY and uid -> flags (without \\Recent). Used to compare
pochta-imapd and Dovecot on the same Maildir.

usage: snapshot.py PORT USER [fill]
With "fill", first makes a known state: messages with flags and a keyword, a folder
with a child, one expunged message (so UIDs have a gap).
"""
import imaplib, json, re, sys

port, user = int(sys.argv[1]), sys.argv[2]
m = imaplib.IMAP4('127.0.0.1', port)
m.login(user, 'secret')


def msg(s):
    return ('From: x@example.test\r\nSubject: %s\r\n\r\nbody %s\r\n' % (s, s)).encode()


if len(sys.argv) > 3 and sys.argv[3] == 'fill':
    for i, fl in enumerate([r'(\Seen)', r'(\Flagged $Junk)', None, r'(\Answered \Seen)', r'(\Draft)']):
        typ, d = m.append('INBOX', fl, None, msg('m%d' % i))
        assert typ == 'OK', d
    assert m.create('Work')[0] == 'OK'
    assert m.create('Work.Sub')[0] == 'OK'
    assert m.append('Work.Sub', r'(\Seen custom)', None, msg('w1'))[0] == 'OK'
    m.select('INBOX')
    m.store('3', '+FLAGS', r'\Deleted')
    m.expunge()

typ, lst = m.list('""', '*')
names = sorted(re.search(rb'"\." "?([^"]*)"?$', l).group(1).decode() for l in lst)
out = {'folders': names, 'boxes': {}}
for n in names:
    typ, d = m.select('"%s"' % n, readonly=True)
    if typ != 'OK':
        continue
    uv = int(m.untagged_responses.get('UIDVALIDITY', [b'0'])[-1])
    box = {'uidvalidity': uv, 'uids': {}}
    if d[0] != b'0':
        typ, d = m.uid('FETCH', '1:*', '(FLAGS)')
        for line in d:
            mm = re.search(rb'UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)', line)
            uid = int(mm.group(1) or mm.group(4))
            flags = (mm.group(2) if mm.group(2) is not None else mm.group(3)).decode().split()
            box['uids'][uid] = sorted(f for f in flags if f != '\\Recent')
    out['boxes'][n] = box
m.logout()
print(json.dumps(out, sort_keys=True))
