#!/usr/bin/env bats
# pochta-smtpd behind pochta-tlsd: STARTTLS the UCSPI-TLS way, implicit TLS (465),
# AUTH only under TLS, and the STARTTLS command-injection defence (CVE-2011-0411).

load helpers

setup() {
  command -v pochta-tlsd >/dev/null || skip "pochta-tlsd not built"
  instance_new
  smtpd_fakeq
  tls_cert "$POCHTA_CONF" >/dev/null 2>&1
}

teardown() { stop_all; smtpd_clean_log; }

b64() { printf "$1" | base64 -w0; }

# a Python client: tls(port, implicit) -> socket-like reader/writer helpers
PYLIB='
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def reply(f):
    out = []
    while True:
        l = f.readline().decode()
        if not l: return out + ["<eof>"]
        out.append(l.rstrip("\r\n"))
        if len(l) < 4 or l[3] == " ": return out
'

@test "smtpd tls: STARTTLS with swaks; Received says ESMTPS; STARTTLS no longer offered" {
  start_tcpserver smtpd SMTP_PORT pochta-tlsd pochta-smtpd
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --tls --from x@remote.test --to alice@example.test --body tls
  assert_success
  assert_output --partial "<-  250-STARTTLS"
  assert_output --partial "=== TLS started with cipher TLSv1.2"
  refute_output --partial "<~  250-STARTTLS"
  [ "$(smtpd_queued)" = 1 ]
  sed -n 2p "$FAKEQ_DIR"/*.msg | grep -q 'with ESMTPS id'
}

@test "smtpd tls: AUTH is offered only after STARTTLS; ESMTPSA" {
  start_tcpserver smtpd SMTP_PORT pochta-tlsd pochta-smtpd -s
  run smtpd_raw "$SMTP_PORT" < <(printf "EHLO c.test\r\nAUTH PLAIN %s\r\nMAIL FROM:<alice@example.test>\r\nQUIT\r\n" "$(b64 '\0alice@example.test\0secret')")
  refute_output --partial "AUTH PLAIN LOGIN"
  assert_line "538 5.7.11 Encryption required for requested authentication mechanism"
  assert_line "530 5.7.0 Authentication required"
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --tls --auth PLAIN --auth-user alice@example.test --auth-password secret \
    --from alice@example.test --to friend@remote.test --body 'over tls'
  assert_success
  assert_output --partial "<~  250-AUTH PLAIN LOGIN"
  assert_output --partial "<~  235 2.7.0 Authentication successful"
  sed -n 2p "$FAKEQ_DIR"/*.msg | grep -q 'with ESMTPSA id'
}

@test "smtpd tls: openssl s_client -starttls smtp" {
  start_tcpserver smtpd SMTP_PORT pochta-tlsd pochta-smtpd
  run bash -c "printf 'EHLO c.test\r\nQUIT\r\n' | timeout 20 openssl s_client -quiet -starttls smtp -connect 127.0.0.1:$SMTP_PORT 2>/dev/null"
  assert_line --partial "250-mx.example.test"
  assert_line --partial "221 2.0.0 Bye"
  refute_line --partial "STARTTLS"
}

@test "smtpd tls: commands pipelined after STARTTLS are discarded, never executed" {
  start_tcpserver smtpd SMTP_PORT pochta-tlsd pochta-smtpd
  run python3 -c "$PYLIB"'
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")
reply(f)
s.sendall(b"EHLO c.test\r\n"); reply(f)
# STARTTLS and, in the same packet, commands an attacker wants run under TLS
s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
print(reply(f)[-1])
t = ctx.wrap_socket(s)
g = t.makefile("rb")
t.sendall(b"NOOP\r\n"); print(reply(g)[-1])
t.sendall(b"MAIL FROM:<a@remote.test>\r\n"); print(reply(g)[-1])
t.sendall(b"EHLO c.test\r\n"); print(reply(g)[0])
t.sendall(b"MAIL FROM:<a@remote.test>\r\n"); print(reply(g)[-1])
t.sendall(b"QUIT\r\n"); print(reply(g)[-1])
' "$SMTP_PORT"
  assert_output "220 2.0.0 Ready to start TLS
250 2.0.0 Ok
503 5.5.1 Error: send EHLO or HELO first
250-mx.example.test
250 2.1.0 Ok
221 2.0.0 Bye from mx.example.test"
  ! grep -q evil "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "smtpd tls: implicit TLS (465): encrypted from the start, AUTH and submission" {
  start_tcpserver smtps SMTPS_PORT pochta-tlsd -i pochta-smtpd -s
  run python3 -c "$PYLIB"'
import base64
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20))
g = t.makefile("rb")
print(reply(g)[-1])
t.sendall(b"EHLO c.test\r\n"); print("\n".join(reply(g)))
t.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0bob@example.test\0secret") + b"\r\n"); print(reply(g)[-1])
t.sendall(b"MAIL FROM:<bob@example.test>\r\nRCPT TO:<x@remote.test>\r\nDATA\r\n"); print(reply(g)[-1]); print(reply(g)[-1]); print(reply(g)[-1])
t.sendall(b"Subject: implicit\r\n\r\nhi\r\n.\r\nQUIT\r\n"); print(reply(g)[-1]); print(reply(g)[-1])
' "$SMTPS_PORT"
  refute_output --partial "STARTTLS"
  assert_output --partial "250-AUTH PLAIN LOGIN"
  assert_line "235 2.7.0 Authentication successful"
  assert_line --regexp '^250 2.0.0 Ok: queued as '
  [ "$(smtpd_queued)" = 1 ]
  sed -n 2p "$FAKEQ_DIR"/*.msg | grep -q 'with ESMTPSA id'
}

@test "smtpd tls: garbage instead of a ClientHello ends the session, nothing queued" {
  start_tcpserver smtpd SMTP_PORT pochta-tlsd pochta-smtpd
  run smtpd_raw "$SMTP_PORT" < <(printf 'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nRSET\r\nSTARTTLS\r\n'; sleep 0.5; printf 'this is not TLS\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\n')
  assert_line "220 2.0.0 Ready to start TLS"
  refute_line --partial "354"
  [ "$(smtpd_queued)" = 0 ]
}
