#!/usr/bin/env bats
# pochta-tlsd, the TLS engine, in front of tests/tls-testd.py: a small daemon that
# follows the UCSPI-TLS contract (doc/CONTRACTS.md) in SMTP, IMAP and POP3 dress.
# These run without the real protocol daemons; tests/tls-daemons.bats runs the same
# kind of checks against pochta-smtpd, pochta-imapd and pochta-pop3d.

load helpers

# the system python when there is one: wrappers (pyenv shims) are slow to start
PY=$(command -v /usr/bin/python3 || command -v python3)

setup_file() {
  tls_cert "$BATS_FILE_TMPDIR/rsa" rsa
  tls_cert "$BATS_FILE_TMPDIR/ec" ec
  tls_cert "$BATS_FILE_TMPDIR/rsa2" rsa
}

setup() {
  export POCHTA_CONF="$BATS_TEST_TMPDIR/etc"
  mkdir -p "$POCHTA_CONF/tls"
  cp "$BATS_FILE_TMPDIR"/rsa/tls/*.pem "$POCHTA_CONF/tls/"
  TESTD="$TESTS_DIR/tls-testd.py"
  TLSCLIENT="$TESTS_DIR/tls-client.py"
  LOG="$BATS_TEST_TMPDIR/tlsd.log"
}

teardown() { stop_all; }

# engine [tlsd options] PROTO: pochta-tlsd in front of the test daemon; port in PORT.
engine() {
  local proto=${*: -1}
  start_tcpserver tlsd PORT pochta-tlsd "${@:1:$#-1}" "$PY" "$TESTD" "$proto"
  # several servers per test share one log; keep every pid for stop_all
  mv "$BATS_TEST_TMPDIR/tlsd.pid" "$BATS_TEST_TMPDIR/tlsd-$PORT.pid"
}

sclient() { timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -servername mx.example.test "$@" 2>&1; }
# sc INPUT ARGS...: s_client with INPUT (printf format) on its stdin
sc() { local in=$1; shift; printf "$in" | sclient "$@"; }

# wait until the log has a line matching the pattern
logged() { wait_for 30 grep -q -- "$1" "$LOG"; }

@test "STARTTLS on SMTP: openssl s_client, env and log line" {
  engine smtp
  run sc 'EHLO probe\r\nXENV\r\nQUIT\r\n' -starttls smtp -quiet
  assert_success
  assert_output --partial "250 SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256 SSL_PROTOCOL=TLSv1.2 SSL_TLS_SNI_SERVERNAME=mx.example.test"
  assert_output --partial "221 2.0.0 bye"
  # after STARTTLS the EHLO no longer offers it
  refute_output --partial "250-STARTTLS"
  logged "event=handshake result=ok mode=starttls protocol=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 sni=mx.example.test"
}

@test "STARTTLS on IMAP and POP3: openssl s_client -starttls imap|pop3" {
  engine imap
  run sc 'a XENV\r\nb LOGOUT\r\n' -starttls imap -quiet
  assert_success
  assert_output --partial "* SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256 SSL_PROTOCOL=TLSv1.2"
  assert_output --partial "b OK done"
  engine pop3
  run sc 'XENV\r\nQUIT\r\n' -starttls pop3 -quiet
  assert_success
  assert_output --partial "+OK SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256 SSL_PROTOCOL=TLSv1.2"
  assert_output --partial "+OK bye"
}

@test "implicit TLS (-i): greeting over TLS, SSL_* in the daemon's environment" {
  engine -i smtp
  run sc 'XENV\r\nEHLO x\r\nQUIT\r\n' -quiet
  assert_success
  assert_output --partial "220 testd ESMTP"
  assert_output --partial "250 SSL_CIPHER=ECDHE-RSA-AES128-GCM-SHA256 SSL_PROTOCOL=TLSv1.2 SSL_TLS_SNI_SERVERNAME=mx.example.test"
  refute_output --partial "STARTTLS"
  logged "event=handshake result=ok mode=implicit"
}

@test "Python ssl: smtplib starttls, IMAP4_SSL, poplib stls, POP3_SSL" {
  engine smtp
  run "$PY" "$TLSCLIENT" smtplib "$PORT"
  assert_success
  assert_output --partial "starttls_offered=1"
  assert_output --partial "starttls=220"
  assert_output --partial "starttls_after=0"
  assert_output --partial "quit=221"
  engine -i imap
  run "$PY" "$TLSCLIENT" imaps "$PORT"
  assert_success
  assert_output --partial "logout=BYE"
  engine pop3
  run "$PY" "$TLSCLIENT" pop3stls "$PORT"
  assert_success
  assert_output --partial "stls=+OK"
  assert_output --partial "quit=+OK"
  engine -i pop3
  run "$PY" "$TLSCLIENT" pop3s "$PORT"
  assert_success
  assert_output --partial "quit=+OK"
}

@test "STARTTLS injection: a command pipelined with STARTTLS never runs (SMTP, IMAP, POP3)" {
  engine smtp
  run "$PY" "$TLSCLIENT" inject smtp "$PORT"
  assert_success
  assert_line "starttls: 220 2.0.0 go ahead"
  # the first reply after the handshake answers our NOOP, not the injected command
  assert_line --index 2 "S: 250 2.0.0 ok NOOP"
  assert_line --index 3 "S: 221 2.0.0 bye"
  refute_output --partial "500"
  engine imap
  run "$PY" "$TLSCLIENT" inject imap "$PORT"
  assert_success
  assert_line --index 2 "S: c OK NOOP done"
  refute_output --partial "b BAD"
  engine pop3
  run "$PY" "$TLSCLIENT" inject pop3 "$PORT"
  assert_success
  assert_line --index 2 "S: +OK bye"
  refute_output --partial "-ERR"
  run grep -c "cmd=XYZZY" "$LOG"
  assert_output 0
}

@test "a handshake that never finishes: the engine times out, exits, logs" {
  engine -t 1 -i smtp
  # connect and say nothing: the server must hang up on its own
  run timeout 60 "$PY" -c "
import socket; s = socket.create_connection(('127.0.0.1', $PORT)); s.settimeout(50)
print('eof' if s.recv(100) == b'' else 'data')"
  assert_success
  assert_output eof
  logged "event=handshake result=fail mode=implicit reason=timeout"
  # the daemon was never started
  run grep -c "testd:" "$LOG"
  assert_output 0
}

@test "STARTTLS then silence: timeout, the daemon gives up" {
  engine -t 1 smtp
  run timeout 60 "$PY" -c "
import socket; s = socket.create_connection(('127.0.0.1', $PORT)); s.settimeout(50)
s.recv(100); s.sendall(b'STARTTLS\r\n'); print(s.recv(100)); print('eof' if s.recv(100) == b'' else 'data')"
  assert_success
  assert_line --index 0 "b'220 2.0.0 go ahead\r\n'"
  assert_line --index 1 eof
  logged "event=handshake result=fail mode=starttls reason=timeout"
  logged "testd: event=starttls result=fail"
}

@test "garbage instead of a ClientHello: clean exit, log line, daemon never runs (-i)" {
  engine -i smtp
  run timeout 60 "$PY" -c "
import socket; s = socket.create_connection(('127.0.0.1', $PORT)); s.settimeout(50)
s.sendall(b'EHLO garbage.test\r\n' * 50)
d = b''
while True:
    x = s.recv(4096)
    if not x: break
    d += x
print('eof after', len(d))"
  assert_success
  assert_output --regexp '^eof after [0-9]+$'
  logged "event=handshake result=fail mode=implicit reason="
  run grep -c "testd:" "$LOG"
  assert_output 0
}

@test "garbage after STARTTLS, NUL bytes and a huge record header: refused, no crash" {
  # the last payload is a valid header of a record that never comes: the timeout ends it
  engine -t 2 smtp
  for payload in 'GARBAGE\r\n' '\x00\x00\x00\x00\x00' '\x16\x03\x01\xff\xff' '\x16\x03\x03\x00\x05\x01\xff\xff\xff\xff'; do
    run timeout 60 "$PY" -c "
import socket; s = socket.create_connection(('127.0.0.1', $PORT)); s.settimeout(50)
s.recv(100); s.sendall(b'STARTTLS\r\n'); s.recv(100); s.sendall(b'$payload')
try:
    d = s.recv(4096)
    while d: d = s.recv(4096)
    print('closed')
except ConnectionResetError:
    print('closed')"
    assert_success
    assert_output closed
  done
  run grep -c "event=handshake result=fail mode=starttls" "$LOG"
  assert_output 4
  refute grep -q "AddressSanitizer\|runtime error" "$LOG"
}

@test "TLS 1.0, 1.1 and 1.3-only clients are refused" {
  engine -i smtp
  for v in TLSv1 TLSv1_1 TLSv1_3; do
    run "$PY" "$TLSCLIENT" version "$PORT" $v
    assert_failure
    assert_output --partial "handshake=fail"
  done
  run "$PY" "$TLSCLIENT" version "$PORT" TLSv1_2
  assert_success
  assert_output "handshake=ok TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
  run sclient -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null
  assert_failure
  logged "reason=alert_sent:protocol_version"
}

@test "non-AEAD and non-ECDHE ciphers are refused; server preference wins" {
  engine -i smtp
  for c in ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA AES128-GCM-SHA256 AES256-SHA DHE-RSA-AES128-GCM-SHA256; do
    run sclient -tls1_2 -cipher "$c" </dev/null
    assert_failure
  done
  # the client prefers ChaCha20 then AES-256; the server's order gives AES-128-GCM
  run sclient -tls1_2 -cipher 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' </dev/null
  assert_output --partial "Cipher is ECDHE-RSA-AES128-GCM-SHA256"
  run sclient -tls1_2 -cipher 'ECDHE-RSA-CHACHA20-POLY1305' </dev/null
  assert_output --partial "Cipher is ECDHE-RSA-CHACHA20-POLY1305"
  run sclient -tls1_2 -cipher 'ECDHE-RSA-AES256-GCM-SHA384' </dev/null
  assert_output --partial "Cipher is ECDHE-RSA-AES256-GCM-SHA384"
}

@test "EC key: ECDHE-ECDSA suites" {
  cp "$BATS_FILE_TMPDIR"/ec/tls/*.pem "$POCHTA_CONF/tls/"
  engine -i smtp
  run "$PY" "$TLSCLIENT" version "$PORT" TLSv1_2
  assert_success
  assert_output "handshake=ok TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"
  run sclient -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 </dev/null
  assert_output --partial "Cipher is ECDHE-ECDSA-CHACHA20-POLY1305"
}

@test "a certificate replaced between two connections: the second sees the new one" {
  engine -i smtp
  run "$PY" "$TLSCLIENT" cert "$PORT"
  assert_success
  first=$output
  old=$(openssl x509 -in "$POCHTA_CONF/tls/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
  assert_equal "$first" "sha256=$old"
  # replace as an ACME client does: write aside, rename into place
  cp "$BATS_FILE_TMPDIR/rsa2/tls/key.pem" "$POCHTA_CONF/tls/key.pem.new"
  cp "$BATS_FILE_TMPDIR/rsa2/tls/cert.pem" "$POCHTA_CONF/tls/cert.pem.new"
  mv "$POCHTA_CONF/tls/key.pem.new" "$POCHTA_CONF/tls/key.pem"
  mv "$POCHTA_CONF/tls/cert.pem.new" "$POCHTA_CONF/tls/cert.pem"
  new=$(openssl x509 -in "$POCHTA_CONF/tls/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
  run "$PY" "$TLSCLIENT" cert "$PORT"
  assert_success
  assert_output "sha256=$new"
  refute [ "$old" = "$new" ]
}

@test "the daemon holds no descriptor to the key and no key bytes in memory" {
  engine smtp
  # a piece of the private key: 24 octets of the first prime, split in two halves
  # so that the test daemon never holds the needle itself in one piece
  prime=$(openssl rsa -in "$POCHTA_CONF/tls/key.pem" -noout -text 2>/dev/null \
    | sed -n '/^prime1:/,/^prime2:/p' | grep -v prime | tr -d ' :\n' | sed 's/^00//' | cut -c1-48)
  [ ${#prime} -eq 48 ]
  run sc "EHLO x\r\nXFDS\r\nXMEM ${prime:0:24} ${prime:24}\r\nQUIT\r\n" -starttls smtp -quiet
  assert_success
  assert_output --partial "250 0>socket:"
  refute_output --partial "key.pem"
  refute_output --partial "cert.pem"
  assert_output --partial "250 absent"
}

@test "the key is read only by the engine, after the daemon was forked (strace)" {
  command -v strace >/dev/null || skip "no strace"
  strace -f -qq -e trace=openat,execve -o "$BATS_TEST_TMPDIR/st" true 2>/dev/null || skip "ptrace not permitted here"
  start_tcpserver tlsd PORT strace -f -qq -e trace=open,openat,execve,clone,clone3,fork,vfork -o "$BATS_TEST_TMPDIR/st" \
    pochta-tlsd "$PY" "$TESTD" smtp
  run sc 'EHLO x\r\nQUIT\r\n' -starttls smtp -quiet
  assert_success
  assert_output --partial "221 2.0.0 bye"
  logged "event=handshake result=ok"
  sleep 0.5
  # the engine is the process that exec'ed pochta-tlsd; the daemon is the one that exec'ed python3
  eng=$(grep 'execve("[^"]*pochta-tlsd"' "$BATS_TEST_TMPDIR/st" | grep -v ENOENT | awk '{print $1}' | head -1)
  dmn=$(grep 'execve("[^"]*python3"' "$BATS_TEST_TMPDIR/st" | grep -v ENOENT | awk '{print $1}' | head -1)
  [ -n "$eng" ] && [ -n "$dmn" ] && [ "$eng" != "$dmn" ]
  run grep 'key.pem' "$BATS_TEST_TMPDIR/st"
  assert_success
  # every open of key.pem is the engine's, and it comes after the fork of the daemon
  run bash -c "grep key.pem '$BATS_TEST_TMPDIR/st' | awk '{print \$1}' | sort -u"
  assert_output "$eng"
  keyline=$(grep -n 'key.pem' "$BATS_TEST_TMPDIR/st" | head -1 | cut -d: -f1)
  forkline=$(grep -En "^$eng .*(clone|fork).* = $dmn" "$BATS_TEST_TMPDIR/st" | head -1 | cut -d: -f1)
  [ -n "$forkline" ] && [ "$forkline" -lt "$keyline" ]
}

@test "no certificate: STARTTLS is not offered, the daemon runs in clear" {
  rm -f "$POCHTA_CONF/tls/cert.pem"
  engine smtp
  run timeout 60 "$PY" -c "
import smtplib; s = smtplib.SMTP('127.0.0.1', $PORT, timeout=10); s.ehlo('x')
print('starttls=%d' % s.has_extn('starttls')); s.quit()"
  assert_success
  assert_output "starttls=0"
  logged "event=notls"
}

@test "a broken key: handshake refused with a reason, daemon exits" {
  echo "-----BEGIN PRIVATE KEY-----
AAAAAAAA
-----END PRIVATE KEY-----" >"$POCHTA_CONF/tls/key.pem"
  engine smtp
  run "$PY" "$TLSCLIENT" smtplib "$PORT"
  assert_failure
  logged 'event=handshake result=fail mode=starttls reason="key.pem: undecodable key'
  logged "testd: event=starttls result=fail"
  # a key file that is not PEM at all
  head -c 3000 /dev/urandom >"$POCHTA_CONF/tls/key.pem"
  run "$PY" "$TLSCLIENT" smtplib "$PORT"
  assert_failure
  logged 'reason="key.pem: no private key"'
}

@test "bulk data both ways through the relay, byte for byte" {
  engine -i smtp
  run timeout 60 "$PY" -c "
import socket, ssl
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
t = c.wrap_socket(socket.create_connection(('127.0.0.1', $PORT)), server_hostname='mx.example.test')
f = t.makefile('rb')
f.readline()
t.sendall(b'XBIG 300000\r\n' + b'NOOP\r\n' * 2000 + b'QUIT\r\n')
big = f.readline(); print(len(big)); print(f.readline())
n = 0
while True:
    l = f.readline()
    if not l.startswith(b'250 2.0.0 ok NOOP'): break
    n += 1
print(n); print(l)"
  assert_success
  assert_line --index 0 300006
  assert_line --index 1 "b'250 done\r\n'"
  assert_line --index 2 2000
  assert_line --index 3 "b'221 2.0.0 bye\r\n'"
}

@test "session end: the client's close_notify ends the daemon; the daemon's exit ends TLS" {
  engine smtp
  # the daemon says bye and exits: s_client sees the end of the stream and exits
  run sc 'QUIT\r\n' -starttls smtp -quiet
  assert_success
  assert_output --partial "221 2.0.0 bye"
  # the client goes away without QUIT: the daemon gets EOF, every process ends
  run timeout 60 "$PY" -c "
import socket, ssl, time
s = socket.create_connection(('127.0.0.1', $PORT)); f = s.makefile('rb')
f.readline(); s.sendall(b'STARTTLS\r\n'); f.readline()
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
t = c.wrap_socket(s, server_hostname='mx.example.test'); t.sendall(b'NOOP\r\n'); print(t.recv(100))
t.unwrap(); t.close()"
  assert_success
  assert_output --partial "250 2.0.0 ok NOOP"
  # tcpserver has no child left once both sessions ended
  tcp=$(cat "$BATS_TEST_TMPDIR/tlsd-$PORT.pid")
  wait_for 30 bash -c "[ -z \"\$(pgrep -P $tcp)\" ]"
}

@test "hostile SNI values are not passed on" {
  engine -i smtp
  for name in 'bad;name' 'x$(id)' "$(printf 'a%.0s' {1..64}).test" 'a..b' "$(printf 'abcdefghi.%.0s' {1..25})abcd"; do
    run bash -c "printf 'XENV\r\nQUIT\r\n' | timeout 60 openssl s_client -connect 127.0.0.1:$PORT -servername '$name' -quiet 2>&1"
    refute_output --partial "SSL_TLS_SNI_SERVERNAME"
  done
  run grep -c "sni=- *$" "$LOG"
  assert_output 5
  # a long but valid name passes
  name="$(printf 'abcdefghi.%.0s' {1..24})com"
  run sc 'XENV\r\nQUIT\r\n' -servername "$name" -quiet
  assert_output --partial "SSL_TLS_SNI_SERVERNAME=$name"
}

@test "usage errors" {
  run pochta-tlsd
  assert_failure 100
  run pochta-tlsd -t 0 true
  assert_failure 100
  run pochta-tlsd -t abc true
  assert_failure 100
  run pochta-tlsd -x true
  assert_failure 100
}

@test "client library: verification, opportunistic and required modes" {
  engine smtp
  cafile="$POCHTA_CONF/tls/cert.pem"
  run pochta-tlsprobe -c "$cafile" -n mx.example.test 127.0.0.1 "$PORT"
  assert_success
  assert_line --index 0 "tls=ok verified=1 verify=ok protocol=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256"
  assert_line "S: 221 2.0.0 bye"
  # wrong name: goes on unverified, and says why
  run pochta-tlsprobe -c "$cafile" -n other.example.test 127.0.0.1 "$PORT"
  assert_success
  assert_line --index 0 --partial "tls=ok verified=0 verify=BR_ERR_X509_BAD_SERVER_NAME"
  # the system's anchors do not know our self-signed certificate
  run pochta-tlsprobe -n mx.example.test 127.0.0.1 "$PORT"
  assert_success
  assert_line --index 0 --partial "tls=ok verified=0 verify=BR_ERR_X509_NOT_TRUSTED"
  # required (smarthost): refused
  run pochta-tlsprobe -r -n mx.example.test 127.0.0.1 "$PORT"
  assert_failure 1
  assert_output --partial 'tls=fail reason="handshake: tls: BR_ERR_X509_NOT_TRUSTED"'
  run pochta-tlsprobe -r -c "$cafile" -n mx.example.test 127.0.0.1 "$PORT"
  assert_success
  assert_line --index 0 --partial "verified=1"
  # no anchors at all (unreadable bundle): opportunistic still works
  run pochta-tlsprobe -c /nonexistent -n mx.example.test 127.0.0.1 "$PORT"
  assert_success
  assert_line --index 0 --partial "verified=0"
}

@test "client library: EC server, implicit TLS, and a server that is not TLS" {
  cp "$BATS_FILE_TMPDIR"/ec/tls/*.pem "$POCHTA_CONF/tls/"
  engine -i smtp
  run pochta-tlsprobe -i -c "$POCHTA_CONF/tls/cert.pem" -n mx.example.test 127.0.0.1 "$PORT"
  assert_success
  assert_line --index 0 "tls=ok verified=1 verify=ok protocol=TLSv1.2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256"
  # a plaintext daemon: the client's handshake fails cleanly
  start_tcpserver plain PPORT "$PY" "$TESTD" smtp
  run pochta-tlsprobe -i -t 3000 127.0.0.1 "$PPORT"
  assert_failure 1
  assert_output --partial "tls=fail"
}
