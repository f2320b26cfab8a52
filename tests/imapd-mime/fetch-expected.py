#!/usr/bin/env python3
"""fetch-expected.py HOST PORT MAILDIR CORPUS EXPECTED

Used by regen-expected.sh: drops each corpus message into MAILDIR/new (byte for byte),
lets the IMAP server at HOST:PORT (Dovecot) see it, and stores the server's raw FETCH
values in EXPECTED. Talks raw IMAP so that quoting and literals are kept exactly."""
import os, re, shutil, socket, sys

from sections import SECTIONS

host, port, maildir, corpus, expected = sys.argv[1:6]


class Imap:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, int(port)))
        self.buf = b""
        self.n = 0
        self.line()  # greeting

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("server closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def response(self):
        """One full response line with its literals."""
        out = b""
        while True:
            ln = self.line()
            out += ln
            m = re.search(rb"\{(\d+)\}\r\n$", ln)
            if not m:
                return out
            out += self.take(int(m.group(1)))

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                return r, untagged
            untagged.append(r)


def fetch_value(untagged, item):
    """The value of ITEM in the single FETCH response."""
    for r in untagged:
        m = re.match(rb"\* \d+ FETCH \(", r)
        if not m:
            continue
        body = r[m.end():]
        # the server echoes the item name in its own case: skip to the value
        if b"[" in item.encode():
            klen = body.index(b"]") + 2
        else:
            klen = len(item) + 1
        if body[:klen - 1].upper() != item.encode().upper()[:klen - 1]:
            raise ValueError("unexpected %r" % r[:200])
        assert body.endswith(b")\r\n"), r[-20:]
        return body[klen:-3]
    return None


imap = Imap(host, port)
st, _ = imap.cmd("LOGIN mime secret")
assert b"OK" in st, st
os.makedirs(expected, exist_ok=True)
for i, name in enumerate(sorted(os.listdir(corpus))):
    if not name.endswith(".eml"):
        continue
    nn = name[:2]
    dst = os.path.join(maildir, "new", "%d.M%dP1.mime-expected" % (1000 + i, i))
    shutil.copyfile(os.path.join(corpus, name), dst)
    os.chown(dst, os.stat(maildir).st_uid, -1)
    st, _ = imap.cmd("SELECT INBOX")
    assert b"OK" in st, st
    for item, ext in (("ENVELOPE", "envelope"), ("BODYSTRUCTURE", "bodystructure"),
                      ("BODY", "body"), ("RFC822.SIZE", "size")):
        st, un = imap.cmd("FETCH * " + item)
        assert b" OK" in st, st
        with open(os.path.join(expected, nn + "." + ext), "wb") as f:
            f.write(fetch_value(un, item) + b"\n")
    for safe, item in SECTIONS:
        st, un = imap.cmd("FETCH * " + item.replace("BODY[", "BODY.PEEK[").replace("BINARY[", "BINARY.PEEK["))
        path = os.path.join(expected, nn + ".sec." + safe)
        if b" OK" not in st:
            # record the refusal: "NO [UNKNOWN-CTE]" and the like
            with open(path, "wb") as f:
                f.write(b"!" + st.split(b" ", 2)[1] + b"\n")
            continue
        v = fetch_value(un, item)
        with open(path, "wb") as f:
            f.write(v if v is not None else b"!NONE")
imap.cmd("LOGOUT")
