#!/usr/bin/env bats
# pochta-pop3d behind pochta-tlsd: STLS (the UCSPI-TLS way) and implicit TLS
# (port 995 semantics); plaintext passwords only under TLS.
load helpers

setup() {
  command -v pochta-tlsd >/dev/null || skip "pochta-tlsd not built"
  pop3_instance
  rm -f "$POCHTA_CONF/plainauth"          # passwords only under TLS
  tls_cert "$POCHTA_CONF"
  printf 'Subject: tls\n\nover tls\n' | put_mail "$MD_ALICE"
}
teardown() { stop_all; }

# py SCRIPT with PORT, CTX (trusts our self-signed certificate) in scope
py() {
  python3 - "$1" "$POCHTA_CONF/tls/cert.pem" <<PY
import poplib, socket, ssl, sys, time
PORT = int(sys.argv[1])
CTX = ssl.create_default_context(cafile=sys.argv[2])
CTX.check_hostname = False
$2
PY
}

@test "tls: STLS offered, login refused before it, allowed after; CAPA changes" {
  start_tcpserver pop3 POP3_PORT pochta-tlsd pochta-pop3d
  run py "$POP3_PORT" '
p = poplib.POP3("127.0.0.1", PORT, timeout=20)
print(sorted(p.capa()))
try: p.user("alice@example.test")
except poplib.error_proto as e: print(e)
print(p.stls(CTX).decode())
print(sorted(p.capa()))
p.user("alice@example.test"); print(p.pass_("secret").decode())
print(p.retr(1)[1])
p.quit()'
  assert_success
  assert_line --index 0 "['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'STLS', 'TOP', 'UIDL']"
  assert_line --index 1 "b'-ERR [AUTH] Plaintext authentication is disallowed without TLS: use STLS'"
  assert_line --index 2 '+OK Begin TLS negotiation'
  assert_line --index 3 "['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']"
  assert_line --index 4 '+OK Logged in, 1 messages (26 octets)'
  assert_line --index 5 "[b'Subject: tls', b'', b'over tls']"
  grep -q 'event=tls ip=127.0.0.1 protocol=TLSv1.2' "$BATS_TEST_TMPDIR/pop3.log"
}

@test "tls: commands pipelined after STLS in clear are discarded (injection)" {
  start_tcpserver pop3 POP3_PORT pochta-tlsd pochta-pop3d
  run py "$POP3_PORT" '
s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
f = s.makefile("rb")
print(f.readline())
s.sendall(b"STLS\r\nUSER alice@example.test\r\nCAPA\r\n")
print(f.readline())
t = CTX.wrap_socket(s, server_hostname="mx.example.test")
g = t.makefile("rb")
t.sendall(b"PASS secret\r\nNOOP\r\n")
print(g.readline()); print(g.readline())'
  assert_success
  assert_line --index 1 "b'+OK Begin TLS negotiation\\r\\n'"
  assert_line --index 2 "b'-ERR Send USER first\\r\\n'"
  assert_line --index 3 "b'+OK\\r\\n'"
}

@test "tls: openssl s_client -starttls pop3 logs in with AUTH PLAIN" {
  start_tcpserver pop3 POP3_PORT pochta-tlsd pochta-pop3d
  ir=$(printf '\0alice@example.test\0secret' | base64 -w0)
  run bash -c "{ sleep 1; printf 'AUTH PLAIN $ir\r\nSTAT\r\nQUIT\r\n'; sleep 1; } | timeout 20 openssl s_client -quiet -starttls pop3 -connect 127.0.0.1:$POP3_PORT 2>/dev/null"
  assert_line --partial '+OK Logged in, 1 messages (26 octets)'
  assert_line --partial '+OK 1 26'
}

@test "tls: implicit TLS (pochta-tlsd -i): no STLS offered, login allowed" {
  start_tcpserver pop3s POP3S_PORT pochta-tlsd -i pochta-pop3d
  run py "$POP3S_PORT" '
p = poplib.POP3_SSL("127.0.0.1", PORT, context=CTX, timeout=20)
print(sorted(p.capa()))
p.user("alice@example.test"); print(p.pass_("secret").decode())
p.dele(1); print(p.quit().decode())'
  assert_success
  assert_line --index 0 "['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']"
  assert_line --index 1 '+OK Logged in, 1 messages (26 octets)'
  assert_line --index 2 '+OK Bye, 1 messages deleted'
  [ "$(count_mail "$MD_ALICE")" -eq 0 ]
}

@test "tls: a failed handshake after STLS ends the session, nothing changes" {
  start_tcpserver pop3 POP3_PORT pochta-tlsd pochta-pop3d
  run py "$POP3_PORT" '
s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
f = s.makefile("rb")
f.readline()
s.sendall(b"STLS\r\n"); print(f.readline())
s.sendall(b"this is not a ClientHello\r\n" * 10)
try:
    print(s.recv(100))
except Exception as e:
    print("closed")'
  assert_line --index 0 "b'+OK Begin TLS negotiation\\r\\n'"
  [ "$(count_mail "$MD_ALICE")" -eq 1 ]
  wait_for 5 grep -q 'event=tls-failed' "$BATS_TEST_TMPDIR/pop3.log"
}

@test "tls: fetchmail over STLS and over implicit TLS" {
  command -v fetchmail >/dev/null || skip "no fetchmail"
  start_tcpserver pop3 POP3_PORT pochta-tlsd pochta-pop3d
  start_tcpserver pop3s POP3S_PORT pochta-tlsd -i pochta-pop3d
  DEST="$BATS_TEST_TMPDIR/dest"; mkdir -p "$DEST"/{tmp,new,cur} "$BATS_TEST_TMPDIR/fm"
  cat >"$BATS_TEST_TMPDIR/fm/rc" <<EOF2
set no bouncemail
set no syslog
poll 127.0.0.1 service $POP3_PORT protocol pop3 auth password
  user "alice@example.test" there with password "secret" is "$(id -un)" here
  keep sslproto tls1.2+ sslcertck sslcertfile "$POCHTA_CONF/tls/cert.pem" sslcommonname "mx.example.test"
  mda "pochta-deliver $DEST"
poll 127.0.0.2 via 127.0.0.1 service $POP3S_PORT protocol pop3 auth password
  user "alice@example.test" there with password "secret" is "$(id -un)" here
  keep ssl sslcertck sslcertfile "$POCHTA_CONF/tls/cert.pem" sslcommonname "mx.example.test"
  mda "pochta-deliver $DEST"
EOF2
  chmod 600 "$BATS_TEST_TMPDIR/fm/rc"
  run env FETCHMAILHOME="$BATS_TEST_TMPDIR/fm" fetchmail -f "$BATS_TEST_TMPDIR/fm/rc" --nodetach \
    --pidfile "$BATS_TEST_TMPDIR/fm/pid" --idfile "$BATS_TEST_TMPDIR/fm/ids"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(count_mail "$DEST")" -eq 2 ]
}
