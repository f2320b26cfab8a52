#!/usr/bin/env python3
"""tls-testd.py smtp|imap|pop3: a tiny protocol daemon that follows the UCSPI-TLS
contract of doc/CONTRACTS.md, to test pochta-tlsd without the real daemons.

It reads the network on fd 0 and writes on fd 1; with SSLCTLFD it offers STARTTLS
(STLS); at STARTTLS it answers, writes 'Y' on SSLCTLFD, reads the KEY=value\\0...\\0
answer, DISCARDS what it had buffered from the client and moves to SSLREADFD and
SSLWRITEFD. With SSL_PROTOCOL in the environment (implicit TLS) it is encrypted
from the start. Every command it executes is logged on stderr as "testd: cmd=..."
so tests can prove that an injected command never ran.

Extra commands (any mode): "XENV" answers the TLS variables, "XFDS" the list of
open descriptors and what they point to, "XBIG n" n octets of data."""
import os
import sys

mode = sys.argv[1] if len(sys.argv) > 1 else "smtp"
rfd, wfd = 0, 1
buf = b""
tls = "SSL_PROTOCOL" in os.environ
env = {k: os.environ[k] for k in ("SSL_PROTOCOL", "SSL_CIPHER", "SSL_TLS_SNI_SERVERNAME") if k in os.environ}


def log(msg):
    sys.stderr.write("testd: %s\n" % msg)
    sys.stderr.flush()


def out(s):
    data = s.encode() if isinstance(s, str) else s
    while data:
        n = os.write(wfd, data)
        data = data[n:]


def readline():
    global buf
    while b"\n" not in buf:
        if len(buf) > 4096:
            return None
        d = os.read(rfd, 4096)
        if not d:
            return None
        buf += d
    line, buf = buf.split(b"\n", 1)
    return line.rstrip(b"\r").decode("utf-8", "replace")


def starttls():
    """The contract: Y on the control fd, read the answer, discard the buffer."""
    global rfd, wfd, buf, tls, env
    ctl = int(os.environ["SSLCTLFD"])
    os.write(ctl, b"Y")
    ans = b""
    while not ans.endswith(b"\0\0") and not ans == b"\0":
        d = os.read(ctl, 1024)
        if not d:
            log("event=starttls result=fail")
            sys.exit(1)
        ans += d
    env = dict(kv.split("=", 1) for kv in ans.decode().split("\0") if kv)
    if buf:
        log("discarded=%d" % len(buf))
    buf = b""  # the injection defence
    rfd, wfd = int(os.environ["SSLREADFD"]), int(os.environ["SSLWRITEFD"])
    tls = True
    log("event=starttls result=ok protocol=%s cipher=%s" % (env.get("SSL_PROTOCOL"), env.get("SSL_CIPHER")))


def fds():
    res = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            res.append("%s>%s" % (fd, os.readlink("/proc/self/fd/" + fd)))
        except OSError:
            pass
    return " ".join(res)


def inmem(h1, h2):
    """Is h1+h2 anywhere in this process's readable memory? The needle comes in two
    halves so that this process never builds it in one piece itself."""
    found = False
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for m in maps:
            f = m.split()
            if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
                continue
            a, b = (int(x, 16) for x in f[0].split("-"))
            try:
                mem.seek(a)
                data = mem.read(b - a)
                i = data.find(h1)
                while i >= 0:
                    if data[i + len(h1):i + len(h1) + len(h2)] == h2:
                        found = True
                    i = data.find(h1, i + 1)
            except (OSError, ValueError, OverflowError):
                pass
    return found


def extra(words):
    """The X commands: return the text of the answer, or None."""
    v = words[0].upper() if words else ""
    if v == "XENV":
        return " ".join("%s=%s" % kv for kv in sorted(env.items())) or "none"
    if v == "XFDS":
        return fds()
    if v == "XMEM" and len(words) > 2:
        return "found" if inmem(bytes.fromhex(words[1]), bytes.fromhex(words[2])) else "absent"
    return None


can_tls = "SSLCTLFD" in os.environ


def smtp():
    out("220 testd ESMTP\r\n")
    while True:
        line = readline()
        if line is None:
            return
        log("cmd=%s" % line)
        w = line.split()
        v = w[0].upper() if w else ""
        x = extra(w)
        if x is not None:
            out("250 %s\r\n" % x)
        elif v in ("EHLO", "HELO"):
            caps = ["testd"] + (["STARTTLS"] if can_tls and not tls else []) + ["XBIG"]
            out("".join("250-%s\r\n" % c for c in caps[:-1]) + "250 %s\r\n" % caps[-1])
        elif v == "STARTTLS":
            if not can_tls or tls:
                out("502 5.5.1 no\r\n")
                continue
            out("220 2.0.0 go ahead\r\n")
            starttls()
        elif v == "XBIG":
            n = int(w[1])
            out("250-" + "x" * n + "\r\n250 done\r\n")
        elif v == "QUIT":
            out("221 2.0.0 bye\r\n")
            return
        elif v in ("NOOP", "RSET", "MAIL", "RCPT"):
            out("250 2.0.0 ok %s\r\n" % v)
        else:
            out("500 5.5.2 unknown\r\n")


def imap():
    out("* OK testd ready\r\n")
    while True:
        line = readline()
        if line is None:
            return
        log("cmd=%s" % line)
        w = line.split()
        if len(w) < 2:
            out("* BAD no tag\r\n")
            continue
        tag, v = w[0], w[1].upper()
        x = extra(w[1:])
        if x is not None:
            out("* %s\r\n%s OK done\r\n" % (x, tag))
        elif v == "CAPABILITY":
            caps = "IMAP4rev1" + (" STARTTLS LOGINDISABLED" if can_tls and not tls else "")
            out("* CAPABILITY %s\r\n%s OK done\r\n" % (caps, tag))
        elif v == "STARTTLS":
            if not can_tls or tls:
                out("%s BAD no\r\n" % tag)
                continue
            out("%s OK Begin TLS negotiation now\r\n" % tag)
            starttls()
        elif v == "LOGOUT":
            out("* BYE bye\r\n%s OK done\r\n" % tag)
            return
        elif v == "NOOP":
            out("%s OK NOOP done\r\n" % tag)
        else:
            out("%s BAD unknown\r\n" % tag)


def pop3():
    out("+OK testd ready\r\n")
    while True:
        line = readline()
        if line is None:
            return
        log("cmd=%s" % line)
        w = line.split()
        v = w[0].upper() if w else ""
        x = extra(w)
        if x is not None:
            out("+OK %s\r\n" % x)
        elif v == "CAPA":
            out("+OK\r\n" + ("STLS\r\n" if can_tls and not tls else "") + "USER\r\n.\r\n")
        elif v == "STLS":
            if not can_tls or tls:
                out("-ERR no\r\n")
                continue
            out("+OK begin TLS\r\n")
            starttls()
        elif v == "QUIT":
            out("+OK bye\r\n")
            return
        elif v == "NOOP":
            out("+OK NOOP done\r\n")
        else:
            out("-ERR unknown\r\n")


{"smtp": smtp, "imap": imap, "pop3": pop3}[mode]()
