#!/usr/bin/env python3
"""smtp-tls-client.py HOST PORT MESSAGES SESSIONS [SIZE]: the load of smtp-source,
with STARTTLS in every session: SESSIONS threads, each connecting, doing STARTTLS
(no certificate check: a benchmark on loopback), sending one message of SIZE octets
(2048) from a@example.test to alice@example.test and quitting, until MESSAGES are
sent. Prints how many failed; used by smtp-cpu.sh (TLS=1)."""
import smtplib, ssl, sys, threading

host, port, total, sessions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
size = int(sys.argv[5]) if len(sys.argv) > 5 else 2048
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
body = b"Subject: bench\r\nFrom: a@example.test\r\nTo: alice@example.test\r\n\r\n"
line = b"x" * 76 + b"\r\n"
body += line * max(1, (size - len(body)) // len(line))
lock = threading.Lock()
left = [total]
failed = [0]

def worker():
    while True:
        with lock:
            if left[0] <= 0:
                return
            left[0] -= 1
        try:
            with smtplib.SMTP(host, port, timeout=60) as s:
                s.ehlo("client.example.test")
                s.starttls(context=ctx)
                s.ehlo("client.example.test")
                s.sendmail("a@example.test", ["alice@example.test"], body)
        except Exception as e:  # counted, not fatal: the figures say how many
            with lock:
                failed[0] += 1
                if failed[0] <= 3:
                    print("smtp-tls-client: %s" % e, file=sys.stderr)

threads = [threading.Thread(target=worker) for _ in range(sessions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("failed=%d" % failed[0])
