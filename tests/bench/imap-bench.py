#!/usr/bin/env python3
"""IMAP benchmarks for pochta-imapd (and, for comparison, any IMAP server).
Prints figures; asserts nothing.

  imap-bench.py fill MAILDIR N           write N small messages into MAILDIR/cur
  imap-bench.py select HOST:PORT USER PASS [RUNS]
        time LOGIN+SELECT INBOX, UID FETCH 1:* (FLAGS), UID SEARCH UNSEEN
  imap-bench.py mix HOST:PORT USER PASS [CLIENTS] [SECONDS]
        CLIENTS sessions each looping SELECT, FETCH headers, STORE, SEARCH, APPEND
  imap-bench.py mbox OUT N                an mbox of N varied messages (imaptest's mbox=)
  imap-bench.py move HOST:PORT USER PASS [RUNS] [N]
        time UID MOVE of N (111) messages from INBOX to the folder "moved", RUNS times
  imap-bench.py rss HOST:PORT USER PASS CONNS PIDFILE-OR-PARENTPID [fetch]
        open CONNS logged-in idle sessions (after FETCH 1:* (FLAGS) with "fetch");
        RSS of the server processes
"""
import imaplib, os, sys, time, threading, random

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from proctree import kids  # noqa: E402


def hp(s):
    h, p = s.rsplit(':', 1)
    return h, int(p)


def fill(md, n):
    os.makedirs(md + '/cur', exist_ok=True)
    t = int(time.time()) - n
    for i in range(n):
        body = ('From: bench@example.test\nTo: alice@example.test\nSubject: bench %d\n'
                'Message-ID: <b%d@example.test>\n\nmessage body %d\n' % (i, i, i))
        name = '%d.M%dP%d.bench,S=%d,W=%d:2,%s' % (t + i, i, os.getpid(), len(body),
                                                    len(body) + body.count('\n'), 'S' if i % 3 else '')
        with open(md + '/cur/' + name, 'w') as f:
            f.write(body)


def select(addr, user, pw, runs):
    for r in range(runs):
        t0 = time.time()
        m = imaplib.IMAP4(*hp(addr))
        m.login(user, pw)
        t1 = time.time()
        typ, d = m.select('INBOX')
        t2 = time.time()
        typ, f = m.uid('FETCH', '1:*', '(FLAGS)')
        t3 = time.time()
        typ, s = m.uid('SEARCH', 'UNSEEN')
        t4 = time.time()
        m.logout()
        print('run %d: messages=%s login=%.3fs select=%.3fs fetch-flags=%.3fs (%d lines) uid-search=%.3fs'
              % (r + 1, d[0].decode(), t1 - t0, t2 - t1, t3 - t2, len(f), t4 - t3))


def mbox(out, n):
    with open(out, 'w') as f:
        for i in range(n):
            f.write('From bench@example.test Mon Feb  2 10:%02d:00 2026\n' % (i % 60))
            f.write('From: user%d@example.test\nTo: alice@example.test\nSubject: %smessage %d\n'
                    'Message-ID: <m%d@example.test>\n%sDate: Mon, 2 Feb 2026 10:%02d:00 +0000\n'
                    % (i % 7, 'Re: ' if i % 3 else '', i // 3, i, 'In-Reply-To: <m%d@example.test>\n' % (i - 1) if i % 3 else '', i % 60))
            if i % 4 == 0:
                f.write('MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b%d\n\n--b%d\n'
                        'Content-Type: text/plain\n\n%s\n--b%d\nContent-Type: application/octet-stream\n'
                        'Content-Transfer-Encoding: base64\n\n%s\n--b%d--\n\n' % (i, i, 'text ' * 40, i, 'QUJD' * 100, i))
            else:
                f.write('\n' + ('line %d of the body\n' % i) * (5 + i % 50) + '\n')


def move(addr, user, pw, runs, n):
    imaplib.Commands.setdefault('MOVE', ('SELECTED',))
    m = imaplib.IMAP4(*hp(addr))
    m.login(user, pw)
    m.create('moved')
    typ, d = m.select('INBOX')
    uids = m.uid('SEARCH', 'ALL')[1][0].split()
    for r in range(runs):
        part = uids[len(uids) // 3 + r * n: len(uids) // 3 + (r + 1) * n]
        t0 = time.time()
        typ, _ = m.uid('MOVE', b'%s:%s' % (part[0], part[-1]), 'moved')
        print('run %d: UID MOVE of %d of %s messages: %s %.3f s' % (r + 1, len(part), d[0].decode(), typ, time.time() - t0))
    m.logout()


def mix(addr, user, pw, clients, seconds):
    counts = [0] * clients
    stop = time.time() + seconds
    msg = b'From: a@example.test\r\nSubject: mix\r\n\r\n' + b'x' * 2000 + b'\r\n'

    def worker(k):
        m = imaplib.IMAP4(*hp(addr))
        m.login(user, pw)
        rnd = random.Random(k)
        n = 0
        while time.time() < stop:
            m.select('INBOX'); n += 1
            typ, d = m.select('INBOX')
            total = int(d[0]); n += 1
            if total:
                a = rnd.randint(1, total)
                b = min(total, a + 9)
                m.fetch('%d:%d' % (a, b), '(UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject Date)])'); n += 1
                m.store(str(a), '+FLAGS', r'\Seen'); n += 1
            m.search(None, 'UNSEEN'); n += 1
            m.append('INBOX', None, None, msg); n += 1
        counts[k] = n
        m.logout()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.time()
    for t in ts: t.start()
    for t in ts: t.join()
    took = time.time() - t0
    print('mix: clients=%d seconds=%.1f commands=%d commands/s=%.0f' % (clients, took, sum(counts), sum(counts) / took))


def rss_of(pids, key='VmRSS:'):
    tot = 0
    for p in pids:
        try:
            for line in open('/proc/%d/status' % p):
                if line.startswith(key):
                    tot += int(line.split()[1])
        except OSError:
            pass
    return tot


def descendants(ppid):
    res, todo = [], [ppid]
    while todo:
        p = todo.pop()
        for c in kids(p):
            res.append(c); todo.append(c)
    return res


def rss(addr, user, pw, conns, parent, fetch=False):
    parent = int(open(parent).read()) if os.path.exists(parent) else int(parent)
    before = descendants(parent)
    base = rss_of(before)
    ms = []
    for i in range(conns):
        m = imaplib.IMAP4(*hp(addr))
        m.login(user, pw)
        m.select('INBOX')
        if fetch:
            m.fetch('1:*', '(FLAGS)')
        ms.append(m)
    time.sleep(0.5)
    after = descendants(parent)
    new = [p for p in after if p not in before]
    tot = rss_of(new)
    anon = rss_of(new, 'RssAnon:')
    print('rss: conns=%d processes=%d total=%d kB per-connection=%.0f kB (private anon %.0f kB)'
          % (conns, len(new), tot, tot / max(1, conns), anon / max(1, conns)))
    for m in ms:
        m.logout()


if __name__ == '__main__':
    a = sys.argv[1:]
    if a[0] == 'fill': fill(a[1], int(a[2]))
    elif a[0] == 'select': select(a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 3)
    elif a[0] == 'mix': mix(a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 10, float(a[5]) if len(a) > 5 else 10)
    elif a[0] == 'mbox': mbox(a[1], int(a[2]))
    elif a[0] == 'move': move(a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 3, int(a[5]) if len(a) > 5 else 111)
    elif a[0] == 'rss': rss(a[1], a[2], a[3], int(a[4]), a[5], len(a) > 6 and a[6] == 'fetch')
