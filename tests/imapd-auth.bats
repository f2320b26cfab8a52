#!/usr/bin/env bats
# pochta-imapd: password logins only under TLS unless plainauth=loopback.
load helpers

setup() { instance_new; }
teardown() { stop_all; }

scen() { run python3 "$TESTS_DIR/imapd/scen.py" "$1" "$IMAP_PORT" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd: LOGINDISABLED and PRIVACYREQUIRED without TLS" {
  start_imapd
  scen logindisabled
}

@test "imapd: AUTHENTICATE before TLS is refused" {
  start_imapd
  run python3 - "$IMAP_PORT" <<'PY'
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
f = s.makefile('rb')
f.readline()
s.sendall(b'a AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n')
print(f.readline().decode().strip())
PY
  [ "$output" = "a NO [PRIVACYREQUIRED] Use STARTTLS first" ]
}

@test "imapd: STARTTLS through pochta-tlsd, then LOGIN" {
  mkdir -p "$POCHTA_CONF/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$POCHTA_CONF/tls/key.pem" -out "$POCHTA_CONF/tls/cert.pem" 2>/dev/null
  start_tcpserver imapd IMAP_PORT pochta-tlsd pochta-imapd
  run python3 - "$IMAP_PORT" <<'PY'
import imaplib, ssl, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
assert 'STARTTLS' in m.capabilities and 'LOGINDISABLED' in m.capabilities, m.capabilities
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m.starttls(ctx)
typ, caps = m.capability()
assert b'AUTH=PLAIN' in caps[0] and b'STARTTLS' not in caps[0], caps
m.login('alice@example.test', 'secret')
typ, d = m.select('INBOX'); assert typ == 'OK'
m.logout()
print('ok')
PY
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "imapd: commands pipelined after STARTTLS are discarded" {
  mkdir -p "$POCHTA_CONF/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$POCHTA_CONF/tls/key.pem" -out "$POCHTA_CONF/tls/cert.pem" 2>/dev/null
  start_tcpserver imapd IMAP_PORT pochta-tlsd pochta-imapd
  run python3 - "$IMAP_PORT" <<'PY'
import socket, ssl, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
f = s.makefile('rb')
f.readline()
s.sendall(b'a STARTTLS\r\nb CAPABILITY\r\n')
print(f.readline().decode().strip())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.sendall(b'c NOOP\r\n')
tf = t.makefile('rb')
print(tf.readline().decode().strip())
PY
  echo "$output"
  [ "${lines[0]}" = "a OK Begin TLS negotiation now" ]
  [ "${lines[1]}" = "c OK NOOP completed" ]
}

@test "imapd: implicit TLS (993 style) with openssl s_client" {
  mkdir -p "$POCHTA_CONF/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$POCHTA_CONF/tls/key.pem" -out "$POCHTA_CONF/tls/cert.pem" 2>/dev/null
  start_tcpserver imaps IMAP_PORT pochta-tlsd -i pochta-imapd
  run sh -c "(printf 'a LOGIN alice@example.test secret\r\n'; sleep 1; printf 'b LOGOUT\r\n'; sleep 0.5) | openssl s_client -quiet -connect 127.0.0.1:$IMAP_PORT 2>/dev/null"
  echo "$output"
  [[ "$output" == *"a OK [CAPABILITY"*"LOGIN completed"* ]]
  [[ "$output" == *"b OK LOGOUT completed"* ]]
}

@test "imapd: openssl s_client -starttls imap" {
  mkdir -p "$POCHTA_CONF/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$POCHTA_CONF/tls/key.pem" -out "$POCHTA_CONF/tls/cert.pem" 2>/dev/null
  start_tcpserver imapd IMAP_PORT pochta-tlsd pochta-imapd
  run sh -c "(sleep 1; printf 'a LOGIN alice@example.test secret\r\n'; sleep 1; printf 'b LOGOUT\r\n'; sleep 0.5) | openssl s_client -quiet -starttls imap -connect 127.0.0.1:$IMAP_PORT 2>/dev/null"
  echo "$output"
  [[ "$output" == *"a OK [CAPABILITY"*"LOGIN completed"* ]]
}

@test "imapd: after a login the pre-login process waits as pochta-wait, holding a few pages" {
  [ -x "$POCHTA_BIN/pochta-wait" ] || skip "pochta-wait is built on x86_64 only"
  echo loopback >"$POCHTA_CONF/plainauth"
  start_imapd
  run env PYTHONPATH="$TESTS_DIR" python3 - "$IMAP_PORT" "$(cat "$BATS_TEST_TMPDIR/imapd.pid")" <<'PY'
import imaplib, os, sys, time
from proctree import kids, comm
def rss(p):
    for l in open('/proc/%d/status' % p):
        if l.startswith('VmRSS:'): return int(l.split()[1])
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login('alice@example.test', 'secret')
m.select('INBOX')
time.sleep(0.3)
waiters = [p for p in kids(int(sys.argv[2])) if comm(p) == 'pochta-wait']
assert len(waiters) == 1, [(p, comm(p)) for p in kids(int(sys.argv[2]))]
w = waiters[0]
assert [comm(c) for c in kids(w)] == ['pochta-imapd'], kids(w)
print('waiter rss %d kB' % rss(w))
assert rss(w) < 100, rss(w)
typ, d = m.noop()
assert typ == 'OK'
m.logout()
time.sleep(0.5)
assert not os.path.exists('/proc/%d' % w) or comm(w) != 'pochta-wait' or open('/proc/%d/stat' % w).read().split(')')[1].split()[0] == 'Z'
PY
  echo "$output"
  assert_success
}
