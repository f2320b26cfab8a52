#!/usr/bin/env python3
"""tls-client.py: Python ssl clients for the TLS suites (tests/tls-*.bats).

  inject smtp|imap|pop3 PORT     STARTTLS with a command pipelined in the same packet;
                                 prints every reply line seen after the handshake
  smtplib PORT [USER PASS]       smtplib: EHLO, starttls(), EHLO, (AUTH), NOOP, QUIT
  smtps PORT                     smtplib.SMTP_SSL (implicit TLS)
  imaps PORT [USER PASS]         imaplib.IMAP4_SSL: CAPABILITY, (LOGIN), LOGOUT
  imapstarttls PORT [USER PASS]  imaplib.IMAP4 + starttls()
  pop3stls PORT [USER PASS]      poplib.POP3 + stls()
  pop3s PORT [USER PASS]         poplib.POP3_SSL
  version PORT TLSv1|TLSv1_1|TLSv1_2|TLSv1_3   implicit-TLS handshake with one version
  cert PORT                      implicit TLS: print the peer certificate's serial

Certificates are not verified (self-signed test certificates); the server name sent
is mx.example.test. Output: one line per fact; exit 0 ok, 1 failure (reason printed)."""
import imaplib
import poplib
import smtplib
import socket
import ssl
import sys
import warnings

warnings.filterwarnings("ignore")  # TLSv1/1.1 are deprecated: that is what we test

HOST = "127.0.0.1"
NAME = "mx.example.test"


def ctx(version=None):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    if version:
        # old versions need the lowest security level in OpenSSL 3
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
        v = getattr(ssl.TLSVersion, version)
        c.minimum_version = v
        c.maximum_version = v
    return c


def recv_until(sock, pred, limit=65536):
    data = b""
    while not pred(data):
        d = sock.recv(4096)
        if not d:
            break
        data += d
        if len(data) > limit:
            break
    return data


def line_done(data):
    return data.endswith(b"\r\n")


def smtp_done(data):
    lines = data.split(b"\r\n")
    return len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" "


def inject(proto, port):
    s = socket.create_connection((HOST, port), timeout=40)
    if proto == "smtp":
        recv_until(s, smtp_done)
        s.sendall(b"EHLO probe.test\r\n")
        recv_until(s, smtp_done)
        s.sendall(b"STARTTLS\r\nXYZZY INJECTED\r\n")
        print("starttls: " + recv_until(s, smtp_done).decode().strip())
        first, second, done = b"NOOP\r\n", b"QUIT\r\n", smtp_done
    elif proto == "imap":
        recv_until(s, line_done)
        s.sendall(b"a STARTTLS\r\nb XYZZY INJECTED\r\n")
        print("starttls: " + recv_until(s, line_done).decode().strip())
        first, second = b"c NOOP\r\n", b"d LOGOUT\r\n"
        done = lambda d: b"\r\nc " in b"\r\n" + d or b"\r\nd " in b"\r\n" + d or b"\r\nb " in b"\r\n" + d
    else:
        recv_until(s, line_done)
        s.sendall(b"STLS\r\nXYZZY INJECTED\r\n")
        print("starttls: " + recv_until(s, line_done).decode().strip())
        first, second, done = b"QUIT\r\n", None, line_done
    t = ctx().wrap_socket(s, server_hostname=NAME)
    print("tls=ok " + t.version())
    t.sendall(first)
    for line in recv_until(t, done).decode().split("\r\n"):
        if line:
            print("S: " + line)
    if second:
        t.sendall(second)
        try:
            for line in recv_until(t, lambda d: False).decode().split("\r\n"):
                if line:
                    print("S: " + line)
        except (ssl.SSLError, OSError):
            pass
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "inject":
        return inject(sys.argv[2], int(sys.argv[3]))
    port = int(sys.argv[2])
    rest = sys.argv[3:]
    user, pw = (rest[0], rest[1]) if len(rest) >= 2 else (None, None)
    if cmd in ("smtplib", "smtps"):
        if cmd == "smtps":
            s = smtplib.SMTP_SSL(HOST, port, context=ctx(), timeout=40)
        else:
            s = smtplib.SMTP(HOST, port, timeout=40)
            s.ehlo("probe.test")
            print("starttls_offered=%d" % s.has_extn("starttls"))
            print("starttls=%d" % s.starttls(context=ctx())[0])
        s.ehlo("probe.test")
        print("starttls_after=%d" % s.has_extn("starttls"))
        if user:
            print("auth=%d" % s.login(user, pw)[0])
        print("noop=%d" % s.noop()[0])
        print("quit=%d" % s.quit()[0])
        return 0
    if cmd in ("imaps", "imapstarttls"):
        if cmd == "imaps":
            m = imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx(), timeout=40)
        else:
            m = imaplib.IMAP4(HOST, port, timeout=40)
            print("starttls=" + m.starttls(ssl_context=ctx())[0])
        print("caps=" + " ".join(m.capabilities))
        if user:
            print("login=" + m.login(user, pw)[0])
        print("logout=" + m.logout()[0])
        return 0
    if cmd in ("pop3stls", "pop3s"):
        if cmd == "pop3s":
            p = poplib.POP3_SSL(HOST, port, context=ctx(), timeout=40)
        else:
            p = poplib.POP3(HOST, port, timeout=40)
            print("stls=" + p.stls(context=ctx()).decode().split()[0])
        if user:
            p.user(user)
            print("pass=" + p.pass_(pw).decode().split()[0])
            print("stat=%d %d" % p.stat())
        print("quit=" + p.quit().decode().split()[0])
        return 0
    if cmd == "version":
        s = socket.create_connection((HOST, port), timeout=40)
        try:
            t = ctx(rest[0]).wrap_socket(s, server_hostname=NAME)
        except (ssl.SSLError, OSError) as e:
            print("handshake=fail %s" % type(e).__name__)
            return 1
        print("handshake=ok %s %s" % (t.version(), t.cipher()[0]))
        return 0
    if cmd == "cert":
        s = socket.create_connection((HOST, port), timeout=40)
        c = ctx()
        t = c.wrap_socket(s, server_hostname=NAME)
        der = t.getpeercert(binary_form=True)
        import hashlib
        print("sha256=" + hashlib.sha256(der).hexdigest())
        return 0
    print("unknown command")
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ssl.SSLError, OSError, smtplib.SMTPException, imaplib.IMAP4.error, poplib.error_proto) as e:
        print("error=%s %s" % (type(e).__name__, e))
        sys.exit(1)
